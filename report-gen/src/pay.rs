//! "Does it pay for firms like us?" as chapters and sector volumes show it: the published pay
//! figures of a group (`domain_publication::Pay`), one row per cell, with the firm's own cells
//! marked and withheld cells said to be withheld.

use domain_model::{FitVerdict, Locale, Model, Returns};
use domain_publication::{BANDS, Pay, PayCell, band};
use serde::Serialize;

/// One published cell as a template shows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct PayCellView {
    /// Withheld by disclosure control (the other fields then say nothing).
    pub withheld: bool,
    /// Firms that answered both items.
    pub answered: u32,
    /// Share of them whose returns are at least equal to the costs.
    pub cover_costs: Option<f64>,
    /// Share of them that measure returns in money.
    pub measured: Option<f64>,
}

impl PayCellView {
    fn of(cell: Option<&PayCell>) -> PayCellView {
        match cell {
            None => PayCellView { withheld: true, ..PayCellView::default() },
            Some(c) => PayCellView {
                withheld: false,
                answered: c.answered,
                cover_costs: c.cover_costs_share(),
                measured: c.measured_share(),
            },
        }
    }
}

/// A row of the pay table: all answering firms, a verdict or a stage band of an axis.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PayRow {
    /// `all`, `verdict`, `external` or `internal`: the rows of one kind form one breakdown.
    pub kind: &'static str,
    /// What the row counts.
    pub label: String,
    /// Whether the firm the chapter is about falls in it.
    pub own: bool,
    /// The row's figures, or that disclosure control withholds them.
    pub cell: PayCellView,
}

/// Where a firm falls: its verdict and attained stages.
#[derive(Clone, Copy, Debug)]
pub struct Own {
    /// Fit verdict.
    pub verdict: FitVerdict,
    /// Attained external stage.
    pub external_stage: u8,
    /// Attained internal stage.
    pub internal_stage: u8,
}

/// The name of stage band `b` of an axis ("Extern, fasen 0–1", "Extern, fase 2").
fn band_label(axis: &str, b: usize, locale: Locale) -> String {
    let range = BANDS[b].replace('-', "\u{2013}");
    let several = BANDS[b].contains('-');
    let word = match (locale, several) {
        (Locale::Nl, true) => "fasen",
        (Locale::Nl, false) => "fase",
        (_, true) => "stages",
        (_, false) => "stage",
    };
    let side = match (axis, locale) {
        ("external", Locale::Nl) => "Extern",
        ("internal", Locale::Nl) => "Intern",
        ("external", _) => "External",
        _ => "Internal",
    };
    format!("{side}, {word} {range}")
}

/// The rows of `pay` in `locale`: all answering firms, each verdict `model` gives, each band of
/// each axis; `own` marks the firm's rows.
pub fn rows(pay: &Pay, model: &Model, locale: Locale, own: Option<Own>) -> Vec<PayRow> {
    let all = match locale {
        Locale::Nl => "Alle bedrijven die antwoordden",
        _ => "All firms that answered",
    };
    let mut out =
        vec![PayRow { kind: "all", label: all.to_string(), own: own.is_some(), cell: PayCellView::of(Some(&pay.all)) }];
    for (v, labelled) in &model.fit.verdicts {
        out.push(PayRow {
            kind: "verdict",
            label: labelled.label.get(locale).to_string(),
            own: own.is_some_and(|o| o.verdict == *v),
            cell: PayCellView::of(pay.by_verdict[v.index()].as_ref()),
        });
    }
    for (axis, cells) in [("external", &pay.by_external_band), ("internal", &pay.by_internal_band)] {
        for (b, cell) in cells.iter().enumerate() {
            let stage = own.map(|o| if axis == "external" { o.external_stage } else { o.internal_stage });
            out.push(PayRow {
                kind: axis,
                label: band_label(axis, b, locale),
                own: stage.is_some_and(|s| band(i16::from(s)) == b),
                cell: PayCellView::of(cell.as_ref()),
            });
        }
    }
    out
}

/// The firm's own pay answers beside its group's figures, for the chapter.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PayView {
    /// The group's rows the firm falls in (`rows`).
    pub rows: Vec<PayRow>,
    /// The firm's own cell among firms of its verdict, when published.
    pub own_verdict: Option<PayCellView>,
    /// Whether the firm's own returns are at least equal to the costs; `None` without an answer.
    pub own_cover_costs: Option<bool>,
    /// Whether the firm measures returns in money; `None` without an answer.
    pub own_measured: Option<bool>,
}

impl PayView {
    /// The view of `pay` for a firm with `own` and its `returns`: the rows the firm falls in (all
    /// answering firms, its verdict, its band on each axis), so that the chapter compares the firm
    /// with firms like it and names no verdict it was not given.
    pub fn of(pay: &Pay, model: &Model, locale: Locale, own: Own, returns: Returns) -> PayView {
        let own_verdict = pay.by_verdict[own.verdict.index()].as_ref().map(|c| PayCellView::of(Some(c)));
        PayView {
            rows: rows(pay, model, locale, Some(own)).into_iter().filter(|r| r.own).collect(),
            own_verdict,
            own_cover_costs: returns.cover_costs,
            own_measured: returns.measured,
        }
    }
}
