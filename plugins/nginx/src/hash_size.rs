//! Sizes for nginx's name hashes (server names, the SNI map), so long or many
//! host names never make nginx refuse the config ("could not build
//! server_names_hash"). MKE 3.4.2 likewise stopped requiring the setting.

const CACHE_LINE: usize = 64;
const POINTER: usize = 8;

fn align(n: usize, to: usize) -> usize {
    n.div_ceil(to) * to
}

/// Smallest bucket holding `name` (`NGX_HASH_ELT_SIZE` plus the terminating
/// pointer, rounded up to a cache line as nginx does).
fn bucket_for(name: &str) -> usize {
    align(
        POINTER + align(name.len() + 2, POINTER) + POINTER,
        CACHE_LINE,
    )
}

/// `configured`, raised to fit the longest name.
pub fn bucket_size<'a>(names: impl IntoIterator<Item = &'a str>, configured: i64) -> i64 {
    let needed = names.into_iter().map(bucket_for).max().unwrap_or(0);
    configured.max(needed as i64)
}

/// A max size with room for `count` names, when nginx's default is too small.
pub fn max_size(count: usize, nginx_default: usize) -> Option<usize> {
    let wanted = (count * 4).next_power_of_two();
    (wanted > nginx_default).then_some(wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_grow_with_names() {
        assert_eq!(bucket_size(["a.com"], 128), 128);
        assert_eq!(bucket_size(["a.com"], 32), 64);
        let long = format!(
            "{}.{}.{}.com",
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63)
        );
        assert_eq!(bucket_size([long.as_str()], 128), 256);
        assert_eq!(bucket_size(std::iter::empty(), 128), 128);
    }

    #[test]
    fn max_size_only_when_needed() {
        assert_eq!(max_size(10, 512), None);
        assert_eq!(max_size(1000, 512), Some(4096));
    }
}
