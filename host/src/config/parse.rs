//! `config.toml` → [`Config`]: walks the spanned TOML tree so every warning
//! and error can name the dotted key and its line.
//!
//! Messages come in two kinds, both for the caller to log:
//! - `warnings`: the file probably does not say what its author meant
//!   (unknown keys, which are ignored; a `Plugin` that contradicts `ProxyImage`).
//! - `notes` (info level): Interlock keys that are accepted and stored but have
//!   no effect in Sluice because rendering runs in-process. One per key name.

use std::collections::BTreeMap;
use std::path::Path;

use toml::de::{DeTable, DeValue};

use super::HostPatterns;
use super::error::{ConfigError, Pos};
use super::model::{Config, Delivery, Extension, PluginRef, PublishMode};
use super::plugin_choice::{
    default_proxy_image, derive_plugin, named_proxy, parse_plugin, parse_sha256,
};
use super::settings::read_settings;
use super::validate::{ExtensionSpans, validate};
use super::values::{Item, Reader, join_key};
use crate::wit::latest::SettingValue;

/// A parsed config and what the caller should tell the user about it.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded {
    pub config: Config,
    /// Likely mistakes, each naming the key and line; log as warnings.
    pub warnings: Vec<String>,
    /// Interlock keys that Sluice accepts but ignores, one per key name; log as info.
    pub notes: Vec<String>,
    /// The line of each plugin setting (`Extensions.NAME.Config.KEY`), so a
    /// plugin's finding about a key can name where it is.
    pub setting_lines: BTreeMap<String, usize>,
}

/// Reads the config file at `path`; relative `Plugin` paths are relative to its folder.
pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_owned(),
        source,
    })?;
    let base_dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    parse_str(&text, base_dir).map_err(|source| ConfigError::InFile {
        path: path.to_owned(),
        source: Box::new(source),
    })
}

/// Parses config text; `base_dir` resolves relative `Plugin` paths.
pub fn parse_str(text: &str, base_dir: &Path) -> Result<Loaded, ConfigError> {
    let root = DeTable::parse(text).map_err(|e| ConfigError::Syntax {
        pos: Pos::of(text, e.span().map_or(0, |span| span.start)),
        message: e.message().trim_end().to_owned(),
    })?;
    let mut parser = Parser {
        reader: Reader { text },
        base_dir,
        warnings: Vec::new(),
        ignored: BTreeMap::new(),
        derived: Vec::new(),
        setting_lines: BTreeMap::new(),
    };
    let (config, spans) = parser.core(root.get_ref())?;
    validate(&config, &spans)?;
    let mut notes: Vec<String> = parser
        .ignored
        .into_iter()
        .map(|(key, extensions)| no_effect_note(key, &extensions))
        .collect();
    notes.extend(parser.derived);
    Ok(Loaded {
        config,
        warnings: parser.warnings,
        notes,
        setting_lines: parser.setting_lines,
    })
}

pub(super) const CORE_KEYS: &[&str] = &[
    "ListenAddr",
    "DockerURL",
    "TLSCACert",
    "TLSCert",
    "TLSKey",
    "AllowInsecure",
    "PollInterval",
    "EndpointOverride",
    "MetricsAddr",
    "StatusPage",
    "ACME",
    "Extensions",
];

pub(super) const EXTENSION_KEYS: &[&str] = &[
    "Image",
    "Args",
    "ServiceName",
    "Labels",
    "ContainerLabels",
    "Constraints",
    "PlacementPreferences",
    "Template",
    "HitlessServiceUpdate",
    "ConfigImage",
    "ConfigServiceName",
    "Networks",
    "ProxyImage",
    "ProxyArgs",
    "ProxyServiceName",
    "ProxyConfigPath",
    "ProxyCommand",
    "AllowedHosts",
    "ProxyValidateCommand",
    "ProxyReload",
    "ProxyReplicas",
    "ProxyStopSignal",
    "ProxyStopGracePeriod",
    "ProxyConstraints",
    "ProxyPlacementPreferences",
    "ProxyLabels",
    "ProxyContainerLabels",
    "ProxyUpdateDelay",
    "ServiceCluster",
    "PublishMode",
    "PublishedPort",
    "TargetPort",
    "PublishedSSLPort",
    "TargetSSLPort",
    "Config",
    "Plugin",
    "PluginSha256",
    "Delivery",
    "AgentMetricsPort",
];

/// Why a stored-but-ignored Interlock key does nothing here.
fn no_effect_reason(key: &str) -> Option<&'static str> {
    Some(match key {
        "Image" => {
            "Sluice runs no extension service (rendering is in-process); used only to choose the plugin when neither `Plugin` nor `ProxyImage` is set"
        }
        "Args"
        | "ServiceName"
        | "Labels"
        | "ContainerLabels"
        | "Constraints"
        | "PlacementPreferences" => "Sluice runs no extension service (rendering is in-process)",
        "Template" => {
            "a custom template is not applied: Sluice renders with plugins, not Go templates. Port what it adds with the plugin's raw options in `[Extensions.NAME.Config]` (nginx: `GlobalOptions`, `HTTPOptions`, `TCPOptions`; HAProxy: `GlobalOptions`, `DefaultOptions`), or write a renderer plugin (`Plugin`, see docs/plugins.md)"
        }
        "ConfigImage" | "ConfigServiceName" => {
            "Sluice runs no config service; proxies are updated as `Delivery` says"
        }
        "HitlessServiceUpdate" => "updates are hitless unless `Delivery = \"rolling\"`",
        _ => return None,
    })
}

fn no_effect_note(key: &str, extensions: &[String]) -> String {
    let reason = no_effect_reason(key).unwrap_or_default();
    format!(
        "`{key}` (in Extensions {}) has no effect in Sluice: {reason}",
        extensions.join(", ")
    )
}

struct Parser<'t> {
    reader: Reader<'t>,
    base_dir: &'t Path,
    warnings: Vec<String>,
    /// No-effect key name → the extensions that set it.
    ignored: BTreeMap<&'static str, Vec<String>>,
    /// Choices Sluice made for keys left out (info level).
    derived: Vec<String>,
    setting_lines: BTreeMap<String, usize>,
}

impl Parser<'_> {
    fn unknown(&mut self, path: &str, key: &toml::Spanned<toml::de::DeString<'_>>, known: &[&str]) {
        let pos = self.reader.pos(key);
        let hint = known
            .iter()
            .find(|k| k.eq_ignore_ascii_case(key.get_ref()))
            .map(|k| format!(" (did you mean `{k}`? keys are case-sensitive)"))
            .unwrap_or_default();
        self.warnings.push(format!(
            "unknown key `{path}` (line {}), ignored{hint}",
            pos.line
        ));
    }

    fn core(
        &mut self,
        root: &DeTable<'_>,
    ) -> Result<(Config, BTreeMap<String, ExtensionSpans>), ConfigError> {
        let r = self.reader;
        let mut config = Config::new();
        let mut spans = BTreeMap::new();
        for (key, item) in root {
            let path = join_key("", key.get_ref());
            match key.get_ref().as_ref() {
                "ListenAddr" => config.listen_addr = r.string(&path, item)?,
                "MetricsAddr" => config.metrics_addr = Some(r.string(&path, item)?),
                "StatusPage" => config.status_page = r.bool(&path, item)?,
                "ACME" => {
                    let table = r.table(&path, item)?;
                    config.acme = Some(super::acme::parse(r, &path, table, |p, k| {
                        self.unknown(p, k, super::acme::KEYS)
                    })?);
                }
                "DockerURL" => config.docker_url = r.string(&path, item)?,
                "TLSCACert" => config.tls_ca_cert = Some(r.path(&path, item)?),
                "TLSCert" => config.tls_cert = Some(r.path(&path, item)?),
                "TLSKey" => config.tls_key = Some(r.path(&path, item)?),
                "AllowInsecure" => {
                    config.allow_insecure = r.bool(&path, item)?;
                    if config.allow_insecure {
                        self.warnings.push(format!(
                            "`AllowInsecure` (line {}) has no effect: Sluice always verifies the Docker \
                             engine's certificate against TLSCACert, where Interlock could skip that check; \
                             without TLS, use a unix:// or http:// DockerURL",
                            r.pos(key).line
                        ));
                    }
                }
                "PollInterval" => config.poll_interval = r.duration(&path, item)?,
                "EndpointOverride" => config.endpoint_override = Some(r.string(&path, item)?),
                "Extensions" => {
                    if let DeValue::Array(_) = item.get_ref() {
                        return Err(r.bad(
                            &path,
                            item,
                            "Interlock 1.x `[[Extensions]]` arrays are not supported; write one `[Extensions.<name>]` table per service cluster",
                        ));
                    }
                    for (name, block) in r.table(&path, item)? {
                        let ext_path = join_key(&path, name.get_ref());
                        let mut ext_spans = ExtensionSpans {
                            header: r.pos(name),
                            keys: BTreeMap::new(),
                        };
                        let table = r.table(&ext_path, block)?;
                        let extension =
                            self.extension(name.get_ref(), &ext_path, table, &mut ext_spans)?;
                        config.extensions.insert(extension.name.clone(), extension);
                        spans.insert(name.get_ref().to_string(), ext_spans);
                    }
                }
                _ => self.unknown(&path, key, CORE_KEYS),
            }
        }
        if config.extensions.is_empty() {
            return Err(ConfigError::NoExtensions);
        }
        Ok((config, spans))
    }

    fn extension(
        &mut self,
        name: &str,
        ext_path: &str,
        table: &DeTable<'_>,
        spans: &mut ExtensionSpans,
    ) -> Result<Extension, ConfigError> {
        let r = self.reader;
        let mut ext = Extension::new(name);
        let mut plugin = None;
        let mut proxy_image: Option<String> = None;
        let mut delivery_set: Option<Delivery> = None;
        for (key, item) in table {
            let path = join_key(ext_path, key.get_ref());
            let key_name = key.get_ref().as_ref();
            match key_name {
                "Image" => ext.image = Some(r.string(&path, item)?),
                "Args" => ext.args = r.strings(&path, item)?,
                "ServiceName" => ext.service_name = Some(r.string(&path, item)?),
                "Labels" => ext.labels = r.string_map(&path, item)?,
                "ContainerLabels" => ext.container_labels = r.string_map(&path, item)?,
                "Constraints" => ext.constraints = r.strings(&path, item)?,
                "PlacementPreferences" => ext.placement_preferences = r.strings(&path, item)?,
                "Template" => ext.template = Some(r.string(&path, item)?),
                "HitlessServiceUpdate" => ext.hitless_service_update = r.bool(&path, item)?,
                "ConfigImage" => ext.config_image = Some(r.string(&path, item)?),
                "ConfigServiceName" => ext.config_service_name = Some(r.string(&path, item)?),
                // Interlock treats an empty list like no list (`len(Networks) > 0`).
                "Networks" => {
                    ext.networks = Some(r.strings(&path, item)?).filter(|n| !n.is_empty())
                }
                "ProxyImage" => proxy_image = Some(r.string(&path, item)?),
                "ProxyArgs" => ext.proxy_args = r.strings(&path, item)?,
                "ProxyServiceName" => ext.proxy_service_name = r.string(&path, item)?,
                "ProxyConfigPath" => {
                    // Checked as every plugin checks it again, so none refuses it.
                    let file = r.string(&path, item)?;
                    sluice_input_rules::file_path(&file).map_err(|e| r.bad(&path, item, e))?;
                    ext.proxy_config_path = Some(file)
                }
                "ProxyCommand" => ext.proxy_command = Some(r.argv(&path, item)?),
                "AllowedHosts" => {
                    let patterns = r.strings(&path, item)?;
                    ext.allowed_hosts =
                        Some(HostPatterns::new(patterns).map_err(|m| r.bad(&path, item, m))?);
                }
                "ProxyValidateCommand" => ext.proxy_validate_command = Some(r.argv(&path, item)?),
                "ProxyReload" => ext.proxy_reload = Some(r.reload(&path, item)?),
                "ProxyReplicas" => ext.proxy_replicas = r.count(&path, item)?,
                "ProxyStopSignal" => ext.proxy_stop_signal = r.string(&path, item)?,
                "ProxyStopGracePeriod" => ext.proxy_stop_grace_period = r.duration(&path, item)?,
                "ProxyConstraints" => ext.proxy_constraints = r.strings(&path, item)?,
                "ProxyPlacementPreferences" => {
                    ext.proxy_placement_preferences = r.strings(&path, item)?
                }
                "ProxyLabels" => ext.proxy_labels = r.string_map(&path, item)?,
                "ProxyContainerLabels" => ext.proxy_container_labels = r.string_map(&path, item)?,
                "ProxyUpdateDelay" => ext.proxy_update_delay = Some(r.duration(&path, item)?),
                "ServiceCluster" => ext.service_cluster = r.string(&path, item)?,
                "PublishMode" => ext.publish_mode = publish_mode(r, &path, item)?,
                "PublishedPort" => ext.published_port = r.port(&path, item)?,
                "TargetPort" => ext.target_port = r.port(&path, item)?,
                "PublishedSSLPort" => ext.published_ssl_port = r.port(&path, item)?,
                "TargetSSLPort" => ext.target_ssl_port = r.port(&path, item)?,
                "Config" => {
                    let table = r.table(&path, item)?;
                    ext.config = read_settings(r, &path, table, &mut self.setting_lines)?
                }
                "Plugin" => {
                    let value = r.string(&path, item)?;
                    plugin = Some(
                        parse_plugin(&value, self.base_dir).map_err(|m| r.bad(&path, item, m))?,
                    );
                }
                "PluginSha256" => {
                    let value = r.string(&path, item)?;
                    ext.plugin_sha256 =
                        Some(parse_sha256(&value).map_err(|m| r.bad(&path, item, m))?);
                }
                "Delivery" => delivery_set = Some(delivery(r, &path, item)?),
                "AgentMetricsPort" => ext.agent_metrics_port = Some(r.port(&path, item)?),
                _ => {
                    self.unknown(&path, key, EXTENSION_KEYS);
                    continue;
                }
            }
            let known = EXTENSION_KEYS.iter().find(|k| **k == key_name).copied();
            if let Some(known) = known {
                spans.keys.insert(known, r.pos(key));
                if no_effect_reason(known).is_some() {
                    self.ignored.entry(known).or_default().push(name.to_owned());
                }
            }
        }
        let image_given = proxy_image.is_some();
        self.choose_plugin(&mut ext, ext_path, plugin, proxy_image);
        ext.delivery = match delivery_set {
            Some(d) => d,
            None if !image_given || runs_agent(&ext.proxy_image) => Delivery::Hitless,
            None => {
                self.derived.push(format!(
                    "`{ext_path}.ProxyImage` {:?} is not a Sluice proxy image, so routes are delivered Interlock's way (a new Docker config and a proxy service update per change); set `Delivery = \"hitless\"` if the image runs `sluice agent`",
                    ext.proxy_image
                ));
                Delivery::Rolling
            }
        };
        if ext.agent_metrics_port.is_some() && ext.delivery == Delivery::Rolling {
            self.warnings.push(format!(
                "`{ext_path}.AgentMetricsPort` has no effect: with `Delivery = \"rolling\"` no agent runs beside the proxy"
            ));
        }
        // The nginx plugin's key: its traffic lines need the agent listening.
        let traffic = ext
            .config
            .iter()
            .any(|s| s.key == "TrafficMetrics" && s.value == SettingValue::Boolean(true));
        if traffic && (ext.agent_metrics_port.is_none() || ext.delivery == Delivery::Rolling) {
            self.warnings.push(format!(
                "`{ext_path}.Config.TrafficMetrics` needs the agent to count the requests: set `{ext_path}.AgentMetricsPort` with hitless delivery, or nginx logs an error per request"
            ));
        }
        Ok(ext)
    }

    /// `Plugin` if given, else what the images imply; and the proxy image that
    /// goes with the plugin when `ProxyImage` is not given.
    fn choose_plugin(
        &mut self,
        ext: &mut Extension,
        ext_path: &str,
        plugin: Option<PluginRef>,
        proxy_image: Option<String>,
    ) {
        let implied = derive_plugin(proxy_image.as_deref(), ext.image.as_deref());
        ext.plugin = match plugin {
            Some(plugin) => {
                if let (Some(image), PluginRef::Builtin(name)) = (&proxy_image, &plugin)
                    && named_proxy(image).is_some_and(|named| named != name)
                {
                    self.warnings.push(format!(
                        "`{ext_path}.Plugin` is {:?} but `{ext_path}.ProxyImage` {image:?} looks like {:?}; check that the proxy image runs the plugin's proxy",
                        plugin_name(&plugin),
                        plugin_name(&implied),
                    ));
                }
                plugin
            }
            None => implied,
        };
        ext.proxy_image =
            proxy_image.unwrap_or_else(|| default_proxy_image(&ext.plugin).to_owned());
    }
}

/// Whether an image is one of Sluice's proxy images (which run the agent):
/// its repository path, without registry host and tag, names sluice.
/// Digests and bare image IDs can't tell; those need an explicit `Delivery`.
fn runs_agent(image: &str) -> bool {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    let repo_last = last.split(':').next().unwrap_or(last);
    let path = match without_digest.rsplit_once('/') {
        Some((head, _)) => format!("{head}/{repo_last}"),
        None => repo_last.to_string(),
    };
    !image.starts_with("sha256:") && path.to_ascii_lowercase().contains("sluice")
}

fn plugin_name(plugin: &PluginRef) -> String {
    match plugin {
        PluginRef::Builtin(name) => name.clone(),
        PluginRef::Path(path) => path.display().to_string(),
    }
}

fn publish_mode(r: Reader<'_>, path: &str, item: &Item<'_>) -> Result<PublishMode, ConfigError> {
    match r.string(path, item)?.as_str() {
        "ingress" => Ok(PublishMode::Ingress),
        "host" => Ok(PublishMode::Host),
        other => Err(r.bad(
            path,
            item,
            format!("expected \"ingress\" or \"host\", got {other:?}"),
        )),
    }
}

fn delivery(r: Reader<'_>, path: &str, item: &Item<'_>) -> Result<Delivery, ConfigError> {
    match r.string(path, item)?.as_str() {
        "hitless" => Ok(Delivery::Hitless),
        "rolling" => Ok(Delivery::Rolling),
        other => Err(r.bad(
            path,
            item,
            format!("expected \"hitless\" or \"rolling\", got {other:?}"),
        )),
    }
}
