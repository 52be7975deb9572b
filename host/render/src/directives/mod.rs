//! Proxy directives that run code, refused in what a plugin renders.
//!
//! The host decides what runs in a proxy container (the daemon's `proxies`), but
//! a config file can load code too: nginx's `load_module` (a shared object,
//! loaded by `nginx -t` already), HAProxy's `lua-load` and `program`
//! sections. A plugin that rendered one of these, naming a file it wrote
//! itself, would run its own code in every proxy. So for the proxy kinds the
//! host knows, every statement of every output file is read the way the
//! proxy reads it ([`nginx`], [`haproxy`]), and one that runs code fails the
//! render, naming file, line and directive, unless the operator wrote that
//! same statement in the Extension's settings (e.g. a `load_module` line in
//! `GlobalOptions`): the operator may ask for it, a plugin may not.
//!
//! Reading every statement of a 10k-host config costs, so each syntax first
//! picks the few statements that could be one ([`Syntax::suspects`]).

mod haproxy;
mod nginx;

use std::collections::BTreeSet;

use crate::wit::latest::{OutputFile, PluginInfo, Setting, SettingValue};

/// One statement as the proxy reads it: its words, unquoted.
pub(crate) type Statement = Vec<String>;

/// A config syntax whose code-running directives the host knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Syntax {
    Nginx,
    Haproxy,
}

impl Syntax {
    fn of_name(name: &str) -> Option<Syntax> {
        match name {
            "nginx" => Some(Syntax::Nginx),
            "haproxy" => Some(Syntax::Haproxy),
            _ => None,
        }
    }

    /// The statements of `text` that could run code, with their 1-based
    /// lines: every one [`Syntax::runs_code`] would flag is among them.
    fn suspects(self, text: &str) -> Vec<(usize, Statement)> {
        match self {
            Syntax::Nginx => nginx::suspects(text),
            Syntax::Haproxy => haproxy::suspects(text),
        }
    }

    /// Each statement with its 1-based line.
    fn statements(self, text: &str) -> Vec<(usize, Statement)> {
        match self {
            Syntax::Nginx => nginx::statements(text),
            Syntax::Haproxy => haproxy::statements(text),
        }
    }

    /// Why `statement` runs code, if it does.
    fn runs_code(self, statement: &[String]) -> Option<&'static str> {
        match self {
            Syntax::Nginx => nginx::runs_code(statement),
            Syntax::Haproxy => haproxy::runs_code(statement),
        }
    }
}

/// What one cluster's rendered files may not contain.
#[derive(Debug)]
pub struct CodePolicy {
    /// Every grammar the agents' proxy may be read with.
    syntaxes: Vec<Syntax>,
    /// Statements the operator wrote in the Extension's settings, per syntax.
    operators: BTreeSet<(Syntax, Statement)>,
}

impl CodePolicy {
    /// The policy for a cluster rendered by a plugin that says `info`, whose
    /// operator runs the proxy with `commands` (argv lists) and wrote
    /// `settings`: the rules of the plugin's kind and of the binary of the
    /// operator's own commands (a plugin naming another kind than the binary
    /// that runs is read with both grammars); the operator's statements in
    /// `settings` are allowed.
    pub fn of<'a>(
        info: &PluginInfo,
        commands: impl IntoIterator<Item = &'a Vec<String>>,
        settings: &[Setting],
    ) -> CodePolicy {
        let operator_binaries = commands
            .into_iter()
            .filter_map(|argv| argv.first())
            .filter_map(|bin| std::path::Path::new(bin).file_name()?.to_str())
            .filter_map(Syntax::of_name);
        let mut syntaxes: Vec<Syntax> = Syntax::of_name(&info.proxy)
            .into_iter()
            .chain(operator_binaries)
            .collect();
        syntaxes.sort_by_key(|s| *s as u8);
        syntaxes.dedup();
        let texts = settings.iter().flat_map(|setting| match &setting.value {
            SettingValue::Text(t) => std::slice::from_ref(t),
            SettingValue::TextList(items) => items.as_slice(),
            _ => &[],
        });
        let operators = syntaxes
            .iter()
            .flat_map(|&syntax| {
                texts.clone().flat_map(move |text| {
                    syntax
                        .statements(text)
                        .into_iter()
                        .map(move |(_, s)| (syntax, s))
                })
            })
            .collect();
        CodePolicy {
            syntaxes,
            operators,
        }
    }

    /// The rules of proxy kind `proxy` (as a plugin's `info()` names it),
    /// with nothing allowed.
    pub fn for_kind(proxy: &str) -> CodePolicy {
        CodePolicy::for_syntax(Syntax::of_name(proxy))
    }

    /// `syntax`'s rules with nothing allowed; None checks nothing (a proxy
    /// the operator runs with their own commands owns its config language).
    pub fn for_syntax(syntax: Option<Syntax>) -> CodePolicy {
        CodePolicy {
            syntaxes: syntax.into_iter().collect(),
            operators: BTreeSet::new(),
        }
    }

    /// The first statement in `files` that runs code and that the operator
    /// did not write, as a message naming file, line and directive. Control
    /// characters (but tab, CR and LF) are refused outright: the proxies'
    /// parsers and this one disagree on them (NUL ends a HAProxy keyword,
    /// `\v` and `\f` are blanks to HAProxy and not to nginx).
    pub fn check(&self, files: &[OutputFile]) -> Result<(), String> {
        if self.syntaxes.is_empty() {
            return Ok(());
        }
        for file in files {
            if let Some((line, c)) = control_character(&file.contents) {
                return Err(format!(
                    "`{}` line {line}: control character U+{:04X}; a config may hold none but tab, CR and LF",
                    file.path, c as u32
                ));
            }
        }
        for &syntax in &self.syntaxes {
            for file in files {
                for (line, statement) in syntax.suspects(&file.contents) {
                    let Some(why) = syntax.runs_code(&statement) else {
                        continue;
                    };
                    if self.operators.contains(&(syntax, statement.clone())) {
                        // The operator's statement, but never naming a file the
                        // plugin wrote (its code would be the plugin's).
                        if let Some(rendered) = names_rendered(&statement, files) {
                            return Err(format!(
                                "`{}` line {line}: `{}` names `{rendered}`, a file the plugin rendered; \
                                 a plugin may not supply code for the proxy",
                                file.path, statement[0]
                            ));
                        }
                        continue;
                    }
                    return Err(format!(
                        "`{}` line {line}: `{}` {why}; a plugin may not render it \
                         (an operator who wants it writes that statement in the Extension's settings, \
                         e.g. GlobalOptions)",
                        file.path, statement[0]
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The first control character but tab, CR and LF, with its line.
fn control_character(text: &str) -> Option<(usize, char)> {
    let bad = |b: u8| (b < 0x20 && !matches!(b, b'\t' | b'\r' | b'\n')) || b == 0x7f;
    // An OR without an early exit is vectorised: 0.3 ms for the 4.5 MB
    // bench config (a count took 2.8, `position` more); the position only
    // when needed.
    if text.bytes().fold(0u8, |any, b| any | u8::from(bad(b))) == 0 {
        return None;
    }
    let at = text.bytes().position(bad)?;
    let line = 1 + text.as_bytes()[..at]
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    Some((line, char::from(text.as_bytes()[at])))
}

/// A rendered file `statement` names: by absolute path, or relative to the
/// main config's directory (where nginx and HAProxy resolve them).
fn names_rendered<'a>(statement: &[String], files: &'a [OutputFile]) -> Option<&'a str> {
    let dir = files
        .first()
        .and_then(|f| std::path::Path::new(&f.path).parent())?;
    statement[1..].iter().find_map(|arg| {
        let path = arg.strip_prefix("engine:").unwrap_or(arg);
        let full = dir.join(path);
        files.iter().map(|f| f.path.as_str()).find(|p| {
            std::path::Path::new(p) == full || p.starts_with(&format!("{}/", full.display()))
        })
    })
}

#[cfg(test)]
mod tests;
