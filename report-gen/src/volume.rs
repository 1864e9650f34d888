//! Sector volumes: where one SBI section (optionally one size class in it) stands among Dutch
//! firms, built **only from published figures** (the store's releases): the sector's figures and
//! stage shares next to all Dutch firms, the sector by size class (and, within a size class, by
//! province), the sector against the other sectors, its trend over the published years, and its
//! value-source profile. A group that is not published is a suppressed cell that says why; it is
//! never estimated, and nothing in a volume is computed from two groups (no differences, no
//! remainders), so a volume discloses nothing the releases do not.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context;
use domain_anonymity::GroupKey;
use domain_model::{Locale, Model, Province, SbiSection, SizeClass};
use serde::Serialize;
use store::peers::Held;

/// One group's figures in a volume, or the reason it is not there.
#[derive(Clone, Debug, Serialize)]
pub struct Cell {
    /// Whether the group is published (when not, every number is absent).
    pub published: bool,
    /// Firms in the group.
    pub n: Option<u32>,
    /// Mean of the maturity index.
    pub mean: Option<f64>,
    /// p25 of the maturity index.
    pub p25: Option<f64>,
    /// p50 (median) of the maturity index.
    pub p50: Option<f64>,
    /// p75 of the maturity index.
    pub p75: Option<f64>,
    /// Share of synthetic contributions.
    pub synthetic_share: Option<f64>,
}

impl Cell {
    fn of(held: Option<&Arc<Held>>) -> Cell {
        let d = held.and_then(|h| h.figures.distribution("maturity_index").map(|d| (h, d)));
        match d {
            Some((h, d)) => Cell {
                published: true,
                n: u32::try_from(h.n).ok(),
                mean: Some(d.mean),
                p25: Some(d.percentiles[1]),
                p50: Some(d.percentiles[2]),
                p75: Some(d.percentiles[3]),
                synthetic_share: Some(h.synthetic_share),
            },
            None => {
                Cell { published: false, n: None, mean: None, p25: None, p50: None, p75: None, synthetic_share: None }
            }
        }
    }
}

/// A labelled row of a table.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// What the row is (a size class, a province, a sector, a year).
    pub label: String,
    /// Whether it is the volume's own sector (marked in the table).
    pub own: bool,
    /// Its figures.
    pub cell: Cell,
}

/// The share of firms at one stage of an axis: the sector's and all Dutch firms'.
#[derive(Clone, Debug, Serialize)]
pub struct StageRow {
    /// The stage's label.
    pub label: String,
    /// The sector's share (absent when the sector is not published).
    pub sector: Option<f64>,
    /// All Dutch firms' share.
    pub national: Option<f64>,
}

/// A value source's mean: the sector's and all Dutch firms'.
#[derive(Clone, Debug, Serialize)]
pub struct SourceRow {
    /// The value source's label.
    pub label: String,
    /// The sector's mean.
    pub sector: Option<f64>,
    /// All Dutch firms' mean.
    pub national: Option<f64>,
}

/// A fit verdict's share: in the sector and among all Dutch firms.
#[derive(Clone, Debug, Serialize)]
pub struct FitRow {
    /// The verdict's id (`balanced`, ...).
    pub id: String,
    /// The model's name for it.
    pub label: String,
    /// The share of the sector's firms with it, when published.
    pub sector: Option<f64>,
    /// The share of all Dutch firms with it, when published.
    pub national: Option<f64>,
}

/// A row of the pay table: the sector's cell and the whole country's (`None` where the group
/// publishes no pay figures).
#[derive(Clone, Debug, Serialize)]
pub struct PayRow {
    /// `all`, `verdict`, `external` or `internal`.
    pub kind: &'static str,
    /// What the row counts.
    pub label: String,
    /// The sector's cell.
    pub sector: Option<crate::pay::PayCellView>,
    /// The whole country's cell.
    pub national: Option<crate::pay::PayCellView>,
}

/// Everything a sector volume shows.
#[derive(Clone, Debug, Serialize)]
pub struct Volume {
    /// The sector's name and code, as the title says it.
    pub title: String,
    /// The size class's name, when the volume is about one.
    pub size: Option<String>,
    /// The benchmark year of the figures (the trend runs up to it).
    pub year: i32,
    /// The date written on it.
    pub date: String,
    /// The model's id and version.
    pub model: String,
    /// The disclosure threshold in force.
    pub k: u32,
    /// Whether any figure shown comes (partly) from synthetic demo data.
    pub synthetic: bool,
    /// The sector (or sector x size class) itself.
    pub sector: Cell,
    /// All Dutch firms.
    pub national: Cell,
    /// The sector by size class (empty for a volume about one size class).
    pub by_size: Vec<Row>,
    /// The sector x size class by province (only for a volume about one size class).
    pub by_province: Vec<Row>,
    /// Every sector of the year (the volume's own marked).
    pub sectors: Vec<Row>,
    /// The sector year by year.
    pub trend: Vec<Row>,
    /// Stage shares of the external axis.
    pub external: Vec<StageRow>,
    /// Stage shares of the internal axis.
    pub internal: Vec<StageRow>,
    /// Each value source's mean, in the model's order.
    pub sources: Vec<SourceRow>,
    /// The fit verdicts the model gives, with their shares.
    pub fit: Vec<FitRow>,
    /// Whether the sector's verdict shares are published (a published sector lacks them when one
    /// of its firms contributed before verdicts were kept).
    pub fit_published: bool,
    /// How often firms report that social media pay: the sector beside the whole country, per
    /// cell (empty when neither publishes pay figures).
    pub pay: Vec<PayRow>,
    /// The sector's firms by external and internal stage (25 cells, external-major; empty when
    /// the sector is not published or the matrix is not).
    pub matrix: Vec<crate::chapter::CellView>,
    /// The national context figures (CBS's use of social networks in the sector), when held.
    pub context: Option<crate::chapter::ContextView>,
    /// Cells shown in all (published or suppressed), and those suppressed.
    pub cells: usize,
    /// Of those, suppressed.
    pub suppressed: usize,
}

/// What a volume is about.
#[derive(Clone, Copy, Debug)]
pub struct Subject {
    /// The sector.
    pub section: SbiSection,
    /// One size class in it, if any.
    pub size: Option<SizeClass>,
    /// The benchmark year of the figures to show.
    pub year: i32,
}

/// The published groups of a model, all years, that volumes read: loaded once, for as many
/// volumes as are built from them.
#[derive(Debug, Default)]
pub struct Releases(BTreeMap<(i32, GroupKey), Arc<Held>>);

/// The levels a year's volumes read: all firms, the sectors, the sectors by size class.
const YEAR_LEVELS: [&str; 3] = ["all", "section", "section_size"];

impl Releases {
    /// The releases that the volumes of whole sectors of `year` read (their groups by size class,
    /// not by province; every sector's trend): what the night's volumes share.
    pub async fn load(db: &store::DatabaseConnection, model: &Model, year: i32) -> anyhow::Result<Releases> {
        let read = store::VolumeRead {
            year,
            levels: &YEAR_LEVELS,
            provinces: None,
            earlier_levels: &["section"],
            earlier_keys: &[],
        };
        Releases::read(db, model, &read).await
    }

    /// The releases that the volume of `subject` reads: its year's groups of all firms, the
    /// sectors and the sectors by size class, for a volume about one size class its own groups by
    /// province, and its own group in the years before. At national scale the province groups of
    /// every sector and the earlier years' groups are most of the releases; a volume reads neither.
    pub async fn load_for(db: &store::DatabaseConnection, model: &Model, subject: Subject) -> anyhow::Result<Releases> {
        let own = GroupKey { section: Some(subject.section), size: subject.size, province: None };
        let prefix = subject.size.map(|size| format!("{}/{}/", subject.section.code(), size.code()));
        let keys = [store::publish::key_text(&own)];
        let read = store::VolumeRead {
            year: subject.year,
            levels: &YEAR_LEVELS,
            provinces: prefix.as_deref(),
            earlier_levels: &[],
            earlier_keys: &keys,
        };
        Releases::read(db, model, &read).await
    }

    /// The sections with a published group of their own in `year`.
    pub fn sections(&self, year: i32) -> Vec<SbiSection> {
        self.0
            .keys()
            .filter(|(y, g)| *y == year && g.size.is_none() && g.province.is_none())
            .filter_map(|(_, g)| g.section)
            .collect()
    }

    async fn read(
        db: &store::DatabaseConnection,
        model: &Model,
        read: &store::VolumeRead<'_>,
    ) -> anyhow::Result<Releases> {
        let version = store::version_column(model.version);
        let mut held = BTreeMap::new();
        let rows =
            store::releases_for_volumes(db, &model.id, version, read).await.context("while reading the releases")?;
        for release in rows {
            if let Some(h) = Held::decode(&release)? {
                held.insert((release.year, h.group), Arc::new(h));
            }
        }
        Ok(Releases(held))
    }
}

/// Builds the volume of `subject` from the store's releases of `model`, in `locale`, dated `date`,
/// with the context figures `context` (published elsewhere: CBS, Eurostat).
pub async fn assemble(
    db: &store::DatabaseConnection,
    model: &Model,
    k: u32,
    subject: Subject,
    locale: Locale,
    date: String,
    context: Option<crate::chapter::ContextView>,
) -> anyhow::Result<Volume> {
    build(&Releases::load_for(db, model, subject).await?, model, k, subject, locale, date, context)
}

/// Builds the volume of `subject` from `releases` (see [`assemble`]), which must have been loaded
/// for the subject's year and kind ([`Releases::load_for`], or [`Releases::load`] for whole sectors):
/// a group they do not hold shows as suppressed.
pub fn build(
    releases: &Releases,
    model: &Model,
    k: u32,
    subject: Subject,
    locale: Locale,
    date: String,
    context: Option<crate::chapter::ContextView>,
) -> anyhow::Result<Volume> {
    let held = &releases.0;
    let year = subject.year;
    let national_key = GroupKey::ALL;
    if !held.contains_key(&(year, national_key)) {
        let years: Vec<i32> = held.keys().filter(|(_, g)| *g == national_key).map(|(y, _)| *y).collect();
        return Err(crate::export::no_figures(model, year, &years));
    }
    let own = GroupKey { section: Some(subject.section), size: subject.size, province: None };
    let pair = Pair { sector: held.get(&(year, own)), national: held.get(&(year, national_key)), model, locale };
    let sector = Cell::of(pair.sector);
    let national = Cell::of(pair.national);
    let tables = Tables::of(releases, subject, locale);
    let listed: Vec<&Cell> = std::iter::once(&sector).chain(tables.cells()).collect();
    let (cells, suppressed) = (listed.len(), listed.iter().filter(|c| !c.published).count());
    let synthetic = listed.iter().chain([&&national]).any(|c| c.synthetic_share.is_some_and(|s| s > 0.0));
    let (fit, fit_published) = pair.fit();
    let matrix = match pair.sector {
        Some(h) if h.figures.stage_matrix.len() == 25 => crate::assemble::matrix_cells(Some(&h.figures), None),
        _ => Vec::new(),
    };
    let Tables { by_size, by_province, sectors, trend } = tables;
    let (external, internal, sources, pay) = (pair.stages(0), pair.stages(1), pair.sources(), pair.pay());
    Ok(Volume {
        title: format!("{} ({})", subject.section.name(locale), subject.section.code()),
        size: subject.size.map(|s| s.name(locale).to_string()),
        year,
        date,
        model: format!("{} v{}", model.id, model.version),
        k,
        synthetic,
        sector,
        national,
        by_size,
        by_province,
        sectors,
        trend,
        external,
        internal,
        sources,
        fit,
        fit_published,
        pay,
        matrix,
        context,
        cells,
        suppressed,
    })
}

/// A volume's tables of cells, one published group each: the sector by size class (a whole
/// sector) or by province (a sector of one size class), every sector of the subject's size class,
/// and the subject's group in each published year up to the volume's.
struct Tables {
    by_size: Vec<Row>,
    by_province: Vec<Row>,
    sectors: Vec<Row>,
    trend: Vec<Row>,
}

impl Tables {
    fn of(releases: &Releases, subject: Subject, locale: Locale) -> Tables {
        let held = &releases.0;
        let year = subject.year;
        let cell = |y: i32, key: GroupKey| Cell::of(held.get(&(y, key)));
        let section = Some(subject.section);
        let (mut by_size, mut by_province) = (Vec::new(), Vec::new());
        match subject.size {
            None => {
                for size in SizeClass::ALL {
                    let cell = cell(year, GroupKey { section, size: Some(*size), province: None });
                    by_size.push(Row { label: size.name(locale).to_string(), own: false, cell });
                }
            }
            Some(size) => {
                for province in Province::ALL {
                    let cell = cell(year, GroupKey { section, size: Some(size), province: Some(*province) });
                    by_province.push(Row { label: province.name(locale).to_string(), own: false, cell });
                }
            }
        }
        let sectors = SbiSection::ALL
            .iter()
            .map(|s| Row {
                label: format!("{} {}", s.code(), s.name(locale)),
                own: *s == subject.section,
                cell: cell(year, GroupKey { section: Some(*s), size: subject.size, province: None }),
            })
            .collect();
        let own = GroupKey { section, size: subject.size, province: None };
        let trend = held
            .keys()
            .filter(|(y, g)| *g == GroupKey::ALL && *y <= year)
            .map(|(y, _)| Row { label: y.to_string(), own: *y == year, cell: cell(*y, own) })
            .collect();
        Tables { by_size, by_province, sectors, trend }
    }

    /// Every cell of the tables.
    fn cells(&self) -> impl Iterator<Item = &Cell> {
        self.by_size.iter().chain(&self.by_province).chain(&self.sectors).chain(&self.trend).map(|r| &r.cell)
    }
}

/// The two groups whose figures a volume sets side by side: the subject's sector (of its size
/// class, if any) and all firms, in the volume's year; either may be unpublished.
struct Pair<'a> {
    sector: Option<&'a Arc<Held>>,
    national: Option<&'a Arc<Held>>,
    model: &'a Model,
    locale: Locale,
}

impl Pair<'_> {
    /// The shares of firms at each stage of axis `axis` (0 external, 1 internal).
    fn stages(&self, axis: usize) -> Vec<StageRow> {
        let pick = |h: Option<&Arc<Held>>| {
            h.and_then(|h| if axis == 0 { h.figures.external_stages } else { h.figures.internal_stages })
        };
        let (s, n) = (pick(self.sector), pick(self.national));
        let labels = self
            .model
            .axes
            .get(axis)
            .map(|a| a.stages.iter().map(|st| st.label.get(self.locale).to_string()).collect::<Vec<_>>());
        (0..5)
            .map(|i| StageRow {
                label: labels.as_ref().and_then(|l| l.get(i).cloned()).unwrap_or_else(|| i.to_string()),
                sector: s.map(|s| s[i]),
                national: n.map(|n| n[i]),
            })
            .collect()
    }

    /// The mean score of each value source.
    fn sources(&self) -> Vec<SourceRow> {
        let mean = |h: Option<&Arc<Held>>, metric: &str| h.and_then(|h| h.figures.distribution(metric)).map(|d| d.mean);
        self.model
            .value_sources
            .iter()
            .map(|v| SourceRow {
                label: v.label.get(self.locale).to_string(),
                sector: mean(self.sector, &v.id),
                national: mean(self.national, &v.id),
            })
            .collect()
    }

    /// The share of firms per fit verdict, and whether the sector's shares are published.
    fn fit(&self) -> (Vec<FitRow>, bool) {
        let fit_of = |h: Option<&Arc<Held>>| h.map(|h| h.figures.fit_shares_of(self.model)).unwrap_or_default();
        let (sector, national) = (fit_of(self.sector), fit_of(self.national));
        let share =
            |shares: &[(domain_model::FitVerdict, f64)], v| shares.iter().find(|(x, _)| *x == v).map(|(_, s)| *s);
        let rows = self
            .model
            .fit
            .verdicts
            .iter()
            .map(|(v, l)| FitRow {
                id: v.id().to_string(),
                label: l.label.get(self.locale).to_string(),
                sector: share(&sector, *v),
                national: share(&national, *v),
            })
            .collect();
        (rows, !sector.is_empty())
    }

    /// The pay figures, row by row, where either group has them.
    fn pay(&self) -> Vec<PayRow> {
        let rows = |h: Option<&Arc<Held>>| {
            h.and_then(|h| h.figures.pay.as_ref()).map(|p| crate::pay::rows(p, self.model, self.locale, None))
        };
        let (sector, national) = (rows(self.sector), rows(self.national));
        let Some(shape) = sector.as_ref().or(national.as_ref()) else { return Vec::new() };
        shape
            .iter()
            .enumerate()
            .map(|(i, row)| PayRow {
                kind: row.kind,
                label: row.label.clone(),
                sector: sector.as_ref().map(|r| r[i].cell),
                national: national.as_ref().map(|r| r[i].cell),
            })
            .collect()
    }
}
