//! The chapter of a submitted assessment, built from what the API returned (the result, the peer
//! position, the published figures of the group used) and typeset by `report-gen`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use domain_model::{Locale, Province, SbiSection, SizeClass};
use report_gen::chapter::{AxisView, Chapter, DimensionView, PeersView, StageView};
use report_gen::{Templates, Typesetter};
use services_api::v1 as pb;
use services_api::v1::benchmark_service_client::BenchmarkServiceClient;
use tonic::transport::Channel;

fn axis(a: &pb::AxisResult, shares: Option<&pb::StageShares>) -> AxisView {
    AxisView {
        label: a.label.clone(),
        index: a.index,
        stage: u8::try_from(a.attained_stage).unwrap_or(0),
        stage_label: a.attained_label.clone(),
        stages: a
            .stages
            .iter()
            .map(|s| StageView {
                number: u8::try_from(s.number).unwrap_or(0),
                label: s.label.clone(),
                capability: s.capability,
                attained: s.attained,
                skipped: s.skipped,
                peer_share: shares.and_then(|sh| sh.shares.get(s.number as usize).copied()),
            })
            .collect(),
    }
}

fn date_text(year: i32, month: u32, day: u32, locale: Locale) -> String {
    const NL: [&str; 12] = [
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    ];
    const EN: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let m = (month.clamp(1, 12) - 1) as usize;
    match locale {
        Locale::Nl => format!("{day} {} {year}", NL[m]),
        Locale::En => format!("{day} {} {year}", EN[m]),
    }
}

/// Today's UTC date (year, month, day).
pub fn today() -> (i32, u32, u32) {
    services_persistence::time::date_of(services_persistence::time::now_us())
}

/// Builds the chapter of `response` in `locale`, asking the server for the published figures of
/// the peer group its position used.
pub async fn build(
    channel: Channel,
    firm_name: &str,
    response: &pb::SubmitAssessmentResponse,
    locale: Locale,
    synthetic: bool,
) -> anyhow::Result<Chapter> {
    let stored = response.assessment.clone().context("the response holds no assessment")?;
    let r = stored.result.clone().context("the assessment holds no result")?;
    let firm = r.firm.clone().unwrap_or_default();
    let position = response.position.clone();
    let figures = match position.as_ref().and_then(|p| p.group_used.clone()) {
        Some(used) => Some(
            BenchmarkServiceClient::new(channel)
                .query_benchmark(pb::QueryBenchmarkRequest {
                    group: used.group.clone(),
                    year: used.year,
                    model: used.model.clone(),
                    locale: locale.tag().to_string(),
                })
                .await
                .context("while fetching the peer group's figures")?
                .into_inner(),
        ),
        None => None,
    };
    let shares = |axis: &str| figures.as_ref().and_then(|f| f.stage_shares.iter().find(|s| s.axis == axis));
    let median = |metric: &str| {
        figures.as_ref().and_then(|f| f.distributions.iter().find(|d| d.metric == metric)).map(|d| d.p50)
    };
    let peers = match (position, figures.as_ref()) {
        (Some(p), Some(f)) => {
            let used = p.group_used.unwrap_or_default();
            let m = f.distributions.iter().find(|d| d.metric == "maturity_index").cloned().unwrap_or_default();
            Some(PeersView {
                group: used.name,
                n: used.n,
                k: used.k,
                year: used.year,
                fallback: used.fallback.then_some(used.fallback_reason),
                synthetic_percent: 100.0 * used.synthetic_share,
                percentile: p.positions.first().map_or(0.0, |x| x.percentile),
                rogers: p.rogers_label,
                quartiles: [m.p25, m.p50, m.p75],
            })
        }
        _ => None,
    };
    let (y, mo, d) = today();
    let model = r.model.clone().unwrap_or_default();
    let label = |c: &Option<pb::Classification>| c.as_ref().map_or(String::new(), |c| c.label.clone());
    let fit = r.fit.clone().unwrap_or_default();
    Ok(Chapter {
        number: 1,
        firm_name: firm_name.to_string(),
        sector: SbiSection::parse(&firm.sbi_section)
            .map_or(firm.sbi_section.clone(), |s| format!("{} {}", s.code(), s.name(locale))),
        size: SizeClass::parse(&firm.size_class).map_or(firm.size_class.clone(), |s| s.name(locale).to_string()),
        province: Province::parse(&firm.province).map_or(firm.province.clone(), |p| p.name(locale).to_string()),
        model: format!("{} v{}", model.id, model.version),
        date: date_text(y, mo, d, locale),
        maturity_index: r.maturity_index,
        external: axis(&r.external.clone().unwrap_or_default(), shares("external")),
        internal: axis(&r.internal.clone().unwrap_or_default(), shares("internal")),
        value_sources: r
            .value_sources
            .iter()
            .map(|v| DimensionView { label: v.label.clone(), score: v.score, peer_median: median(&v.id) })
            .collect(),
        proposition: r.proposition.map_or(0.0, |p| p.centrality),
        fit: fit.label,
        fit_advice: fit.description,
        fit_target: fit.target,
        fit_gap: fit.gap,
        archetype: label(&r.archetype),
        forrester: label(&r.forrester),
        altimeter: label(&r.altimeter),
        peers,
        synthetic,
    })
}

/// Typesets `chapter` in `locale` and writes it to `dir/chapter-ID.LANG.pdf` (through a temporary
/// file and a rename, so that no partial PDF is ever left under the final name).
pub fn write(chapter: &Chapter, id: i64, locale: Locale, dir: &Path) -> anyhow::Result<PathBuf> {
    let templates = Templates::builtin().context("while loading the chapter templates")?;
    let source = templates.render(&format!("chapter.{}.typ", locale.tag()), chapter)?;
    let (y, m, d) = today();
    let pdf = Typesetter::new()
        .pdf(&source, &[], (y, u8::try_from(m).unwrap_or(1), u8::try_from(d).unwrap_or(1)), &format!("assessment-{id}"))
        .context("while typesetting the chapter")?;
    std::fs::create_dir_all(dir).with_context(|| format!("while creating {}", dir.display()))?;
    let path = dir.join(format!("chapter-{id}.{}.pdf", locale.tag()));
    let tmp = dir.join(format!(".chapter-{id}.{}.pdf.tmp", locale.tag()));
    std::fs::write(&tmp, &pdf).with_context(|| format!("while writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("while renaming to {}", path.display()))?;
    Ok(path)
}
