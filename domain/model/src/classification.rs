//! The Dutch classifications that place a firm among its peers: SBI 2008 sections (CBS), size
//! classes by persons employed (the EU/MKB split CBS tables aggregate to) and the twelve provinces.
//! Codes are what the API carries; names are for people, in both locales.

use std::fmt;

use crate::text::Locale;

macro_rules! classification {
    (
        $(#[$doc:meta])*
        $name:ident { $($variant:ident => $code:literal, $nl:literal, $en:literal;)+ }
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $(
                #[doc = $en]
                $variant,
            )+
        }

        impl $name {
            /// Every value, in the order of the official classification.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The code the API carries.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code,)+ }
            }

            /// The name in `locale`.
            pub fn name(self, locale: Locale) -> &'static str {
                match (self, locale) {
                    $(
                        ($name::$variant, Locale::Nl) => $nl,
                        ($name::$variant, Locale::En) => $en,
                    )+
                }
            }

            /// Parses a code, ignoring case and surrounding blanks.
            pub fn parse(code: &str) -> Option<$name> {
                let code = code.trim();
                Self::ALL.iter().copied().find(|v| v.code().eq_ignore_ascii_case(code))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

classification! {
    /// SBI 2008 section (Standaard Bedrijfsindeling, CBS).
    SbiSection {
        A => "A", "Landbouw, bosbouw en visserij", "Agriculture, forestry and fishing";
        B => "B", "Delfstoffenwinning", "Mining and quarrying";
        C => "C", "Industrie", "Manufacturing";
        D => "D", "Energievoorziening", "Energy supply";
        E => "E", "Waterbedrijven en afvalbeheer", "Water supply and waste management";
        F => "F", "Bouwnijverheid", "Construction";
        G => "G", "Handel", "Wholesale and retail trade";
        H => "H", "Vervoer en opslag", "Transportation and storage";
        I => "I", "Horeca", "Accommodation and food service";
        J => "J", "Informatie en communicatie", "Information and communication";
        K => "K", "Financiële dienstverlening", "Financial services";
        L => "L", "Verhuur en handel van onroerend goed", "Real estate";
        M => "M", "Specialistische zakelijke diensten", "Professional, scientific and technical services";
        N => "N", "Verhuur en overige zakelijke diensten", "Administrative and support services";
        O => "O", "Openbaar bestuur", "Public administration";
        P => "P", "Onderwijs", "Education";
        Q => "Q", "Gezondheids- en welzijnszorg", "Human health and social work";
        R => "R", "Cultuur, sport en recreatie", "Arts, entertainment and recreation";
        S => "S", "Overige dienstverlening", "Other service activities";
        T => "T", "Huishoudens", "Households as employers";
        U => "U", "Extraterritoriale organisaties", "Extraterritorial organisations";
    }
}

classification! {
    /// Size class by persons employed.
    SizeClass {
        Micro => "micro", "Micro (1–9 werkzame personen)", "Micro (1–9 persons employed)";
        Small => "small", "Klein (10–49 werkzame personen)", "Small (10–49 persons employed)";
        Medium => "medium", "Middelgroot (50–249 werkzame personen)", "Medium (50–249 persons employed)";
        Large => "large", "Groot (250 of meer werkzame personen)", "Large (250 or more persons employed)";
    }
}

classification! {
    /// Province, by its ISO 3166-2:NL code.
    Province {
        Drenthe => "NL-DR", "Drenthe", "Drenthe";
        Flevoland => "NL-FL", "Flevoland", "Flevoland";
        Friesland => "NL-FR", "Fryslân", "Friesland";
        Gelderland => "NL-GE", "Gelderland", "Gelderland";
        Groningen => "NL-GR", "Groningen", "Groningen";
        Limburg => "NL-LI", "Limburg", "Limburg";
        NoordBrabant => "NL-NB", "Noord-Brabant", "North Brabant";
        NoordHolland => "NL-NH", "Noord-Holland", "North Holland";
        Overijssel => "NL-OV", "Overijssel", "Overijssel";
        Utrecht => "NL-UT", "Utrecht", "Utrecht";
        Zeeland => "NL-ZE", "Zeeland", "Zeeland";
        ZuidHolland => "NL-ZH", "Zuid-Holland", "South Holland";
    }
}

impl SizeClass {
    /// The size class of a firm with `persons` persons employed (`None` for zero).
    pub fn from_persons_employed(persons: u32) -> Option<SizeClass> {
        match persons {
            0 => None,
            1..=9 => Some(SizeClass::Micro),
            10..=49 => Some(SizeClass::Small),
            50..=249 => Some(SizeClass::Medium),
            _ => Some(SizeClass::Large),
        }
    }
}

/// The three coarse attributes of a firm, parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FirmProfile {
    /// SBI 2008 section.
    pub section: SbiSection,
    /// Size class.
    pub size: SizeClass,
    pub province: Province,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_match_the_classifications() {
        assert_eq!(SbiSection::ALL.len(), 21);
        assert_eq!(SizeClass::ALL.len(), 4);
        assert_eq!(Province::ALL.len(), 12);
    }

    #[test]
    fn parsing_ignores_case_and_blanks() {
        assert_eq!(SbiSection::parse(" j "), Some(SbiSection::J));
        assert_eq!(SbiSection::parse("V"), None);
        assert_eq!(SizeClass::parse("MEDIUM"), Some(SizeClass::Medium));
        assert_eq!(Province::parse("nl-ut"), Some(Province::Utrecht));
        assert_eq!(Province::parse("UT"), None);
    }

    #[test]
    fn size_from_persons() {
        assert_eq!(SizeClass::from_persons_employed(0), None);
        assert_eq!(SizeClass::from_persons_employed(9), Some(SizeClass::Micro));
        assert_eq!(SizeClass::from_persons_employed(10), Some(SizeClass::Small));
        assert_eq!(SizeClass::from_persons_employed(249), Some(SizeClass::Medium));
        assert_eq!(SizeClass::from_persons_employed(250), Some(SizeClass::Large));
    }
}
