//! The loopback ports behind the SNI router. Every TLS-terminating server
//! shares one (nginx picks each host's certificate by SNI and its server by
//! the Host header, so HTTP/2 connection reuse across names that share a
//! certificate lands on the right host); passthrough connections share
//! another, where a second SNI map picks their upstream once the PROXY header
//! is read. Two listening sockets whatever the number of hosts: Interlock's
//! port per TLS host opened one socket per host in every worker and stopped
//! at ~55,000 hosts.

/// First internal port (Interlock's example config used 10443).
pub const BASE: u16 = 10443;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Loopback {
    pub terminated: u16,
    pub passthrough: u16,
}

/// The first two ports from [`BASE`] up that are not `reserved` (the public
/// ports), so the same input always gets the same ports.
pub fn assign(reserved: &[u16]) -> Loopback {
    let mut free = (BASE..=u16::MAX).filter(|p| !reserved.contains(p));
    // At most two ports are reserved, so two of the ~55,000 remain.
    let mut next = || free.next().expect("two free ports above BASE");
    Loopback {
        terminated: next(),
        passthrough: next(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignment_table() {
        let cases: &[(&[u16], (u16, u16))] = &[
            (&[80, 443], (10443, 10444)),
            (&[10443, 10445], (10444, 10446)),
            (&[10444, 80], (10443, 10445)),
            (&[10443, 10444], (10445, 10446)),
        ];
        for (reserved, (terminated, passthrough)) in cases {
            assert_eq!(
                assign(reserved),
                Loopback {
                    terminated: *terminated,
                    passthrough: *passthrough
                },
                "reserved {reserved:?}"
            );
        }
    }
}
