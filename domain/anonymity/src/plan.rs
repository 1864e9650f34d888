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
/// suppressed too (which adds at least `k` firms to the residual). Crossing groups: when every firm
/// of a published group is also in another (a size class whose firms all happen to be in one
/// section, say: their overlap has as many firms as the group), the other may not hold 1 to k-1
/// firms more; the smaller of the two is suppressed. Each step removes a group, so the loop ends;
/// it runs until nothing changes.
pub fn publishable(policy: Policy, counts: &BTreeMap<GroupKey, u32>) -> BTreeSet<GroupKey> {
    publishable_without(policy, counts, &BTreeSet::new())
}

/// `publishable`, with the groups of `withheld` suppressed from the start whatever their counts
/// (a figure withheld for a reason outside these counts): the rules then protect what they leave
/// out as they protect any other suppressed group.
pub fn publishable_without(
    policy: Policy,
    counts: &BTreeMap<GroupKey, u32>,
    withheld: &BTreeSet<GroupKey>,
) -> BTreeSet<GroupKey> {
    let k = policy.k();
    let mut published: BTreeSet<GroupKey> = counts
        .iter()
        .filter(|(g, n)| g.level().is_some() && **n >= k && !withheld.contains(g))
        .map(|(g, _)| *g)
        .collect();
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
        if suppress.is_none() {
            suppress = contained_with_few_more(k, counts, &published);
        }
        match suppress {
            Some(g) => {
                published.remove(&g);
            }
            None => return published,
        }
    }
}

/// A published group all of whose firms are in another published group that has between 1 and
/// k-1 firms more (found through their overlap, a group of a published shape), if there is one.
fn contained_with_few_more(
    k: u32,
    counts: &BTreeMap<GroupKey, u32>,
    published: &BTreeSet<GroupKey>,
) -> Option<GroupKey> {
    let n = |g: &GroupKey| counts.get(g).copied().unwrap_or(0);
    // By size, so that only groups with fewer than k firms more than `a` are compared with it.
    let mut by_size: Vec<(u32, GroupKey)> = published.iter().map(|g| (n(g), *g)).collect();
    by_size.sort();
    for (i, (na, a)) in by_size.iter().enumerate() {
        for (nb, b) in by_size[i + 1..].iter().take_while(|(nb, _)| *nb < na + k) {
            if nb > na && a.overlap(b).is_some_and(|o| n(&o) == *na) {
                return Some(*a);
            }
        }
    }
    None
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
