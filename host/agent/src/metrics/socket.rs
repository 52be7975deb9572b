//! The traffic socket: a Unix datagram socket the proxy logs one line per
//! request to (nginx: `access_log syslog:server=unix:PATH`). Datagrams, so
//! the proxy never waits on the agent: when the agent is slow the kernel
//! drops lines, never requests.
//!
//! Whatever can write to the socket (the proxy's workers run unprivileged,
//! so it is writable by every user in the container) can send anything:
//! lines are parsed as hostile ([`super::traffic`]), and at most
//! [`MAX_DATAGRAM`] bytes of each are read.

use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use std::os::unix::net::UnixDatagram;

use super::AgentMetrics;

/// A traffic line is ~100 bytes; longer datagrams are cut (and refused).
const MAX_DATAGRAM: usize = 2048;

/// Bind `path`: its directory is made if missing, and a socket left there
/// by an earlier agent is replaced; any other file there is an error (the
/// agent never deletes what is not its own). The directory must be the
/// agent's own and writable by nobody else, so that nobody can swap the
/// socket for a link between the bind and the chmod.
pub fn bind(path: &Path) -> anyhow::Result<UnixDatagram> {
    let what = || format!("SLUICE_TRAFFIC_SOCKET {}", path.display());
    own_dir(path, "SLUICE_TRAFFIC_SOCKET")?;
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            std::fs::remove_file(path).with_context(what)?;
        }
        Ok(_) => anyhow::bail!("{}: exists and is not a socket", what()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(what),
    }
    let socket = UnixDatagram::bind(path).with_context(what)?;
    // The proxy's workers (nginx: nobody, www-data) must be able to send.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666)).with_context(what)?;
    Ok(socket)
}

/// Make `path`'s directory if missing; it must be a directory of the
/// agent's user that no one else can write to. `setting` names the path.
pub fn own_dir(path: &Path, setting: &str) -> anyhow::Result<()> {
    let what = || format!("{setting} {}", path.display());
    let Some(dir) = path.parent() else {
        return Ok(());
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(dir)
        .with_context(what)?;
    let meta = std::fs::symlink_metadata(dir).with_context(what)?;
    let own = meta.uid() == nix::unistd::geteuid().as_raw();
    if !meta.is_dir() || !own || meta.mode() & 0o022 != 0 {
        anyhow::bail!(
            "{}: its directory {} must be a directory of the agent's user that no one else can write to",
            what(),
            dir.display()
        );
    }
    Ok(())
}

/// Count every datagram until the socket fails, on a thread of its own:
/// a blocking read per datagram costs less than waking an async task for
/// each, and the proxy's request rate is what it must keep up with.
pub fn receive(
    socket: UnixDatagram,
    path: &Path,
    metrics: Arc<AgentMetrics>,
) -> std::io::Result<()> {
    let path = path.display().to_string();
    std::thread::Builder::new()
        .name("traffic".into())
        .spawn(move || {
            // One byte more than a line may have: a full buffer is a longer one.
            let mut buf = vec![0u8; MAX_DATAGRAM + 1];
            loop {
                match socket.recv(&mut buf) {
                    Ok(n) if n == buf.len() => metrics.traffic_line(&[]),
                    Ok(n) => metrics.traffic_line(&buf[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        tracing::warn!(
                            "traffic socket {path}: {e}; per-host traffic is no longer counted"
                        );
                        return;
                    }
                }
            }
        })
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn lines_sent_to_the_socket_are_counted_and_junk_is_refused() {
        let dir = std::env::temp_dir().join(format!("sluice-traffic-{}", std::process::id()));
        let path = dir.join("run/traffic.sock");
        let _ = std::fs::remove_dir_all(&dir);
        let metrics = Arc::new(AgentMetrics::new("east"));
        metrics.installed(["server_name a.test; upstream up_a {}"]);
        // A leftover socket from an earlier agent is replaced.
        drop(bind(&path).unwrap());
        let socket = bind(&path).unwrap();
        receive(socket, &path, metrics.clone()).unwrap();
        let sender = std::os::unix::net::UnixDatagram::unbound().unwrap();
        let send = |b: &[u8]| sender.send_to(b, &path).unwrap();
        send(b"<190>Dec  3 16:28:11 sluice: a.test\tup_a\t200\t0.004\t200\t3");
        send(&vec![b'x'; 64 * 1024]);
        let mut long = b"<190>Dec  3 16:28:11 sluice: a.test\tup_a\t200\t0.004\t200\t3".to_vec();
        long.extend(std::iter::repeat_n(b'0', MAX_DATAGRAM));
        send(&long);
        let mut text = String::new();
        for _ in 0..50 {
            text = metrics.encode();
            if text.contains("sluice_proxy_traffic_lines_refused_total 2") {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            text.contains(
                r#"sluice_proxy_http_requests_total{host="a.test",upstream="up_a",code="2xx"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains("sluice_proxy_traffic_lines_refused_total 2"),
            "{text}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_directory_others_can_write_to_is_refused() {
        let dir = std::env::temp_dir().join(format!("sluice-traffic-open-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = bind(&dir.join("traffic.sock")).unwrap_err();
        assert!(
            format!("{err:#}").contains("no one else can write"),
            "{err:#}"
        );
        // A link to a directory is not the directory.
        let link = dir.with_extension("link");
        let _ = std::fs::remove_file(&link);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        assert!(bind(&link.join("traffic.sock")).is_err());
        let _ = std::fs::remove_file(&link);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_file_that_is_not_a_socket_is_left_alone() {
        let dir = std::env::temp_dir().join(format!("sluice-traffic-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("traffic.sock");
        std::fs::write(&path, "precious").unwrap();
        let err = bind(&path).unwrap_err();
        assert!(format!("{err:#}").contains("not a socket"), "{err:#}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
