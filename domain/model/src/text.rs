//! Bilingual text. Everything a user sees exists in Dutch and English; Dutch is the default.

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

/// A locale the product speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Locale {
    /// Dutch, the default for reports and messages.
    #[default]
    Nl,
    /// English.
    En,
}

impl Locale {
    /// Both locales, Dutch first.
    pub const ALL: [Locale; 2] = [Locale::Nl, Locale::En];

    /// The BCP 47 tag: `nl` or `en`.
    pub fn tag(self) -> &'static str {
        match self {
            Locale::Nl => "nl",
            Locale::En => "en",
        }
    }

    /// Parses a request's locale. The empty string means the default (Dutch). Regional variants
    /// (`nl-NL`, `nl-BE`, `en-GB`) fall back to their language; anything else is `None`.
    pub fn parse_request(s: &str) -> Option<Locale> {
        let s = s.trim();
        if s.is_empty() {
            return Some(Locale::default());
        }
        let lang = s.split(['-', '_']).next().unwrap_or(s);
        if lang.eq_ignore_ascii_case("nl") {
            Some(Locale::Nl)
        } else if lang.eq_ignore_ascii_case("en") {
            Some(Locale::En)
        } else {
            None
        }
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

impl FromStr for Locale {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Locale::parse_request(s).ok_or_else(|| format!("unknown locale `{s}` (expected `nl` or `en`)"))
    }
}

/// A text in both locales.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    /// Dutch.
    pub nl: String,
    /// English.
    pub en: String,
}

impl Text {
    /// A text from its Dutch and English forms.
    pub fn new(nl: impl Into<String>, en: impl Into<String>) -> Self {
        Text { nl: nl.into(), en: en.into() }
    }

    /// The text in `locale`.
    pub fn get(&self, locale: Locale) -> &str {
        match locale {
            Locale::Nl => &self.nl,
            Locale::En => &self.en,
        }
    }

    /// Whether either form is blank, which a model file may not have.
    pub fn has_blank(&self) -> bool {
        self.nl.trim().is_empty() || self.en.trim().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_locales() {
        assert_eq!(Locale::parse_request(""), Some(Locale::Nl));
        assert_eq!(Locale::parse_request("EN"), Some(Locale::En));
        assert_eq!(Locale::parse_request("nl-BE"), Some(Locale::Nl));
        assert_eq!(Locale::parse_request("en_GB"), Some(Locale::En));
        assert_eq!(Locale::parse_request("de"), None);
        assert_eq!(Locale::parse_request("english"), None);
    }
}
