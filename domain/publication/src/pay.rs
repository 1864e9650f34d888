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

use crate::tally::{Groups, matrix_slot};

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
    pub(crate) fn of(policy: Policy, groups: &Groups) -> PayCells {
        let counts: Vec<BTreeMap<GroupKey, u32>> = (0..CELLS)
            .map(|c| {
                groups.0.iter().filter(|(_, t)| t.pay.answered(c) > 0).map(|(g, t)| (*g, t.pay.answered(c))).collect()
            })
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
            for (g, tally) in &groups.0 {
                for (b, cells) in BREAKDOWNS.iter().enumerate() {
                    let whole = published[0].contains(g)
                        && (b != 0 || tally.pay.unknown_verdict == 0)
                        && cells.clone().all(|c| tally.pay.answered(c) == 0 || published[c].contains(g));
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

    /// The pay figures of `group` from its tally, with only the cells that may be published.
    pub(crate) fn figures(&self, group: &GroupKey, tally: &crate::Tally) -> Option<Pay> {
        tally.pay.figures(|c| self.published[c].contains(group))
    }
}

#[cfg(test)]
mod tests {
    use domain_model::{FirmProfile, Province, SbiSection, SizeClass};

    use super::*;
    use crate::tally::tests::{Dice, member};
    use crate::{Member, Tally, plan};

    fn policy(k: u32) -> Policy {
        Policy::new(k).unwrap()
    }

    /// One firm of the cell (section J, size 10-49, Utrecht): its verdict, its stages and its two
    /// answers (`None` is "don't know").
    fn firm(id: i64, verdict: FitVerdict, stages: (i16, i16), cover: Option<bool>, measured: Option<bool>) -> Member {
        Member {
            id,
            profile: FirmProfile { section: SbiSection::J, size: SizeClass::ALL[1], province: Province::ALL[10] },
            maturity_index: 50.0,
            external_index: 50.0,
            internal_index: 50.0,
            external_stage: stages.0,
            internal_stage: stages.1,
            value_sources: [None; 4],
            proposition: 50.0,
            fit_verdict: Some(verdict),
            returns: Returns { cover_costs: cover, measured },
            synthetic: false,
            revision: 1,
        }
    }

    /// Fourteen firms of one cell, counted by hand.
    fn cell() -> Vec<Member> {
        use FitVerdict::{Balanced as B, UnderInvested as U};
        let (y, n) = (Some(true), Some(false));
        vec![
            // Balanced, external stage 3 or 4: five answer both items.
            firm(1, B, (3, 2), y, y),
            firm(2, B, (4, 2), y, n),
            firm(3, B, (3, 2), y, n),
            firm(4, B, (3, 2), n, n),
            firm(5, B, (4, 2), n, y),
            firm(6, B, (3, 2), None, y), // no answer on the cost item: not counted
            // Under-invested, external stage 0 or 1: six answer both.
            firm(7, U, (1, 2), y, n),
            firm(8, U, (0, 2), n, n),
            firm(9, U, (1, 2), n, n),
            firm(10, U, (1, 2), n, n),
            firm(11, U, (0, 2), y, n),
            firm(12, U, (1, 2), n, n),
            firm(13, U, (1, 2), y, None), // no answer on measurement: not counted
            firm(14, U, (1, 2), None, None),
        ]
    }

    fn published_pay(members: &[Member], k: u32) -> Option<Pay> {
        let groups = Groups::of(members);
        let decision = plan(policy(k), &groups, &BTreeMap::new());
        let national = decision.puts.iter().find(|p| p.group == GroupKey::ALL).expect("the Netherlands is published");
        national.figures.pay.clone()
    }

    #[test]
    fn pay_cells_count_what_the_members_answered() {
        let pay = published_pay(&cell(), 5).expect("eleven answering firms, k = 5");
        let c = |answered, cover_costs, measured| Some(PayCell { answered, cover_costs, measured });
        assert_eq!(pay.all, PayCell { answered: 11, cover_costs: 5, measured: 2 });
        assert_eq!(pay.by_verdict, [c(5, 3, 2), c(6, 2, 0), c(0, 0, 0), c(0, 0, 0)]);
        assert_eq!(pay.by_external_band, [c(6, 2, 0), c(0, 0, 0), c(5, 3, 2)]);
        assert_eq!(pay.by_internal_band, [c(0, 0, 0), c(11, 5, 2), c(0, 0, 0)]);
        assert_eq!(pay.by_verdict[0].unwrap().cover_costs_share(), Some(0.6));
        assert_eq!(pay.by_verdict[2].unwrap().measured_share(), None);
        // Every group of the ladder holds the same firms, and the same cells.
        let groups = Groups::of(&cell());
        let decision = plan(policy(5), &groups, &BTreeMap::new());
        assert_eq!(decision.puts.len(), 5);
        assert!(decision.puts.iter().all(|p| p.figures.pay.as_ref() == Some(&pay)));
    }

    #[test]
    fn a_breakdown_with_a_cell_below_k_is_withheld_whole() {
        // k = 6: the balanced cell has five answering firms, so no verdict is shown; the bands
        // (6, 0, 5) have one below k as well; internal bands (0, 11, 0) stand.
        let pay = published_pay(&cell(), 6).expect("eleven answering firms, k = 6");
        assert_eq!(pay.all.answered, 11);
        assert_eq!(pay.by_verdict, [None; 4]);
        assert_eq!(pay.by_external_band, [None; 3]);
        assert_eq!(pay.by_internal_band[1].map(|c| c.answered), Some(11));
        // Below k answering firms in all: no pay figures, though the group has 14 members.
        assert_eq!(published_pay(&cell(), 12), None);
        let groups = Groups::of(&cell());
        assert_eq!(plan(policy(12), &groups, &BTreeMap::new()).puts.len(), 5);
        // An answering firm of unknown verdict: the verdicts no longer add up, none is shown.
        let mut members = cell();
        members[0].fit_verdict = None;
        let pay = published_pay(&members, 5).unwrap();
        assert_eq!(pay.by_verdict, [None; 4]);
        assert!(pay.by_external_band.iter().all(Option::is_some));
    }

    /// What an attacker can compute from published cells: every relation between cells (a group's
    /// breakdown adds up to its "all"; a parent's cell is the sum of its children's along a split),
    /// solved wherever a single unknown remains, over and over. Returns every withheld cell so
    /// derived whose count is 1 to k-1.
    fn derivable_small_cells(groups: &Groups, puts: &[crate::Put], k: u32) -> Vec<(GroupKey, usize)> {
        // Cell 11 is the answering firms of unknown verdict: never published.
        let actual = |g: &GroupKey, c: usize| {
            groups.get(g).map_or(0, |t| if c == CELLS { t.pay.unknown_verdict } else { t.pay.answered(c) })
        };
        let mut known: BTreeSet<(GroupKey, usize)> = BTreeSet::new();
        for put in puts {
            if let Some(pay) = &put.figures.pay {
                known.insert((put.group, 0));
                let cells = pay.by_verdict.iter().chain(&pay.by_external_band).chain(&pay.by_internal_band);
                for (i, cell) in cells.enumerate() {
                    if let Some(cell) = cell {
                        assert_eq!(cell.answered, actual(&put.group, 1 + i));
                        known.insert((put.group, 1 + i));
                    }
                }
            }
        }
        // Relations as (total, parts): total = sum of parts. A group without members has no cells
        // (zero, which the attacker is granted).
        type Cell = (GroupKey, usize);
        let mut relations: Vec<(Cell, Vec<Cell>)> = Vec::new();
        let mut children: BTreeMap<(GroupKey, Split), Vec<GroupKey>> = BTreeMap::new();
        for g in groups.0.keys() {
            let mut verdicts: Vec<(GroupKey, usize)> = (1..5).map(|c| (*g, c)).collect();
            verdicts.push((*g, CELLS));
            relations.push(((*g, 0), verdicts));
            relations.push(((*g, 0), (5..8).map(|c| (*g, c)).collect()));
            relations.push(((*g, 0), (8..11).map(|c| (*g, c)).collect()));
            for key in g.parents() {
                children.entry(key).or_default().push(*g);
            }
        }
        for ((parent, _), kids) in &children {
            for c in 0..=CELLS {
                relations.push(((*parent, c), kids.iter().map(|g| (*g, c)).collect()));
            }
        }
        let mut small = Vec::new();
        loop {
            let mut derived = None;
            for (total, parts) in &relations {
                let unknown: Vec<&(GroupKey, usize)> =
                    std::iter::once(total).chain(parts).filter(|cell| !known.contains(*cell)).collect();
                if let [cell] = unknown[..] {
                    derived = Some(*cell);
                    break;
                }
            }
            let Some((g, c)) = derived else { return small };
            let n = actual(&g, c);
            if n > 0 && n < k {
                small.push((g, c));
            }
            known.insert((g, c));
        }
    }

    /// Forty universes of many small groups, published under k = 5 and 10: a published cell has no
    /// members or at least k answering firms, a breakdown stands whole or not at all, and no chain
    /// of subtractions isolates a withheld cell of 1 to k-1 firms.
    #[test]
    fn no_published_cell_or_difference_of_cells_isolates_fewer_than_k_firms() {
        let mut dice = Dice(0x9a7_f16e_5eed_0042);
        let mut published_breakdowns = 0;
        for (universe, k) in (0..40).map(|u| (u % 5, if u % 2 == 0 { 5 } else { 10 })) {
            let members: Vec<Member> = (0..400 + universe * 300).map(|id| member(&mut dice, id, 1)).collect();
            let groups = Groups::of(&members);
            let decision = plan(policy(k), &groups, &BTreeMap::new());
            for put in &decision.puts {
                let Some(pay) = &put.figures.pay else { continue };
                assert!(pay.all.answered >= k);
                for breakdown in [&pay.by_verdict[..], &pay.by_external_band[..], &pay.by_internal_band[..]] {
                    let shown = breakdown.iter().filter(|c| c.is_some()).count();
                    assert!(shown == 0 || shown == breakdown.len(), "{:?}: a breakdown in part", put.group);
                    if shown > 0 {
                        published_breakdowns += 1;
                        assert!(breakdown.iter().flatten().all(|c| c.answered == 0 || c.answered >= k));
                        let sum: u32 = breakdown.iter().flatten().map(|c| c.answered).sum();
                        assert_eq!(sum, pay.all.answered, "{:?}", put.group);
                    }
                }
            }
            let small = derivable_small_cells(&groups, &decision.puts, k);
            assert!(small.is_empty(), "universe {universe}, k = {k}: derivable cells {small:?}");
        }
        // The rules leave something to read: without it the test above would prove nothing.
        assert!(published_breakdowns > 20, "{published_breakdowns} breakdowns published");
    }

    /// The same universe, without the rule that a withheld cell never stands alone, gives the
    /// attacker a small cell: the rule is what the test above holds.
    #[test]
    fn without_the_second_withheld_cell_a_small_cell_would_be_derived() {
        let mut dice = Dice(0x9a7_f16e_5eed_0042);
        let members: Vec<Member> = (0..400).map(|id| member(&mut dice, id, 1)).collect();
        let groups = Groups::of(&members);
        let k = 5;
        // Each kind's cells published on their own counts only, every breakdown shown as far as
        // it goes: what publishing the cells like any other figure would give.
        let naive: Vec<crate::Put> = plan(policy(k), &groups, &BTreeMap::new())
            .puts
            .into_iter()
            .map(|mut put| {
                let tally: &Tally = groups.get(&put.group).unwrap();
                let per_kind: Vec<BTreeSet<GroupKey>> = (0..CELLS)
                    .map(|c| {
                        let counts = groups
                            .0
                            .iter()
                            .filter(|(_, t)| t.pay.answered(c) > 0)
                            .map(|(g, t)| (*g, t.pay.answered(c)))
                            .collect();
                        publishable_without(policy(k), &counts, &BTreeSet::new())
                    })
                    .collect();
                let cell = |c: usize| per_kind[c].contains(&put.group).then_some(tally.pay.cells[c]);
                put.figures.pay = per_kind[0].contains(&put.group).then(|| Pay {
                    all: tally.pay.cells[0],
                    by_verdict: std::array::from_fn(|v| cell(1 + v)),
                    by_external_band: std::array::from_fn(|b| cell(5 + b)),
                    by_internal_band: std::array::from_fn(|b| cell(8 + b)),
                });
                put
            })
            .collect();
        assert!(!derivable_small_cells(&groups, &naive, k).is_empty());
    }
}
