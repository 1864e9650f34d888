//! A group's members as publication counts them: member by member, so that the publisher keeps
//! the tallies of a universe between rounds and a round costs what changed.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::ops::Bound;

use domain_anonymity::GroupKey;
use domain_model::{FirmProfile, FitVerdict, Returns};
use domain_statistics::{distribution_of_sorted, stage_shares_of_counts};

use crate::figures::{Distribution, Figures, Ranks};
use crate::pay::{PayTally, matrix_slot};

/// A contribution as publication reads it: no pseudonym, nothing repeated per row.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    /// The contribution's row id (what a change record names).
    pub id: i64,
    /// Coarse attributes.
    pub profile: FirmProfile,
    /// Maturity index, 0-100.
    pub maturity_index: f64,
    /// External axis index.
    pub external_index: f64,
    /// Internal axis index.
    pub internal_index: f64,
    /// Attained external stage.
    pub external_stage: i16,
    /// Attained internal stage.
    pub internal_stage: i16,
    /// Value sources in `ValueSource::ALL` order.
    pub value_sources: [Option<f64>; 4],
    /// Proposition centrality.
    pub proposition: f64,
    /// The fit verdict; `None` for a contribution written before verdicts were kept and not
    /// filled in since.
    pub fit_verdict: Option<FitVerdict>,
    /// The answers on returns (nothing known for a contribution written before they were kept).
    pub returns: Returns,
    /// Demo data.
    pub synthetic: bool,
    /// Change counter.
    pub revision: i64,
}

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

pub(crate) fn metric(c: &Member, m: usize) -> Option<f64> {
    match m {
        0 => Some(c.maturity_index),
        1 => Some(c.external_index),
        2 => Some(c.internal_index),
        3 => Some(c.proposition),
        i => c.value_sources[i - 4],
    }
}

/// A value in the order of `f64::total_cmp` (the order figures sort values in).
#[derive(Clone, Copy, Debug)]
struct Ordered(f64);

impl PartialEq for Ordered {
    fn eq(&self, other: &Self) -> bool {
        self.0.total_cmp(&other.0).is_eq()
    }
}

impl Eq for Ordered {}

impl PartialOrd for Ordered {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ordered {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Adds one to (or takes one from) the count of `key`; a count that reaches zero leaves the map,
/// so that a tally kept member by member equals one counted afresh.
fn count<K: Ord>(map: &mut BTreeMap<K, u32>, key: K, add: bool) {
    match map.entry(key) {
        Entry::Vacant(e) if add => {
            e.insert(1);
        }
        Entry::Vacant(_) => {}
        Entry::Occupied(mut e) => {
            if add {
                *e.get_mut() += 1;
            } else if *e.get() > 1 {
                *e.get_mut() -= 1;
            } else {
                e.remove();
            }
        }
    }
}

fn step(counter: &mut u32, add: bool) {
    *counter = if add { counter.saturating_add(1) } else { counter.saturating_sub(1) };
}

/// The slot of an axis stage in the stage shares, as `stage_shares` counts a stage given as `u8`:
/// a stage that is no `u8` as stage 0, one above 4 in no slot (it still counts in the total).
fn share_slot(stage: i16) -> Option<usize> {
    let s = usize::from(u8::try_from(stage).unwrap_or(0));
    (s < 5).then_some(s)
}

/// What publication needs to know of one group's members, kept member by member: how many, how
/// many synthetic, each metric's values counted by value, the stages and fit verdicts counted, and
/// the members per revision. Adding or taking a member costs the logarithm of the group's distinct
/// values, so the publisher keeps the tallies of a universe between rounds and a round costs what
/// changed (and the figures of the groups it republishes), not a pass over the universe.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub(crate) n: u32,
    pub(crate) synthetic: u32,
    values: [BTreeMap<Ordered, u32>; METRICS.len()],
    external_stages: [u32; 5],
    internal_stages: [u32; 5],
    stage_matrix: [u32; 25],
    verdicts: [u32; 4],
    unknown_verdicts: u32,
    pub(crate) pay: PayTally,
    revisions: BTreeMap<i64, u32>,
}

impl Tally {
    /// The tally of `members`.
    pub fn of<'a>(members: impl IntoIterator<Item = &'a Member>) -> Tally {
        let mut tally = Tally::default();
        for c in members {
            tally.apply(c, true);
        }
        tally
    }

    fn apply(&mut self, c: &Member, add: bool) {
        step(&mut self.n, add);
        if c.synthetic {
            step(&mut self.synthetic, add);
        }
        for (m, values) in self.values.iter_mut().enumerate() {
            if let Some(v) = metric(c, m) {
                count(values, Ordered(v), add);
            }
        }
        if let Some(s) = share_slot(c.external_stage) {
            step(&mut self.external_stages[s], add);
        }
        if let Some(s) = share_slot(c.internal_stage) {
            step(&mut self.internal_stages[s], add);
        }
        step(&mut self.stage_matrix[matrix_slot(c.external_stage) * 5 + matrix_slot(c.internal_stage)], add);
        match c.fit_verdict {
            Some(v) => step(&mut self.verdicts[v.index()], add),
            None => step(&mut self.unknown_verdicts, add),
        }
        self.pay.apply(c.returns, c.fit_verdict, (c.external_stage, c.internal_stage), add);
        count(&mut self.revisions, c.revision, add);
    }

    /// Members with a revision after `watermark`.
    pub fn changed_since(&self, watermark: i64) -> u32 {
        self.revisions.range((Bound::Excluded(watermark), Bound::Unbounded)).map(|(_, c)| *c).sum()
    }

    /// The highest revision among the members (0 without members).
    pub fn watermark(&self) -> i64 {
        self.revisions.keys().next_back().copied().unwrap_or(0)
    }

    /// The values of metric `m`, sorted by `f64::total_cmp`.
    fn sorted(&self, m: usize) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.values[m].values().map(|c| *c as usize).sum());
        for (v, c) in &self.values[m] {
            out.extend(std::iter::repeat_n(v.0, *c as usize));
        }
        out
    }

    /// The group's figures.
    pub fn figures(&self) -> Figures {
        let sorted: [Vec<f64>; METRICS.len()] = std::array::from_fn(|m| self.sorted(m));
        let distributions = METRICS
            .iter()
            .zip(&sorted)
            .filter_map(|(name, values)| distribution_of_sorted(values).map(|d| Distribution::of(name, d)))
            .collect();
        let shares = |counts: &[u32; 5]| stage_shares_of_counts(counts.map(|c| c as usize), self.n as usize);
        Figures {
            distributions,
            external_stages: shares(&self.external_stages),
            internal_stages: shares(&self.internal_stages),
            stage_matrix: self.stage_matrix.to_vec(),
            maturity: Ranks::of_sorted(&sorted[0]),
            external: Ranks::of_sorted(&sorted[1]),
            internal: Ranks::of_sorted(&sorted[2]),
            // Published only when every member's verdict is known: shares of a subset would not
            // be the group's, and the subset could be smaller than k.
            fit_verdicts: (self.n > 0 && self.unknown_verdicts == 0).then_some(self.verdicts),
            // Decided for all groups together (`plan`).
            pay: None,
        }
    }
}

/// The figures of a set of contributions.
pub fn figures(members: &[&Member]) -> Figures {
    Tally::of(members.iter().copied()).figures()
}

/// The tally of every group of a universe that has members (each contribution counts in every
/// group of its ladder).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Groups(pub(crate) BTreeMap<GroupKey, Tally>);

impl Groups {
    /// The groups of `members`.
    pub fn of<'a>(members: impl IntoIterator<Item = &'a Member>) -> Groups {
        let mut groups = Groups::default();
        for c in members {
            groups.add(c);
        }
        groups
    }

    /// The pay counts of every group.
    pub(crate) fn pay(&self) -> BTreeMap<GroupKey, &PayTally> {
        self.0.iter().map(|(g, t)| (*g, &t.pay)).collect()
    }

    /// Counts `c` in the groups of its ladder.
    pub fn add(&mut self, c: &Member) {
        for g in GroupKey::of(&c.profile).ladder() {
            self.0.entry(g).or_default().apply(c, true);
        }
    }

    /// Takes `c` (as it was counted) out of the groups of its ladder; a group left without members
    /// is no longer held.
    pub fn remove(&mut self, c: &Member) {
        for g in GroupKey::of(&c.profile).ladder() {
            if let Entry::Occupied(mut e) = self.0.entry(g) {
                e.get_mut().apply(c, false);
                if e.get().n == 0 {
                    e.remove();
                }
            }
        }
    }

    /// The tally of `group`, if it has members.
    pub fn get(&self, group: &GroupKey) -> Option<&Tally> {
        self.0.get(group)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use domain_anonymity::Policy;
    use domain_model::{FitVerdict, Province, SbiSection, SizeClass};
    use domain_statistics::{distribution, stage_shares};

    use super::*;
    use crate::plan::plan;

    /// A small deterministic generator (xorshift), enough to vary members.
    pub(crate) struct Dice(pub(crate) u64);

    impl Dice {
        pub(crate) fn roll(&mut self, sides: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % sides
        }
    }

    /// A member with values from a coarse grid (so that groups hold repeated values), some value
    /// sources and verdicts unknown, and stages also outside 0..=4.
    pub(crate) fn member(dice: &mut Dice, id: i64, revision: i64) -> Member {
        let mut grid = |steps: u64| dice.roll(steps) as f64 * 100.0 / steps as f64;
        let (maturity_index, external_index, internal_index, proposition) = (grid(40), grid(25), grid(25), grid(7));
        let value_sources = [grid(9), grid(9), grid(9), grid(9)].map(|v| (v > 10.0).then_some(v));
        let profile = FirmProfile {
            section: SbiSection::ALL[dice.roll(3) as usize],
            size: SizeClass::ALL[dice.roll(2) as usize],
            province: Province::ALL[dice.roll(2) as usize],
        };
        Member {
            id,
            profile,
            maturity_index,
            external_index,
            internal_index,
            external_stage: dice.roll(7) as i16 - 1,
            internal_stage: dice.roll(6) as i16,
            value_sources,
            proposition,
            fit_verdict: (dice.roll(50) > 0).then(|| FitVerdict::ALL[dice.roll(4) as usize]),
            returns: Returns {
                cover_costs: (dice.roll(8) > 0).then(|| dice.roll(3) == 0),
                measured: (dice.roll(8) > 0).then(|| dice.roll(4) == 0),
            },
            synthetic: dice.roll(3) == 0,
            revision,
        }
    }

    /// The figures as computed from the members one by one (the members' values in id order,
    /// summarised by `domain-statistics` and `Ranks::of`), to hold the tallies' figures against.
    fn figures_one_by_one(members: &[&Member]) -> Figures {
        let values = |m: usize| -> Vec<f64> { members.iter().filter_map(|c| metric(c, m)).collect() };
        let distributions = METRICS
            .iter()
            .enumerate()
            .filter_map(|(m, name)| distribution(&values(m)).map(|d| Distribution::of(name, d)))
            .collect();
        let stages = |f: fn(&Member) -> i16| {
            stage_shares(&members.iter().map(|c| u8::try_from(f(c)).unwrap_or(0)).collect::<Vec<u8>>())
        };
        let mut stage_matrix = vec![0u32; 25];
        for c in members {
            stage_matrix[matrix_slot(c.external_stage) * 5 + matrix_slot(c.internal_stage)] += 1;
        }
        let verdicts = members.iter().try_fold([0u32; 4], |mut counts, c| {
            counts[c.fit_verdict?.index()] += 1;
            Some(counts)
        });
        Figures {
            distributions,
            external_stages: stages(|c| c.external_stage),
            internal_stages: stages(|c| c.internal_stage),
            stage_matrix,
            maturity: Ranks::of(&values(0)),
            external: Ranks::of(&values(1)),
            internal: Ranks::of(&values(2)),
            fit_verdicts: verdicts.filter(|_| !members.is_empty()),
            pay: None,
        }
    }

    #[test]
    fn a_tallys_figures_are_the_members_figures_to_the_last_bit() {
        let mut dice = Dice(0x5eed_1234_abcd_0001);
        let members: Vec<Member> = (0..600).map(|id| member(&mut dice, id, 1)).collect();
        let refs: Vec<&Member> = members.iter().collect();
        for size in [0, 1, 2, 7, 60, 600] {
            let some = &refs[..size];
            let figures = figures(some);
            assert_eq!(figures, figures_one_by_one(some), "{size} members");
        }
        // In any order: the tally has no order.
        let reversed: Vec<&Member> = refs.iter().rev().copied().collect();
        assert_eq!(figures(&reversed), figures(&refs));
        // Known verdicts only: a member without one withholds the group's verdict counts.
        assert!(refs.iter().any(|c| c.fit_verdict.is_none()));
        assert_eq!(figures(&refs).fit_verdicts, None);
        let known: Vec<&Member> = refs.iter().filter(|c| c.fit_verdict.is_some()).copied().collect();
        assert_eq!(figures(&known).fit_verdicts.map(|v| v.iter().sum::<u32>()), Some(known.len() as u32));
    }

    /// The publisher's tallies, kept change by change over many rounds (new firms, firms that
    /// submit again, some into another group), equal the tallies counted afresh from the members,
    /// and so plan the same publication to the last byte.
    #[test]
    fn tallies_kept_change_by_change_equal_tallies_counted_afresh() {
        let policy = Policy::new(10).unwrap();
        let mut dice = Dice(0x0dd_ba11_cafe_f00d);
        let mut members: BTreeMap<i64, Member> = (0..300).map(|id| (id, member(&mut dice, id, 1))).collect();
        let mut kept = Groups::of(members.values());
        let mut existing: BTreeMap<GroupKey, i64> = BTreeMap::new();
        let mut next_id = 300;
        for round in 2..40 {
            for _ in 0..dice.roll(60) {
                let id = if dice.roll(3) == 0 {
                    next_id += 1;
                    next_id
                } else {
                    dice.roll(next_id as u64) as i64
                };
                let now = member(&mut dice, id, round);
                if let Some(was) = members.insert(id, now.clone()) {
                    kept.remove(&was);
                }
                kept.add(&now);
            }
            let afresh = Groups::of(members.values());
            assert_eq!(kept, afresh, "round {round}");
            let (a, b) = (plan(policy, &kept, &existing), plan(policy, &afresh, &existing));
            assert_eq!(a, b, "round {round}");
            // The next round sees this one's releases.
            for withdrawn in &b.withdrawals {
                existing.remove(withdrawn);
            }
            existing.extend(b.puts.iter().map(|p| (p.group, p.watermark)));
        }
        // Every firm taken out again leaves nothing held.
        for m in members.values() {
            kept.remove(m);
        }
        assert_eq!(kept, Groups::default());
    }
}
