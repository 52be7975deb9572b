"""The Traefik dynamic configuration as a dict: routers and services for
HTTP, TCP routers for TLS passthrough, certificates for termination."""

from math import gcd

from wit_world.imports.types import TlsVerify

# Traefik's load balancer has no per-server weight: a server of weight w is
# listed w times (weights reduced by their gcd, capped).
MAX_REPEAT = 16
INSECURE = "sluice-insecure"


def _host(address, port):
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _repeat(servers):
    g = 0
    for s in servers:
        g = gcd(g, max(s.weight, 1))
    g = max(g, 1)
    for s in servers:
        for _ in range(min(max(s.weight, 1) // g, MAX_REPEAT)):
            yield s


class Builder:
    def __init__(self, input, cfg):
        self.input = input
        self.cfg = cfg
        self.routers = {}
        self.services = {}
        self.middlewares = {}
        self.tcp_routers = {}
        self.tcp_services = {}
        self.certificates = []
        self.warnings = []
        self.insecure = False

    def service(self, u):
        if u.name in self.services:
            return u.name
        scheme = "https" if u.tls else "http"
        lb = {
            "servers": [{"url": f"{scheme}://{_host(s.address, s.port)}"} for s in _repeat(u.servers)],
            "passHostHeader": bool(self.cfg["PassHostHeader"]),
        }
        if u.sticky_cookie is not None:
            lb["sticky"] = {"cookie": {"name": u.sticky_cookie}}
        if u.ip_hash:
            self.warnings.append(f"upstream {u.name}: Traefik has no ip_hash balancing; round robin is used")
        if any(s.max_fails is not None or s.fail_timeout_seconds is not None for s in u.servers):
            self.warnings.append(f"upstream {u.name}: Traefik's file provider has no passive health checks; max_fails/fail_timeout ignored")
        if u.tls and u.tls_verify == TlsVerify.NONE:
            lb["serversTransport"] = INSECURE
            self.insecure = True
        self.services[u.name] = {"loadBalancer": lb}
        return u.name

    def router(self, name, rule, service, entry, middlewares=(), tls=False):
        r = {"entryPoints": [entry], "rule": rule, "service": service}
        if middlewares:
            r["middlewares"] = list(middlewares)
        if tls:
            r["tls"] = {}
        self.routers[name] = r

    def redirect(self, name, target):
        mw = f"{name}-redirect"
        self.middlewares[mw] = {"redirectRegex": {"regex": "^[a-z]+://[^/]+(.*)$", "replacement": target + "${1}", "permanent": False}}
        return mw

    def host(self, n, h):
        base = f"h{n:05d}"
        rule = f"Host(`{h.name}`)"
        for scheme, entry, tls in self.entries(h):
            pre = f"{base}-{scheme}"
            redirect = next((r for r in h.redirects if r.scheme in (None, scheme)), None)
            if redirect is not None:
                mw = self.redirect(pre, redirect.target)
                # The service is never reached: the middleware answers.
                self.router(pre, rule, "noop@internal", entry, [mw], tls)
                continue
            for i, c in enumerate(h.context_roots):
                root = c.path.rstrip("/") or "/"
                mws = []
                if c.rewrite and root != "/":
                    mw = f"{pre}-strip{i}"
                    self.middlewares[mw] = {"stripPrefix": {"prefixes": [root]}}
                    mws.append(mw)
                self.router(f"{pre}-root{i}", f"{rule} && PathPrefix(`{root}`)", self.service(c.upstream), entry, mws, tls)
            if h.upstream is not None:
                self.router(pre, rule, self.service(h.upstream), entry, (), tls)
        if h.passthrough and h.upstream is not None:
            svc = f"{base}-passthrough"
            self.tcp_services[svc] = {"loadBalancer": {"servers": [{"address": _host(s.address, s.port)} for s in h.upstream.servers]}}
            self.tcp_routers[svc] = {"entryPoints": [self.cfg["EntryPointHTTPS"]], "rule": f"HostSNI(`{h.name}`)", "service": svc, "tls": {"passthrough": True}}
        if h.tls is not None and not h.passthrough:
            cert = {"certFile": h.tls.cert_path, "keyFile": h.tls.key_path if h.tls.key_path is not None else h.tls.cert_path}
            self.certificates.append(cert)

    def entries(self, h):
        yield "http", self.cfg["EntryPointHTTP"], False
        if h.tls is not None and not h.passthrough:
            yield "https", self.cfg["EntryPointHTTPS"], True

    def default(self, u):
        svc = self.service(u)
        for entry in (self.cfg["EntryPointHTTP"],):
            r = {"entryPoints": [entry], "rule": "PathPrefix(`/`)", "service": svc, "priority": 1}
            self.routers["default-backend"] = r

    def document(self):
        http = {"routers": self.routers, "services": self.services}
        if self.middlewares:
            http["middlewares"] = self.middlewares
        if self.insecure:
            http["serversTransports"] = {INSECURE: {"insecureSkipVerify": True}}
        doc = {"http": http}
        if self.tcp_routers:
            doc["tcp"] = {"routers": self.tcp_routers, "services": self.tcp_services}
        if self.certificates:
            doc["tls"] = {"certificates": self.certificates}
        return doc


def dynamic_config(input, cfg):
    b = Builder(input, cfg)
    for n, h in enumerate(input.hosts):
        b.host(n, h)
    if input.default_backend is not None:
        b.default(input.default_backend)
    return b.document(), b.warnings
