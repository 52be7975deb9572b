//! A tiny writer for haproxy.cfg sections: a header line, then indented lines.

#[derive(Default)]
pub struct Cfg {
    text: String,
}

impl Cfg {
    /// Starts a section (`global`, `backend up_x`, ...), blank-line separated.
    pub fn section(&mut self, header: impl AsRef<str>) {
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        self.text.push_str(header.as_ref());
        self.text.push('\n');
    }

    pub fn line(&mut self, line: impl AsRef<str>) {
        self.text.push_str("    ");
        self.text.push_str(line.as_ref());
        self.text.push('\n');
    }

    pub fn finish(self) -> String {
        self.text
    }
}
