//! The terminal line discipline of an interactive session: what a pty and bash's readline do
//! with keystrokes before a command runs. Echo, backspace, Ctrl-C, Ctrl-D, Ctrl-U; cursor and
//! function keys are swallowed. Without a pty, input is split into lines and nothing is
//! echoed, as bash reading a pipe does. Bounded: a line stops growing at [`MAX_LINE`].

use super::shell::MAX_LINE;

/// What a run of input bytes amounts to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Key {
    /// A complete line (Enter).
    Line(String),
    /// Ctrl-C: the line is dropped and a new prompt shown.
    Interrupt,
    /// Ctrl-D on an empty line, or the end of piped input: the shell ends.
    Eof,
}

/// One session's input state.
#[derive(Debug, Default)]
pub struct LineEditor {
    line: Vec<u8>,
    /// Inside an escape sequence (ESC, then CSI parameters until a final byte).
    escape: Escape,
    /// True with a pty: echo and control keys apply.
    pub tty: bool,
    /// The echo is off: a program reads a password (sudo). Keys still edit the line.
    pub hidden: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Escape {
    #[default]
    None,
    Esc,
    Csi,
}

impl LineEditor {
    /// An editor for a session with (`tty`) or without a terminal.
    pub fn new(tty: bool) -> LineEditor {
        LineEditor {
            tty,
            ..LineEditor::default()
        }
    }

    /// Feeds input; returns the bytes to echo and the keys completed.
    pub fn feed(&mut self, input: &[u8]) -> (Vec<u8>, Vec<Key>) {
        let mut echo = Vec::new();
        let mut keys = Vec::new();
        for &b in input {
            if !self.tty {
                match b {
                    b'\n' => keys.push(Key::Line(self.take())),
                    _ if self.line.len() < MAX_LINE => self.line.push(b),
                    _ => {}
                }
                continue;
            }
            match (self.escape, b) {
                (Escape::Esc, b'[' | b'O') => self.escape = Escape::Csi,
                (Escape::Esc, _) => self.escape = Escape::None,
                (Escape::Csi, 0x40..=0x7e) => self.escape = Escape::None,
                (Escape::Csi, _) => {}
                (Escape::None, 0x1b) => self.escape = Escape::Esc,
                (Escape::None, b'\r' | b'\n') => {
                    echo.extend_from_slice(b"\r\n");
                    keys.push(Key::Line(self.take()));
                }
                (Escape::None, 0x03) => {
                    echo.extend_from_slice(b"^C\r\n");
                    self.line.clear();
                    keys.push(Key::Interrupt);
                }
                (Escape::None, 0x04) => {
                    if self.line.is_empty() {
                        keys.push(Key::Eof);
                    }
                }
                (Escape::None, 0x7f | 0x08) => {
                    if self.pop_char() {
                        echo.extend_from_slice(b"\x08 \x08");
                    }
                }
                (Escape::None, 0x15) => {
                    while self.pop_char() {
                        echo.extend_from_slice(b"\x08 \x08");
                    }
                }
                (Escape::None, b'\t') => {}
                (Escape::None, 0x00..=0x1f) => {}
                (Escape::None, _) => {
                    if self.line.len() < MAX_LINE {
                        self.line.push(b);
                        echo.push(b);
                    }
                }
            }
        }
        if self.hidden {
            echo.clear();
        }
        (echo, keys)
    }

    /// What is left when the input ends: a last unterminated line, then the end.
    pub fn finish(&mut self) -> Vec<Key> {
        let mut keys = Vec::new();
        if !self.line.is_empty() {
            keys.push(Key::Line(self.take()));
        }
        keys.push(Key::Eof);
        keys
    }

    fn take(&mut self) -> String {
        let line = std::mem::take(&mut self.line);
        let s = String::from_utf8_lossy(&line);
        s.strip_suffix('\r').unwrap_or(&s).to_string()
    }

    /// Removes the last character (all bytes of a UTF-8 sequence).
    fn pop_char(&mut self) -> bool {
        let Some(mut last) = self.line.pop() else {
            return false;
        };
        while last & 0xc0 == 0x80 {
            match self.line.pop() {
                Some(b) => last = b,
                None => break,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typing_with_a_terminal() {
        let mut e = LineEditor::new(true);
        let (echo, keys) = e.feed(b"whoamx\x7fi\r");
        assert_eq!(echo, b"whoamx\x08 \x08i\r\n");
        assert_eq!(keys, vec![Key::Line("whoami".into())]);
        let (_, keys) = e.feed(b"ls\x1b[A\x1b[D -l\x03");
        assert_eq!(keys, vec![Key::Interrupt]);
        let (_, keys) = e.feed(b"\x04");
        assert_eq!(keys, vec![Key::Eof]);
        let (echo, keys) = e.feed("é\x7f".as_bytes());
        assert_eq!((echo.len(), keys.len()), (2 + 3, 0));
        // With the echo off, the keys still edit the line and nothing is shown.
        e.hidden = true;
        let (echo, keys) = e.feed(b"pw\x7fx\r");
        assert!(echo.is_empty());
        assert_eq!(keys, vec![Key::Line("px".into())]);
    }

    #[test]
    fn piped_input_and_bounds() {
        let mut e = LineEditor::new(false);
        let (echo, keys) = e.feed(b"id\nuname -a\nexi");
        assert!(echo.is_empty());
        assert_eq!(
            keys,
            vec![Key::Line("id".into()), Key::Line("uname -a".into())]
        );
        assert_eq!(e.finish(), vec![Key::Line("exi".into()), Key::Eof]);
        let mut e = LineEditor::new(true);
        let (echo, _) = e.feed(&vec![b'a'; MAX_LINE * 3]);
        assert_eq!(echo.len(), MAX_LINE);
        let (_, keys) = e.feed(b"\r");
        assert_eq!(keys, vec![Key::Line("a".repeat(MAX_LINE))]);
    }
}
