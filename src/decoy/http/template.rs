//! Operator-supplied login pages (`page:` of a generic HTTP decoy). A page is HTML with two
//! placeholders: `{{title}}` (the configured title) and `{{error}}` (the failed-login message,
//! empty on first view). Anything else in `{{ }}` is a config error at its line and column,
//! so a typo is caught by `decoyd check` rather than shown to an attacker.

pub use crate::decoy::template::TemplateError;
use crate::decoy::template::{Piece, split};

/// Largest page file accepted.
pub const MAX_PAGE_BYTES: usize = 256 * 1024;

/// A compiled page: literal HTML and placeholder slots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageTemplate {
    parts: Vec<Piece<Slot>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Title,
    Error,
}

impl PageTemplate {
    /// Compiles page text, reporting every bad placeholder.
    pub fn compile(text: &str) -> Result<PageTemplate, Vec<TemplateError>> {
        let slot = |name: &str| match name {
            "title" => Some(Slot::Title),
            "error" => Some(Slot::Error),
            _ => None,
        };
        let parts = split(text, slot, "{{title}} or {{error}}")?;
        Ok(PageTemplate { parts })
    }

    /// Renders the page; both values are HTML-escaped.
    pub fn render(&self, title: &str, error: &str) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Slot(Slot::Title) => out.push_str(&html_escape(title)),
                Piece::Slot(Slot::Error) => out.push_str(&html_escape(error)),
            }
        }
        out
    }
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
