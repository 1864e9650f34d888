//! The questionnaire's pages as HTML: Tera templates (`templates/`, compiled in, every value
//! escaped) and the words of the pages in Dutch and English. The model's own texts (questions,
//! answers, stages) come from the model.

use std::collections::BTreeMap;

use domain_model::questionnaire::Section;
use domain_model::{Axis, Locale, Model};
use serde::Serialize;

/// The words of the pages: key, Dutch, English. One register in Dutch: the firm is addressed with
/// "u", questions speak as "we" (the model's items do).
const WORDS: &[(&str, &str, &str)] = &[
    ("site", "Vragenlijst sociale volwassenheid", "Social maturity questionnaire"),
    ("skip", "Naar de vragen", "Skip to the questions"),
    ("other_language", "English", "Nederlands"),
    ("for_firm", "Voor", "For"),
    (
        "intro",
        "Met deze vragenlijst brengt u in kaart hoe uw bedrijf social media inzet, naar buiten en binnen de organisatie, en wat dat oplevert. Uw adviseur vergelijkt de uitkomst anoniem met die van branchegenoten: Nederlandse bedrijven in dezelfde sector en grootteklasse.",
        "This questionnaire maps how your firm uses social media, towards the outside world and inside the organisation, and what it returns. Your consultant compares the outcome anonymously with that of peers: Dutch firms in the same sector and size class.",
    ),
    (
        "how",
        "Er zijn {items} vragen op {pages} pagina's. Uw antwoorden worden tussentijds opgeslagen; via dezelfde link kunt u later verdergaan, ook op een ander apparaat. Weet u een antwoord niet, kies dan ‘Weet ik niet’.",
        "There are {items} questions on {pages} pages. Your answers are saved as you go; with the same link you can continue later, also on another device. If you do not know an answer, choose ‘Don’t know’.",
    ),
    ("expires", "De link werkt tot en met {date}.", "The link works up to and including {date}."),
    ("start", "Beginnen", "Start"),
    ("continue", "Verder waar u was", "Continue where you left off"),
    ("parts", "Onderdelen", "Parts"),
    ("answered_of", "{answered} van {total} beantwoord", "{answered} of {total} answered"),
    ("page_of", "Pagina {number} van {count}", "Page {number} of {count}"),
    ("progress", "Voortgang", "Progress"),
    ("previous", "Vorige pagina", "Previous page"),
    ("next", "Opslaan en volgende pagina", "Save and next page"),
    ("to_review", "Opslaan en controleren", "Save and review"),
    ("save", "Opslaan", "Save"),
    ("autosaved", "Uw antwoorden zijn opgeslagen.", "Your answers have been saved."),
    (
        "autosave_failed",
        "Uw antwoorden konden niet automatisch worden opgeslagen. Gebruik de knop ‘Opslaan’.",
        "Your answers could not be saved automatically. Please use the ‘Save’ button.",
    ),
    ("dont_know", "Weet ik niet", "Don’t know"),
    ("errors_heading", "Er is iets mis met dit formulier", "There is a problem with this form"),
    (
        "errors_nothing_saved",
        "Niets van deze pagina is opgeslagen. Pas het volgende aan:",
        "Nothing on this page was saved. Please correct the following:",
    ),
    ("review_heading", "Controleren en versturen", "Review and submit"),
    (
        "review_intro",
        "Hieronder ziet u per pagina hoeveel vragen u hebt beantwoord. Na het versturen kunt u de antwoorden niet meer wijzigen.",
        "Below you see, per page, how many questions you have answered. Once submitted, the answers can no longer be changed.",
    ),
    ("change", "Wijzigen", "Change"),
    ("not_ready", "Voordat u uw antwoorden kunt versturen", "Before you can submit your answers"),
    ("submit", "Antwoorden versturen", "Submit the answers"),
    ("section_value_sources", "Waardebronnen", "Sources of value"),
    (
        "section_value_sources_about",
        "Hoe social media bijdragen aan samenwerking, kennis, netwerk en vertrouwen.",
        "How social media contribute to collaboration, knowledge, network and trust.",
    ),
    ("section_proposition", "Propositie", "Proposition"),
    (
        "section_proposition_about",
        "Hoe belangrijk social media zijn voor wat u klanten biedt en hoe zij u vinden.",
        "How much social media matter to what you offer customers and how they find you.",
    ),
    ("section_business_value", "Kosten en opbrengsten", "Costs and returns"),
    (
        "section_business_value_about",
        "Wat social media uw bedrijf kosten en opleveren.",
        "What social media cost your firm and bring in.",
    ),
    ("part_value_sources", "Waardebronnen", "Sources of value"),
    ("part_returns", "Propositie, kosten en opbrengsten", "Proposition, costs and returns"),
    ("submitted_heading", "Uw antwoorden zijn verstuurd", "Your answers have been submitted"),
    (
        "submitted_text",
        "Dank u wel. De antwoorden zijn op {date} ontvangen; uw adviseur neemt contact met u op over de uitkomst. De vragenlijst kan niet opnieuw worden ingevuld.",
        "Thank you. The answers were received on {date}; your consultant will contact you about the outcome. The questionnaire cannot be answered again.",
    ),
    ("expired_heading", "Deze link is verlopen", "This link has expired"),
    (
        "expired_text",
        "De link werkte tot en met {date}. Vraag uw adviseur om een nieuwe link; de antwoorden die u al hebt gegeven, zijn nog niet verstuurd.",
        "The link worked up to and including {date}. Please ask your consultant for a new link; the answers you have already given have not yet been submitted.",
    ),
    ("revoked_heading", "Deze link is ingetrokken", "This link has been withdrawn"),
    (
        "revoked_text",
        "Uw adviseur heeft deze link ingetrokken. Neem contact op met uw adviseur als u de vragenlijst toch wilt invullen.",
        "Your consultant has withdrawn this link. Please contact your consultant if you still wish to fill in the questionnaire.",
    ),
    ("unknown_heading", "Deze link is niet bekend", "This link is not known"),
    (
        "unknown_text",
        "Controleer of u de hele link hebt overgenomen uit het bericht van uw adviseur.",
        "Please check that you copied the whole link from your consultant’s message.",
    ),
    ("slow_heading", "Te veel onbekende links", "Too many unknown links"),
    (
        "slow_text",
        "Vanaf uw internetverbinding zijn te veel onbekende links geprobeerd. Probeer het over een minuut opnieuw.",
        "Too many unknown links were tried from your internet connection. Please try again in a minute.",
    ),
    ("csrf_heading", "Het formulier is verlopen", "The form has expired"),
    (
        "csrf_text",
        "Om veiligheidsredenen is niets opgeslagen. Ga terug, laad de pagina opnieuw en probeer het nog eens.",
        "For security reasons nothing was saved. Please go back, reload the page and try again.",
    ),
    ("too_large_heading", "Het formulier is te groot", "The form is too large"),
    (
        "too_large_text",
        "Er is niets opgeslagen. Laad de pagina opnieuw en probeer het nog eens.",
        "Nothing was saved. Please reload the page and try again.",
    ),
    ("unavailable_heading", "Tijdelijk niet beschikbaar", "Temporarily unavailable"),
    (
        "unavailable_text",
        "Uw antwoorden konden op dit moment niet worden verwerkt; wat u eerder hebt opgeslagen, gaat niet verloren. Probeer het over enkele minuten opnieuw.",
        "Your answers could not be processed just now; what you saved before is kept. Please try again in a few minutes.",
    ),
    ("back_to_start", "Naar het begin van de vragenlijst", "To the start of the questionnaire"),
];

/// The words of `locale`, by key.
pub fn words(locale: Locale) -> BTreeMap<&'static str, &'static str> {
    WORDS.iter().map(|(k, nl, en)| (*k, if locale == Locale::Nl { *nl } else { *en })).collect()
}

/// The word `key` in `locale` with `{name}` replaced by each value of `values`.
pub fn word(locale: Locale, key: &str, values: &[(&str, String)]) -> String {
    let found =
        WORDS.iter().find(|(k, _, _)| *k == key).map_or(key, |(_, nl, en)| if locale == Locale::Nl { nl } else { en });
    values.iter().fold(found.to_string(), |text, (name, value)| text.replace(&format!("{{{name}}}"), value))
}

/// The title of a page's section and what it asks about.
pub fn section_title(model: &Model, section: Section, locale: Locale) -> (String, String) {
    match section {
        Section::Stage(axis, stage) => {
            let s = &model.axis(axis).stages[usize::from(stage)];
            (s.label.get(locale).to_string(), s.description.get(locale).to_string())
        }
        Section::ValueSources => {
            (word(locale, "section_value_sources", &[]), word(locale, "section_value_sources_about", &[]))
        }
        Section::Proposition => {
            (word(locale, "section_proposition", &[]), word(locale, "section_proposition_about", &[]))
        }
        Section::BusinessValue => {
            (word(locale, "section_business_value", &[]), word(locale, "section_business_value_about", &[]))
        }
    }
}

/// The title of part `part` (`Section::part`).
pub fn part_title(model: &Model, part: usize, locale: Locale) -> String {
    match part {
        0 => model.axis(Axis::External).label.get(locale).to_string(),
        1 => model.axis(Axis::Internal).label.get(locale).to_string(),
        2 => word(locale, "part_value_sources", &[]),
        _ => word(locale, "part_returns", &[]),
    }
}

/// What every page shows.
#[derive(Clone, Debug, Serialize)]
pub struct Frame {
    /// `nl` or `en`.
    pub lang: String,
    /// The link to this page in the other language.
    pub other_href: String,
    pub t: BTreeMap<&'static str, &'static str>,
    /// The page's title (the browser's tab).
    pub title: String,
    pub firm_name: String,
}

/// One answer of a question.
#[derive(Clone, Debug, Serialize)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub checked: bool,
}

/// One question on a page.
#[derive(Clone, Debug, Serialize)]
pub struct Question {
    /// The item id.
    pub id: String,
    /// The form field: `a.` and the id.
    pub field: String,
    /// An HTML id for the question (the item id with its dots as dashes).
    pub anchor: String,
    pub number: usize,
    pub text: String,
    pub help: Option<String>,
    pub choices: Vec<Choice>,
    pub error: Option<String>,
}

/// An error in the summary at the top of a page.
#[derive(Clone, Debug, Serialize)]
pub struct Problem {
    /// Where it points (`#anchor`, or a page's link); empty for none.
    pub href: String,
    pub message: String,
}

/// The compiled templates.
#[derive(Debug)]
pub struct Templates(tera::Tera);

impl Templates {
    /// The built-in templates.
    pub fn new() -> Result<Templates, tera::Error> {
        let mut tera = tera::Tera::default();
        tera.add_raw_templates([
            ("base.html", include_str!("../templates/base.html")),
            ("start.html", include_str!("../templates/start.html")),
            ("page.html", include_str!("../templates/page.html")),
            ("review.html", include_str!("../templates/review.html")),
            ("notice.html", include_str!("../templates/notice.html")),
        ])?;
        tera.autoescape_on(vec![".html"]);
        Ok(Templates(tera))
    }

    /// Renders `template` with `frame` and `page` (any serialisable value, as `page`).
    pub fn render(&self, template: &str, frame: &Frame, page: &impl Serialize) -> Result<String, tera::Error> {
        let mut context = tera::Context::new();
        context.insert("frame", frame);
        context.insert("page", page);
        self.0.render(template, &context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_is_given_in_both_languages_and_every_key_once() {
        let mut keys: Vec<&str> = WORDS.iter().map(|(k, _, _)| *k).collect();
        keys.sort_unstable();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n, "a key twice");
        for (key, nl, en) in WORDS {
            assert!(!nl.is_empty() && !en.is_empty(), "{key}");
            assert_ne!(nl, en, "{key}: not translated");
        }
        assert_eq!(word(Locale::En, "page_of", &[("number", "2".into()), ("count", "11".into())]), "Page 2 of 11");
    }
}
