//! A request to score, owned: what an adapter builds from a wire message (or a stored
//! assessment) before scoring. It names its model (resolved against a registry), the firm's
//! codes and the answers as received; nothing in it is checked yet.

use std::sync::Arc;

use domain_model::{Model, ModelRegistry, ResolveError};

use crate::{Answer, AnswerValue, Assessment, FirmInput, Problem};

/// A request to score.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request {
    /// The model's id; empty for the registry's default.
    pub model_id: String,
    /// The model's version; 0 for its latest.
    pub model_version: u32,
    /// The firm's attributes as received.
    pub firm: Firm,
    /// The answers as received, in order.
    pub answers: Vec<Given>,
}

/// The firm's coarse attributes as received (codes, not yet checked).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Firm {
    /// SBI 2008 section letter.
    pub sbi_section: String,
    /// `micro`, `small`, `medium` or `large`.
    pub size_class: String,
    /// ISO 3166-2:NL province code.
    pub province: String,
}

/// One answer as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Given {
    /// The item answered.
    pub item_id: String,
    /// The answer.
    pub value: Value,
}

/// The value of an answer as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A point of a Likert scale.
    Likert(u32),
    /// Yes (`true`) or no.
    Yes(bool),
    /// A choice option id.
    Choice(String),
    /// "Don't know": missing evidence, never a low answer.
    DontKnow,
    /// The answer carries no value at all.
    Missing,
}

impl Value {
    /// The value in the engine's borrowed form.
    pub fn as_answer(&self) -> AnswerValue<'_> {
        match self {
            Value::Likert(n) => AnswerValue::Likert(*n),
            Value::Yes(b) => AnswerValue::Yes(*b),
            Value::Choice(c) => AnswerValue::Choice(c),
            Value::DontKnow => AnswerValue::DontKnow,
            Value::Missing => AnswerValue::Missing,
        }
    }
}

/// A request scored: the model it was scored with and the result.
#[derive(Clone, Debug)]
pub struct Scored {
    /// The model used (the one named, or the default).
    pub model: Arc<Model>,
    /// The result.
    pub assessment: Assessment,
}

/// Why a request could not be scored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The registry has no such model or version (the answers were not checked).
    Model(ResolveError),
    /// Everything wrong with the firm and the answers.
    Problems(Vec<Problem>),
}

impl Request {
    /// The answers in the engine's borrowed form.
    pub fn answers(&self) -> Vec<Answer<'_>> {
        self.answers.iter().map(|g| Answer { item_id: &g.item_id, value: g.value.as_answer() }).collect()
    }

    /// This request with `changes` applied, for a what-if: a changed item's answer is replaced where
    /// it stood, an item not answered before is added at the end (the order of `changes`); of two
    /// changes of one item, the first applies.
    pub fn with_changes(&self, changes: &[Given]) -> Request {
        let by_item: std::collections::HashMap<&str, &Given> =
            changes.iter().rev().map(|c| (c.item_id.as_str(), c)).collect();
        let mut answers: Vec<Given> =
            self.answers.iter().map(|a| by_item.get(a.item_id.as_str()).copied().unwrap_or(a).clone()).collect();
        let answered: std::collections::HashSet<&str> = self.answers.iter().map(|a| a.item_id.as_str()).collect();
        let mut added: std::collections::HashSet<&str> = std::collections::HashSet::new();
        answers.extend(
            changes
                .iter()
                .filter(|c| !answered.contains(c.item_id.as_str()) && added.insert(c.item_id.as_str()))
                .cloned(),
        );
        Request { answers, ..self.clone() }
    }

    /// Resolves the model in `registry` and scores the request with it.
    pub fn score(&self, registry: &ModelRegistry) -> Result<Scored, Refusal> {
        let model = registry.resolve(&self.model_id, self.model_version).map_err(Refusal::Model)?;
        let firm = FirmInput {
            sbi_section: &self.firm.sbi_section,
            size_class: &self.firm.size_class,
            province: &self.firm.province,
        };
        let assessment = crate::score(&model, firm, &self.answers()).map_err(Refusal::Problems)?;
        Ok(Scored { model, assessment })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(registry: &ModelRegistry) -> Request {
        let model = registry.resolve("", 0).unwrap();
        let answers = model
            .items
            .iter()
            .map(|it| {
                let scale = model.scale_of(it);
                let point = &scale.points[scale.points.len() / 2];
                let value = match scale.kind {
                    domain_model::ScaleKind::Likert => Value::Likert(point.number.unwrap()),
                    domain_model::ScaleKind::YesNo => Value::Yes(point.value == "yes"),
                    domain_model::ScaleKind::Choice => Value::Choice(point.value.clone()),
                };
                Given { item_id: it.id.clone(), value }
            })
            .collect();
        Request {
            model_id: String::new(),
            model_version: 0,
            firm: Firm { sbi_section: "J".into(), size_class: "small".into(), province: "NL-UT".into() },
            answers,
        }
    }

    #[test]
    fn a_complete_request_scores_with_the_default_model_and_the_same_result_as_the_engine() {
        let registry = ModelRegistry::builtin().unwrap();
        let request = sample(&registry);
        let scored = request.score(&registry).unwrap();
        let direct = crate::score(
            &scored.model,
            FirmInput { sbi_section: "J", size_class: "small", province: "NL-UT" },
            &request.answers(),
        )
        .unwrap();
        assert_eq!(scored.assessment, direct);
    }

    #[test]
    fn an_unknown_model_is_refused_before_the_answers_and_bad_answers_are_all_reported() {
        let registry = ModelRegistry::builtin().unwrap();
        let mut request = sample(&registry);
        request.model_id = "nope".into();
        assert!(matches!(request.score(&registry), Err(Refusal::Model(ResolveError::UnknownModel { .. }))));
        let mut request = sample(&registry);
        request.firm.province = "NL-XX".into();
        request.answers[0].value = Value::Missing;
        match request.score(&registry) {
            Err(Refusal::Problems(p)) => assert!(p.len() >= 2, "{p:?}"),
            other => panic!("{other:?}"),
        }
    }
}
