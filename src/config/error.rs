//! Configuration errors. Every error names the file and, for anything read from a file's
//! content, the line and column; validation collects all of them before reporting.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_saphyr::{Location, Spanned};

/// One problem in the configuration, at a place an operator can open in an editor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The file the problem is in.
    pub file: PathBuf,
    /// 1-based line and column of the offending value or key.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
    /// What is wrong and what was expected.
    pub message: String,
}

impl ConfigError {
    /// An error at a known position.
    pub fn at(file: &Path, line: u64, column: u64, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.to_path_buf(),
            line: line.max(1),
            column: column.max(1),
            message: message.into(),
        }
    }

    /// An error about a spanned value.
    pub fn spanned<T>(file: &Path, value: &Spanned<T>, message: impl Into<String>) -> Self {
        Self::located(file, value.referenced, message)
    }

    /// An error at a serde-saphyr location.
    pub fn located(file: &Path, loc: Location, message: impl Into<String>) -> Self {
        Self::at(file, loc.line(), loc.column(), message)
    }

    /// Turns a YAML parse or shape error into a positioned error. serde-saphyr appends
    /// " at line L, column C" to its messages; the position moves to the front instead.
    pub fn from_yaml(file: &Path, err: &serde_saphyr::Error) -> Self {
        let (line, column) = err
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((1, 1));
        let rendered = err.render_with_options(serde_saphyr::render_options! {
            formatter: &serde_saphyr::UserMessageFormatter,
            snippets: serde_saphyr::SnippetMode::Off,
        });
        Self::at(
            file,
            line,
            column,
            explain_yaml_message(strip_position(&rendered)),
        )
    }
}

/// Removes serde-saphyr's trailing " at line L, column C".
fn strip_position(msg: &str) -> &str {
    match msg.rfind(" at line ") {
        Some(i) if msg[i..].contains(", column ") => &msg[..i],
        _ => msg,
    }
}

/// Rewrites the terse type messages into what an operator should write instead.
fn explain_yaml_message(msg: &str) -> String {
    let expected = match msg {
        "invalid u8" | "invalid u16" | "invalid u32" | "invalid u64" | "invalid usize" => {
            Some("a whole number (0 or more)")
        }
        "invalid bool" => Some("true or false"),
        "expected string scalar" => Some("a single text value"),
        "expected mapping start" => Some("a mapping of `key: value` lines"),
        "expected sequence start" => Some("a list"),
        _ => None,
    };
    match expected {
        Some(e) => format!("wrong type: expected {e}"),
        None => msg.to_string(),
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

/// Every problem found in one validation pass, in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// Records one more problem.
    pub fn push(&mut self, e: ConfigError) {
        self.0.push(e);
    }

    /// True when nothing is wrong.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_trailing_position() {
        assert_eq!(
            strip_position("unknown field `x` at line 3, column 1"),
            "unknown field `x`"
        );
        assert_eq!(strip_position("no position here"), "no position here");
    }

    #[test]
    fn displays_file_line_column() {
        let e = ConfigError::at(Path::new("decoys/web.yaml"), 4, 3, "unknown field `skn`");
        assert_eq!(e.to_string(), "decoys/web.yaml:4:3: unknown field `skn`");
    }
}
