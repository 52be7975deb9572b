//! `sluice status`'s view of the ACME hosts: the task's per-host status with
//! the certificate each host serves meanwhile (a failed renewal keeps the
//! last one).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use crate::acme::{Acme, HostStatus};
use crate::serve::wire::AcmeHostStatus;

pub(super) fn of(acme: &Acme) -> BTreeMap<String, AcmeHostStatus> {
    let certs = acme.certificates();
    shown(
        acme.status(),
        |host| certs.get(host).map(|c| c.not_after),
        SystemTime::now(),
    )
}

fn shown(
    status: BTreeMap<String, HostStatus>,
    serving: impl Fn(&str) -> Option<SystemTime>,
    now: SystemTime,
) -> BTreeMap<String, AcmeHostStatus> {
    let ms = |t: SystemTime| {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    };
    status
        .into_iter()
        .map(|(host, s)| {
            let mut shown = AcmeHostStatus {
                state: s.state().to_owned(),
                not_after_ms: serving(&host).map(ms),
                ..AcmeHostStatus::default()
            };
            if let HostStatus::Failed { error, retry_at } = s {
                shown.error = Some(error);
                let left = retry_at.duration_since(now).unwrap_or(Duration::ZERO);
                shown.retry_in_s = Some(left.as_secs());
            }
            (host, shown)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_renewal_shows_the_certificate_still_served_and_when_it_retries() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let end = now + Duration::from_secs(3600);
        let status = BTreeMap::from([
            ("new.example".to_owned(), HostStatus::WaitingForProxies),
            (
                "old.example".to_owned(),
                HostStatus::Failed {
                    error: "rateLimited".into(),
                    retry_at: now + Duration::from_secs(120),
                },
            ),
        ]);
        let shown = shown(status, |h| (h == "old.example").then_some(end), now);
        assert_eq!(shown["new.example"].state, "waiting");
        assert_eq!(shown["new.example"].not_after_ms, None);
        let old = &shown["old.example"];
        assert_eq!(old.state, "failed");
        assert_eq!(old.not_after_ms, Some(1_003_600_000));
        assert_eq!(old.error.as_deref(), Some("rateLimited"));
        assert_eq!(old.retry_in_s, Some(120));
    }
}
