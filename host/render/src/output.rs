//! Sanity checks on what a plugin returns, before anything is written: the
//! host, not the plugin, decides where files may go.

use std::collections::BTreeSet;
use std::path::Path;

use super::limits::Limits;
use crate::wit::latest::{OutputFile, Rendered, Slot};

/// Files must be absolute paths under the main config's directory, the first
/// one the main config itself, no duplicates, within the size limits.
pub(super) fn check_output(
    files: &[OutputFile],
    config_path: &str,
    limits: &Limits,
) -> Result<(), String> {
    let first = files.first().ok_or("rendered no files")?;
    if first.path != config_path {
        return Err(format!(
            "first file is `{}`, expected the main config `{config_path}`",
            first.path
        ));
    }
    if files.len() > limits.output_files {
        return Err(format!(
            "{} files, more than the limit of {}",
            files.len(),
            limits.output_files
        ));
    }
    let dir = Path::new(config_path).parent().unwrap_or(Path::new("/"));
    let mut seen = BTreeSet::new();
    let mut total = 0usize;
    for f in files {
        // The agents' own rule: a path they would refuse to write fails the
        // render here, naming the plugin, instead of every proxy's install.
        if !sluice_wire::paths::is_plain_absolute(&f.path) || !Path::new(&f.path).starts_with(dir) {
            return Err(format!(
                "file path `{}` is not inside `{}`",
                f.path,
                dir.display()
            ));
        }
        if !seen.insert(&f.path) {
            return Err(format!("file `{}` rendered twice", f.path));
        }
        total += f.contents.len();
    }
    if total > limits.output_bytes {
        return Err(format!(
            "{total} bytes of output, more than the limit of {}",
            limits.output_bytes
        ));
    }
    Ok(())
}

/// Longest backend or slot name (HAProxy's own limit is higher; nothing
/// Sluice renders comes close).
const MAX_SLOT_NAME: usize = 128;

/// `rendered` with its slots when they pass [`check_slots`], else without
/// (and why): unsound slots cost the proxy a reload per change, never the
/// render, whose files are checked on their own.
pub(super) fn sound_slots(mut rendered: Rendered, limits: &Limits) -> (Rendered, Option<String>) {
    match check_slots(&rendered, limits) {
        Ok(()) => (rendered, None),
        Err(problem) => {
            rendered.slots.clear();
            (rendered, Some(problem))
        }
    }
}

/// Slots must point into the files, within one line, in order and without overlapping, name
/// their backend and themselves with `[A-Za-z0-9_.:-]` (what an agent sends
/// to a proxy's runtime API is never more than names, an IP, a port and a
/// weight), each pair once, with IP addresses, ports 1-65535 and weights
/// 0-256.
pub(super) fn check_slots(rendered: &Rendered, limits: &Limits) -> Result<(), String> {
    let slots = &rendered.slots;
    if slots.len() > limits.slots {
        return Err(format!(
            "{} server slots, more than the limit of {}",
            slots.len(),
            limits.slots
        ));
    }
    let mut seen = std::collections::HashSet::with_capacity(slots.len());
    let mut last: Option<&Slot> = None;
    for s in slots {
        let at = || format!("server slot {}/{}", s.backend, s.name);
        for (what, name) in [("backend", &s.backend), ("name", &s.name)] {
            if name.is_empty()
                || name.len() > MAX_SLOT_NAME
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b))
            {
                return Err(format!(
                    "server slot {what} {:?} is not 1-{MAX_SLOT_NAME} of [A-Za-z0-9_.:-]",
                    name.chars().take(MAX_SLOT_NAME).collect::<String>()
                ));
            }
        }
        if !seen.insert((s.backend.as_str(), s.name.as_str())) {
            return Err(format!("{} appears twice", at()));
        }
        let file = rendered
            .files
            .get(s.file as usize)
            .ok_or_else(|| format!("{} is in file {}, which was not rendered", at(), s.file))?;
        let (start, end) = (s.start as usize, s.end as usize);
        if start > end
            || end > file.contents.len()
            || !file.contents.is_char_boundary(start)
            || !file.contents.is_char_boundary(end)
        {
            return Err(format!(
                "{} spans bytes {start}..{end} of `{}`, outside its {} bytes",
                at(),
                file.path,
                file.contents.len()
            ));
        }
        // What a slot covers is left out of the shape: never more than
        // (part of) one line.
        if file.contents[start..end].contains('\n') {
            return Err(format!(
                "{} spans more than one line of `{}`",
                at(),
                file.path
            ));
        }
        if let Some(prev) = last
            && (prev.file, prev.end) > (s.file, s.start)
        {
            return Err(format!(
                "{} comes before or overlaps {}/{}: slots must be in file order",
                at(),
                prev.backend,
                prev.name
            ));
        }
        last = Some(s);
        if let Some(server) = &s.server {
            if server.address.parse::<std::net::IpAddr>().is_err() {
                return Err(format!(
                    "{}: {:?} is not an IP address",
                    at(),
                    server.address.chars().take(64).collect::<String>()
                ));
            }
            if server.port == 0 {
                return Err(format!("{}: port 0", at()));
            }
            if server.weight > 256 {
                return Err(format!("{}: weight {} is above 256", at(), server.weight));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wit::latest::SlotServer;

    #[test]
    fn slot_rules() {
        let l = Limits::default();
        let files = vec![OutputFile {
            path: "/etc/h/h.cfg".into(),
            contents: "server a 10.0.0.1:80\nserver b 0.0.0.0:0 disabled\né".into(),
        }];
        let slot = |backend: &str, name: &str, file: u32, start: u32, end: u32| Slot {
            backend: backend.into(),
            name: name.into(),
            server: Some(SlotServer {
                address: "10.0.0.1".into(),
                port: 80,
                weight: 1,
            }),
            file,
            start,
            end,
        };
        let check = |slots: Vec<Slot>| {
            check_slots(
                &Rendered {
                    files: files.clone(),
                    slots,
                },
                &l,
            )
        };
        assert!(check(vec![]).is_ok());
        assert!(check(vec![slot("be", "a", 0, 0, 20), slot("be", "b", 0, 21, 48)]).is_ok());
        let refused: Vec<(Vec<Slot>, &str)> = vec![
            (vec![slot("be", "a", 1, 0, 1)], "not rendered"),
            (vec![slot("be", "a", 0, 0, 500)], "outside"),
            (vec![slot("be", "a", 0, 5, 2)], "outside"),
            (vec![slot("be", "a", 0, 0, 50)], "outside"),
            (vec![slot("be", "a", 0, 0, 49)], "more than one line"),
            (
                vec![slot("be", "b", 0, 21, 48), slot("be", "a", 0, 0, 20)],
                "file order",
            ),
            (
                vec![slot("be", "a", 0, 0, 20), slot("be", "b", 0, 10, 19)],
                "overlaps",
            ),
            (
                vec![slot("be", "a", 0, 0, 20), slot("be", "a", 0, 21, 48)],
                "twice",
            ),
            (vec![slot("be x", "a", 0, 0, 20)], "backend"),
            (vec![slot("be", "a;shutdown", 0, 0, 20)], "name"),
            (vec![slot("be", "", 0, 0, 20)], "name"),
            (vec![slot("be\n@1 shutdown", "a", 0, 0, 20)], "backend"),
        ];
        for (slots, want) in refused {
            let err = check(slots.clone()).unwrap_err();
            assert!(err.contains(want), "{slots:?}: {err}");
        }
        let mut bad = slot("be", "a", 0, 0, 20);
        for (addr, port, weight, want) in [
            ("example.com", 80, 1, "not an IP"),
            ("10.0.0.1 port 1", 80, 1, "not an IP"),
            ("10.0.0.1", 0, 1, "port 0"),
            ("10.0.0.1", 80, 257, "above 256"),
        ] {
            bad.server = Some(SlotServer {
                address: addr.into(),
                port,
                weight,
            });
            let err = check(vec![bad.clone()]).unwrap_err();
            assert!(err.contains(want), "{addr} {port} {weight}: {err}");
        }
        bad.server = None;
        assert!(check(vec![bad]).is_ok(), "an empty slot");
        let many = Limits {
            slots: 1,
            ..Limits::default()
        };
        let two = Rendered {
            files: files.clone(),
            slots: vec![slot("be", "a", 0, 0, 20), slot("be", "b", 0, 21, 48)],
        };
        assert!(check_slots(&two, &many).unwrap_err().contains("limit"));
        // Unsound slots are dropped, the files kept.
        let (kept, why) = sound_slots(two.clone(), &many);
        assert!(kept.slots.is_empty() && kept.files == two.files);
        assert!(why.unwrap().contains("limit"));
        let (kept, why) = sound_slots(two.clone(), &l);
        assert_eq!((kept, why), (two, None));
    }

    fn file(path: &str) -> OutputFile {
        OutputFile {
            path: path.into(),
            contents: "x".into(),
        }
    }

    #[test]
    fn output_rules() {
        let l = Limits::default();
        let main = "/etc/nginx/nginx.conf";
        let cases: &[(&[&str], bool)] = &[
            (&["/etc/nginx/nginx.conf"], true),
            (
                &["/etc/nginx/nginx.conf", "/etc/nginx/maps/hosts.map"],
                true,
            ),
            (&[], false),
            (&["/etc/nginx/other.conf"], false),
            (&["/etc/nginx/nginx.conf", "/etc/passwd"], false),
            (&["/etc/nginx/nginx.conf", "/etc/nginx/../passwd"], false),
            (&["/etc/nginx/nginx.conf", "relative.conf"], false),
            // What an agent would refuse to write (`Path` hides these).
            (&["/etc/nginx/nginx.conf", "/etc/nginx/./maps.conf"], false),
            (&["/etc/nginx/nginx.conf", "/etc/nginx//maps.conf"], false),
            (&["/etc/nginx/nginx.conf", "/etc/nginx/nginx.conf"], false),
        ];
        for (paths, ok) in cases {
            let files: Vec<_> = paths.iter().map(|p| file(p)).collect();
            assert_eq!(check_output(&files, main, &l).is_ok(), *ok, "{paths:?}");
        }
        let too_many: Vec<_> = (0..300)
            .map(|i| file(if i == 0 { main } else { "/etc/nginx/x" }))
            .collect();
        assert!(check_output(&too_many, main, &l).is_err());
    }
}
