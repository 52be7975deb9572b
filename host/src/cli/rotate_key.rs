//! `sluice rotate-key`: the next key of the daemon's key file becomes the
//! current one (see `sluice::trust::keyfile`). Agents already trust it and
//! already present its client certificate, so the daemon, restarted on the
//! rotated file, keeps every agent's channel and restarts no proxy task.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use sluice::trust::keyfile::{self, KeyFile};

pub fn run(key_file: &Path) -> anyhow::Result<ExitCode> {
    let shown = key_file.display();
    let text = std::fs::read(key_file).with_context(|| format!("agent key file {shown}"))?;
    let file = KeyFile::parse(&text)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("agent key file {shown}"))?;
    if file.next.is_none() {
        anyhow::bail!(
            "agent key file {shown} names no next key, so no agent trusts a successor yet: \
             start the daemon once with this version (it adds a next key and hands it to every \
             proxy with its credentials), then rotate"
        );
    }
    let fresh =
        keyfile::fresh_key().map_err(|e| anyhow::anyhow!("generating the new next key: {e}"))?;
    let rotated = file.rotated(fresh).map_err(anyhow::Error::msg)?;
    keyfile::write(key_file, &rotated).with_context(|| format!("writing {shown}"))?;
    println!(
        "Rotated {shown}: the next key is now current, a new next key was made, the old \
         previous key is gone.\n\
         \n\
         1. Restart the daemon so it uses the file, e.g. `docker service update --force <daemon \
         service>`. Agents keep their channel with the credentials they hold: no proxy task \
         restarts.\n\
         2. Each proxy service moves to the new credentials secret with its next update. Until \
         then it mounts the previous one, which trusts the key just retired. Rotating again \
         before that updates those proxy services at once (a rolling restart of their tasks)."
    );
    Ok(ExitCode::SUCCESS)
}
