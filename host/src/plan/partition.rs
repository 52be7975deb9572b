//! Which service cluster (Extension) serves a service: its
//! `com.docker.lb.service_cluster` against each Extension's `ServiceCluster`;
//! unlabelled services go to the Extension whose `ServiceCluster` is `""`.

use std::collections::BTreeMap;

use super::labels::{self, ServiceRoute};
use super::{Diagnostic, Severity};
use crate::config::Config;

/// `ServiceCluster` value → Extension name.
pub struct Partition {
    by_cluster: BTreeMap<String, String>,
}

impl Partition {
    /// When two Extensions share a `ServiceCluster`, the first by name serves it
    /// (the config loader should refuse that; the planner stays total).
    pub fn new(config: &Config, diagnostics: &mut Vec<Diagnostic>) -> Self {
        let mut by_cluster: BTreeMap<String, String> = BTreeMap::new();
        for (name, ext) in &config.extensions {
            match by_cluster.get(&ext.service_cluster) {
                Some(first) => diagnostics.push(Diagnostic {
                    severity: Severity::Warning,
                    cluster: Some(name.clone()),
                    service: None,
                    label: None,
                    message: format!(
                        "extensions {first} and {name} both have ServiceCluster = {:?}; its services go to {first}",
                        ext.service_cluster
                    ),
                }),
                None => {
                    by_cluster.insert(ext.service_cluster.clone(), name.clone());
                }
            }
        }
        Partition { by_cluster }
    }

    /// The Extension for a service, or the diagnostic that explains why none.
    pub fn assign(&self, service: &str, route: &ServiceRoute) -> Result<&str, Diagnostic> {
        let wanted = route.service_cluster.as_deref().unwrap_or("");
        if let Some(ext) = self.by_cluster.get(wanted) {
            return Ok(ext);
        }
        let (severity, label, message) = match &route.service_cluster {
            None => (
                Severity::Warning,
                None,
                format!(
                    "service {service} has no service_cluster label and no extension has ServiceCluster = \"\"; not routed"
                ),
            ),
            Some(v) => (
                Severity::Error,
                Some(labels::SERVICE_CLUSTER.to_owned()),
                format!("names service cluster {v:?}, but no extension has ServiceCluster = {v:?}"),
            ),
        };
        Err(Diagnostic {
            severity,
            cluster: None,
            service: Some(service.to_owned()),
            label,
            message,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Extension;

    fn config(clusters: &[(&str, &str)]) -> Config {
        let mut c = Config::new();
        for (name, sc) in clusters {
            let mut e = Extension::new(name);
            e.service_cluster = sc.to_string();
            c.extensions.insert(name.to_string(), e);
        }
        c
    }

    fn route(cluster: Option<&str>) -> ServiceRoute {
        ServiceRoute {
            service_cluster: cluster.map(str::to_owned),
            ..ServiceRoute::default()
        }
    }

    #[test]
    fn assignment_table() {
        // (extensions (name, ServiceCluster), label, want Ok(ext) or Err(severity, has label))
        type Want = Result<&'static str, (Severity, bool)>;
        type Case<'a> = (&'a [(&'a str, &'a str)], Option<&'a str>, Want);
        let cases: &[Case] = &[
            (
                &[("east", "east"), ("west", "west")],
                Some("east"),
                Ok("east"),
            ),
            (
                &[("east", "east"), ("west", "west")],
                Some("west"),
                Ok("west"),
            ),
            (&[("default", ""), ("east", "east")], None, Ok("default")),
            // An explicitly empty label means the default cluster too.
            (
                &[("default", ""), ("east", "east")],
                Some(""),
                Ok("default"),
            ),
            (&[("east", "east")], None, Err((Severity::Warning, false))),
            (
                &[("east", "east")],
                Some("north"),
                Err((Severity::Error, true)),
            ),
            (
                &[("default", "")],
                Some("north"),
                Err((Severity::Error, true)),
            ),
            // Cluster names are matched exactly.
            (
                &[("east", "east")],
                Some("East"),
                Err((Severity::Error, true)),
            ),
        ];
        for (exts, label, want) in cases {
            let mut diags = Vec::new();
            let p = Partition::new(&config(exts), &mut diags);
            let got = p.assign("svc", &route(*label));
            match (got, want) {
                (Ok(ext), Ok(w)) => assert_eq!(ext, *w, "{exts:?} {label:?}"),
                (Err(d), Err((sev, has_label))) => {
                    assert_eq!(d.severity, *sev, "{exts:?} {label:?}");
                    assert_eq!(d.label.is_some(), *has_label);
                    assert_eq!(d.service.as_deref(), Some("svc"));
                    assert!(d.message.contains("svc") || d.label.is_some());
                }
                (got, want) => panic!("{exts:?} {label:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn unlabelled_warning_text() {
        let p = Partition::new(&config(&[("east", "east")]), &mut Vec::new());
        let d = p.assign("demo", &route(None)).unwrap_err();
        assert!(d.message.contains(
            "service demo has no service_cluster label and no extension has ServiceCluster = \"\""
        ));
    }

    #[test]
    fn duplicate_service_cluster_goes_to_first_extension_with_warning() {
        let mut diags = Vec::new();
        let p = Partition::new(&config(&[("b", "x"), ("a", "x")]), &mut diags);
        assert_eq!(p.assign("svc", &route(Some("x"))).unwrap(), "a");
        assert_eq!(diags.len(), 1);
        assert!(diags[0].message.contains("a and b"));
    }
}
