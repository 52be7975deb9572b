#!/usr/bin/env bash
# Brings up a two-node Swarm on this one machine, idempotently:
#   manager = the main dockerd (host network namespace, advertised on the
#             bridge $SLUICE_BR at $SLUICE_BR_ADDR), labels region=east
#   worker  = a second dockerd inside netns $SLUICE_NETNS at $SLUICE_W1_ADDR,
#             labels region=west
# both labelled nodetype=loadbalancer, with the harness images loaded.
# Stdout: KEY=VALUE lines only (also written to $SLUICE_ENV_FILE).
# Stderr: progress and per-step timings.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

T_START=$(date +%s.%N)
take_lock
mkdir -p "$SLUICE_LOG_DIR"

install_packages() {
    local -a missing=()
    command -v dockerd >/dev/null || missing+=(docker.io)
    command -v docker >/dev/null || missing+=(docker.io)
    command -v ip >/dev/null || missing+=(iproute2)
    command -v nsenter >/dev/null || missing+=(util-linux)
    command -v iptables >/dev/null || missing+=(iptables)
    command -v curl >/dev/null || missing+=(curl)
    command -v nginx >/dev/null || missing+=(nginx)
    command -v haproxy >/dev/null || missing+=(haproxy)
    # The metrics tests scrape with a real Prometheus and read the status
    # page in a real headless browser.
    command -v prometheus >/dev/null || missing+=(prometheus)
    command -v chromium >/dev/null || missing+=(chromium)
    # Only the static build can be copied into an image without libraries.
    [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 || missing+=(busybox-static)
    # Rendered configs with a `stream {}` block (TLS passthrough) need this
    # module; Debian ships it apart from the nginx binary.
    [ -e /usr/lib/nginx/modules/ngx_stream_module.so ] || missing+=(libnginx-mod-stream)
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # docker.io's postinst may try to start the engine through systemd, which
    # does not run here; that is harmless, so let it not fail the install.
    apt-get install -y --no-install-recommends "${missing[@]}" >"$SLUICE_LOG_DIR/apt.log" 2>&1 || {
        apt-get update >>"$SLUICE_LOG_DIR/apt.log" 2>&1
        apt-get install -y --no-install-recommends "${missing[@]}" >>"$SLUICE_LOG_DIR/apt.log" 2>&1
    } || die "apt-get install ${missing[*]} failed, see $SLUICE_LOG_DIR/apt.log"
}

setup_network() {
    ip link show "$SLUICE_BR" >/dev/null 2>&1 || ip link add "$SLUICE_BR" type bridge
    ip addr replace "$SLUICE_BR_ADDR/$SLUICE_PREFIXLEN" dev "$SLUICE_BR"
    ip link set "$SLUICE_BR" up
    netns_exists || ip netns add "$SLUICE_NETNS"
    # A host-side veth without its peer in our netns is a leftover of an
    # interrupted run: start the pair over.
    if ! ip -n "$SLUICE_NETNS" link show eth0 >/dev/null 2>&1; then
        ip link del "$SLUICE_W1_VETH" >/dev/null 2>&1 || true
        ip link add "$SLUICE_W1_VETH" type veth peer name eth0 netns "$SLUICE_NETNS"
    fi
    ip link set "$SLUICE_W1_VETH" master "$SLUICE_BR" up
    ip -n "$SLUICE_NETNS" link set lo up
    ip -n "$SLUICE_NETNS" addr replace "$SLUICE_W1_ADDR/$SLUICE_PREFIXLEN" dev eth0
    ip -n "$SLUICE_NETNS" link set eth0 up
    wait_for 5 "ping $SLUICE_W1_ADDR" busybox ping -c1 -W1 "$SLUICE_W1_ADDR"
}

start_main_engine() {
    if docker info >/dev/null 2>&1; then log "main dockerd already answers on $MAIN_SOCK"; return 0; fi
    local pid; pid=$(cat /var/run/docker.pid 2>/dev/null || true)
    if pid_alive "$pid"; then
        log "main dockerd (pid $pid) is running but not answering yet; waiting"
    else
        log "starting main dockerd (log: $SLUICE_LOG_DIR/dockerd.log)"
        rm -f /var/run/docker.pid
        # 9>&-: the daemon must not inherit (and so hold forever) our lock.
        setsid nohup dockerd >>"$SLUICE_LOG_DIR/dockerd.log" 2>&1 </dev/null 9>&- &
    fi
    wait_for "$SLUICE_DOCKER_WAIT" "main dockerd" docker info \
        || die "main dockerd did not come up, see $SLUICE_LOG_DIR/dockerd.log"
}

start_worker_engine() {
    if wdocker info >/dev/null 2>&1; then log "worker dockerd already answers on $SLUICE_W1_SOCK"; return 0; fi
    mkdir -p "$SLUICE_W1_ROOT" "$SLUICE_W1_RUN"
    local pidfile=$SLUICE_W1_RUN/docker.pid pid
    pid=$(cat "$pidfile" 2>/dev/null || true)
    if pid_alive "$pid"; then
        log "worker dockerd (pid $pid) is running but not answering yet; waiting"
    else
        rm -f "$pidfile" "$SLUICE_W1_SOCK"
        # Its own daemon.json: the main engine's /etc/docker/daemon.json may
        # set hosts or pools that must not apply twice.
        echo '{}' >"$SLUICE_W1_RUN/daemon.json"
        log "starting worker dockerd in netns $SLUICE_NETNS (log: $SLUICE_LOG_DIR/dockerd-w1.log)"
        # nsenter, not `ip netns exec`: the latter remounts /sys and hides the
        # cgroup hierarchy dockerd needs. The UTS namespace gives the node its
        # own hostname, so `docker node ls` can tell the two apart.
        # shellcheck disable=SC2016 # $0/$@ belong to the inner sh
        setsid nohup nsenter --net="/var/run/netns/$SLUICE_NETNS" \
            unshare --uts sh -c 'hostname "$0" && exec "$@"' "$SLUICE_W1_HOSTNAME" \
            dockerd \
            --config-file "$SLUICE_W1_RUN/daemon.json" \
            --data-root "$SLUICE_W1_ROOT" \
            --exec-root "$SLUICE_W1_RUN/exec" \
            --pidfile "$pidfile" \
            -H "unix://$SLUICE_W1_SOCK" \
            --containerd-namespace sluice-w1 \
            --containerd-plugins-namespace sluice-w1-plugins \
            --cgroup-parent /sluice-w1 \
            --bip "$SLUICE_W1_BIP" \
            --default-address-pool "base=$SLUICE_W1_POOL,size=24" \
            >>"$SLUICE_LOG_DIR/dockerd-w1.log" 2>&1 </dev/null 9>&- &
    fi
    wait_for "$SLUICE_DOCKER_WAIT" "worker dockerd" wdocker info \
        || die "worker dockerd did not come up, see $SLUICE_LOG_DIR/dockerd-w1.log"
}

swarm_init() {
    local state
    state=$(docker info --format '{{.Swarm.LocalNodeState}}|{{.Swarm.ControlAvailable}}|{{.Swarm.NodeAddr}}')
    case $state in
        "active|true|$SLUICE_BR_ADDR") log "main engine is already the manager at $SLUICE_BR_ADDR"; return 0 ;;
        inactive*) ;;
        *) log "main engine swarm state '$state' is not ours: leaving it"
           docker swarm leave --force >/dev/null ;;
    esac
    # Overlay subnets from a pool of their own, clear of the bridge subnet.
    docker swarm init --advertise-addr "$SLUICE_BR_ADDR" --listen-addr "$SLUICE_BR_ADDR:2377" \
        --default-addr-pool "${SLUICE_OVERLAY_POOL:-10.214.0.0/16}" >/dev/null
    log "swarm initialised, manager at $SLUICE_BR_ADDR"
}

worker_join() {
    local state node
    state=$(wdocker info --format '{{.Swarm.LocalNodeState}}|{{range .Swarm.RemoteManagers}}{{.Addr}} {{end}}')
    node=$(wdocker info --format '{{.Swarm.NodeID}}')
    if [[ $state == "active|"*"$SLUICE_BR_ADDR:2377"* ]] && [ -n "$node" ] \
        && docker node inspect "$node" >/dev/null 2>&1; then
        log "worker is already joined as $node"
    else
        [[ $state == inactive* ]] || { log "worker swarm state '$state' is stale: leaving"; wdocker swarm leave --force >/dev/null; }
        wdocker swarm join --token "$(docker swarm join-token -q worker)" \
            --advertise-addr "$SLUICE_W1_ADDR" --listen-addr "$SLUICE_W1_ADDR:2377" \
            "$SLUICE_BR_ADDR:2377" >/dev/null
        node=$(wdocker info --format '{{.Swarm.NodeID}}')
        log "worker joined as $node"
    fi
    # Earlier incarnations of the worker (a wiped data-root, a killed engine)
    # linger as nodes, Down or soon to be, and would confuse placement checks.
    # Only this netns' engine carries this hostname, so any other node ID
    # with it is stale.
    local id host
    while read -r id host; do
        if [ "$id" != "$node" ] && [ "$host" = "$SLUICE_W1_HOSTNAME" ]; then
            log "removing stale worker node $id"
            docker node rm --force "$id" >/dev/null
        fi
    done < <(docker node ls --format '{{.ID}} {{.Hostname}}')
    wait_for 30 "worker node $node Ready" \
        sh -c "docker node inspect --format '{{.Status.State}}' '$node' | grep -qx ready"
    WORKER_NODE_ID=$node
}

label_node() {
    local node=$1; shift
    local have want=$* 
    have=$(docker node inspect --format '{{range $k, $v := .Spec.Labels}}{{$k}}={{$v}} {{end}}' "$node")
    local -a args=() kv
    for kv in $want; do
        [[ " $have " == *" $kv "* ]] || args+=(--label-add "$kv")
    done
    [ ${#args[@]} -eq 0 ] || docker node update "${args[@]}" "$node" >/dev/null
}

label_nodes() {
    MANAGER_NODE_ID=$(docker info --format '{{.Swarm.NodeID}}')
    label_node "$MANAGER_NODE_ID" region=east nodetype=loadbalancer
    label_node "$WORKER_NODE_ID" region=west nodetype=loadbalancer
}

build_images() {
    local out
    out=$("$HERE/images.sh")
    eval "$out"
}

load_images_into_worker() {
    load_into_worker "$WHOAMI_IMAGE" "$NGINX_IMAGE" "$HAPROXY_IMAGE"
}

write_env() {
    local tmp=$SLUICE_ENV_FILE.tmp
    cat >"$tmp" <<EOF
MANAGER_ADDR=$SLUICE_BR_ADDR
WORKER_ADDR=$SLUICE_W1_ADDR
MANAGER_SOCK=$MAIN_SOCK
WORKER_SOCK=$SLUICE_W1_SOCK
MANAGER_NODE_ID=$MANAGER_NODE_ID
WORKER_NODE_ID=$WORKER_NODE_ID
WHOAMI_IMAGE=$WHOAMI_IMAGE
NGINX_IMAGE=$NGINX_IMAGE
HAPROXY_IMAGE=$HAPROXY_IMAGE
EOF
    mv "$tmp" "$SLUICE_ENV_FILE"
    cat "$SLUICE_ENV_FILE"
}

step packages install_packages
step network setup_network
step main-engine start_main_engine
step worker-engine start_worker_engine
step swarm-init swarm_init
step worker-join worker_join
step labels label_nodes
step images build_images
step load-worker load_images_into_worker
write_env
printf '[swarm timing] %-18s %6.2fs\n' total "$(awk -v a="$T_START" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')" >&2
