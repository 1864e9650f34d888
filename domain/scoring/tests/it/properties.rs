//! Invariants of the scoring rules, over random answer profiles (proptest).

use domain_model::{Model, ScaleKind, Target};
use domain_scoring::{Answer, AnswerValue, Assessment, score};
use proptest::prelude::*;

use crate::{FIRM, model};

/// For each item: `None` unanswered, `Some(None)` "don't know", `Some(Some(k))` the k-th point.
type Profile = Vec<Option<Option<usize>>>;

fn profile() -> impl Strategy<Value = Profile> {
    let m = model();
    let per_item: Vec<_> = m
        .items
        .iter()
        .map(|it| {
            let points = m.scale_of(it).points.len();
            prop_oneof![
                1 => Just(None),
                1 => Just(Some(None)),
                6 => (0..points).prop_map(|k| Some(Some(k))),
            ]
        })
        .collect();
    per_item
}

fn answers<'a>(m: &'a Model, p: &Profile) -> Vec<Answer<'a>> {
    m.items
        .iter()
        .zip(p)
        .filter_map(|(it, a)| {
            let a = (*a)?;
            let value = match a {
                None => AnswerValue::DontKnow,
                Some(k) => {
                    let scale = m.scale_of(it);
                    let point = &scale.points[k];
                    match scale.kind {
                        ScaleKind::Likert => AnswerValue::Likert(point.value.parse().unwrap()),
                        ScaleKind::YesNo => AnswerValue::Yes(point.value == "yes"),
                        ScaleKind::Choice => AnswerValue::Choice(&point.value),
                    }
                }
            };
            Some(Answer { item_id: &it.id, value })
        })
        .collect()
}

/// Every index in the result, with a name, for comparisons.
fn indices(r: &Assessment) -> Vec<(String, f64)> {
    let mut out = vec![("maturity".to_string(), r.maturity_index), ("proposition".into(), r.proposition.centrality)];
    for a in &r.axes {
        out.push((format!("{:?} index", a.axis), a.index));
        for s in &a.stages {
            out.push((format!("{:?} {} capability", a.axis, s.stage), s.capability));
        }
    }
    for (i, v) in r.value_sources.iter().chain(&r.business_value).enumerate() {
        if let Some(s) = v.score {
            out.push((format!("dimension {i}"), s));
        }
    }
    out
}

/// The indices an item feeds: its targets, and the axis and maturity indices above a stage.
fn fed_by(m: &Model, item: usize, r: &Assessment) -> Vec<(String, Option<f64>)> {
    let mut out = Vec::new();
    for (t, _) in &m.items[item].evidence {
        match *t {
            Target::Stage(axis, s) => {
                let a = r.axis(axis);
                out.push((format!("{t} capability"), Some(a.stages[usize::from(s) - 1].capability)));
                out.push((format!("{axis:?} index"), Some(a.index)));
                out.push(("maturity".into(), Some(r.maturity_index)));
            }
            Target::ValueSource(v) => {
                let i = domain_model::ValueSource::ALL.iter().position(|x| *x == v).unwrap();
                out.push((t.to_string(), r.value_sources[i].score));
            }
            Target::Proposition => out.push((t.to_string(), Some(r.proposition.centrality))),
            Target::SocialNative => {}
            Target::BusinessValue(f) => {
                let i = domain_model::Facet::ALL.iter().position(|x| *x == f).unwrap();
                out.push((t.to_string(), r.business_value[i].score));
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn every_index_is_between_0_and_100(p in profile()) {
        let m = model();
        // A refused profile is rejected, not passed: proptest fails the test when too many are.
        let scored = score(&m, FIRM, &answers(&m, &p));
        prop_assume!(scored.is_ok());
        for (name, v) in indices(&scored.unwrap()) {
            prop_assert!((0.0..=100.0).contains(&v), "{name} = {v}");
        }
    }

    #[test]
    fn raising_one_answer_never_lowers_what_it_feeds(p in profile(), pick in any::<prop::sample::Index>()) {
        let m = model();
        let before = score(&m, FIRM, &answers(&m, &p));
        prop_assume!(before.is_ok());
        let before = before.unwrap();
        // Raise the picked answered item one point up its scale, when it can go up.
        let answered: Vec<usize> = p.iter().enumerate().filter(|(_, a)| matches!(a, Some(Some(_)))).map(|(i, _)| i).collect();
        prop_assume!(!answered.is_empty());
        let item = answered[pick.index(answered.len())];
        let Some(Some(k)) = p[item] else { unreachable!() };
        let scale = m.scale_of(&m.items[item]);
        prop_assume!(k + 1 < scale.points.len() && scale.points[k + 1].score >= scale.points[k].score);
        let mut raised = p.clone();
        raised[item] = Some(Some(k + 1));
        let after = score(&m, FIRM, &answers(&m, &raised)).unwrap();
        for ((name, b), (_, a)) in fed_by(&m, item, &before).into_iter().zip(fed_by(&m, item, &after)) {
            prop_assert!(a.unwrap_or(0.0) >= b.unwrap_or(0.0) - 1e-9, "{} lowered {name}: {b:?} -> {a:?}", m.items[item].id);
        }
        for axis in domain_model::model::Axis::ALL {
            prop_assert!(after.axis(axis).attained_stage >= before.axis(axis).attained_stage);
        }
    }

    #[test]
    fn answer_order_does_not_matter(p in profile(), seed in any::<u64>()) {
        let m = model();
        let forward = answers(&m, &p);
        let mut shuffled = forward.clone();
        // A deterministic Fisher-Yates shuffle driven by the seed.
        let mut state = seed | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        prop_assert_eq!(score(&m, FIRM, &forward), score(&m, FIRM, &shuffled));
    }

    #[test]
    fn dont_know_never_counts_as_a_low_answer(p in profile(), pick in any::<prop::sample::Index>()) {
        let m = model();
        let unknown: Vec<usize> = p.iter().enumerate().filter(|(_, a)| matches!(a, Some(None))).map(|(i, _)| i).collect();
        prop_assume!(!unknown.is_empty());
        let item = unknown[pick.index(unknown.len())];
        let mut lowest = p.clone();
        lowest[item] = Some(Some(0));
        let (with_dk, with_low) = (score(&m, FIRM, &answers(&m, &p)), score(&m, FIRM, &answers(&m, &lowest)));
        prop_assume!(with_dk.is_ok() && with_low.is_ok());
        let (with_dk, with_low) = (with_dk.unwrap(), with_low.unwrap());
        for ((name, dk), (_, low)) in fed_by(&m, item, &with_dk).into_iter().zip(fed_by(&m, item, &with_low)) {
            let (dk, low) = (dk.unwrap_or(0.0), low.unwrap_or(0.0));
            prop_assert!(dk >= low - 1e-9, "{name}: don't know {dk} < lowest answer {low}");
        }
        // And "don't know" is not an answer: it is counted as such.
        prop_assert_eq!(with_dk.answers.answered + 1, with_low.answers.answered);
        // Unanswered and "don't know" score the same.
        let mut omitted = p.clone();
        omitted[item] = None;
        let without = score(&m, FIRM, &answers(&m, &omitted)).unwrap();
        prop_assert_eq!(indices(&without), indices(&with_dk));
    }

    #[test]
    fn profiles_that_skip_stages_score_without_error(low in prop::collection::vec(any::<bool>(), 8)) {
        // Every stage independently at the top or the bottom: any pattern of skipped stages.
        let m = model();
        let answers: Vec<Answer> = m.items.iter().map(|it| {
            let stage = it.evidence.iter().find_map(|(t, _)| match t {
                Target::Stage(a, s) => Some(a.index() * 4 + usize::from(*s) - 1),
                _ => None,
            });
            crate::at_level(&m, &it.id, if stage.is_some_and(|s| low[s]) { 0.0 } else { 1.0 })
        }).collect();
        let r = score(&m, FIRM, &answers).unwrap();
        for a in &r.axes {
            let top = a.stages.iter().rev().find(|s| s.attained).map_or(0, |s| s.stage);
            prop_assert_eq!(a.attained_stage, top);
            for s in &a.stages {
                prop_assert_eq!(s.skipped, s.stage < top && !s.attained);
            }
        }
    }
}
