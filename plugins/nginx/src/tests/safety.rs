//! Nothing in the input can become nginx syntax: each hostile value is
//! refused with a diagnostic naming the element at fault.

use sluice_plugin_kit::*;

use super::fixtures::*;

type Mutation = fn(&mut RenderInput);

fn base() -> RenderInput {
    let mut h = simple_host("a.com", "10.0.0.1");
    h.context_roots = vec![context_root(
        "/app",
        true,
        upstream("app", &[("10.0.0.2", 80)]),
    )];
    h.websocket_endpoints = vec!["/ws".into()];
    h.redirects = vec![redirect(Some("http"), "https://a.com")];
    h.tls = Some(tls_files("/certs/a.pem", Some("/certs/a.key")));
    h.upstream.as_mut().unwrap().sticky_cookie = Some("session".into());
    input(vec![h], vec![])
}

fn host(i: &mut RenderInput) -> &mut Host {
    &mut i.hosts[0]
}

#[test]
fn hostile_input_is_refused_naming_the_element() {
    let cases: Vec<(&str, Mutation, &str)> = vec![
        (
            "host breaks out",
            |i| host(i).name = "a.com;} server {".into(),
            "hosts[\"a.com;} server {\"]",
        ),
        (
            "host with newline",
            |i| host(i).name = "a.com\nuser root;".into(),
            "hosts[",
        ),
        (
            "host upper case",
            |i| host(i).name = "A.com".into(),
            "hosts[\"A.com\"]",
        ),
        ("host regex", |i| host(i).name = "~^(.*)$".into(), "hosts["),
        (
            "duplicate host",
            |i| {
                let h = i.hosts[0].clone();
                i.hosts.push(h)
            },
            "hosts[\"a.com\"]",
        ),
        (
            "context root brace",
            |i| host(i).context_roots[0].path = "/x { return 200; }".into(),
            "context-roots[",
        ),
        (
            "context root dollar",
            |i| host(i).context_roots[0].path = "/$host".into(),
            "context-roots[\"/$host\"]",
        ),
        (
            "context root relative",
            |i| host(i).context_roots[0].path = "app".into(),
            "context-roots[\"app\"]",
        ),
        (
            "duplicate context root",
            |i| {
                let mut c = host(i).context_roots[0].clone();
                c.path = "/app/".into();
                host(i).context_roots.push(c)
            },
            "context-roots[\"/app/\"]",
        ),
        (
            "websocket newline",
            |i| host(i).websocket_endpoints[0] = "/ws\n}".into(),
            "websocket-endpoints[",
        ),
        (
            "websocket semicolon",
            |i| host(i).websocket_endpoints[0] = "/ws;".into(),
            "websocket-endpoints[\"/ws;\"]",
        ),
        (
            "redirect quote",
            |i| host(i).redirects[0].target = "https://b.com\"; return 200 \"x".into(),
            "redirects[",
        ),
        (
            "redirect newline",
            |i| host(i).redirects[0].target = "https://b.com\n".into(),
            "redirects[",
        ),
        (
            "redirect variable",
            |i| host(i).redirects[0].target = "https://$host".into(),
            "redirects[\"https://$host\"]",
        ),
        (
            "redirect scheme",
            |i| host(i).redirects[0].scheme = Some("ftp".into()),
            "redirects[\"https://a.com\"]",
        ),
        (
            "cert newline",
            |i| host(i).tls.as_mut().unwrap().cert_path = "/a.pem;\nuser root".into(),
            "tls.cert-path",
        ),
        (
            "key variable",
            |i| host(i).tls.as_mut().unwrap().key_path = Some("/k/$ssl_server_name".into()),
            "tls.key-path",
        ),
        (
            "cookie semicolon",
            |i| host(i).upstream.as_mut().unwrap().sticky_cookie = Some("s; } server {".into()),
            "sticky-cookie",
        ),
        (
            "upstream name",
            |i| host(i).upstream.as_mut().unwrap().name = "a { }".into(),
            "upstreams[",
        ),
        (
            "server address",
            |i| {
                host(i).upstream.as_mut().unwrap().servers[0].address =
                    "10.0.0.1:80; server evil".into()
            },
            "servers[0]",
        ),
        (
            "server zone id",
            |i| host(i).upstream.as_mut().unwrap().servers[0].address = "fe80::1%eth0".into(),
            "servers[0]",
        ),
        (
            "server port 0",
            |i| host(i).upstream.as_mut().unwrap().servers[0].port = 0,
            "servers[0]",
        ),
        (
            "server weight 0",
            |i| host(i).upstream.as_mut().unwrap().servers[0].weight = 0,
            "servers[0]",
        ),
        (
            "differing twins",
            |i| {
                let mut u = host(i).upstream.clone().unwrap();
                u.ip_hash = true;
                i.default_backend = Some(u);
            },
            "upstreams[\"a_com\"]",
        ),
        (
            "server info",
            |i| i.cluster.server_info = "x\"; }\n".into(),
            "cluster.server-info",
        ),
        (
            "server info variable",
            |i| i.cluster.server_info = "$hostname".into(),
            "cluster.server-info",
        ),
        (
            "http port 0",
            |i| i.cluster.http_port = 0,
            "cluster.http-port",
        ),
        (
            "https port clash",
            |i| i.cluster.https_port = 80,
            "cluster.https-port",
        ),
        (
            "config path",
            |i| i.cluster.config_path = "nginx.conf".into(),
            "cluster.config-path",
        ),
    ];
    for (name, mutate, key_part) in cases {
        let mut i = base();
        mutate(&mut i);
        match crate::render::render(&i, &[]) {
            Err(RenderError::InvalidInput(diags)) => {
                assert!(
                    diags
                        .iter()
                        .any(|d| d.key.as_deref().is_some_and(|k| k.contains(key_part))),
                    "{name}: no diagnostic naming {key_part:?}: {diags:?}"
                );
                assert!(
                    diags.iter().all(|d| d.severity == Severity::Error),
                    "{name}"
                );
            }
            other => panic!(
                "{name}: expected InvalidInput, got {:?}",
                other.map(|r| r.files)
            ),
        }
    }
}

#[test]
fn base_input_renders() {
    rendered(&base());
}

#[test]
fn hostile_settings_are_refused_naming_the_key() {
    let cases = [
        text("User", "root;\ndaemon off"),
        text("PidPath", "/run/p.pid\nuser root"),
        text("ErrorLogPath", "/x/$host"),
        text("SSLCiphers", "HIGH; } server {"),
        text("SSLProtocols", "TLSv1.2; }"),
        text("SSLOpts", "} server { listen 81; "),
        text("KeepaliveTimeout", "75s; } x {"),
        text("MainLogFormat", "'$remote_addr'; } server {"),
        list("HTTPOptions", &["} stream {"]),
        list("GlobalOptions", &["events { }", "http {"]),
        list("TCPOptions", &["server { listen 9;"]),
        text("LargeClientHeaderBuffers", "4 8k; x"),
        text("WorkerProcesses", "1;"),
    ];
    for s in cases {
        let key = s.key.clone();
        let i = input(vec![], vec![s]);
        match crate::render::render(&i, &[]) {
            Err(RenderError::InvalidSettings(diags)) => {
                assert!(
                    diags.iter().any(|d| d.key.as_deref() == Some(key.as_str())),
                    "{key}: {diags:?}"
                );
            }
            other => panic!(
                "{key}: expected InvalidSettings, got {:?}",
                other.map(|r| r.files)
            ),
        }
    }
}

/// Values that are odd but legal come out as single quoted arguments.
#[test]
fn odd_but_legal_values_are_quoted() {
    let mut h = simple_host("a.com", "10.0.0.1");
    h.tls = Some(tls_files("/certs/my+cert@a=b.pem", None));
    let i = input(vec![h], vec![text("PidPath", "/run/a b;c.pid")]);
    let text = rendered(&i);
    assert!(
        text.contains("ssl_certificate /certs/my+cert@a=b.pem;")
            || text.contains("ssl_certificate \"/certs/my+cert@a=b.pem\";"),
        "{text}"
    );
    assert!(text.contains("pid \"/run/a b;c.pid\";"), "{text}");
}

/// Route values that are syntax somewhere are refused by the shared input
/// rules, each named, before any config is written.
#[test]
fn route_values_beyond_the_input_rules_are_refused() {
    let mut h = simple_host("a.com", "10.0.0.1");
    h.tls = Some(tls_files("/certs/my cert;{}.pem", None));
    h.context_roots = vec![context_root(
        "/it's",
        false,
        upstream("q", &[("10.0.0.3", 80)]),
    )];
    h.redirects = vec![redirect(None, "https://b.com/$host")];
    let keys: Vec<String> = match crate::render::render(&input(vec![h], vec![]), &[]) {
        Err(RenderError::InvalidInput(diags)) => diags.into_iter().filter_map(|d| d.key).collect(),
        other => panic!("expected InvalidInput, got {:?}", other.map(|r| r.files)),
    };
    for want in ["tls.cert-path", "context-roots[\"/it's\"]", "redirects["] {
        assert!(keys.iter().any(|k| k.contains(want)), "{want} in {keys:?}");
    }
}
