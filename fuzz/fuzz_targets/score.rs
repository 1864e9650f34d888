//! Answer validation and scoring. The input is read three ways (its first byte chooses): as the
//! wire bytes of a `ScoreAssessmentRequest` (0); as every item of the default model answered on
//! its own scale, for a valid firm (1), so that most of those runs score; and as a recipe that
//! builds a request from the model's own items (any other), so that most runs get past decoding
//! into validation: real item ids with every kind of value, in range and out, unknown ids,
//! duplicates, odd firm attributes. Scoring either succeeds with finite figures in range or
//! refuses with field violations; it never panics. A success is checked against a second, plain
//! reading of the model's weights (`plain_indices`): each answer's score looked up on its scale,
//! each stage's capability the weighted mean over the items that are evidence for it, the axes
//! and the maturity index their weighted sums; the engine's figures must equal it.

#![no_main]

use std::sync::{Arc, LazyLock};

use domain_model::model::{Axis, Model, ScaleKind, Target};
use domain_model::registry::ModelRegistry;
use libfuzzer_sys::fuzz_target;
use prost::Message;
use services_api::v1 as pb;
use services_scoring::Scoring;

static SCORING: LazyLock<Scoring> = LazyLock::new(|| {
    let registry = ModelRegistry::builtin().unwrap_or_else(|e| panic!("the built-in model does not load: {e}"));
    Scoring::new(Arc::new(registry))
});

const SECTIONS: &[&str] = &["A", "C", "J", "U", "Z", "", "c", "CC", "é"];
const SIZES: &[&str] = &["micro", "small", "medium", "large", "", "MICRO", "huge"];
const PROVINCES: &[&str] = &["NL-UT", "NL-ZH", "NL-XX", "", "nl-ut", "BE-VAN"];
const CHOICES: &[&str] = &["", "yes", "no", "owner", "a", "\u{0}", "x"];

fn pick<'a>(list: &[&'a str], b: u8) -> &'a str {
    list[usize::from(b) % list.len()]
}

fn recipe(data: &[u8]) -> pb::ScoreAssessmentRequest {
    let model = SCORING.registry().all().next().map(Arc::clone);
    let items: Vec<String> = model.map(|m| m.items.iter().map(|i| i.id.clone()).collect()).unwrap_or_default();
    let byte = |i: usize| data.get(i).copied().unwrap_or(0);
    let mut answers = Vec::new();
    for pair in data.get(4..).unwrap_or_default().chunks(2) {
        let (which, how) = (pair[0], pair.get(1).copied().unwrap_or(0));
        let item_id = match items.get(usize::from(which)) {
            Some(id) => id.clone(),
            None => format!("unknown.{which}"),
        };
        let value = match how % 5 {
            0 => Some(pb::answer::Value::Likert(u32::from(how / 5))),
            1 => Some(pb::answer::Value::Yes(how & 8 != 0)),
            2 => Some(pb::answer::Value::Choice(pick(CHOICES, how / 5).to_string())),
            3 => Some(pb::answer::Value::DontKnow(how & 8 != 0)),
            _ => None,
        };
        answers.push(pb::Answer { item_id, value });
    }
    pb::ScoreAssessmentRequest {
        model: (byte(1) & 1 == 1)
            .then(|| pb::ModelRef { id: "nl-social-business".into(), version: u32::from(byte(1) >> 1) }),
        firm: Some(pb::FirmAttributes {
            sbi_section: pick(SECTIONS, byte(1)).into(),
            size_class: pick(SIZES, byte(2)).into(),
            province: pick(PROVINCES, byte(3)).into(),
        }),
        answers,
        locale: if byte(2) & 0x80 == 0 { "nl".into() } else { "en".into() },
    }
}

/// The axes' indices and the maturity index of `answers` under `model`, computed from the items'
/// evidence lists and the scales alone (none of the engine's indexes or helpers).
fn plain_indices(model: &Model, answers: &[pb::Answer]) -> ([f64; 2], f64) {
    let score_of = |item_id: &str| -> Option<f64> {
        let answer = answers.iter().find(|a| a.item_id == item_id)?;
        let item = model.items.iter().find(|i| i.id == item_id)?;
        let points = &model.scales[item.scale].points;
        let point = match answer.value.as_ref()? {
            pb::answer::Value::Likert(n) => points.iter().find(|p| p.number == Some(*n)),
            pb::answer::Value::Yes(yes) => points.iter().find(|p| p.value == if *yes { "yes" } else { "no" }),
            pb::answer::Value::Choice(c) => points.iter().find(|p| p.value == *c),
            pb::answer::Value::DontKnow(_) => None,
        };
        point.map(|p| p.score)
    };
    let axes = [Axis::External, Axis::Internal].map(|axis| {
        let mut index = 0.0;
        for (k, weight) in model.scoring.stage_weights.iter().enumerate() {
            let (mut sum, mut weights) = (0.0, 0.0);
            for item in &model.items {
                for (target, w) in &item.evidence {
                    if *target == Target::Stage(axis, k as u8 + 1)
                        && let Some(s) = score_of(&item.id)
                    {
                        sum += w * s;
                        weights += w;
                    }
                }
            }
            let capability = if weights > 0.0 { (100.0 * sum / weights).clamp(0.0, 100.0) } else { 0.0 };
            index += weight * capability;
        }
        index.clamp(0.0, 100.0)
    });
    let [wx, wi] = model.scoring.axis_weights;
    (axes, (wx * axes[0] + wi * axes[1]).clamp(0.0, 100.0))
}

/// Every item of the default model answered on its own scale, each with the point the input's next
/// byte picks (or "don't know", for about one byte in eleven), for a valid firm: requests that
/// pass validation, so that what the engine computes is checked, not only what it refuses.
fn complete(data: &[u8]) -> pb::ScoreAssessmentRequest {
    let Ok(model) = SCORING.registry().resolve("", 0) else { return pb::ScoreAssessmentRequest::default() };
    let byte = |i: usize| data.get(i).copied().unwrap_or(0);
    let answers = model
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let scale = &model.scales[item.scale];
            let b = byte(i + 1);
            let point = &scale.points[usize::from(b) % scale.points.len()];
            let value = if scale.dont_know && b % 11 == 10 {
                pb::answer::Value::DontKnow(true)
            } else {
                match scale.kind {
                    ScaleKind::Likert => pb::answer::Value::Likert(point.number.unwrap_or(0)),
                    ScaleKind::YesNo => pb::answer::Value::Yes(point.value == "yes"),
                    ScaleKind::Choice => pb::answer::Value::Choice(point.value.clone()),
                }
            };
            pb::Answer { item_id: item.id.clone(), value: Some(value) }
        })
        .collect();
    pb::ScoreAssessmentRequest {
        model: None,
        firm: Some(pb::FirmAttributes {
            sbi_section: pick(&SECTIONS[..4], byte(0)).into(),
            size_class: pick(&SIZES[..4], byte(0) >> 2).into(),
            province: pick(&PROVINCES[..2], byte(0) >> 4).into(),
        }),
        answers,
        locale: "nl".into(),
    }
}

fuzz_target!(|data: &[u8]| {
    let request = match data.first() {
        Some(0) => match pb::ScoreAssessmentRequest::decode(&data[1..]) {
            Ok(r) => r,
            Err(_) => return,
        },
        Some(1) => complete(&data[1..]),
        _ => recipe(data),
    };
    match SCORING.score(&request) {
        Ok(scored) => {
            let a = &scored.assessment;
            assert!(a.maturity_index.is_finite() && (0.0..=100.0).contains(&a.maturity_index), "{}", a.maturity_index);
            for axis in &a.axes {
                assert!(axis.index.is_finite() && (0.0..=100.0).contains(&axis.index), "{}", axis.index);
            }
            let (axes, maturity) = plain_indices(&scored.model, &request.answers);
            let close = |x: f64, y: f64| (x - y).abs() <= 1e-9 * (1.0 + x.abs());
            assert!(
                close(a.maturity_index, maturity),
                "maturity index {} where the weights give {maturity}",
                a.maturity_index
            );
            for (axis, plain) in a.axes.iter().zip(axes) {
                assert!(
                    close(axis.index, plain),
                    "{:?} index {} where the weights give {plain}",
                    axis.axis,
                    axis.index
                );
            }
        }
        Err((violations, _)) => assert!(!violations.is_empty(), "a refusal without a reason"),
    }
});
