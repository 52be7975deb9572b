//! Why one cluster's reconcile failed, typed so the error policy
//! ([`super::retry`]) can tell what waiting fixes from what needs a person.

use super::retry::Class;
use crate::apply::ApplyError;
use crate::render::PluginError;

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The plugin could not be loaded, or its render failed or was refused.
    #[error(transparent)]
    Plugin(#[from] PluginError),
    /// A bug in Sluice while rendering, contained to this cluster.
    #[error("rendering panicked (a bug in Sluice, please report it): {0}")]
    Panicked(String),
    #[error(transparent)]
    Apply(#[from] ApplyError),
}

impl ClusterError {
    pub fn class(&self) -> Class {
        let transient = match self {
            ClusterError::Plugin(e) => e.is_transient(),
            ClusterError::Apply(e) => e.is_transient(),
            // The same input panics again: only a new input or build helps.
            ClusterError::Panicked(_) => false,
        };
        if transient {
            Class::Transient
        } else {
            Class::Permanent
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        let cases = [
            (
                ClusterError::Plugin(PluginError::Timeout {
                    plugin: "nginx".into(),
                    cluster: Some("east".into()),
                    limit_ms: 5000,
                }),
                Class::Transient,
            ),
            (
                ClusterError::Plugin(PluginError::InvalidInput {
                    plugin: "nginx".into(),
                    cluster: Some("east".into()),
                    diagnostics: vec![],
                }),
                Class::Permanent,
            ),
            (
                ClusterError::Plugin(PluginError::UnknownBuiltin("caddy".into())),
                Class::Permanent,
            ),
            (ClusterError::Panicked("oops".into()), Class::Permanent),
            (
                ClusterError::Apply(ApplyError::Engine {
                    action: "create service".into(),
                    status: Some(503),
                    message: "busy".into(),
                }),
                Class::Transient,
            ),
            (
                ClusterError::Apply(ApplyError::NotOwned {
                    service: "p".into(),
                    expected: "sluice".into(),
                    owner: "x".into(),
                }),
                Class::Permanent,
            ),
        ];
        for (error, class) in cases {
            assert_eq!(error.class(), class, "{error}");
        }
    }
}
