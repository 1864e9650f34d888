//! The plan of a publication of one universe: which groups' figures are (re)published, which
//! stay as they are and which are withdrawn, under `domain-anonymity`'s rules (threshold k, the
//! ladder's shapes and secondary suppression, republication only after k changes).

use std::collections::{BTreeMap, BTreeSet};

use domain_anonymity::{GroupKey, Policy, Republish, publishable, republish};

use crate::figures::Figures;
use crate::pay::PayCells;
use crate::tally::{Groups, Tally};

/// One group's figures to (re)publish.
#[derive(Clone, Debug, PartialEq)]
pub struct Put {
    pub group: GroupKey,
    /// Its members.
    pub n: u32,
    /// The share of them that are demo data.
    pub synthetic_share: f64,
    /// The highest revision among them: what later changes are counted from.
    pub watermark: i64,
    pub figures: Figures,
}

/// What a publication of one universe does.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decision {
    /// Groups whose figures are (re)published.
    pub puts: Vec<Put>,
    /// Groups withdrawn.
    pub withdrawals: Vec<GroupKey>,
    /// Groups whose earlier figures stay.
    pub kept: usize,
}

/// Decides what a publication of a universe under `policy` does, from the tallies of its groups
/// and the groups already published (with the watermark of their figures).
pub fn plan(policy: Policy, groups: &Groups, existing: &BTreeMap<GroupKey, i64>) -> Decision {
    let counts: BTreeMap<GroupKey, u32> = groups.0.iter().map(|(g, t)| (*g, t.n)).collect();
    let allowed = publishable(policy, &counts);
    let mut keys: BTreeSet<GroupKey> = allowed.clone();
    keys.extend(existing.keys().copied());
    let empty = Tally::default();
    let mut decision = Decision::default();
    let mut pay: Option<PayCells> = None;
    for g in keys {
        let before = existing.get(&g);
        let tally = groups.get(&g).unwrap_or(&empty);
        let changed = before.map_or(tally.n, |watermark| tally.changed_since(*watermark));
        match republish(policy, allowed.contains(&g), before.is_some(), changed) {
            Republish::Keep => decision.kept += 1,
            Republish::Withdraw => decision.withdrawals.push(g),
            Republish::Publish => {
                let cells = pay.get_or_insert_with(|| PayCells::of(policy, &groups.pay()));
                let figures = Figures { pay: cells.figures(&g, &tally.pay), ..tally.figures() };
                decision.puts.push(Put {
                    group: g,
                    n: tally.n,
                    synthetic_share: f64::from(tally.synthetic) / f64::from(tally.n.max(1)),
                    watermark: tally.watermark(),
                    figures,
                })
            }
        }
    }
    decision
}
