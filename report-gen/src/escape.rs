//! Making user text safe for Typst. Text is never spliced into markup: it becomes a string
//! literal, which Typst shows as plain text whatever it contains (`#`, `*`, `$`, `[`, `{`,
//! backslashes, quotes, Tera or HTML syntax, any script).

/// A Typst string literal holding `s`, for code contexts: `"..."` with `\` and `"` escaped and
/// control characters written as `\u{..}`.
pub fn typst_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `s` as text in markup: `#"...";` (the semicolon ends the embedded expression, so that what
/// follows in the template, even a `.` or `(`, can never continue it).
pub fn typst_text(s: &str) -> String {
    format!("#{};", typst_str(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals() {
        assert_eq!(typst_str("plain"), "\"plain\"");
        assert_eq!(typst_str("a \"b\" \\c"), "\"a \\\"b\\\" \\\\c\"");
        assert_eq!(typst_str("x\ny\u{7}"), "\"x\\ny\\u{7}\"");
        assert_eq!(typst_text("#set page(width: 1pt)"), "#\"#set page(width: 1pt)\";");
    }
}
