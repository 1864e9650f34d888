//! What computing the actions adds to scoring one assessment: times `score` alone and `score`
//! followed by `actions` over the same synthetic firms (the default model), and prints µs per
//! assessment. A program that prints figures (BENCHMARKS.md), not a test.
//!
//! `cargo run --release -p domain-scoring --example actions_cost [firms]`

use std::time::Instant;

use domain_model::{ModelRegistry, ScaleKind, Target};
use domain_scoring::{Answer, AnswerValue, FirmInput, actions, score};

const FIRM: FirmInput<'static> = FirmInput { sbi_section: "J", size_class: "small", province: "NL-UT" };

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let registry = ModelRegistry::builtin()?;
    let model = registry.resolve("", 0)?;
    // Synthetic firms: per stage and for the proposition a level from a fixed sequence.
    let mut state: u64 = 42;
    let mut next = move || {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let firms: Vec<Vec<Answer<'_>>> = (0..n)
        .map(|_| {
            let levels: Vec<f64> = (0..10).map(|_| next()).collect();
            model
                .items
                .iter()
                .map(|item| {
                    let level = match item.evidence[0].0 {
                        Target::Stage(axis, s) => levels[axis.index() * 4 + usize::from(s) - 1],
                        Target::Proposition | Target::SocialNative => levels[8],
                        _ => levels[9],
                    };
                    let scale = model.scale_of(item);
                    let last = scale.points.len() - 1;
                    let point = &scale.points[((level * last as f64).round() as usize).min(last)];
                    let value = match scale.kind {
                        ScaleKind::Likert => AnswerValue::Likert(point.number.unwrap_or(1)),
                        ScaleKind::YesNo => AnswerValue::Yes(point.value == "yes"),
                        ScaleKind::Choice => AnswerValue::Choice(&point.value),
                    };
                    Answer { item_id: &item.id, value }
                })
                .collect()
        })
        .collect();
    for round in 1..=3 {
        let start = Instant::now();
        let mut scored = 0usize;
        for f in &firms {
            scored += usize::from(score(&model, FIRM, f).is_ok());
        }
        let alone = start.elapsed().as_secs_f64() * 1e6 / n as f64;
        let start = Instant::now();
        let mut found = 0usize;
        for f in &firms {
            if let Ok(r) = score(&model, FIRM, f) {
                found += actions(&model, f, &r).len();
            }
        }
        let with = start.elapsed().as_secs_f64() * 1e6 / n as f64;
        println!(
            "round {round}: {n} firms ({scored} scored), score {alone:.2} µs, score + actions {with:.2} µs \
             ({found} actions, {:.2} per firm)",
            found as f64 / n as f64
        );
    }
    Ok(())
}
