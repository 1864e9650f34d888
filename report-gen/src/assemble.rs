//! A chapter's data from what the stores hold: the assessment (re-scored from its stored answers
//! with its pinned model version, so that every label is in the chapter's language), the
//! published figures of the peer group its position uses (after fallback), the model's
//! recommendation rules, and the national context figures.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::chapter::{
    ActionView, AdviceView, AnswerGroupView, AnswersView, AxisView, BusinessCaseView, CellView, ChangeView, Chapter,
    ContextView, CrosswalkView, DimensionView, EdgeView, ItemView, KeyMessageView, MIN_CELL, NextStageView, PeersView,
    ProfileView, Quartiles, ScoreMoveView, StageMoveView, StageView, TrajectoryPointView, TrajectoryView, TrendView,
    UnknownStageView,
};
use crate::figures::{Category, ROGERS_HEIGHT, ROGERS_WIDTH, TREND_WIDTH, date_text, rogers_curve, trend_x};
use domain_anonymity::{GroupKey, Policy};
use domain_model::{Axis, Facet, Locale, Model, ModelRegistry, SbiSection, ScalePoint, Target, ValueSource};
use domain_peers::reference::Figure;
use domain_scoring::{Assessment, Refusal, Request, Value};
use store::figures::{Distribution, Figures, Stored};
use store::peers::{self, Found};
use store::publish::key_text;
use store::{ConnectionTrait, StoreError, StoredAssessment};

/// Why a chapter's data could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum AssembleError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored answers do not score any more (for example, their model version was removed).
    #[error("assessment {id}: its stored answers cannot be scored again: {reason}")]
    Rescore {
        /// The assessment.
        id: i64,
        /// Why.
        reason: String,
    },
}

/// Builds chapters; shared by the batch and the service.
#[derive(Clone, Debug)]
pub struct Assembler {
    registry: Arc<ModelRegistry>,
    policy: Policy,
    context: Arc<Vec<Figure>>,
    // Years before an assessment's own its peers may come from (shared by the clones).
    years_back: Arc<AtomicU32>,
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn quartiles(d: &Distribution) -> Quartiles {
    let [p10, p25, p50, p75, p90] = d.percentiles;
    Quartiles { p10, p25, p50, p75, p90 }
}

/// The external x internal matrix of a published group's firms as cells, external-major: the
/// share of the group in each cell, shaded without a number where fewer than `MIN_CELL` firms
/// are; `firm` marks the cell (external, internal) of the firm the chapter is about, if any.
pub fn matrix_cells(figures: Option<&Figures>, firm: Option<(u8, u8)>) -> Vec<CellView> {
    let counts = figures.map(|f| f.stage_matrix.as_slice()).filter(|m| m.len() == 25);
    let total: u32 = counts.map_or(0, |m| m.iter().sum());
    (0..25u8)
        .map(|i| {
            let (e, n) = (i / 5, i % 5);
            let count = counts.map_or(0, |m| m[usize::from(i)]);
            let shown = count >= MIN_CELL && total > 0;
            CellView {
                external: e,
                internal: n,
                share: shown.then(|| round3(f64::from(count) / f64::from(total))),
                small: count > 0 && !shown,
                firm: firm == Some((e, n)),
            }
        })
        .collect()
}

/// The sector's key in the CBS figures: a section letter, or a range such as `D-E` holding it.
fn covers(key: &str, section: &str) -> bool {
    match key.split_once('-') {
        Some((a, b)) => a <= section && section <= b,
        None => key == section,
    }
}

/// The point of `item`'s scale an answer value stands for (none for "don't know" or no answer).
fn point_of<'m>(model: &'m Model, item: &domain_model::Item, value: Option<&Value>) -> Option<&'m ScalePoint> {
    let scale = model.scale_of(item);
    match value {
        Some(Value::Likert(n)) => scale.likert_point(*n),
        Some(Value::Yes(b)) => scale.point(if *b { "yes" } else { "no" }),
        Some(Value::Choice(c)) => scale.point(c),
        _ => None,
    }
}

/// The label of an answer value on `item`'s scale (empty for none, "don't know" spelled out).
fn answer_label(model: &Model, item: &domain_model::Item, value: Option<&Value>, locale: Locale) -> String {
    let point = point_of(model, item, value);
    match (point, value, locale) {
        (Some(p), _, _) => p.label.get(locale).to_string(),
        (None, Some(Value::DontKnow), Locale::Nl) => "weet niet".to_string(),
        (None, Some(Value::DontKnow), Locale::En) => "don't know".to_string(),
        _ => String::new(),
    }
}

/// The engine's actions for the firm, with the changed answers and what they move.
fn action_views(model: &Model, request: &Request, before: &Assessment, locale: Locale) -> Vec<ActionView> {
    let answers = request.answers();
    domain_scoring::actions(model, &answers, before)
        .into_iter()
        .map(|a| {
            let practice = &model.practices[a.practice];
            let after = &a.after;
            // A kept practice is shown whole: what is in place and what is not yet.
            let shown: Vec<(usize, Option<&Value>)> = if a.kind == domain_scoring::ActionKind::Keep {
                practice
                    .items
                    .iter()
                    .map(|&i| (i, a.changes.iter().find(|c| c.item_id == model.items[i].id).map(|c| &c.value)))
                    .collect()
            } else {
                a.changes.iter().filter_map(|c| model.item(&c.item_id).map(|(i, _)| (i, Some(&c.value)))).collect()
            };
            let changes = shown
                .into_iter()
                .map(|(i, to)| {
                    let item = &model.items[i];
                    let given = request.answers.iter().find(|g| g.item_id == item.id).map(|g| &g.value);
                    let lowest = point_of(model, item, given)
                        .is_some_and(|p| model.scale_of(item).points.iter().all(|q| q.score >= p.score));
                    ChangeView {
                        question: item.text.get(locale).to_string(),
                        from: answer_label(model, item, given, locale),
                        to: to.map(|v| answer_label(model, item, Some(v), locale)).unwrap_or_default(),
                        changed: to.is_some(),
                        lowest,
                    }
                })
                .collect();
            let stages = Axis::ALL
                .iter()
                .filter(|&&x| before.axis(x).attained_stage != after.axis(x).attained_stage)
                .map(|&x| StageMoveView {
                    axis: x.id().to_string(),
                    from: before.axis(x).attained_stage,
                    to: after.axis(x).attained_stage,
                })
                .collect();
            let value_sources = (0..4)
                .filter_map(|i| {
                    let (from, to) = (before.value_sources[i].score?, after.value_sources[i].score?);
                    ((to - from).abs() >= 1.0).then(|| ScoreMoveView {
                        label: model.value_sources[i].label.get(locale).to_string(),
                        from,
                        to,
                    })
                })
                .collect();
            ActionView {
                kind: a.kind.id().to_string(),
                practice: practice.label.get(locale).to_string(),
                process: model.processes[practice.process].label.get(locale).to_string(),
                measure: practice.measure.get(locale).to_string(),
                changes,
                stages,
                maturity: [before.maturity_index, after.maturity_index],
                gap: [before.fit.gap, after.fit.gap],
                verdict_after: (after.fit.verdict != before.fit.verdict)
                    .then(|| model.verdict(after.fit.verdict).label.get(locale).to_string()),
                value_sources,
                returns_pay_after: after.fit.returns_pay,
            }
        })
        .collect()
}

/// Another reading one answer step away, named by `reading` (stage or verdict).
fn edge_view(
    model: &Model,
    request: &Request,
    r: &domain_scoring::Reading,
    reading: String,
    stage: Option<u8>,
    locale: Locale,
) -> EdgeView {
    let item = model.item(&r.change.item_id).map(|(_, item)| item);
    let given = request.answers.iter().find(|g| g.item_id == r.change.item_id).map(|g| &g.value);
    EdgeView {
        reading,
        stage,
        question: item.map(|i| i.text.get(locale).to_string()).unwrap_or_default(),
        from: item.map(|i| answer_label(model, i, given, locale)).unwrap_or_default(),
        to: item.map(|i| answer_label(model, i, Some(&r.change.value), locale)).unwrap_or_default(),
    }
}

/// One question with the firm's answer.
fn item_view(model: &Model, request: &Request, item: &domain_model::Item, locale: Locale) -> ItemView {
    let answer = request.answers.iter().find(|a| a.item_id == item.id).map(|a| &a.value);
    let point = point_of(model, item, answer);
    ItemView {
        text: item.text.get(locale).to_string(),
        answer: answer_label(model, item, answer, locale),
        score: point.map(|p| 100.0 * p.score),
    }
}

/// The questions of stage `stage` of `axis` with the firm's answers, weakest first.
fn stage_items(model: &Model, request: &Request, axis: Axis, stage: u8, locale: Locale) -> Vec<ItemView> {
    let mut items: Vec<ItemView> = model
        .items_for(Target::Stage(axis, stage))
        .map(|(_, item, _)| item_view(model, request, item, locale))
        .collect();
    items.sort_by(|a, b| a.score.unwrap_or(-1.0).total_cmp(&b.score.unwrap_or(-1.0)));
    items
}

/// Every question, grouped by the target it is first evidence for, in the model's order of
/// targets (stages, value sources, proposition, business value).
fn appendix(model: &Model, request: &Request, locale: Locale) -> Vec<AnswerGroupView> {
    let mut groups: Vec<(Target, Vec<ItemView>)> = Vec::new();
    for item in &model.items {
        let Some(&(target, _)) = item.evidence.first() else { continue };
        let view = item_view(model, request, item, locale);
        match groups.iter_mut().find(|(t, _)| *t == target) {
            Some((_, list)) => list.push(view),
            None => groups.push((target, vec![view])),
        }
    }
    groups.sort_by_key(|(t, _)| t.dense());
    let (proposition, native) = match locale {
        Locale::Nl => ("Propositie", "Sociaal van oorsprong"),
        Locale::En => ("Proposition", "Social from the start"),
    };
    groups
        .into_iter()
        .map(|(t, items)| {
            let title = match t {
                Target::Stage(axis, n) => {
                    let def = model.axis(axis);
                    format!("{} · {}. {}", def.label.get(locale), n, def.stages[usize::from(n)].label.get(locale))
                }
                Target::ValueSource(v) => model.value_sources[v as usize].label.get(locale).to_string(),
                Target::Proposition => proposition.to_string(),
                Target::SocialNative => native.to_string(),
                Target::BusinessValue(f) => model.business_value[f as usize].label.get(locale).to_string(),
            };
            AnswerGroupView { title, items }
        })
        .collect()
}

/// How many of a firm's assessments a trajectory shows at most (the latest ones).
const TRAJECTORY_POINTS: u64 = 12;

/// One point of a trajectory from a scored assessment.
fn trajectory_point(
    stored: &StoredAssessment,
    scored: &domain_scoring::Scored,
    locale: Locale,
    current: bool,
) -> TrajectoryPointView {
    let (m, r) = (&scored.model, &scored.assessment);
    let (y, mo, d) = store::time::date_of(stored.completed_at_us);
    let stage = |a: Axis| {
        let n = r.axis(a).attained_stage;
        (n, m.axis(a).stages[usize::from(n)].label.get(locale).to_string())
    };
    let ((external_stage, external_label), (internal_stage, internal_label)) =
        (stage(Axis::External), stage(Axis::Internal));
    TrajectoryPointView {
        date: date_text(y, mo, d, locale.tag()),
        year: stored.year,
        model_version: m.version,
        maturity: r.maturity_index,
        external_stage,
        external_label,
        internal_stage,
        internal_label,
        verdict: m.verdict(r.fit.verdict).label.get(locale).to_string(),
        current,
    }
}

impl Assembler {
    /// The firm's trajectory: the tenant's assessments under the same CRM reference completed
    /// before this one (the latest few), each scored again with its own model version, then this
    /// one. `None` when there is no earlier assessment.
    async fn trajectory(
        &self,
        db: &impl ConnectionTrait,
        stored: &StoredAssessment,
        current: &domain_scoring::Scored,
        locale: Locale,
    ) -> Result<Option<TrajectoryView>, StoreError> {
        let filter = store::ListFilter { external_ref: Some(stored.external_ref.clone()), ..Default::default() };
        let mut earlier = store::list_assessments(db, &stored.tenant, &filter, None, 4 * TRAJECTORY_POINTS).await?;
        earlier.retain(|a| a.id != stored.id && (a.completed_at_us, a.id) < (stored.completed_at_us, stored.id));
        earlier.sort_by_key(|a| (a.completed_at_us, a.id));
        let skip = earlier.len().saturating_sub(usize::try_from(TRAJECTORY_POINTS).unwrap_or(usize::MAX) - 1);
        let mut points = Vec::new();
        let mut previous: Option<domain_scoring::Scored> = None;
        let mut left_out = 0u32;
        for a in earlier.iter().skip(skip) {
            let scored = a.answers().ok().map(domain_scoring::Request::from).and_then(|r| r.score(&self.registry).ok());
            match scored {
                Some(s) => {
                    points.push(trajectory_point(a, &s, locale, false));
                    previous = Some(s);
                }
                None => {
                    tracing::warn!(
                        assessment = a.id,
                        "an earlier assessment of the firm no longer scores; left out of the trajectory"
                    );
                    left_out += 1;
                }
            }
        }
        let Some(prev) = previous else { return Ok(None) };
        points.push(trajectory_point(stored, current, locale, true));
        let (p, c) = (&prev.assessment, &current.assessment);
        Ok(Some(TrajectoryView {
            points,
            maturity_delta: c.maturity_index - p.maturity_index,
            versions_differ: prev.model.version != current.model.version || prev.model.id != current.model.id,
            external_changed: p.axes[0].attained_stage != c.axes[0].attained_stage,
            internal_changed: p.axes[1].attained_stage != c.axes[1].attained_stage,
            verdict_changed: p.fit.verdict != c.fit.verdict,
            left_out,
        }))
    }

    /// An assembler over the models of `registry`, publishing under `policy`.
    pub fn new(
        registry: Arc<ModelRegistry>,
        policy: Policy,
    ) -> Result<Assembler, domain_peers::reference::FigureError> {
        Ok(Assembler {
            registry,
            policy,
            context: Arc::new(domain_peers::reference::figures()?),
            years_back: Arc::new(AtomicU32::new(services_common::serve::DEFAULT_PEER_YEARS_BACK)),
        })
    }

    /// The models chapters are built from.
    pub fn registry(&self) -> &Arc<ModelRegistry> {
        &self.registry
    }

    /// The disclosure policy in force.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// How many years before an assessment's own its peers may come from (`peer_years_back`),
    /// for this assembler and its clones.
    pub fn set_peer_years_back(&self, years: u32) {
        self.years_back.store(years, Ordering::Relaxed);
    }

    /// The national context figures (CBS, Eurostat) for `section`, if any are held.
    pub fn context(&self, section: SbiSection, locale: Locale) -> Option<ContextView> {
        let table = |f: &&Figure| f.table == "85183NED" && f.population == "enterprises 2+ persons";
        let total = self.context.iter().filter(table).find(|f| f.breakdown == "total")?;
        let sector =
            self.context.iter().filter(table).find(|f| f.breakdown == "sbi_section" && covers(&f.key, section.code()));
        let eurostat = self.context.iter().find(|f| {
            f.source == "Eurostat" && f.year == total.year && f.breakdown == "total" && f.measure == "uses social media"
        });
        Some(ContextView {
            sector_percent: sector.map(|f| f.value_pct),
            sector_key: sector.map_or(section.code().to_string(), |f| format!("{} ({})", f.key, section.name(locale))),
            total_percent: total.value_pct,
            year: total.year,
            source: format!("{} {}", total.source, total.table),
            population: match locale {
                Locale::Nl => "met twee of meer werkzame personen".to_string(),
                Locale::En => "with two or more persons employed".to_string(),
            },
            eurostat_percent: eurostat.map(|f| f.value_pct),
            coverage: self
                .context
                .iter()
                .filter(table)
                .filter(|f| f.year == total.year && f.breakdown == "sbi_section")
                .map(|f| f.key.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// The maturity index of the firm's peer group (the one used for its position) in every
    /// published year.
    async fn trend(
        &self,
        db: &impl ConnectionTrait,
        model: &Model,
        group: &GroupKey,
    ) -> Result<Vec<TrendView>, StoreError> {
        let version = store::version_column(model.version);
        let mut out = Vec::new();
        for release in store::releases(db, &model.id, version, None, Some(&key_text(group))).await? {
            let figures = Figures::decode(&release.figures)?;
            if let Some(d) = figures.distribution("maturity_index") {
                out.push(TrendView {
                    year: u32::try_from(release.year).unwrap_or(0),
                    x: 0.0,
                    n: u32::try_from(release.n).unwrap_or(0),
                    maturity: quartiles(d),
                });
            }
        }
        Ok(out)
    }

    /// The chapter of `stored` in `locale`, dated `date` (year, month, day), numbered `number`.
    pub async fn chapter(
        &self,
        db: &impl ConnectionTrait,
        stored: &StoredAssessment,
        locale: Locale,
        date: (i32, u32, u32),
        number: u32,
    ) -> Result<Chapter, AssembleError> {
        let rescore = |reason: String| AssembleError::Rescore { id: stored.id, reason };
        let request = domain_scoring::Request::from(stored.answers().map_err(|e| rescore(e.to_string()))?);
        let scored = request.score(&self.registry).map_err(|refusal| {
            rescore(match refusal {
                Refusal::Model(e) => e.to_string(),
                Refusal::Problems(p) => p.iter().map(|p| p.message(Locale::En)).collect::<Vec<_>>().join("; "),
            })
        })?;
        let model = &scored.model;
        let r = &scored.assessment;
        let years_back = self.years_back.load(Ordering::Relaxed);
        let found: Option<Found> = peers::find(db, model, stored.year, &GroupKey::of(&r.firm), years_back).await?;
        let positions = found.as_ref().map(|f| f.positions([r.maturity_index, r.axes[0].index, r.axes[1].index]));
        let percentiles = positions.map(|p| p.map(|x| x.percentile));
        let edges = domain_scoring::edges(model, &request.answers(), r);
        let figures = found.as_ref().map(Found::figures);
        let distribution = |metric: &str| figures.and_then(|f| f.distribution(metric)).map(quartiles);
        let percentile = |i: usize| percentiles.map(|p| p[i]);
        let axis = |a: Axis| {
            let def = model.axis(a);
            let res = r.axis(a);
            let shares = figures.and_then(|f| match a {
                Axis::External => f.external_stages,
                Axis::Internal => f.internal_stages,
            });
            AxisView {
                label: def.label.get(locale).to_string(),
                index: res.index,
                stage: res.attained_stage,
                stage_label: def.stages[usize::from(res.attained_stage)].label.get(locale).to_string(),
                stage_description: def.stages[usize::from(res.attained_stage)].description.get(locale).to_string(),
                stages: def
                    .stages
                    .iter()
                    .enumerate()
                    .map(|(n, s)| {
                        let result = n.checked_sub(1).and_then(|i| res.stages.get(i));
                        StageView {
                            number: u8::try_from(n).unwrap_or(0),
                            label: s.label.get(locale).to_string(),
                            description: s.description.get(locale).to_string(),
                            capability: result.map(|x| x.capability),
                            attained: result.is_some_and(|x| x.attained),
                            skipped: result.is_some_and(|x| x.skipped),
                            unknown: result.is_some_and(|x| x.insufficient_evidence),
                            current: n == usize::from(res.attained_stage),
                            peer_share: shares.and_then(|sh| sh.get(n).copied()).map(round3),
                        }
                    })
                    .collect(),
                percentile: percentile(a.index() + 1),
                percentile_range: positions.map(|p| [p[a.index() + 1].low, p[a.index() + 1].high]),
                edges: edges.stages[a.index()]
                    .iter()
                    .map(|e| {
                        let stage = e.after.axis(a).attained_stage;
                        let label = def.stages[usize::from(stage)].label.get(locale).to_string();
                        edge_view(model, &request, e, label, Some(stage), locale)
                    })
                    .collect(),
                skipped: res.skipped_stages().collect(),
                unknown: res
                    .stages
                    .iter()
                    .filter(|s| s.insufficient_evidence)
                    .map(|s| UnknownStageView {
                        number: s.stage,
                        label: def.stages[usize::from(s.stage)].label.get(locale).to_string(),
                        open: stage_items(model, &request, a, s.stage, locale)
                            .into_iter()
                            .filter(|i| i.score.is_none())
                            .map(|i| i.text)
                            .collect(),
                    })
                    .collect(),
                next: (res.attained_stage < 4).then(|| {
                    let n = res.attained_stage + 1;
                    let stage = &def.stages[usize::from(n)];
                    NextStageView {
                        number: n,
                        label: stage.label.get(locale).to_string(),
                        description: stage.description.get(locale).to_string(),
                        capability: res.stages[usize::from(n) - 1].capability,
                        items: stage_items(model, &request, a, n, locale),
                    }
                }),
            }
        };
        let matrix = matrix_cells(figures, Some((r.axes[0].attained_stage, r.axes[1].attained_stage)));
        let medians = ValueSource::ALL.map(|v| distribution(v.id()).map(|q| q.p50));
        let value_sources = ValueSource::ALL
            .iter()
            .enumerate()
            .map(|(i, v)| DimensionView {
                label: model.value_sources[i].label.get(locale).to_string(),
                description: model.value_sources[i].description.get(locale).to_string(),
                score: r.value_sources[i].score,
                peers: distribution(v.id()),
            })
            .collect();
        let facts = r.advice_facts(medians);
        let recommendations: Vec<AdviceView> = model
            .advice(&facts)
            .map(|a| AdviceView { title: a.title.get(locale).to_string(), text: a.text.get(locale).to_string() })
            .collect();
        let actions = action_views(model, &request, r, locale);
        let priorities = if actions.is_empty() {
            recommendations.iter().take(2).map(|a| a.title.clone()).collect()
        } else {
            actions.iter().take(2).map(|a| a.practice.clone()).collect()
        };
        let key_message = KeyMessageView { priorities };
        let business_case = model.fit.returns.as_ref().map(|rule| {
            let answer_of = |i: usize| {
                let view = item_view(model, &request, &model.items[i], locale);
                (view.score, (!view.answer.is_empty()).then_some(view.answer))
            };
            let (return_score, return_answer) = answer_of(rule.item);
            let (measured_score, measured_answer) = answer_of(rule.measured_item);
            BusinessCaseView {
                returns_pay: r.fit.returns_pay,
                measured_in_money: measured_score.is_some_and(|s| s >= 100.0 * rule.min_measured),
                compared: return_score.is_some(),
                return_answer,
                measured_answer,
            }
        });
        let (rogers_curve_views, rogers_x) = match percentiles {
            Some(p) => {
                let cats: Vec<Category> = model
                    .rogers
                    .iter()
                    .map(|c| Category {
                        label: c.label.get(locale).to_string(),
                        share_percent: c.share_percent,
                        min_percentile: c.min_percentile,
                    })
                    .collect();
                let (views, x) = rogers_curve(&cats, p[0]);
                (views, Some(x))
            }
            None => (Vec::new(), None),
        };
        let peers = match (found.as_ref(), percentiles) {
            (Some(f), Some(p)) => {
                let held = &f.held;
                let maturity = held.figures.distribution("maturity_index");
                Some(PeersView {
                    group: held.group.name(locale),
                    level: held.level().name(locale).to_string(),
                    n: u32::try_from(held.n).unwrap_or(0),
                    k: self.policy.k(),
                    year: u32::try_from(f.year).unwrap_or(0),
                    fallback: f.fallback().then(|| f.requested.fallback_reason(locale)),
                    earlier_year: f
                        .earlier_year()
                        .then(|| domain_anonymity::earlier_year_reason(f.requested_year, f.year, locale)),
                    synthetic_percent: 100.0 * held.synthetic_share,
                    percentile: p[0],
                    percentile_range: positions.map_or([p[0], p[0]], |x| [x[0].low, x[0].high]),
                    rogers: model.rogers_category(p[0]).label.get(locale).to_string(),
                    maturity: maturity.map(quartiles).unwrap_or(Quartiles {
                        p10: 0.0,
                        p25: 0.0,
                        p50: 0.0,
                        p75: 0.0,
                        p90: 0.0,
                    }),
                    mean: maturity.map_or(0.0, |d| d.mean),
                    has_matrix: figures.is_some_and(|f| f.stage_matrix.len() == 25),
                })
            }
            _ => None,
        };
        let trajectory = self.trajectory(db, stored, &scored, locale).await?;
        let scored_sources: Vec<(String, f64)> = r
            .value_sources
            .iter()
            .zip(&model.value_sources)
            .filter_map(|(v, d)| v.score.map(|s| (d.label.get(locale).to_string(), s)))
            .collect();
        let profile = (scored_sources.len() >= 2).then(|| {
            let by_score = |a: &&(String, f64), b: &&(String, f64)| a.1.total_cmp(&b.1);
            let strongest = scored_sources.iter().max_by(by_score).cloned().unwrap_or_default();
            let weakest = scored_sources.iter().min_by(by_score).cloned().unwrap_or_default();
            ProfileView {
                strongest: strongest.0,
                strongest_score: strongest.1,
                weakest: weakest.0,
                weakest_score: weakest.1,
            }
        });
        let business_answers = model
            .items
            .iter()
            .filter(|i| i.evidence.iter().any(|(t, _)| matches!(t, Target::BusinessValue(_))))
            .map(|i| item_view(model, &request, i, locale))
            .collect();
        let mut trend = match &found {
            Some(f) => self.trend(db, model, &f.held.group).await?,
            None => Vec::new(),
        };
        let years: Vec<u32> = trend.iter().map(|t| t.year).collect();
        let (xs, trend_firm_x) = trend_x(&years, u32::try_from(stored.year).unwrap_or(0), TREND_WIDTH);
        for (t, x) in trend.iter_mut().zip(xs) {
            t.x = x;
        }
        let business_value = Facet::ALL
            .iter()
            .enumerate()
            .map(|(i, _)| DimensionView {
                label: model.business_value[i].label.get(locale).to_string(),
                description: model.business_value[i].description.get(locale).to_string(),
                score: r.business_value[i].score,
                peers: None,
            })
            .collect();
        let crosswalk = |list: &[domain_model::RuledClass], current: usize| {
            list.iter()
                .enumerate()
                .map(|(i, c)| CrosswalkView {
                    label: c.label.get(locale).to_string(),
                    description: c.description.get(locale).to_string(),
                    current: i == current,
                })
                .collect::<Vec<_>>()
        };
        let forrester_stages = model
            .forrester
            .iter()
            .enumerate()
            .map(|(i, c)| CrosswalkView {
                label: c.label.get(locale).to_string(),
                description: c.description.get(locale).to_string(),
                current: i == r.forrester,
            })
            .collect();
        let altimeter_stages = crosswalk(&model.altimeter, r.altimeter);
        let section = r.firm.section;
        let ruled = |list: &[domain_model::RuledClass], i: usize| {
            list.get(i).map_or((String::new(), String::new()), |c| {
                (c.label.get(locale).to_string(), c.description.get(locale).to_string())
            })
        };
        let (archetype, archetype_description) = ruled(&model.archetypes, r.archetype);
        let (altimeter, altimeter_description) = ruled(&model.altimeter, r.altimeter);
        let forrester = model.forrester.get(r.forrester);
        let verdict = model.verdict(r.fit.verdict);
        Ok(Chapter {
            number,
            firm_name: stored.firm_name.clone(),
            sector: section.name(locale).to_string(),
            sector_code: section.code().to_string(),
            size: r.firm.size.name(locale).to_string(),
            province: r.firm.province.name(locale).to_string(),
            model: format!("{} v{}", model.id, model.version),
            model_title: model.title.get(locale).to_string(),
            model_provenance: model.provenance.get(locale).to_string(),
            date: date_text(date.0, date.1, date.2, locale.tag()),
            year: stored.year,
            maturity_index: r.maturity_index,
            attainment_threshold: model.scoring.attainment_threshold,
            external: axis(Axis::External),
            internal: axis(Axis::Internal),
            matrix,
            value_sources,
            business_value,
            trend,
            trend_firm_x,
            forrester_stages,
            altimeter_stages,
            proposition: r.proposition.centrality,
            social_native: r.proposition.social_native,
            fit: verdict.label.get(locale).to_string(),
            fit_id: r.fit.verdict.id().to_string(),
            fit_advice: verdict.description.get(locale).to_string(),
            fit_edges: edges
                .verdicts
                .iter()
                .map(|e| {
                    let label = model.verdict(e.after.fit.verdict).label.get(locale).to_string();
                    edge_view(model, &request, e, label, None, locale)
                })
                .collect(),
            key_message,
            business_case,
            fit_chart: crate::chapter::FitChartView {
                base: model.fit.base,
                slope: model.fit.slope,
                tolerance: model.fit.tolerance,
                restraint_below: model.fit.restraint_below,
            },
            fit_shares: figures
                .map(|f| f.fit_shares_of(model))
                .unwrap_or_default()
                .into_iter()
                .map(|(v, share)| crate::chapter::FitShareView {
                    id: v.id().to_string(),
                    label: model.verdict(v).label.get(locale).to_string(),
                    share,
                    own: v == r.fit.verdict,
                })
                .collect(),
            pay: figures.and_then(|f| f.pay.as_ref()).map(|pay| {
                let own = crate::pay::Own {
                    verdict: r.fit.verdict,
                    external_stage: r.axes[0].attained_stage,
                    internal_stage: r.axes[1].attained_stage,
                };
                crate::pay::PayView::of(pay, model, locale, own, r.fit.returns)
            }),
            trajectory,
            profile,
            business_answers,
            fit_target: r.fit.target,
            fit_gap: r.fit.gap,
            fit_tolerance: model.fit.tolerance,
            archetype,
            archetype_description,
            forrester: forrester.map_or(String::new(), |f| f.label.get(locale).to_string()),
            forrester_description: forrester.map_or(String::new(), |f| f.description.get(locale).to_string()),
            altimeter,
            altimeter_description,
            peers,
            rogers_curve: rogers_curve_views,
            rogers_x,
            rogers_size: [ROGERS_WIDTH, ROGERS_HEIGHT],
            recommendations,
            actions,
            context: self.context(section, locale),
            answers: AnswersView {
                items: r.answers.items_in_model,
                answered: r.answers.answered,
                dont_know: r.answers.dont_know,
                unanswered: r.answers.unanswered,
            },
            appendix: appendix(model, &request, locale),
            synthetic: stored.tenant == store::tenants::DEMO_TENANT,
        })
    }
}
