//! Ports for proxies under test, and waiting for them to listen.

use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// A port nobody listens on now: the kernel's pick for 127.0.0.1:0. The
/// proxy binds all addresses, so the port must be free on the wildcard too;
/// the kernel does not hand the same ephemeral port out again right away.
pub fn free_port() -> u16 {
    let probe = TcpListener::bind("0.0.0.0:0").expect("bind 0.0.0.0:0");
    probe.local_addr().expect("probe address").port()
}

/// Whether something accepts TCP connections on `addr`.
pub fn accepts(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

/// Polls until every address accepts connections, `alive` says the process
/// is still worth waiting for, or `timeout` passes. Returns whether all did.
pub fn wait_listening(
    addrs: &[SocketAddr],
    timeout: Duration,
    mut alive: impl FnMut() -> bool,
) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if addrs.iter().all(|a| accepts(*a)) {
            return true;
        }
        if !alive() || Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Both plugins put their TLS hops on fixed loopback ports from 10443 up
/// (HAProxy even with SO_REUSEPORT, so two instances would silently share
/// them). Proxies that terminate or pass TLS hold this lock while they run;
/// it is a file lock so it also covers other test processes.
pub struct LoopbackLock {
    _held: File,
}

impl LoopbackLock {
    pub fn acquire() -> LoopbackLock {
        let path = std::env::temp_dir().join("sluice-behaviour-tls-loopback.lock");
        let file = File::create(&path)
            .unwrap_or_else(|e| panic!("create lock file {}: {e}", path.display()));
        file.lock()
            .unwrap_or_else(|e| panic!("lock {}: {e}", path.display()));
        LoopbackLock { _held: file }
    }
}
