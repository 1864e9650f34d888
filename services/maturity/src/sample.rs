//! The command-line assessment format (TOML): a firm name, its attributes and answers keyed by
//! item id. Whole numbers answer Likert items, booleans yes/no items, `"dont_know"` is "don't
//! know", any other string is a choice option id. The built-in sample is synthetic demo data.

use std::collections::BTreeMap;

use anyhow::Context;
use serde::Deserialize;
use services_api::v1 as pb;

/// The synthetic sample assessment `make run` scores.
pub const BUILTIN: &str = include_str!("../../../examples/sample-assessment.toml");

/// The same synthetic firm a year earlier, on model version 1: `make run` submits it first, so
/// that the sample's chapter shows the firm's own progress.
pub const BUILTIN_EARLIER: &str = include_str!("../../../examples/sample-assessment-v1.toml");

/// An assessment read from a file.
#[derive(Clone, Debug)]
pub struct SampleAssessment {
    /// The firm's name (never sent to scoring: scoring needs no name).
    pub firm_name: String,
    /// The year it was completed, when given (stored as 1 July of that year, UTC).
    pub year: Option<i32>,
    /// The CRM's reference to the firm, which links its assessments over the years.
    pub external_ref: String,
    /// The request to score it.
    pub request: pb::ScoreAssessmentRequest,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    firm_name: String,
    external_ref: Option<String>,
    model_version: Option<u32>,
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
        external_ref: raw.external_ref.unwrap_or_else(|| "demo-sample-firm".to_string()),
        request: pb::ScoreAssessmentRequest {
            // An empty id is the default model; no version, its latest.
            model: raw.model_version.map(|version| pb::ModelRef { id: String::new(), version }),
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
        let earlier = parse("builtin earlier", BUILTIN_EARLIER).unwrap();
        assert_eq!(earlier.external_ref, s.external_ref);
        assert!(earlier.year < s.year);
    }

    /// Both samples score under the models the server holds: the current one under the default
    /// (latest) model, the earlier one under the version it pins.
    #[test]
    fn builtin_samples_score_without_problems() {
        let registry = domain_model::ModelRegistry::builtin().unwrap();
        for (name, text, version) in [("builtin", BUILTIN, 3), ("builtin earlier", BUILTIN_EARLIER, 1)] {
            let s = parse(name, text).unwrap();
            let request = domain_scoring::Request::try_from(&s.request).unwrap_or_else(|v| panic!("{name}: {v:?}"));
            let scored = request.score(&registry).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert_eq!(scored.model.version, version, "{name}");
            assert_eq!(scored.assessment.answers.unanswered, 0, "{name}: every item answered");
        }
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
