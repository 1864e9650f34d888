//! A page's form as the browser posts it (`application/x-www-form-urlencoded`), read and checked
//! against the page's items before anything is saved: an item that is not on the page, a value
//! that is not on its scale, or a second value for one item refuses the whole form.

use std::collections::BTreeMap;

use domain_model::{Locale, Model, ScaleKind};
use services_api::v1 as pb;

/// The value of "don't know" in a form and a draft.
pub const DONT_KNOW: &str = "dont_know";
/// The prefix of an answer's field name: `a.` and the item id.
pub const ANSWER: &str = "a.";

/// Where the firm goes after saving a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Go {
    /// The page before.
    Previous,
    /// The page after (the review after the last page).
    Next,
    /// The review page.
    Review,
    /// The same page again (saving only; what the page's script sends).
    Stay,
}

/// A page's form, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Posted {
    /// The form's CSRF token; empty when missing.
    pub csrf: String,
    pub go: Go,
    /// Answers in the order posted: item id, value.
    pub answers: Vec<(String, String)>,
}

/// Why a form was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The body is not UTF-8 form data.
    Unreadable,
    /// An answer to an item the model does not have.
    UnknownItem(String),
    /// An answer to an item of another page.
    NotOnPage(String),
    /// A value not on the item's scale.
    OffScale { item: String, value: String },
    /// Two values for one item.
    Twice(String),
    /// The form's CSRF token is missing or not this browser's.
    Stale,
}

impl Refusal {
    /// The item it concerns, if one.
    pub fn item(&self) -> Option<&str> {
        match self {
            Refusal::Unreadable | Refusal::Stale => None,
            Refusal::UnknownItem(i) | Refusal::NotOnPage(i) | Refusal::Twice(i) => Some(i),
            Refusal::OffScale { item, .. } => Some(item),
        }
    }

    /// What to tell the firm, in `locale`.
    pub fn message(&self, locale: Locale) -> String {
        let nl = locale == Locale::Nl;
        match self {
            Refusal::Unreadable if nl => "Het formulier kon niet worden gelezen. Laad de pagina opnieuw.".into(),
            Refusal::Unreadable => "The form could not be read. Please reload the page.".into(),
            Refusal::UnknownItem(_) if nl => "Er is een antwoord ontvangen op een vraag die niet in de vragenlijst staat. Laad de pagina opnieuw.".into(),
            Refusal::UnknownItem(_) => "An answer was received for a question that is not in the questionnaire. Please reload the page.".into(),
            Refusal::NotOnPage(_) if nl => "Er is een antwoord ontvangen op een vraag die niet op deze pagina staat. Laad de pagina opnieuw.".into(),
            Refusal::NotOnPage(_) => "An answer was received for a question that is not on this page. Please reload the page.".into(),
            Refusal::OffScale { value, .. } if nl => {
                format!("‘{value}’ is geen van de antwoorden. Kies een antwoord uit de lijst.")
            }
            Refusal::OffScale { value, .. } => {
                format!("‘{value}’ is not one of the answers. Please choose an answer from the list.")
            }
            Refusal::Stale if nl => {
                "Om veiligheidsredenen is niets opgeslagen: het formulier was verlopen. Uw antwoorden staan hieronder; druk nogmaals op de knop om ze op te slaan.".into()
            }
            Refusal::Stale => {
                "For security reasons nothing was saved: the form had expired. Your answers are shown below; press the button again to save them.".into()
            }
            Refusal::Twice(_) if nl => "Deze vraag kreeg twee antwoorden. Kies er één.".into(),
            Refusal::Twice(_) => "This question received two answers. Please choose one.".into(),
        }
    }
}

/// Reads a posted form. Fields other than `csrf`, `go` and answers are ignored.
pub fn read(body: &[u8]) -> Result<Posted, Refusal> {
    if std::str::from_utf8(body).is_err() {
        return Err(Refusal::Unreadable);
    }
    let mut posted = Posted { csrf: String::new(), go: Go::Stay, answers: Vec::new() };
    for (name, value) in form_urlencoded::parse(body) {
        match name.as_ref() {
            "csrf" => posted.csrf = value.into_owned(),
            "go" => {
                posted.go = match value.as_ref() {
                    "previous" => Go::Previous,
                    "next" => Go::Next,
                    "review" => Go::Review,
                    _ => Go::Stay,
                }
            }
            other => {
                if let Some(item) = other.strip_prefix(ANSWER) {
                    posted.answers.push((item.to_string(), value.into_owned()));
                }
            }
        }
    }
    Ok(posted)
}

/// Whether `value` answers item `item` of `model`: one of its scale's values, or "don't know"
/// when the scale allows it.
pub fn on_scale(model: &Model, item: usize, value: &str) -> bool {
    let scale = model.scale_of(&model.items[item]);
    (value == DONT_KNOW && scale.dont_know) || scale.point(value).is_some()
}

/// The answers of `posted` for the page of `items` (indices into `model.items`), checked: every
/// problem, or the answers by item id.
pub fn check(model: &Model, items: &[usize], posted: &Posted) -> Result<BTreeMap<String, String>, Vec<Refusal>> {
    let mut out = BTreeMap::new();
    let mut refused = Vec::new();
    for (id, value) in &posted.answers {
        let Some((index, _)) = model.item(id) else {
            refused.push(Refusal::UnknownItem(id.clone()));
            continue;
        };
        if !items.contains(&index) {
            refused.push(Refusal::NotOnPage(id.clone()));
        } else if !on_scale(model, index, value) {
            refused.push(Refusal::OffScale { item: id.clone(), value: value.clone() });
        } else if out.insert(id.clone(), value.clone()).is_some() {
            refused.push(Refusal::Twice(id.clone()));
        }
    }
    if refused.is_empty() { Ok(out) } else { Err(refused) }
}

/// A draft's answer as the API carries it; `None` for a value not on the item's scale (a draft of
/// an item the model no longer has cannot occur: the model version is pinned).
pub fn answer_pb(model: &Model, item_id: &str, value: &str) -> Option<pb::Answer> {
    use pb::answer::Value;
    let (index, item) = model.item(item_id)?;
    if !on_scale(model, index, value) {
        return None;
    }
    let scale = model.scale_of(item);
    let v = if value == DONT_KNOW {
        Value::DontKnow(true)
    } else {
        match scale.kind {
            ScaleKind::Likert => Value::Likert(scale.point(value)?.number?),
            ScaleKind::YesNo => Value::Yes(value == "yes"),
            ScaleKind::Choice => Value::Choice(value.to_string()),
        }
    };
    Some(pb::Answer { item_id: item_id.to_string(), value: Some(v) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain_model::ModelRegistry;

    fn model() -> std::sync::Arc<Model> {
        ModelRegistry::builtin().unwrap().resolve("", 0).unwrap()
    }

    #[test]
    fn a_form_is_read_with_its_token_its_direction_and_its_answers_in_order() {
        let posted = read(b"csrf=abc&go=next&a.e1.alerts=3&lang=en&a.e1.owner=dont_know").unwrap();
        assert_eq!(posted.csrf, "abc");
        assert_eq!(posted.go, Go::Next);
        assert_eq!(posted.answers, [("e1.alerts".into(), "3".into()), ("e1.owner".into(), "dont_know".into())]);
        assert_eq!(read(&[b'a', 0xff]), Err(Refusal::Unreadable));
    }

    #[test]
    fn unknown_items_items_of_other_pages_values_off_the_scale_and_second_answers_are_refused() {
        let model = model();
        let (e1, _) = model.item("e1.mentions_followed").unwrap();
        let page = [e1];
        let form = |answers: &[(&str, &str)]| Posted {
            csrf: String::new(),
            go: Go::Stay,
            answers: answers.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect(),
        };
        assert_eq!(check(&model, &page, &form(&[("e1.mentions_followed", "4")])).unwrap()["e1.mentions_followed"], "4");
        assert_eq!(
            check(&model, &page, &form(&[("e1.mentions_followed", DONT_KNOW)])).unwrap()["e1.mentions_followed"],
            DONT_KNOW
        );
        let refused = check(
            &model,
            &page,
            &form(&[
                ("x.y", "1"),
                ("i1.pilot", "1"),
                ("e1.mentions_followed", "9"),
                ("e1.mentions_followed", "2"),
                ("e1.mentions_followed", "3"),
            ]),
        )
        .unwrap_err();
        assert_eq!(
            refused,
            [
                Refusal::UnknownItem("x.y".into()),
                Refusal::NotOnPage("i1.pilot".into()),
                Refusal::OffScale { item: "e1.mentions_followed".into(), value: "9".into() },
                Refusal::Twice("e1.mentions_followed".into()),
            ]
        );
        assert!(refused.iter().all(|r| !r.message(Locale::Nl).is_empty() && !r.message(Locale::En).is_empty()));
    }

    #[test]
    fn every_point_of_every_scale_becomes_the_answer_the_api_takes() {
        let model = model();
        for item in &model.items {
            let scale = model.scale_of(item);
            for p in &scale.points {
                let a = answer_pb(&model, &item.id, &p.value).unwrap();
                let request = pb::ScoreAssessmentRequest { answers: vec![a], ..Default::default() };
                let (_, violations) = services_api::convert::request_from_pb(&request);
                assert!(violations.is_empty(), "{} = {}: {violations:?}", item.id, p.value);
            }
            assert_eq!(answer_pb(&model, &item.id, DONT_KNOW).is_some(), scale.dont_know, "{}", item.id);
            assert!(answer_pb(&model, &item.id, "off").is_none());
        }
    }
}
