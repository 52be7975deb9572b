//! Validating a revision before anything live changes. Its files are written
//! into a fresh directory under the config root, each mention one file makes
//! of another's path (HAProxy's maps and crt-list, an nginx include) pointed
//! at the staged copy, and the validate command runs on the staged main
//! config. Files the revision does not carry (nginx's `mime.types`, the
//! secrets) are read where they are, as the proxy reads them. Only a
//! revision that passes is installed; the staging directory is removed
//! either way.

use std::io::Write;
use std::path::{Path, PathBuf};

use aho_corasick::{AhoCorasick, MatchKind};

use super::beneath::Dir;
use super::files::{FilesError, check_path, io};
use sluice_wire::docs::FileDoc;

/// A revision's files in their staging directory (removed on drop).
#[derive(Debug)]
pub struct Staged {
    dir: PathBuf,
    root: PathBuf,
    /// The staged main config's path.
    pub main: String,
}

impl Staged {
    /// Stage `files` (the main config first) under `root`.
    pub fn new(root: &Path, files: &[FileDoc]) -> Result<Staged, FilesError> {
        for f in files {
            check_path(root, &f.path)?;
        }
        let mut nonce = [0u8; 8];
        let _ = getrandom::fill(&mut nonce);
        let name = format!(".sluice-staging-{}", hex::encode(nonce));
        let dir = root.join(&name);
        std::fs::create_dir_all(root).map_err(|e| io("create directory", root, e))?;
        Dir::open(root, Path::new(""), false)
            .and_then(|d| d.expect("the root exists").create_dir(name.as_ref(), 0o700))
            .map_err(|e| io("create staging directory", &dir, e))?;
        let mut staged = Staged {
            main: String::new(),
            root: root.to_owned(),
            dir,
        };
        let paths: Vec<(&str, String)> = files
            .iter()
            .map(|f| (f.path.as_str(), staged.staged(&f.path)))
            .collect();
        let repoint = Repoint::new(&paths);
        for (f, (_, to)) in files.iter().zip(&paths) {
            write_new(root, Path::new(to), repoint.apply(&f.contents).as_bytes())?;
        }
        staged.main = paths.first().map(|(_, to)| to.clone()).unwrap_or_default();
        Ok(staged)
    }

    /// `text` (a command's output, say) naming the live paths again.
    pub fn unstaged(&self, text: &str) -> String {
        text.replace(
            self.dir.to_string_lossy().as_ref(),
            self.root.to_string_lossy().as_ref(),
        )
    }

    fn staged(&self, live: &str) -> String {
        let rest = Path::new(live)
            .strip_prefix(&self.root)
            .unwrap_or(Path::new(live));
        self.dir.join(rest).to_string_lossy().into_owned()
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            tracing::warn!(dir = %self.dir.display(), "removing the staging directory: {e}");
        }
    }
}

/// Every live path of the revision's files → its staged path, in one pass
/// (the longest path wins where two start at the same place).
struct Repoint {
    finder: Option<AhoCorasick>,
    to: Vec<String>,
}

impl Repoint {
    fn new(paths: &[(&str, String)]) -> Repoint {
        let finder = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(paths.iter().map(|(from, _)| *from))
            .ok();
        Repoint {
            finder,
            to: paths.iter().map(|(_, to)| to.clone()).collect(),
        }
    }

    fn apply(&self, text: &str) -> String {
        match &self.finder {
            Some(f) => f.replace_all(text, &self.to),
            None => text.to_owned(),
        }
    }
}

/// A new file in the (fresh, private) staging directory, every directory on
/// the way opened without following a symlink ([`Dir`]): whoever can write
/// in the config root cannot swap the staging directory for a link out.
fn write_new(root: &Path, path: &Path, contents: &[u8]) -> Result<(), FilesError> {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let parent = rel.parent().unwrap_or(Path::new(""));
    let name = rel.file_name().unwrap_or_default();
    Dir::open(root, parent, true)
        .and_then(|d| d.expect("created on the way").create_new(name, 0o644))
        .and_then(|mut f| f.write_all(contents))
        .map_err(|e| io("write", path, e))
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

    #[test]
    fn staged_files_point_at_each_other_and_vanish() {
        let root = std::env::temp_dir().join(format!("sluice-staging-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let r = root.to_str().unwrap();
        std::fs::write(root.join("main.cfg"), "live main").unwrap();
        let files = [
            doc(
                &root.join("main.cfg"),
                &format!(
                    "map {r}/maps/http.map\nmap {r}/maps/http.map2\ninclude {r}/mime.types\ncert /run/secrets/x.pem\n"
                ),
            ),
            doc(&root.join("maps/http.map"), "a.example be_a\n"),
            doc(&root.join("maps/http.map2"), "b.example be_b\n"),
        ];
        let staged = Staged::new(&root, &files).unwrap();
        let dir = staged.dir.clone();
        let main = std::fs::read_to_string(&staged.main).unwrap();
        let d = dir.to_str().unwrap();
        assert_eq!(
            main,
            format!(
                "map {d}/maps/http.map\nmap {d}/maps/http.map2\ninclude {r}/mime.types\ncert /run/secrets/x.pem\n"
            ),
            "revision files repointed, others left where they are"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("maps/http.map2")).unwrap(),
            "b.example be_b\n"
        );
        assert_eq!(
            std::fs::read_to_string(root.join("main.cfg")).unwrap(),
            "live main",
            "nothing live changed"
        );
        assert_eq!(
            staged.unstaged(&format!("[ALERT] parsing [{d}/main.cfg:3]")),
            format!("[ALERT] parsing [{r}/main.cfg:3]")
        );
        drop(staged);
        assert!(!dir.exists(), "staging directory removed");
        // Paths outside the root are refused before anything is staged.
        let bad = [doc(Path::new("/etc/cron.d/x"), "x")];
        assert!(Staged::new(&root, &bad).is_err());
        let left: Vec<_> = std::fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 1, "{left:?}");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
