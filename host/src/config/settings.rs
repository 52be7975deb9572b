//! `[Extensions.NAME.Config]` → the plugin's settings, typed as TOML typed them.

use std::collections::BTreeMap;

use toml::de::{DeTable, DeValue};

use super::error::ConfigError;
use super::values::{Reader, join_key};
use crate::wit::latest::{Setting, SettingValue};

/// The table's settings sorted by key. Nested tables, arrays of anything but
/// strings, and datetimes have no setting-value and are refused.
pub(crate) fn read_settings(
    reader: Reader<'_>,
    path: &str,
    table: &DeTable<'_>,
    lines: &mut BTreeMap<String, usize>,
) -> Result<Vec<Setting>, ConfigError> {
    let mut settings = table
        .iter()
        .map(|(key, item)| {
            let key_path = join_key(path, key.get_ref());
            lines.insert(key_path.clone(), reader.pos(key).line);
            let value = match item.get_ref() {
                DeValue::String(s) => SettingValue::Text(s.to_string()),
                DeValue::Integer(_) => SettingValue::Integer(reader.integer(&key_path, item)?),
                DeValue::Float(f) => SettingValue::Float(
                    f.as_str()
                        .parse()
                        .map_err(|_| reader.bad(&key_path, item, format!("bad float {f}")))?,
                ),
                DeValue::Boolean(b) => SettingValue::Boolean(*b),
                DeValue::Array(_) => SettingValue::TextList(reader.strings(&key_path, item).map_err(
                    |_| {
                        reader.bad(
                            &key_path,
                            item,
                            "arrays in [Config] must hold only strings",
                        )
                    },
                )?),
                other => {
                    return Err(reader.bad(
                        &key_path,
                        item,
                        format!(
                            "a {} cannot be passed to the plugin; use a string, integer, float, boolean or array of strings",
                            other.type_str()
                        ),
                    ));
                }
            };
            Ok(Setting {
                key: key.get_ref().to_string(),
                value,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    // toml's map may keep file order (feature `preserve_order`); the plugin
    // interface promises key order.
    settings.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(settings)
}
