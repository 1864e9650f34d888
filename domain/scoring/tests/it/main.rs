//! Integration tests of the scoring engine against the shipped model.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests stop at the first surprise")]

mod edges;
mod hand;
mod problems;
mod properties;
mod v2;
mod v3;

use std::sync::Arc;

use domain_model::{Model, ModelRegistry, ScaleKind};
use domain_scoring::{Answer, AnswerValue, FirmInput};

/// Version 1: the hand-scored profile and the properties are written against it.
pub fn model() -> Arc<Model> {
    ModelRegistry::builtin().unwrap().resolve("nl-social-business", 1).unwrap()
}

/// Version 2, the default.
pub fn model_v2() -> Arc<Model> {
    ModelRegistry::builtin().unwrap().resolve("nl-social-business", 2).unwrap()
}

pub const FIRM: FirmInput<'static> = FirmInput { sbi_section: "J", size_class: "small", province: "NL-UT" };

pub fn likert(id: &str, n: u32) -> Answer<'_> {
    Answer { item_id: id, value: AnswerValue::Likert(n) }
}

pub fn yes(id: &str, b: bool) -> Answer<'_> {
    Answer { item_id: id, value: AnswerValue::Yes(b) }
}

pub fn choice<'a>(id: &'a str, c: &'a str) -> Answer<'a> {
    Answer { item_id: id, value: AnswerValue::Choice(c) }
}

pub fn dont_know(id: &str) -> Answer<'_> {
    Answer { item_id: id, value: AnswerValue::DontKnow }
}

/// An answer to `item` at a "level" from 0.0 (lowest point) to 1.0 (highest point) of its scale.
pub fn at_level<'a>(model: &'a Model, item_id: &'a str, level: f64) -> Answer<'a> {
    let (_, item) = model.item(item_id).unwrap();
    let scale = model.scale_of(item);
    let last = scale.points.len() - 1;
    let point = &scale.points[((level * last as f64).round() as usize).min(last)];
    let value = match scale.kind {
        ScaleKind::Likert => AnswerValue::Likert(point.value.parse().unwrap()),
        ScaleKind::YesNo => AnswerValue::Yes(point.value == "yes"),
        ScaleKind::Choice => AnswerValue::Choice(&point.value),
    };
    Answer { item_id, value }
}
