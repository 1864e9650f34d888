//! "Does it pay for firms like us?": per published group, among the members that answered both
//! business-value items on returns (a "don't know" is no answer), how many report returns at least
//! equal to the costs and how many measure returns in money; for all of them, by fit verdict and
//! by stage band of each axis (0-1, 2, 3-4). Published figures only, never a single firm.
//!
//! Each cell is a count of firms with a group of its own, so each kind of cell (all, a verdict, a
//! band) is published under the group rules of `domain-anonymity` on its own counts (k, the
//! ladder's closure, secondary suppression across groups). Within a group the cells of one
//! breakdown add up to the group's cell "all", which links the kinds; two more rules keep that
//! link from isolating a small cell:
//! - a breakdown is published whole or not at all, and only with its group's cell "all";
//! - a withheld cell never stands alone among its parent's children: where a published parent
//!   cell has exactly one withheld child cell along a split, a second (the smallest published) is
//!   withheld too, so that subtracting siblings from the parent leaves two unknowns, never one.
//!
//! A withheld cell is `None`, and the readers say so.

use std::collections::{BTreeMap, BTreeSet};

use domain_anonymity::{GroupKey, Policy, Split, publishable_without};
use domain_model::{FitVerdict, Returns};
use serde::{Deserialize, Serialize};

/// The answers of one cell's members.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayCell {
    /// Members that answered both items.
    pub answered: u32,
    /// Of them, those whose returns are at least equal to the costs.
    pub cover_costs: u32,
    /// Of them, those that measure returns in money.
    pub measured: u32,
}

impl PayCell {
    fn apply(&mut self, (cover_costs, measured): (bool, bool), add: bool) {
        let step = |n: &mut u32, yes: bool| {
            if yes {
                *n = if add { n.saturating_add(1) } else { n.saturating_sub(1) };
            }
        };
        step(&mut self.answered, true);
        step(&mut self.cover_costs, cover_costs);
        step(&mut self.measured, measured);
    }

    /// The share of the answering members whose returns cover the costs (`None` without any).
    pub fn cover_costs_share(&self) -> Option<f64> {
        (self.answered > 0).then(|| f64::from(self.cover_costs) / f64::from(self.answered))
    }

    /// The share of the answering members that measure returns in money (`None` without any).
    pub fn measured_share(&self) -> Option<f64> {
        (self.answered > 0).then(|| f64::from(self.measured) / f64::from(self.answered))
    }
}

/// A stage band: stages 0-1, 2 and 3-4.
pub const BANDS: [&str; 3] = ["0-1", "2", "3-4"];

/// The band of an attained stage (below 0 as 0, above 4 as 4).
pub fn band(stage: i16) -> usize {
    match matrix_slot(stage) {
        0 | 1 => 0,
        2 => 1,
        _ => 2,
    }
}

/// The published pay figures of one group. `None` is a withheld cell.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pay {
    /// All answering members.
    pub all: PayCell,
    /// By fit verdict, in `FitVerdict::ALL` order.
    pub by_verdict: [Option<PayCell>; 4],
    /// By band of the external axis's stage (`BANDS`).
    pub by_external_band: [Option<PayCell>; 3],
    /// By band of the internal axis's stage (`BANDS`).
    pub by_internal_band: [Option<PayCell>; 3],
}

/// The row or column of an axis stage in the stage matrix and the pay bands: below 0 as 0, above
/// 4 as 4.
pub(crate) fn matrix_slot(stage: i16) -> usize {
    usize::try_from(stage).unwrap_or(0).min(4)
}

/// The cells a group counts: all, four verdicts, three external bands, three internal bands.
pub(crate) const CELLS: usize = 11;

/// The breakdowns, each a partition of the cell "all" (index 0).
const BREAKDOWNS: [std::ops::Range<usize>; 3] = [1..5, 5..8, 8..11];

/// A group's pay counts per cell, kept member by member in its tally.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PayTally {
    cells: [PayCell; CELLS],
    /// Answering members whose verdict is not known: then the verdicts do not add up to "all".
    unknown_verdict: u32,
}

impl PayTally {
    pub(crate) fn apply(&mut self, returns: Returns, verdict: Option<FitVerdict>, stages: (i16, i16), add: bool) {
        let Some(answers) = returns.answered() else { return };
        self.cells[0].apply(answers, add);
        match verdict {
            Some(v) => self.cells[1 + v.index()].apply(answers, add),
            None => {
                self.unknown_verdict =
                    if add { self.unknown_verdict + 1 } else { self.unknown_verdict.saturating_sub(1) }
            }
        }
        self.cells[5 + band(stages.0)].apply(answers, add);
        self.cells[8 + band(stages.1)].apply(answers, add);
    }

    fn answered(&self, cell: usize) -> u32 {
        self.cells[cell].answered
    }

    /// The pay figures with the cells of `published` (cell indices); `None` when "all" is not. A
    /// breakdown is shown when each of its cells is published or has no members (a cell without
    /// members is in no group's counts, and shown as such).
    fn figures(&self, published: impl Fn(usize) -> bool) -> Option<Pay> {
        let whole: Vec<bool> = BREAKDOWNS
            .iter()
            .enumerate()
            .map(|(b, cells)| {
                (b != 0 || self.unknown_verdict == 0)
                    && cells.clone().all(|c| self.cells[c].answered == 0 || published(c))
            })
            .collect();
        let cell = |b: usize, i: usize| whole[b].then_some(self.cells[i]);
        published(0).then(|| Pay {
            all: self.cells[0],
            by_verdict: std::array::from_fn(|v| cell(0, 1 + v)),
            by_external_band: std::array::from_fn(|i| cell(1, 5 + i)),
            by_internal_band: std::array::from_fn(|i| cell(2, 8 + i)),
        })
    }
}

/// Which pay cells of which groups may be published.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct PayCells {
    published: Vec<BTreeSet<GroupKey>>,
}

impl PayCells {
    /// Decides the cells of every group of `groups` under `policy` (see the module's rules).
    pub(crate) fn of(policy: Policy, groups: &BTreeMap<GroupKey, &PayTally>) -> PayCells {
        let counts: Vec<BTreeMap<GroupKey, u32>> = (0..CELLS)
            .map(|c| groups.iter().filter(|(_, t)| t.answered(c) > 0).map(|(g, t)| (*g, t.answered(c))).collect())
            .collect();
        // The children of every parent along every split, per kind of cell (members only).
        let children: Vec<BTreeMap<(GroupKey, Split), Vec<GroupKey>>> = counts
            .iter()
            .map(|count| {
                let mut map: BTreeMap<(GroupKey, Split), Vec<GroupKey>> = BTreeMap::new();
                for g in count.keys() {
                    for key in g.parents() {
                        map.entry(key).or_default().push(*g);
                    }
                }
                map
            })
            .collect();
        let mut withheld: Vec<BTreeSet<GroupKey>> = vec![BTreeSet::new(); CELLS];
        loop {
            let published: Vec<BTreeSet<GroupKey>> =
                (0..CELLS).map(|c| publishable_without(policy, &counts[c], &withheld[c])).collect();
            let mut changed = false;
            // A breakdown whole or not at all, and only with "all".
            for (g, tally) in groups {
                for (b, cells) in BREAKDOWNS.iter().enumerate() {
                    let whole = published[0].contains(g)
                        && (b != 0 || tally.unknown_verdict == 0)
                        && cells.clone().all(|c| tally.answered(c) == 0 || published[c].contains(g));
                    if !whole {
                        for c in cells.clone() {
                            changed |= published[c].contains(g) && withheld[c].insert(*g);
                        }
                    }
                }
            }
            // No withheld cell alone under a published parent cell.
            for c in 1..CELLS {
                for ((parent, _), kids) in &children[c] {
                    if !published[c].contains(parent) {
                        continue;
                    }
                    let hidden = kids.iter().filter(|g| !published[c].contains(*g)).count();
                    if hidden == 1 {
                        let smallest = kids
                            .iter()
                            .filter(|g| published[c].contains(*g))
                            .min_by_key(|g| (counts[c].get(*g).copied().unwrap_or(0), **g))
                            .copied();
                        changed |= withheld[c].insert(smallest.unwrap_or(*parent));
                    }
                }
            }
            if !changed {
                return PayCells { published };
            }
        }
    }

    /// The pay figures of `group` from its pay counts, with only the cells that may be published.
    pub(crate) fn figures(&self, group: &GroupKey, tally: &PayTally) -> Option<Pay> {
        tally.figures(|c| self.published[c].contains(group))
    }
}

#[cfg(test)]
mod tests;
