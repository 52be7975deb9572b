//! Which secrets a service's `ssl_cert`/`ssl_key` labels may name. The
//! daemon runs on a manager and mounts what the labels name into the proxy,
//! so a label must not reach a secret its service has no business with:
//! - one Swarm does not have is refused (mounting it would fail the whole
//!   proxy update);
//! - Sluice's own secrets (its agents' credentials, labelled with
//!   [`OWNED_BY`], or named `sluice-agent-*`) never;
//! - on MKE/UCP-style clusters, where services and secrets carry a
//!   collection ([`COLLECTION`]), only a secret of the service's own
//!   collection (a service without one: only secrets without one). Without
//!   collection labels (a plain Swarm) this rule allows everything, as
//!   Interlock did;
//! - a certificate/key pair a proxy's agent found broken ([`BrokenTls`]):
//!   its services are left out, so the cluster's other routes keep
//!   updating (the proxy would refuse the whole config otherwise).

use std::collections::{BTreeMap, HashMap};

use super::labels::{self, ServiceRoute};
use super::{Diagnostic, Severity};
use crate::snapshot::Secret;

/// The label that marks what a Sluice instance created (its value is the
/// instance name).
pub const OWNED_BY: &str = "com.docker.sluice.instance";
/// The name prefix of Sluice's agent credentials secrets.
pub const AGENT_SECRET_PREFIX: &str = "sluice-agent-";
/// MKE/UCP's access-control collection of a service or secret.
pub const COLLECTION: &str = "com.docker.ucp.access.label";

/// A host's TLS secrets: (`ssl_cert`, `ssl_key`) names.
pub type TlsSecrets = (String, Option<String>);

/// Certificate/key pairs found broken, with why. Docker secrets cannot
/// change, so a pair once broken stays broken; a fix is a new secret.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BrokenTls(pub BTreeMap<TlsSecrets, String>);

/// What the plan needs to know of one secret.
struct SecretInfo<'a> {
    sluices: bool,
    collection: Option<&'a str>,
}

/// The Swarm's secrets, gathered once per plan; None when there are none
/// listed at all (existence and collections are not checked then).
pub struct SecretNames<'a> {
    known: Option<BTreeMap<&'a str, SecretInfo<'a>>>,
    broken: &'a BrokenTls,
}

impl<'a> SecretNames<'a> {
    pub fn new(secrets: &'a [Secret], broken: &'a BrokenTls) -> Self {
        let known = (!secrets.is_empty()).then(|| {
            secrets
                .iter()
                .filter_map(|s| {
                    let spec = s.spec.as_ref()?;
                    let labels = spec.labels.as_ref();
                    let info = SecretInfo {
                        sluices: labels.is_some_and(|l| l.contains_key(OWNED_BY)),
                        collection: labels.and_then(|l| l.get(COLLECTION)).map(String::as_str),
                    };
                    Some((spec.name.as_deref()?, info))
                })
                .collect()
        });
        SecretNames { known, broken }
    }

    /// Why `service` (with `service_labels`) may not use the secrets its
    /// route names, if it may not.
    pub fn refused(
        &self,
        service: &str,
        service_labels: &HashMap<String, String>,
        route: &ServiceRoute,
    ) -> Option<Diagnostic> {
        let collection = service_labels.get(COLLECTION).map(String::as_str);
        // A passthrough host's certificate labels are not used (nor mounted).
        let tls = |name: &Option<String>| name.clone().filter(|_| !route.ssl_passthrough);
        let auth = route
            .policy
            .as_ref()
            .and_then(|p| p.basic_auth.as_ref())
            .map(|a| a.secret.clone());
        [
            (labels::SSL_CERT, tls(&route.ssl_cert)),
            (labels::SSL_KEY, tls(&route.ssl_key)),
            (labels::policy::AUTH_BASIC, auth),
        ]
        .into_iter()
        .find_map(|(label, name)| {
            let name = name.as_deref()?;
            let message = self.why_not(name, collection)?;
            Some(Diagnostic {
                severity: Severity::Error,
                cluster: None,
                service: Some(service.to_owned()),
                label: Some(label.to_owned()),
                message,
            })
        })
    }

    /// Why `service` is left out for a pair found broken (asked once it
    /// may use the secrets at all, see [`SecretNames::refused`]).
    pub fn broken(&self, service: &str, route: &ServiceRoute) -> Option<Diagnostic> {
        let cert = route.ssl_cert.as_ref().filter(|_| !route.ssl_passthrough)?;
        let why = self.broken.0.get(&(cert.clone(), route.ssl_key.clone()))?;
        Some(Diagnostic {
            severity: Severity::Error,
            cluster: None,
            service: Some(service.to_owned()),
            label: Some(labels::SSL_CERT.to_owned()),
            message: format!(
                "certificate secret {cert:?}{} failed the proxy's check ({why}); not routed until it names a good pair (a new secret)",
                match &route.ssl_key {
                    Some(k) => format!(" with key secret {k:?}"),
                    None => String::new(),
                }
            ),
        })
    }

    fn why_not(&self, name: &str, collection: Option<&str>) -> Option<String> {
        let own = || {
            format!(
                "names secret {name:?}, which is Sluice's own (agent credentials); a service cannot use it"
            )
        };
        if name.starts_with(AGENT_SECRET_PREFIX) {
            return Some(own());
        }
        let known = self.known.as_ref()?;
        let Some(info) = known.get(name) else {
            return Some(format!("names secret {name:?}, which does not exist"));
        };
        if info.sluices {
            return Some(own());
        }
        match (collection, info.collection) {
            (Some(mine), Some(theirs)) if mine != theirs => Some(format!(
                "names secret {name:?} of collection {theirs:?}; service of collection {mine:?} may use only its own collection's secrets"
            )),
            (None, Some(theirs)) => Some(format!(
                "names secret {name:?} of collection {theirs:?}; a service without a collection ({COLLECTION}) may use only secrets without one"
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::model::SecretSpec;

    fn secret(name: &str, labels: &[(&str, &str)]) -> Secret {
        Secret {
            spec: Some(SecretSpec {
                name: Some(name.into()),
                labels: Some(
                    labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
            }),
            ..Default::default()
        }
    }

    fn route(cert: &str) -> ServiceRoute {
        ServiceRoute {
            hosts: vec!["a.example".into()],
            ssl_cert: Some(cert.into()),
            ssl_key: Some(cert.into()),
            ..Default::default()
        }
    }

    fn no_broken() -> BrokenTls {
        BrokenTls::default()
    }

    #[test]
    fn pairs_found_broken_leave_their_services_out() {
        let broken = BrokenTls(
            [(
                ("bad.crt".to_owned(), Some("bad.key".to_owned())),
                "the private key in /run/secrets/bad.key does not belong to the certificate"
                    .to_owned(),
            )]
            .into(),
        );
        let names = SecretNames::new(&[], &broken);
        let with = |cert: &str, key: Option<&str>| ServiceRoute {
            ssl_cert: Some(cert.into()),
            ssl_key: key.map(str::to_owned),
            ..route(cert)
        };
        let d = names
            .broken("svc", &with("bad.crt", Some("bad.key")))
            .unwrap();
        assert!(
            d.message.contains("bad.crt") && d.message.contains("does not belong"),
            "{}",
            d.message
        );
        // The same certificate with another key, or another certificate: fine.
        assert!(
            names
                .broken("svc", &with("bad.crt", Some("good.key")))
                .is_none()
        );
        assert!(
            names
                .broken("svc", &with("good.crt", Some("bad.key")))
                .is_none()
        );
    }

    #[test]
    fn services_use_only_secrets_they_may() {
        let secrets = [
            secret("team-a.pem", &[(COLLECTION, "team-a")]),
            secret("team-b.pem", &[(COLLECTION, "team-b")]),
            secret("plain.pem", &[]),
            secret("sluice-creds", &[(OWNED_BY, "sluice")]),
        ];
        let none = no_broken();
        let names = SecretNames::new(&secrets, &none);
        let team_a: HashMap<String, String> = [(COLLECTION.to_owned(), "team-a".to_owned())].into();
        let plain = HashMap::new();
        // (service labels, secret, refusal contains or None)
        let table: [(&HashMap<String, String>, &str, Option<&str>); 9] = [
            (&team_a, "team-a.pem", None),
            (&team_a, "team-b.pem", Some("collection \"team-b\"")),
            (&team_a, "plain.pem", None),
            (&plain, "team-b.pem", Some("without a collection")),
            (&plain, "plain.pem", None),
            (&plain, "missing.pem", Some("does not exist")),
            (&plain, "sluice-creds", Some("Sluice's own")),
            (&plain, "sluice-agent-east-0123abcd", Some("Sluice's own")),
            (&team_a, "sluice-agent-west-0123abcd", Some("Sluice's own")),
        ];
        for (labels, secret, want) in table {
            let got = names.refused("svc", labels, &route(secret));
            match (got, want) {
                (None, None) => {}
                (Some(d), Some(w)) => {
                    assert!(d.message.contains(w), "{secret}: {}", d.message);
                    assert_eq!(d.service.as_deref(), Some("svc"));
                    assert_eq!(d.label.as_deref(), Some(labels::SSL_CERT));
                }
                (got, want) => panic!("{secret}: got {got:?}, want {want:?}"),
            }
        }
        // Without secrets in the snapshot only the name rule applies.
        let blind = SecretNames::new(&[], &none);
        assert!(
            blind
                .refused("svc", &plain, &route("anything.pem"))
                .is_none()
        );
        assert!(
            blind
                .refused("svc", &plain, &route("sluice-agent-east-1"))
                .is_some()
        );
    }
}
