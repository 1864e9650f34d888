//! The statistics are PostgreSQL's: percentile_cont, avg and stddev_samp on random data, compared
//! with domain-statistics to 1e-9, computed by the server itself.

use migrations::sea_orm::{ConnectionTrait, DbBackend, Statement};
use migrations::test_db::{Backend, TestDb};

#[tokio::test]
async fn percentiles_match_postgresql_percentile_cont() {
    let (_db, conn) = TestDb::migrated(Backend::Postgres).await;
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64 * 100.0
    };
    for n in [1usize, 2, 3, 7, 10, 11, 50, 333] {
        let values: Vec<f64> = (0..n).map(|_| (next() * 1000.0).round() / 1000.0).collect();
        let list = values.iter().map(|v| format!("{v:?}::float8")).collect::<Vec<_>>().join(",");
        let sql = format!(
            "SELECT percentile_cont(ARRAY[0.1,0.25,0.5,0.75,0.9]) WITHIN GROUP (ORDER BY v) AS p, avg(v) AS mean, \
             coalesce(stddev_samp(v), 0) AS sd FROM unnest(ARRAY[{list}]) AS t(v)"
        );
        let row = conn.query_one_raw(Statement::from_string(DbBackend::Postgres, sql)).await.unwrap().unwrap();
        let p: Vec<f64> = row.try_get("", "p").unwrap();
        let mean: f64 = row.try_get("", "mean").unwrap();
        let sd: f64 = row.try_get("", "sd").unwrap();
        let d = domain_statistics::distribution(&values).unwrap();
        for (ours, theirs) in d.percentiles.iter().zip(&p) {
            assert!((ours - theirs).abs() < 1e-9, "n = {n}: {ours} against PostgreSQL {theirs}");
        }
        assert!((d.mean - mean).abs() < 1e-9, "n = {n}: mean {} against {mean}", d.mean);
        assert!((d.sd - sd).abs() < 1e-9, "n = {n}: sd {} against {sd}", d.sd);
    }
}
