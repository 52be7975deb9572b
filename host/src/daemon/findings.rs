//! Logging plan diagnostics once: a bad label is reported when it appears and
//! when it is fixed, not on every poll.

use std::collections::BTreeSet;

use crate::plan::{Diagnostic, Severity};

#[derive(Default)]
pub(super) struct Findings {
    current: BTreeSet<Diagnostic>,
}

impl Findings {
    pub(super) fn update(&mut self, diagnostics: &[Diagnostic]) {
        let next: BTreeSet<Diagnostic> = diagnostics.iter().cloned().collect();
        for d in next.difference(&self.current) {
            let (cluster, service, label) = (
                d.cluster.as_deref(),
                d.service.as_deref(),
                d.label.as_deref(),
            );
            match d.severity {
                Severity::Error => tracing::error!(?cluster, ?service, ?label, "{}", d.message),
                Severity::Warning => tracing::warn!(?cluster, ?service, ?label, "{}", d.message),
            }
        }
        for d in self.current.difference(&next) {
            tracing::info!(cluster = ?d.cluster, service = ?d.service, label = ?d.label, "resolved: {}", d.message);
        }
        self.current = next;
    }
}
