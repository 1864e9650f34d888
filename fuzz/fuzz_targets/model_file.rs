//! Model-file parsing: any text is either a model or a list of problems, each naming its place;
//! never a panic. Seeded with the real model file, so that mutations stay near valid models and
//! reach the semantic checks (weights, stages, rule bounds), not only the TOML parser.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match domain_model::load::load_model("fuzz.toml", text) {
        Ok(model) => assert!(!model.items.is_empty(), "a model without items was accepted"),
        Err(e) => assert!(!e.to_string().is_empty(), "a refusal without a message"),
    }
});
