//! The matrix: snapshot × config × plugin. Each row runs with both plugins.

use sluice_tests::proxy::Kind;

/// One row of the table.
pub struct Row {
    /// Snapshot, relative to the repository root.
    pub snapshot: &'static str,
    /// Config under `tests/fixtures/matrix/`; `ALL_KEYS` picks the plugin's own.
    pub config: &'static str,
    /// Plan errors the row must produce, as (service, label); any other error fails.
    pub errors: &'static [(&'static str, &'static str)],
}

/// Stands for `<plugin>-all-keys.toml`: every key of that plugin, non-default.
pub const ALL_KEYS: &str = "all-keys";

const FEATURES: &str = "examples/features/snapshot.json";
pub const EVERY_LABEL: &str = "tests/fixtures/matrix/every-label.json";
const SEED: &str = "examples/seed/snapshot.json";
const WILDCARD: &str = "tests/fixtures/matrix/wildcard.json";
const EMPTY: &str = "tests/fixtures/matrix/empty.json";
pub const BAD_LABEL: &str = "tests/fixtures/matrix/bad-label.json";

const fn row(snapshot: &'static str, config: &'static str) -> Row {
    Row {
        snapshot,
        config,
        errors: &[],
    }
}

pub const ROWS: &[Row] = &[
    row(FEATURES, "defaults.toml"),
    row(FEATURES, ALL_KEYS),
    row(FEATURES, "seed-table.toml"),
    row(EVERY_LABEL, "defaults.toml"),
    row(EVERY_LABEL, ALL_KEYS),
    row(EVERY_LABEL, "seed-table.toml"),
    row(SEED, "seed.toml"),
    row(EMPTY, "defaults.toml"),
    row(WILDCARD, "defaults.toml"),
    Row {
        snapshot: BAD_LABEL,
        config: "defaults.toml",
        errors: &[("broken", "com.docker.lb.port")],
    },
];

pub const PLUGINS: [Kind; 2] = [Kind::Nginx, Kind::Haproxy];

/// One case of the matrix.
pub struct Case {
    pub name: String,
    pub snapshot: &'static str,
    pub config: String,
    pub plugin: Kind,
    pub errors: &'static [(&'static str, &'static str)],
}

impl Case {
    pub fn all_keys(&self) -> bool {
        self.config.ends_with("-all-keys.toml")
    }
}

pub fn config_for(config: &str, plugin: Kind) -> String {
    if config == ALL_KEYS {
        format!("{}-all-keys.toml", plugin.name())
    } else {
        config.to_string()
    }
}

pub fn cases() -> Vec<Case> {
    ROWS.iter()
        .flat_map(|row| {
            PLUGINS.iter().map(move |&plugin| {
                let config = config_for(row.config, plugin);
                let snapshot_name = row
                    .snapshot
                    .rsplit('/')
                    .nth(if row.snapshot.starts_with("examples") {
                        1
                    } else {
                        0
                    })
                    .unwrap_or(row.snapshot)
                    .trim_end_matches(".json");
                Case {
                    name: format!(
                        "{snapshot_name} × {} × {}",
                        config.trim_end_matches(".toml"),
                        plugin.name()
                    ),
                    snapshot: row.snapshot,
                    config,
                    plugin,
                    errors: row.errors,
                }
            })
        })
        .collect()
}
