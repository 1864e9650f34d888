//! Chapter templates: Tera, one file per language (`chapter.nl.typ`, `chapter.en.typ`), loaded
//! from a directory a consultancy can edit or from the copies built into the binary. A template
//! that does not parse or render is an error naming the template and, where Tera knows it, the
//! line.

use std::path::Path;

use serde::Serialize;

use crate::escape::{typst_str, typst_text};

/// The templates built into the binary: (name, text).
pub const BUILTIN: &[(&str, &str)] = &[
    ("chapter.nl.typ", include_str!("../templates/chapter.nl.typ")),
    ("chapter.en.typ", include_str!("../templates/chapter.en.typ")),
];

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

/// `{{ x | num(p=1, lang="nl") }}`: a number with `p` decimals, written the way the language
/// writes it (Dutch: decimal comma).
fn number(value: &tera::Value, args: &std::collections::HashMap<String, tera::Value>) -> tera::Result<tera::Value> {
    let x = value.as_f64().ok_or_else(|| tera::Error::msg(format!("num: `{value}` is not a number")))?;
    let p = args.get("p").and_then(tera::Value::as_u64).unwrap_or(1).min(6) as usize;
    let text = format!("{x:.p$}");
    let text = match args.get("lang").and_then(tera::Value::as_str) {
        Some("nl") => text.replace('.', ","),
        _ => text,
    };
    Ok(tera::Value::String(text))
}

impl Templates {
    /// The built-in templates.
    pub fn builtin() -> Result<Templates, TemplateError> {
        Templates::from_sources(BUILTIN.iter().map(|(n, t)| (n.to_string(), t.to_string())))
    }

    /// Every `*.typ` file of `dir`.
    pub fn from_dir(dir: &Path) -> Result<Templates, TemplateError> {
        let read = |e: std::io::Error| TemplateError::Read { dir: dir.display().to_string(), message: e.to_string() };
        let mut sources = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(read)? {
            let path = entry.map_err(read)?.path();
            if path.extension().is_some_and(|e| e == "typ")
                && let Some(name) = path.file_name().and_then(|n| n.to_str())
            {
                sources.push((name.to_string(), std::fs::read_to_string(&path).map_err(read)?));
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
        let sources: Vec<(String, String)> = sources.into_iter().collect();
        tera.add_raw_templates(sources.iter().map(|(n, t)| (n.as_str(), t.as_str())))
            .map_err(|e| TemplateError::Tera(chain(&e)))?;
        Ok(Templates { tera })
    }

    /// Renders template `name` with `context`.
    pub fn render(&self, name: &str, context: &impl Serialize) -> Result<String, TemplateError> {
        let ctx = tera::Context::from_serialize(context).map_err(|e| TemplateError::Tera(chain(&e)))?;
        self.tera.render(name, &ctx).map_err(|e| TemplateError::Tera(chain(&e)))
    }
}
