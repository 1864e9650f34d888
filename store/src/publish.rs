//! Publication of a universe's benchmark figures (one model version, one year) as the store
//! writes it: the plan of `domain-publication` (which groups go out, their figures, the
//! republication rule against the figures already out) in the store's rows and keys, written in
//! one transaction so that answers never see a half-published universe. Run by the publisher
//! (`engine`), out of the write path, from the tallies of the universe's groups (`Groups`, kept by
//! the publisher between rounds or counted from a read of the universe).

use std::collections::BTreeMap;

use domain_anonymity::{GroupKey, Policy};
use domain_model::{Province, SbiSection, SizeClass};
use sea_orm::ConnectionTrait;

pub use domain_publication::{Groups, METRICS, Tally, figures};

use crate as store;
use crate::figures::Stored;
use crate::{Release, StoreError, Universe};

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
    Ok(plan(policy, *year, &Groups::of(&rows), existing))
}

/// Decides what a publication of one universe under `policy` writes, from the tallies of its
/// groups and the figures already out (their stored keys and watermarks): `domain_publication`'s
/// plan, in the store's rows.
pub fn plan(policy: Policy, year: i32, groups: &Groups, existing: impl IntoIterator<Item = (String, i64)>) -> Plan {
    // A stored key that no longer parses (a classification changed since) is not a group any more.
    let existing: BTreeMap<GroupKey, i64> =
        existing.into_iter().filter_map(|(key, watermark)| Some((parse_key(&key)?, watermark))).collect();
    let decision = domain_publication::plan(policy, groups, &existing);
    Plan {
        puts: decision
            .puts
            .into_iter()
            .map(|put| Release {
                group_key: key_text(&put.group),
                level: put.group.level().map_or("", |l| l.id()).to_string(),
                n: i32::try_from(put.n).unwrap_or(i32::MAX),
                synthetic_share: put.synthetic_share,
                watermark: put.watermark,
                figures: put.figures.encode(),
                year,
            })
            .collect(),
        withdrawals: decision.withdrawals.iter().map(key_text).collect(),
        kept: decision.kept,
    }
}

/// Writes `plan` for `universe` at `generation` (in the publication's transaction).
pub async fn apply(
    tx: &impl ConnectionTrait,
    universe: &Universe,
    plan: &Plan,
    generation: i64,
    now_us: i64,
) -> Result<(), StoreError> {
    store::delete_releases(tx, universe, &plan.withdrawals).await?;
    store::put_releases(tx, universe, &plan.puts, now_us).await?;
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
