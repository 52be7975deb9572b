//! An indenting writer for nginx config text. Arguments reach it already
//! quoted (see `quote`); it only lays them out.

use std::fmt::{self, Write};

/// Something that writes itself into the config text. Not `Display`: going
/// through the formatting machinery for every word was a third of the time
/// of rendering a large cluster.
pub trait Piece {
    fn put(&self, out: &mut String);
}

/// A piece on its own, for `Display` and for callers that want a `String`.
pub fn text_of(p: &impl Piece) -> String {
    let mut s = String::new();
    p.put(&mut s);
    s
}

impl Piece for str {
    fn put(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl Piece for String {
    fn put(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl<T: Piece + ?Sized> Piece for &T {
    fn put(&self, out: &mut String) {
        (**self).put(out);
    }
}

/// For the odd formatted piece; hot paths use the other impls.
impl Piece for fmt::Arguments<'_> {
    fn put(&self, out: &mut String) {
        match self.as_str() {
            Some(s) => out.push_str(s),
            None => out
                .write_fmt(*self)
                .expect("writing to a String cannot fail"),
        }
    }
}

macro_rules! integer_pieces {
    ($($t:ty),*) => {$(
        impl Piece for $t {
            fn put(&self, out: &mut String) {
                out.push_str(itoa::Buffer::new().format(*self));
            }
        }
    )*};
}
integer_pieces!(u16, u32, u64, usize);

/// Pieces written one after the other, as one word.
impl<A: Piece, B: Piece> Piece for (A, B) {
    fn put(&self, out: &mut String) {
        self.0.put(out);
        self.1.put(out);
    }
}

impl<A: Piece, B: Piece, C: Piece> Piece for (A, B, C) {
    fn put(&self, out: &mut String) {
        self.0.put(out);
        self.1.put(out);
        self.2.put(out);
    }
}

#[derive(Default)]
pub struct Conf {
    text: String,
    depth: usize,
}

impl Conf {
    #[cfg(test)]
    pub fn new() -> Self {
        Self::default()
    }

    /// A writer whose buffer starts with room for `bytes`: a large cluster's
    /// config is megabytes, and growing to that by doubling copies it again.
    pub fn with_capacity(bytes: usize) -> Self {
        Conf {
            text: String::with_capacity(bytes),
            depth: 0,
        }
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.text.push_str("    ");
        }
    }

    /// Straight into the buffer: a temporary string per piece was most of
    /// the cost of rendering a large cluster.
    fn put(&mut self, piece: impl Piece) {
        piece.put(&mut self.text);
    }

    /// A line written as is (already checked by `raw::check_statements`).
    pub fn line(&mut self, line: &str) {
        self.indent();
        self.text.push_str(line);
        self.text.push('\n');
    }

    /// `name arg...;`
    pub fn directive<I, S>(&mut self, name: &str, args: I)
    where
        I: IntoIterator<Item = S>,
        S: Piece,
    {
        self.indent();
        self.text.push_str(name);
        for a in args {
            self.text.push(' ');
            self.put(a);
        }
        self.text.push_str(";\n");
    }

    /// `head {` ... `}` with `body` written one level deeper.
    pub fn block(&mut self, head: impl Piece, body: impl FnOnce(&mut Conf)) {
        self.indent();
        self.put(head);
        self.text.push_str(" {\n");
        self.depth += 1;
        body(self);
        self.depth -= 1;
        self.line("}");
    }

    pub fn comment(&mut self, text: &str) {
        self.indent();
        self.text.push_str("# ");
        self.text.push_str(text);
        self.text.push('\n');
    }

    pub fn blank(&mut self) {
        self.text.push('\n');
    }

    pub fn finish(self) -> String {
        self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nests_blocks() {
        let mut c = Conf::new();
        c.directive("user", ["root"]);
        c.block("http", |c| {
            c.block("server", |c| {
                c.directive("listen", ["80", "default_server"])
            });
        });
        assert_eq!(
            c.finish(),
            "user root;\nhttp {\n    server {\n        listen 80 default_server;\n    }\n}\n"
        );
    }
}
