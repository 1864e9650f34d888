//! Model-file parsing: any text is either a model or a list of problems, each naming its place;
//! never a panic. Seeded with the real model file, so that mutations stay near valid models and
//! reach the semantic checks (weights, stages, rule bounds), not only the TOML parser.
//!
//! What the loader accepts must be a model one can score with: a questionnaire answered wholly at
//! each scale's lowest point, and one wholly at its highest, both score (the engine finds nothing
//! wrong with them), with finite figures from 0 to 100, and the highest answers never give a lower
//! maturity index than the lowest.

#![no_main]

use domain_model::model::{Model, ScaleKind, ScalePoint};
use domain_scoring::{Answer, AnswerValue, Assessment, FirmInput};
use libfuzzer_sys::fuzz_target;

/// Every item answered with the point `pick` chooses from its scale.
fn answered_by<'m>(model: &'m Model, pick: fn(&'m [ScalePoint]) -> Option<&'m ScalePoint>) -> Vec<Answer<'m>> {
    model
        .items
        .iter()
        .map(|item| {
            let scale = &model.scales[item.scale];
            let point = pick(&scale.points).unwrap_or_else(|| panic!("scale of `{}` has no points", item.id));
            let value = match scale.kind {
                ScaleKind::Likert => AnswerValue::Likert(
                    point.number.unwrap_or_else(|| panic!("a Likert point of `{}` has no number", item.id)),
                ),
                ScaleKind::YesNo => AnswerValue::Yes(point.value == "yes"),
                ScaleKind::Choice => AnswerValue::Choice(&point.value),
            };
            Answer { item_id: &item.id, value }
        })
        .collect()
}

fn scored(model: &Model, answers: &[Answer<'_>], which: &str) -> Assessment {
    let firm = FirmInput { sbi_section: "C", size_class: "small", province: "NL-UT" };
    let result = domain_scoring::score(model, firm, answers)
        .unwrap_or_else(|problems| panic!("an accepted model refuses its {which} answers: {problems:?}"));
    let figures = [result.maturity_index, result.axes[0].index, result.axes[1].index];
    assert!(figures.iter().all(|f| f.is_finite() && (0.0..=100.0).contains(f)), "{which}: {figures:?}");
    result
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match domain_model::load::load_model("fuzz.toml", text) {
        Ok(model) => {
            assert!(!model.items.is_empty(), "a model without items was accepted");
            let lowest = answered_by(&model, |points| points.iter().min_by(|a, b| a.score.total_cmp(&b.score)));
            let highest = answered_by(&model, |points| points.iter().max_by(|a, b| a.score.total_cmp(&b.score)));
            let (low, high) = (scored(&model, &lowest, "lowest"), scored(&model, &highest, "highest"));
            assert!(
                high.maturity_index >= low.maturity_index - 1e-9,
                "the highest answers score {} and the lowest {}",
                high.maturity_index,
                low.maturity_index
            );
        }
        Err(e) => assert!(!e.to_string().is_empty(), "a refusal without a message"),
    }
});
