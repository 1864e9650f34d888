//! What a chapter template sees: plain, already localised values (labels in the chapter's
//! language, numbers as numbers, figure geometry precomputed). Building it from an assessment and
//! its peers is the caller's job; the template decides only how it looks.

use serde::Serialize;

/// One stage (0-4) of an axis.
#[derive(Clone, Debug, Serialize)]
pub struct StageView {
    /// Stage number 0-4 (0: absent).
    pub number: u8,
    /// Name.
    pub label: String,
    /// What the stage means.
    pub description: String,
    /// Capability 0-100 (stages 1-4).
    pub capability: Option<f64>,
    /// Capability at or above the attainment threshold, with sufficient evidence.
    pub attained: bool,
    /// Skipped (below the attained stage, with evidence that it is not practised).
    pub skipped: bool,
    /// Unknown: too few answers to say anything about this stage.
    pub unknown: bool,
    /// The firm's attained stage is this one.
    pub current: bool,
    /// Share of peers whose attained stage this is, 0-1, when peers are known.
    pub peer_share: Option<f64>,
}

/// One axis.
#[derive(Clone, Debug, Serialize)]
pub struct AxisView {
    /// Name of the axis.
    pub label: String,
    /// Index 0-100.
    pub index: f64,
    /// Attained stage 0-4.
    pub stage: u8,
    /// Name of the attained stage.
    pub stage_label: String,
    /// What the attained stage means.
    pub stage_description: String,
    /// Stages 0-4.
    pub stages: Vec<StageView>,
    /// The firm's mid-rank percentile among peers on this axis' index.
    pub percentile: Option<f64>,
    /// The 90% interval around it (docs/method.md), low and high.
    pub percentile_range: Option<[f64; 2]>,
    /// The other stages one answer step away (empty when the stage is settled).
    pub edges: Vec<EdgeView>,
    /// Stages below the attained one that were skipped.
    pub skipped: Vec<u8>,
    /// Stages without enough evidence, with the questions still open (unanswered or "don't
    /// know"), whose answers would settle them.
    pub unknown: Vec<UnknownStageView>,
    /// The next stage up and how the firm answered its questions (none at the top).
    pub next: Option<NextStageView>,
}

/// A stage the answers say too little about.
#[derive(Clone, Debug, Serialize)]
pub struct UnknownStageView {
    /// Stage number.
    pub number: u8,
    /// Name.
    pub label: String,
    /// The questions without a substantive answer.
    pub open: Vec<String>,
}

/// The first page's message: the verdict in one sentence, at most two priorities, and what not
/// to do (the template words the last per verdict).
#[derive(Clone, Debug, Serialize)]
pub struct KeyMessageView {
    /// The first two actions' practices, or without actions the titles of the first two
    /// recommendations that apply.
    pub priorities: Vec<String>,
}

/// One assessment of the firm in its trajectory.
#[derive(Clone, Debug, Serialize)]
pub struct TrajectoryPointView {
    /// Completion date, written out.
    pub date: String,
    /// Benchmark year.
    pub year: i32,
    /// Model version it was scored with.
    pub model_version: u32,
    /// Maturity index.
    pub maturity: f64,
    /// Attained external stage 0-4.
    pub external_stage: u8,
    /// Name of the external stage.
    pub external_label: String,
    /// Attained internal stage 0-4.
    pub internal_stage: u8,
    /// Name of the internal stage.
    pub internal_label: String,
    /// Fit verdict's name.
    pub verdict: String,
    /// This chapter's assessment.
    pub current: bool,
}

/// The firm's own progress: its assessments by the same tenant under the same CRM reference,
/// oldest first, ending with this one.
#[derive(Clone, Debug, Serialize)]
pub struct TrajectoryView {
    /// The assessments, oldest first; the last is this chapter's.
    pub points: Vec<TrajectoryPointView>,
    /// Maturity index now minus at the previous assessment.
    pub maturity_delta: f64,
    /// The previous assessment used another model version, so indices are not strictly comparable.
    pub versions_differ: bool,
    /// The external stage changed since the previous assessment.
    pub external_changed: bool,
    /// The internal stage changed.
    pub internal_changed: bool,
    /// The fit verdict changed since the previous assessment.
    pub verdict_changed: bool,
    /// Earlier assessments that could not be scored again (their model version is gone).
    pub left_out: u32,
}

/// The value sources read as a profile: the strongest and the weakest.
#[derive(Clone, Debug, Serialize)]
pub struct ProfileView {
    /// Name of the strongest value source.
    pub strongest: String,
    /// Its score 0-100.
    pub strongest_score: f64,
    /// Name of the weakest value source.
    pub weakest: String,
    /// Its score 0-100.
    pub weakest_score: f64,
}

/// Whether social media pay for this firm, from its own answers.
#[derive(Clone, Debug, Serialize)]
pub struct BusinessCaseView {
    /// Returns measured in money and at least equal to the costs.
    pub returns_pay: bool,
    /// The firm measures returns in money.
    pub measured_in_money: bool,
    /// The firm answered how returns compare with costs.
    pub compared: bool,
    /// Label of the firm's answer on returns against costs, when answered.
    pub return_answer: Option<String>,
    /// Label of the firm's answer on what it measures, when answered.
    pub measured_answer: Option<String>,
}

/// The stage above the attained one.
#[derive(Clone, Debug, Serialize)]
pub struct NextStageView {
    /// Stage number.
    pub number: u8,
    /// Name.
    pub label: String,
    /// What it means.
    pub description: String,
    /// Its capability now, 0-100.
    pub capability: f64,
    /// Its questions with the firm's answers, weakest first.
    pub items: Vec<ItemView>,
}

/// A question and the firm's answer.
#[derive(Clone, Debug, Serialize)]
pub struct ItemView {
    /// The question or statement.
    pub text: String,
    /// The answer's label; empty when not answered.
    pub answer: String,
    /// The answer's score 0-100; `None` for "don't know" or no answer.
    pub score: Option<f64>,
}

/// A group of questions in the chapter's appendix (a stage, a value source, ...).
#[derive(Clone, Debug, Serialize)]
pub struct AnswerGroupView {
    /// What the questions are evidence for.
    pub title: String,
    /// The questions, in the model's order.
    pub items: Vec<ItemView>,
}

/// The peer group's maturity in one year.
#[derive(Clone, Debug, Serialize)]
pub struct TrendView {
    /// Benchmark year of the figures.
    pub year: u32,
    /// Its x position on the trend figure, points (`figures::trend_x`).
    pub x: f64,
    /// Firms.
    pub n: u32,
    /// Percentiles of the maturity index.
    pub maturity: Quartiles,
}

/// A stage of another model, for the crosswalk table.
#[derive(Clone, Debug, Serialize)]
pub struct CrosswalkView {
    /// Name.
    pub label: String,
    /// What it means.
    pub description: String,
    /// The firm's.
    pub current: bool,
}

/// The peers' quartiles of a value.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Quartiles {
    /// 10th percentile.
    pub p10: f64,
    /// 25th percentile.
    pub p25: f64,
    /// Median.
    pub p50: f64,
    /// 75th percentile.
    pub p75: f64,
    /// 90th percentile.
    pub p90: f64,
}

/// A value source.
#[derive(Clone, Debug, Serialize)]
pub struct DimensionView {
    /// Name.
    pub label: String,
    /// What it means.
    pub description: String,
    /// Score 0-100, when answered.
    pub score: Option<f64>,
    /// Peers' percentiles, when published.
    pub peers: Option<Quartiles>,
}

/// One cell of the external x internal matrix.
#[derive(Clone, Debug, Serialize)]
pub struct CellView {
    /// External stage 0-4.
    pub external: u8,
    /// Internal stage 0-4.
    pub internal: u8,
    /// Share of peers in this cell, 0-1; `None` without peers, or when fewer than
    /// `MIN_CELL` firms share it (shown shaded, without a number).
    pub share: Option<f64>,
    /// Some peers are here but too few to show a number.
    pub small: bool,
    /// The firm is here.
    pub firm: bool,
}

/// Fewest firms a matrix cell shows a number for.
pub const MIN_CELL: u32 = 3;

/// A Rogers category on the curve.
#[derive(Clone, Debug, Serialize)]
pub struct RogersView {
    /// Name.
    pub label: String,
    /// Share of adopters, percent.
    pub share_percent: f64,
    /// The firm's category.
    pub current: bool,
    /// The area under the curve, as polygon points (x, y) in points on the figure's canvas.
    pub polygon: Vec<[f64; 2]>,
    /// Where its label goes (x in points).
    pub label_x: f64,
    /// The row of its label under the curve (0 first), so that labels never overlap.
    pub label_row: u32,
}

/// The peer group actually used.
#[derive(Clone, Debug, Serialize)]
pub struct PeersView {
    /// Its name.
    pub group: String,
    /// Its level (which attributes it keeps).
    pub level: String,
    /// Distinct firms.
    pub n: u32,
    /// The disclosure threshold.
    pub k: u32,
    /// Benchmark year of the figures used (an earlier one than the assessment's when `earlier_year`
    /// says why).
    pub year: u32,
    /// Why a wider group was used, when one was.
    pub fallback: Option<String>,
    /// Why an earlier year's figures were used, when they were (none of the assessment's own
    /// year were published yet).
    pub earlier_year: Option<String>,
    /// Share of synthetic demo data, in percent.
    pub synthetic_percent: f64,
    /// The firm's mid-rank percentile on the maturity index.
    pub percentile: f64,
    /// The 90% interval around it (docs/method.md), low and high.
    pub percentile_range: [f64; 2],
    /// Its Rogers category.
    pub rogers: String,
    /// Peers' percentiles of the maturity index.
    pub maturity: Quartiles,
    /// Peers' mean maturity index.
    pub mean: f64,
    /// Whether the matrix of stages was published for the group.
    pub has_matrix: bool,
}

/// The model's fit rule as the fit figure draws it: the target line `base + slope * P` and its
/// band of `tolerance` either side; restraint's area left of `restraint_below`, where the model
/// has the restrained verdict.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct FitChartView {
    /// Target at centrality 0.
    pub base: f64,
    /// Target increase per point of centrality.
    pub slope: f64,
    /// Half-width of the balanced band.
    pub tolerance: f64,
    /// Below this centrality a shortfall is restraint.
    pub restraint_below: Option<f64>,
}

/// The share of the peer group with one fit verdict.
#[derive(Clone, Debug, Serialize)]
pub struct FitShareView {
    /// The verdict's id.
    pub id: String,
    /// The model's name for it.
    pub label: String,
    /// Share of the group, 0..1.
    pub share: f64,
    /// The firm's own verdict.
    pub own: bool,
}

/// An action the engine computed from the model's practices (docs/method.md, "Actions and what
/// they move"), with what scoring the changed answers gives.
#[derive(Clone, Debug, Serialize)]
pub struct ActionView {
    /// `raise`, `keep` or `measure`.
    pub kind: String,
    /// What the firm does: the practice's label.
    pub practice: String,
    /// The business process it belongs to.
    pub process: String,
    /// What to follow.
    pub measure: String,
    /// The questions of the practice: for `keep` all of them (those the loss changes marked),
    /// otherwise those the step changes.
    pub changes: Vec<ChangeView>,
    /// Attained stages that move, by axis.
    pub stages: Vec<StageMoveView>,
    /// Maturity index before and after.
    pub maturity: [f64; 2],
    /// Fit gap before and after.
    pub gap: [f64; 2],
    /// The verdict after, when it differs.
    pub verdict_after: Option<String>,
    /// Value sources that move by at least one point: label, before, after.
    pub value_sources: Vec<ScoreMoveView>,
    /// After the change, the firm's own answers show measured returns covering the costs.
    pub returns_pay_after: bool,
}

/// Another reading of a stage or the verdict, one answer step away (docs/method.md, "On the edge").
#[derive(Clone, Debug, Serialize)]
pub struct EdgeView {
    /// The other stage (for a stage) or the other verdict's name.
    pub reading: String,
    /// The other stage's number, for a stage.
    pub stage: Option<u8>,
    /// The question whose answer, one step different, gives the other reading.
    pub question: String,
    /// The answer given.
    pub from: String,
    /// The answer one step away.
    pub to: String,
}

/// One changed answer.
#[derive(Clone, Debug, Serialize)]
pub struct ChangeView {
    /// The question or statement (the item's text).
    pub question: String,
    /// The answer given (empty when none).
    pub from: String,
    /// The answer the action means.
    pub to: String,
    /// Whether the action changes this answer (for `keep`: the practice is in place here).
    pub changed: bool,
    /// The answer given is the lowest of its scale (not "don't know", not unanswered).
    pub lowest: bool,
}

/// A stage that moves.
#[derive(Clone, Debug, Serialize)]
pub struct StageMoveView {
    /// `external` or `internal`.
    pub axis: String,
    /// Attained stage before and after.
    pub from: u8,
    /// After.
    pub to: u8,
}

/// A score that moves.
#[derive(Clone, Debug, Serialize)]
pub struct ScoreMoveView {
    /// What moves.
    pub label: String,
    /// Before.
    pub from: f64,
    /// After.
    pub to: f64,
}

/// A recommendation.
#[derive(Clone, Debug, Serialize)]
pub struct AdviceView {
    pub title: String,
    /// The advice.
    pub text: String,
}

/// The Dutch context: published shares of enterprises using social media.
#[derive(Clone, Debug, Serialize)]
pub struct ContextView {
    /// The sector's share, percent, when published for the sector.
    pub sector_percent: Option<f64>,
    /// The sector key the figure covers (`F`, `D-E`).
    pub sector_key: String,
    /// All enterprises' share, percent.
    pub total_percent: f64,
    /// Year of the figures.
    pub year: u16,
    /// Publisher and table, for the footnote.
    pub source: String,
    /// Which enterprises the figures cover (two or more persons employed), in the chapter's
    /// language.
    pub population: String,
    /// Eurostat's share of Dutch enterprises (10+ persons) using social media, the same year.
    pub eurostat_percent: Option<f64>,
    /// The SBI sections (or ranges) the CBS table publishes, comma-separated: the others have no
    /// CBS figure.
    pub coverage: String,
}

/// How the questionnaire was answered.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct AnswersView {
    /// Items in the model.
    pub items: u32,
    /// Answered substantively.
    pub answered: u32,
    /// "Don't know".
    pub dont_know: u32,
    /// Not answered.
    pub unanswered: u32,
}

/// Everything a chapter template needs.
#[derive(Clone, Debug, Serialize)]
pub struct Chapter {
    /// Chapter number in a book.
    pub number: u32,
    /// The firm's name, as the client gave it (user text: templates must use `typst_text`).
    pub firm_name: String,
    /// Sector (SBI section) name.
    pub sector: String,
    /// Its SBI section code (a letter).
    pub sector_code: String,
    /// Size class name.
    pub size: String,
    /// Province name.
    pub province: String,
    /// Model id and version.
    pub model: String,
    pub model_title: String,
    /// Where the model comes from.
    pub model_provenance: String,
    /// The date on the chapter, written out.
    pub date: String,
    /// Benchmark year of the assessment.
    pub year: i32,
    /// Maturity index 0-100.
    pub maturity_index: f64,
    /// Capability from which a stage counts as attained.
    pub attainment_threshold: f64,
    /// External axis.
    pub external: AxisView,
    /// Internal axis.
    pub internal: AxisView,
    /// External x internal stages, 25 cells, external-major.
    pub matrix: Vec<CellView>,
    /// Value sources in `ValueSource::ALL` order, with the peers' percentiles when published.
    pub value_sources: Vec<DimensionView>,
    /// Business value facets (revenue, costs saved, investment, measurement).
    pub business_value: Vec<DimensionView>,
    /// The peer group's maturity over the published years (same group as `peers`).
    pub trend: Vec<TrendView>,
    /// The x position of the firm's own year on the trend figure, points.
    pub trend_firm_x: f64,
    /// Forrester's stages, the firm's marked.
    pub forrester_stages: Vec<CrosswalkView>,
    /// Altimeter's stages, the firm's marked.
    pub altimeter_stages: Vec<CrosswalkView>,
    /// Proposition centrality 0-100.
    pub proposition: f64,
    /// Built on social media from the start.
    pub social_native: bool,
    /// Fit verdict name.
    pub fit: String,
    /// Fit verdict id (`balanced`, `under_invested`, `over_invested`, `restrained`).
    pub fit_id: String,
    /// What the model advises for the verdict (the verdict's description).
    pub fit_advice: String,
    /// The other verdicts one answer step away (empty when the verdict is settled).
    pub fit_edges: Vec<EdgeView>,
    /// The first page's message.
    pub key_message: KeyMessageView,
    /// Whether social media pay, when the model asks (version 2 on).
    pub business_case: Option<BusinessCaseView>,
    /// The model's fit rule, for the fit figure.
    pub fit_chart: FitChartView,
    /// The peer group's shares per fit verdict (published figures), the firm's own marked; empty
    /// without a published group or without verdict shares.
    pub fit_shares: Vec<FitShareView>,
    /// How often firms of the peer group report that social media pay, when published.
    pub pay: Option<crate::pay::PayView>,
    /// The value sources as a profile, when at least two are scored.
    pub profile: Option<ProfileView>,
    /// The business value questions with the firm's answers (what it earns, saves, spends and
    /// measures), in the model's order.
    pub business_answers: Vec<ItemView>,
    /// The firm's own earlier assessments, when there are any.
    pub trajectory: Option<TrajectoryView>,
    /// Target maturity.
    pub fit_target: f64,
    /// Maturity minus target.
    pub fit_gap: f64,
    /// Tolerance of the balanced verdict.
    pub fit_tolerance: f64,
    /// Archetype name.
    pub archetype: String,
    /// What the archetype means.
    pub archetype_description: String,
    /// Forrester stage name.
    pub forrester: String,
    /// What it means.
    pub forrester_description: String,
    /// Altimeter stage name.
    pub altimeter: String,
    /// What it means.
    pub altimeter_description: String,
    /// Peers, when a group is published.
    pub peers: Option<PeersView>,
    /// The Rogers curve with the firm's category (with peers).
    pub rogers_curve: Vec<RogersView>,
    /// Where the firm sits on the Rogers curve's canvas (x in points), with peers.
    pub rogers_x: Option<f64>,
    /// The Rogers canvas: width and height in points.
    pub rogers_size: [f64; 2],
    /// Recommendations, in the model's order.
    pub recommendations: Vec<AdviceView>,
    /// At most three actions with what they move (models from version 3 on).
    pub actions: Vec<ActionView>,
    /// The Dutch context figures.
    pub context: Option<ContextView>,
    /// How the questionnaire was answered.
    pub answers: AnswersView,
    /// Every question with the firm's answer, grouped by what it is first evidence for.
    pub appendix: Vec<AnswerGroupView>,
    /// Whether the firm itself is synthetic demo data.
    pub synthetic: bool,
}

/// A volume of chapters (the nightly `--book`).
#[derive(Clone, Debug, Serialize)]
pub struct Book {
    /// The volume's title line (for example the tenant and the night).
    pub title: String,
    /// The date on it, written out.
    pub date: String,
    /// Its chapters, numbered from 1.
    pub chapters: Vec<Chapter>,
}
