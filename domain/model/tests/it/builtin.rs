//! The shipped model `nl-social-business` v1 loads and covers what MODEL.md requires.

use domain_model::{AdviceFacts, Axis, Facet, Facts, FitVerdict, ModelRegistry, Target, ValueSource};

#[test]
fn builtin_model_loads_and_covers_the_domain() {
    let registry = ModelRegistry::builtin().unwrap();
    let model = registry.resolve("", 0).unwrap();
    assert_eq!((model.id.as_str(), model.version), ("nl-social-business", 1));
    assert!(model.items.len() >= 40, "{} items", model.items.len());
    for axis in Axis::ALL {
        for stage in 1..=4 {
            assert!(model.items_for(Target::Stage(axis, stage)).count() >= 3, "{axis:?} {stage}");
        }
    }
    for v in ValueSource::ALL {
        assert!(model.items_for(Target::ValueSource(v)).count() >= 3, "{v:?}");
    }
    assert!(model.items_for(Target::Proposition).count() >= 1);
    for f in Facet::ALL {
        assert!(model.items_for(Target::BusinessValue(f)).count() >= 1, "{f:?}");
    }
    for item in &model.items {
        assert!(!item.text.nl.is_empty() && !item.text.en.is_empty(), "{}", item.id);
        assert_ne!(item.text.nl, item.text.en, "{} is not translated", item.id);
    }
}

#[test]
fn references_resolve_by_id_and_version() {
    let registry = ModelRegistry::builtin().unwrap();
    assert_eq!(registry.resolve("nl-social-business", 1).unwrap().version, 1);
    let unknown = registry.resolve("us-social", 0).unwrap_err();
    assert!(unknown.to_string().contains("unknown model `us-social`"), "{unknown}");
    let version = registry.resolve("nl-social-business", 7).unwrap_err();
    assert!(version.to_string().contains("no version 7"), "{version}");
}

#[test]
fn rogers_categories_follow_the_cut_points() {
    let registry = ModelRegistry::builtin().unwrap();
    let model = registry.resolve("", 0).unwrap();
    let check = |p: f64, id: &str| assert_eq!(model.rogers_category(p).id, id, "percentile {p}");
    check(100.0, "innovators");
    check(97.5, "innovators");
    check(97.4, "early_adopters");
    check(84.0, "early_adopters");
    check(50.0, "early_majority");
    check(49.9, "late_majority");
    check(16.0, "late_majority");
    check(15.9, "laggards");
    check(0.0, "laggards");
}

fn advice_ids(model: &domain_model::Model, facts: &AdviceFacts) -> Vec<String> {
    model.advice(facts).map(|r| r.id.clone()).collect()
}

#[test]
fn recommendations_follow_their_rules() {
    let model = ModelRegistry::builtin().unwrap().resolve("", 0).unwrap();
    let mut facts = AdviceFacts {
        facts: Facts { external_stage: 3, internal_stage: 1, proposition: 10.0, social_native: false },
        verdict: FitVerdict::OverInvested,
        indexes: [70.0, 30.0],
        value_sources: [Some(20.0), Some(60.0), None, Some(80.0)],
        peer_medians: [Some(40.0), Some(50.0), Some(50.0), Some(50.0)],
    };
    // Over-invested: stop, and nothing that asks for more spending.
    let ids = advice_ids(&model, &facts);
    assert!(ids.contains(&"no_further_investment".to_string()), "{ids:?}");
    assert!(ids.contains(&"external_ahead".to_string()), "{ids:?}");
    assert!(!ids.contains(&"co_creation_behind_peers".to_string()), "{ids:?}");
    assert!(!ids.contains(&"measure_returns".to_string()), "{ids:?}");
    // Balanced: sources below the peers' median are named; an unanswered one is not.
    facts.verdict = FitVerdict::Balanced;
    let ids = advice_ids(&model, &facts);
    assert!(!ids.contains(&"no_further_investment".to_string()), "{ids:?}");
    assert!(ids.contains(&"co_creation_behind_peers".to_string()), "{ids:?}");
    assert!(!ids.contains(&"sharing_behind_peers".to_string()), "{ids:?}");
    assert!(!ids.contains(&"network_behind_peers".to_string()), "{ids:?}");
    assert!(ids.contains(&"measure_returns".to_string()), "{ids:?}");
    // Without peers no comparison with peers is claimed.
    facts.peer_medians = [None; 4];
    assert!(!advice_ids(&model, &facts).iter().any(|id| id.ends_with("_behind_peers")));
    // Nothing visible outside: start listening.
    facts.facts.external_stage = 0;
    facts.indexes = [5.0, 10.0];
    let ids = advice_ids(&model, &facts);
    assert!(ids.contains(&"start_listening".to_string()), "{ids:?}");
    assert!(!ids.contains(&"external_ahead".to_string()), "{ids:?}");
}
