//! Published figures (`benchmark_releases`): what the publisher wrote per group, read by the
//! engine's cache, the export and the volumes.

use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use sea_orm::{ConnectionTrait, QueryResult};

use crate::StoreError;
use crate::changes::Universe;
use crate::connection::get;
use crate::schema::BenchmarkReleases as R;

/// A published group's row.
#[derive(Clone, Debug, PartialEq)]
pub struct Release {
    /// `GroupKey` as text.
    pub group_key: String,
    /// Level id.
    pub level: String,
    /// Distinct firms.
    pub n: i32,
    /// Share of synthetic contributions.
    pub synthetic_share: f64,
    /// Highest revision included.
    pub watermark: i64,
    /// The figures in the store's encoding (`figures::Stored::encode`).
    pub figures: Vec<u8>,
    /// Benchmark year: the UTC year in which the group's assessments were completed.
    pub year: i32,
}

/// The published groups of a universe (or one of them).
pub async fn releases(
    db: &impl ConnectionTrait,
    model_id: &str,
    model_version: i32,
    year: Option<i32>,
    group_key: Option<&str>,
) -> Result<Vec<Release>, StoreError> {
    let mut q = Query::select();
    q.columns(RELEASE_COLUMNS)
        .from(R::Table)
        .and_where(Expr::col(R::ModelId).eq(model_id))
        .and_where(Expr::col(R::ModelVersion).eq(model_version));
    if let Some(y) = year {
        q.and_where(Expr::col(R::Year).eq(y));
    }
    if let Some(g) = group_key {
        q.and_where(Expr::col(R::GroupKey).eq(g));
    }
    q.order_by(R::Year, Order::Asc).order_by(R::GroupKey, Order::Asc);
    db.query_all(&q).await?.iter().map(release_of).collect()
}

/// Which releases of a model version a sector volume (or the night's volumes) reads: what it shows
/// and nothing else. At national scale most releases are groups by province, and a group's stored
/// figures hold the ranks of its members' values, so reading everything would cost a volume many
/// times what it shows.
#[derive(Clone, Debug)]
pub struct VolumeRead<'a> {
    /// The volume's year.
    pub year: i32,
    /// Levels read in `year` (`all`, `size`, `section`, `section_size`, `section_size_province`).
    pub levels: &'a [&'a str],
    /// Groups of `year` at level `section_size_province` whose key starts with this (`F/small/`).
    pub provinces: Option<&'a str>,
    /// Levels read in the years before `year` (the trend).
    pub earlier_levels: &'a [&'a str],
    /// Group keys read in the years before `year`, besides those levels.
    pub earlier_keys: &'a [String],
}

/// The releases `read` names, and the national group of every year (so that a volume of a year
/// without figures can name the years with them).
pub async fn releases_for_volumes(
    db: &impl ConnectionTrait,
    model_id: &str,
    model_version: i32,
    read: &VolumeRead<'_>,
) -> Result<Vec<Release>, StoreError> {
    let mut in_year = Expr::col(R::Level).is_in(read.levels.iter().copied());
    if let Some(prefix) = read.provinces {
        // The prefix is ours (a section code and a size class), never a caller's text; `%` and
        // `_` cannot occur in it, and the level check keeps the match exact.
        let provinces =
            Expr::col(R::Level).eq("section_size_province").and(Expr::col(R::GroupKey).like(format!("{prefix}%")));
        in_year = in_year.or(provinces);
    }
    let earlier = Expr::col(R::Level)
        .is_in(read.earlier_levels.iter().copied())
        .or(Expr::col(R::GroupKey).is_in(read.earlier_keys.iter().map(String::as_str)));
    let wanted = Expr::col(R::Level)
        .eq("all")
        .or(Expr::col(R::Year).eq(read.year).and(in_year))
        .or(Expr::col(R::Year).lt(read.year).and(earlier));
    let q = Query::select()
        .columns(RELEASE_COLUMNS)
        .from(R::Table)
        .and_where(Expr::col(R::ModelId).eq(model_id))
        .and_where(Expr::col(R::ModelVersion).eq(model_version))
        .and_where(wanted)
        .order_by(R::Year, Order::Asc)
        .order_by(R::GroupKey, Order::Asc)
        .to_owned();
    db.query_all(&q).await?.iter().map(release_of).collect()
}

/// The columns of a release as `release_of` reads it.
const RELEASE_COLUMNS: [R; 7] = [R::GroupKey, R::Level, R::N, R::SyntheticShare, R::Watermark, R::Figures, R::Year];

fn release_of(r: &QueryResult) -> Result<Release, StoreError> {
    Ok(Release {
        group_key: get(r, "group_key")?,
        level: get(r, "level")?,
        n: get(r, "n")?,
        synthetic_share: get(r, "synthetic_share")?,
        watermark: get(r, "watermark")?,
        figures: get(r, "figures")?,
        year: get(r, "year")?,
    })
}

/// The groups of a universe with published figures, and each one's watermark (without the
/// figures themselves, which publication does not need to read).
pub async fn release_marks(
    db: &impl ConnectionTrait,
    model_id: &str,
    model_version: i32,
    year: i32,
) -> Result<Vec<(String, i64)>, StoreError> {
    let stmt = Query::select()
        .columns([R::GroupKey, R::Watermark])
        .from(R::Table)
        .and_where(Expr::col(R::ModelId).eq(model_id))
        .and_where(Expr::col(R::ModelVersion).eq(model_version))
        .and_where(Expr::col(R::Year).eq(year))
        .to_owned();
    db.query_all(&stmt).await?.iter().map(|r| Ok((get(r, "group_key")?, get(r, "watermark")?))).collect()
}

/// What tells one publication of a group's figures from another: its watermark and the time it
/// was written (a group republished is written anew, even where its watermark is unchanged).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// Highest revision included.
    pub watermark: i64,
    /// When the figures were written.
    pub published_at_us: i64,
}

fn stamp_of(r: &QueryResult) -> Result<Stamp, StoreError> {
    Ok(Stamp { watermark: get(r, "watermark")?, published_at_us: get(r, "published_at_us")? })
}

/// The published groups of a universe, each with its stamp, without their figures: what a
/// server's cache compares with what it holds, to read only the groups published anew.
pub async fn release_stamps(
    db: &impl ConnectionTrait,
    universe: &Universe,
) -> Result<Vec<(String, Stamp)>, StoreError> {
    let stmt = Query::select()
        .columns([R::GroupKey, R::Watermark, R::PublishedAtUs])
        .from(R::Table)
        .and_where(Expr::col(R::ModelId).eq(universe.model_id.as_str()))
        .and_where(Expr::col(R::ModelVersion).eq(universe.model_version))
        .and_where(Expr::col(R::Year).eq(universe.year))
        .to_owned();
    db.query_all(&stmt).await?.iter().map(|r| Ok((get(r, "group_key")?, stamp_of(r)?))).collect()
}

/// The releases of a universe, each with its stamp: those named by `keys`, or all of them.
pub async fn releases_stamped(
    db: &impl ConnectionTrait,
    universe: &Universe,
    keys: Option<&[String]>,
) -> Result<Vec<(Release, Stamp)>, StoreError> {
    let select = |keys: Option<&[String]>| {
        let mut q = Query::select();
        q.columns(RELEASE_COLUMNS.into_iter().chain([R::PublishedAtUs]))
            .from(R::Table)
            .and_where(Expr::col(R::ModelId).eq(universe.model_id.as_str()))
            .and_where(Expr::col(R::ModelVersion).eq(universe.model_version))
            .and_where(Expr::col(R::Year).eq(universe.year));
        if let Some(keys) = keys {
            q.and_where(Expr::col(R::GroupKey).is_in(keys.iter().map(String::as_str)));
        }
        q
    };
    let mut out = Vec::new();
    let chunks: Vec<Option<&[String]>> = match keys {
        Some(keys) => keys.chunks(500).map(Some).collect(),
        None => vec![None],
    };
    for chunk in chunks {
        for row in db.query_all(&select(chunk)).await? {
            out.push((release_of(&row)?, stamp_of(&row)?));
        }
    }
    Ok(out)
}

/// Publishes (replaces) the figures of groups of `universe`: one delete and one insert per hundred
/// groups, so that a round of publication holds the write lock briefly.
pub async fn put_releases(
    db: &impl ConnectionTrait,
    universe: &Universe,
    releases: &[Release],
    now_us: i64,
) -> Result<(), StoreError> {
    let keys: Vec<String> = releases.iter().map(|r| r.group_key.clone()).collect();
    delete_releases(db, universe, &keys).await?;
    for chunk in releases.chunks(100) {
        let mut stmt = Query::insert();
        stmt.into_table(R::Table)
            .columns([R::ModelId, R::ModelVersion].into_iter().chain(RELEASE_COLUMNS).chain([R::PublishedAtUs]));
        for r in chunk {
            stmt.values_panic([
                universe.model_id.as_str().into(),
                universe.model_version.into(),
                r.group_key.as_str().into(),
                r.level.as_str().into(),
                r.n.into(),
                r.synthetic_share.into(),
                r.watermark.into(),
                r.figures.clone().into(),
                r.year.into(),
                now_us.into(),
            ]);
        }
        db.execute(&stmt).await?;
    }
    Ok(())
}

/// Withdraws the figures of groups of `universe`.
pub async fn delete_releases(
    db: &impl ConnectionTrait,
    universe: &Universe,
    keys: &[String],
) -> Result<(), StoreError> {
    for chunk in keys.chunks(500) {
        let stmt = Query::delete()
            .from_table(R::Table)
            .and_where(Expr::col(R::ModelId).eq(universe.model_id.as_str()))
            .and_where(Expr::col(R::ModelVersion).eq(universe.model_version))
            .and_where(Expr::col(R::Year).eq(universe.year))
            .and_where(Expr::col(R::GroupKey).is_in(chunk.iter().map(String::as_str)))
            .to_owned();
        db.execute(&stmt).await?;
    }
    Ok(())
}
