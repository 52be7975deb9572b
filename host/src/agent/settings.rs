//! The agent's settings: flags, or (as the proxy service sets them) env.

use std::path::PathBuf;

/// `sluice agent`: run inside the proxy container as its entrypoint.
#[derive(clap::Args, Clone, Debug)]
pub struct Settings {
    /// The daemon's API, http://HOST:PORT.
    #[arg(long, env = "SLUICE_ENDPOINT")]
    pub endpoint: String,
    /// The service cluster (Extension name) this proxy serves.
    #[arg(long, env = "SLUICE_CLUSTER")]
    pub cluster: String,
    /// File holding the cluster's bearer token.
    #[arg(
        long,
        env = "SLUICE_TOKEN_FILE",
        default_value = "/run/secrets/sluice-agent-token"
    )]
    pub token_file: PathBuf,
    /// This replica's name in `sluice status` (default: the hostname).
    #[arg(long, env = "SLUICE_REPLICA")]
    pub replica: Option<String>,
    /// The proxy's argv as a JSON array; "{config}" stands for the main
    /// config's path, e.g. ["nginx","-g","daemon off;","-c","{config}"].
    #[arg(long, env = "SLUICE_PROXY_CMD", value_parser = parse_argv)]
    pub proxy_cmd: Argv,
}

/// A parsed argv (a newtype so clap takes it as one value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Argv(pub Vec<String>);

fn parse_argv(text: &str) -> Result<Argv, String> {
    let argv: Vec<String> = serde_json::from_str(text).map_err(|e| {
        format!("expected a JSON array of strings, e.g. [\"nginx\",\"-g\",\"daemon off;\"]: {e}")
    })?;
    if argv.is_empty() {
        return Err("the proxy command is empty".into());
    }
    Ok(Argv(argv))
}

impl Settings {
    pub fn replica_name(&self) -> String {
        self.replica
            .clone()
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| {
                std::fs::read_to_string("/proc/sys/kernel/hostname")
                    .map(|h| h.trim().to_owned())
                    .unwrap_or_else(|_| format!("pid-{}", std::process::id()))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_command_is_a_json_argv() {
        let table = [
            (
                r#"["nginx","-g","daemon off;"]"#,
                Some(vec!["nginx", "-g", "daemon off;"]),
            ),
            (r#"["haproxy"]"#, Some(vec!["haproxy"])),
            ("[]", None),
            ("nginx -g 'daemon off;'", None),
            (r#"[1]"#, None),
        ];
        for (text, want) in table {
            let got = parse_argv(text).ok().map(|a| a.0);
            let want = want.map(|w| w.into_iter().map(String::from).collect::<Vec<_>>());
            assert_eq!(got, want, "{text}");
        }
    }
}
