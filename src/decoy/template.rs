//! `{{name}}` placeholders in operator-supplied text (login pages, lure templates). A template
//! is split once, when the config is loaded, into literal text and typed slots; a name the
//! caller does not know is an error at its line and column, so a typo is caught by
//! `decoyd check` rather than shown to an attacker.

/// A piece of a split template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece<V> {
    /// Literal text.
    Text(String),
    /// A placeholder, resolved to the caller's type.
    Slot(V),
}

/// A problem in a template, with its 1-based position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateError {
    /// Line of the problem.
    pub line: u64,
    /// Column of the problem.
    pub column: u64,
    /// What is wrong.
    pub message: String,
}

/// Splits `text` at its placeholders, resolving each name with `slot`; `expected` lists the
/// known names for the error message. Every bad placeholder is reported.
pub fn split<V>(
    text: &str,
    slot: impl Fn(&str) -> Option<V>,
    expected: &str,
) -> Result<Vec<Piece<V>>, Vec<TemplateError>> {
    let mut pieces = Vec::new();
    let mut errors = Vec::new();
    let mut rest = text;
    let mut offset = 0;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            pieces.push(Piece::Text(rest[..open].to_string()));
        }
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            let (line, column) = position(text, offset + open);
            errors.push(TemplateError {
                line,
                column,
                message: "`{{` is never closed with `}}`".into(),
            });
            rest = "";
            break;
        };
        let name = after[..close].trim();
        match slot(name) {
            Some(v) => pieces.push(Piece::Slot(v)),
            None => {
                let (line, column) = position(text, offset + open);
                errors.push(TemplateError {
                    line,
                    column,
                    message: format!("unknown placeholder {{{{{name}}}}}, expected {expected}"),
                });
            }
        }
        let consumed = open + 2 + close + 2;
        offset += consumed;
        rest = &rest[consumed..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_string()));
    }
    if errors.is_empty() {
        Ok(pieces)
    } else {
        Err(errors)
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn position(text: &str, byte: usize) -> (u64, u64) {
    let before = &text[..byte];
    let line = before.matches('\n').count() as u64 + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = before[line_start..].chars().count() as u64 + 1;
    (line, column)
}
