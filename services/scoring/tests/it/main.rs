//! Integration tests of ScoringService over the real server stack, bound to port 0.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests stop at the first surprise")]

mod bad_input;
mod scoring;

use std::sync::Arc;

use domain_model::ModelRegistry;
use services_api::v1 as pb;
use services_api::v1::scoring_service_client::ScoringServiceClient;
use services_server::server::{Listeners, ServerSettings};
use tonic::transport::Channel;

/// A running server and a client connected to it. Dropping it shuts the server down.
#[derive(Debug)]
pub struct TestApp {
    pub client: ScoringServiceClient<Channel>,
    pub channel: Channel,
    _stop: tokio::sync::oneshot::Sender<()>,
}

pub async fn spawn_app() -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let registry = Arc::new(ModelRegistry::builtin().unwrap());
    tokio::spawn(services_scoring::run(Listeners::grpc_only(listener), registry, ServerSettings::default(), async {
        let _ = stopped.await;
    }));
    // The listener is bound before the server task starts, so connecting cannot race it.
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
    TestApp { client: ScoringServiceClient::new(channel.clone()), channel, _stop: stop }
}

pub fn likert(id: &str, n: u32) -> pb::Answer {
    pb::Answer { item_id: id.into(), value: Some(pb::answer::Value::Likert(n)) }
}

pub fn firm(section: &str, size: &str, province: &str) -> Option<pb::FirmAttributes> {
    Some(pb::FirmAttributes { sbi_section: section.into(), size_class: size.into(), province: province.into() })
}

/// Every item of the model answered in the middle of its scale.
pub async fn full_answers(app: &mut TestApp) -> Vec<pb::Answer> {
    let model = app.client.get_model(pb::GetModelRequest::default()).await.unwrap().into_inner();
    model
        .items
        .iter()
        .map(|it| {
            let scale = it.scale.as_ref().unwrap();
            let mid = &scale.points[scale.points.len() / 2];
            let value = match pb::ScaleKind::try_from(scale.kind).unwrap() {
                pb::ScaleKind::Likert => pb::answer::Value::Likert(mid.value.parse().unwrap()),
                pb::ScaleKind::YesNo => pb::answer::Value::Yes(mid.value == "yes"),
                _ => pb::answer::Value::Choice(mid.value.clone()),
            };
            pb::Answer { item_id: it.id.clone(), value: Some(value) }
        })
        .collect()
}
