//! Chapters typeset end to end: both languages, hostile firm names shown literally, a broken
//! template failing clearly, and deterministic output. PDFs are read back with a text extractor.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests stop at the first surprise")]

use std::sync::OnceLock;

use report_gen::chapter::{AxisView, Chapter, DimensionView, PeersView, StageView};
use report_gen::{Templates, Typesetter};

fn typesetter() -> &'static Typesetter {
    static T: OnceLock<Typesetter> = OnceLock::new();
    T.get_or_init(Typesetter::new)
}

fn axis(label: &str) -> AxisView {
    AxisView {
        label: label.into(),
        index: 41.25,
        stage: 2,
        stage_label: "Reageren".into(),
        stages: (1..=4)
            .map(|n| StageView {
                number: n,
                label: format!("Fase {n}"),
                capability: 100.0 - 25.0 * f64::from(n),
                attained: n <= 2,
                skipped: false,
                peer_share: Some(0.25),
            })
            .collect(),
    }
}

fn chapter(firm_name: &str) -> Chapter {
    Chapter {
        number: 3,
        firm_name: firm_name.into(),
        sector: "F Bouwnijverheid".into(),
        size: "Klein".into(),
        province: "Gelderland".into(),
        model: "nl-social-business v1".into(),
        date: "28 november 2026".into(),
        maturity_index: 36.2,
        external: axis("Extern"),
        internal: axis("Intern"),
        value_sources: vec![DimensionView { label: "Co-creatie".into(), score: Some(33.3), peer_median: None }],
        proposition: 14.5,
        fit: "In balans".into(),
        fit_advice: "Investeer gericht.".into(),
        fit_target: 30.1,
        fit_gap: 6.1,
        archetype: "Marketinggedreven".into(),
        forrester: "Testen".into(),
        altimeter: "Aanwezigheid".into(),
        peers: Some(PeersView {
            group: "F Bouwnijverheid · Klein".into(),
            n: 69,
            k: 10,
            year: 2025,
            fallback: None,
            synthetic_percent: 100.0,
            percentile: 72.7,
            rogers: "Vroege meerderheid".into(),
            quartiles: [20.0, 30.0, 40.0],
        }),
        synthetic: true,
    }
}

fn text_of(pdf: &[u8]) -> String {
    let text = pdf_extract::extract_text_from_mem(pdf).unwrap();
    // Justified text may break words across lines with hyphens; compare on joined words.
    text.replace("-\n", "").split_whitespace().collect::<Vec<_>>().join(" ")
}

fn render(lang: &str, c: &Chapter) -> Vec<u8> {
    let source = Templates::builtin().unwrap().render(&format!("chapter.{lang}.typ"), c).unwrap();
    typesetter().pdf(&source, &[], (2026, 11, 28), "test-chapter").unwrap_or_else(|e| panic!("{e}\n{source}"))
}

#[test]
fn both_languages_carry_name_group_and_headings() {
    for (lang, headings) in [
        ("nl", ["Waar het bedrijf staat", "Waardebronnen", "Positie onder branchegenoten", "Methode"]),
        ("en", ["Where the firm stands", "Value sources", "Position among peers", "Method"]),
    ] {
        let pdf = render(lang, &chapter("Bakkerij De Korenschoof B.V."));
        assert!(pdf.starts_with(b"%PDF-"));
        let text = text_of(&pdf);
        assert!(text.contains("Bakkerij De Korenschoof B.V."), "{lang}: {text}");
        assert!(text.contains("n = 69"), "{lang}: {text}");
        let index = if lang == "nl" { "36,2" } else { "36.2" };
        assert!(text.contains(index), "{lang}: decimal separator: {text}");
        assert!(text.contains("F Bouwnijverheid"), "{lang}: {text}");
        for h in headings {
            assert!(text.contains(h), "{lang}: heading {h} missing in {text}");
        }
    }
}

#[test]
fn hostile_firm_names_appear_literally() {
    let names = [
        r#"#set page(width: 1cm) *bold* $x^2$ [link] {{ tera }} {% if %} <b>html</b> "quoted" \back"#,
        // Greek, Cyrillic and Latin with diacritics are in the embedded fonts. Scripts without
        // embedded glyphs (CJK) are refused by PDF/A with a clear error until such a font is added.
        "Ωmega Σύνδεσμος Общество Ünïcödé — ÆØÅ ĳ",
        "#pagebreak() #panic(\"boom\") #read(\"/etc/passwd\")",
    ];
    for name in names {
        let pdf = render("nl", &chapter(name));
        let text = text_of(&pdf);
        // Extractors may split words at kerning; compare without white space.
        let squeeze = |t: &str| t.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        assert!(squeeze(&text).contains(&squeeze(name)), "{name:?} not literal in: {text}");
    }
}

#[test]
fn a_broken_template_fails_naming_template_and_line() {
    let broken = "= Kop\n\n{{ firm_name | }}\n\nmeer tekst\n";
    let err = Templates::from_sources([("kapot.typ".to_string(), broken.to_string())]).unwrap_err().to_string();
    assert!(err.contains("kapot.typ"), "{err}");
    assert!(err.contains("--> 3:"), "{err}");
    // A template that parses but uses what the context lacks fails at render time, named.
    let t = Templates::from_sources([("leeg.typ".to_string(), "{{ nergens.iets }}".to_string())]).unwrap();
    let err = t.render("leeg.typ", &chapter("x")).unwrap_err().to_string();
    assert!(err.contains("leeg.typ"), "{err}");
    // Typst errors in a template's output name their line too.
    let err = typesetter().pdf("= Kop\n\n#nonexistent()\n", &[], (2026, 1, 1), "x").unwrap_err().to_string();
    assert!(err.contains("line 3"), "{err}");
}

#[test]
fn the_document_reads_no_file_it_was_not_given() {
    let err = typesetter().pdf("#read(\"/etc/hostname\")", &[], (2026, 1, 1), "x").unwrap_err().to_string();
    assert!(err.contains("line 1"), "{err}");
    let ok = typesetter().pdf("#read(\"data.txt\")", &[("data.txt", b"gegeven".to_vec())], (2026, 1, 1), "x").unwrap();
    assert!(text_of(&ok).contains("gegeven"));
}

#[test]
fn output_is_deterministic() {
    let a = render("en", &chapter("Same Firm"));
    let b = render("en", &chapter("Same Firm"));
    assert_eq!(a, b);
}
