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

/// The summary templates, one per language (`templates/summary.LANG.txt`).
const SUMMARY_NL: &str = include_str!("../templates/summary.nl.txt");
const SUMMARY_EN: &str = include_str!("../templates/summary.en.txt");

/// `pad(w=N, indent=I)`: the value after I spaces, filled with spaces to N characters in all, and
/// followed by at least one space when it is longer (so that a label never runs into its value).
fn pad(
    value: &serde_json::Value,
    args: &std::collections::HashMap<String, serde_json::Value>,
) -> tera::Result<serde_json::Value> {
    let arg = |name: &str| args.get(name).and_then(serde_json::Value::as_u64).map_or(0, |n| n as usize);
    let text = value.as_str().map_or_else(|| value.to_string(), str::to_string);
    let mut out = " ".repeat(arg("indent"));
    out.push_str(&text);
    let (width, len) = (arg("w"), out.chars().count());
    if len < width {
        out.push_str(&" ".repeat(width - len));
    } else if width > 0 && !text.is_empty() {
        out.push(' ');
    }
    Ok(serde_json::Value::String(out))
}

/// `value` with one decimal, at least `width` characters wide, `signed` with its sign always, and
/// the decimal comma in Dutch.
fn decimal(value: f64, width: usize, signed: bool, locale: Locale) -> String {
    let text = if signed { format!("{value:+width$.1}") } else { format!("{value:width$.1}") };
    match locale {
        Locale::Nl => text.replace('.', ","),
        Locale::En => text,
    }
}

fn axis_view(axis: &pb::AxisResult, external: bool, locale: Locale) -> serde_json::Value {
    let labels = |keep: fn(&pb::StageResult) -> bool| -> Vec<String> {
        axis.stages.iter().filter(|s| keep(s)).map(|s| s.label.clone()).collect()
    };
    serde_json::json!({
        "external": external,
        "index": decimal(axis.index, 5, false, locale),
        "stage": axis.attained_stage,
        "label": axis.attained_label,
        "skipped": labels(|s| s.skipped),
        "thin": labels(|s| s.insufficient_evidence),
    })
}

fn peers_view(position: &pb::PeerPosition, locale: Locale) -> serde_json::Value {
    let g = position.group_used.clone().unwrap_or_default();
    let metrics: Vec<serde_json::Value> = position
        .positions
        .iter()
        .map(|m| {
            serde_json::json!({
                "metric": m.metric,
                "percentile": decimal(m.percentile, 5, false, locale),
                "low": format!("{:.0}", m.percentile_low),
                "high": format!("{:.0}", m.percentile_high),
            })
        })
        .collect();
    serde_json::json!({
        "group": g.name,
        "n": g.n,
        "year": g.year,
        "k": g.k,
        "fallback_reason": if g.fallback { Some(g.fallback_reason) } else { None },
        "synthetic_percent": format!("{:.0}", 100.0 * g.synthetic_share),
        "metrics": metrics,
        "rogers": position.rogers_label,
    })
}

/// What the summary shows, with numbers formatted as printed.
fn summary_view(
    firm_name: &str,
    model: &pb::Model,
    response: &pb::SubmitAssessmentResponse,
    locale: Locale,
    server: &str,
    chapter: Option<&std::path::Path>,
) -> serde_json::Value {
    let stored = response.assessment.clone().unwrap_or_default();
    let r = stored.result.clone().unwrap_or_default();
    let firm = r.firm.clone().unwrap_or_default();
    let m = r.model.clone().unwrap_or_default();
    let fit = r.fit.clone().unwrap_or_default();
    let p = r.proposition.unwrap_or_default();
    let counts = r.answers.unwrap_or_default();
    let name = |c: &Option<pb::Classification>| c.as_ref().map_or(String::new(), |c| c.label.clone());
    let value_sources: Vec<serde_json::Value> = r
        .value_sources
        .iter()
        .map(|v| {
            let score = v.score.map_or("-".to_string(), |s| decimal(s, 5, false, locale));
            serde_json::json!({ "label": v.label, "score": score })
        })
        .collect();
    // The file of the model version the sample was scored with.
    let model_file = model.model.as_ref().map_or_else(String::new, |m| format!("models/{}/v{}.toml", m.id, m.version));
    serde_json::json!({
        "rule": "-".repeat(78),
        "firm_name": firm_name,
        "sbi_section": firm.sbi_section,
        "section": domain_model::SbiSection::parse(&firm.sbi_section).map_or(String::new(), |s| s.name(locale).to_string()),
        "size": domain_model::SizeClass::parse(&firm.size_class).map_or(String::new(), |s| s.name(locale).to_string()),
        "province": domain_model::Province::parse(&firm.province).map_or(String::new(), |p| p.name(locale).to_string()),
        "model_id": m.id,
        "model_version": m.version,
        "model_title": model.title,
        "answered": counts.answered,
        "items": counts.items_in_model,
        "dont_know": counts.dont_know,
        "maturity_index": decimal(r.maturity_index, 5, false, locale),
        "axes": [
            axis_view(&r.external.clone().unwrap_or_default(), true, locale),
            axis_view(&r.internal.clone().unwrap_or_default(), false, locale),
        ],
        "value_sources": value_sources,
        "centrality": decimal(p.centrality, 5, false, locale),
        "social_native": p.social_native,
        "fit_label": fit.label,
        "fit_target": decimal(fit.target, 0, false, locale),
        "fit_gap": decimal(fit.gap, 0, true, locale),
        "fit_description": fit.description,
        "archetype": name(&r.archetype),
        "forrester": name(&r.forrester),
        "altimeter": name(&r.altimeter),
        "peers": response.position.as_ref().map(|position| peers_view(position, locale)),
        "stored_id": stored.id,
        "chapter": chapter.map(|c| c.display().to_string()),
        "server": server,
        "address": server.trim_start_matches("http://"),
        "model_file": model_file,
    })
}

/// The readable summary `make run` prints, from `templates/summary.LANG.txt`.
pub fn summary(
    firm_name: &str,
    model: &pb::Model,
    response: &pb::SubmitAssessmentResponse,
    locale: Locale,
    server: &str,
    chapter: Option<&std::path::Path>,
) -> anyhow::Result<String> {
    let template = match locale {
        Locale::Nl => SUMMARY_NL,
        Locale::En => SUMMARY_EN,
    };
    let mut tera = tera::Tera::default();
    tera.autoescape_on(Vec::new());
    tera.register_filter("pad", pad);
    tera.add_raw_template("summary", template).context("the summary template does not parse")?;
    let view = summary_view(firm_name, model, response, locale, server, chapter);
    let context = tera::Context::from_value(view).context("the summary's values")?;
    tera.render("summary", &context).context("the summary template failed")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scored(with_peers: bool) -> (pb::Model, pb::SubmitAssessmentResponse) {
        let stage = |label: &str, skipped: bool, thin: bool| pb::StageResult {
            label: label.into(),
            skipped,
            insufficient_evidence: thin,
            ..Default::default()
        };
        let classification = |label: &str| Some(pb::Classification { label: label.into(), ..Default::default() });
        let model_ref = pb::ModelRef { id: "nl-social-business".into(), version: 3 };
        let result = pb::AssessmentResult {
            model: Some(model_ref.clone()),
            firm: Some(pb::FirmAttributes {
                sbi_section: "G".into(),
                size_class: "small".into(),
                province: "NL-UT".into(),
            }),
            external: Some(pb::AxisResult {
                index: 41.3,
                attained_stage: 2,
                attained_label: "Reageren".into(),
                stages: vec![stage("Zenden", true, false), stage("Reageren", false, false)],
                ..Default::default()
            }),
            internal: Some(pb::AxisResult {
                index: 8.0,
                attained_stage: 0,
                attained_label: "Geen".into(),
                stages: vec![stage("Vastleggen", false, true), stage("Delen", false, true)],
                ..Default::default()
            }),
            maturity_index: 24.6,
            value_sources: vec![
                pb::DimensionResult { label: "Co-creatie".into(), score: Some(12.5), ..Default::default() },
                pb::DimensionResult { label: "Vertrouwen opbouwen".into(), score: None, ..Default::default() },
            ],
            proposition: Some(pb::PropositionResult { centrality: 18.0, social_native: true, ..Default::default() }),
            fit: Some(pb::FitResult {
                target: 33.0,
                gap: -8.4,
                label: "In balans".into(),
                description: "De inzet past.".into(),
                ..Default::default()
            }),
            archetype: classification("Verkenner"),
            forrester: classification("Fase 2"),
            altimeter: classification("Planning"),
            answers: Some(pb::AnswerCounts { items_in_model: 63, answered: 60, dont_know: 2, unanswered: 1 }),
            ..Default::default()
        };
        let position = pb::PeerPosition {
            group_used: Some(pb::GroupUsed {
                name: "Handel, klein".into(),
                n: 412,
                year: 2025,
                k: 10,
                fallback: true,
                fallback_reason: "De eigen groep is te klein.".into(),
                synthetic_share: 1.0,
                ..Default::default()
            }),
            positions: vec![
                pb::MetricPosition {
                    metric: "maturity_index".into(),
                    percentile: 61.2,
                    percentile_low: 57.4,
                    percentile_high: 64.9,
                    ..Default::default()
                },
                pb::MetricPosition {
                    metric: "internal_index".into(),
                    percentile: 9.0,
                    percentile_low: 6.2,
                    percentile_high: 12.0,
                    ..Default::default()
                },
            ],
            rogers_label: "Late meerderheid".into(),
            ..Default::default()
        };
        let response = pb::SubmitAssessmentResponse {
            assessment: Some(pb::Assessment { id: 7, result: Some(result), ..Default::default() }),
            position: with_peers.then_some(position),
        };
        let model = pb::Model { model: Some(model_ref), title: "Sociale volwassenheid".into(), ..Default::default() };
        (model, response)
    }

    fn line(label: &str, value: &str) -> String {
        format!("{label:<22}{value}")
    }

    #[test]
    fn the_dutch_summary_shows_every_result_line_by_line() {
        let (model, response) = scored(true);
        let chapter = std::path::Path::new("uit/7.nl.pdf");
        let text =
            summary("Voorbeeld bv", &model, &response, Locale::Nl, "http://127.0.0.1:50051", Some(chapter)).unwrap();
        let attributes = format!(
            "G {} | {} | {}",
            domain_model::SbiSection::parse("G").map(|s| s.name(Locale::Nl).to_string()).unwrap_or_default(),
            domain_model::SizeClass::parse("small").map(|s| s.name(Locale::Nl).to_string()).unwrap_or_default(),
            domain_model::Province::parse("NL-UT").map(|p| p.name(Locale::Nl).to_string()).unwrap_or_default(),
        );
        let rule = "-".repeat(78);
        let expected = [
            rule.clone(),
            "Sociale volwassenheid: voorbeeldbeoordeling".into(),
            "SYNTHETISCHE DEMOGEGEVENS: een verzonnen bedrijf".into(),
            rule.clone(),
            line("Bedrijf", "Voorbeeld bv"),
            format!("Kenmerken voor vergelijking {attributes}"),
            line("Model", "nl-social-business v3 (Sociale volwassenheid)"),
            line("Antwoorden", "60 / 63 items, 2 × weet niet"),
            String::new(),
            line("Volwassenheidsindex", " 24,6 / 100"),
            line("Extern", " 41,3  fase 2 Reageren (overgeslagen: Zenden)"),
            line("Intern", "  8,0  fase 0 Geen (te weinig gegevens: Vastleggen, Delen)"),
            String::new(),
            "Waardebronnen (0-100)".into(),
            format!("  {:<32} 12,5", "Co-creatie"),
            format!("  {:<32}-", "Vertrouwen opbouwen"),
            String::new(),
            line("Propositie", " 18,0 (sociaal van oorsprong)"),
            line("Aansluiting", "In balans (doel 33,0, verschil -8,4)"),
            line("", "De inzet past."),
            String::new(),
            line("Archetype", "Verkenner"),
            line("Forrester", "Fase 2"),
            line("Altimeter", "Planning"),
            String::new(),
            "Positie ten opzichte van Nederlandse branchegenoten".into(),
            line("  Vergelijkingsgroep", "Handel, klein (n = 412, jaar 2025, k = 10)"),
            line("", "De eigen groep is te klein."),
            line("", "100% synthetische demogegevens"),
            line("  Volwassenheidsindex", " 61,2 percentiel (90%: tussen 57 en 65)"),
            line("  Intern", "  9,0 percentiel (90%: tussen 6 en 12)"),
            line("  Rogers", "Late meerderheid"),
            line("Opgeslagen als", "beoordeling 7"),
            line("Hoofdstuk (PDF)", "uit/7.nl.pdf"),
            rule,
            "De server draait op http://127.0.0.1:50051 (gRPC, met reflectie en health).".into(),
            "Verder kijken:".into(),
        ];
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[..expected.len()], expected.iter().map(String::as_str).collect::<Vec<_>>()[..], "{text}");
        assert!(text.contains("'{\"locale\":\"nl\"}' 127.0.0.1:50051 maturity.v1.ScoringService/GetModel"), "{text}");
        assert!(text.contains("  - de modeldefinitie:   models/nl-social-business/v3.toml\n"), "{text}");
        assert!(text.ends_with("Stoppen met Ctrl-C.\n"), "{text}");
    }

    #[test]
    fn the_english_summary_without_peers_says_there_is_no_group_yet() {
        let (model, response) = scored(false);
        let text = summary("Sample Ltd", &model, &response, Locale::En, "http://[::1]:9000", None).unwrap();
        let expected = format!(
            "Position among Dutch peers\n  No published peer group yet.\n{}\n{}\n",
            line("Stored as", "assessment 7"),
            "-".repeat(78)
        );
        assert!(text.contains(&expected), "{text}");
        assert!(text.contains(&line("Answers", "60 / 63 items, 2 × don't know")), "{text}");
        assert!(text.contains(&line("External", " 41.3  stage 2 Reageren (skipped: Zenden)")), "{text}");
        assert!(!text.contains("Chapter (PDF)") && !text.contains("percentile"), "{text}");
        assert!(text.contains("grpcurl -plaintext -d '{\"locale\":\"en\"}' [::1]:9000 "), "{text}");
        assert!(text.ends_with("Stop with Ctrl-C.\n"), "{text}");
    }
}
