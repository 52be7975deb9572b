//! Loopback ports for the hops behind the SNI router: one per TLS host, in
//! host order, so the same input always gets the same ports.

/// First internal port (Interlock's example config used 10443).
pub const BASE: u16 = 10443;

/// `count` ports from [`BASE`] up, skipping `reserved` (the public ports).
pub fn assign(count: usize, reserved: &[u16]) -> Result<Vec<u16>, String> {
    let ports: Vec<u16> = (BASE..=u16::MAX)
        .filter(|p| !reserved.contains(p))
        .take(count)
        .collect();
    if ports.len() < count {
        return Err(format!(
            "{count} TLS hosts do not fit in the loopback ports from {BASE} to 65535"
        ));
    }
    Ok(ports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignment_table() {
        let cases: &[(usize, &[u16], &[u16])] = &[
            (0, &[80, 443], &[]),
            (3, &[80, 443], &[10443, 10444, 10445]),
            (3, &[10443, 10445], &[10444, 10446, 10447]),
            (2, &[10444, 80], &[10443, 10445]),
        ];
        for (count, reserved, want) in cases {
            assert_eq!(
                assign(*count, reserved).unwrap(),
                *want,
                "count {count} reserved {reserved:?}"
            );
        }
    }

    #[test]
    fn overflow_is_an_error() {
        assert!(assign(60_000, &[]).is_err());
        assert_eq!(
            assign(usize::from(u16::MAX - BASE) + 1, &[])
                .unwrap()
                .last(),
            Some(&u16::MAX)
        );
    }
}
