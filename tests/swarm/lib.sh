# shellcheck shell=bash
# Shared settings and helpers for the Swarm test harness; sourced, never run.
# Every setting can be overridden from the environment (see README.md).

: "${SLUICE_BR:=sluicebr0}"
: "${SLUICE_BR_ADDR:=10.213.0.1}"
: "${SLUICE_W1_ADDR:=10.213.0.2}"
: "${SLUICE_PREFIXLEN:=24}"
: "${SLUICE_NETNS:=sluice-w1}"
: "${SLUICE_W1_VETH:=sluice-w1-h}"          # host end; the netns end is eth0
: "${SLUICE_W1_HOSTNAME:=sluice-w1}"
: "${SLUICE_W1_ROOT:=/var/lib/sluice-w1}"
: "${SLUICE_W1_RUN:=/run/sluice-w1}"
: "${SLUICE_W1_SOCK:=$SLUICE_W1_RUN/docker.sock}"
# The worker's own bridges, distinct from the main engine's defaults so that
# `ip route` output from both sides is never ambiguous.
: "${SLUICE_W1_BIP:=172.30.0.1/24}"
: "${SLUICE_W1_POOL:=172.31.0.0/16}"
: "${SLUICE_LOG_DIR:=/var/log/sluice-swarm}"
: "${SLUICE_ENV_FILE:=/run/sluice-swarm.env}"
: "${SLUICE_DOCKER_WAIT:=60}"               # seconds to wait for an engine

# Without this, `set -e` does not reach into $(...), and a failed build
# inside a command substitution would go unnoticed.
shopt -s inherit_errexit 2>/dev/null || true

MAIN_SOCK=/var/run/docker.sock
export DOCKER_HOST="unix://$MAIN_SOCK"

log() { printf '[swarm %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Runs a named step and reports its wall time on stderr, so a slow step is
# visible in CI logs without extra tooling.
step() {
    local name=$1; shift
    local t0 t1
    t0=$(date +%s.%N)
    # No `|| rc=$?` here: it would switch off `set -e` inside the step.
    "$@"
    t1=$(date +%s.%N)
    printf '[swarm timing] %-18s %6.2fs\n' "$name" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')" >&2
}

wdocker() { docker -H "unix://$SLUICE_W1_SOCK" "$@"; }
worker_answers() { wdocker info >/dev/null 2>&1; }

# Polls a command until it succeeds or `secs` elapse.
wait_for() {
    local secs=$1 what=$2; shift 2
    local deadline=$(( $(date +%s) + secs ))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -ge "$deadline" ] && { log "timed out after ${secs}s waiting for $what"; return 1; }
        sleep 0.2
    done
}

# A zombie counts as dead: PID 1 here does not always reap orphans, and
# `kill -0` succeeds on a zombie.
pid_alive() {
    [ -n "$1" ] && kill -0 "$1" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# up.sh and down.sh may be run by several tests or people at once on this
# shared machine; they must not interleave (two engines on one socket...).
take_lock() {
    exec 9>"${SLUICE_LOCK:-/run/sluice-swarm.lock}"
    flock -w 300 9 || die "another up.sh/down.sh holds ${SLUICE_LOCK:-/run/sluice-swarm.lock} for 5 min"
}

netns_exists() { [ -e "/var/run/netns/$SLUICE_NETNS" ]; }

# Copies images (by ID) into the worker engine unless it has them.
# `docker save | load` keeps the image ID, so services can name images by ID
# on both nodes.
load_into_worker() {
    local id tags t
    for id in "$@"; do
        tags=$(docker image inspect --format '{{join .RepoTags " "}}' "$id")
        if ! wdocker image inspect "$id" >/dev/null 2>&1; then
            # shellcheck disable=SC2086
            docker save $tags | wdocker load >/dev/null
            log "loaded $tags into the worker"
            # Drop the worker's tags of this repository that the main engine
            # no longer has (older builds); images in use stay.
            for t in $(wdocker image ls --format '{{.Repository}}:{{.Tag}}' "${tags%%:*}"); do
                docker image inspect "$t" >/dev/null 2>&1 || wdocker image rm "$t" >/dev/null 2>&1 || true
            done
        fi
        for t in $tags; do wdocker tag "$id" "$t"; done
    done
}
