//! Ports for proxies under test, and waiting for them to listen.

use std::collections::BTreeSet;
use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A port nobody listens on now: the kernel's pick for 0.0.0.0:0 (the
/// proxy binds all addresses, so the port must be free on the wildcard too).
/// The kernel may hand a released port out again, and two tests running in
/// parallel with the same port would talk to each other's proxy (the loser
/// fails to bind while the winner answers its readiness check), so a port
/// is handed out at most once per test process.
pub fn free_port() -> u16 {
    static GIVEN: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    loop {
        let probe = TcpListener::bind("0.0.0.0:0").expect("bind 0.0.0.0:0");
        let port = probe.local_addr().expect("probe address").port();
        if GIVEN.lock().unwrap_or_else(|e| e.into_inner()).insert(port) {
            return port;
        }
    }
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
