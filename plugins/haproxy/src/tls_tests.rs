use super::*;
use crate::test_support::*;

fn rules(hosts: &[Host], terminating: bool) -> Vec<String> {
    sni_rules(hosts, terminating)
        .into_iter()
        .map(|(b, c)| format!("{b} {c}"))
        .collect()
}

/// Exact names first, then wildcards longest suffix first; terminated
/// names only where a passthrough wildcard would take them.
#[test]
fn sni_precedence() {
    let hosts = wildcards("/etc/haproxy/haproxy.cfg", "/c.pem").hosts;
    assert_eq!(
        rules(&hosts, true),
        [
            "be_tls_terminate { req.ssl_sni,lower -m str in.pass.example }",
            "be_tls_terminate { req.ssl_sni,lower -m end .deep.pass.example }",
            "pt_pass { req.ssl_sni,lower -m end .pass.example }",
        ]
    );
    // Without a terminating frontend nothing is routed to it.
    assert_eq!(
        rules(&hosts, false),
        ["pt_pass { req.ssl_sni,lower -m end .pass.example }"]
    );
}

#[test]
fn exact_passthrough_before_wildcards() {
    let pt = |name: &str, up: &str| {
        let mut h = host(name, Some(upstream(up, vec![])));
        h.passthrough = true;
        h
    };
    let hosts = [
        pt("*.a.example", "wild"),
        pt("*.b.a.example", "deeper"),
        pt("x.a.example", "exact"),
        pt("y.example", "other"),
    ];
    assert_eq!(
        rules(&hosts, false),
        [
            "pt_exact { req.ssl_sni,lower -m str x.a.example }",
            "pt_other { req.ssl_sni,lower -m str y.example }",
            "pt_deeper { req.ssl_sni,lower -m end .b.a.example }",
            "pt_wild { req.ssl_sni,lower -m end .a.example }",
        ]
    );
}

#[test]
fn crt_list_keeps_wildcard_filters() {
    let hosts = wildcards("/etc/haproxy/haproxy.cfg", "/c.pem").hosts;
    assert_eq!(
        crt_list(&hosts),
        "/c.pem *.deep.pass.example\n/c.pem *.shop.example\n/c.pem in.pass.example\n"
    );
}
