//! The demo job: score an assessment through the real gRPC API of a running server and print a
//! readable summary, in Dutch (default) or English, with where to look next.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::Context;
use domain_model::Locale;
use services_api::v1 as pb;
use services_api::v1::persistence_service_client::PersistenceServiceClient;
use services_api::v1::scoring_service_client::ScoringServiceClient;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt;

use crate::sample::SampleAssessment;

/// Connects to `url` and waits until its health service reports SERVING, for at most `wait`.
pub async fn connect(url: &str, wait: Duration) -> anyhow::Result<Channel> {
    let endpoint =
        Endpoint::from_shared(url.to_string()).with_context(|| format!("`{url}` is not a valid server URL"))?;
    let deadline = Instant::now() + wait;
    let mut delay = Duration::from_millis(20);
    loop {
        let attempt = async {
            let channel = endpoint.connect().await?;
            let status = HealthClient::new(channel.clone())
                .check(tonic_health::pb::HealthCheckRequest { service: String::new() })
                .await?
                .into_inner()
                .status;
            anyhow::ensure!(status == ServingStatus::Serving as i32, "server is not serving yet");
            Ok::<_, anyhow::Error>(channel)
        };
        match attempt.await {
            Ok(channel) => return Ok(channel),
            Err(e) if Instant::now() >= deadline => {
                return Err(e).with_context(|| format!("server at {url} did not become ready within {wait:?}"));
            }
            Err(_) => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_millis(500));
            }
        }
    }
}

/// The tenant the demo job writes as.
pub use store::tenants::DEMO_TENANT;

/// `msg` as a call of `tenant`: with `api_key`, or else naming the tenant in `x-tenant-id` (which
/// only a server in development mode accepts).
pub fn as_tenant<T>(msg: T, api_key: Option<&str>, tenant: &'static str) -> anyhow::Result<tonic::Request<T>> {
    let mut call = tonic::Request::new(msg);
    match api_key {
        Some(key) => {
            let value = format!("Bearer {key}").parse().context("the API key is not a valid header value")?;
            call.metadata_mut().insert("authorization", value);
        }
        None => {
            call.metadata_mut()
                .insert(services_auth::TENANT_HEADER, tonic::metadata::MetadataValue::from_static(tenant));
        }
    }
    Ok(call)
}

/// Submits `sample` (scored, stored and placed among its peers) as the demo tenant, and fetches
/// the model, in `locale`.
pub async fn submit(
    channel: Channel,
    sample: &SampleAssessment,
    locale: Locale,
    api_key: Option<&str>,
) -> anyhow::Result<(pb::Model, pb::SubmitAssessmentResponse)> {
    let mut request = sample.request.clone();
    request.locale = locale.tag().to_string();
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let submit = pb::SubmitAssessmentRequest {
        request_id: format!("demo-{now_ms}-{}", sample.year.unwrap_or(0)),
        external_ref: sample.external_ref.clone(),
        firm_name: sample.firm_name.clone(),
        completed_at: sample
            .year
            .map(|y| prost_types::Timestamp { seconds: crate::sample::mid_year_seconds(y), nanos: 0 }),
        assessment: Some(request),
    };
    let call = as_tenant(submit, api_key, DEMO_TENANT)?;
    let response = match PersistenceServiceClient::new(channel.clone()).submit_assessment(call).await {
        Ok(r) => r.into_inner(),
        Err(status) => return Err(anyhow::anyhow!(describe_status(&status))),
    };
    let model_ref = response.assessment.as_ref().and_then(|a| a.result.as_ref()).and_then(|r| r.model.clone());
    let model = ScoringServiceClient::new(channel)
        .get_model(pb::GetModelRequest { model: model_ref, locale: locale.tag().to_string() })
        .await
        .map_err(|s| anyhow::anyhow!(describe_status(&s)))?
        .into_inner();
    Ok((model, response))
}

/// A status with its field violations, one per line.
pub fn describe_status(status: &tonic::Status) -> String {
    let mut out = format!("{:?}: {}", status.code(), status.message());
    if let Some(bad) = status.get_details_bad_request() {
        for v in bad.field_violations {
            let text = v.localized_message.map_or(v.description, |m| m.message);
            let _ = write!(out, "\n  {} [{}]: {}", v.field, v.reason, text);
        }
    }
    out
}

fn stages_text(axis: &pb::AxisResult, locale: Locale) -> String {
    let skipped: Vec<String> = axis.stages.iter().filter(|s| s.skipped).map(|s| s.label.clone()).collect();
    let thin: Vec<String> = axis.stages.iter().filter(|s| s.insufficient_evidence).map(|s| s.label.clone()).collect();
    let (stage_word, skipped_word, thin_word) = match locale {
        Locale::Nl => ("fase", "overgeslagen", "te weinig gegevens"),
        Locale::En => ("stage", "skipped", "insufficient evidence"),
    };
    let mut s = format!("{:5.1}  {stage_word} {} {}", axis.index, axis.attained_stage, axis.attained_label);
    if !skipped.is_empty() {
        let _ = write!(s, " ({skipped_word}: {})", skipped.join(", "));
    }
    if !thin.is_empty() {
        let _ = write!(s, " ({thin_word}: {})", thin.join(", "));
    }
    s
}

/// The readable summary `make run` prints.
pub fn summary(
    firm_name: &str,
    model: &pb::Model,
    response: &pb::SubmitAssessmentResponse,
    locale: Locale,
    server: &str,
    chapter: Option<&std::path::Path>,
) -> String {
    let nl = locale == Locale::Nl;
    let stored = response.assessment.clone().unwrap_or_default();
    let r = &stored.result.clone().unwrap_or_default();
    let firm = r.firm.clone().unwrap_or_default();
    let section =
        domain_model::SbiSection::parse(&firm.sbi_section).map_or(String::new(), |s| s.name(locale).to_string());
    let size = domain_model::SizeClass::parse(&firm.size_class).map_or(String::new(), |s| s.name(locale).to_string());
    let province = domain_model::Province::parse(&firm.province).map_or(String::new(), |p| p.name(locale).to_string());
    let m = r.model.clone().unwrap_or_default();
    let ext = r.external.clone().unwrap_or_default();
    let int = r.internal.clone().unwrap_or_default();
    let fit = r.fit.clone().unwrap_or_default();
    let p = r.proposition.unwrap_or_default();
    let name = |c: &Option<pb::Classification>| c.as_ref().map_or(String::new(), |c| c.label.clone());
    let counts = r.answers.unwrap_or_default();

    let mut o = String::new();
    let rule = "-".repeat(78);
    let (title, synthetic) = if nl {
        ("Sociale volwassenheid: voorbeeldbeoordeling", "SYNTHETISCHE DEMOGEGEVENS: een verzonnen bedrijf")
    } else {
        ("Social maturity: sample assessment", "SYNTHETIC DEMO DATA: an invented firm")
    };
    let _ = writeln!(o, "{rule}\n{title}\n{synthetic}\n{rule}");
    let _ = writeln!(o, "{:<22}{firm_name}", if nl { "Bedrijf" } else { "Firm" });
    let _ = writeln!(
        o,
        "{:<22}{} {section} | {size} | {province}",
        if nl { "Kenmerken voor vergelijking" } else { "Peer attributes" },
        firm.sbi_section
    );
    let _ = writeln!(o, "{:<22}{} v{} ({})", "Model", m.id, m.version, model.title);
    let _ = writeln!(
        o,
        "{:<22}{} / {} items, {} {}",
        if nl { "Antwoorden" } else { "Answers" },
        counts.answered,
        counts.items_in_model,
        counts.dont_know,
        if nl { "× weet niet" } else { "× don't know" }
    );
    let _ = writeln!(
        o,
        "\n{:<22}{:5.1} / 100",
        if nl { "Volwassenheidsindex" } else { "Maturity index" },
        r.maturity_index
    );
    let _ = writeln!(o, "{:<22}{}", if nl { "Extern" } else { "External" }, stages_text(&ext, locale));
    let _ = writeln!(o, "{:<22}{}", if nl { "Intern" } else { "Internal" }, stages_text(&int, locale));
    let _ = writeln!(o, "\n{}", if nl { "Waardebronnen (0-100)" } else { "Value sources (0-100)" });
    for v in &r.value_sources {
        let score = v.score.map_or("-".to_string(), |s| format!("{s:5.1}"));
        let _ = writeln!(o, "  {:<32}{score}", v.label);
    }
    let _ = writeln!(
        o,
        "\n{:<22}{:5.1}{}",
        if nl { "Propositie" } else { "Proposition" },
        p.centrality,
        if p.social_native { if nl { " (sociaal van oorsprong)" } else { " (social from the start)" } } else { "" }
    );
    let _ = writeln!(
        o,
        "{:<22}{} ({} {:.1}, {} {:+.1})",
        if nl { "Aansluiting" } else { "Fit" },
        fit.label,
        if nl { "doel" } else { "target" },
        fit.target,
        if nl { "verschil" } else { "gap" },
        fit.gap
    );
    let _ = writeln!(o, "{:<22}{}", "", fit.description);
    let _ = writeln!(o, "\n{:<22}{}", "Archetype", name(&r.archetype));
    let _ = writeln!(o, "{:<22}{}", "Forrester", name(&r.forrester));
    let _ = writeln!(o, "{:<22}{}", "Altimeter", name(&r.altimeter));
    let _ = writeln!(
        o,
        "\n{}",
        if nl { "Positie ten opzichte van Nederlandse branchegenoten" } else { "Position among Dutch peers" }
    );
    match &response.position {
        Some(p) => {
            let g = p.group_used.clone().unwrap_or_default();
            let _ = writeln!(
                o,
                "  {:<20}{} (n = {}, {} {}, k = {})",
                if nl { "Vergelijkingsgroep" } else { "Peer group" },
                g.name,
                g.n,
                if nl { "jaar" } else { "year" },
                g.year,
                g.k
            );
            if g.fallback {
                let _ = writeln!(o, "  {:<20}{}", "", g.fallback_reason);
            }
            let _ = writeln!(
                o,
                "  {:<20}{:.0}% {}",
                "",
                100.0 * g.synthetic_share,
                if nl { "synthetische demogegevens" } else { "synthetic demo data" }
            );
            for m in &p.positions {
                let label = match (m.metric.as_str(), nl) {
                    ("maturity_index", true) => "Volwassenheidsindex",
                    ("maturity_index", false) => "Maturity index",
                    ("external_index", true) => "Extern",
                    ("external_index", false) => "External",
                    ("internal_index", true) => "Intern",
                    ("internal_index", false) => "Internal",
                    (other, _) => other,
                };
                let (low, high) = (m.percentile_low, m.percentile_high);
                let _ = if nl {
                    writeln!(o, "  {label:<20}{:5.1} percentiel (90%: tussen {low:.0} en {high:.0})", m.percentile)
                } else {
                    writeln!(o, "  {label:<20}{:5.1} percentile (90%: between {low:.0} and {high:.0})", m.percentile)
                };
            }
            let _ = writeln!(o, "  {:<20}{}", "Rogers", p.rogers_label);
        }
        None => {
            let _ = writeln!(
                o,
                "  {}",
                if nl { "Nog geen gepubliceerde vergelijkingsgroep." } else { "No published peer group yet." }
            );
        }
    }
    let _ = writeln!(
        o,
        "{:<22}{} {}",
        if nl { "Opgeslagen als" } else { "Stored as" },
        if nl { "beoordeling" } else { "assessment" },
        stored.id
    );
    if let Some(path) = chapter {
        let _ = writeln!(o, "{:<22}{}", if nl { "Hoofdstuk (PDF)" } else { "Chapter (PDF)" }, path.display());
    }
    let _ = writeln!(o, "{rule}");
    // The file of the model version the sample was scored with.
    let model_file = model.model.as_ref().map_or_else(String::new, |m| format!("models/{}/v{}.toml", m.id, m.version));
    if nl {
        let _ = writeln!(o, "De server draait op {server} (gRPC, met reflectie en health).");
        let _ = writeln!(o, "Verder kijken:");
        let _ = writeln!(
            o,
            "  - het hele model:      grpcurl -plaintext -d '{{\"locale\":\"nl\"}}' {} maturity.v1.ScoringService/GetModel",
            server.trim_start_matches("http://")
        );
        let _ = writeln!(
            o,
            "  - uw beoordelingen:    grpcurl -plaintext -H 'authorization: Bearer SLEUTEL' {} maturity.v1.PersistenceService/ListAssessments",
            server.trim_start_matches("http://")
        );
        let _ = writeln!(o, "                         (SLEUTEL: de API-sleutel van de demo-tenant hierboven)");
        let _ = writeln!(o, "  - de modeldefinitie:   {model_file}");
        let _ = writeln!(
            o,
            "  - de voorbeeldinvoer:  examples/sample-assessment.toml (maturity demo --assessment BESTAND)"
        );
        let _ = writeln!(o, "  - uitleg:              README.md en ARCHITECTURE.md");
        let _ = writeln!(o, "Stoppen met Ctrl-C.");
    } else {
        let _ = writeln!(o, "The server runs at {server} (gRPC, with reflection and health).");
        let _ = writeln!(o, "Where to look next:");
        let _ = writeln!(
            o,
            "  - the whole model:     grpcurl -plaintext -d '{{\"locale\":\"en\"}}' {} maturity.v1.ScoringService/GetModel",
            server.trim_start_matches("http://")
        );
        let _ = writeln!(
            o,
            "  - your assessments:    grpcurl -plaintext -H 'authorization: Bearer KEY' {} maturity.v1.PersistenceService/ListAssessments",
            server.trim_start_matches("http://")
        );
        let _ = writeln!(o, "                         (KEY: the demo tenant's API key printed above)");
        let _ = writeln!(o, "  - the model file:      {model_file}");
        let _ =
            writeln!(o, "  - the sample input:    examples/sample-assessment.toml (maturity demo --assessment FILE)");
        let _ = writeln!(o, "  - explanation:         README.md and ARCHITECTURE.md");
        let _ = writeln!(o, "Stop with Ctrl-C.");
    }
    o
}
