//! Publication of a universe's benchmark figures (one model version, one year): which groups
//! may be published (`domain-anonymity`), their figures (`domain-statistics`), and the
//! republication rule against the figures already out. Run by the publisher (`engine`), out of the
//! write path: a plan is computed from a read of the universe and written in one transaction, so
//! that answers never see a half-published universe.

use std::collections::{BTreeMap, BTreeSet};

use domain_anonymity::{GroupKey, Policy, Republish, publishable, republish};
use domain_model::{Province, SbiSection, SizeClass};
use domain_statistics::{distribution, stage_shares};
use sea_orm::ConnectionTrait;

use crate as store;
use crate::figures::{Distribution as FigureDistribution, Figures, Ranks};
use crate::{Member, Release, StoreError, Universe};

/// The metrics every release carries, in order.
pub const METRICS: [&str; 8] = [
    "maturity_index",
    "external_index",
    "internal_index",
    "proposition",
    "co_creation",
    "information_sharing",
    "network_mobilisation",
    "trust_building",
];

fn metric(c: &Member, m: usize) -> Option<f64> {
    match m {
        0 => Some(c.maturity_index),
        1 => Some(c.external_index),
        2 => Some(c.internal_index),
        3 => Some(c.proposition),
        i => c.value_sources[i - 4],
    }
}

/// A group's key as stored: `J/small/NL-UT`, with `*` for any.
pub fn key_text(g: &GroupKey) -> String {
    g.to_string()
}

/// The group of a stored key.
pub fn parse_key(text: &str) -> Option<GroupKey> {
    let mut parts = text.split('/');
    let (s, z, p) = (parts.next()?, parts.next()?, parts.next()?);
    fn opt(v: &str) -> Option<&str> {
        (v != "*").then_some(v)
    }
    Some(GroupKey {
        section: match opt(s) {
            Some(v) => Some(SbiSection::parse(v)?),
            None => None,
        },
        size: match opt(z) {
            Some(v) => Some(SizeClass::parse(v)?),
            None => None,
        },
        province: match opt(p) {
            Some(v) => Some(Province::parse(v)?),
            None => None,
        },
    })
}

/// The figures of a set of contributions.
pub fn figures(members: &[&Member]) -> Figures {
    // The ranked metrics' values are sorted once, for both their distribution and their ranks,
    // which then find them sorted (a run their sort passes over once).
    let sorted_metric = |m: usize| {
        let mut values: Vec<f64> = members.iter().filter_map(|c| metric(c, m)).collect();
        values.sort_by(f64::total_cmp);
        values
    };
    let sorted: [Vec<f64>; 3] = [sorted_metric(0), sorted_metric(1), sorted_metric(2)];
    let distributions = METRICS
        .iter()
        .enumerate()
        .filter_map(|(i, name)| {
            let other: Vec<f64>;
            let values: &[f64] = match sorted.get(i) {
                Some(s) => s,
                None => {
                    other = members.iter().filter_map(|c| metric(c, i)).collect();
                    &other
                }
            };
            distribution(values).map(|d| FigureDistribution {
                metric: (*name).to_string(),
                n: d.n as u32,
                mean: d.mean,
                sd: d.sd,
                percentiles: d.percentiles,
            })
        })
        .collect();
    let stages = |f: fn(&Member) -> i16| -> Option<[f64; 5]> {
        let s: Vec<u8> = members.iter().map(|c| u8::try_from(f(c)).unwrap_or(0)).collect();
        stage_shares(&s)
    };
    let mut stage_matrix = vec![0u32; 25];
    for c in members {
        let e = usize::try_from(c.external_stage).unwrap_or(0).min(4);
        let i = usize::try_from(c.internal_stage).unwrap_or(0).min(4);
        stage_matrix[e * 5 + i] += 1;
    }
    // Published only when every member's verdict is known: shares of a subset would not be the
    // group's, and the subset could be smaller than k.
    let fit_verdicts = members
        .iter()
        .try_fold([0u32; 4], |mut counts, c| {
            counts[c.fit_verdict?.index()] += 1;
            Some(counts)
        })
        .filter(|_| !members.is_empty());
    Figures {
        distributions,
        external_stages: stages(|c| c.external_stage),
        internal_stages: stages(|c| c.internal_stage),
        stage_matrix,
        maturity: Ranks::of(&sorted[0]),
        external: Ranks::of(&sorted[1]),
        internal: Ranks::of(&sorted[2]),
        fit_verdicts,
    }
}

/// What a publication did, for logs and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Published {
    /// Groups whose figures were (re)computed.
    pub published: usize,
    /// Groups whose earlier figures stayed.
    pub kept: usize,
    /// Groups withdrawn.
    pub withdrawn: usize,
}

/// What a publication of one universe will write: computed from a read of the universe (outside
/// any write transaction), applied in one.
#[derive(Debug, Default)]
pub struct Plan {
    /// Groups whose figures are (re)published.
    pub puts: Vec<Release>,
    /// Groups withdrawn.
    pub withdrawals: Vec<String>,
    /// Groups whose earlier figures stay.
    pub kept: usize,
}

impl Plan {
    /// The counts of the plan.
    pub fn summary(&self) -> Published {
        Published { published: self.puts.len(), kept: self.kept, withdrawn: self.withdrawals.len() }
    }
}

/// Decides what a publication of one universe under `policy` writes, from its contributions (read
/// now) and the figures already out.
pub async fn plan_universe(db: &impl ConnectionTrait, policy: Policy, universe: &Universe) -> Result<Plan, StoreError> {
    let Universe { model_id, model_version, year } = universe;
    let rows = store::members(db, model_id, *model_version, *year).await?;
    let existing = store::release_marks(db, model_id, *model_version, *year).await?;
    Ok(plan(policy, *year, rows.iter(), existing))
}

/// Decides what a publication of one universe of `year` under `policy` writes, from all of its
/// contributions (in the order of their ids, so that sums come out the same to the last bit on
/// every run) and the watermark of each group already out.
pub fn plan<'a>(
    policy: Policy,
    year: i32,
    contributions: impl Iterator<Item = &'a Member>,
    existing: impl IntoIterator<Item = (String, i64)>,
) -> Plan {
    let mut members: BTreeMap<GroupKey, Vec<&Member>> = BTreeMap::new();
    for c in contributions {
        for g in GroupKey::of(&c.profile).ladder() {
            members.entry(g).or_default().push(c);
        }
    }
    let counts: BTreeMap<GroupKey, u32> = members.iter().map(|(g, m)| (*g, m.len() as u32)).collect();
    let allowed = publishable(policy, &counts);
    let existing: BTreeMap<String, i64> = existing.into_iter().collect();
    let mut keys: BTreeSet<GroupKey> = allowed.clone();
    keys.extend(existing.keys().filter_map(|k| parse_key(k)));
    let mut plan = Plan::default();
    for g in keys {
        let key = key_text(&g);
        let before = existing.get(&key);
        let group = members.get(&g).map(Vec::as_slice).unwrap_or_default();
        let changed = before.map_or(group.len(), |watermark| group.iter().filter(|c| c.revision > *watermark).count());
        match republish(policy, allowed.contains(&g), before.is_some(), changed as u32) {
            Republish::Keep => plan.kept += 1,
            Republish::Withdraw => plan.withdrawals.push(key),
            Republish::Publish => {
                let synthetic = group.iter().filter(|c| c.synthetic).count();
                plan.puts.push(Release {
                    group_key: key,
                    level: g.level().map_or("", |l| l.id()).to_string(),
                    n: group.len() as i32,
                    synthetic_share: synthetic as f64 / group.len().max(1) as f64,
                    watermark: group.iter().map(|c| c.revision).max().unwrap_or(0),
                    figures: figures(group).encode(),
                    year,
                });
            }
        }
    }
    plan
}

/// Writes `plan` for `universe` at `generation` (in the publication's transaction).
pub async fn apply(
    tx: &impl ConnectionTrait,
    universe: &Universe,
    plan: &Plan,
    generation: i64,
    now_us: i64,
) -> Result<(), StoreError> {
    for key in &plan.withdrawals {
        store::delete_release(tx, &universe.model_id, universe.model_version, universe.year, key).await?;
    }
    for release in &plan.puts {
        store::put_release(tx, &universe.model_id, universe.model_version, release, now_us).await?;
    }
    store::mark_universe(tx, universe, generation).await
}

/// Publishes one universe under `policy` in the transaction `tx` (demo seeding: no publisher
/// lease is needed, the generation is bumped unconditionally so that running servers reload).
pub async fn publish_universe(
    tx: &impl ConnectionTrait,
    policy: Policy,
    universe: &Universe,
    now_us: i64,
) -> Result<Published, StoreError> {
    let plan = plan_universe(tx, policy, universe).await?;
    let generation = store::bump_generation(tx, None, now_us, 0).await?.unwrap_or(0);
    apply(tx, universe, &plan, generation, now_us).await?;
    Ok(plan.summary())
}
