//! Every kind of bad input is reported, all at once, with its location and reason.

use domain_model::Locale;
use domain_scoring::{AnswerField, AnswerValue, FirmField, FirmInput, Location, Problem, score};

use crate::{FIRM, at_level, choice, likert, model, yes};

fn full(m: &domain_model::Model) -> Vec<domain_scoring::Answer<'_>> {
    m.items.iter().map(|it| at_level(m, &it.id, 0.5)).collect()
}

#[test]
fn every_problem_at_once() {
    let m = model();
    let mut answers = full(&m);
    answers[0] = likert("e1.monitor_mentions", 7);
    answers[1] = yes("e1.monitor_competitors", true);
    answers.push(likert("e9.does_not_exist", 3));
    answers.push(likert("e2.answer_within_a_day", 2));
    answers.push(choice("p.customers_via_social", "all_of_them"));
    answers.push(domain_scoring::Answer { item_id: "i1.pilots", value: AnswerValue::Missing });
    answers.push(domain_scoring::Answer { item_id: " ", value: AnswerValue::DontKnow });
    let firm = FirmInput { sbi_section: "Z", size_class: "huge", province: "Utrecht" };
    let problems = score(&m, firm, &answers).unwrap_err();
    let reasons: Vec<(&str, Location)> = problems.iter().map(|p| (p.reason(), p.location())).collect();
    let n = m.items.len();
    assert_eq!(
        reasons,
        [
            ("UNKNOWN_SBI_SECTION", Location::Firm(FirmField::SbiSection)),
            ("UNKNOWN_SIZE_CLASS", Location::Firm(FirmField::SizeClass)),
            ("UNKNOWN_PROVINCE", Location::Firm(FirmField::Province)),
            ("ANSWER_OFF_SCALE", Location::Answer(0, AnswerField::Value)),
            ("ANSWER_OFF_SCALE", Location::Answer(1, AnswerField::Value)),
            ("UNKNOWN_ITEM", Location::Answer(n, AnswerField::ItemId)),
            ("DUPLICATE_ANSWER", Location::Answer(n + 1, AnswerField::ItemId)),
            ("DUPLICATE_ANSWER", Location::Answer(n + 2, AnswerField::ItemId)),
            ("DUPLICATE_ANSWER", Location::Answer(n + 3, AnswerField::ItemId)),
            ("MISSING_ITEM_ID", Location::Answer(n + 4, AnswerField::ItemId)),
        ]
    );
    for p in &problems {
        assert!(!p.message(Locale::Nl).is_empty() && p.message(Locale::Nl) != p.message(Locale::En));
    }
    assert!(problems[3].message(Locale::En).contains("answer 7 to `e1.monitor_mentions` is off its scale"));
}

#[test]
fn off_scale_choice_and_missing_value() {
    let m = model();
    let mut answers = full(&m);
    let idx = answers.iter().position(|a| a.item_id == "p.customers_via_social").unwrap();
    answers[idx] = choice("p.customers_via_social", "all_of_them");
    let idx2 = answers.iter().position(|a| a.item_id == "i1.pilots").unwrap();
    answers[idx2].value = AnswerValue::Missing;
    let problems = score(&m, FIRM, &answers).unwrap_err();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems.iter().any(|p| matches!(p, Problem::OffScale { index, .. } if *index == idx)));
    assert!(problems.iter().any(|p| matches!(p, Problem::MissingValue { index, .. } if *index == idx2)));
}

#[test]
fn too_few_answers_names_each_part() {
    let m = model();
    // Only value-source items: no axis or proposition evidence.
    let answers: Vec<_> =
        m.items.iter().filter(|it| it.id.starts_with("v.")).map(|it| at_level(&m, &it.id, 1.0)).collect();
    let problems = score(&m, FIRM, &answers).unwrap_err();
    let texts: Vec<String> = problems.iter().map(|p| p.message(Locale::En)).collect();
    assert_eq!(problems.len(), 3, "{texts:?}");
    assert!(texts[0].contains("external axis: 0 given"), "{texts:?}");
    assert!(texts[1].contains("internal axis: 0 given"), "{texts:?}");
    assert!(texts[2].contains("proposition: 0 given"), "{texts:?}");
    assert!(problems.iter().all(|p| p.location() == Location::Answers && p.reason() == "TOO_FEW_ANSWERS"));
}

#[test]
fn dont_know_does_not_count_towards_the_minimum() {
    let m = model();
    let answers: Vec<_> = m.items.iter().map(|it| crate::dont_know(&it.id)).collect();
    let problems = score(&m, FIRM, &answers).unwrap_err();
    assert_eq!(problems.len(), 3);
    assert!(problems.iter().all(|p| p.reason() == "TOO_FEW_ANSWERS"));
}

#[test]
fn empty_request_is_refused_not_scored() {
    let m = model();
    let problems = score(&m, FirmInput::default(), &[]).unwrap_err();
    let reasons: Vec<_> = problems.iter().map(Problem::reason).collect();
    assert_eq!(
        reasons,
        [
            "UNKNOWN_SBI_SECTION",
            "UNKNOWN_SIZE_CLASS",
            "UNKNOWN_PROVINCE",
            "TOO_FEW_ANSWERS",
            "TOO_FEW_ANSWERS",
            "TOO_FEW_ANSWERS"
        ]
    );
}
