#!/usr/bin/env bash
# Tears down what up.sh and the tests made, tolerating any partial state:
#   1. services, configs, secrets and networks labelled sluice.test=1 or
#      named like $SLUICE_DOWN_NAME_RE (default ^(sluice-|demo)), and what
#      Sluice created (labelled com.docker.sluice.instance, any instance:
#      proxy services and their config objects)
#   2. the worker leaves the swarm, its node is removed, its dockerd stopped
#   3. the main dockerd is stopped, unless --keep-engine (its swarm state is
#      kept on disk: the next up.sh brings the same manager back)
#   4. the netns and the bridge are deleted
# Usage: down.sh [--keep-engine]
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

: "${SLUICE_DOWN_NAME_RE:=^(sluice-|demo)}"
KEEP_ENGINE=0
case ${1:-} in
    --keep-engine) KEEP_ENGINE=1 ;;
    "") ;;
    *) die "usage: down.sh [--keep-engine]" ;;
esac
T_START=$(date +%s.%N)
take_lock

main_up() { docker info >/dev/null 2>&1; }
worker_up() { wdocker info >/dev/null 2>&1; }
is_manager() { [ "$(docker info --format '{{.Swarm.ControlAvailable}}' 2>/dev/null)" = true ]; }

# Sluice marks everything it creates with this label (its instance name).
SLUICE_OWNER_LABEL=com.docker.sluice.instance

# Prints the IDs of objects of one kind (service, config, secret, network)
# that belong to the tests.
test_objects() {
    local kind=$1
    { docker "$kind" ls -q --filter label=sluice.test=1
      docker "$kind" ls -q --filter "label=$SLUICE_OWNER_LABEL"
      docker "$kind" ls --format '{{.ID}} {{.Name}}' | awk -v re="$SLUICE_DOWN_NAME_RE" '$2 ~ re {print $1}'
    } 2>/dev/null | sort -u
}

test_service_names() {
    docker service ls --format '{{.Name}}' 2>/dev/null | awk -v re="$SLUICE_DOWN_NAME_RE" '$0 ~ re'
    local id
    for id in $(docker service ls -q --filter label=sluice.test=1 2>/dev/null
                docker service ls -q --filter "label=$SLUICE_OWNER_LABEL" 2>/dev/null); do
        docker service inspect --format '{{.Spec.Name}}' "$id" 2>/dev/null
    done
}

# Task containers of removed services; networks cannot go before they do.
# grep reads a variable: `producer | grep -q` under pipefail fails by SIGPIPE.
containers_of() {
    local re=$1 names
    names=$(docker ps -a --format '{{.Label "com.docker.swarm.service.name"}}' 2>/dev/null
            worker_up && wdocker ps -a --format '{{.Label "com.docker.swarm.service.name"}}' 2>/dev/null)
    grep -qE "$re" <<<"$names"
}

no_containers_of() { ! containers_of "$1"; }

remove_objects() {
    if ! main_up || ! is_manager; then log "no swarm manager answers: nothing to remove"; return 0; fi
    local names ids
    names=$(test_service_names | sort -u | paste -sd'|')
    ids=$(test_objects service)
    if [ -n "$ids" ]; then
        log "removing services: $(echo "$names" | tr '|' ' ')"
        # shellcheck disable=SC2086
        docker service rm $ids >/dev/null 2>&1
        wait_for 60 "service containers to stop" no_containers_of "^($names)\$"
    fi
    local kind
    for kind in config secret network; do
        ids=$(test_objects "$kind")
        [ -z "$ids" ] && continue
        log "removing ${kind}s: ${ids//$'\n'/ }"
        # shellcheck disable=SC2086
        docker "$kind" rm $ids >/dev/null 2>&1 || log "some ${kind}s could not be removed (still in use?)"
    done
}

# Stops a dockerd by the pid in its pidfile, after checking the pid is a
# dockerd, so a recycled pid never gets killed.
stop_dockerd() {
    local what=$1 pidfile=$2 pid
    pid=$(cat "$pidfile" 2>/dev/null) || { log "$what dockerd: no pidfile"; return 0; }
    if ! pid_alive "$pid" || [[ $(tr '\0' ' ' <"/proc/$pid/cmdline") != *dockerd* ]]; then
        log "$what dockerd: stale pidfile ($pid)"; rm -f "$pidfile"; return 0
    fi
    kill -TERM "$pid"
    if ! wait_for 30 "$what dockerd (pid $pid) to exit" sh -c "! kill -0 $pid"; then
        log "$what dockerd: killing pid $pid"; kill -KILL "$pid"
    fi
    rm -f "$pidfile"
    log "$what dockerd stopped"
}

stop_worker() {
    local node=""
    if worker_up; then
        node=$(wdocker info --format '{{.Swarm.NodeID}}')
        wdocker swarm leave --force >/dev/null 2>&1 && log "worker left the swarm"
    fi
    if main_up && is_manager; then
        local id host
        while read -r id host; do
            [ "$id" = "$node" ] || [ "$host" = "$SLUICE_W1_HOSTNAME" ] || continue
            docker node rm --force "$id" >/dev/null 2>&1 && log "removed worker node $id"
        done < <(docker node ls --format '{{.ID}} {{.Hostname}}' 2>/dev/null)
    fi
    stop_dockerd worker "$SLUICE_W1_RUN/docker.pid"
    # dockerd leaves its sandbox netns files and the private bind mount of
    # its data-root mounted; they keep namespaces alive and block `rm -rf`.
    local m
    while IFS= read -r m; do
        umount -l "$m" 2>/dev/null || true
    done < <(awk -v a="$SLUICE_W1_ROOT" -v b="$SLUICE_W1_RUN" \
        'index($2, a) == 1 || index($2, b) == 1 {print $2}' /proc/mounts | sort -r)
}

remove_network() {
    netns_exists && ip netns del "$SLUICE_NETNS" && log "deleted netns $SLUICE_NETNS"
    ip link del "$SLUICE_W1_VETH" >/dev/null 2>&1 || true
    ip link show "$SLUICE_BR" >/dev/null 2>&1 && ip link del "$SLUICE_BR" && log "deleted bridge $SLUICE_BR"
    return 0
}

step remove-objects remove_objects
step stop-worker stop_worker
# The manager first: with its advertise address gone it takes ~10 s to stop.
[ $KEEP_ENGINE = 1 ] || step stop-main stop_dockerd main /var/run/docker.pid
step remove-network remove_network
rm -f "$SLUICE_ENV_FILE"
printf '[swarm timing] %-18s %6.2fs\n' total "$(awk -v a="$T_START" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')" >&2
