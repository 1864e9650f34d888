//! The terms list of `docs/terms.md` as a check over what a client reads: the words the list rules
//! out per language, and in rendered text the form rules (no file paths, no capital after a colon
//! but for the listed names, ranges with an en dash).

use std::path::PathBuf;

/// A language of the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// Nederlands.
    Nl,
    /// English.
    En,
}

/// The list as read from `docs/terms.md`.
#[derive(Clone, Debug)]
pub struct Terms {
    /// Words and phrases ruled out in Dutch text, lower case.
    pub nl: Vec<String>,
    /// Words and phrases ruled out in English text, lower case.
    pub en: Vec<String>,
    /// Names that keep their capital after a colon.
    pub names: Vec<String>,
}

/// Where the list is.
pub fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/terms.md")
}

/// The list, from `docs/terms.md`; panics when it cannot be read or has no rules (a test helper).
pub fn load() -> Terms {
    let text = std::fs::read_to_string(path()).expect("docs/terms.md");
    parse(&text)
}

/// The list from the text of `docs/terms.md`: the table's last two columns (ruled out in Dutch, in
/// English, comma-separated) and the line starting "Names:".
pub fn parse(text: &str) -> Terms {
    let mut terms = Terms { nl: Vec::new(), en: Vec::new(), names: Vec::new() };
    let split = |cell: &str| -> Vec<String> {
        cell.split(',').map(|w| w.trim().to_lowercase()).filter(|w| !w.is_empty()).collect()
    };
    let mut in_table = false;
    for line in text.lines() {
        let line = line.trim();
        if let Some(names) = line.strip_prefix("Names:") {
            terms.names = names.split(',').map(|n| n.trim().trim_end_matches('.').to_string()).collect();
            continue;
        }
        if !line.starts_with('|') {
            in_table = false;
            continue;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        if cells.first() == Some(&"Concept") {
            in_table = true;
            continue;
        }
        if !in_table || cells.len() != 5 || cells[0].starts_with("---") {
            continue;
        }
        terms.nl.extend(split(cells[3]));
        terms.en.extend(split(cells[4]));
    }
    assert!(!terms.nl.is_empty() && !terms.en.is_empty(), "docs/terms.md has no rules");
    terms
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

impl Terms {
    /// The words and phrases of `text` the list rules out in `lang`, each with a little context.
    pub fn ruled_out(&self, text: &str, lang: Lang) -> Vec<String> {
        let tokens = words(text);
        let list = match lang {
            Lang::Nl => &self.nl,
            Lang::En => &self.en,
        };
        let mut out = Vec::new();
        for term in list {
            let phrase = words(term);
            if phrase.is_empty() {
                continue;
            }
            for (i, window) in tokens.windows(phrase.len()).enumerate() {
                if window == phrase.as_slice() {
                    let context = tokens[i.saturating_sub(4)..(i + phrase.len() + 4).min(tokens.len())].join(" ");
                    out.push(format!("`{term}` in \"{context}\""));
                }
            }
        }
        out
    }

    /// Everything in rendered `text` that breaks the list: ruled-out words, file paths, a capital
    /// after a colon (but for the listed names, abbreviations and `allowed`), ranges with a hyphen.
    pub fn check_rendered(&self, text: &str, lang: Lang, allowed: &[&str]) -> Vec<String> {
        let mut out = self.ruled_out(text, lang);
        for token in text.split_whitespace() {
            let bare = token.trim_matches(|c: char| !c.is_alphanumeric());
            let path_like = bare.contains('/')
                && [".md", ".rs", ".toml", ".typ", ".csv", ".json"].iter().any(|e| bare.ends_with(e));
            if path_like || bare.starts_with("docs/") {
                out.push(format!("file path `{bare}`"));
            }
        }
        let chars: Vec<char> = text.chars().collect();
        for (i, c) in chars.iter().enumerate() {
            match c {
                ':' if chars.get(i + 1) == Some(&' ') && chars.get(i + 2).is_some_and(|c| c.is_uppercase()) => {
                    let word: String = chars[i + 2..].iter().take_while(|c| c.is_alphanumeric()).collect();
                    let abbreviation = word.chars().count() > 1 && word.chars().all(|c| !c.is_lowercase());
                    let listed = self.names.contains(&word);
                    let named = allowed.iter().any(|a| chars[i + 2..].iter().collect::<String>().starts_with(a));
                    if !(abbreviation || listed || named) {
                        let context: String = chars[i.saturating_sub(30)..(i + 30).min(chars.len())].iter().collect();
                        out.push(format!("capital after a colon: \"{context}\""));
                    }
                }
                '-' if after_number(&chars[..i]) && chars.get(i + 1).is_some_and(char::is_ascii_digit) => {
                    let context: String = chars[i.saturating_sub(20)..(i + 20).min(chars.len())].iter().collect();
                    out.push(format!("range with a hyphen: \"{context}\""));
                }
                _ => {}
            }
        }
        out
    }
}

/// Whether `before` ends in a number, perhaps with an ordinal or a percent sign (`10`, `10e`,
/// `10th`, `10%`).
fn after_number(before: &[char]) -> bool {
    let suffix = before.iter().rev().take_while(|c| c.is_alphabetic() || **c == '%').count();
    suffix <= 2 && before.len() > suffix && before[before.len() - 1 - suffix].is_ascii_digit()
}

/// What a template shows a reader: its text outside Tera tags, and the string literals inside
/// them (labels passed to macros), without comments (Tera's, and Typst's whole-line `//` ones,
/// which speak to the template's reader in English).
pub fn template_prose(template: &str) -> String {
    let uncommented: String =
        template.lines().filter(|l| !l.trim_start().starts_with("//")).map(|l| format!("{l}\n")).collect();
    let mut out = String::new();
    let mut rest = uncommented.as_str();
    while let Some(start) = rest.find('{') {
        let (before, tail) = rest.split_at(start);
        out.push_str(before);
        let close = match tail.get(..2) {
            Some("{{") => "}}",
            Some("{%") => "%}",
            Some("{#") => "#}",
            _ => {
                out.push('{');
                rest = &tail[1..];
                continue;
            }
        };
        let Some(end) = tail.find(close) else { break };
        if close != "#}" {
            // String literals inside the tag.
            for (i, part) in tail[..end].split('"').enumerate() {
                if i % 2 == 1 {
                    out.push(' ');
                    out.push_str(part);
                    out.push(' ');
                }
            }
        }
        rest = &tail[end + close.len()..];
    }
    out.push_str(rest);
    out
}

/// The Dutch and the English strings of a model file (`nl = "…"`, `en = "…"`).
pub fn model_texts(toml: &str) -> (Vec<String>, Vec<String>) {
    let mut nl = Vec::new();
    let mut en = Vec::new();
    for (key, list) in [("nl = \"", &mut nl), ("en = \"", &mut en)] {
        let mut rest = toml;
        while let Some(at) = rest.find(key) {
            let tail = &rest[at + key.len()..];
            let end = tail.find('"').unwrap_or(tail.len());
            list.push(tail[..end].to_string());
            rest = &tail[end..];
        }
    }
    (nl, en)
}
