//! The questionnaire as a firm answers it: the model's items in pages, each page the items whose
//! main evidence is the same stage, or the value sources, the proposition or business value. The
//! pages follow the model file (an item's page is that of the target it weighs most), so that a
//! new model version brings its own questionnaire.

use crate::model::{Axis, Model, Target};

/// What a page of the questionnaire asks about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Section {
    /// A stage (1..=4) of an axis.
    Stage(Axis, u8),
    /// The four sources of value.
    ValueSources,
    /// How central social media are to the proposition, and whether the firm was built on them.
    Proposition,
    /// What social media cost and bring in.
    BusinessValue,
}

/// One page: its section and its items (indices into `Model::items`, in file order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    pub section: Section,
    pub items: Vec<usize>,
}

impl Section {
    /// The part of the questionnaire a section belongs to, 0..=3: the external axis, the internal
    /// axis, the value sources, the proposition with business value.
    pub fn part(self) -> usize {
        match self {
            Section::Stage(Axis::External, _) => 0,
            Section::Stage(Axis::Internal, _) => 1,
            Section::ValueSources => 2,
            Section::Proposition | Section::BusinessValue => 3,
        }
    }

    fn of(target: Target) -> Section {
        match target {
            Target::Stage(axis, stage) => Section::Stage(axis, stage),
            Target::ValueSource(_) => Section::ValueSources,
            Target::Proposition | Target::SocialNative => Section::Proposition,
            Target::BusinessValue(_) => Section::BusinessValue,
        }
    }
}

/// The pages of `model`'s questionnaire, in the order of their first item in the file. An item
/// belongs to the section of the target it weighs most (the first of equal weights); one without
/// evidence, which validation does not allow, would join the proposition.
pub fn pages(model: &Model) -> Vec<Page> {
    let mut pages: Vec<Page> = Vec::new();
    for (i, item) in model.items.iter().enumerate() {
        let main = item.evidence.iter().fold(None::<(Target, f64)>, |best, &(t, w)| match best {
            Some((_, bw)) if bw >= w => best,
            _ => Some((t, w)),
        });
        let section = main.map_or(Section::Proposition, |(t, _)| Section::of(t));
        match pages.iter_mut().find(|p| p.section == section) {
            Some(page) => page.items.push(i),
            None => pages.push(Page { section, items: vec![i] }),
        }
    }
    pages
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ModelRegistry;

    #[test]
    fn every_item_is_on_exactly_one_page_and_the_pages_follow_the_axes_then_value_proposition_and_returns() {
        let registry = ModelRegistry::builtin().unwrap();
        let model = registry.resolve("", 0).unwrap();
        let pages = pages(&model);
        let mut seen: Vec<usize> = pages.iter().flat_map(|p| p.items.iter().copied()).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..model.items.len()).collect::<Vec<_>>());
        let sections: Vec<Section> = pages.iter().map(|p| p.section).collect();
        let mut expected: Vec<Section> = Vec::new();
        for axis in [Axis::External, Axis::Internal] {
            expected.extend((1..=4).map(|s| Section::Stage(axis, s)));
        }
        expected.extend([Section::ValueSources, Section::Proposition, Section::BusinessValue]);
        assert_eq!(sections, expected);
        let parts: Vec<usize> = pages.iter().map(|p| p.section.part()).collect();
        assert!(parts.windows(2).all(|w| w[0] <= w[1]), "parts in order: {parts:?}");
        let e1 = &pages[0].items;
        assert!(e1.iter().all(|&i| model.items[i].id.starts_with("e1.")), "the first page is E1's");
    }
}
