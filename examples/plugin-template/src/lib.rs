//! A Sluice renderer, to copy and adapt: it writes a made-up line-based config
//! (`host NAME upstream NAME` / `server ADDRESS:PORT weight N`), quoting every
//! value, and refuses what it cannot write safely. Replace `render_text` with
//! your proxy's syntax; keep the checks.

wit_bindgen::generate!({
    // In the Sluice tree. Copied out, vendor the WIT (see README.md) and use
    // `path: "wit"`.
    path: "../../wit/v1.0.0",
    world: "renderer",
});

use exports::sluice::renderer::render::Guest;
use sluice::renderer::types::*;

struct Template;

/// `s` in double quotes with `\` and `"` escaped. Control characters are
/// refused earlier: no quoting makes a newline harmless in a line-based format.
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn error(key: &str, message: String) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        key: Some(key.into()),
        message,
    }
}

/// Every string that reaches the output, checked.
fn check(input: &RenderInput) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if input.cluster.name.chars().any(char::is_control) {
        out.push(error(
            "cluster",
            format!(
                "cluster name {:?} has control characters",
                input.cluster.name
            ),
        ));
    }
    for h in &input.hosts {
        let strings = std::iter::once(&h.name)
            .chain(h.context_roots.iter().map(|c| &c.path))
            .chain(h.websocket_endpoints.iter())
            .chain(h.redirects.iter().map(|r| &r.target));
        for s in strings {
            if s.chars().any(char::is_control) {
                out.push(error(
                    "com.docker.lb.hosts",
                    format!("host {:?}: {s:?} has control characters", h.name),
                ));
            }
        }
    }
    out
}

fn render_text(input: &RenderInput) -> String {
    let mut out = format!("# cluster {}\n", quoted(&input.cluster.name));
    let upstream = |out: &mut String, u: &Upstream| {
        for s in &u.servers {
            out.push_str(&format!(
                "  server {} port {} weight {}\n",
                quoted(&s.address),
                s.port,
                s.weight
            ));
        }
    };
    for h in &input.hosts {
        out.push_str(&format!("host {}\n", quoted(&h.name)));
        for c in &h.context_roots {
            out.push_str(&format!(
                " path {} rewrite {}\n",
                quoted(&c.path),
                c.rewrite
            ));
            upstream(&mut out, &c.upstream);
        }
        for r in &h.redirects {
            out.push_str(&format!(" redirect {}\n", quoted(&r.target)));
        }
        if let Some(u) = &h.upstream {
            upstream(&mut out, u);
        }
    }
    out
}

impl Guest for Template {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "template".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            proxy: "example".into(),
            default_config_path: "/etc/example/example.conf".into(),
            // Your proxy's config check; `{config}` is the main file's path.
            validate_command: vec!["test".into(), "-s".into(), "{config}".into()],
            reload: Reload::Signal("HUP".into()),
        }
    }

    fn validate_settings(settings: Vec<Setting>) -> Vec<Diagnostic> {
        // This template reads no settings: every key is unknown.
        settings
            .iter()
            .map(|s| Diagnostic {
                severity: Severity::Warning,
                key: Some(s.key.clone()),
                message: format!("unknown key `{}`, ignored", s.key),
            })
            .collect()
    }

    fn render(input: RenderInput) -> Result<Vec<OutputFile>, RenderError> {
        let problems = check(&input);
        if !problems.is_empty() {
            return Err(RenderError::InvalidInput(problems));
        }
        Ok(vec![OutputFile {
            contents: render_text(&input),
            path: input.cluster.config_path,
        }])
    }
}

export!(Template);
