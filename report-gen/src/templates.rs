//! Chapter templates: Tera, one file per language (`chapter.nl.typ`, `chapter.en.typ`), loaded
//! from a directory a consultancy can edit or from the copies built into the binary. A template
//! that does not parse or render is an error naming the template and, where Tera knows it, the
//! line.

use std::path::Path;

use serde::Serialize;

use crate::chapter::{Book, Chapter};
use crate::escape::{typst_str, typst_text};

#[derive(Serialize)]
struct ChapterContext<'a> {
    c: &'a Chapter,
}

#[derive(Serialize)]
struct VolumeContext<'a> {
    v: &'a crate::volume::Volume,
}

#[derive(Serialize)]
struct BookContext<'a> {
    book: &'a Book,
}

/// The templates built into the binary: (name, text).
pub const BUILTIN: &[(&str, &str)] = &[
    ("figures.typ", include_str!("../templates/figures.typ")),
    ("research.typ", include_str!("../templates/research.typ")),
    ("body.nl.typ", include_str!("../templates/body.nl.typ")),
    ("body.en.typ", include_str!("../templates/body.en.typ")),
    ("chapter.nl.typ", include_str!("../templates/chapter.nl.typ")),
    ("chapter.en.typ", include_str!("../templates/chapter.en.typ")),
    ("book.nl.typ", include_str!("../templates/book.nl.typ")),
    ("book.en.typ", include_str!("../templates/book.en.typ")),
    ("volume.macros.typ", include_str!("../templates/volume.macros.typ")),
    ("volume.nl.typ", include_str!("../templates/volume.nl.typ")),
    ("volume.en.typ", include_str!("../templates/volume.en.typ")),
];

/// The languages every template set has: `chapter.LANG.typ` and `book.LANG.typ`.
pub const LANGUAGES: [&str; 2] = ["nl", "en"];

/// A template that could not be loaded or rendered.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// Reading the template directory failed.
    #[error("cannot read the templates in {dir}: {message}")]
    Read {
        /// The directory.
        dir: String,
        /// What went wrong.
        message: String,
    },
    /// Tera refused a template; the message names the template and where it went wrong.
    #[error("template error: {0}")]
    Tera(String),
}

fn chain(e: &tera::Error) -> String {
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// A set of templates with the escaping filters registered.
#[derive(Debug)]
pub struct Templates {
    tera: tera::Tera,
}

fn filter(f: fn(&str) -> String) -> impl tera::Filter {
    move |value: &tera::Value, _: &std::collections::HashMap<String, tera::Value>| {
        let text = match value {
            tera::Value::String(s) => s.clone(),
            tera::Value::Null => String::new(),
            other => other.to_string(),
        };
        Ok(tera::Value::String(f(&text)))
    }
}

/// `x` with `p` decimals, halves rounded away from zero (22,5 to 23, as a reader expects; the
/// formatter alone would round to even), in the language's notation.
fn decimal(x: f64, p: usize, lang: Option<&str>) -> String {
    let scale = 10f64.powi(i32::try_from(p).unwrap_or(6));
    let rounded = (x * scale).round() / scale;
    let text = format!("{rounded:.p$}");
    match lang {
        Some("nl") => text.replace('.', ","),
        _ => text,
    }
}

/// `{{ share | pct(p=0, lang="nl") }}`: a share 0-1 as a percentage: `25%`.
fn percent(value: &tera::Value, args: &std::collections::HashMap<String, tera::Value>) -> tera::Result<tera::Value> {
    let x = value.as_f64().ok_or_else(|| tera::Error::msg(format!("pct: `{value}` is not a number")))?;
    let p = args.get("p").and_then(tera::Value::as_u64).unwrap_or(0).min(6) as usize;
    Ok(tera::Value::String(format!("{}%", decimal(100.0 * x, p, args.get("lang").and_then(tera::Value::as_str)))))
}

/// `{{ n | int(lang="nl") }}`: a whole number with thousands grouped the language's way
/// (`20.000`, `20,000`).
fn integer(value: &tera::Value, args: &std::collections::HashMap<String, tera::Value>) -> tera::Result<tera::Value> {
    let x = value.as_i64().ok_or_else(|| tera::Error::msg(format!("int: `{value}` is not a whole number")))?;
    let sep = if args.get("lang").and_then(tera::Value::as_str) == Some("nl") { '.' } else { ',' };
    let digits = x.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(sep);
        }
        out.push(ch);
    }
    if x < 0 {
        out.insert(0, '-');
    }
    Ok(tera::Value::String(out))
}

/// `{{ x | num(p=1, lang="nl") }}`: a number with `p` decimals, written the way the language
/// writes it (Dutch: decimal comma).
fn number(value: &tera::Value, args: &std::collections::HashMap<String, tera::Value>) -> tera::Result<tera::Value> {
    let x = value.as_f64().ok_or_else(|| tera::Error::msg(format!("num: `{value}` is not a number")))?;
    let p = args.get("p").and_then(tera::Value::as_u64).unwrap_or(1).min(6) as usize;
    Ok(tera::Value::String(decimal(x, p, args.get("lang").and_then(tera::Value::as_str))))
}

/// `{{ text | lower_first }}`: the first letter in lower case, the rest as it is, for a sentence
/// from the model that follows a colon ("Reageren: webcare met ...").
fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `{{ x | ordinal(lang="en") }}`: a number rounded to a whole one, as an ordinal: `69e` in Dutch;
/// `1st`, `2nd`, `3rd`, `11th`, `21st` in English.
fn ordinal(value: &tera::Value, args: &std::collections::HashMap<String, tera::Value>) -> tera::Result<tera::Value> {
    let x = value.as_f64().ok_or_else(|| tera::Error::msg(format!("ordinal: `{value}` is not a number")))?;
    let n = x.round() as i64;
    let suffix = match (args.get("lang").and_then(tera::Value::as_str), n.rem_euclid(100), n.rem_euclid(10)) {
        (Some("nl"), _, _) => "e",
        (_, 11..=13, _) => "th",
        (_, _, 1) => "st",
        (_, _, 2) => "nd",
        (_, _, 3) => "rd",
        _ => "th",
    };
    Ok(tera::Value::String(format!("{n}{suffix}")))
}

impl Templates {
    /// The built-in templates.
    pub fn builtin() -> Result<Templates, TemplateError> {
        Templates::from_sources(BUILTIN.iter().map(|(n, t)| (n.to_string(), t.to_string())))
    }

    /// The built-in templates, with every `*.typ` file of `dir` in place of the built-in one of
    /// the same name (so that a consultancy may change only the files it needs to).
    pub fn from_dir(dir: &Path) -> Result<Templates, TemplateError> {
        let read = |e: std::io::Error| TemplateError::Read { dir: dir.display().to_string(), message: e.to_string() };
        let mut sources: Vec<(String, String)> = BUILTIN.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect();
        for entry in std::fs::read_dir(dir).map_err(read)? {
            let path = entry.map_err(read)?.path();
            if path.extension().is_some_and(|e| e == "typ")
                && let Some(name) = path.file_name().and_then(|n| n.to_str())
            {
                let text = std::fs::read_to_string(&path).map_err(read)?;
                sources.retain(|(n, _)| n != name);
                sources.push((name.to_string(), text));
            }
        }
        Templates::from_sources(sources)
    }

    /// Templates from (name, text) pairs.
    pub fn from_sources(sources: impl IntoIterator<Item = (String, String)>) -> Result<Templates, TemplateError> {
        let mut tera = tera::Tera::default();
        // Typst output: no HTML escaping; user text goes through the Typst filters instead.
        tera.autoescape_on(Vec::new());
        tera.register_filter("typst_text", filter(typst_text));
        tera.register_filter("typst_str", filter(typst_str));
        tera.register_filter("num", number);
        tera.register_filter("pct", percent);
        tera.register_filter("int", integer);
        tera.register_filter("ordinal", ordinal);
        tera.register_filter("lower_first", filter(lower_first));
        let sources: Vec<(String, String)> = sources.into_iter().collect();
        tera.add_raw_templates(sources.iter().map(|(n, t)| (n.as_str(), t.as_str())))
            .map_err(|e| TemplateError::Tera(chain(&e)))?;
        Ok(Templates { tera })
    }

    /// The Typst source of one chapter in `lang`.
    pub fn chapter(&self, chapter: &Chapter, lang: &str) -> Result<String, TemplateError> {
        self.render(&format!("chapter.{lang}.typ"), &ChapterContext { c: chapter })
    }

    /// The Typst source of a volume of chapters in `lang`.
    pub fn book(&self, book: &Book, lang: &str) -> Result<String, TemplateError> {
        self.render(&format!("book.{lang}.typ"), &BookContext { book })
    }

    /// The Typst source of a sector volume in `lang`.
    pub fn volume(&self, volume: &crate::volume::Volume, lang: &str) -> Result<String, TemplateError> {
        self.render(&format!("volume.{lang}.typ"), &VolumeContext { v: volume })
    }

    /// Renders template `name` with `context`.
    pub fn render(&self, name: &str, context: &impl Serialize) -> Result<String, TemplateError> {
        let ctx = tera::Context::from_serialize(context).map_err(|e| TemplateError::Tera(chain(&e)))?;
        self.tera.render(name, &ctx).map_err(|e| TemplateError::Tera(chain(&e)))
    }
}

#[cfg(test)]
mod tests {
    use super::{lower_first, ordinal};

    fn ord(x: f64, lang: &str) -> String {
        let args = [("lang".to_string(), tera::Value::from(lang))].into_iter().collect();
        ordinal(&tera::Value::from(x), &args).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
    }

    #[test]
    fn ordinals_are_spelled_the_languages_way() {
        let en: Vec<String> = [1.0, 2.0, 3.0, 4.0, 11.0, 12.4, 13.0, 21.0, 22.0, 68.6, 100.0, 101.0, 111.0]
            .iter()
            .map(|x| ord(*x, "en"))
            .collect();
        assert_eq!(
            en,
            ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "69th", "100th", "101st", "111th"]
        );
        assert_eq!(ord(1.0, "nl"), "1e");
        assert_eq!(ord(68.6, "nl"), "69e");
    }

    #[test]
    fn lower_first_lowers_only_the_first_letter() {
        assert_eq!(lower_first("Webcare met SLA"), "webcare met SLA");
        assert_eq!(lower_first("Élan"), "élan");
        assert_eq!(lower_first(""), "");
    }
}
