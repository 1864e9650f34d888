//! Peer groups and the fallback ladder.

use std::fmt;

use domain_model::{FirmProfile, Locale, Province, SbiSection, SizeClass};

/// The shapes of group that are ever published, narrowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// Section × size class × province.
    SectionSizeProvince,
    /// Section × size class.
    SectionSize,
    /// One SBI section, all size classes and provinces.
    Section,
    /// One size class, all sections and provinces.
    Size,
    /// All Dutch firms.
    All,
}

impl Level {
    /// Every level, narrowest first: the fallback order.
    pub const LADDER: [Level; 5] =
        [Level::SectionSizeProvince, Level::SectionSize, Level::Section, Level::Size, Level::All];

    /// A stable id for APIs and storage.
    pub fn id(self) -> &'static str {
        match self {
            Level::SectionSizeProvince => "section_size_province",
            Level::SectionSize => "section_size",
            Level::Section => "section",
            Level::Size => "size",
            Level::All => "all",
        }
    }

    /// What the groups of this level are made of, in `locale` (for a chapter's peer section).
    pub fn name(self, locale: Locale) -> &'static str {
        match (self, locale) {
            (Level::SectionSizeProvince, Locale::Nl) => "sector, grootteklasse en provincie",
            (Level::SectionSizeProvince, Locale::En) => "sector, size class and province",
            (Level::SectionSize, Locale::Nl) => "sector en grootteklasse",
            (Level::SectionSize, Locale::En) => "sector and size class",
            (Level::Section, _) => "sector",
            (Level::Size, Locale::Nl) => "grootteklasse",
            (Level::Size, Locale::En) => "size class",
            (Level::All, Locale::Nl) => "alle bedrijven",
            (Level::All, Locale::En) => "all firms",
        }
    }
}

/// The attribute that splits a parent group into disjoint children.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Split {
    /// By SBI section.
    Section,
    /// By size class.
    Size,
    /// By province.
    Province,
}

/// A peer group: the firms matching every attribute that is set. Year and model version are not
/// part of the key: groups of different years or model versions are separate universes and are
/// never combined.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupKey {
    /// SBI section, or any.
    pub section: Option<SbiSection>,
    /// Size class, or any.
    pub size: Option<SizeClass>,
    /// Province, or any.
    pub province: Option<Province>,
}

impl GroupKey {
    /// All Dutch firms.
    pub const ALL: GroupKey = GroupKey { section: None, size: None, province: None };

    /// The narrowest group of a firm.
    pub fn of(firm: &FirmProfile) -> GroupKey {
        GroupKey { section: Some(firm.section), size: Some(firm.size), province: Some(firm.province) }
    }

    /// The level of this group, or `None` for a shape that is never published (for example
    /// section × province).
    pub fn level(&self) -> Option<Level> {
        match (self.section.is_some(), self.size.is_some(), self.province.is_some()) {
            (true, true, true) => Some(Level::SectionSizeProvince),
            (true, true, false) => Some(Level::SectionSize),
            (true, false, false) => Some(Level::Section),
            (false, true, false) => Some(Level::Size),
            (false, false, false) => Some(Level::All),
            _ => None,
        }
    }

    /// The group of the firms in both `self` and `other`; `None` when no firm can be in both (they
    /// name different values of one attribute).
    pub fn overlap(&self, other: &GroupKey) -> Option<GroupKey> {
        fn one<T: PartialEq + Copy>(a: Option<T>, b: Option<T>) -> Result<Option<T>, ()> {
            match (a, b) {
                (Some(x), Some(y)) if x != y => Err(()),
                (x, y) => Ok(x.or(y)),
            }
        }
        Some(GroupKey {
            section: one(self.section, other.section).ok()?,
            size: one(self.size, other.size).ok()?,
            province: one(self.province, other.province).ok()?,
        })
    }

    /// Whether `firm` belongs to this group.
    pub fn contains(&self, firm: &FirmProfile) -> bool {
        self.section.is_none_or(|s| s == firm.section)
            && self.size.is_none_or(|s| s == firm.size)
            && self.province.is_none_or(|p| p == firm.province)
    }

    /// The group at `level` that contains this one, when there is one (a section group has no
    /// size-class group above it).
    pub fn at(&self, level: Level) -> Option<GroupKey> {
        let key = match level {
            Level::SectionSizeProvince => *self,
            Level::SectionSize => GroupKey { province: None, ..*self },
            Level::Section => GroupKey { size: None, province: None, ..*self },
            Level::Size => GroupKey { section: None, province: None, ..*self },
            Level::All => GroupKey::ALL,
        };
        // The result must contain self and have exactly the shape of `level`.
        let widens = (self.section.is_some() || key.section.is_none())
            && (self.size.is_some() || key.size.is_none())
            && (self.province.is_some() || key.province.is_none());
        (key.level() == Some(level) && widens).then_some(key)
    }

    /// The groups to try for a request, narrowest first: the request itself when it has a
    /// published shape, then every wider group of the ladder that contains it.
    pub fn ladder(&self) -> Vec<GroupKey> {
        let mut out: Vec<GroupKey> = Vec::new();
        for level in Level::LADDER {
            if let Some(k) = self.at(level)
                && !out.contains(&k)
            {
                out.push(k);
            }
        }
        out
    }

    /// The groups directly above this one, each with the attribute that splits the parent into
    /// this group and its siblings: section × size × province sits under section × size (split by
    /// province); section × size under its section (split by size) and under its size class
    /// (split by section); a section and a size class under all firms (split by section, by size).
    pub fn parents(&self) -> Vec<(GroupKey, Split)> {
        match self.level() {
            Some(Level::SectionSizeProvince) => vec![(GroupKey { province: None, ..*self }, Split::Province)],
            Some(Level::SectionSize) => {
                vec![
                    (GroupKey { size: None, ..*self }, Split::Size),
                    (GroupKey { section: None, ..*self }, Split::Section),
                ]
            }
            Some(Level::Section) => vec![(GroupKey::ALL, Split::Section)],
            Some(Level::Size) => vec![(GroupKey::ALL, Split::Size)],
            Some(Level::All) | None => Vec::new(),
        }
    }

    /// A readable name in `locale`, for reports and answers.
    pub fn name(&self, locale: Locale) -> String {
        let mut parts = Vec::new();
        if let Some(s) = self.section {
            parts.push(format!("{} {}", s.code(), s.name(locale)));
        }
        if let Some(z) = self.size {
            parts.push(z.name(locale).to_string());
        }
        if let Some(p) = self.province {
            parts.push(p.name(locale).to_string());
        }
        if parts.is_empty() {
            return match locale {
                Locale::Nl => "alle Nederlandse bedrijven".to_string(),
                Locale::En => "all Dutch firms".to_string(),
            };
        }
        parts.join(" · ")
    }

    /// Why a request for this group was answered with a wider one, in `locale`: the combination
    /// is never published, or this group is not published now.
    pub fn fallback_reason(&self, locale: Locale) -> String {
        match (self.level().is_none(), locale) {
            (true, Locale::Nl) => {
                "Deze combinatie van kenmerken wordt nooit gepubliceerd; de dichtstbijzijnde bredere groep is gebruikt."
                    .into()
            }
            (true, Locale::En) => {
                "This combination of attributes is never published; the nearest wider group was used.".into()
            }
            (false, Locale::Nl) => format!(
                "De groep {} is niet gepubliceerd (te weinig bedrijven, of afgeschermd zodat geen enkel bedrijf door aftrekken te herleiden is); de dichtstbijzijnde bredere gepubliceerde groep is gebruikt.",
                self.name(locale)
            ),
            (false, Locale::En) => format!(
                "The group {} is not published (too few firms, or withheld so that no firm can be recovered by subtraction); the nearest wider published group was used.",
                self.name(locale)
            ),
        }
    }
}

/// Why an assessment of `requested` is compared with the figures of the earlier year `used`, in
/// `locale`: no group of its own year was published (yet).
pub fn earlier_year_reason(requested: i32, used: i32, locale: Locale) -> String {
    match locale {
        Locale::Nl => format!(
            "Voor {requested} zijn nog geen cijfers van vergelijkbare bedrijven gepubliceerd; vergeleken is met de meest recente gepubliceerde cijfers, die van {used}."
        ),
        Locale::En => format!(
            "No figures of comparable firms have been published for {requested} yet; the comparison uses the latest published figures, those of {used}."
        ),
    }
}

impl fmt::Display for GroupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let part = |o: Option<&'static str>| o.unwrap_or("*");
        write!(
            f,
            "{}/{}/{}",
            part(self.section.map(SbiSection::code)),
            part(self.size.map(SizeClass::code)),
            part(self.province.map(Province::code))
        )
    }
}
