//! Disclosure control: the ladder, the threshold, secondary suppression and an attacker that
//! subtracts published groups from each other.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests stop at the first surprise")]

use std::collections::{BTreeMap, BTreeSet};

use domain_anonymity::{GroupKey, Level, Policy, Republish, Split, publishable, republish};
use domain_model::{FirmProfile, Province, SbiSection, SizeClass};
use proptest::prelude::*;

fn firm(section: SbiSection, size: SizeClass, province: Province) -> FirmProfile {
    FirmProfile { section, size, province }
}

/// Distinct-firm counts of every published-shape group, from a population.
fn counts(firms: &[FirmProfile]) -> BTreeMap<GroupKey, u32> {
    let mut out = BTreeMap::new();
    for f in firms {
        for g in GroupKey::of(f).ladder() {
            *out.entry(g).or_insert(0) += 1;
        }
    }
    out
}

fn members(g: &GroupKey, firms: &[FirmProfile]) -> BTreeSet<usize> {
    firms.iter().enumerate().filter(|(_, f)| g.contains(f)).map(|(i, _)| i).collect()
}

#[test]
fn the_ladder_is_the_documented_order() {
    let f = firm(SbiSection::J, SizeClass::Small, Province::Utrecht);
    let levels: Vec<Level> = GroupKey::of(&f).ladder().iter().map(|g| g.level().unwrap()).collect();
    assert_eq!(levels, Level::LADDER);
    // A shape that is never published starts at the nearest wider published group.
    let section_province = GroupKey { section: Some(SbiSection::J), size: None, province: Some(Province::Utrecht) };
    assert_eq!(section_province.level(), None);
    let ladder: Vec<String> = section_province.ladder().iter().map(ToString::to_string).collect();
    assert_eq!(ladder, ["J/*/*", "*/*/*"]);
    let size_only = GroupKey { size: Some(SizeClass::Large), ..GroupKey::ALL };
    assert_eq!(size_only.ladder().len(), 2);
}

#[test]
fn nine_firms_are_not_published_the_tenth_publishes() {
    let policy = Policy::default();
    let f = firm(SbiSection::F, SizeClass::Micro, Province::Zeeland);
    let mut firms = vec![f; 9];
    assert!(publishable(policy, &counts(&firms)).is_empty());
    firms.push(f);
    let published = publishable(policy, &counts(&firms));
    assert!(published.contains(&GroupKey::of(&f)));
    assert_eq!(published.len(), 5);
}

#[test]
fn a_small_sibling_suppresses_its_neighbour() {
    let policy = Policy::default();
    // Section×size F/micro has 25 firms in Zeeland and 3 in Drenthe: publishing Zeeland and the
    // section×size would expose the 3 by subtraction, so Zeeland is suppressed as well.
    let mut firms = vec![firm(SbiSection::F, SizeClass::Micro, Province::Zeeland); 25];
    firms.extend(vec![firm(SbiSection::F, SizeClass::Micro, Province::Drenthe); 3]);
    let published = publishable(policy, &counts(&firms));
    assert!(!published.contains(&GroupKey::of(&firms[0])));
    assert!(published.contains(&GroupKey { province: None, ..GroupKey::of(&firms[0]) }));
}

#[test]
fn a_size_class_inside_one_section_is_not_subtracted_from_it() {
    // Every micro firm is in section C, and C has one firm more: C minus "all micro firms" would
    // be that one firm's figures (the case the property test below found with crossing groups).
    let policy = Policy::new(5).unwrap();
    let mut firms = vec![firm(SbiSection::C, SizeClass::Micro, Province::Utrecht); 5];
    firms.push(firm(SbiSection::C, SizeClass::Small, Province::Utrecht));
    firms.extend(vec![firm(SbiSection::J, SizeClass::Small, Province::Utrecht); 6]);
    let published = publishable(policy, &counts(&firms));
    let c = GroupKey { size: None, province: None, ..GroupKey::of(&firms[0]) };
    let micro = GroupKey { section: None, province: None, ..GroupKey::of(&firms[0]) };
    assert!(published.contains(&c), "{published:?}");
    assert!(!published.contains(&micro), "{published:?}");
}

#[test]
fn a_threshold_below_five_is_refused() {
    assert!(Policy::new(4).is_err());
    assert_eq!(Policy::new(5).unwrap().k(), 5);
    assert_eq!(Policy::default().k(), 10);
}

#[test]
fn figures_change_only_after_k_changes() {
    let p = Policy::default();
    assert_eq!(republish(p, true, false, 0), Republish::Publish);
    assert_eq!(republish(p, true, true, 1), Republish::Keep);
    assert_eq!(republish(p, true, true, 9), Republish::Keep);
    assert_eq!(republish(p, true, true, 10), Republish::Publish);
    assert_eq!(republish(p, false, true, 50), Republish::Withdraw);
}

fn population() -> impl Strategy<Value = Vec<FirmProfile>> {
    // A small universe (3 sections, 2 sizes, 3 provinces) so that cells are small and
    // suppression has work to do.
    let sections = [SbiSection::C, SbiSection::F, SbiSection::J];
    let sizes = [SizeClass::Micro, SizeClass::Small];
    let provinces = [Province::Utrecht, Province::Zeeland, Province::Limburg];
    prop::collection::vec((0..3usize, 0..2usize, 0..3usize), 0..160)
        .prop_map(move |v| v.into_iter().map(|(a, b, c)| firm(sections[a], sizes[b], provinces[c])).collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// An attacker who subtracts any published group from any published group containing it, or a
    /// parent from all its published children together, never isolates between 1 and k-1 firms.
    #[test]
    fn no_difference_of_published_groups_isolates_fewer_than_k(firms in population(), k in 5u32..12) {
        let policy = Policy::new(k).unwrap();
        let published = publishable(policy, &counts(&firms));
        let sets: Vec<(GroupKey, BTreeSet<usize>)> = published.iter().map(|g| (*g, members(g, &firms))).collect();
        for (g, m) in &sets {
            prop_assert!(m.len() as u32 >= k, "{g} published with {}", m.len());
            for (p, _) in g.parents() {
                prop_assert!(published.contains(&p), "{g} published under unpublished {p}");
            }
        }
        for (a, ma) in &sets {
            for (b, mb) in &sets {
                if a != b && ma.is_subset(mb) {
                    let d = (mb.len() - ma.len()) as u32;
                    prop_assert!(d == 0 || d >= k, "{b} minus {a} isolates {d} firm(s)");
                }
            }
            for split in [Split::Section, Split::Size, Split::Province] {
                let children: Vec<&BTreeSet<usize>> =
                    sets.iter().filter(|(c, _)| c.parents().contains(&(*a, split))).map(|(_, m)| m).collect();
                let covered: BTreeSet<usize> = children.iter().flat_map(|m| m.iter().copied()).collect();
                let residual = (ma.len() - covered.len()) as u32;
                prop_assert!(residual == 0 || residual >= k, "{a} minus its children by {split:?} isolates {residual}");
            }
        }
    }
}
