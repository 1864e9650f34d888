//! `maturity.v1.ScoringService`: the model in either locale and stateless scoring.

use std::collections::HashMap;
use std::sync::Arc;

use domain_model::{Locale, Model, ModelRegistry};
use domain_scoring::Assessment;
use services_api::errors::{Violation, invalid_argument, request_locale};
use services_api::v1 as pb;
use services_api::v1::scoring_service_server::{ScoringService, ScoringServiceServer};
use tonic::{Request, Response, Status};

use services_api::convert::{self, model_ref, model_to_pb, result_to_pb};

/// The scoring service. Cheap to clone: the state is shared.
#[derive(Clone, Debug)]
pub struct Scoring {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    registry: Arc<ModelRegistry>,
    // Every model in both locales, converted once at start-up: GetModel is then a clone.
    rendered: HashMap<(String, u32, Locale), pb::Model>,
}

/// A request scored: the model it was scored with, the result and the locale asked for.
#[derive(Debug)]
pub struct Scored {
    /// The model used.
    pub model: Arc<Model>,
    /// The result.
    pub assessment: Assessment,
    /// The locale the request asked for.
    pub locale: Locale,
}

impl Scoring {
    /// A service over `registry`.
    pub fn new(registry: Arc<ModelRegistry>) -> Self {
        let mut rendered = HashMap::new();
        for m in registry.all() {
            for l in Locale::ALL {
                rendered.insert((m.id.clone(), m.version, l), model_to_pb(m, l));
            }
        }
        Scoring { inner: Arc::new(Inner { registry, rendered }) }
    }

    /// The tonic service.
    pub fn into_service(self) -> ScoringServiceServer<Scoring> {
        ScoringServiceServer::new(self)
    }

    /// The models this service holds.
    pub fn registry(&self) -> &Arc<ModelRegistry> {
        &self.inner.registry
    }

    fn resolve(&self, r: Option<&pb::ModelRef>, violations: &mut Vec<Violation>) -> Option<Arc<Model>> {
        convert::resolve(&self.inner.registry, r, "model").map_err(|v| violations.push(v)).ok()
    }

    /// Validates and scores a request (`services_api::convert::score`) and reads its locale.
    /// Returns every violation at once.
    pub fn score(&self, req: &pb::ScoreAssessmentRequest) -> Result<Scored, (Vec<Violation>, Locale)> {
        let mut violations = Vec::new();
        let locale = request_locale(&req.locale, "locale", &mut violations);
        match convert::score(&self.inner.registry, req) {
            Ok(s) if violations.is_empty() => Ok(Scored { model: s.model, assessment: s.assessment, locale }),
            Ok(_) => Err((violations, locale)),
            Err(more) => {
                violations.extend(more);
                Err((violations, locale))
            }
        }
    }
}

#[tonic::async_trait]
impl ScoringService for Scoring {
    async fn list_models(
        &self,
        request: Request<pb::ListModelsRequest>,
    ) -> Result<Response<pb::ListModelsResponse>, Status> {
        let mut violations = Vec::new();
        let locale = request_locale(&request.get_ref().locale, "locale", &mut violations);
        if !violations.is_empty() {
            return Err(invalid_argument(&violations, locale));
        }
        let registry = &self.inner.registry;
        let models = registry
            .all()
            .map(|m| pb::ModelSummary {
                model: Some(model_ref(m)),
                title: m.title.get(locale).to_string(),
                item_count: m.items.len() as u32,
            })
            .collect();
        let default_model = registry.resolve("", 0).ok().map(|m| model_ref(&m));
        Ok(Response::new(pb::ListModelsResponse { models, default_model }))
    }

    async fn get_model(&self, request: Request<pb::GetModelRequest>) -> Result<Response<pb::Model>, Status> {
        let req = request.into_inner();
        let mut violations = Vec::new();
        let locale = request_locale(&req.locale, "locale", &mut violations);
        let model = self.resolve(req.model.as_ref(), &mut violations);
        match model {
            Some(m) if violations.is_empty() => {
                let rendered = self.inner.rendered.get(&(m.id.clone(), m.version, locale)).cloned();
                Ok(Response::new(rendered.unwrap_or_else(|| model_to_pb(&m, locale))))
            }
            _ => Err(invalid_argument(&violations, locale)),
        }
    }

    async fn score_assessment(
        &self,
        request: Request<pb::ScoreAssessmentRequest>,
    ) -> Result<Response<pb::ScoreAssessmentResponse>, Status> {
        let req = request.get_ref();
        match self.score(req) {
            Ok(s) => {
                let (domain_request, _) = convert::request_from_pb(req);
                Ok(Response::new(pb::ScoreAssessmentResponse {
                    result: Some(result_to_pb(&s.model, &s.assessment, s.locale)),
                    actions: convert::actions_to_pb(&s.model, &domain_request, &s.assessment, s.locale),
                }))
            }
            Err((violations, locale)) => Err(invalid_argument(&violations, locale)),
        }
    }

    async fn what_if(&self, request: Request<pb::WhatIfRequest>) -> Result<Response<pb::WhatIfResponse>, Status> {
        let req = request.into_inner();
        let mut violations = Vec::new();
        let locale = request_locale(
            req.assessment.as_ref().map_or("", |a| a.locale.as_str()),
            "assessment.locale",
            &mut violations,
        );
        match convert::what_if(&self.inner.registry, &req) {
            Ok(w) if violations.is_empty() => {
                let model = &w.after.model;
                Ok(Response::new(pb::WhatIfResponse {
                    before: Some(result_to_pb(&w.before.model, &w.before.assessment, locale)),
                    after: Some(result_to_pb(model, &w.after.assessment, locale)),
                    actions: convert::actions_to_pb(model, &w.changed, &w.after.assessment, locale),
                }))
            }
            Ok(_) => Err(invalid_argument(&violations, locale)),
            Err(more) => {
                violations.extend(more);
                Err(invalid_argument(&violations, locale))
            }
        }
    }
}
