//! Sanity checks on what a plugin returns, before anything is written: the
//! host, not the plugin, decides where files may go.

use std::collections::BTreeSet;
use std::path::Path;

use super::limits::Limits;
use crate::wit::latest::OutputFile;

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

#[cfg(test)]
mod tests {
    use super::*;

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
