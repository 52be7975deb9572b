use std::fmt;

/// Why a value breaks its rule, said so that it can follow the name of the
/// label or key the value came from ("label com.docker.lb.hosts: host ...").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid(String);

impl Invalid {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Invalid(message.into())
    }

    /// A rule of the caller's own, worded as these are.
    pub fn from_message(message: impl Into<String>) -> Self {
        Invalid(message.into())
    }

    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Invalid {}

impl From<Invalid> for String {
    fn from(i: Invalid) -> String {
        i.0
    }
}
