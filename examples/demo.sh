#!/usr/bin/env bash
# The seed scenario (/work/shared/seeds/service-clusters.md) end to end, with
# Sluice in Interlock's place, on the two-node Swarm of tests/swarm/up.sh:
#
#   node      address     label        proxy (Sluice creates it)   routes
#   manager   10.213.0.1  region=east  ucp-interlock-proxy-east    demo.A -> demoeast
#   worker    10.213.0.2  region=west  ucp-interlock-proxy-west    demo.B -> demowest
#
# Steps (each one timed): bring the Swarm up, build sluice and its agent and
# the proxy image around the agent, write the seed config adapted to this
# Swarm (examples/seed/config.local.toml.in), create the overlay networks
# eastnet/westnet and the whoami services demoeast/demowest as the
# walkthrough does, start `sluice run` in the background, wait for both
# proxies to serve, then curl both hosts through both nodes: demo.A answers
# on the east node only, demo.B on the west node only, the other node's proxy
# answers 503. Then live changes under steady load on demo.A: a new service
# (demo.C), a scale-up, a removal; each one's routing lag and the failed
# requests are printed. Finally the daemon is stopped and everything the demo
# created is removed.
#
# Routes reach the proxies hitlessly (Sluice's agent reloads nginx in place).
#
# Usage: examples/demo.sh [--compare | --rolling] [--keep | --down]
#   --compare  after the hitless changes, switch both clusters to Interlock's
#              rolling delivery (config reload) and make the same changes
#   --rolling  Interlock's way only
#   --keep     leave the daemon, services and proxies running to play with
#   --down     stop and remove what an earlier `--keep` run left
# Run as root on Debian 12 (tests/swarm/up.sh installs Docker if needed);
# needs Rust with the wasm32-wasip2 target. Leftovers of an earlier run,
# finished or interrupted, are removed first.
set -euo pipefail
shopt -s inherit_errexit 2>/dev/null || true

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
INSTANCE=${SLUICE_DEMO_INSTANCE:-sluice-demo}
WORK=${SLUICE_DEMO_DIR:-/tmp/sluice-demo}
CONFIG=$WORK/config.toml
LOG=$WORK/sluice.log
PIDFILE=$WORK/sluice.pid
SERVICES=(demoeast demowest democ)
NETWORKS=(eastnet westnet)
PROXIES=(ucp-interlock-proxy-east ucp-interlock-proxy-west)
export DOCKER_HOST=unix:///var/run/docker.sock

MODE=run
DELIVERY=hitless
COMPARE=0
for arg in "$@"; do
    case $arg in
        --keep) MODE=keep ;;
        --down) MODE=down ;;
        --rolling) DELIVERY=rolling ;;
        --compare) COMPARE=1 ;;
        *) echo "usage: $0 [--compare | --rolling] [--keep | --down]" >&2; exit 2 ;;
    esac
done

T0=$(date +%s.%N)
say() { printf '\n== %s\n' "$*"; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b-a}'; }
# Runs a step and prints its wall time.
step() {
    local name=$1 t
    shift
    t=$(date +%s.%N)
    "$@"
    printf '   [%s: %ss]\n' "$name" "$(elapsed "$t")"
}

# Polls a command until it succeeds or `secs` elapse.
wait_for() {
    local secs=$1 what=$2 deadline
    shift 2
    deadline=$(($(date +%s) + secs))
    until "$@" >/dev/null 2>&1; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "timed out after ${secs}s waiting for $what" >&2
            return 1
        fi
        sleep 0.2
    done
}

# The daemon of an earlier run, if its pidfile names a live `sluice run`.
daemon_pid() {
    local pid
    pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
        [[ $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) == *sluice*run* ]] &&
        echo "$pid"
}

stop_daemon() {
    local pid
    if pid=$(daemon_pid); then
        kill -TERM "$pid"
        wait_for 15 "sluice (pid $pid) to stop" sh -c "! kill -0 $pid" || kill -KILL "$pid"
        echo "   stopped sluice (pid $pid)"
    fi
    rm -f "$PIDFILE"
}

# Task containers of the named services, on either node.
containers_of() {
    local re names
    re="^($(
        IFS='|'
        echo "$*"
    ))\$"
    names=$(docker ps -a --format '{{.Label "com.docker.swarm.service.name"}}' 2>/dev/null
        [ -n "${WORKER_SOCK:-}" ] && docker -H "unix://$WORKER_SOCK" ps -a \
            --format '{{.Label "com.docker.swarm.service.name"}}' 2>/dev/null)
    grep -qE "$re" <<<"$names"
}
no_containers_of() { ! containers_of "$@"; }

# Removes what this demo creates: its daemon, the whoami services, the
# proxies, config objects and secrets of its Sluice instance, the networks. Proxies of
# the same name left by another Sluice instance (a manual `sluice run` of
# the seed config) are removed too: they hold port 80 on both nodes.
cleanup() {
    stop_daemon
    local svc gone=() owner
    for svc in "${SERVICES[@]}"; do
        docker service inspect "$svc" >/dev/null 2>&1 && gone+=("$svc")
    done
    for svc in "${PROXIES[@]}"; do
        owner=$(docker service inspect --format '{{index .Spec.Labels "com.docker.sluice.instance"}}' "$svc" 2>/dev/null) || continue
        if [ -n "$owner" ]; then
            [ "$owner" = "$INSTANCE" ] || echo "   removing $svc, left by Sluice instance \"$owner\""
            gone+=("$svc")
        else
            echo "   WARNING: service $svc exists and is not Sluice's; the demo's proxy cannot replace it" >&2
        fi
    done
    for svc in $(docker service ls --filter "label=com.docker.sluice.instance=$INSTANCE" --format '{{.Name}}'); do
        [[ " ${gone[*]} " == *" $svc "* ]] || gone+=("$svc")
    done
    if [ ${#gone[@]} -gt 0 ]; then
        docker service rm "${gone[@]}" >/dev/null
        echo "   removed services: ${gone[*]}"
        # Networks stay in use until the task containers are gone (~6 s).
        wait_for 60 "task containers of ${gone[*]} to go" no_containers_of "${gone[@]}" || true
    fi
    # This instance's config objects, and those of the removed proxies.
    local configs
    configs=$({
        docker config ls -q --filter "label=com.docker.sluice.instance=$INSTANCE"
        docker config ls --filter label=com.docker.sluice.instance --format '{{.ID}} {{.Name}}' |
            awk '$2 ~ /^ucp-interlock-proxy-(east|west)-/ {print $1}'
    } | sort -u)
    # shellcheck disable=SC2086
    [ -z "$configs" ] || docker config rm $configs >/dev/null
    local secrets
    secrets=$(docker secret ls -q --filter "label=com.docker.sluice.instance=$INSTANCE")
    # shellcheck disable=SC2086
    [ -z "$secrets" ] || docker secret rm $secrets >/dev/null
    local net
    for net in "${NETWORKS[@]}"; do
        if docker network inspect "$net" >/dev/null 2>&1; then
            docker network rm "$net" >/dev/null 2>&1 ||
                echo "   network $net is still in use by something else; kept" >&2
        fi
    done
}

swarm_up() {
    "$ROOT/tests/swarm/up.sh" >/dev/null
    # shellcheck disable=SC1091
    . /run/sluice-swarm.env
    echo "   manager $MANAGER_ADDR (region=east), worker $WORKER_ADDR (region=west)"
}

build() {
    command -v cargo >/dev/null || {
        echo "cargo not found: install Rust (rustup)" >&2
        return 1
    }
    # host/render/build.rs compiles the bundled plugins for this target, and rustup
    # does not install targets on its own here (RUSTUP_AUTO_INSTALL=0).
    rustup target add wasm32-wasip2 >/dev/null
    (cd "$ROOT" && cargo build -q -p sluice -p sluice-agent)
    SLUICE=$ROOT/target/debug/sluice
    echo "   $("$SLUICE" --version)"
    # sluice/nginx-agent: Debian's nginx with the agent as its entrypoint.
    NGINX_AGENT_IMAGE=$("$ROOT/tests/swarm/images.sh" agents "$ROOT/target/debug/sluice-agent" |
        sed -n 's/^NGINX_AGENT_IMAGE=//p')
    [ -n "$NGINX_AGENT_IMAGE" ] || { echo "building the agent image failed" >&2; return 1; }
    echo "   proxy images: sluice/nginx-agent ${NGINX_AGENT_IMAGE:0:19}..., sluice/nginx ${NGINX_IMAGE:0:19}..."
}

# write_config hitless|rolling
write_config() {
    local image=$NGINX_AGENT_IMAGE
    [ "$1" = hitless ] || image=$NGINX_IMAGE
    mkdir -p "$WORK"
    sed -e "s|@PROXY_IMAGE@|$image|g" -e "s|@DELIVERY@|$1|g" \
        "$ROOT/examples/seed/config.local.toml.in" >"$CONFIG"
    echo "   $CONFIG (Delivery = \"$1\", ProxyImage ${image:0:19}...)"
    "$SLUICE" validate -c "$CONFIG" 2>/dev/null | sed 's/^/   /'
}

# As in the walkthrough, plus what this Swarm needs: the image by ID (no
# registry), DNS round robin (no IPVS here), and a region constraint standing
# in for the walkthrough's unconstrained services.
deploy() {
    docker network create --driver overlay eastnet >/dev/null
    docker network create --driver overlay westnet >/dev/null
    local -a common=(--detach --no-resolve-image --endpoint-mode dnsrr
        --env 'WHOAMI_NAME={{.Service.Name}}' --label com.docker.lb.port=8000)
    docker service create "${common[@]}" --name demoeast --network eastnet \
        --constraint node.labels.region==east \
        --label com.docker.lb.hosts=demo.A --label com.docker.lb.service_cluster=east \
        "$WHOAMI_IMAGE" >/dev/null
    docker service create "${common[@]}" --name demowest --network westnet \
        --constraint node.labels.region==west \
        --label com.docker.lb.hosts=demo.B --label com.docker.lb.service_cluster=west \
        "$WHOAMI_IMAGE" >/dev/null
    echo "   networks: ${NETWORKS[*]}; services: demoeast (demo.A, east), demowest (demo.B, west)"
}

start_daemon() {
    : >"$LOG"
    # setsid: the daemon outlives this script with --keep, and a Ctrl-C
    # here does not reach it before cleanup does.
    NO_COLOR=1 setsid "$SLUICE" run -c "$CONFIG" --instance "$INSTANCE" >>"$LOG" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
    echo "   sluice run -c $CONFIG --instance $INSTANCE (pid $!, log $LOG)"
}

# status HOST ADDR: prints the HTTP status and body, separated by a newline.
fetch() { curl -s -m 3 -w '\n%{http_code}' -H "Host: $1" "http://$2/" 2>/dev/null || true; }
serves() { local out; out=$(fetch "$1" "$2"); [ "${out##*$'\n'}" = 200 ] && [[ $out == *"Name: $3"* ]]; }

wait_serving() {
    local t
    t=$(date +%s.%N)
    wait_for 120 "demo.A at the east node" serves demo.A "$MANAGER_ADDR" demoeast
    echo "   demo.A serves through the east node after $(elapsed "$t")s"
    wait_for 60 "demo.B at the west node" serves demo.B "$WORKER_ADDR" demowest
    echo "   demo.B serves through the west node after $(elapsed "$t")s"
    docker service ls --filter "label=com.docker.sluice.instance=$INSTANCE" |
        sed 's/^/   /'
}

FAILED=0
# check HOST ADDR NODE WANT-STATUS WANT-TEXT: one curl, shown as a user sees it.
check() {
    local host=$1 addr=$2 node=$3 want=$4 text=$5 out status t
    t=$(date +%s.%N)
    out=$(fetch "$host" "$addr")
    status=${out##*$'\n'}
    printf '\n$ curl -H "Host: %s" http://%s/      # %s node\n' "$host" "$addr" "$node"
    printf '%s\n' "${out%$'\n'*}" | sed 's/^/  | /'
    if [ "$status" = "$want" ] && [[ $out == *"$text"* ]]; then
        printf '  -> %s, as expected (%ss)\n' "$status" "$(elapsed "$t")"
    else
        printf '  -> %s: FAIL, wanted %s and "%s"\n' "$status" "$want" "$text"
        FAILED=1
    fi
}

curls() {
    check demo.A "$MANAGER_ADDR" east 200 "Name: demoeast"
    check demo.A "$WORKER_ADDR" west 503 ""
    check demo.B "$WORKER_ADDR" west 200 "Name: demowest"
    check demo.B "$MANAGER_ADDR" east 503 ""
}

# --- Live changes under steady load -------------------------------------
now() { date +%s.%N; }
secs_between() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", b-a}'; }

# Steady load: one request after another to demo.A through the east node,
# each status code recorded (000: no answer).
load_start() {
    : >"$WORK/load.codes"
    touch "$WORK/load.on"
    (
        while [ -e "$WORK/load.on" ]; do
            curl -s -o /dev/null -m 2 -w '%{http_code}\n' -H "Host: demo.A" "http://$MANAGER_ADDR/" || true
        done >>"$WORK/load.codes"
    ) &
    LOAD_PID=$!
}
load_stop() {
    rm -f "$WORK/load.on"
    wait "$LOAD_PID" 2>/dev/null || true
    LOAD_TOTAL=$(wc -l <"$WORK/load.codes")
    LOAD_FAILED=$(grep -vc '^200$' "$WORK/load.codes" || true)
}

# new_task SERVICE KNOWN-IDS: waits for a running task of SERVICE not among
# KNOWN-IDS; prints the Unix time it started running and its hostname
# (the container ID's first 12 characters, which whoami answers with).
new_task() {
    local svc=$1 known=$2 deadline id out state ts cid
    deadline=$(($(date +%s) + 60))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        for id in $(docker service ps -q --filter desired-state=running "$svc" 2>/dev/null); do
            [[ " $known " == *" $id "* ]] && continue
            out=$(docker inspect --format '{{.Status.State}} {{json .Status.Timestamp}} {{.Status.ContainerStatus.ContainerID}}' "$id" 2>/dev/null) || continue
            read -r state ts cid <<<"$out"
            ts=${ts//\"/}
            if [ "$state" = running ] && [ -n "$cid" ]; then
                echo "$(date -d "$ts" +%s.%N) ${cid:0:12}"
                return 0
            fi
        done
        sleep 0.05
    done
    echo "no new running task of $svc within 60 s" >&2
    return 1
}

# until_answer HOST TEXT: polls HOST through the east node until an answer
# contains TEXT (a body line, or the status code after the body); prints when.
until_answer() {
    local deadline out
    deadline=$(($(date +%s) + 60))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        out=$(fetch "$1" "$MANAGER_ADDR")
        if [[ $out == *"$2"* ]]; then
            now
            return 0
        fi
    done
    echo "$1 never answered \"$2\" within 60 s" >&2
    return 1
}

# live_changes MODE: a new service, a scale-up and a removal on the east
# cluster while demo.A takes steady load; results in RESULT_<MODE>_*.
live_changes() {
    local mode=$1 t_run host t_200 t0 before
    load_start
    sleep 1
    docker service create --detach --no-resolve-image --endpoint-mode dnsrr \
        --env 'WHOAMI_NAME={{.Service.Name}}' --label com.docker.lb.port=8000 \
        --name democ --network eastnet --constraint node.labels.region==east \
        --label com.docker.lb.hosts=demo.C --label com.docker.lb.service_cluster=east \
        "$WHOAMI_IMAGE" >/dev/null
    read -r t_run host < <(new_task democ "")
    t_200=$(until_answer demo.C "Name: democ")
    printf -v "RESULT_${mode}_NEW" '%s' "$(secs_between "$t_run" "$t_200")"
    echo "   new service democ (demo.C): task running -> first 200 in $(secs_between "$t_run" "$t_200") s"

    before=$(docker service ps -q --filter desired-state=running demoeast | tr '\n' ' ')
    docker service scale --detach demoeast=2 >/dev/null
    read -r t_run host < <(new_task demoeast "$before")
    t_200=$(until_answer demo.A "Hostname: $host")
    printf -v "RESULT_${mode}_SCALE" '%s' "$(secs_between "$t_run" "$t_200")"
    echo "   demoeast scaled 1 -> 2: new task running -> its first answer in $(secs_between "$t_run" "$t_200") s"

    t0=$(now)
    docker service rm democ >/dev/null
    t_200=$(until_answer demo.C $'\n503')
    printf -v "RESULT_${mode}_RM" '%s' "$(secs_between "$t0" "$t_200")"
    echo "   democ removed: service gone -> demo.C answers 503 in $(secs_between "$t0" "$t_200") s"

    sleep 1
    load_stop
    printf -v "RESULT_${mode}_LOAD" '%s' "$LOAD_FAILED / $LOAD_TOTAL"
    echo "   steady load on demo.A meanwhile: $LOAD_FAILED failed of $LOAD_TOTAL requests"
    docker service scale --detach demoeast=1 >/dev/null
    wait_for 60 "demoeast back to one task" sh -c "[ \$(docker service ps -q --filter desired-state=running demoeast | wc -l) = 1 ]"
}

results() {
    printf '\n   %-46s' "change (east cluster, steady load on demo.A)"
    local m
    for m in "$@"; do printf '%14s' "$m"; done
    echo
    local row label
    for row in NEW:"new service: task running -> first 200 (s)" SCALE:"scale-up: new task -> its first answer (s)" RM:"removal: service gone -> 503 (s)" LOAD:"failed / all requests to demo.A meanwhile"; do
        label=${row#*:}
        printf '   %-46s' "$label"
        for m in "$@"; do
            local var="RESULT_${m}_${row%%:*}"
            printf '%14s' "${!var:-"-"}"
        done
        echo
    done
}

# Switch both clusters to rolling delivery (Interlock's way) and wait until
# the proxies serve again: a config reload (SIGHUP) of the running daemon.
to_rolling() {
    write_config rolling
    kill -HUP "$(daemon_pid)"
    local proxy
    for proxy in "${PROXIES[@]}"; do
        wait_for 120 "$proxy to be updated to sluice/nginx" sh -c "docker service inspect --format '{{.Spec.TaskTemplate.ContainerSpec.Image}} {{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' $proxy | grep -q '${NGINX_IMAGE#sha256:}.* completed'"
    done
    wait_for 120 "demo.A through the east node" serves demo.A "$MANAGER_ADDR" demoeast
    wait_for 120 "demo.B through the west node" serves demo.B "$WORKER_ADDR" demowest
}

on_exit() {
    local rc=$?
    if [ $rc -ne 0 ] && [ -s "$LOG" ]; then
        echo >&2
        echo "== the demo failed (exit $rc); last lines of $LOG:" >&2
        tail -n 30 "$LOG" >&2
    fi
    if [ $rc -ne 0 ] && [ "$MODE" = run ]; then
        echo "== cleaning up" >&2
        cleanup || true
    fi
}

if [ "$MODE" = down ]; then
    # shellcheck disable=SC1091
    [ -r /run/sluice-swarm.env ] && . /run/sluice-swarm.env
    say "Removing what an earlier demo left"
    step cleanup cleanup
    exit 0
fi

trap on_exit EXIT
say "1. Two-node Swarm (tests/swarm/up.sh)"
step swarm swarm_up
say "2. Build sluice"
step build build
say "3. Seed config, adapted to this Swarm"
step config write_config "$DELIVERY"
say "4. Leftovers of earlier runs"
step leftovers cleanup
say "5. Networks and services of the walkthrough"
step deploy deploy
say "6. Start Sluice"
step start start_daemon
say "7. Wait for both proxies"
step converge wait_serving
say "8. What a user sees"
step curls curls
say "9. Live changes under steady load ($DELIVERY delivery)"
step changes live_changes "$DELIVERY"
if [ "$COMPARE" = 1 ] && [ "$DELIVERY" = hitless ]; then
    say "10. The same with Interlock's rolling delivery (config reloaded)"
    step switch to_rolling
    step changes live_changes rolling
    results hitless rolling
else
    results "$DELIVERY"
fi
echo
if [ "$MODE" = keep ]; then
    say "Left running (--keep). Log: $LOG. Stop and remove it all with: $0 --down"
else
    say "Stop Sluice and remove what the demo created"
    step cleanup cleanup
fi
printf '\n== total %ss\n' "$(elapsed "$T0")"
if [ $FAILED -ne 0 ]; then
    echo "demo: some checks FAILED (daemon log: $LOG)"
    exit 1
fi
echo "demo: all checks passed"
