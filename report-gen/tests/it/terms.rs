//! The terms list (`docs/terms.md`) over the templates and the default model's texts, and the
//! check shown to fail on a planted term, in a template and in the chapter it renders.

use report_gen::Templates;
use report_gen::templates::BUILTIN;
use test_support::terms::{self, Lang, model_texts, template_prose};

use crate::{chapter, text_of, typesetter};

fn langs_of(name: &str) -> &'static [Lang] {
    if name.contains(".nl.") {
        &[Lang::Nl]
    } else if name.contains(".en.") {
        &[Lang::En]
    } else {
        &[Lang::Nl, Lang::En]
    }
}

#[test]
fn the_templates_and_the_default_model_follow_the_terms_list() {
    let list = terms::load();
    let mut found = Vec::new();
    for (name, text) in BUILTIN {
        let prose = template_prose(text);
        for &lang in langs_of(name) {
            found.extend(list.ruled_out(&prose, lang).into_iter().map(|f| format!("{name}: {f}")));
        }
    }
    let registry = domain_model::ModelRegistry::builtin().unwrap();
    let default = registry.resolve("", 0).unwrap();
    let file = format!("{}/../models/{}/v{}.toml", env!("CARGO_MANIFEST_DIR"), default.id, default.version);
    let (nl, en) = model_texts(&std::fs::read_to_string(&file).unwrap());
    assert!(nl.len() > 100 && en.len() > 100, "{file}: {} and {} texts", nl.len(), en.len());
    for (texts, lang) in [(nl, Lang::Nl), (en, Lang::En)] {
        for t in texts {
            found.extend(list.ruled_out(&t, lang).into_iter().map(|f| format!("{file}: {f}")));
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn a_planted_term_is_found() {
    let list = terms::load();
    let (name, body) = BUILTIN.iter().find(|(n, _)| *n == "body.nl.typ").unwrap();
    let planted = body.replace("== Verantwoording", "== Verantwoording per trede");
    assert_ne!(&planted, body, "the heading to plant in is gone");
    assert!(list.ruled_out(&template_prose(body), Lang::Nl).is_empty());
    let found = list.ruled_out(&template_prose(&planted), Lang::Nl);
    assert!(found.iter().any(|f| f.contains("`trede`")), "{name}: {found:?}");
    // And in the chapter it renders, beside the form rules.
    let templates = Templates::from_sources(
        BUILTIN.iter().map(|(n, t)| (n.to_string(), if n == name { planted.clone() } else { t.to_string() })),
    )
    .unwrap();
    let c = chapter("Plantage BV");
    let render = |t: &Templates| {
        let source = t.chapter(&c, "nl").unwrap();
        text_of(&typesetter().pdf(&source, &[], (2026, 11, 28), "terms").unwrap())
    };
    let clean = list.check_rendered(&render(&Templates::builtin().unwrap()), Lang::Nl, &["Plantage BV"]);
    let dirty = list.check_rendered(&render(&templates), Lang::Nl, &["Plantage BV"]);
    assert!(dirty.iter().any(|f| f.contains("`trede`")), "{dirty:?}");
    assert_eq!(dirty.len(), clean.len() + 1, "{dirty:?}");
    // The form rules each catch what they name.
    let form = list.check_rendered("Zie docs/method.md: Fase 2 van 10e-90e.", Lang::Nl, &[]);
    assert_eq!(form.len(), 3, "{form:?}");
}
