//! Operator-supplied login pages (`page:` of a generic HTTP decoy). A page is HTML with two
//! placeholders: `{{title}}` (the configured title) and `{{error}}` (the failed-login message,
//! empty on first view). Anything else in `{{ }}` is a config error at its line and column,
//! so a typo is caught by `decoyd check` rather than shown to an attacker.

/// Largest page file accepted.
pub const MAX_PAGE_BYTES: usize = 256 * 1024;

/// A compiled page: literal HTML and placeholder slots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageTemplate {
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    Title,
    Error,
}

/// A problem in a page file, with its 1-based position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateError {
    /// Line of the problem.
    pub line: u64,
    /// Column of the problem.
    pub column: u64,
    /// What is wrong.
    pub message: String,
}

impl PageTemplate {
    /// Compiles page text, reporting every bad placeholder.
    pub fn compile(text: &str) -> Result<PageTemplate, Vec<TemplateError>> {
        let mut parts = Vec::new();
        let mut errors = Vec::new();
        let mut rest = text;
        let mut offset = 0;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_string()));
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
            match after[..close].trim() {
                "title" => parts.push(Part::Title),
                "error" => parts.push(Part::Error),
                other => {
                    let (line, column) = position(text, offset + open);
                    errors.push(TemplateError {
                        line,
                        column,
                        message: format!(
                            "unknown placeholder {{{{{other}}}}}, expected {{{{title}}}} or {{{{error}}}}"
                        ),
                    });
                }
            }
            let consumed = open + 2 + close + 2;
            offset += consumed;
            rest = &rest[consumed..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        if errors.is_empty() {
            Ok(PageTemplate { parts })
        } else {
            Err(errors)
        }
    }

    /// Renders the page; both values are HTML-escaped.
    pub fn render(&self, title: &str, error: &str) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Title => out.push_str(&html_escape(title)),
                Part::Error => out.push_str(&html_escape(error)),
            }
        }
        out
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

/// Escapes text for HTML element content and attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_placeholders_escaped() {
        let t = PageTemplate::compile("<h1>{{ title }}</h1><p>{{error}}</p>").unwrap();
        assert_eq!(
            t.render("A&B", "<bad>"),
            "<h1>A&amp;B</h1><p>&lt;bad&gt;</p>"
        );
    }

    #[test]
    fn reports_every_bad_placeholder_with_position() {
        let errs =
            PageTemplate::compile("<html>\n  {{titel}}\n{{error}} {{ user }}\n").unwrap_err();
        assert_eq!(errs.len(), 2);
        assert_eq!((errs[0].line, errs[0].column), (2, 3));
        assert!(errs[0].message.contains("{{titel}}"));
        assert_eq!((errs[1].line, errs[1].column), (3, 11));
    }

    #[test]
    fn reports_unclosed_placeholder() {
        let errs = PageTemplate::compile("ok {{title}}\nbroken {{error").unwrap_err();
        assert_eq!((errs[0].line, errs[0].column), (2, 8));
        assert!(errs[0].message.contains("never closed"));
    }
}
