//! An assessment's answers and result in the store's own encoding: versioned JSON
//! (`{"v":2,...}`), owned by the store, so that the API can change without touching stored data.
//! Migration m0009 re-encodes the rows of version 1 (the API's protobuf messages) and restores
//! them on `down`.
//!
//! - `Answers`: the request as scored, pinned to the model version used (the domain's
//!   `domain_scoring::Request`, converted both ways here).
//! - `ResultSnapshot`: the result as it was answered (in Dutch), kept so that an assessment can
//!   still be shown when its model version is no longer loaded; normally a result is scored again
//!   from the answers, in the language asked for.

use serde::{Deserialize, Serialize};

use crate::StoreError;

/// The version of the encoding written now.
pub const VERSION: u8 = 2;

/// The answers of an assessment, pinned to the model version they were scored with.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answers {
    pub model_id: String,
    pub model_version: u32,
    /// The firm's codes.
    pub firm: Firm,
    /// The answers, in the order given.
    pub answers: Vec<Answer>,
}

/// A firm's coarse attributes as codes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Firm {
    /// SBI 2008 section letter.
    pub sbi_section: String,
    /// Size class code.
    pub size_class: String,
    /// ISO 3166-2:NL province code.
    pub province: String,
}

/// One answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// The item's id in the model.
    pub item: String,
    pub value: Value,
}

/// The value of an answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    /// A Likert point.
    Likert(u32),
    /// Yes or no.
    Yes(bool),
    /// A choice option.
    Choice(String),
    /// "Don't know".
    DontKnow,
    /// No value.
    Missing,
}

impl Answers {
    /// In the store's encoding.
    pub fn encode(&self) -> Vec<u8> {
        crate::versioned::encode(VERSION, self)
    }

    /// From the store's encoding.
    pub fn decode(bytes: &[u8]) -> Result<Answers, StoreError> {
        crate::versioned::decode("answers", VERSION, bytes)
    }
}

impl From<&domain_scoring::Request> for Answers {
    fn from(r: &domain_scoring::Request) -> Answers {
        use domain_scoring::Value as D;
        Answers {
            model_id: r.model_id.clone(),
            model_version: r.model_version,
            firm: Firm {
                sbi_section: r.firm.sbi_section.clone(),
                size_class: r.firm.size_class.clone(),
                province: r.firm.province.clone(),
            },
            answers: r
                .answers
                .iter()
                .map(|g| Answer {
                    item: g.item_id.clone(),
                    value: match &g.value {
                        D::Likert(n) => Value::Likert(*n),
                        D::Yes(b) => Value::Yes(*b),
                        D::Choice(c) => Value::Choice(c.clone()),
                        D::DontKnow => Value::DontKnow,
                        D::Missing => Value::Missing,
                    },
                })
                .collect(),
        }
    }
}

impl From<Answers> for domain_scoring::Request {
    fn from(a: Answers) -> domain_scoring::Request {
        use domain_scoring::Value as D;
        domain_scoring::Request {
            model_id: a.model_id,
            model_version: a.model_version,
            firm: domain_scoring::Firm {
                sbi_section: a.firm.sbi_section,
                size_class: a.firm.size_class,
                province: a.firm.province,
            },
            answers: a
                .answers
                .into_iter()
                .map(|g| domain_scoring::Given {
                    item_id: g.item,
                    value: match g.value {
                        Value::Likert(n) => D::Likert(n),
                        Value::Yes(b) => D::Yes(b),
                        Value::Choice(c) => D::Choice(c),
                        Value::DontKnow => D::DontKnow,
                        Value::Missing => D::Missing,
                    },
                })
                .collect(),
        }
    }
}

/// A result as it was answered, with its labels in its language.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ResultSnapshot {
    pub model_id: String,
    pub model_version: u32,
    /// Language tag of the labels.
    pub locale: String,
    /// The firm's codes, normalised.
    pub firm: Firm,
    /// The external axis.
    pub external: AxisSnapshot,
    /// The internal axis.
    pub internal: AxisSnapshot,
    /// Maturity index 0-100.
    pub maturity_index: f64,
    /// The four value sources.
    pub value_sources: Vec<DimensionSnapshot>,
    /// Proposition centrality.
    pub proposition: PropositionSnapshot,
    /// Fit against the proposition.
    pub fit: FitSnapshot,
    /// The first of the model's archetypes whose conditions match.
    pub archetype: ClassSnapshot,
    /// Forrester stage.
    pub forrester: ClassSnapshot,
    /// Altimeter stage.
    pub altimeter: ClassSnapshot,
    /// Business value facets.
    pub business_value: Vec<DimensionSnapshot>,
    /// Answer counts.
    pub counts: CountsSnapshot,
}

/// One axis of a result.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AxisSnapshot {
    /// `external` or `internal`.
    pub axis: String,
    /// The axis's name, in the result's locale.
    pub label: String,
    /// Index 0-100.
    pub index: f64,
    /// Highest stage attained.
    pub attained_stage: u32,
    /// The attained stage's name (stage 0's name when none is attained).
    pub attained_label: String,
    /// Stages 1 to 4.
    pub stages: Vec<StageSnapshot>,
}

/// One stage of an axis.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StageSnapshot {
    /// Stage id.
    pub id: String,
    /// Stage number.
    pub number: u32,
    /// The stage's name, in the result's locale.
    pub label: String,
    /// Capability 0-100.
    pub capability: f64,
    /// Items of the stage.
    pub items_total: u32,
    /// Of those, answered ("don't know" is no answer).
    pub items_answered: u32,
    /// Too few answers to judge.
    pub insufficient_evidence: bool,
    /// Sufficient evidence and a capability of at least the attainment threshold.
    pub attained: bool,
    /// Below the attained stage, with sufficient evidence, and not attained itself.
    pub skipped: bool,
}

/// A value source or business value facet.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DimensionSnapshot {
    /// The value source or facet id, for example `trust_building`.
    pub id: String,
    /// Its name, in the result's locale.
    pub label: String,
    /// Score 0-100, when any item was answered.
    pub score: Option<f64>,
    /// Items with evidence for it.
    pub items_total: u32,
    /// Of those, answered ("don't know" is no answer).
    pub items_answered: u32,
    /// Too few answers to judge.
    pub insufficient_evidence: bool,
}

/// Proposition centrality.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PropositionSnapshot {
    /// Centrality 0-100.
    pub centrality: f64,
    /// Social from the start.
    pub social_native: bool,
    /// Items with evidence for proposition centrality.
    pub items_total: u32,
    /// Of those, answered ("don't know" is no answer).
    pub items_answered: u32,
    /// Too few answers to judge.
    pub insufficient_evidence: bool,
}

/// Fit against the proposition.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FitSnapshot {
    /// Target index.
    pub target: f64,
    /// Maturity index minus target.
    pub gap: f64,
    /// `balanced`, `under_invested`, `over_invested`, `restrained`, or empty when unknown.
    pub verdict: String,
    /// The model's name for the verdict, in the result's locale.
    pub label: String,
    /// What the verdict means, with its advice, in the result's locale.
    pub description: String,
    /// Measured returns at least equal to the costs (absent in records written before it existed).
    #[serde(default)]
    pub returns_pay: bool,
}

/// A classification (archetype, Forrester or Altimeter stage).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassSnapshot {
    /// Stable id of the archetype or stage in the model.
    pub id: String,
    /// Its name, in the result's locale.
    pub label: String,
    /// What it means, in the result's locale.
    pub description: String,
}

/// How the questionnaire was answered.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountsSnapshot {
    /// Items in the model version used.
    pub items_in_model: u32,
    /// Items answered substantively (not "don't know").
    pub answered: u32,
    /// Answered "don't know".
    pub dont_know: u32,
    /// Not answered.
    pub unanswered: u32,
}

impl ResultSnapshot {
    /// In the store's encoding.
    pub fn encode(&self) -> Vec<u8> {
        crate::versioned::encode(VERSION, self)
    }

    /// From the store's encoding.
    pub fn decode(bytes: &[u8]) -> Result<ResultSnapshot, StoreError> {
        crate::versioned::decode("result", VERSION, bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_round_trip_through_the_encoding_and_the_domain() {
        let answers = Answers {
            model_id: "nl-social-business".into(),
            model_version: 1,
            firm: Firm { sbi_section: "J".into(), size_class: "small".into(), province: "NL-UT".into() },
            answers: vec![
                Answer { item: "a".into(), value: Value::Likert(4) },
                Answer { item: "b".into(), value: Value::Yes(false) },
                Answer { item: "c".into(), value: Value::Choice("x".into()) },
                Answer { item: "d".into(), value: Value::DontKnow },
                Answer { item: "e".into(), value: Value::Missing },
            ],
        };
        let bytes = answers.encode();
        assert!(bytes.starts_with(br#"{"v":2,"#), "{}", String::from_utf8_lossy(&bytes));
        assert_eq!(Answers::decode(&bytes).unwrap(), answers);
        let domain = domain_scoring::Request::from(answers.clone());
        assert_eq!(Answers::from(&domain), answers);
    }

    #[test]
    fn another_version_or_garbage_is_refused_not_misread() {
        assert!(matches!(Answers::decode(br#"{"v":3,"model_id":"m"}"#), Err(StoreError::Malformed(_))));
        assert!(matches!(ResultSnapshot::decode(b"\x0a\x02hi"), Err(StoreError::Malformed(_))));
        let snapshot = ResultSnapshot { maturity_index: 42.5, ..ResultSnapshot::default() };
        assert_eq!(ResultSnapshot::decode(&snapshot.encode()).unwrap(), snapshot);
    }
}
