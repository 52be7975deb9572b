//! Directories under the config root, reached without following a symlink:
//! each one is opened relative to the one before (`openat` with
//! `O_NOFOLLOW | O_DIRECTORY`) and files are created, read, renamed and
//! removed relative to that handle. A directory swapped for a symlink
//! between the agent's path check and its write cannot redirect the write:
//! the check is done by the kernel at every step.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, ErrorKind};
use std::os::fd::OwnedFd;
use std::path::{Component, Path};

use nix::fcntl::{OFlag, openat, renameat};
use nix::sys::stat::{Mode, mkdirat};
use nix::unistd::{UnlinkatFlags, unlinkat};

/// An open directory under the config root.
pub struct Dir {
    fd: OwnedFd,
}

const DIR_FLAGS: OFlag = OFlag::O_RDONLY
    .union(OFlag::O_DIRECTORY)
    .union(OFlag::O_NOFOLLOW)
    .union(OFlag::O_CLOEXEC);

impl Dir {
    /// `rel` (plain names only) under `root`, each missing directory made
    /// (0755) when `create`; None when one is missing and not `create`.
    pub fn open(root: &Path, rel: &Path, create: bool) -> io::Result<Option<Dir>> {
        // The root is the operator's setting: followed as given.
        let mut fd = openat(
            nix::fcntl::AT_FDCWD,
            root,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        for part in rel.components() {
            let Component::Normal(name) = part else {
                return Err(io::Error::new(
                    ErrorKind::InvalidInput,
                    "only plain names below the root",
                ));
            };
            let next = match openat(&fd, name, DIR_FLAGS, Mode::empty()) {
                Err(nix::errno::Errno::ENOENT) if create => {
                    match mkdirat(&fd, name, Mode::from_bits_truncate(0o755)) {
                        Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
                        Err(e) => return Err(e.into()),
                    }
                    openat(&fd, name, DIR_FLAGS, Mode::empty())?
                }
                Err(nix::errno::Errno::ENOENT) => return Ok(None),
                other => other?,
            };
            fd = next;
        }
        Ok(Some(Dir { fd }))
    }

    /// A new directory `name` with `mode` (never an existing one).
    pub fn create_dir(&self, name: &OsStr, mode: u32) -> io::Result<()> {
        Ok(mkdirat(&self.fd, name, Mode::from_bits_truncate(mode))?)
    }

    /// A new file `name` (never an existing one, never through a symlink).
    pub fn create_new(&self, name: &OsStr, mode: u32) -> io::Result<File> {
        let flags =
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let fd = openat(&self.fd, name, flags, Mode::from_bits_truncate(mode))?;
        Ok(File::from(fd))
    }

    /// The regular file `name`'s bytes; None when there is none.
    pub fn read(&self, name: &OsStr) -> io::Result<Option<Vec<u8>>> {
        let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
        let file = match openat(&self.fd, name, flags, Mode::empty()) {
            Ok(fd) => File::from(fd),
            Err(nix::errno::Errno::ENOENT) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if !file.metadata()?.is_file() {
            return Err(io::Error::new(
                ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        let mut bytes = Vec::new();
        io::Read::read_to_end(&mut &file, &mut bytes)?;
        Ok(Some(bytes))
    }

    pub fn rename(&self, from: &OsStr, to: &OsStr) -> io::Result<()> {
        Ok(renameat(&self.fd, from, &self.fd, to)?)
    }

    /// Remove `name`; a missing one is fine.
    pub fn remove(&self, name: &OsStr) -> io::Result<()> {
        match unlinkat(&self.fd, name, UnlinkatFlags::NoRemoveDir) {
            Ok(()) | Err(nix::errno::Errno::ENOENT) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Make renames and removals in this directory survive a crash.
    pub fn sync(&self) {
        let _ = nix::unistd::fsync(&self.fd);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_symlinked_directory_is_never_entered() {
        let root = std::env::temp_dir().join(format!("sluice-beneath-{}", std::process::id()));
        let outside = root.with_extension("outside");
        let _ = std::fs::remove_dir_all(&root);
        let _ = std::fs::remove_dir_all(&outside);
        std::fs::create_dir_all(root.join("real")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
        // (relative directory, create, opens)
        let table = [
            ("real", false, true),
            ("new/deeper", true, true),
            ("missing", false, false),
        ];
        for (rel, create, opens) in table {
            let dir = Dir::open(&root, Path::new(rel), create).unwrap();
            assert_eq!(dir.is_some(), opens, "{rel}");
        }
        for rel in ["link", "link/sub", "real/../link"] {
            assert!(
                Dir::open(&root, Path::new(rel), true).is_err(),
                "{rel} was entered"
            );
        }
        let real = Dir::open(&root, Path::new("real"), false).unwrap().unwrap();
        std::os::unix::fs::symlink("/etc/passwd", root.join("real/planted")).unwrap();
        assert!(
            real.create_new(OsStr::new("planted"), 0o644).is_err(),
            "written through a symlink"
        );
        assert!(
            real.read(OsStr::new("planted")).is_err(),
            "read through a symlink"
        );
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
        std::fs::remove_dir_all(&root).unwrap();
        std::fs::remove_dir_all(&outside).unwrap();
    }
}
