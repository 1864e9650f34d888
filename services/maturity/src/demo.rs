//! The demo job: score an assessment through the real gRPC API of a running server and print a
//! readable summary, in Dutch (default) or English, with where to look next.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::Context;
use domain_model::Locale;
use services_api::v1 as pb;
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

/// Fetches the model and scores `sample` in `locale`.
pub async fn score(
    channel: Channel,
    sample: &SampleAssessment,
    locale: Locale,
) -> anyhow::Result<(pb::Model, pb::AssessmentResult)> {
    let mut client = ScoringServiceClient::new(channel);
    let mut request = sample.request.clone();
    request.locale = locale.tag().to_string();
    let result = match client.score_assessment(request.clone()).await {
        Ok(r) => r.into_inner().result.context("the server answered without a result")?,
        Err(status) => return Err(anyhow::anyhow!(describe_status(&status))),
    };
    let model = client
        .get_model(pb::GetModelRequest { model: result.model.clone(), locale: locale.tag().to_string() })
        .await
        .map_err(|s| anyhow::anyhow!(describe_status(&s)))?
        .into_inner();
    Ok((model, result))
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
pub fn summary(firm_name: &str, model: &pb::Model, r: &pb::AssessmentResult, locale: Locale, server: &str) -> String {
    let nl = locale == Locale::Nl;
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
        if nl { "Plaats onder peers" } else { "Peer attributes" },
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
        "Fit",
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
    let _ = writeln!(o, "{rule}");
    if nl {
        let _ = writeln!(o, "De server draait op {server} (gRPC, met reflectie en health).");
        let _ = writeln!(o, "Verder kijken:");
        let _ = writeln!(
            o,
            "  - het hele model:      grpcurl -plaintext -d '{{\"locale\":\"nl\"}}' {} maturity.v1.ScoringService/GetModel",
            server.trim_start_matches("http://")
        );
        let _ = writeln!(o, "  - de modeldefinitie:   models/nl-social-business/v1.toml");
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
        let _ = writeln!(o, "  - the model file:      models/nl-social-business/v1.toml");
        let _ =
            writeln!(o, "  - the sample input:    examples/sample-assessment.toml (maturity demo --assessment FILE)");
        let _ = writeln!(o, "  - explanation:         README.md and ARCHITECTURE.md");
        let _ = writeln!(o, "Stop with Ctrl-C.");
    }
    o
}
