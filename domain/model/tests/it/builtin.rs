//! The shipped model `nl-social-business` v1 loads and covers what MODEL.md requires.

use domain_model::{Axis, Facet, ModelRegistry, Target, ValueSource};

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
