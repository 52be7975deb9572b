//! An Extension's `AllowedHosts`: a service of that cluster may claim only
//! hosts the list allows. One host outside it leaves the whole service
//! unrouted (as any bad label does), with an Error naming the hosts, so a
//! team never serves half of what it asked for without being told.

use super::labels::{self, ServiceRoute};
use super::{Diagnostic, Severity};
use crate::config::Extension;

/// Why `service` may not claim its hosts in `ext`, if it may not.
pub fn refused(ext: &Extension, service: &str, route: &ServiceRoute) -> Option<Diagnostic> {
    let allowed = ext.allowed_hosts.as_ref()?;
    let outside: Vec<&str> = route
        .hosts
        .iter()
        .map(String::as_str)
        .filter(|h| !allowed.allows(h))
        .collect();
    if outside.is_empty() {
        return None;
    }
    Some(Diagnostic {
        severity: Severity::Error,
        cluster: Some(ext.name.clone()),
        service: Some(service.to_owned()),
        label: Some(labels::HOSTS.to_owned()),
        message: format!(
            "claims {} outside Extensions.{}.AllowedHosts ({}); not routed",
            outside.join(", "),
            ext.name,
            allowed.patterns().join(", ")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HostPatterns;

    #[test]
    fn hosts_outside_the_list_refuse_the_service() {
        let mut ext = Extension::new("team-a");
        let route = |hosts: &[&str]| ServiceRoute {
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
            ..Default::default()
        };
        // No list: every host.
        assert!(refused(&ext, "s", &route(&["any.example"])).is_none());
        ext.allowed_hosts = Some(HostPatterns::new(vec!["*.a.example".into()]).unwrap());
        // (hosts, refused naming)
        let table: [(&[&str], Option<&str>); 4] = [
            (&["x.a.example"], None),
            (&["x.a.example", "y.a.example"], None),
            (&["x.a.example", "b.example"], Some("b.example")),
            (&["a.example.evil"], Some("a.example.evil")),
        ];
        for (hosts, want) in table {
            let got = refused(&ext, "s", &route(hosts));
            match (got, want) {
                (None, None) => {}
                (Some(d), Some(host)) => {
                    assert!(
                        d.message.contains(host) && d.message.contains("*.a.example"),
                        "{}",
                        d.message
                    );
                    assert!(!d.message.contains("x.a.example"), "{}", d.message);
                    assert_eq!(d.label.as_deref(), Some(labels::HOSTS));
                    assert_eq!(d.cluster.as_deref(), Some("team-a"));
                }
                (got, want) => panic!("{hosts:?}: got {got:?}, want {want:?}"),
            }
        }
    }
}
