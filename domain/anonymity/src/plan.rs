//! Which groups may be published, and when published figures may change.

use std::collections::{BTreeMap, BTreeSet};

use crate::group::{GroupKey, Split};

/// The smallest threshold a deployment may configure.
pub const MIN_K: u32 = 5;

/// The default threshold.
pub const DEFAULT_K: u32 = 10;

/// A threshold below the minimum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the disclosure threshold k = {0} is below the minimum of {MIN_K}")]
pub struct PolicyError(pub u32);

/// The disclosure policy: the threshold `k`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    k: u32,
}

impl Policy {
    /// A policy with threshold `k`; below `MIN_K` is refused.
    pub fn new(k: u32) -> Result<Policy, PolicyError> {
        if k < MIN_K { Err(PolicyError(k)) } else { Ok(Policy { k }) }
    }

    /// The threshold.
    pub fn k(self) -> u32 {
        self.k
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy { k: DEFAULT_K }
    }
}

/// The groups that may be published, given the number of distinct firms in every group of a
/// published shape (groups absent from `counts` have none).
///
/// Primary suppression: fewer than `k` firms. Closure: a group is published only when every
/// parent of it is (otherwise a grandparent minus grandchildren would isolate an unpublished
/// cell). Secondary suppression: for every parent and every attribute that splits it, the firms
/// its published children along that split do not cover must number 0 or at least `k`; while some parent breaks that, its smallest published child is
/// suppressed too (which adds at least `k` firms to the residual). Each step removes a group, so
/// the loop ends; it runs until nothing changes.
pub fn publishable(policy: Policy, counts: &BTreeMap<GroupKey, u32>) -> BTreeSet<GroupKey> {
    let k = policy.k();
    let mut published: BTreeSet<GroupKey> =
        counts.iter().filter(|(g, n)| g.level().is_some() && **n >= k).map(|(g, _)| *g).collect();
    loop {
        let orphan = published.iter().find(|g| g.parents().iter().any(|(p, _)| !published.contains(p))).copied();
        if let Some(g) = orphan {
            published.remove(&g);
            continue;
        }
        // Children per parent and per split: each split is a partition of the parent, and its
        // residual is what subtracting all its published children leaves.
        let mut children: BTreeMap<(GroupKey, Split), Vec<GroupKey>> = BTreeMap::new();
        for g in &published {
            for key in g.parents() {
                children.entry(key).or_default().push(*g);
            }
        }
        let mut suppress = None;
        for ((parent, _), kids) in &children {
            let total = counts.get(parent).copied().unwrap_or(0);
            let covered: u32 = kids.iter().map(|c| counts.get(c).copied().unwrap_or(0)).sum();
            let residual = total.saturating_sub(covered);
            if residual > 0 && residual < k {
                // Suppress the smallest child: the least information lost.
                suppress = kids.iter().min_by_key(|c| (counts.get(c).copied().unwrap_or(0), **c)).copied();
                break;
            }
        }
        match suppress {
            Some(g) => {
                published.remove(&g);
            }
            None => return published,
        }
    }
}

/// What to do with a group's published figures at a new publication.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Republish {
    /// Publish figures computed now.
    Publish,
    /// Keep the figures published before: too few contributions changed.
    Keep,
    /// Publish nothing: the group is not publishable now.
    Withdraw,
}

/// Whether a group's figures change now. `publishable_now` is the outcome of `publishable`;
/// `published_before` whether the group has figures out; `changed` how many of its contributions
/// were added, replaced or removed since those figures were computed.
pub fn republish(policy: Policy, publishable_now: bool, published_before: bool, changed: u32) -> Republish {
    match (publishable_now, published_before) {
        (false, _) => Republish::Withdraw,
        (true, false) => Republish::Publish,
        (true, true) if changed >= policy.k() => Republish::Publish,
        (true, true) => Republish::Keep,
    }
}
