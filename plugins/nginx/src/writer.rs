//! An indenting writer for nginx config text. Arguments reach it already
//! quoted (see `quote`); it only lays them out.

#[derive(Default)]
pub struct Conf {
    text: String,
    depth: usize,
}

impl Conf {
    pub fn new() -> Self {
        Self::default()
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.text.push_str("    ");
        }
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
        S: AsRef<str>,
    {
        let mut line = name.to_string();
        for a in args {
            line.push(' ');
            line.push_str(a.as_ref());
        }
        line.push(';');
        self.line(&line);
    }

    /// `head {` ... `}` with `body` written one level deeper.
    pub fn block(&mut self, head: &str, body: impl FnOnce(&mut Conf)) {
        self.line(&format!("{head} {{"));
        self.depth += 1;
        body(self);
        self.depth -= 1;
        self.line("}");
    }

    pub fn comment(&mut self, text: &str) {
        self.line(&format!("# {text}"));
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
