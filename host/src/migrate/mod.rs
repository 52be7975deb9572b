//! `sluice migrate`: switching a Swarm from Interlock to Sluice in place.
//!
//! Interlock's core service (`ucp-interlock`) holds its `config.toml` in a
//! Docker config object and keeps one proxy service per cluster
//! (`ucp-interlock-proxy`) on the published ports. The switch:
//! 1. [`read`]: the core's config object and every service, from the Swarm;
//! 2. [`assess`] (pure): what Sluice will do with each proxy service and
//!    which of Interlock's keys it treats differently, every line naming the
//!    service or key;
//! 3. [`migrated_config`] (pure): the config Sluice runs with: Interlock's,
//!    with the delivery its proxy image can do;
//! 4. with `--take-over`, [`takeover`]: each changed spec saved in a config
//!    object, the core scaled to 0 (and waited for, so it no longer writes to
//!    the proxies), then the proxy services labelled as this instance's (a
//!    label change restarts no task: the ports stay open). The daemon, started on
//!    the migrated config, then updates them in place: same names, ports and
//!    placement.
//! 5. `--rollback` ([`takeover::rollback`]) puts the saved specs back.

pub mod assess;
pub mod migrated_config;
pub mod read;
pub mod takeover;

/// Labels of the config objects that hold the specs a rollback restores.
pub const BACKUP: &str = "com.docker.sluice.migrate.backup";
/// The service a backup's spec belongs to.
pub const BACKUP_SERVICE: &str = "com.docker.sluice.migrate.service";
/// `core` or `proxy`: a rollback restores the proxies first, the core last
/// (a core back first would update the proxies while they are restored).
pub const BACKUP_ROLE: &str = "com.docker.sluice.migrate.role";
