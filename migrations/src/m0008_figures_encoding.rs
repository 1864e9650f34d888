//! Published figures in the store's own encoding. Version 1 stored the API's `PublishedFigures`
//! message (protobuf, every member's sorted values); version 2 is the store's own JSON form with a
//! version field, each metric's distinct values with the number of members at or below each
//! (`services-persistence::figures`). `up` re-encodes every release, `down` restores version 1.
//! Both formats are frozen here as they were, so that this migration never changes meaning when
//! the API or the store's types move on.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};

use crate::m0003_benchmark_releases::BenchmarkReleases as R;

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

/// Version 1: `maturity.v1.PublishedFigures` as it was.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FiguresV1 {
    #[prost(message, repeated, tag = "1")]
    pub distributions: Vec<DistributionV1>,
    #[prost(message, repeated, tag = "2")]
    pub stage_shares: Vec<StageSharesV1>,
    #[prost(double, repeated, tag = "3")]
    pub maturity_values: Vec<f64>,
    #[prost(double, repeated, tag = "4")]
    pub external_values: Vec<f64>,
    #[prost(double, repeated, tag = "5")]
    pub internal_values: Vec<f64>,
    #[prost(uint32, repeated, tag = "6")]
    pub stage_matrix: Vec<u32>,
}

/// Version 1: `maturity.v1.Distribution` as it was.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DistributionV1 {
    #[prost(string, tag = "1")]
    pub metric: String,
    #[prost(uint32, tag = "2")]
    pub n: u32,
    #[prost(double, tag = "3")]
    pub mean: f64,
    #[prost(double, tag = "4")]
    pub sd: f64,
    #[prost(double, tag = "5")]
    pub p10: f64,
    #[prost(double, tag = "6")]
    pub p25: f64,
    #[prost(double, tag = "7")]
    pub p50: f64,
    #[prost(double, tag = "8")]
    pub p75: f64,
    #[prost(double, tag = "9")]
    pub p90: f64,
}

/// Version 1: `maturity.v1.StageShares` as it was.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StageSharesV1 {
    #[prost(string, tag = "1")]
    pub axis: String,
    #[prost(double, repeated, tag = "2")]
    pub shares: Vec<f64>,
}

#[derive(Debug, Serialize, Deserialize)]
struct FiguresV2 {
    v: u8,
    distributions: Vec<DistributionV2>,
    external_stages: Option<[f64; 5]>,
    internal_stages: Option<[f64; 5]>,
    stage_matrix: Vec<u32>,
    maturity: RanksV2,
    external: RanksV2,
    internal: RanksV2,
}

#[derive(Debug, Serialize, Deserialize)]
struct DistributionV2 {
    metric: String,
    n: u32,
    mean: f64,
    sd: f64,
    percentiles: [f64; 5],
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct RanksV2 {
    values: Vec<f64>,
    at_or_below: Vec<u32>,
}

fn ranks(values: &[f64]) -> RanksV2 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut r = RanksV2::default();
    for (i, v) in sorted.iter().enumerate() {
        let count = <u32 as TryFrom<usize>>::try_from(i + 1).unwrap_or(u32::MAX);
        if r.values.last() == Some(v) {
            if let Some(last) = r.at_or_below.last_mut() {
                *last = count;
            }
        } else {
            r.values.push(*v);
            r.at_or_below.push(count);
        }
    }
    r
}

fn values(r: &RanksV2) -> Vec<f64> {
    let mut out = Vec::new();
    let mut before = 0u32;
    for (v, at) in r.values.iter().zip(&r.at_or_below) {
        out.extend(std::iter::repeat_n(*v, at.saturating_sub(before) as usize));
        before = *at;
    }
    out
}

fn shares(v1: &FiguresV1, axis: &str) -> Option<[f64; 5]> {
    v1.stage_shares.iter().find(|s| s.axis == axis).and_then(|s| <[f64; 5]>::try_from(s.shares.as_slice()).ok())
}

/// Version 1 bytes as version 2 bytes.
pub fn v1_to_v2(bytes: &[u8]) -> Result<Vec<u8>, DbErr> {
    use prost::Message;
    let v1 = FiguresV1::decode(bytes).map_err(|e| DbErr::Migration(format!("published figures (v1): {e}")))?;
    let v2 = FiguresV2 {
        v: 2,
        distributions: v1
            .distributions
            .iter()
            .map(|d| DistributionV2 {
                metric: d.metric.clone(),
                n: d.n,
                mean: d.mean,
                sd: d.sd,
                percentiles: [d.p10, d.p25, d.p50, d.p75, d.p90],
            })
            .collect(),
        external_stages: shares(&v1, "external"),
        internal_stages: shares(&v1, "internal"),
        stage_matrix: v1.stage_matrix.clone(),
        maturity: ranks(&v1.maturity_values),
        external: ranks(&v1.external_values),
        internal: ranks(&v1.internal_values),
    };
    serde_json::to_vec(&v2).map_err(|e| DbErr::Migration(format!("published figures (v2): {e}")))
}

/// Version 2 bytes as version 1 bytes.
pub fn v2_to_v1(bytes: &[u8]) -> Result<Vec<u8>, DbErr> {
    use prost::Message;
    let v2: FiguresV2 =
        serde_json::from_slice(bytes).map_err(|e| DbErr::Migration(format!("published figures (v2): {e}")))?;
    let stage = |axis: &str, s: Option<[f64; 5]>| s.map(|s| StageSharesV1 { axis: axis.into(), shares: s.to_vec() });
    let v1 = FiguresV1 {
        distributions: v2
            .distributions
            .iter()
            .map(|d| DistributionV1 {
                metric: d.metric.clone(),
                n: d.n,
                mean: d.mean,
                sd: d.sd,
                p10: d.percentiles[0],
                p25: d.percentiles[1],
                p50: d.percentiles[2],
                p75: d.percentiles[3],
                p90: d.percentiles[4],
            })
            .collect(),
        stage_shares: [stage("external", v2.external_stages), stage("internal", v2.internal_stages)]
            .into_iter()
            .flatten()
            .collect(),
        maturity_values: values(&v2.maturity),
        external_values: values(&v2.external),
        internal_values: values(&v2.internal),
        stage_matrix: v2.stage_matrix,
    };
    Ok(v1.encode_to_vec())
}

/// Re-encodes every release with `convert`, universe by universe (bounded memory), skipping rows
/// already in the target form (`json` tells which: JSON starts with `{`).
async fn reencode(
    manager: &SchemaManager<'_>,
    to_json: bool,
    convert: fn(&[u8]) -> Result<Vec<u8>, DbErr>,
) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let universes =
        Query::select().distinct().columns([R::ModelId, R::ModelVersion, R::Year]).from(R::Table).to_owned();
    for u in db.query_all(&universes).await? {
        let (model_id, version, year): (String, i32, i32) =
            (u.try_get("", "model_id")?, u.try_get("", "model_version")?, u.try_get("", "year")?);
        let rows = Query::select()
            .columns([R::GroupKey, R::Figures])
            .from(R::Table)
            .and_where(Expr::col(R::ModelId).eq(model_id.as_str()))
            .and_where(Expr::col(R::ModelVersion).eq(version))
            .and_where(Expr::col(R::Year).eq(year))
            .to_owned();
        for row in db.query_all(&rows).await? {
            let key: String = row.try_get("", "group_key")?;
            let figures: Vec<u8> = row.try_get("", "figures")?;
            if figures.first() == Some(&b'{') && to_json || figures.first() != Some(&b'{') && !to_json {
                continue;
            }
            let update = Query::update()
                .table(R::Table)
                .value(R::Figures, convert(&figures)?)
                .and_where(Expr::col(R::ModelId).eq(model_id.as_str()))
                .and_where(Expr::col(R::ModelVersion).eq(version))
                .and_where(Expr::col(R::Year).eq(year))
                .and_where(Expr::col(R::GroupKey).eq(key))
                .to_owned();
            db.execute(&update).await?;
        }
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        reencode(manager, true, v1_to_v2).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        reencode(manager, false, v2_to_v1).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_one_and_two_convert_both_ways_without_loss() {
        use prost::Message;
        let v1 = FiguresV1 {
            distributions: vec![DistributionV1 {
                metric: "maturity_index".into(),
                n: 4,
                mean: 2.5,
                sd: 1.25,
                p10: 1.3,
                p25: 1.75,
                p50: 2.5,
                p75: 3.25,
                p90: 3.7,
            }],
            stage_shares: vec![StageSharesV1 { axis: "external".into(), shares: vec![0.25, 0.25, 0.5, 0.0, 0.0] }],
            maturity_values: vec![1.0, 2.0, 2.0, 4.0],
            external_values: vec![0.5, 0.5, 0.5, 0.5],
            internal_values: vec![],
            stage_matrix: vec![0; 25],
        };
        let v2 = v1_to_v2(&v1.encode_to_vec()).unwrap();
        assert!(v2.starts_with(b"{\"v\":2,"), "{}", String::from_utf8_lossy(&v2));
        let back = FiguresV1::decode(v2_to_v1(&v2).unwrap().as_slice()).unwrap();
        assert_eq!(back, v1);
        assert!(v1_to_v2(b"\xff\xff").is_err());
        assert!(v2_to_v1(b"{not json").is_err());
    }
}
