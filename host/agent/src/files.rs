//! Installing a revision's files: each written atomically (a new temp file
//! beside it, fsynced, renamed over it), with what they replaced kept in
//! memory to put back if the revision is refused.
//!
//! Files land only under the config root the agent was started with:
//! absolute paths without `.` or `..`, no symlink anywhere between the root
//! and the file, and only over regular files. A revision that names anything
//! else is refused before anything is written.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use super::beneath::Dir;
use sluice_wire::docs::FileDoc;

#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error(
        "file {path:?}: only absolute paths under the config root {root} without '.' or '..' are installed"
    )]
    BadPath { path: String, root: PathBuf },
    #[error("file {path:?}: {what} is a symlink or not a directory; nothing is written through it")]
    NotADirectory { path: String, what: PathBuf },
    #[error("file {path:?}: exists and is not a regular file")]
    NotAFile { path: String },
    #[error("{action} {path}: {error}")]
    Io {
        action: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },
}

/// What the paths held before an install (None: no file).
#[derive(Debug)]
#[must_use = "restore or drop: dropping keeps the installed files"]
pub struct Backup {
    root: PathBuf,
    entries: Vec<(PathBuf, Option<Vec<u8>>)>,
}

/// Write `files` under `root`, and remove those of `previous` that `files`
/// lacks. On error, what was changed is put back before returning.
pub fn install(root: &Path, files: &[FileDoc], previous: &[String]) -> Result<Backup, FilesError> {
    for f in files {
        check_path(root, &f.path)?;
    }
    let new: BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    let stale: Vec<&str> = previous
        .iter()
        .map(String::as_str)
        .filter(|p| !new.contains(p) && check_path(root, p).is_ok())
        .collect();
    let mut backup = Backup {
        root: root.to_owned(),
        entries: Vec::new(),
    };
    for path in new.iter().chain(&stale) {
        let path = PathBuf::from(path);
        let (dir, name) = beneath(root, &path, false)?;
        let old = match dir {
            Some(dir) => dir.read(name).map_err(|e| io("read", &path, e))?,
            None => None,
        };
        backup.entries.push((path, old));
    }
    let changed = files
        .iter()
        .try_for_each(|f| write_atomic(root, Path::new(&f.path), f.contents.as_bytes()))
        .and_then(|()| stale.iter().try_for_each(|p| remove(root, Path::new(p))));
    match changed {
        Ok(()) => Ok(backup),
        Err(e) => {
            if let Err(restore) = backup.restore() {
                tracing::error!("{restore}");
            }
            Err(e)
        }
    }
}

impl Backup {
    /// Put every path back as it was.
    pub fn restore(self) -> Result<(), FilesError> {
        let mut first_error = None;
        for (path, old) in &self.entries {
            let result = match old {
                Some(bytes) => write_atomic(&self.root, path, bytes),
                None => remove(&self.root, path),
            };
            if let Err(e) = result {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// A new temp file beside `path` (never an existing one: a planted file or
/// symlink there fails the write), synced, then renamed over `path`; every
/// step relative to a directory reached from `root` without following a
/// symlink ([`Dir`]).
pub fn write_atomic(root: &Path, path: &Path, contents: &[u8]) -> Result<(), FilesError> {
    let (dir, name) = beneath(root, path, true)?;
    let dir = dir.expect("created on the way");
    let mut nonce = [0u8; 6];
    let _ = getrandom::fill(&mut nonce);
    let temp = format!(".{}.sluice-{}", name.to_string_lossy(), hex::encode(nonce));
    let temp = OsStr::new(&temp);
    // A private key (an ACME certificate's) is for the proxy's user only.
    let secret = contents
        .windows(b"PRIVATE KEY-----".len())
        .any(|w| w == b"PRIVATE KEY-----");
    let mode = if secret { 0o600 } else { 0o644 };
    let written = dir.create_new(temp, mode).and_then(|mut f| {
        f.write_all(contents)?;
        f.sync_all()
    });
    if let Err(e) = written {
        let _ = dir.remove(temp);
        return Err(io("write", &path.with_file_name(temp), e));
    }
    dir.rename(temp, name).map_err(|e| {
        let _ = dir.remove(temp);
        io("rename into place", path, e)
    })?;
    // The rename itself survives a crash only once the directory is synced.
    dir.sync();
    Ok(())
}

fn remove(root: &Path, path: &Path) -> Result<(), FilesError> {
    match beneath(root, path, false)? {
        (Some(dir), name) => dir.remove(name).map_err(|e| io("remove", path, e)),
        (None, _) => Ok(()),
    }
}

/// `path`'s directory under `root` (made when `create`; None when missing)
/// and its file name.
fn beneath<'p>(
    root: &Path,
    path: &'p Path,
    create: bool,
) -> Result<(Option<Dir>, &'p OsStr), FilesError> {
    let bad = || FilesError::BadPath {
        path: path.display().to_string(),
        root: root.to_owned(),
    };
    let rel = path.strip_prefix(root).map_err(|_| bad())?;
    let name = rel.file_name().ok_or_else(bad)?;
    let parent = rel.parent().unwrap_or(Path::new(""));
    // ELOOP/ENOTDIR here: a directory on the way became a symlink after
    // check_path looked (a race), and the kernel refused to follow it.
    let dir =
        Dir::open(root, parent, create).map_err(|e| io("open directory", &root.join(parent), e))?;
    Ok((dir, name))
}

/// `path` must be a plain absolute path strictly under `root`, every
/// existing directory on the way a real directory, and the file itself
/// absent or a regular file.
pub(crate) fn check_path(root: &Path, path: &str) -> Result<(), FilesError> {
    let p = Path::new(path);
    let bad = || FilesError::BadPath {
        path: path.to_owned(),
        root: root.to_owned(),
    };
    if !sluice_wire::paths::is_plain_absolute(path) {
        return Err(bad());
    }
    let Ok(rest) = p.strip_prefix(root) else {
        return Err(bad());
    };
    if rest.as_os_str().is_empty() {
        return Err(bad());
    }
    let mut at = root.to_path_buf();
    let mut parts = rest.components().peekable();
    while let Some(part) = parts.next() {
        at.push(part);
        let meta = match std::fs::symlink_metadata(&at) {
            Ok(m) => m,
            // Missing from here on: created as plain directories.
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io("inspect", &at, e)),
        };
        if parts.peek().is_some() {
            if !meta.file_type().is_dir() {
                return Err(FilesError::NotADirectory {
                    path: path.to_owned(),
                    what: at,
                });
            }
        } else if !meta.file_type().is_file() {
            return Err(FilesError::NotAFile {
                path: path.to_owned(),
            });
        }
    }
    Ok(())
}

pub(crate) fn io(action: &'static str, path: &Path, error: std::io::Error) -> FilesError {
    FilesError::Io {
        action,
        path: path.to_owned(),
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(path: &Path, contents: &str) -> FileDoc {
        FileDoc {
            path: path.to_str().unwrap().to_owned(),
            contents: contents.to_owned(),
        }
    }

    fn read(path: &Path) -> Option<String> {
        std::fs::read_to_string(path).ok()
    }

    #[test]
    fn private_keys_are_written_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempdir("modes");
        let (key, conf) = (dir.join("acme/a.key"), dir.join("main.conf"));
        let key_pem = "-----BEGIN PRIVATE KEY-----\nMIG\n-----END PRIVATE KEY-----\n";
        let _backup = install(&dir, &[doc(&key, key_pem), doc(&conf, "x")], &[]).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&key), 0o600);
        assert_eq!(mode(&conf), 0o644);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn install_then_restore_puts_everything_back() {
        let dir = tempdir("restore");
        let (main, extra, stale) = (
            dir.join("main.conf"),
            dir.join("sub/extra.conf"),
            dir.join("old.conf"),
        );
        std::fs::write(&main, "old main").unwrap();
        std::fs::write(&stale, "old extra").unwrap();
        let files = [doc(&main, "new main"), doc(&extra, "new extra")];
        let previous = [
            main.to_str().unwrap().to_owned(),
            stale.to_str().unwrap().to_owned(),
        ];

        let backup = install(&dir, &files, &previous).unwrap();
        assert_eq!(read(&main).as_deref(), Some("new main"));
        assert_eq!(read(&extra).as_deref(), Some("new extra"));
        assert_eq!(read(&stale), None, "files the revision dropped are removed");

        backup.restore().unwrap();
        assert_eq!(read(&main).as_deref(), Some("old main"));
        assert_eq!(read(&extra), None);
        assert_eq!(read(&stale).as_deref(), Some("old extra"));
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.contains("sluice-"))
            .collect();
        assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unsafe_paths_are_refused_before_anything_is_written() {
        let dir = tempdir("paths");
        let outside = tempdir("paths-outside");
        let good = dir.join("ok.conf");
        std::os::unix::fs::symlink(&outside, dir.join("escape")).unwrap();
        std::os::unix::fs::symlink(outside.join("target"), dir.join("link.conf")).unwrap();
        std::fs::create_dir(dir.join("a-dir")).unwrap();
        let d = dir.to_str().unwrap();
        let table = [
            "relative.conf".to_owned(),
            format!("{d}/../etc/passwd"),
            format!("{d}/./x.conf"),
            "/".to_owned(),
            d.to_owned(),
            "/etc/passwd".to_owned(),
            format!("{d}-sibling/x.conf"),
            format!("{d}/escape/x.conf"),
            format!("{d}/link.conf"),
            format!("{d}/a-dir"),
            "/dev/null".to_owned(),
        ];
        for bad in &table {
            let files = [
                doc(&good, "x"),
                FileDoc {
                    path: bad.clone(),
                    contents: "x".into(),
                },
            ];
            let err = install(&dir, &files, &[]).unwrap_err();
            assert!(err.to_string().contains(bad.as_str()), "{err}");
            assert_eq!(read(&good), None, "{bad}: nothing may be written");
        }
        assert_eq!(
            std::fs::read_dir(&outside).unwrap().count(),
            0,
            "nothing written through a symlink"
        );
        std::fs::remove_dir_all(&dir).unwrap();
        std::fs::remove_dir_all(&outside).unwrap();
    }

    #[test]
    fn a_planted_temp_name_is_never_written_through() {
        // Temp names are unpredictable and created exclusively: a symlink an
        // attacker left beside the target is not followed.
        let dir = tempdir("planted");
        let target = dir.join("main.conf");
        write_atomic(&dir, &target, b"one").unwrap();
        write_atomic(&dir, &target, b"two").unwrap();
        assert_eq!(read(&target).as_deref(), Some("two"));
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_directory_swapped_for_a_symlink_after_the_check_is_not_followed() {
        // The race check_path cannot see: its answer is stale by the time
        // of the write. The write itself must refuse.
        let dir = tempdir("race");
        let outside = tempdir("race-outside");
        let target = dir.join("conf.d/site.conf");
        check_path(&dir, target.to_str().unwrap()).unwrap();
        std::os::unix::fs::symlink(&outside, dir.join("conf.d")).unwrap();
        assert!(write_atomic(&dir, &target, b"x").is_err());
        assert!(
            remove(&dir, &outside.join("victim")).is_err(),
            "outside the root"
        );
        std::fs::write(outside.join("victim"), "keep").unwrap();
        assert!(remove(&dir, &dir.join("conf.d/victim")).is_err());
        assert_eq!(
            std::fs::read_to_string(outside.join("victim")).unwrap(),
            "keep"
        );
        assert_eq!(
            std::fs::read_dir(&outside).unwrap().count(),
            1,
            "nothing written outside"
        );
        std::fs::remove_dir_all(&dir).unwrap();
        std::fs::remove_dir_all(&outside).unwrap();
    }

    fn tempdir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sluice-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
