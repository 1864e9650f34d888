//! A profile scored by hand from docs/method.md and the model file, checked number by number.

use domain_model::{FitVerdict, model::Axis};
use domain_scoring::score;

use crate::{FIRM, choice, dont_know, likert, model, yes};

fn close(actual: f64, expected: f64) {
    assert!((actual - expected).abs() < 1e-9, "expected {expected}, got {actual}");
}

#[test]
fn hand_calculated_profile() {
    let m = model();
    let mut answers = vec![
        // E1: everything at the top: capability 100.
        likert("e1.monitor_mentions", 5),
        likert("e1.monitor_competitors", 5),
        yes("e1.owner", true),
        likert("e1.findings_reach_decision_makers", 5),
        // E2: (0.75 + 1 + 0.75 + 0.75) / 4 = 0.8125: 81.25.
        likert("e2.answer_within_a_day", 4),
        yes("e2.agreed_response_times", true),
        likert("e2.complaints_in_channel", 4),
        likert("e2.escalation_route", 4),
        // E3: all neutral: 50.
        likert("e3.two_way_dialogue", 3),
        likert("e3.own_content_and_community", 3),
        likert("e3.employees_take_part", 3),
        likert("e3.dialogue_in_sales", 3),
        // E4: all lowest: 0.
        likert("e4.ideas_acted_on", 1),
        yes("e4.crowd_initiatives", false),
        likert("e4.visible_in_offering", 1),
        likert("e4.shared_platform", 1),
        // I1: 100.
        likert("i1.own_initiative", 5),
        yes("i1.pilots", true),
        likert("i1.lessons_shared", 5),
        likert("i1.room_to_try", 5),
        // I2: nothing known: insufficient evidence, capability 0.
        dont_know("i2.planned_with_budget"),
        dont_know("i2.owner"),
        dont_know("i2.guidelines"),
        dont_know("i2.reach_measured"),
        // I3: 75.
        likert("i3.hr_recruitment", 4),
        likert("i3.service_sales_development", 4),
        likert("i3.governance", 4),
        likert("i3.training", 4),
        // I4: 25.
        likert("i4.internal_collaboration", 2),
        likert("i4.employees_empowered", 2),
        likert("i4.partner_collaboration", 2),
        likert("i4.strategic_decisions", 2),
        // Value sources.
        yes("v.co_creation.improvement_from_outside", true),
        likert("v.co_creation.test_with_users", 4),
        likert("v.co_creation.credit_contributors", 3),
        likert("v.information_sharing.expertise_outside", 4),
        likert("v.information_sharing.knowledge_inside", 4),
        likert("v.information_sharing.customers_help_each_other", 4),
        // Proposition: (0.33 + 0.25 + 0.25 + 0) / 4 = 0.2075: 20.75.
        choice("p.customers_via_social", "5_to_20"),
        likert("p.revenue_model_on_platforms", 2),
        likert("p.offering_needs_social", 2),
        yes("p.founded_on_social", false),
        // Business value.
        choice("bv.revenue_share", "1_to_5"),
        dont_know("bv.investment"),
    ];
    // Order must not matter.
    answers.reverse();
    let r = score(&m, FIRM, &answers).unwrap();
    assert_eq!((r.model_id.as_str(), r.model_version), ("nl-social-business", 1));

    let e = r.axis(Axis::External);
    let caps: Vec<f64> = e.stages.iter().map(|s| s.capability).collect();
    for (a, x) in caps.iter().zip([100.0, 81.25, 50.0, 0.0]) {
        close(*a, x);
    }
    // 0.1*100 + 0.2*81.25 + 0.3*50 + 0.4*0 = 41.25
    close(e.index, 41.25);
    assert_eq!(e.attained_stage, 2);
    assert_eq!(e.skipped_stages().count(), 0);

    let i = r.axis(Axis::Internal);
    assert!(i.stages[1].insufficient_evidence && !i.stages[1].attained);
    assert_eq!((i.stages[1].items_total, i.stages[1].items_answered), (4, 0));
    // 0.1*100 + 0.2*0 + 0.3*75 + 0.4*25 = 42.5
    close(i.index, 42.5);
    assert_eq!(i.attained_stage, 3);
    // I2 lies below the attained stage but nothing is known about it: unknown, never skipped.
    assert_eq!(i.skipped_stages().count(), 0);
    assert_eq!(i.stages[1].status(), domain_scoring::StageStatus::Unknown);

    close(r.maturity_index, 0.5 * 41.25 + 0.5 * 42.5);
    close(r.proposition.centrality, 20.75);
    assert!(!r.proposition.social_native);
    // Target 20 + 0.7 * 20.75 = 34.525; gap 41.875 - 34.525 = 7.35, within 10.
    close(r.fit.target, 34.525);
    close(r.fit.gap, 7.35);
    assert_eq!(r.fit.verdict, FitVerdict::Balanced);

    // Co-creation: (1*0 [e4.ideas] + 0.5*0 [e4.visible] + 1*1 + 1*0.75 + 1*0.5) / 4.5 = 50.
    close(r.value_sources[0].score.unwrap(), 50.0);
    // Information sharing: (0.5*0.5 [e3.own_content] + 0.5*0.25 [i4.internal] + 3*0.75) / 4 = 65.625.
    close(r.value_sources[1].score.unwrap(), 65.625);
    // Network mobilisation: e3.employees_take_part 0.5 weight 0.5, i3.hr 0.75 weight 0.5, rest unanswered.
    close(r.value_sources[2].score.unwrap(), 62.5);
    assert!(r.value_sources[2].insufficient_evidence);
    // Trust building: only e2.complaints_in_channel (0.75) answered.
    close(r.value_sources[3].score.unwrap(), 75.0);

    close(r.business_value[0].score.unwrap(), 50.0);
    assert_eq!(r.business_value[2].score, None);

    assert_eq!(m.archetypes[r.archetype].id, "integrated");
    assert_eq!(m.forrester[r.forrester].id, "scaling_optimizing");
    assert_eq!(m.altimeter[r.altimeter].id, "formalized");
    assert_eq!(r.answers.answered, 39);
    assert_eq!(r.answers.dont_know, 5);
    assert_eq!(r.answers.unanswered, 52 - 44);
}

#[test]
fn social_by_nature_start_high_and_skip_stages() {
    let m = model();
    let mut answers = Vec::new();
    for item in &m.items {
        let level =
            if item.id.starts_with("e1") || item.id.starts_with("e2") || item.id.starts_with("i1") { 0.0 } else { 1.0 };
        answers.push(crate::at_level(&m, &item.id, level));
    }
    let r = score(&m, FIRM, &answers).unwrap();
    assert_eq!(r.axis(Axis::External).attained_stage, 4);
    assert_eq!(r.axis(Axis::External).skipped_stages().collect::<Vec<_>>(), [1, 2]);
    assert_eq!(r.axis(Axis::Internal).skipped_stages().collect::<Vec<_>>(), [1]);
    assert!(r.proposition.social_native);
    close(r.proposition.centrality, 100.0);
    assert_eq!(m.archetypes[r.archetype].id, "social_by_nature");
    assert_eq!(m.altimeter[r.altimeter].id, "converged");
    assert_eq!(m.forrester[r.forrester].id, "empowering");
    // Maturity 0.5 * (0.3*100 + 0.4*100) + 0.5 * (0.2*100 + 0.3*100 + 0.4*100) = 80; target 90.
    close(r.maturity_index, 80.0);
    assert_eq!(r.fit.verdict, FitVerdict::Balanced);
}

#[test]
fn fit_verdicts_at_the_extremes() {
    let m = model();
    // Everything at the top except the proposition, which is at the bottom: far over the need.
    let answers: Vec<_> =
        m.items.iter().map(|it| crate::at_level(&m, &it.id, if it.id.starts_with("p.") { 0.0 } else { 1.0 })).collect();
    let r = score(&m, FIRM, &answers).unwrap();
    assert_eq!(r.fit.verdict, FitVerdict::OverInvested);
    close(r.fit.gap, 100.0 - 20.0);
    // Everything at the bottom except the proposition (not founded on social media): far under.
    let answers: Vec<_> = m
        .items
        .iter()
        .map(|it| {
            let top = it.id.starts_with("p.") && it.id != "p.founded_on_social";
            crate::at_level(&m, &it.id, if top { 1.0 } else { 0.0 })
        })
        .collect();
    let r = score(&m, FIRM, &answers).unwrap();
    assert_eq!(r.fit.verdict, FitVerdict::UnderInvested);
    close(r.proposition.centrality, 75.0);
    close(r.fit.gap, -(20.0 + 0.7 * 75.0));
    assert_eq!(m.archetypes[r.archetype].id, "not_yet_social");
    assert_eq!(m.altimeter[r.altimeter].id, "planning");
    assert_eq!(m.forrester[r.forrester].id, "dormant");
}
