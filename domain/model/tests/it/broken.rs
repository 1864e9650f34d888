//! A malformed model file is a clear error naming the line, with every problem at once.

use domain_model::{ModelRegistry, load_model};

const SOURCE: &str = include_str!("../../../../models/nl-social-business/v1.toml");

fn line_of(haystack: &str, needle: &str) -> usize {
    let offset = haystack.find(needle).unwrap();
    haystack[..offset].matches('\n').count() + 1
}

#[test]
fn syntax_error_names_its_line() {
    let broken = SOURCE.replacen("attainment_threshold = 60.0", "attainment_threshold = = 60.0", 1);
    let err = load_model("v1.toml", &broken).unwrap_err();
    let expected = line_of(&broken, "attainment_threshold = = 60.0");
    assert_eq!(err.problems.len(), 1, "{err}");
    assert_eq!(err.problems[0].line, Some(expected), "{err}");
    assert!(err.to_string().contains(&format!("v1.toml:{expected}:")), "{err}");
}

#[test]
fn wrong_type_names_its_line() {
    let broken = SOURCE.replacen("version = 1", "version = \"one\"", 1);
    let err = load_model("v1.toml", &broken).unwrap_err();
    assert_eq!(err.problems[0].line, Some(line_of(&broken, "version = \"one\"")), "{err}");
}

#[test]
fn every_semantic_problem_is_reported_with_its_line() {
    let broken = SOURCE
        .replacen(
            "evidence = { E1 = 1.0 }\n\n[[items]]\nid = \"e1.monitor_competitors\"",
            "evidence = { E5 = 1.0 }\n\n[[items]]\nid = \"e1.monitor_competitors\"",
            1,
        )
        .replacen(
            "id = \"e2.escalation_route\"\nscale = \"likert5\"",
            "id = \"e2.escalation_route\"\nscale = \"likert7\"",
            1,
        )
        .replacen("stage_weights = [0.1, 0.2, 0.3, 0.4]", "stage_weights = [0.1, 0.2, 0.3, 0.5]", 1);
    let err = load_model("v1.toml", &broken).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("unknown evidence target `E5`"), "{text}");
    assert!(text.contains("unknown scale `likert7`"), "{text}");
    assert!(text.contains("stage_weights must be positive and sum to 1"), "{text}");
    let unknown_scale = err.problems.iter().find(|p| p.message.contains("likert7")).unwrap();
    let item_start = line_of(&broken, "id = \"e2.escalation_route\"");
    let line = unknown_scale.line.unwrap();
    assert!((item_start - 1..=item_start).contains(&line), "item at {item_start}, reported {line}");
    // Taking E1's item away leaves only three; taking another would break coverage.
    assert!(!text.contains("stage E1 has"), "{text}");
}

#[test]
fn coverage_and_catch_all_rules_are_checked() {
    let broken = SOURCE.replace("evidence = { E4 = 1.0 }", "evidence = { E3 = 1.0 }").replacen(
        "when_any = [{}]\n\n# ----",
        "when_any = [{ max_external_stage = 0 }]\n\n# ----",
        1,
    );
    let err = load_model("v1.toml", &broken).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("stage E4 has 2 item(s); it needs at least 3"), "{text}");
    assert!(text.contains("the last archetype (`not_yet_social`) must match every profile"), "{text}");
}

#[test]
fn duplicate_item_ids_are_refused() {
    let broken = SOURCE.replacen("id = \"e1.monitor_competitors\"", "id = \"e1.monitor_mentions\"", 1);
    let err = load_model("v1.toml", &broken).unwrap_err();
    assert!(err.to_string().contains("item `e1.monitor_mentions` is defined twice"), "{err}");
}

#[test]
fn registry_reports_every_broken_file() {
    let a = SOURCE.replacen("slope = 0.7", "slope = 7.0", 1);
    let b = SOURCE.replacen("tolerance = 10.0", "tolerance = -1.0", 1);
    let err = ModelRegistry::from_sources([("a.toml", a.as_str()), ("b.toml", b.as_str())]).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("a.toml") && text.contains("fit.slope"), "{text}");
    assert!(text.contains("b.toml") && text.contains("fit.tolerance"), "{text}");
}

#[test]
fn the_same_version_twice_is_refused() {
    let err = ModelRegistry::from_sources([("a.toml", SOURCE), ("b.toml", SOURCE)]).unwrap_err();
    assert!(err.to_string().contains("defined by both a.toml and b.toml"), "{err}");
}

#[test]
fn recommendation_rules_are_checked() {
    let broken = SOURCE
        .replacen("when = { fit = [\"over_invested\"] }", "when = { fit = [\"over_invested\", \"balanced\"] }", 1)
        .replacen("value_source = \"co_creation\"", "value_source = \"co_creashun\"", 1)
        .replacen("leading_axis = \"internal\", min_lead = 20.0", "leading_axis = \"internal\"", 1);
    let err = load_model("v1.toml", &broken).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("unknown value source `co_creashun`"), "{text}");
    assert!(text.contains("leading_axis and min_lead go together"), "{text}");
    assert!(text.contains("no further investment warranted"), "{text}");
    let unknown = err.problems.iter().find(|p| p.message.contains("co_creashun")).unwrap();
    assert!(unknown.line.is_some(), "{text}");
}

const V2: &str = include_str!("../../../../models/nl-social-business/v2.toml");

/// A file that declares `max_answer_swing` is refused when one answer could move a stage by more:
/// version 1's four items per stage let any one of them move its stage by 25 points.
#[test]
fn a_stage_one_answer_could_decide_is_refused() {
    let strict = SOURCE.replacen(
        "min_answers = { external = 8, internal = 8, proposition = 2 }",
        "min_answers = { external = 8, internal = 8, proposition = 2 }\nmax_answer_swing = 20.0",
        1,
    );
    let err = load_model("v1.toml", &strict).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("stage E1: one answer to `e1.monitor_mentions` can move its score by 25.0 points"), "{text}");
    assert_eq!(err.problems.len(), 8, "every stage of v1: {text}");
    // Version 2 keeps the bound; doubling one item's weight breaks it.
    let heavy = V2.replacen("evidence = { E2 = 1.0 }", "evidence = { E2 = 2.0 }", 1);
    let err = load_model("v2.toml", &heavy).unwrap_err();
    assert!(err.to_string().contains("stage E2: one answer to `e2.response_time` can move its score by 33.3"), "{err}");
}

/// The restrained verdict needs the rule that decides it, and a model that gives it needs advice
/// for it; an over-invested firm needs advice whether or not its returns pay.
#[test]
fn restraint_and_returns_rules_are_checked() {
    let no_rule = V2.replacen("restraint_below = 30.0\n", "", 1);
    let err = load_model("v2.toml", &no_rule).unwrap_err().to_string();
    assert!(err.contains("fit.verdicts.restrained needs fit.restraint_below"), "{err}");
    assert!(err.contains("recommendation `restraint_fits`: fit `restrained` needs fit.restraint_below"), "{err}");
    let no_advice = V2.replacen(
        "id = \"restraint_fits\"\nwhen = { fit = [\"restrained\"] }",
        "id = \"restraint_fits\"\nwhen = { fit = [\"restrained\"], max_external_stage = 0 }",
        1,
    );
    assert_ne!(no_advice, V2);
    let err = load_model("v2.toml", &no_advice).unwrap_err().to_string();
    assert!(err.contains("a recommendation for fit = [\"restrained\"] alone is needed"), "{err}");
    let one_sided = V2.replacen(
        "fit = [\"over_invested\"], returns_pay = true",
        "fit = [\"over_invested\", \"balanced\"], returns_pay = true",
        1,
    );
    let err = load_model("v2.toml", &one_sided).unwrap_err().to_string();
    assert!(err.contains("for firms whose returns pay and for those whose returns do not"), "{err}");
    let unknown = V2.replacen("measured_item = \"bv.return_measured\"", "measured_item = \"bv.nothing\"", 1);
    let err = load_model("v2.toml", &unknown).unwrap_err().to_string();
    assert!(err.contains("fit.returns: unknown item `bv.nothing`"), "{err}");
}

const V3: &str = include_str!("../../../../models/nl-social-business/v3.toml");

/// Version 3 bounds value sources as version 2 bounds stages: version 2's value sources, under the
/// same bound, are refused (trust building rests on items of weight 3.5 in all).
#[test]
fn a_value_source_one_answer_could_decide_is_refused() {
    let strict =
        V2.replacen("max_answer_swing = 20.0\n", "max_answer_swing = 20.0\nmax_value_source_swing = 20.0\n", 1);
    assert_ne!(strict, V2);
    let err = load_model("v2.toml", &strict).unwrap_err().to_string();
    assert!(err.contains("value source `trust_building`: one answer to `v.trust_building.reviews_answered` can move its score by 28.6 points"), "{err}");
    assert!(
        err.contains("value source `co_creation`: one answer to `e4.ideas_acted_on` can move its score by 22.2"),
        "{err}"
    );
    assert!(load_model("v3.toml", V3).is_ok());
}

/// Practices name known items and processes, never share an item, and stay on one stage.
#[test]
fn practices_are_checked() {
    let broken = V3
        .replacen("process = \"market_research\"", "process = \"astrology\"", 1)
        .replacen("items = [\"e1.owner\", \"e1.findings_discussed\"]", "items = [\"e1.owner\", \"e1.alerts\"]", 1)
        .replacen("items = [\"i3.hr\"]", "items = [\"i3.hr\", \"i4.strategy_x\"]", 1)
        .replacen(
            "items = [\"e3.employees_visible\", \"e3.leads_from_conversations\"]",
            "items = [\"e3.employees_visible\", \"e4.shared_platform\"]",
            1,
        );
    let err = load_model("v3.toml", &broken).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("practice `monitoring`: unknown process `astrology`"), "{text}");
    assert!(text.contains("practice `listening_owned`: item `e1.alerts` already belongs to `monitoring`"), "{text}");
    assert!(text.contains("practice `recruitment`: unknown item `i4.strategy_x`"), "{text}");
    assert!(
        text.contains("practice `social_selling`: its items must be evidence for one and the same stage"),
        "{text}"
    );
    assert!(err.problems.iter().all(|p| p.line.is_some()), "{text}");
}
