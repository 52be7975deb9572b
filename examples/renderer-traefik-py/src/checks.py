"""What this plugin refuses. Strings end up double-quoted in YAML (safe), but
Traefik parses rules again: ``Host(`...`)`` ends at a backtick, and redirect
replacements expand `$`. Anything that could step out of those is refused."""

import ipaddress
import re

from wit_world.imports.types import Diagnostic, Severity

_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
HOST = re.compile(rf"^(?:\*\.)?{_LABEL}(?:\.{_LABEL})*$")
PATH = re.compile(r"^/[A-Za-z0-9\-._~!&'()*+,;=:@%/]*$")
TARGET = re.compile(r"^(?:https?://[^/\s][\x21-\x7e]*|/[\x21-\x7e]*)$")
COOKIE = re.compile(r"^[A-Za-z0-9!#$%&'*+\-.^_`|~]{1,256}$")
_TARGET_FORBIDDEN = set("\"'\\$`{}<>")


def _problem(key, message):
    return Diagnostic(Severity.ERROR, key, message)


def host_ok(name):
    return len(name) <= 253 and HOST.match(name) is not None


def path_ok(path):
    return len(path) <= 1024 and PATH.match(path) is not None


def target_ok(t):
    return len(t) <= 2048 and TARGET.match(t) is not None and not (set(t) & _TARGET_FORBIDDEN)


def _upstream(out, host, u):
    if u.sticky_cookie is not None and not COOKIE.match(u.sticky_cookie):
        out.append(_problem("com.docker.lb.sticky_session_cookie", f"host {host}: cookie name {u.sticky_cookie!r} is not an RFC 6265 token"))
    for s in u.servers:
        try:
            ipaddress.ip_address(s.address)
            ok = s.port > 0 and s.weight > 0
        except ValueError:
            ok = False
        if not ok:
            out.append(_problem("server", f"host {host}, service {s.service!r}: {s.address!r} port {s.port} is not a usable server"))


def _file_ok(p):
    return p.startswith("/") and not any(ord(c) < 32 or c in "\x7f" for c in p)


def check_input(input):
    """Every problem, each naming the label and the host at fault."""
    out = []
    if input.default_backend is not None:
        _upstream(out, "(default backend)", input.default_backend)
    for h in input.hosts:
        if not host_ok(h.name):
            out.append(_problem("com.docker.lb.hosts", f"host {h.name!r} is not a lower-case DNS name"))
            continue
        if h.upstream is not None:
            _upstream(out, h.name, h.upstream)
        for c in h.context_roots:
            if not path_ok(c.path):
                out.append(_problem("com.docker.lb.context_root", f"host {h.name}: context root {c.path!r} is not a plain URL path"))
            _upstream(out, h.name, c.upstream)
        for w in h.websocket_endpoints:
            if not path_ok(w):
                out.append(_problem("com.docker.lb.websocket_endpoints", f"host {h.name}: endpoint {w!r} is not a plain URL path"))
        for r in h.redirects:
            if not target_ok(r.target):
                out.append(_problem("com.docker.lb.redirects", f"host {h.name}: redirect target {r.target!r} is not an http(s) URL or path"))
        if h.tls is not None:
            paths = [h.tls.cert_path] + ([h.tls.key_path] if h.tls.key_path is not None else [])
            if not all(_file_ok(p) for p in paths):
                out.append(_problem("com.docker.lb.ssl_cert", f"host {h.name}: certificate or key path is not an absolute file path"))
    return out
