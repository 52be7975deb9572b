#!/usr/bin/env bash
# Manual check of the harness, without Sluice: the seed scenario
# (/work/shared/seeds/service-clusters.md) wired by hand. Two whoami services,
# one per region and overlay network, and one hand-configured nginx proxy per
# region published in host mode on port 80 of its node. Then:
#   curl -H 'Host: demo.A' http://MANAGER_ADDR/   -> demoeast (via proxy-east)
#   curl -H 'Host: demo.B' http://WORKER_ADDR/    -> demowest (via proxy-west)
#   curl -H 'Host: demo.A' http://WORKER_ADDR/    -> 404: west does not route east
#   curl -H 'Host: cross.B' http://MANAGER_ADDR/  -> demowest on the *worker*,
#        through proxy-east on the manager: traffic over the overlay between
#        the two engines.
# Usage: seed-demo.sh [--keep]   (--keep leaves the services for inspection)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

KEEP=0
[ "${1:-}" = --keep ] && KEEP=1
[ -r "$SLUICE_ENV_FILE" ] || die "$SLUICE_ENV_FILE missing: run up.sh first"
# shellcheck disable=SC1090
. "$SLUICE_ENV_FILE"

SERVICES="demo-proxy-east demo-proxy-west demoeast demowest"
CONFIGS="demo-proxy-east.conf demo-proxy-west.conf"
NETWORKS="eastnet westnet"
T=(--label sluice.test=1)

# Several label filters on `docker ps` are ANDed, hence the grep; on a
# variable, since `producer | grep -q` under pipefail fails by SIGPIPE.
no_demo_containers() {
    local names
    names=$(docker ps -a --format '{{.Label "com.docker.swarm.service.name"}}'
            docker -H "unix://$WORKER_SOCK" ps -a --format '{{.Label "com.docker.swarm.service.name"}}')
    ! grep -qE "^(${SERVICES// /|})\$" <<<"$names"
}

cleanup() {
    # shellcheck disable=SC2086
    docker service rm $SERVICES >/dev/null 2>&1 || true
    # Networks stay in use until the tasks' containers are gone.
    wait_for 30 "demo containers gone" no_demo_containers || true
    # shellcheck disable=SC2086
    docker config rm $CONFIGS >/dev/null 2>&1 || true
    # shellcheck disable=SC2086
    docker network rm $NETWORKS >/dev/null 2>&1 || true
}

# The proxy resolves through Docker's embedded DNS at request time (a variable
# in proxy_pass), so it starts even before the backends' tasks exist.
# `user nginx` and the stream module check the image's passwd and modules.
nginx_conf() {
    local region=$1; shift
    cat <<EOF
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
user nginx;
worker_processes 1;
events { worker_connections 128; }
http {
    access_log /dev/stdout;
    error_log /dev/stderr warn;
    resolver 127.0.0.11 valid=2s ipv6=off;
    server {
        listen 80 default_server;
        return 404 "proxy-$region: no route for \$host\n";
    }
EOF
    local host backend
    while [ $# -gt 0 ]; do
        host=$1 backend=$2; shift 2
        cat <<EOF
    server {
        listen 80;
        server_name $host;
        location / {
            set \$backend $backend;
            proxy_pass http://\$backend:8000;
            proxy_set_header Host \$http_host;
            add_header X-Sluice-Proxy proxy-$region;
        }
    }
EOF
    done
    echo "}"
}

wait_running() {
    local svc=$1
    wait_for 60 "$svc running" sh -c \
        "docker service ps --filter desired-state=running --format '{{.CurrentState}}' $svc | grep -q '^Running'" || {
        docker service ps --no-trunc "$svc" >&2
        return 1
    }
}

deploy() {
    cleanup
    docker network create --driver overlay --attachable "${T[@]}" eastnet >/dev/null
    docker network create --driver overlay --attachable "${T[@]}" westnet >/dev/null
    # dnsrr: VIP mode needs IPVS, which this kernel lacks.
    local -a common=(--detach --no-resolve-image --endpoint-mode dnsrr "${T[@]}")
    docker service create "${common[@]}" --name demoeast --network eastnet \
        --constraint node.labels.region==east --env 'WHOAMI_NAME={{.Service.Name}}' \
        --label com.docker.lb.hosts=demo.A --label com.docker.lb.port=8000 \
        --label com.docker.lb.service_cluster=east "$WHOAMI_IMAGE" >/dev/null
    docker service create "${common[@]}" --name demowest --network westnet \
        --constraint node.labels.region==west --env 'WHOAMI_NAME={{.Service.Name}}' \
        --label com.docker.lb.hosts=demo.B --label com.docker.lb.port=8000 \
        --label com.docker.lb.service_cluster=west "$WHOAMI_IMAGE" >/dev/null
    nginx_conf east demo.A tasks.demoeast cross.B tasks.demowest \
        | docker config create "${T[@]}" demo-proxy-east.conf - >/dev/null
    nginx_conf west demo.B tasks.demowest \
        | docker config create "${T[@]}" demo-proxy-west.conf - >/dev/null
    docker service create "${common[@]}" --name demo-proxy-east \
        --network eastnet --network westnet \
        --constraint node.labels.region==east --constraint node.labels.nodetype==loadbalancer \
        --publish mode=host,published=80,target=80 --stop-signal SIGQUIT \
        --config source=demo-proxy-east.conf,target=/etc/nginx/nginx.conf \
        "$NGINX_IMAGE" >/dev/null
    docker service create "${common[@]}" --name demo-proxy-west --network westnet \
        --constraint node.labels.region==west --constraint node.labels.nodetype==loadbalancer \
        --publish mode=host,published=80,target=80 --stop-signal SIGQUIT \
        --config source=demo-proxy-west.conf,target=/etc/nginx/nginx.conf \
        "$NGINX_IMAGE" >/dev/null
    local s
    for s in $SERVICES; do wait_running "$s"; done
}

FAILED=0
# check NAME URL HOST WANT-STATUS WANT-BODY-SUBSTRING
check() {
    local name=$1 url=$2 host=$3 want_status=$4 want=$5 out status
    # The proxy answers as soon as it listens; the overlay route to a fresh
    # task can lag by a moment, hence a few tries.
    local _
    for _ in $(seq 1 25); do
        out=$(curl -s -m 3 -w '\n%{http_code}' -H "Host: $host" "$url" 2>&1 || true)
        status=${out##*$'\n'}
        [ "$status" = "$want_status" ] && [[ $out == *"$want"* ]] && break
        sleep 0.2
    done
    echo "=== $name: curl -H 'Host: $host' $url -> $status"
    printf '%s\n' "${out%$'\n'*}" | sed 's/^/    /'
    if [ "$status" = "$want_status" ] && [[ $out == *"$want"* ]]; then
        echo "    PASS"
    else
        echo "    FAIL (wanted $want_status and '$want')"
        FAILED=1
    fi
}

step demo-deploy deploy
docker service ls --filter label=sluice.test=1 >&2
step demo-curl-A check east-demo.A "http://$MANAGER_ADDR/" demo.A 200 "Name: demoeast"
step demo-curl-B check west-demo.B "http://$WORKER_ADDR/" demo.B 200 "Name: demowest"
step demo-curl-A-west check west-demo.A "http://$WORKER_ADDR/" demo.A 404 "no route"
step demo-curl-cross check east-cross.B "http://$MANAGER_ADDR/" cross.B 200 "Name: demowest"
if [ $KEEP = 0 ]; then step demo-cleanup cleanup; fi
if [ $FAILED != 0 ]; then echo "seed-demo: FAILED"; exit 1; fi
echo "seed-demo: all checks passed"
