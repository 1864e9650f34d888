//! The pay figures through a whole publication: what a group's members answered, which cells
//! are published, and that no withheld cell can be derived from published ones.

use domain_model::{FirmProfile, Province, SbiSection, SizeClass};

use super::*;
use crate::Groups;
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
