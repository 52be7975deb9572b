//! A tiny writer for haproxy.cfg sections: a header line, then indented
//! lines, and where each server slot's changing part lies (what the host
//! leaves out of the config's shape).

use sluice_plugin_kit::{Slot, SlotServer};

#[derive(Default)]
pub struct Cfg {
    text: String,
    slots: Vec<Slot>,
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

    /// A server slot's line: `before`, the slot's changing part (`value`:
    /// what the runtime API can set), then `after`, which must not depend
    /// on the server the slot holds.
    pub fn slot_line(
        &mut self,
        (backend, name): (&str, &str),
        server: Option<SlotServer>,
        [before, value, after]: [&str; 3],
    ) {
        self.text.push_str("    ");
        self.text.push_str(before);
        let start = self.text.len();
        self.text.push_str(value);
        let end = self.text.len();
        self.text.push_str(after);
        self.text.push('\n');
        self.slots.push(Slot {
            backend: backend.to_owned(),
            name: name.to_owned(),
            server,
            // haproxy.cfg is the first file rendered.
            file: 0,
            start: u32::try_from(start).unwrap_or(u32::MAX),
            end: u32::try_from(end).unwrap_or(u32::MAX),
        });
    }

    pub fn finish(self) -> (String, Vec<Slot>) {
        (self.text, self.slots)
    }
}
