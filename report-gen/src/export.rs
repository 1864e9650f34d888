//! `report-gen export`: the published groups of one universe (model, version, year) as open
//! figures (`domain-open-figures`), read from the store's releases: the same figures the server
//! answers `QueryBenchmark` with, and nothing that is not published.

use anyhow::Context;
use domain_model::Model;
use domain_open_figures::Release;
use store::peers::Held;

/// The release of `model` for `year` as open figures, under threshold `k`. A year without
/// published groups is an error naming the years that have them.
pub async fn release(db: &store::DatabaseConnection, model: &Model, year: i32, k: u32) -> anyhow::Result<Release> {
    let version = store::version_column(model.version);
    let stored = store::releases(db, &model.id, version, Some(year), None)
        .await
        .context("while reading the published figures")?;
    let mut groups = Vec::with_capacity(stored.len());
    for release in &stored {
        // A key that no longer parses (a classification changed since) is not a group any more.
        if let Some(held) = Held::decode(release)? {
            groups.push(held.open_figures(model));
        }
    }
    if groups.is_empty() {
        let years = published_years(db, model).await?;
        return Err(no_figures(model, year, &years));
    }
    Ok(Release { model_id: model.id.clone(), model_version: model.version, year, k, groups })
}

/// The error of a year without published figures, naming the years that have them.
pub fn no_figures(model: &Model, year: i32, years: &[i32]) -> anyhow::Error {
    let have = if years.is_empty() {
        "it has none for any year".to_string()
    } else {
        format!("it has for {}", years.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))
    };
    anyhow::anyhow!("{} version {} has no published figures for {year}; {have}", model.id, model.version)
}

/// The years of `model` with published figures (a national group), ascending.
pub async fn published_years(db: &store::DatabaseConnection, model: &Model) -> anyhow::Result<Vec<i32>> {
    let national = store::publish::key_text(&domain_anonymity::GroupKey::ALL);
    let releases = store::releases(db, &model.id, store::version_column(model.version), None, Some(&national))
        .await
        .context("while reading the published years")?;
    Ok(releases.iter().map(|r| r.year).collect())
}
