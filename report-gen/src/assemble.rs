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
            years_back: Arc::new(AtomicU32::new(domain_anonymity::years::DEFAULT_PEER_YEARS_BACK)),
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

    /// `stored`'s answers and their result, scored again with the model version they name.
    fn rescore(&self, stored: &StoredAssessment) -> Result<(Request, domain_scoring::Scored), AssembleError> {
        let rescore = |reason: String| AssembleError::Rescore { id: stored.id, reason };
        let request = domain_scoring::Request::from(stored.answers().map_err(|e| rescore(e.to_string()))?);
        let scored = request.score(&self.registry).map_err(|refusal| {
            rescore(match refusal {
                Refusal::Model(e) => e.to_string(),
                Refusal::Problems(p) => p.iter().map(|p| p.message(Locale::En)).collect::<Vec<_>>().join("; "),
            })
        })?;
        Ok((request, scored))
    }

    /// The peer group's trend (`trend`) placed on the chart's time axis, and the firm's own
    /// year's place on it.
    async fn trend_on_axis(
        &self,
        db: &impl ConnectionTrait,
        model: &Model,
        found: Option<&Found>,
        year: i32,
    ) -> Result<(Vec<TrendView>, f64), StoreError> {
        let mut trend = match found {
            Some(f) => self.trend(db, model, &f.held.group).await?,
            None => Vec::new(),
        };
        let years: Vec<u32> = trend.iter().map(|t| t.year).collect();
        let (xs, firm_x) = trend_x(&years, u32::try_from(year).unwrap_or(0), TREND_WIDTH);
        for (t, x) in trend.iter_mut().zip(xs) {
            t.x = x;
        }
        Ok((trend, firm_x))
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
        let (request, scored) = self.rescore(stored)?;
        let (model, r) = (&scored.model, &scored.assessment);
        let years_back = self.years_back.load(Ordering::Relaxed);
        let found: Option<Found> = peers::find(db, model, stored.year, &GroupKey::of(&r.firm), years_back).await?;
        let positions = found.as_ref().map(|f| f.positions([r.maturity_index, r.axes[0].index, r.axes[1].index]));
        let edges = domain_scoring::edges(model, &request.answers(), r);
        let parts = Parts {
            model,
            request: &request,
            r,
            figures: found.as_ref().map(Found::figures),
            percentiles: positions.map(|p| p.map(|x| x.percentile)),
            ranges: positions.map(|p| p.map(|x| [x.low, x.high])),
            edges: &edges,
            locale,
        };
        let trajectory = self.trajectory(db, stored, &scored, locale).await?;
        let (trend, trend_firm_x) = self.trend_on_axis(db, model, found.as_ref(), stored.year).await?;
        let (recommendations, actions, key_message) = parts.advice();
        let (rogers_curve, rogers_x) = parts.rogers();
        let (forrester_stages, altimeter_stages) = parts.crosswalks();
        let (archetype, archetype_description) = parts.ruled(&model.archetypes, r.archetype);
        let (altimeter, altimeter_description) = parts.ruled(&model.altimeter, r.altimeter);
        let (forrester, forrester_description) = model.forrester.get(r.forrester).map_or_else(Default::default, |f| {
            (f.label.get(locale).to_string(), f.description.get(locale).to_string())
        });
        let verdict = model.verdict(r.fit.verdict);
        let section = r.firm.section;
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
            external: parts.axis(Axis::External),
            internal: parts.axis(Axis::Internal),
            matrix: matrix_cells(parts.figures, Some((r.axes[0].attained_stage, r.axes[1].attained_stage))),
            value_sources: parts.value_sources(),
            business_value: parts.business_value(),
            trend,
            trend_firm_x,
            forrester_stages,
            altimeter_stages,
            proposition: r.proposition.centrality,
            social_native: r.proposition.social_native,
            fit: verdict.label.get(locale).to_string(),
            fit_id: r.fit.verdict.id().to_string(),
            fit_advice: verdict.description.get(locale).to_string(),
            fit_edges: parts.fit_edges(),
            key_message,
            business_case: parts.business_case(),
            fit_chart: parts.fit_chart(),
            fit_shares: parts.fit_shares(),
            pay: parts.pay(),
            trajectory,
            profile: parts.profile(),
            business_answers: parts.business_answers(),
            fit_target: r.fit.target,
            fit_gap: r.fit.gap,
            fit_tolerance: model.fit.tolerance,
            archetype,
            archetype_description,
            forrester,
            forrester_description,
            altimeter,
            altimeter_description,
            peers: parts.peers(found.as_ref(), self.policy.k()),
            rogers_curve,
            rogers_x,
            rogers_size: [ROGERS_WIDTH, ROGERS_HEIGHT],
            recommendations,
            actions,
            context: self.context(section, locale),
            answers: parts.answers(),
            appendix: appendix(model, &request, locale),
            synthetic: stored.tenant == store::tenants::DEMO_TENANT,
        })
    }
}

/// What the parts of a chapter are built from: the re-scored assessment with its model and
/// answers, the published figures of the peer group used, the firm's percentiles in it (maturity
/// index, external, internal) with their 90% ranges, the readings one answer away, and the
/// chapter's language. Each method builds one named part of the chapter's view.
struct Parts<'a> {
    model: &'a Model,
    request: &'a Request,
    r: &'a Assessment,
    figures: Option<&'a Figures>,
    percentiles: Option<[f64; 3]>,
    ranges: Option<[[f64; 2]; 3]>,
    edges: &'a domain_scoring::Edges,
    locale: Locale,
}

impl Parts<'_> {
    /// The fit chart's line and band, from the model's fit rules.
    fn fit_chart(&self) -> crate::chapter::FitChartView {
        let fit = &self.model.fit;
        crate::chapter::FitChartView {
            base: fit.base,
            slope: fit.slope,
            tolerance: fit.tolerance,
            restraint_below: fit.restraint_below,
        }
    }

    /// How many of the model's questions were answered, with "don't know", or not at all.
    fn answers(&self) -> AnswersView {
        let a = &self.r.answers;
        AnswersView { items: a.items_in_model, answered: a.answered, dont_know: a.dont_know, unanswered: a.unanswered }
    }

    fn distribution(&self, metric: &str) -> Option<Quartiles> {
        self.figures.and_then(|f| f.distribution(metric)).map(quartiles)
    }

    /// One axis: its stages with the peers' shares, where it stands among the peers, the stages
    /// one answer away, those too thinly answered to judge, and the next stage.
    fn axis(&self, a: Axis) -> AxisView {
        let (model, locale) = (self.model, self.locale);
        let def = model.axis(a);
        let res = self.r.axis(a);
        let stage = |n: u8| &def.stages[usize::from(n)];
        AxisView {
            label: def.label.get(locale).to_string(),
            index: res.index,
            stage: res.attained_stage,
            stage_label: stage(res.attained_stage).label.get(locale).to_string(),
            stage_description: stage(res.attained_stage).description.get(locale).to_string(),
            stages: self.stages(a),
            percentile: self.percentiles.map(|p| p[a.index() + 1]),
            percentile_range: self.ranges.map(|p| p[a.index() + 1]),
            edges: self.edges.stages[a.index()]
                .iter()
                .map(|e| {
                    let after = e.after.axis(a).attained_stage;
                    let label = stage(after).label.get(locale).to_string();
                    edge_view(model, self.request, e, label, Some(after), locale)
                })
                .collect(),
            skipped: res.skipped_stages().collect(),
            unknown: res
                .stages
                .iter()
                .filter(|s| s.insufficient_evidence)
                .map(|s| UnknownStageView {
                    number: s.stage,
                    label: stage(s.stage).label.get(locale).to_string(),
                    open: stage_items(model, self.request, a, s.stage, locale)
                        .into_iter()
                        .filter(|i| i.score.is_none())
                        .map(|i| i.text)
                        .collect(),
                })
                .collect(),
            next: (res.attained_stage < 4).then(|| {
                let n = res.attained_stage + 1;
                NextStageView {
                    number: n,
                    label: stage(n).label.get(locale).to_string(),
                    description: stage(n).description.get(locale).to_string(),
                    capability: res.stages[usize::from(n) - 1].capability,
                    items: stage_items(model, self.request, a, n, locale),
                }
            }),
        }
    }

    /// An axis's stages 0-4 with the firm's result and the share of its peers at each.
    fn stages(&self, a: Axis) -> Vec<StageView> {
        let def = self.model.axis(a);
        let res = self.r.axis(a);
        let shares = self.figures.and_then(|f| match a {
            Axis::External => f.external_stages,
            Axis::Internal => f.internal_stages,
        });
        def.stages
            .iter()
            .enumerate()
            .map(|(n, s)| {
                let result = n.checked_sub(1).and_then(|i| res.stages.get(i));
                StageView {
                    number: u8::try_from(n).unwrap_or(0),
                    label: s.label.get(self.locale).to_string(),
                    description: s.description.get(self.locale).to_string(),
                    capability: result.map(|x| x.capability),
                    attained: result.is_some_and(|x| x.attained),
                    skipped: result.is_some_and(|x| x.skipped),
                    unknown: result.is_some_and(|x| x.insufficient_evidence),
                    current: n == usize::from(res.attained_stage),
                    peer_share: shares.and_then(|sh| sh.get(n).copied()).map(round3),
                }
            })
            .collect()
    }

    /// The four value sources with the peers' distribution of each.
    fn value_sources(&self) -> Vec<DimensionView> {
        ValueSource::ALL
            .iter()
            .enumerate()
            .map(|(i, v)| DimensionView {
                label: self.model.value_sources[i].label.get(self.locale).to_string(),
                description: self.model.value_sources[i].description.get(self.locale).to_string(),
                score: self.r.value_sources[i].score,
                peers: self.distribution(v.id()),
            })
            .collect()
    }

    /// The four business value facets (no peer figures).
    fn business_value(&self) -> Vec<DimensionView> {
        Facet::ALL
            .iter()
            .enumerate()
            .map(|(i, _)| DimensionView {
                label: self.model.business_value[i].label.get(self.locale).to_string(),
                description: self.model.business_value[i].description.get(self.locale).to_string(),
                score: self.r.business_value[i].score,
                peers: None,
            })
            .collect()
    }

    /// The model's recommendations, the engine's actions, and the key message's two priorities
    /// (the first two actions, or without actions the first two recommendations).
    fn advice(&self) -> (Vec<AdviceView>, Vec<ActionView>, KeyMessageView) {
        let medians = ValueSource::ALL.map(|v| self.distribution(v.id()).map(|q| q.p50));
        let facts = self.r.advice_facts(medians);
        let recommendations: Vec<AdviceView> = self
            .model
            .advice(&facts)
            .map(|a| AdviceView {
                title: a.title.get(self.locale).to_string(),
                text: a.text.get(self.locale).to_string(),
            })
            .collect();
        let actions = action_views(self.model, self.request, self.r, self.locale);
        let priorities = if actions.is_empty() {
            recommendations.iter().take(2).map(|a| a.title.clone()).collect()
        } else {
            actions.iter().take(2).map(|a| a.practice.clone()).collect()
        };
        (recommendations, actions, KeyMessageView { priorities })
    }

    /// Whether the firm's own answers say its social media pay, and whether it measures that.
    fn business_case(&self) -> Option<BusinessCaseView> {
        let (model, r) = (self.model, self.r);
        model.fit.returns.as_ref().map(|rule| {
            let answer_of = |i: usize| {
                let view = item_view(model, self.request, &model.items[i], self.locale);
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
        })
    }

    /// Rogers' adopter categories as a curve, and where the firm's percentile falls on it.
    fn rogers(&self) -> (Vec<crate::chapter::RogersView>, Option<f64>) {
        let Some(p) = self.percentiles else { return (Vec::new(), None) };
        let categories: Vec<Category> = self
            .model
            .rogers
            .iter()
            .map(|c| Category {
                label: c.label.get(self.locale).to_string(),
                share_percent: c.share_percent,
                min_percentile: c.min_percentile,
            })
            .collect();
        let (views, x) = rogers_curve(&categories, p[0]);
        (views, Some(x))
    }

    /// The peer group used and the firm's position in it, when a group is published.
    fn peers(&self, found: Option<&Found>, k: u32) -> Option<PeersView> {
        let (f, p) = (found?, self.percentiles?);
        let locale = self.locale;
        let held = &f.held;
        let maturity = held.figures.distribution("maturity_index");
        Some(PeersView {
            group: held.group.name(locale),
            level: held.level().name(locale).to_string(),
            n: u32::try_from(held.n).unwrap_or(0),
            k,
            year: u32::try_from(f.year).unwrap_or(0),
            fallback: f.fallback().then(|| f.requested.fallback_reason(locale)),
            earlier_year: f
                .earlier_year()
                .then(|| domain_anonymity::earlier_year_reason(f.requested_year, f.year, locale)),
            synthetic_percent: 100.0 * held.synthetic_share,
            percentile: p[0],
            percentile_range: self.ranges.map_or([p[0], p[0]], |x| x[0]),
            rogers: self.model.rogers_category(p[0]).label.get(locale).to_string(),
            maturity: maturity.map(quartiles).unwrap_or(Quartiles { p10: 0.0, p25: 0.0, p50: 0.0, p75: 0.0, p90: 0.0 }),
            mean: maturity.map_or(0.0, |d| d.mean),
            has_matrix: self.figures.is_some_and(|f| f.stage_matrix.len() == 25),
        })
    }

    /// The strongest and the weakest scored value source, when at least two are scored.
    fn profile(&self) -> Option<ProfileView> {
        let scored: Vec<(String, f64)> = self
            .r
            .value_sources
            .iter()
            .zip(&self.model.value_sources)
            .filter_map(|(v, d)| v.score.map(|s| (d.label.get(self.locale).to_string(), s)))
            .collect();
        (scored.len() >= 2).then(|| {
            let by_score = |a: &&(String, f64), b: &&(String, f64)| a.1.total_cmp(&b.1);
            let strongest = scored.iter().max_by(by_score).cloned().unwrap_or_default();
            let weakest = scored.iter().min_by(by_score).cloned().unwrap_or_default();
            ProfileView {
                strongest: strongest.0,
                strongest_score: strongest.1,
                weakest: weakest.0,
                weakest_score: weakest.1,
            }
        })
    }

    /// The questions that give evidence of business value, with the firm's answers.
    fn business_answers(&self) -> Vec<ItemView> {
        self.model
            .items
            .iter()
            .filter(|i| i.evidence.iter().any(|(t, _)| matches!(t, Target::BusinessValue(_))))
            .map(|i| item_view(self.model, self.request, i, self.locale))
            .collect()
    }

    /// Forrester's and Altimeter's stages, the firm's marked.
    fn crosswalks(&self) -> (Vec<CrosswalkView>, Vec<CrosswalkView>) {
        let views = |list: &[domain_model::RuledClass], current: usize| {
            list.iter()
                .enumerate()
                .map(|(i, c)| CrosswalkView {
                    label: c.label.get(self.locale).to_string(),
                    description: c.description.get(self.locale).to_string(),
                    current: i == current,
                })
                .collect::<Vec<_>>()
        };
        let forrester = self
            .model
            .forrester
            .iter()
            .enumerate()
            .map(|(i, c)| CrosswalkView {
                label: c.label.get(self.locale).to_string(),
                description: c.description.get(self.locale).to_string(),
                current: i == self.r.forrester,
            })
            .collect();
        (forrester, views(&self.model.altimeter, self.r.altimeter))
    }

    /// The label and description of entry `i` of a classification (empty when there is none).
    fn ruled(&self, list: &[domain_model::RuledClass], i: usize) -> (String, String) {
        list.get(i).map_or_else(Default::default, |c| {
            (c.label.get(self.locale).to_string(), c.description.get(self.locale).to_string())
        })
    }

    /// The fit verdicts one answer away.
    fn fit_edges(&self) -> Vec<EdgeView> {
        self.edges
            .verdicts
            .iter()
            .map(|e| {
                let label = self.model.verdict(e.after.fit.verdict).label.get(self.locale).to_string();
                edge_view(self.model, self.request, e, label, None, self.locale)
            })
            .collect()
    }

    /// The peers' shares per fit verdict, the firm's own marked.
    fn fit_shares(&self) -> Vec<crate::chapter::FitShareView> {
        self.figures
            .map(|f| f.fit_shares_of(self.model))
            .unwrap_or_default()
            .into_iter()
            .map(|(v, share)| crate::chapter::FitShareView {
                id: v.id().to_string(),
                label: self.model.verdict(v).label.get(self.locale).to_string(),
                share,
                own: v == self.r.fit.verdict,
            })
            .collect()
    }

    /// Whether social media pay for firms like this one, from the group's published pay figures.
    fn pay(&self) -> Option<crate::pay::PayView> {
        let r = self.r;
        self.figures.and_then(|f| f.pay.as_ref()).map(|pay| {
            let own = crate::pay::Own {
                verdict: r.fit.verdict,
                external_stage: r.axes[0].attained_stage,
                internal_stage: r.axes[1].attained_stage,
            };
            crate::pay::PayView::of(pay, self.model, self.locale, own, r.fit.returns)
        })
    }
}
