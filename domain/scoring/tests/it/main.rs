//! Integration tests of the scoring engine against the shipped model.

mod hand;
mod problems;
mod properties;

use std::sync::Arc;

use domain_model::{Model, ModelRegistry, ScaleKind};
use domain_scoring::{Answer, AnswerValue, FirmInput};

pub fn model() -> Arc<Model> {
    ModelRegistry::builtin().unwrap().resolve("", 0).unwrap()
}

pub const FIRM: FirmInput<'static> = FirmInput { sbi_section: "J", size_class: "small", province: "NL-UT" };

pub fn likert(id: &str, n: u32) -> Answer {
    Answer { item_id: id.to_string(), value: AnswerValue::Likert(n) }
}

pub fn yes(id: &str, b: bool) -> Answer {
    Answer { item_id: id.to_string(), value: AnswerValue::Yes(b) }
}

pub fn choice(id: &str, c: &str) -> Answer {
    Answer { item_id: id.to_string(), value: AnswerValue::Choice(c.to_string()) }
}

pub fn dont_know(id: &str) -> Answer {
    Answer { item_id: id.to_string(), value: AnswerValue::DontKnow }
}

/// An answer to `item` at a "level" from 0.0 (lowest point) to 1.0 (highest point) of its scale.
pub fn at_level(model: &Model, item_id: &str, level: f64) -> Answer {
    let (_, item) = model.item(item_id).unwrap();
    let scale = model.scale_of(item);
    let last = scale.points.len() - 1;
    let point = &scale.points[((level * last as f64).round() as usize).min(last)];
    let value = match scale.kind {
        ScaleKind::Likert => AnswerValue::Likert(point.value.parse().unwrap()),
        ScaleKind::YesNo => AnswerValue::Yes(point.value == "yes"),
        ScaleKind::Choice => AnswerValue::Choice(point.value.clone()),
    };
    Answer { item_id: item_id.to_string(), value }
}
