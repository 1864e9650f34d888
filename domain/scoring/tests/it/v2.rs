//! Model version 2 on scored profiles: restraint is a verdict, skipping is legitimate, missing
//! evidence is unknown, a lead that pays is kept, and no single answer decides a stage.

use domain_model::{FitVerdict, Model, ModelRegistry, Target, model::Axis};
use domain_scoring::{Answer, AnswerValue, Assessment, StageStatus, score};

use crate::{FIRM, at_level, model_v2};

/// Every item answered at `level` (0 = bottom of its scale, 1 = top), except where `level_of`
/// says otherwise for an item (by its first evidence target).
fn answers<'m>(model: &'m Model, level_of: impl Fn(&str, Target) -> Option<f64>) -> Vec<Answer<'m>> {
    model
        .items
        .iter()
        .filter_map(|item| {
            let target = item.evidence[0].0;
            level_of(&item.id, target).map(|l| at_level(model, &item.id, l))
        })
        .collect()
}

fn advice(model: &Model, r: &Assessment) -> Vec<String> {
    let facts = r.advice_facts([Some(60.0); 4]);
    model.advice(&facts).map(|a| a.id.clone()).collect()
}

/// Advice that asks a firm to invest or climb.
const INVESTMENT_ADVICE: [&str; 9] = [
    "close_the_gap",
    "start_listening",
    "organise_webcare",
    "external_ahead",
    "internal_ahead",
    "co_creation_behind_peers",
    "sharing_behind_peers",
    "network_behind_peers",
    "trust_behind_peers",
];

#[test]
fn no_proposition_and_little_use_is_restrained_and_gets_no_investment_advice() {
    let m = model_v2();
    // P = 0 (every proposition item at the bottom), a little listening, nothing else.
    let given = answers(&m, |_, t| {
        Some(match t {
            Target::Stage(Axis::External, 1) => 0.75,
            _ => 0.0,
        })
    });
    let r = score(&m, FIRM, &given).unwrap();
    assert_eq!(r.proposition.centrality, 0.0);
    assert!(r.maturity_index < 10.0, "{}", r.maturity_index);
    assert!(r.fit.gap < -m.fit.tolerance, "{}", r.fit.gap);
    assert_eq!(r.fit.verdict, FitVerdict::Restrained);
    let ids = advice(&m, &r);
    assert!(ids.contains(&"restraint_fits".to_string()), "{ids:?}");
    assert!(!ids.iter().any(|id| INVESTMENT_ADVICE.contains(&id.as_str())), "{ids:?}");
    // The same firm with a proposition that rests on social media is under-invested.
    let leaning = answers(&m, |_, t| {
        Some(match t {
            Target::Stage(Axis::External, 1) => 0.75,
            Target::Proposition => 1.0,
            _ => 0.0,
        })
    });
    let r = score(&m, FIRM, &leaning).unwrap();
    assert_eq!(r.fit.verdict, FitVerdict::UnderInvested);
    assert!(advice(&m, &r).contains(&"close_the_gap".to_string()));
    // Version 1 calls the restrained firm under-invested: its results keep that scoring.
    let v1 = ModelRegistry::builtin().unwrap().resolve("nl-social-business", 1).unwrap();
    let r1 = score(&v1, FIRM, &answers(&v1, |_, _| Some(0.0))).unwrap();
    assert_eq!(r1.fit.verdict, FitVerdict::UnderInvested);
}

#[test]
fn a_social_by_nature_profile_skips_lower_stages_legitimately() {
    let m = model_v2();
    // Founded on social media, proposition on it, high stages at the top, lower stages answered
    // at the bottom: the lower stages are skipped (evidence says not practised), not unknown.
    let given = answers(&m, |_, t| {
        Some(match t {
            Target::Stage(_, s) if s >= 3 => 1.0,
            Target::Stage(..) => 0.0,
            Target::Proposition | Target::SocialNative => 1.0,
            _ => 0.75,
        })
    });
    let r = score(&m, FIRM, &given).unwrap();
    assert!(r.proposition.social_native);
    assert_eq!(m.archetypes[r.archetype].id, "social_by_nature");
    for axis in Axis::ALL {
        let a = r.axis(axis);
        assert_eq!(a.attained_stage, 4, "{axis:?}");
        let statuses: Vec<StageStatus> = a.stages.iter().map(|s| s.status()).collect();
        assert_eq!(
            statuses,
            [StageStatus::Skipped, StageStatus::Skipped, StageStatus::Attained, StageStatus::Attained],
            "{axis:?}"
        );
    }
    // The archetype says that skipping is normal for such a firm, in both languages.
    let text = &m.archetypes[r.archetype].description;
    assert!(text.nl.contains("geen tekort"), "{}", text.nl);
    assert!(text.en.contains("not a shortcoming"), "{}", text.en);
}

#[test]
fn a_stage_answered_dont_know_throughout_is_unknown_not_skipped() {
    let m = model_v2();
    let mut given = answers(&m, |_, t| {
        Some(match t {
            Target::Stage(Axis::Internal, 2) => 0.0, // replaced by "don't know" below
            Target::Stage(Axis::Internal, _) => 1.0,
            Target::Stage(Axis::External, _) => 0.5,
            _ => 0.5,
        })
    });
    for a in &mut given {
        if m.item(a.item_id).unwrap().1.evidence[0].0 == Target::Stage(Axis::Internal, 2) {
            a.value = AnswerValue::DontKnow;
        }
    }
    let r = score(&m, FIRM, &given).unwrap();
    let internal = r.axis(Axis::Internal);
    assert_eq!(internal.attained_stage, 4);
    let i2 = &internal.stages[1];
    assert_eq!(i2.status(), StageStatus::Unknown);
    assert!(i2.insufficient_evidence && !i2.skipped && !i2.attained, "{i2:?}");
    assert_eq!(internal.skipped_stages().count(), 0);
}

#[test]
fn over_invested_with_measured_returns_keeps_its_lead() {
    let m = model_v2();
    let pays = |returns: f64| {
        move |id: &str, t: Target| {
            Some(match (id, t) {
                ("bv.return_against_cost" | "bv.return_measured", _) => returns,
                (_, Target::Proposition | Target::SocialNative) => 0.0,
                (_, Target::Stage(..)) => 1.0,
                _ => 0.75,
            })
        }
    };
    let r = score(&m, FIRM, &answers(&m, pays(1.0))).unwrap();
    assert_eq!(r.fit.verdict, FitVerdict::OverInvested);
    assert!(r.fit.returns_pay);
    let ids = advice(&m, &r);
    assert!(ids.contains(&"keep_the_lead".to_string()), "{ids:?}");
    assert!(!ids.contains(&"no_further_investment".to_string()), "{ids:?}");
    // Returns lower than the costs, or not measured in money: no further investment.
    let r = score(&m, FIRM, &answers(&m, pays(0.0))).unwrap();
    assert!(!r.fit.returns_pay);
    let ids = advice(&m, &r);
    assert!(ids.contains(&"no_further_investment".to_string()) && !ids.contains(&"keep_the_lead".to_string()));
}

/// Every stage of every model file that bounds the swing: with all of the stage's items answered
/// (at the bottom, the middle, the top, or mixed), changing any one answer to any other value, or
/// to "don't know", moves the stage's score by at most the bound (20 points in version 2).
/// Version 1 declares no bound: its four items per stage let one answer move 25 points, which is
/// why version 2 exists (a published version is never edited).
#[test]
fn flipping_any_single_answer_moves_no_stage_by_more_than_the_bound() {
    let registry = ModelRegistry::builtin().unwrap();
    for m in registry.all() {
        let mut worst: f64 = 0.0;
        for base in [0.0, 0.5, 1.0, -1.0] {
            // -1: mixed levels, item by item.
            let level = |i: usize| if base < 0.0 { [0.0, 1.0, 0.25, 0.75, 0.5][i % 5] } else { base };
            let given: Vec<Answer<'_>> =
                m.items.iter().enumerate().map(|(i, it)| at_level(m, &it.id, level(i))).collect();
            let before = score(m, FIRM, &given).unwrap();
            for (i, item) in m.items.iter().enumerate() {
                let scale = m.scale_of(item);
                let mut values: Vec<AnswerValue<'_>> = scale
                    .points
                    .iter()
                    .map(|p| match scale.kind {
                        domain_model::ScaleKind::Likert => AnswerValue::Likert(p.number.unwrap()),
                        domain_model::ScaleKind::YesNo => AnswerValue::Yes(p.value == "yes"),
                        domain_model::ScaleKind::Choice => AnswerValue::Choice(&p.value),
                    })
                    .collect();
                values.push(AnswerValue::DontKnow);
                for value in values {
                    let mut changed = given.clone();
                    changed[i] = Answer { item_id: &item.id, value };
                    let Ok(after) = score(m, FIRM, &changed) else { continue };
                    for axis in Axis::ALL {
                        for (b, a) in before.axis(axis).stages.iter().zip(&after.axis(axis).stages) {
                            let swing = (a.capability - b.capability).abs();
                            worst = worst.max(swing);
                            if let Some(bound) = m.scoring.max_answer_swing {
                                assert!(
                                    swing <= bound + 1e-9,
                                    "v{}: `{}` moves {}{} by {swing:.2} points",
                                    m.version,
                                    item.id,
                                    axis.letter(),
                                    b.stage
                                );
                            }
                        }
                    }
                }
            }
        }
        match m.scoring.max_answer_swing {
            Some(bound) => assert!(worst <= bound + 1e-9 && worst > 0.0, "v{}: {worst}", m.version),
            None => assert_eq!((m.version, worst.round()), (1, 25.0), "only v1 may lack the bound"),
        }
    }
}
