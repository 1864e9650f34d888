//! The questionnaire in the browser: `InvitationService` (`invitations`), with which a tenant's CRM
//! creates, lists and revokes links, and the pages the firm answers on (`pages`), served on the
//! HTTP port beside the JSON gateway. Answers are saved on the server as the invitation's draft
//! and submitted through the submission path the all-in-one server hands in (`Submit`), so that
//! a questionnaire answered in the browser is checked, scored, stored and contributed exactly as
//! `SubmitAssessment` does. The pages are built from the model version the invitation names
//! (`domain_model::questionnaire`) with Tera templates (`view`), and checked by `form`.

pub mod form;
pub mod guesses;
pub mod invitations;
pub mod pages;
pub mod view;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use domain_model::ModelRegistry;
use services_api::v1 as pb;
use sha2::{Digest, Sha256};
use store::DatabaseConnection;
use store::tenants::Caller;

pub use guesses::{GUESS_LIMIT, GuessLimit, Guesses};
pub use invitations::Invitations;

/// The submission path: `SubmitAssessment` for an identified caller (the all-in-one server hands
/// in `Persistence::submit_as`; this crate knows no other service).
pub type Submit = Arc<
    dyn Fn(
            Caller,
            pb::SubmitAssessmentRequest,
        ) -> Pin<Box<dyn Future<Output = Result<pb::SubmitAssessmentResponse, tonic::Status>> + Send>>
        + Send
        + Sync,
>;

/// What the service and the pages share. Cheap to clone.
#[derive(Clone)]
pub struct Questionnaire {
    db: DatabaseConnection,
    registry: Arc<ModelRegistry>,
    submit: Submit,
    /// Wakes this process's webhook dispatcher after an event was recorded.
    wake: Arc<tokio::sync::Notify>,
    /// The server's address as the firm reaches it (`public_url`), without a trailing slash.
    public_url: String,
    guesses: Arc<Guesses>,
    templates: Arc<view::Templates>,
}

impl std::fmt::Debug for Questionnaire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Questionnaire").field("public_url", &self.public_url).finish_non_exhaustive()
    }
}

impl Questionnaire {
    /// The questionnaire over `db` and `registry`, submitting through `submit`, waking the
    /// dispatcher through `wake`; links begin with `public_url` (empty: the path alone).
    pub fn new(
        db: DatabaseConnection,
        registry: Arc<ModelRegistry>,
        submit: Submit,
        wake: Arc<tokio::sync::Notify>,
        public_url: &str,
    ) -> Result<Questionnaire, tera::Error> {
        Ok(Questionnaire {
            db,
            registry,
            submit,
            wake,
            public_url: public_url.trim_end_matches('/').to_string(),
            guesses: Arc::new(Guesses::new(GUESS_LIMIT)),
            templates: Arc::new(view::Templates::new()?),
        })
    }

    /// The same questionnaire, refusing unknown links from one address beyond `limit`.
    pub fn with_guess_limit(mut self, limit: GuessLimit) -> Questionnaire {
        self.guesses = Arc::new(Guesses::new(limit));
        self
    }

    /// The link of `token`.
    pub fn link(&self, token: &str) -> String {
        format!("{}/q/{token}", self.public_url)
    }
}

/// SHA-256 of a link's token, lower-case hex: what the store keeps of it.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
