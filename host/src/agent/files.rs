//! Installing a revision's files: each written atomically (temp file and
//! rename in the same directory, so the proxy never reads half a file), with
//! what they replaced kept in memory to put back if the revision is refused.

use std::collections::BTreeSet;
use std::io::ErrorKind;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use crate::serve::wire::FileDoc;

#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error("file {path:?}: only absolute paths without '..' are installed")]
    BadPath { path: String },
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
    entries: Vec<(PathBuf, Option<Vec<u8>>)>,
}

/// Write `files`, and remove those of `previous` that `files` lacks.
/// On error, what was changed is put back before returning.
pub fn install(files: &[FileDoc], previous: &[String]) -> Result<Backup, FilesError> {
    for f in files {
        check_path(&f.path)?;
    }
    let new: BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    let stale: Vec<&str> = previous
        .iter()
        .map(String::as_str)
        .filter(|p| !new.contains(p) && check_path(p).is_ok())
        .collect();
    let mut backup = Backup {
        entries: Vec::new(),
    };
    for path in new.iter().chain(&stale) {
        let path = PathBuf::from(path);
        let old = match std::fs::read(&path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            Err(source) => return Err(io("read", &path, source)),
        };
        backup.entries.push((path, old));
    }
    let changed = files
        .iter()
        .try_for_each(|f| write_atomic(Path::new(&f.path), f.contents.as_bytes()))
        .and_then(|()| stale.iter().try_for_each(|p| remove(Path::new(p))));
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
        for (path, old) in self.entries {
            let result = match old {
                Some(bytes) => write_atomic(&path, &bytes),
                None => remove(&path),
            };
            if let Err(e) = result {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Temp file beside `path`, then rename over it.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), FilesError> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(dir).map_err(|e| io("create directory", dir, e))?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = dir.join(format!(".{name}.sluice-{}", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(&temp)
        .and_then(|mut f| std::io::Write::write_all(&mut f, contents));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(io("write", &temp, e));
    }
    std::fs::rename(&temp, path).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        io("rename into place", path, e)
    })
}

fn remove(path: &Path) -> Result<(), FilesError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(io("remove", path, e)),
        _ => Ok(()),
    }
}

fn check_path(path: &str) -> Result<(), FilesError> {
    let p = Path::new(path);
    let ok = p.is_absolute()
        && p.file_name().is_some()
        && !p.components().any(|c| c == Component::ParentDir);
    if ok {
        Ok(())
    } else {
        Err(FilesError::BadPath {
            path: path.to_owned(),
        })
    }
}

fn io(action: &'static str, path: &Path, error: std::io::Error) -> FilesError {
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

        let backup = install(&files, &previous).unwrap();
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
        let good = dir.join("ok.conf");
        for bad in ["relative.conf", "/etc/../etc/passwd", "/"] {
            let files = [
                doc(&good, "x"),
                FileDoc {
                    path: bad.into(),
                    contents: "x".into(),
                },
            ];
            let err = install(&files, &[]).unwrap_err();
            assert!(err.to_string().contains(bad), "{err}");
            assert_eq!(read(&good), None, "{bad}: nothing may be written");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempdir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sluice-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
