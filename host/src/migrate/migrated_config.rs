//! Pure: the config Sluice runs with after the switch. Interlock's own, key
//! for key (Sluice reads it as it is), with the delivery its proxy image can
//! do: Interlock's image has no Sluice agent, so each Extension keeps
//! Interlock's rolling delivery unless the operator names an image that has
//! one (then hitless, Sluice's default).

/// Interlock's `config.toml` text → Sluice's. Comments are not kept (the
/// original stays in Interlock's config object).
pub fn migrated(interlock: &str, proxy_image: Option<&str>) -> Result<String, String> {
    let mut doc: toml::Table = interlock
        .parse()
        .map_err(|e| format!("Interlock's config is not TOML: {e}"))?;
    if let Some(toml::Value::Table(exts)) = doc.get_mut("Extensions") {
        for (name, ext) in exts.iter_mut() {
            let toml::Value::Table(ext) = ext else {
                return Err(format!("[Extensions.{name}] is not a table"));
            };
            match proxy_image {
                Some(image) => {
                    ext.insert("ProxyImage".into(), toml::Value::String(image.into()));
                    ext.remove("Delivery");
                }
                None => {
                    ext.entry("Delivery")
                        .or_insert_with(|| toml::Value::String("rolling".into()));
                }
            }
        }
    }
    let body = toml::to_string(&doc).map_err(|e| e.to_string())?;
    Ok(format!(
        "# Written by `sluice migrate` from Interlock's config.toml.\n{body}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTERLOCK: &str = r#"
ListenAddr = ":8080"
DockerURL = "unix:///var/run/docker.sock"
PollInterval = "3s"

[Extensions.default]
  Image = "docker/ucp-interlock-extension:3.2.3"
  ProxyImage = "docker/ucp-interlock-proxy:3.2.3"
  ProxyServiceName = "ucp-interlock-proxy"
  PublishedPort = 80
  [Extensions.default.Config]
    Version = "1"
    User = "nginx"
"#;

    fn parsed(text: &str) -> toml::Table {
        text.parse().unwrap()
    }

    #[test]
    fn interlocks_image_keeps_rolling_delivery_and_every_key() {
        let out = parsed(&migrated(INTERLOCK, None).unwrap());
        let ext = out["Extensions"]["default"].as_table().unwrap();
        assert_eq!(ext["Delivery"].as_str(), Some("rolling"));
        assert_eq!(
            ext["ProxyImage"].as_str(),
            Some("docker/ucp-interlock-proxy:3.2.3")
        );
        assert_eq!(ext["Config"]["User"].as_str(), Some("nginx"));
        assert_eq!(out["PollInterval"].as_str(), Some("3s"));
    }

    #[test]
    fn an_agent_image_gets_hitless_delivery() {
        let with_rolling = INTERLOCK.replace(
            "PublishedPort = 80",
            "PublishedPort = 80\n  Delivery = \"rolling\"",
        );
        let out = parsed(&migrated(&with_rolling, Some("sluice/nginx-agent")).unwrap());
        let ext = out["Extensions"]["default"].as_table().unwrap();
        assert_eq!(ext["ProxyImage"].as_str(), Some("sluice/nginx-agent"));
        assert!(!ext.contains_key("Delivery"), "hitless is the default");
    }

    #[test]
    fn a_config_sluice_reads() {
        let text = migrated(INTERLOCK, None).unwrap();
        let loaded = crate::config::parse_str(&text, std::path::Path::new("/")).unwrap();
        let ext = &loaded.config.extensions["default"];
        assert_eq!(ext.delivery, crate::config::Delivery::Rolling);
        assert_eq!(ext.proxy_service_name, "ucp-interlock-proxy");
    }

    #[test]
    fn not_toml_is_said() {
        assert!(
            migrated("[Extensions", None)
                .unwrap_err()
                .contains("not TOML")
        );
    }
}
