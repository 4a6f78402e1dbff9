//! Inline text of the model: plain text with Markdown code spans (`` `x` ``) around evidence
//! strings (see [`super::patterns::code`]). Both renderers split it the same way, so a class
//! name such as `<img src=x onerror=...>` is always shown as code, never interpreted.

/// A piece of inline text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Span<'a> {
    Text(&'a str),
    Code(&'a str),
}

/// Splits `s` into text and code spans (CommonMark rules: a run of N backticks opens a span
/// closed by the next run of exactly N; an unclosed run is literal text).
pub fn spans(s: &str) -> Vec<Span<'_>> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut text_start = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'`' {
            i += 1;
            continue;
        }
        let open_start = i;
        while i < b.len() && b[i] == b'`' {
            i += 1;
        }
        let n = i - open_start;
        // find a closing run of exactly n
        let mut j = i;
        let mut close = None;
        while j < b.len() {
            if b[j] == b'`' {
                let run_start = j;
                while j < b.len() && b[j] == b'`' {
                    j += 1;
                }
                if j - run_start == n {
                    close = Some((run_start, j));
                    break;
                }
            } else {
                j += 1;
            }
        }
        if let Some((cs, ce)) = close {
            if open_start > text_start {
                out.push(Span::Text(&s[text_start..open_start]));
            }
            let mut inner = &s[i..cs];
            if inner.len() >= 2 && inner.starts_with(' ') && inner.ends_with(' ') {
                inner = &inner[1..inner.len() - 1];
            }
            out.push(Span::Code(inner));
            text_start = ce;
            i = ce;
        }
    }
    if text_start < s.len() {
        out.push(Span::Text(&s[text_start..]));
    }
    out
}

/// The text without span markers (for code blocks, where Markdown is not interpreted).
pub fn plain(s: &str) -> String {
    spans(s)
        .into_iter()
        .map(|sp| match sp {
            Span::Text(t) | Span::Code(t) => t,
        })
        .collect()
}

/// HTML-escapes text for element content and attribute values.
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

/// Inline text as HTML: code spans become `<code>`, everything escaped.
pub fn inline_html(s: &str) -> String {
    let mut out = String::new();
    for sp in spans(s) {
        match sp {
            Span::Text(t) => out.push_str(&html_escape(t)),
            Span::Code(c) => {
                out.push_str("<code>");
                out.push_str(&html_escape(c));
                out.push_str("</code>");
            }
        }
    }
    out
}

/// Inline text as Markdown: code spans kept, and outside them the characters that could
/// start HTML, an entity or a link are backslash-escaped. With `table`, `|` is escaped too.
pub fn inline_md(s: &str, table: bool) -> String {
    let mut out = String::new();
    for sp in spans(s) {
        match sp {
            Span::Text(t) => {
                for c in t.chars() {
                    match c {
                        '<' | '>' | '&' | '[' | ']' | '*' | '_' | '\\' => {
                            out.push('\\');
                            out.push(c);
                        }
                        '|' if table => out.push_str("\\|"),
                        '\n' | '\r' => out.push(' '),
                        c => out.push(c),
                    }
                }
            }
            Span::Code(c) => {
                let c = if table {
                    c.replace('|', "\\|")
                } else {
                    c.to_string()
                };
                out.push_str(&super::patterns::code(&c));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_split_like_commonmark() {
        assert_eq!(
            spans("a `b` c"),
            vec![Span::Text("a "), Span::Code("b"), Span::Text(" c")]
        );
        assert_eq!(spans("``x`y``"), vec![Span::Code("x`y")]);
        assert_eq!(spans("a `b"), vec![Span::Text("a `b")]);
        assert_eq!(spans("`` `x ``"), vec![Span::Code("`x")]);
    }

    #[test]
    fn hostile_text_is_inert() {
        let s = "<img src=x onerror=alert(1)> `<script>`";
        let h = inline_html(s);
        assert!(!h.contains('<') || !h.contains("<img") && !h.contains("<script"));
        assert!(h.contains("&lt;img"));
        assert!(h.contains("<code>&lt;script&gt;</code>"));
        let m = inline_md(s, false);
        assert!(m.starts_with("\\<img"));
    }
}
