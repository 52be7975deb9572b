//! The daemon's key file: the agent channel's key generations.
//!
//! ```text
//! current  <key>   signs revisions, issues the API's certificate
//! next     <key>   published ahead: every credentials secret already trusts
//!                  it and carries its client certificate and token
//! previous <key>   after a rotation, only to recognise the credentials
//!                  secret a proxy may still mount (trusting previous and current)
//! ```
//!
//! A rotation ([`KeyFile::rotated`], `sluice rotate-key`) makes next the
//! current key: every agent already trusts it and already presents its
//! client certificate, so no proxy task needs new credentials to keep its
//! channel. A file with one bare line (before generations) is that key as
//! current.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Shorter keys are refused: a guessable key makes every token guessable.
pub const MIN_KEY_BYTES: usize = 16;

#[derive(Clone, PartialEq, Eq)]
pub struct KeyFile {
    pub previous: Option<Vec<u8>>,
    pub current: Vec<u8>,
    /// None in a file written before generations (see [`KeyFile::parse`]).
    pub next: Option<Vec<u8>>,
}

impl std::fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the keys.
        f.debug_struct("KeyFile")
            .field("previous", &self.previous.is_some())
            .field("next", &self.next.is_some())
            .finish_non_exhaustive()
    }
}

impl KeyFile {
    /// A key file's text: `name key` lines (`#` comments), or, when no line
    /// starts with a generation's name, the whole text as the current key.
    pub fn parse(text: &[u8]) -> Result<KeyFile, String> {
        const NAMES: [&str; 3] = ["current", "next", "previous"];
        let is_named = |l: &str| {
            l.split_once(char::is_whitespace)
                .is_some_and(|(name, _)| NAMES.contains(&name))
        };
        let lines: Vec<(usize, &str)> = std::str::from_utf8(text)
            .map(|t| {
                t.lines()
                    .enumerate()
                    .map(|(i, l)| (i + 1, l.trim()))
                    .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
                    .collect()
            })
            .unwrap_or_default();
        let named = lines.iter().filter(|(_, l)| is_named(l)).count();
        if named == 0 {
            // Before generations the whole file, trailing whitespace
            // aside, was the key.
            let mut key = text.to_vec();
            while key.last().is_some_and(u8::is_ascii_whitespace) {
                key.pop();
            }
            if key.is_empty() {
                return Err("empty".into());
            }
            return Ok(KeyFile {
                previous: None,
                current: checked(&key, "the key")?,
                next: None,
            });
        }
        // Never the line's text: it may be key material.
        if let Some((n, _)) = lines.iter().find(|(_, l)| !is_named(l)) {
            return Err(format!(
                "line {n}: expected `current KEY`, `next KEY` or `previous KEY`"
            ));
        }
        let (mut previous, mut current, mut next) = (None, None, None);
        for (n, line) in lines {
            let (name, key) = line.split_once(char::is_whitespace).unwrap_or_default();
            let slot = match name {
                "current" => &mut current,
                "next" => &mut next,
                _ => &mut previous,
            };
            if slot.is_some() {
                return Err(format!("line {n}: a second {name} key"));
            }
            *slot = Some(checked(key.trim().as_bytes(), &format!("line {n}"))?);
        }
        let current = current.ok_or("no `current` key")?;
        let distinct = [previous.as_ref(), next.as_ref()]
            .into_iter()
            .flatten()
            .all(|k| *k != current)
            && (previous.is_none() || previous != next);
        if !distinct {
            return Err("two generations hold the same key".into());
        }
        Ok(KeyFile {
            previous,
            current,
            next,
        })
    }

    pub fn to_text(&self) -> String {
        let mut text = String::from(
            "# Sluice's agent channel keys (docs/security.md); `sluice rotate-key` rotates them.\n",
        );
        let mut line = |name: &str, key: &[u8]| {
            text.push_str(name);
            text.push(' ');
            text.push_str(&String::from_utf8_lossy(key));
            text.push('\n');
        };
        line("current", &self.current);
        if let Some(next) = &self.next {
            line("next", next);
        }
        if let Some(previous) = &self.previous {
            line("previous", previous);
        }
        text
    }

    /// Next becomes current, current previous, and `fresh` the next key;
    /// the old previous key is gone.
    pub fn rotated(&self, fresh: Vec<u8>) -> Result<KeyFile, String> {
        let next = self
            .next
            .clone()
            .ok_or("the file has no `next` key, which agents would already trust")?;
        Ok(KeyFile {
            previous: Some(self.current.clone()),
            current: next,
            next: Some(fresh),
        })
    }
}

fn checked(key: &[u8], what: &str) -> Result<Vec<u8>, String> {
    if key.len() < MIN_KEY_BYTES {
        return Err(format!(
            "{what}: {} bytes, at least {MIN_KEY_BYTES} are needed",
            key.len()
        ));
    }
    Ok(key.to_vec())
}

/// 32 random bytes, hex (the key is the text, as in every key file so far).
pub fn fresh_key() -> Result<Vec<u8>, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(hex::encode(bytes).into_bytes())
}

/// Whether `file` reads back as itself: a key file from before generations
/// may hold bytes the named form cannot (not UTF-8, a line break, leading
/// blanks), and rewriting it would change the key.
pub fn round_trips(file: &KeyFile) -> bool {
    KeyFile::parse(file.to_text().as_bytes()).as_ref() == Ok(file)
}

/// Create `path` with `file` unless it exists (then false): the first of
/// two daemons starting at once wins, and both use its keys.
pub fn create(path: &Path, file: &KeyFile) -> std::io::Result<bool> {
    let dir = parent(path);
    std::fs::create_dir_all(dir)?;
    let temp = temp_beside(dir, path);
    write_new(&temp, file.to_text().as_bytes(), 0o600)?;
    let linked = std::fs::hard_link(&temp, path);
    let _ = std::fs::remove_file(&temp);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// Write `file` to `path` in one step: a new private file beside it,
/// fsynced, renamed over it, the directory fsynced. A crash leaves the old
/// file or the new one, never half of either.
pub fn write(path: &Path, file: &KeyFile) -> std::io::Result<()> {
    write_file(path, file.to_text().as_bytes(), 0o600)
}

/// [`write`] for any bytes and mode (other private files: ACME keys).
pub fn write_file(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = parent(path);
    std::fs::create_dir_all(dir)?;
    let temp = temp_beside(dir, path);
    let result = write_new(&temp, bytes, mode).and_then(|()| {
        std::fs::rename(&temp, path)?;
        std::fs::File::open(dir)?.sync_all()
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// The directory `path` is in (`.` for a bare name).
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// A temp name for `path` in `dir`, this process's own.
fn temp_beside(dir: &Path, path: &Path) -> std::path::PathBuf {
    dir.join(format!(
        ".{}.{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("agent.key"),
        std::process::id()
    ))
}

/// `bytes` in a new file at `temp` (`mode` whatever the umask, created
/// exclusively, synced).
fn write_new(temp: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let _ = std::fs::remove_file(temp);
    let result = (|| {
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(temp)?;
        out.set_permissions(std::fs::Permissions::from_mode(mode))?;
        out.write_all(bytes)?;
        out.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const C: &str = "cccccccccccccccccccccccccccccccc";

    #[test]
    fn key_files_old_and_new() {
        let parse = |t: &str| KeyFile::parse(t.as_bytes());
        let legacy = parse(&format!("{A}\n")).unwrap();
        assert_eq!(legacy.current, A.as_bytes());
        let spaced = parse("a key with spaces, 16+\n").unwrap();
        assert_eq!(spaced.current, b"a key with spaces, 16+");
        // Not UTF-8 (e.g. `openssl rand 32 > agent.key`): the bytes are the key,
        // and such a file is never rewritten in the named form.
        let raw = KeyFile::parse(&[
            0xff, 0x00, 0x80, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
        ])
        .unwrap();
        assert_eq!(raw.current.len(), 17);
        assert!(!round_trips(&KeyFile {
            next: Some(B.as_bytes().to_vec()),
            ..raw
        }));
        assert!(round_trips(&KeyFile {
            next: Some(B.as_bytes().to_vec()),
            ..legacy.clone()
        }));
        // A line break or leading blanks inside a legacy key do not survive either.
        let broken = parse("  two\nlines of a key, 16+").unwrap();
        assert!(!round_trips(&KeyFile {
            next: Some(B.as_bytes().to_vec()),
            ..broken
        }));
        assert_eq!((legacy.previous, legacy.next), (None, None));
        let full = parse(&format!("# c\ncurrent {A}\nnext {B}\n\nprevious {C}\n")).unwrap();
        assert_eq!(
            (full.previous.as_deref(), full.next.as_deref()),
            (Some(C.as_bytes()), Some(B.as_bytes()))
        );
        assert_eq!(parse(&full.to_text()).unwrap(), full);
        // (text, the error names)
        let bad: &[(&str, &str)] = &[
            ("", "empty"),
            ("short", "at least 16"),
            ("   \n", "empty"),
            (&format!("current {A}\nnext short\n"), "line 2"),
            (&format!("current {A}\ncurrent {B}\n"), "second current"),
            (&format!("next {B}\n"), "no `current`"),
            (&format!("current {A}\nlater {B}\n"), "line 2: expected"),
            (&format!("current {A}\nnext {A}\n"), "same key"),
            (
                &format!("current {A}\nnext {B}\nprevious {B}\n"),
                "same key",
            ),
        ];
        for (text, names) in bad {
            let err = parse(text).unwrap_err();
            assert!(err.contains(names), "{text:?}: {err}");
        }
    }

    #[test]
    fn rotation_moves_each_key_one_step() {
        let file =
            KeyFile::parse(format!("current {A}\nnext {B}\nprevious {C}").as_bytes()).unwrap();
        let rotated = file.rotated(C.as_bytes().to_vec()).unwrap();
        assert_eq!(rotated.previous.as_deref(), Some(A.as_bytes()));
        assert_eq!(rotated.current, B.as_bytes());
        assert_eq!(rotated.next.as_deref(), Some(C.as_bytes()));
        let legacy = KeyFile::parse(A.as_bytes()).unwrap();
        assert!(legacy.rotated(B.as_bytes().to_vec()).is_err());
    }

    #[test]
    fn written_files_are_private_and_whole() {
        let dir = std::env::temp_dir().join(format!("sluice-keyfile-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("agent.key");
        std::fs::write(&path, "old").unwrap();
        let file = KeyFile::parse(format!("current {A}\nnext {B}").as_bytes()).unwrap();
        write(&path, &file).unwrap();
        assert_eq!(
            KeyFile::parse(&std::fs::read(&path).unwrap()).unwrap(),
            file
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "no temp file left"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
