#!/usr/bin/env bash
# Builds the harness images from this machine's own binaries (no registry is
# reachable): a root filesystem is assembled, tarred reproducibly and
# `docker import`ed. Images are tagged with a hash of their content, so an
# unchanged image is never rebuilt and keeps its ID across runs.
#
#   images.sh                      build whoami, nginx, haproxy; print KEY=VALUE
#   images.sh sluice PATH [ITEM..] build sluice/sluice from the binary at PATH
#                                  (+ build_image ITEMs, e.g. plugin files)
#   images.sh any NAME PATH [ARG]  build NAME from the binary at PATH
#                                  (entrypoint PATH, default CMD ARGs)
#   images.sh agents PATH          build sluice/nginx-agent, sluice/haproxy-agent:
#                                  the proxy images plus the agent binary at PATH
#                                  as /usr/local/bin/sluice-agent (its entrypoint)
# `sluice`, `any` and `agents` also load the images into the worker engine when it runs
# (up.sh does that for the three harness images).
# Stdout carries only KEY=VALUE lines (image IDs); logs go to stderr.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

BUSYBOX=${SLUICE_BUSYBOX:-/bin/busybox}
# Bump when the assembly below changes in a way the hash cannot see.
ROOTFS_FORMAT=1

# Copies an ELF file and every library `ldd` lists for it to the same paths
# under $root (symlinks resolved: the image has no merged-/usr layout).
add_elf_closure() {
    local root=$1 src=$2 dest=${3:-$2}
    install -D -m 0755 "$src" "$root$dest"
    local lib
    for lib in $(ldd "$src" 2>/dev/null | awk '/=> \//{print $3} /^\t\/[^ ]+ \(/{print $1}'); do
        [ -e "$root$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
    done
}

is_elf() { [ -f "$1" ] && [ "$(head -c4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]; }

# build_image NAME ENTRYPOINT_JSON CMD_JSON [ITEM...]
#   ITEM  /abs/path        file or directory copied to the same path; ELF files
#                          (also inside directories) bring their ldd closure
#         /src=/dest       the same, copied to /dest
#         @/dir            merge the contents of /dir at the image root
#         +/dir            create an empty directory (mode 1777 for /tmp)
#         ENV:K=V          an ENV instruction for the image
# Every image also gets a static busybox (/bin/sh and all applets), a
# passwd/group with root, nobody, nginx, www-data and haproxy, nsswitch.conf,
# /tmp, /run and the files under ./rootfs (http-get). Prints the image ID (sha256:...) on stdout.
build_image() {
    local name=$1 entrypoint=$2 cmd=$3; shift 3
    local root; root=$(mktemp -d /tmp/sluice-rootfs.XXXXXX)
    local -a changes=("ENTRYPOINT $entrypoint" "CMD $cmd" "LABEL sluice.test=1")

    mkdir -p "$root"/{bin,etc,tmp,run,var/run,var/tmp,root}
    chmod 1777 "$root/tmp" "$root/var/tmp"
    install -m 0755 "$BUSYBOX" "$root/bin/busybox"
    # The static busybox can run inside the bare tree: one call links every
    # applet, instead of ~300 `ln` processes.
    chroot "$root" /bin/busybox --install -s /bin
    cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
nginx:x:101:101:nginx:/var/cache/nginx:/bin/false
haproxy:x:102:102:haproxy:/var/lib/haproxy:/bin/false
EOF
    cat >"$root/etc/group" <<'EOF'
root:x:0:
www-data:x:33:
nginx:x:101:
haproxy:x:102:
nogroup:x:65534:
EOF
    printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
    cp -a "$HERE/rootfs/." "$root/"

    local item src dest f
    for item in "$@"; do
        case $item in
            ENV:*) changes+=("ENV ${item#ENV:}") ;;
            +*) mkdir -p "$root${item#+}" ;;
            @*) cp -a "${item#@}/." "$root/" ;;
            *)
                src=${item%%=*}; dest=$src
                [[ $item == *=* ]] && dest=${item#*=}
                [ -e "$src" ] || die "build_image $name: $src does not exist"
                if [ -d "$src" ]; then
                    mkdir -p "$root$dest"
                    cp -a "$src/." "$root$dest/"
                    while IFS= read -r f; do
                        is_elf "$f" && add_elf_closure "$root" "$f" "$dest${f#"$src"}"
                    done < <(find "$src" -type f)
                elif is_elf "$src"; then
                    add_elf_closure "$root" "$src" "$dest"
                else
                    install -D -m "$(stat -c %a "$src")" "$src" "$root$dest"
                fi
                ;;
        esac
    done

    local tarball="$root.tar"
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
        -C "$root" -cf "$tarball" .
    local hash
    hash=$( { sha256sum <"$tarball"; printf '%s\n' "$ROOTFS_FORMAT" "${changes[@]}"; } \
        | sha256sum | cut -c1-12)
    local id
    if id=$(docker image inspect --format '{{.Id}}' "$name:$hash" 2>/dev/null); then
        log "image $name:$hash is up to date ($id)"
    else
        local -a args=()
        for f in "${changes[@]}"; do args+=(--change "$f"); done
        docker import "${args[@]}" "$tarball" "$name:$hash" >/dev/null
        id=$(docker image inspect --format '{{.Id}}' "$name:$hash")
        log "built $name:$hash ($id, $(du -h "$tarball" | cut -f1) uncompressed)"
    fi
    rm -rf "$tarball" "$root"
    docker tag "$id" "$name:latest"
    # Older builds only take disk space (after the move of :latest, or they
    # would stay as dangling images); one still used by a container stays
    # (rmi refuses), which is what we want.
    local old
    for old in $(docker image ls --format '{{.Repository}}:{{.Tag}}' "$name" | grep -v -e ":latest$" -e ":$hash$"); do
        docker image rm "$old" >/dev/null 2>&1 || true
    done
    echo "$id"
}

build_whoami() {
    build_image sluice/whoami '["/usr/local/bin/whoami-serve"]' '[]' \
        "$HERE/whoami/serve=/usr/local/bin/whoami-serve" \
        "$HERE/whoami/handle=/usr/local/bin/whoami-handle" \
        "ENV:PORT=8000"
}

# The proxy images: NAME ENTRYPOINT_JSON CMD_JSON [extra ITEM...]; the
# harness images (stock entrypoint) and the agent images (`sluice agent`,
# which starts the proxy itself) share everything else.
build_nginx() {
    build_nginx_image sluice/nginx '["/usr/sbin/nginx","-g","daemon off;"]' '["-c","/etc/nginx/nginx.conf"]'
}

build_haproxy() {
    build_haproxy_image sluice/haproxy \
        '["/usr/sbin/haproxy","-W","-db","-f","/usr/local/etc/haproxy/haproxy.cfg"]' '[]'
}

build_nginx_image() {
    local name=$1 entrypoint=$2 cmd=$3; shift 3
    local conf; conf=$(mktemp -d /tmp/sluice-nginx-etc.XXXXXX)
    # A config that works on its own, so the image can be smoke-tested; the
    # daemon replaces it with a Docker config mounted at the same path.
    mkdir -p "$conf/etc/nginx"
    cat >"$conf/etc/nginx/nginx.conf" <<'EOF'
worker_processes 1;
events { worker_connections 128; }
http {
    access_log /dev/stdout;
    server { listen 80 default_server; return 503 "sluice/nginx: no configuration mounted\n"; }
}
EOF
    local -a mods=()
    [ -d /usr/lib/nginx/modules ] && mods=(/usr/lib/nginx/modules)
    # As Debian's libnginx-mod-stream enables it (the plugin's default
    # ModulesInclude is modules-enabled/*.conf): TLS hosts need `stream`.
    mkdir -p "$conf/etc/nginx/modules-enabled"
    if [ -e /usr/lib/nginx/modules/ngx_stream_module.so ]; then
        echo 'load_module /usr/lib/nginx/modules/ngx_stream_module.so;' \
            >"$conf/etc/nginx/modules-enabled/50-mod-stream.conf"
    fi
    build_image "$name" "$entrypoint" "$cmd" \
        /usr/sbin/nginx /etc/nginx/mime.types "${mods[@]}" "@$conf" \
        +/var/log/nginx +/var/lib/nginx/body +/var/lib/nginx/proxy +/var/lib/nginx/fastcgi \
        +/var/lib/nginx/uwsgi +/var/lib/nginx/scgi +/var/cache/nginx +/etc/nginx/conf.d \
        +/etc/nginx/ssl +/var/lock "$@"
    rm -rf "$conf"
}

build_haproxy_image() {
    local name=$1 entrypoint=$2 cmd=$3; shift 3
    local conf; conf=$(mktemp -d /tmp/sluice-haproxy-etc.XXXXXX)
    mkdir -p "$conf/usr/local/etc/haproxy"
    cat >"$conf/usr/local/etc/haproxy/haproxy.cfg" <<'EOF'
global
    log stdout format raw local0
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend default
    bind :80
    http-request return status 503 content-type text/plain string "sluice/haproxy: no configuration mounted"
EOF
    build_image "$name" "$entrypoint" "$cmd" \
        /usr/sbin/haproxy "@$conf" +/run/haproxy +/var/lib/haproxy +/usr/local/etc/haproxy/certs "$@"
    rm -rf "$conf"
}

# The agent images: the daemon's proxy service sets SLUICE_* (see `sluice-agent --help`).
AGENT_ENTRYPOINT='["/usr/local/bin/sluice-agent"]'
build_nginx_agent() {
    build_nginx_image sluice/nginx-agent "$AGENT_ENTRYPOINT" '[]' "$1=/usr/local/bin/sluice-agent"
}
build_haproxy_agent() {
    build_haproxy_image sluice/haproxy-agent "$AGENT_ENTRYPOINT" '[]' "$1=/usr/local/bin/sluice-agent"
}

main() {
    command -v docker >/dev/null || die "docker client missing (run up.sh)"
    docker info >/dev/null 2>&1 || die "no docker engine on $DOCKER_HOST (run up.sh)"
    case ${1:-all} in
        all)
            # Plain assignments: `echo "X=$(cmd)"` would hide a failing cmd.
            local whoami nginx haproxy
            whoami=$(step image-whoami build_whoami)
            nginx=$(step image-nginx build_nginx)
            haproxy=$(step image-haproxy build_haproxy)
            printf 'WHOAMI_IMAGE=%s\nNGINX_IMAGE=%s\nHAPROXY_IMAGE=%s\n' "$whoami" "$nginx" "$haproxy"
            ;;
        sluice)
            [ $# -ge 2 ] || die "usage: images.sh sluice PATH-TO-BINARY [ITEM...]"
            local bin=$2 id; shift 2
            id=$(step image-sluice build_image sluice/sluice \
                '["/usr/local/bin/sluice"]' '[]' "$bin=/usr/local/bin/sluice" "$@")
            worker_answers && load_into_worker "$id"
            echo "SLUICE_IMAGE=$id"
            ;;
        agents)
            [ $# -eq 2 ] || die "usage: images.sh agents PATH-TO-SLUICE-AGENT-BINARY"
            [ -x "$2" ] || die "images.sh agents: $2 is not an executable"
            local nginx_agent haproxy_agent
            nginx_agent=$(step image-nginx-agent build_nginx_agent "$2")
            haproxy_agent=$(step image-haproxy-agent build_haproxy_agent "$2")
            if worker_answers; then
                load_into_worker "$nginx_agent"
                load_into_worker "$haproxy_agent"
            fi
            printf 'NGINX_AGENT_IMAGE=%s\nHAPROXY_AGENT_IMAGE=%s\n' "$nginx_agent" "$haproxy_agent"
            ;;
        any)
            [ $# -ge 3 ] || die "usage: images.sh any NAME PATH [CMD-ARG...]"
            local name=$2 bin=$3; shift 3
            local dest cmd
            dest="/usr/local/bin/$(basename "$bin")"
            cmd=$(printf '%s\n' "$@" | awk 'NF{gsub(/["\\]/,"\\\\&"); a=a (a?",":"") "\"" $0 "\""} END{print "[" a "]"}')
            local id
            id=$(build_image "$name" "[\"$dest\"]" "$cmd" "$bin=$dest")
            worker_answers && load_into_worker "$id"
            echo "IMAGE=$id"
            ;;
        *) die "unknown target '$1' (all | sluice PATH | agents PATH | any NAME PATH [ARG...])" ;;
    esac
}

# Sourcing this file (to reuse build_image) must not build anything.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then main "$@"; fi
