//! Proxy directives that run code, refused in what a plugin renders.
//!
//! The host decides what runs in a proxy container ([`crate::proxies`]), but
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

use crate::config::Extension;
use crate::wit::latest::{OutputFile, PluginInfo, SettingValue};

/// One statement as the proxy reads it: its words, unquoted.
pub(crate) type Statement = Vec<String>;

/// A config syntax whose code-running directives the host knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    syntax: Option<Syntax>,
    /// Statements the operator wrote in the Extension's settings.
    operators: BTreeSet<Statement>,
}

impl CodePolicy {
    /// The policy for `ext` rendered by a plugin that says `info`: the rules
    /// of the proxy kind the agents will run (the plugin's kind when the host
    /// knows it, else the binary of the operator's own commands).
    pub fn of(ext: &Extension, info: &PluginInfo) -> CodePolicy {
        let operator_binary = ext
            .proxy_command
            .iter()
            .chain(ext.proxy_validate_command.iter())
            .filter_map(|argv| argv.first())
            .filter_map(|bin| std::path::Path::new(bin).file_name()?.to_str())
            .find_map(Syntax::of_name);
        let syntax = Syntax::of_name(&info.proxy).or(operator_binary);
        let mut policy = CodePolicy::for_syntax(syntax);
        if let Some(syntax) = syntax {
            for setting in &ext.config {
                let texts: &[String] = match &setting.value {
                    SettingValue::Text(t) => std::slice::from_ref(t),
                    SettingValue::TextList(items) => items,
                    _ => &[],
                };
                for text in texts {
                    policy
                        .operators
                        .extend(syntax.statements(text).into_iter().map(|(_, s)| s));
                }
            }
        }
        policy
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
            syntax,
            operators: BTreeSet::new(),
        }
    }

    /// The first statement in `files` that runs code and that the operator
    /// did not write, as a message naming file, line and directive.
    pub fn check(&self, files: &[OutputFile]) -> Result<(), String> {
        let Some(syntax) = self.syntax else {
            return Ok(());
        };
        for file in files {
            for (line, statement) in syntax.suspects(&file.contents) {
                let Some(why) = syntax.runs_code(&statement) else {
                    continue;
                };
                if self.operators.contains(&statement) {
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
        Ok(())
    }
}

#[cfg(test)]
mod tests;
