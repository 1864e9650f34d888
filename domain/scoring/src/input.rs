//! What a caller hands the engine, and every way it can be wrong.
//!
//! Problems carry where they are (`Location`), a stable machine-readable reason and a message in
//! both locales, so that an adapter can turn them into field violations without knowing the rules.

use domain_model::{
    Locale, Model, ScaleKind, Target,
    model::{Axis, MAX_STAGE},
};

/// One answer as received, borrowed from the request (scoring copies nothing it need not keep).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answer<'a> {
    /// The item answered.
    pub item_id: &'a str,
    /// The answer.
    pub value: AnswerValue<'a>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerValue<'a> {
    /// A point of a Likert scale.
    Likert(u32),
    /// Yes (`true`) or no.
    Yes(bool),
    /// A choice option id.
    Choice(&'a str),
    /// "Don't know": missing evidence, never a low answer.
    DontKnow,
    /// The answer carries no value at all (a malformed request).
    Missing,
}

/// The firm's coarse attributes as received (codes, not yet checked).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FirmInput<'a> {
    /// SBI 2008 section letter.
    pub sbi_section: &'a str,
    /// `micro`, `small`, `medium` or `large`.
    pub size_class: &'a str,
    /// ISO 3166-2:NL province code.
    pub province: &'a str,
}

/// Which attribute of the firm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FirmField {
    SbiSection,
    SizeClass,
    Province,
}

/// Which field of an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerField {
    ItemId,
    Value,
}

/// Where a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// A firm attribute.
    Firm(FirmField),
    /// A field of the answer at this position of the request.
    Answer(usize, AnswerField),
    /// The answers as a whole.
    Answers,
}

/// The part of the questionnaire a minimum applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// Items with evidence for a stage of this axis.
    Axis(Axis),
    /// Items with evidence for proposition centrality.
    Proposition,
}

impl Part {
    fn names(self) -> (&'static str, &'static str) {
        match self {
            Part::Axis(Axis::External) => ("de externe as", "the external axis"),
            Part::Axis(Axis::Internal) => ("de interne as", "the internal axis"),
            Part::Proposition => ("de propositie", "the proposition"),
        }
    }
}

/// One thing wrong with a request to score.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The SBI section is not a letter A-U.
    UnknownSbiSection(String),
    /// The size class is not one of the four.
    UnknownSizeClass(String),
    /// The province is not one of the twelve codes.
    UnknownProvince(String),
    /// An answer has no item id.
    MissingItemId {
        /// Position in the request.
        index: usize,
    },
    /// An answer names an item the model does not have.
    UnknownItem {
        /// Position in the request.
        index: usize,
        /// The id the request names.
        item_id: String,
    },
    /// An item is answered a second time.
    DuplicateAnswer {
        /// Position of the second answer.
        index: usize,
        item_id: String,
        /// Position of the first answer.
        first_index: usize,
    },
    /// An answer carries no value.
    MissingValue {
        /// Position in the request.
        index: usize,
        item_id: String,
    },
    /// An answer is not on its item's scale.
    OffScale {
        /// Position in the request.
        index: usize,
        item_id: String,
        /// The answer as given, for the message.
        given: String,
        /// What the scale accepts, for the message.
        expected: String,
    },
    /// Too few substantive answers for part of the questionnaire.
    TooFewAnswers {
        /// Which part.
        part: Part,
        /// Answers given (not counting "don't know").
        answered: u32,
        /// Answers needed.
        required: u32,
    },
}

impl Problem {
    /// Where the problem is.
    pub fn location(&self) -> Location {
        match self {
            Problem::UnknownSbiSection(_) => Location::Firm(FirmField::SbiSection),
            Problem::UnknownSizeClass(_) => Location::Firm(FirmField::SizeClass),
            Problem::UnknownProvince(_) => Location::Firm(FirmField::Province),
            Problem::MissingItemId { index } | Problem::UnknownItem { index, .. } => {
                Location::Answer(*index, AnswerField::ItemId)
            }
            Problem::DuplicateAnswer { index, .. } => Location::Answer(*index, AnswerField::ItemId),
            Problem::MissingValue { index, .. } | Problem::OffScale { index, .. } => {
                Location::Answer(*index, AnswerField::Value)
            }
            Problem::TooFewAnswers { .. } => Location::Answers,
        }
    }

    /// A stable, machine-readable reason (SCREAMING_SNAKE_CASE).
    pub fn reason(&self) -> &'static str {
        match self {
            Problem::UnknownSbiSection(_) => "UNKNOWN_SBI_SECTION",
            Problem::UnknownSizeClass(_) => "UNKNOWN_SIZE_CLASS",
            Problem::UnknownProvince(_) => "UNKNOWN_PROVINCE",
            Problem::MissingItemId { .. } => "MISSING_ITEM_ID",
            Problem::UnknownItem { .. } => "UNKNOWN_ITEM",
            Problem::DuplicateAnswer { .. } => "DUPLICATE_ANSWER",
            Problem::MissingValue { .. } => "MISSING_ANSWER_VALUE",
            Problem::OffScale { .. } => "ANSWER_OFF_SCALE",
            Problem::TooFewAnswers { .. } => "TOO_FEW_ANSWERS",
        }
    }

    /// What is wrong, in `locale`.
    pub fn message(&self, locale: Locale) -> String {
        let nl = locale == Locale::Nl;
        match self {
            Problem::UnknownSbiSection(v) if nl => {
                format!("onbekende SBI-sectie `{v}`: verwacht een letter A tot en met U")
            }
            Problem::UnknownSbiSection(v) => format!("unknown SBI section `{v}`: expected a letter A to U"),
            Problem::UnknownSizeClass(v) if nl => {
                format!("onbekende grootteklasse `{v}`: verwacht micro, small, medium of large")
            }
            Problem::UnknownSizeClass(v) => format!("unknown size class `{v}`: expected micro, small, medium or large"),
            Problem::UnknownProvince(v) if nl => {
                format!("onbekende provincie `{v}`: verwacht een ISO 3166-2:NL-code zoals NL-UT")
            }
            Problem::UnknownProvince(v) => {
                format!("unknown province `{v}`: expected an ISO 3166-2:NL code such as NL-UT")
            }
            Problem::MissingItemId { .. } if nl => "het antwoord noemt geen item".to_string(),
            Problem::MissingItemId { .. } => "the answer names no item".to_string(),
            Problem::UnknownItem { item_id, .. } if nl => format!("het model kent geen item `{item_id}`"),
            Problem::UnknownItem { item_id, .. } => format!("the model has no item `{item_id}`"),
            Problem::DuplicateAnswer { item_id, first_index, .. } if nl => {
                format!("item `{item_id}` is al beantwoord in answers[{first_index}]")
            }
            Problem::DuplicateAnswer { item_id, first_index, .. } => {
                format!("item `{item_id}` is already answered in answers[{first_index}]")
            }
            Problem::MissingValue { item_id, .. } if nl => format!("het antwoord op `{item_id}` heeft geen waarde"),
            Problem::MissingValue { item_id, .. } => format!("the answer to `{item_id}` has no value"),
            Problem::OffScale { item_id, given, expected, .. } if nl => {
                format!("antwoord {given} op `{item_id}` valt buiten de schaal; verwacht {expected}")
            }
            Problem::OffScale { item_id, given, expected, .. } => {
                format!("answer {given} to `{item_id}` is off its scale; expected {expected}")
            }
            Problem::TooFewAnswers { part, answered, required } if nl => format!(
                "te weinig antwoorden over {}: {answered} gegeven (\"weet niet\" telt niet mee), minstens {required} nodig",
                part.names().0
            ),
            Problem::TooFewAnswers { part, answered, required } => format!(
                "too few answers on {}: {answered} given (\"don't know\" does not count), at least {required} needed",
                part.names().1
            ),
        }
    }
}

/// Checks every answer against `model` and returns the item scores (by model item index; `None`
/// for unanswered or "don't know") and the number of "don't know" answers, or every problem found.
pub(crate) fn item_scores(
    model: &Model,
    answers: &[Answer<'_>],
    problems: &mut Vec<Problem>,
) -> (Vec<Option<f64>>, u32) {
    let mut scores = vec![None; model.items.len()];
    let mut first_seen: Vec<Option<usize>> = vec![None; model.items.len()];
    let mut dont_know = 0;
    for (index, answer) in answers.iter().enumerate() {
        if answer.item_id.trim().is_empty() {
            problems.push(Problem::MissingItemId { index });
            continue;
        }
        let Some((item_index, item)) = model.item(answer.item_id) else {
            problems.push(Problem::UnknownItem { index, item_id: answer.item_id.to_string() });
            continue;
        };
        if let Some(first_index) = first_seen[item_index] {
            problems.push(Problem::DuplicateAnswer { index, item_id: item.id.clone(), first_index });
            continue;
        }
        first_seen[item_index] = Some(index);
        let scale = model.scale_of(item);
        let off_scale =
            |given: String| Problem::OffScale { index, item_id: item.id.clone(), given, expected: expected(scale) };
        let point = match (&answer.value, scale.kind) {
            (AnswerValue::Missing, _) => {
                problems.push(Problem::MissingValue { index, item_id: item.id.clone() });
                continue;
            }
            (AnswerValue::DontKnow, _) if scale.dont_know => {
                dont_know += 1;
                continue;
            }
            (AnswerValue::DontKnow, _) => Err(off_scale("\"don't know\"".to_string())),
            (AnswerValue::Likert(n), ScaleKind::Likert) => {
                scale.likert_point(*n).ok_or_else(|| off_scale(n.to_string()))
            }
            (AnswerValue::Yes(b), ScaleKind::YesNo) => {
                scale.point(if *b { "yes" } else { "no" }).ok_or_else(|| off_scale(b.to_string()))
            }
            (AnswerValue::Choice(c), ScaleKind::Choice) => scale.point(c).ok_or_else(|| off_scale(format!("`{c}`"))),
            (AnswerValue::Likert(n), _) => Err(off_scale(format!("likert {n}"))),
            (AnswerValue::Yes(b), _) => Err(off_scale(format!("yes={b}"))),
            (AnswerValue::Choice(c), _) => Err(off_scale(format!("choice `{c}`"))),
        };
        match point {
            Ok(p) => scores[item_index] = Some(p.score),
            Err(problem) => problems.push(problem),
        }
    }
    (scores, dont_know)
}

fn expected(scale: &domain_model::Scale) -> String {
    let values = || scale.points.iter().map(|p| p.value.as_str()).collect::<Vec<_>>();
    let base = match scale.kind {
        ScaleKind::Likert => format!("likert {}", values().join("|")),
        ScaleKind::YesNo => "yes=true|false".to_string(),
        ScaleKind::Choice => format!("choice {}", values().join("|")),
    };
    if scale.dont_know { format!("{base} or dont_know") } else { base }
}

/// Counts substantive answers per part and reports the parts below their minimum.
pub(crate) fn check_minimums(model: &Model, scores: &[Option<f64>], problems: &mut Vec<Problem>) {
    let min = model.scoring.min_answers;
    let parts = [
        (Part::Axis(Axis::External), min.external),
        (Part::Axis(Axis::Internal), min.internal),
        (Part::Proposition, min.proposition),
    ];
    let mut counted = vec![false; scores.len()];
    for (part, required) in parts {
        let targets: Vec<Target> = match part {
            Part::Axis(axis) => (1..=MAX_STAGE).map(|s| Target::Stage(axis, s)).collect(),
            Part::Proposition => vec![Target::Proposition],
        };
        // An item counts once per part even when it is evidence for two stages of one axis.
        counted.iter_mut().for_each(|c| *c = false);
        let mut answered = 0;
        for t in targets {
            for (i, _, _) in model.items_for(t) {
                if scores[i].is_some() && !counted[i] {
                    counted[i] = true;
                    answered += 1;
                }
            }
        }
        if answered < required {
            problems.push(Problem::TooFewAnswers { part, answered, required });
        }
    }
}
