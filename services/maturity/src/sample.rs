//! The command-line assessment format (TOML): a firm name, its attributes and answers keyed by
//! item id. Whole numbers answer Likert items, booleans yes/no items, `"dont_know"` is "don't
//! know", any other string is a choice option id. The built-in sample is synthetic demo data.

use std::collections::BTreeMap;

use anyhow::Context;
use serde::Deserialize;
use services_api::v1 as pb;

/// The synthetic sample assessment `make run` scores.
pub const BUILTIN: &str = include_str!("../../../examples/sample-assessment.toml");

/// An assessment read from a file.
#[derive(Clone, Debug)]
pub struct SampleAssessment {
    /// The firm's name (never sent to scoring: scoring needs no name).
    pub firm_name: String,
    /// The year it was completed, when given (stored as 1 July of that year, UTC).
    pub year: Option<i32>,
    /// The request to score it.
    pub request: pb::ScoreAssessmentRequest,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    firm_name: String,
    year: Option<i32>,
    firm: RawFirm,
    answers: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFirm {
    sbi_section: String,
    size_class: String,
    province: String,
}

/// Parses the format; `name` labels errors.
pub fn parse(name: &str, text: &str) -> anyhow::Result<SampleAssessment> {
    let raw: Raw = toml::from_str(text).with_context(|| format!("while reading the assessment {name}"))?;
    let mut answers = Vec::with_capacity(raw.answers.len());
    for (item_id, value) in raw.answers {
        use pb::answer::Value;
        let value = match value {
            toml::Value::Integer(n) => Value::Likert(
                u32::try_from(n).with_context(|| format!("{name}: answer to `{item_id}` must not be negative"))?,
            ),
            toml::Value::Boolean(b) => Value::Yes(b),
            toml::Value::String(s) if s == "dont_know" => Value::DontKnow(true),
            toml::Value::String(s) => Value::Choice(s),
            other => anyhow::bail!("{name}: answer to `{item_id}` has an unsupported type ({})", other.type_str()),
        };
        answers.push(pb::Answer { item_id, value: Some(value) });
    }
    if let Some(y) = raw.year
        && !(2000..=2100).contains(&y)
    {
        anyhow::bail!("{name}: year {y} is outside 2000-2100");
    }
    Ok(SampleAssessment {
        firm_name: raw.firm_name,
        year: raw.year,
        request: pb::ScoreAssessmentRequest {
            model: None,
            firm: Some(pb::FirmAttributes {
                sbi_section: raw.firm.sbi_section,
                size_class: raw.firm.size_class,
                province: raw.firm.province,
            }),
            answers,
            locale: String::new(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_sample_parses_and_says_it_is_synthetic() {
        let s = parse("builtin", BUILTIN).unwrap();
        assert!(s.firm_name.contains("synthetisch"));
        assert!(BUILTIN.starts_with("# SYNTHETIC DEMO DATA"));
        assert!(s.request.answers.len() >= 40);
    }

    #[test]
    fn unsupported_values_are_clear_errors() {
        let text = "firm_name = \"x\"\n[firm]\nsbi_section = \"A\"\nsize_class = \"micro\"\nprovince = \"NL-DR\"\n[answers]\n\"e1.owner\" = 1.5\n";
        let err = parse("t.toml", text).unwrap_err();
        assert!(format!("{err:#}").contains("answer to `e1.owner` has an unsupported type"), "{err:#}");
    }
}

/// Seconds since the epoch of 1 July of `year`, 00:00 UTC.
pub fn mid_year_seconds(year: i32) -> i64 {
    // Days from 1970-01-01 to `year`-07-01 (days-from-civil, Howard Hinnant).
    let (y, m, d) = (i64::from(year), 7i64, 1i64);
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468) * 86_400
}

#[cfg(test)]
mod date_tests {
    #[test]
    fn mid_year() {
        // 2025-07-01T00:00:00Z.
        assert_eq!(super::mid_year_seconds(2025), 1_751_328_000);
        assert_eq!(super::mid_year_seconds(1970), 181 * 86_400);
    }
}
