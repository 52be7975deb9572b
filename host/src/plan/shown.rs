//! How a setting's value reads in a message ("services a (unset) and b
//! ("s") disagree on ..."), written per type rather than read back from
//! `Debug` output.

use super::labels::TlsVerify;
use super::labels::policy::Policy;

pub trait Shown {
    fn shown(&self) -> String;
}

impl Shown for bool {
    fn shown(&self) -> String {
        self.to_string()
    }
}

/// Quoted, so an empty or odd value is visible as such.
impl Shown for String {
    fn shown(&self) -> String {
        format!("{self:?}")
    }
}

impl Shown for TlsVerify {
    fn shown(&self) -> String {
        match self {
            TlsVerify::None => "none",
            TlsVerify::Required => "required",
        }
        .into()
    }
}

impl<T: Shown> Shown for Option<T> {
    fn shown(&self) -> String {
        match self {
            Some(v) => v.shown(),
            None => "unset".into(),
        }
    }
}

/// The `sluice.*` labels set (their values may differ too).
impl Shown for Policy {
    fn shown(&self) -> String {
        self.summary()
    }
}

/// A certificate secret and its key secret (none: a combined PEM).
impl Shown for (String, Option<String>) {
    fn shown(&self) -> String {
        match &self.1 {
            Some(key) => format!("{} with key {}", self.0.shown(), key.shown()),
            None => self.0.shown(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_as_messages_show_them() {
        assert_eq!(Some("s".to_string()).shown(), "\"s\"");
        assert_eq!(None::<String>.shown(), "unset");
        assert_eq!(true.shown(), "true");
        assert_eq!(Some(TlsVerify::Required).shown(), "required");
        assert_eq!(
            Some(("c".to_string(), Some("k".to_string()))).shown(),
            "\"c\" with key \"k\""
        );
        assert_eq!(Some(("c".to_string(), None)).shown(), "\"c\"");
    }
}
