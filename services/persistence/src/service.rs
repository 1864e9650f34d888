//! `maturity.v1.PersistenceService` and `maturity.v1.BenchmarkService`.

use std::sync::Arc;

use configuration::layers::{AuthMode, Secret};
use domain_anonymity::{GroupKey, Policy};
use domain_model::{Locale, Model, ModelRegistry, Province, SbiSection, SizeClass};
use domain_scoring::Problem;
use hmac::{Hmac, Mac};
use prost::Message;
use services_api::convert::{self, firm_code, result_to_pb};
use services_api::errors::{Violation, invalid_argument, request_locale};
use services_api::paging::PageTokens;
use services_api::v1 as pb;
use services_api::v1::benchmark_service_server::{BenchmarkService, BenchmarkServiceServer};
use services_api::v1::persistence_service_server::{PersistenceService, PersistenceServiceServer};
use sha2::{Digest, Sha256};
use tonic::{Request, Response, Status};

use services_api::time::{from_timestamp, to_timestamp};
use services_auth::{Authenticator, not_found, store_status};
use store::engine::Benchmarks;
use store::peers::Found;
use store::records::{Answers, ResultSnapshot};
use store::tenants::{self, AuditEntry, Caller};
use store::time::{now_us, year_of};
use store::{
    Contribution, DatabaseConnection, DatabaseTransaction, ListFilter, NewAssessment, ReportStatus, StoredAssessment,
    Universe, webhooks,
};

use crate::{peers, snapshot};

/// Both services over one store. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Persistence {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: DatabaseConnection,
    registry: Arc<ModelRegistry>,
    policy: Policy,
    pseudonym_key: Secret<Vec<u8>>,
    auth: Authenticator,
    // SQLite has one writer at a time: submissions (and the publisher's short writes) take this
    // gate in turn instead of meeting in SQLite's busy handler. PostgreSQL runs them concurrently.
    write_lock: Arc<tokio::sync::Mutex<()>>,
    sqlite: bool,
    // The writers' queue, started with the first submission.
    writer: std::sync::OnceLock<tokio::sync::mpsc::Sender<(Arc<Job>, Reply)>>,
    // Published figures in memory, and the publisher.
    benchmarks: Arc<Benchmarks>,
    // While the database is down, submissions are refused at once instead of queueing.
    breaker: crate::breaker::Breaker,
    started: std::time::Instant,
    // Wakes the webhook dispatcher of this process when a write queued deliveries.
    webhook_wake: Arc<tokio::sync::Notify>,
    // Years before an assessment's own its peers may come from.
    peer_years_back: std::sync::atomic::AtomicU32,
    /// Signs the page tokens of the listings (a key derived from the pseudonym key).
    page_tokens: PageTokens,
    /// How far ahead of this server's clock a submission's completed_at may be.
    completed_at_skew_seconds: std::sync::atomic::AtomicU32,
}

/// A validated, scored submission, ready to be written.
#[derive(Debug)]
struct Job {
    tenant: String,
    actor: String,
    request_id: String,
    request_hash: String,
    external_ref: String,
    firm_name: String,
    completed_at_us: i64,
    /// The answers as stored, pinned to the model version used.
    pinned: Answers,
    answers: Vec<pb::Answer>,
    model: Arc<Model>,
    result: domain_scoring::Assessment,
    /// The result as stored (Dutch), encoded; as the caller asked for it; and the firm's position
    /// among the figures published when it was scored. Computed before the write, so that the
    /// single writer does only the writing.
    stored_result: ResultSnapshot,
    response_result: pb::AssessmentResult,
    position: Option<pb::PeerPosition>,
}

impl Job {
    /// The assessment row.
    fn new_assessment(&self) -> NewAssessment {
        NewAssessment {
            tenant: self.tenant.clone(),
            external_ref: self.external_ref.clone(),
            firm_name: self.firm_name.clone(),
            profile: self.result.firm,
            year: year_of(self.completed_at_us),
            model_id: self.model.id.clone(),
            model_version: store::version_column(self.model.version),
            maturity_index: self.result.maturity_index,
            answers: self.pinned.clone(),
            result: self.stored_result.clone(),
            completed_at_us: self.completed_at_us,
        }
    }

    /// The response once stored as assessment `id` at `now`.
    fn response(&self, id: i64, now: i64) -> pb::SubmitAssessmentResponse {
        let assessment = pb::Assessment {
            id,
            external_ref: self.external_ref.clone(),
            firm_name: self.firm_name.clone(),
            completed_at: Some(to_timestamp(self.completed_at_us)),
            created_at: Some(to_timestamp(now)),
            report_status: pb::ReportStatus::Pending as i32,
            result: Some(self.response_result.clone()),
            answers: self.answers.clone(),
        };
        pb::SubmitAssessmentResponse { assessment: Some(assessment), position: self.position.clone() }
    }

    /// The data of its `assessment.scored` webhook event, in the JSON API's conventions
    /// (lowerCamelCase names, 64-bit ids as strings).
    fn event(&self, id: i64) -> serde_json::Value {
        serde_json::json!({
            "assessmentId": id.to_string(),
            "externalRef": self.external_ref,
            "model": { "id": self.model.id, "version": self.model.version },
            "maturityIndex": self.result.maturity_index,
            "completedAt": store::time::rfc3339(self.completed_at_us),
        })
    }
}

/// A job whose request id was remembered: the stored response when it is the same request (a
/// replay), NOT_FOUND when the assessment it stored has been erased since (the response was
/// redacted with it), else ALREADY_EXISTS.
fn replay(job: &Job, recalled: &store::Recalled, keyed_hash: &str) -> Result<pb::SubmitAssessmentResponse, Status> {
    // An erasure keeps the request's hash only keyed (`Persistence::keyed`).
    let hash = if recalled.erased_at_us.is_some() { keyed_hash } else { job.request_hash.as_str() };
    if recalled.method != "SubmitAssessment" || recalled.request_hash != hash {
        return Err(Status::already_exists(format!(
            "request_id `{}` was already used for a different request",
            job.request_id
        )));
    }
    if let Some(at) = recalled.erased_at_us {
        let id = recalled.assessment_id.map_or_else(String::new, |id| format!(" {id}"));
        return Err(Status::not_found(format!(
            "the assessment{id} that this request_id stored was erased at {}; the request is not stored again",
            store::time::rfc3339(at)
        )));
    }
    pb::SubmitAssessmentResponse::decode(recalled.response.as_slice())
        .map_err(|_| Status::internal("stored response is malformed"))
}

/// The jobs of a batch that can be written together (by index), and those that repeat an earlier
/// one of it: the same request id, or the same firm's assessment of the same time or contribution
/// of the same year and model version. These are written after the others, one by one, so that
/// each sees what the earlier one wrote (a replay, or the latest contribution winning).
fn split_repeats(jobs: &[Arc<Job>]) -> (Vec<usize>, Vec<usize>) {
    let mut seen = std::collections::HashSet::new();
    let (mut together, mut after) = (Vec::with_capacity(jobs.len()), Vec::new());
    for (i, job) in jobs.iter().enumerate() {
        let request = (0, job.tenant.as_str(), job.request_id.as_str(), 0, "", 0);
        let assessment = (1, job.tenant.as_str(), job.external_ref.as_str(), job.completed_at_us, "", 0);
        let firm_year = (
            2,
            job.tenant.as_str(),
            job.external_ref.as_str(),
            i64::from(year_of(job.completed_at_us)),
            job.model.id.as_str(),
            job.model.version,
        );
        if [request, assessment, firm_year].iter().any(|k| seen.contains(k)) {
            after.push(i);
        } else {
            seen.extend([request, assessment, firm_year]);
            together.push(i);
        }
    }
    (together, after)
}

type Reply = tokio::sync::oneshot::Sender<Result<pb::SubmitAssessmentResponse, Status>>;

/// Submissions committed per transaction at most.
const MAX_BATCH: usize = 64;

/// The violations of a submission's own fields: its request id, external reference and firm name.
fn submission_fields(req: &pb::SubmitAssessmentRequest) -> Vec<Violation> {
    let mut violations = Vec::new();
    let request_id = req.request_id.trim();
    if request_id.is_empty() || request_id.chars().count() > 128 {
        violations.push(violation(
            "request_id",
            "INVALID_REQUEST_ID",
            "request_id is required, at most 128 characters",
            "request_id is verplicht, hoogstens 128 tekens",
        ));
    }
    if req.external_ref.trim().is_empty() || req.external_ref.chars().count() > 200 {
        violations.push(violation(
            "external_ref",
            "INVALID_EXTERNAL_REF",
            "external_ref is required, at most 200 characters",
            "external_ref is verplicht, hoogstens 200 tekens",
        ));
    }
    let name = req.firm_name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        violations.push(violation(
            "firm_name",
            "INVALID_FIRM_NAME",
            "firm_name is required, at most 200 characters, without control characters",
            "firm_name is verplicht, hoogstens 200 tekens, zonder stuurtekens",
        ));
    }
    violations
}

/// Writers of submissions: SQLite has one writer at a time; on PostgreSQL a second writer gathers
/// and writes the next batch while the first waits for its commit.
fn writers(sqlite: bool) -> usize {
    if sqlite { 1 } else { 2 }
}

type Queue = Arc<tokio::sync::Mutex<tokio::sync::mpsc::Receiver<(Arc<Job>, Reply)>>>;

/// Starts a writer. On SQLite the writer runs on a thread of its own: each of its statements is a
/// hand-off to the connection's thread and back, and woken from outside the shared runtime it
/// would wait behind the calls being scored there, at a cost in throughput (BENCHMARKS.md,
/// national scale, "a writer thread on SQLite").
/// On PostgreSQL it runs with the rest, where its connections' sockets are driven.
fn start_writer(inner: std::sync::Weak<Inner>, queue: Queue, sqlite: bool) {
    if sqlite {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
        let spawned = runtime.map_err(|e| e.to_string()).and_then(|runtime| {
            let (inner, queue) = (inner.clone(), Arc::clone(&queue));
            std::thread::Builder::new()
                .name("submit-writer".into())
                .spawn(move || runtime.block_on(writer(inner, queue)))
                .map_err(|e| e.to_string())
        });
        match spawned {
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(error = %e, "no thread of its own for the submission writer; it shares the runtime")
            }
        }
    }
    tokio::spawn(writer(inner, queue));
}

/// A writer: takes the submissions waiting, writes them in one transaction, answers each. Ends
/// when the services are dropped (the channel closes).
async fn writer(inner: std::sync::Weak<Inner>, queue: Queue) {
    loop {
        let batch = {
            let mut rx = queue.lock().await;
            let Some(first) = rx.recv().await else { return };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            batch
        };
        let Some(inner) = inner.upgrade() else { return };
        let persistence = Persistence { inner };
        let (jobs, replies): (Vec<Arc<Job>>, Vec<Reply>) = batch.into_iter().unzip();
        let outcomes = persistence.write_batch(&jobs).await;
        for (reply, outcome) in replies.into_iter().zip(outcomes) {
            let _ = reply.send(outcome);
        }
    }
}

/// How long a submission may wait for the ones before it (in the queue of the process's
/// `writers`) before it is refused as UNAVAILABLE: at the sustainable rate the queue that
/// `max_submits_in_flight` allows drains in well under a second.
const SUBMIT_QUEUE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The filter of a ListAssessments request; each bad field is a violation.
fn list_filter(req: &pb::ListAssessmentsRequest, violations: &mut Vec<Violation>) -> ListFilter {
    let mut time = |field: &str, t: Option<&prost_types::Timestamp>| {
        let parsed = t.map(from_timestamp);
        if parsed == Some(None) {
            violations.push(violation(
                field,
                "INVALID_TIMESTAMP",
                format!("{field} is not a valid time"),
                format!("{field} is geen geldig tijdstip"),
            ));
        }
        parsed.flatten()
    };
    let completed_after_us = time("completed_after", req.completed_after.as_ref());
    let completed_before_us = time("completed_before", req.completed_before.as_ref());
    let report_status = match pb::ReportStatus::try_from(req.report_status) {
        Ok(s) => status_of(s),
        Err(_) => {
            violations.push(violation(
                "report_status",
                "UNKNOWN_REPORT_STATUS",
                format!("unknown report status {}", req.report_status),
                format!("onbekende rapportstatus {}", req.report_status),
            ));
            None
        }
    };
    let external_ref = req.external_ref.trim();
    if external_ref.chars().count() > 200 {
        violations.push(violation(
            "external_ref",
            "EXTERNAL_REF_TOO_LONG",
            "external_ref is at most 200 characters",
            "external_ref is hoogstens 200 tekens",
        ));
    }
    let external_ref = (!external_ref.is_empty()).then(|| external_ref.to_string());
    ListFilter { completed_after_us, completed_before_us, report_status, external_ref }
}

fn violation(field: &str, reason: &str, en: impl Into<String>, nl: impl Into<String>) -> Violation {
    Violation::new(field, reason, en, nl)
}

fn status_of(s: pb::ReportStatus) -> Option<ReportStatus> {
    match s {
        pb::ReportStatus::Pending => Some(ReportStatus::Pending),
        pb::ReportStatus::Rendered => Some(ReportStatus::Rendered),
        pb::ReportStatus::Failed => Some(ReportStatus::Failed),
        pb::ReportStatus::Unspecified => None,
    }
}

fn status_pb(s: ReportStatus) -> pb::ReportStatus {
    match s {
        ReportStatus::Pending => pb::ReportStatus::Pending,
        ReportStatus::Rendered => pb::ReportStatus::Rendered,
        ReportStatus::Failed => pb::ReportStatus::Failed,
    }
}

/// An assessment id is required: 0 (the field left out) is a violation, not an assessment that
/// is not found.
fn required_id(id: i64, violations: &mut Vec<Violation>) {
    if id == 0 {
        violations.push(violation("id", "REQUIRED_FIELD", "id is required", "id is verplicht"));
    }
}

fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

impl Persistence {
    /// Both services over `db` (migrated), scoring with the models of `registry`, identifying callers as `auth`
    /// says.
    pub fn new(
        db: DatabaseConnection,
        registry: Arc<ModelRegistry>,
        policy: Policy,
        pseudonym_key: Secret<Vec<u8>>,
        auth: AuthMode,
    ) -> Self {
        let auth = Authenticator::new(db.clone(), auth);
        let write_lock = Arc::new(tokio::sync::Mutex::new(()));
        let sqlite = store::is_sqlite(&db);
        let benchmarks = Arc::new(Benchmarks::new(db.clone(), policy, Arc::clone(&write_lock)));
        let page_tokens = PageTokens::derived(pseudonym_key.expose());
        Persistence {
            inner: Arc::new(Inner {
                db,
                registry,
                policy,
                pseudonym_key,
                auth,
                write_lock,
                sqlite,
                writer: std::sync::OnceLock::new(),
                benchmarks,
                breaker: crate::breaker::Breaker::default(),
                started: std::time::Instant::now(),
                webhook_wake: Arc::new(tokio::sync::Notify::new()),
                peer_years_back: std::sync::atomic::AtomicU32::new(domain_anonymity::years::DEFAULT_PEER_YEARS_BACK),
                page_tokens,
                completed_at_skew_seconds: std::sync::atomic::AtomicU32::new(
                    configuration::settings::DEFAULT_COMPLETED_AT_SKEW_SECONDS,
                ),
            }),
        }
    }

    /// Gives the contributions written before fit verdicts were kept (migration m0011) the verdict
    /// of their model version, for every model this server holds, and notes their universes for
    /// the publisher. Run at start-up; nothing to do costs one read per model version.
    pub async fn backfill_fit_verdicts(&self) -> Result<store::Backfilled, store::StoreError> {
        let _gate = self.inner.write_lock.lock().await;
        let mut total = store::Backfilled::default();
        for model in self.inner.registry.all() {
            let version = store::version_column(model.version);
            let done = store::backfill_fit_verdicts(&self.inner.db, &model.id, version, &model.fit).await?;
            total.contributions += done.contributions;
            total.universes += done.universes;
        }
        Ok(total)
    }

    /// The benchmark engine: published figures in memory, and the publisher.
    pub fn benchmarks(&self) -> &Arc<Benchmarks> {
        &self.inner.benchmarks
    }

    /// Who may call, shared with the other tenant-scoped services.
    pub fn authenticator(&self) -> &Authenticator {
        &self.inner.auth
    }

    /// The tonic services.
    pub fn into_services(self) -> (PersistenceServiceServer<Persistence>, BenchmarkServiceServer<Persistence>) {
        (PersistenceServiceServer::new(self.clone()), BenchmarkServiceServer::new(self))
    }

    /// What wakes a webhook dispatcher when a call of this process queued deliveries.
    pub fn webhook_wake(&self) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.inner.webhook_wake)
    }

    /// The database.
    pub fn db(&self) -> &DatabaseConnection {
        &self.inner.db
    }

    /// The disclosure policy.
    pub fn policy(&self) -> Policy {
        self.inner.policy
    }

    /// The keyed pseudonym of a firm: HMAC-SHA256 over its identity, hex.
    /// What an erased assessment's request id is kept as: `erased:` and a keyed hash of it, so that
    /// a replay is recognised without the id (which often carries the CRM's reference) being kept.
    fn erased_request_id(&self, tenant: &str, request_id: &str) -> String {
        format!("{}{}", store::ERASED, self.keyed(tenant, request_id))
    }

    /// A keyed hash (hex) of `text` of `tenant`, for what an erasure keeps: a plain hash of a
    /// request id or of a request could be confirmed by anyone holding a guess.
    fn keyed(&self, tenant: &str, text: &str) -> String {
        self.pseudonym(format!("erased\u{0}{tenant}\u{0}{text}").as_bytes())
    }

    pub fn pseudonym(&self, identity: &[u8]) -> String {
        // HMAC accepts keys of any length; the error branch cannot occur.
        match Hmac::<Sha256>::new_from_slice(self.inner.pseudonym_key.expose()) {
            Ok(mut mac) => {
                mac.update(identity);
                hex(&mac.finalize().into_bytes())
            }
            Err(_) => hex(&Sha256::digest(identity)),
        }
    }

    fn model(&self, r: Option<&pb::ModelRef>, violations: &mut Vec<Violation>) -> Option<Arc<Model>> {
        convert::resolve(&self.inner.registry, r, "model").map_err(|v| violations.push(v)).ok()
    }

    fn to_pb(&self, a: &StoredAssessment, locale: Locale) -> pb::Assessment {
        let request = match a.answers() {
            Ok(answers) => domain_scoring::Request::from(answers),
            Err(e) => {
                tracing::error!(id = a.id, error = %e, "stored answers do not decode");
                domain_scoring::Request::default()
            }
        };
        // The result is re-rendered in the requested locale from the stored answers and the pinned
        // model version; the stored (Dutch) snapshot is the fallback when that version is gone.
        let result = match request.score(&self.inner.registry) {
            Ok(s) => Some(result_to_pb(&s.model, &s.assessment, locale)),
            Err(_) => a.result().ok().map(|r| snapshot::snapshot_pb(&r)),
        };
        pb::Assessment {
            id: a.id,
            external_ref: a.external_ref.clone(),
            firm_name: a.firm_name.clone(),
            completed_at: Some(to_timestamp(a.completed_at_us)),
            created_at: Some(to_timestamp(a.created_at_us)),
            report_status: status_pb(a.report_status) as i32,
            result,
            answers: convert::request_to_pb(&request).answers,
        }
    }

    /// `SubmitAssessment` for a caller identified by other means than an API key (a questionnaire's
    /// link names its tenant): the same checks, scoring, writes, events and replays.
    pub async fn submit_as(
        &self,
        caller: &Caller,
        req: pb::SubmitAssessmentRequest,
    ) -> Result<pb::SubmitAssessmentResponse, Status> {
        self.submit(caller, req).await
    }

    /// A submission: checked and scored (`prepare`), then written by the process's `writers` (a
    /// batch per transaction; one writer on SQLite, two on PostgreSQL) behind the database's
    /// circuit breaker.
    async fn submit(
        &self,
        caller: &Caller,
        req: pb::SubmitAssessmentRequest,
    ) -> Result<pb::SubmitAssessmentResponse, Status> {
        let job = Arc::new(self.prepare(caller, req)?);
        let clock = || u64::try_from(self.inner.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        if !self.inner.breaker.admit(clock()) {
            return Err(Status::unavailable("the database is unavailable; retry later"));
        }
        // A concurrent call with the same request id (another process, or PostgreSQL's concurrent
        // writers) finds it remembered on the second pass and answers as a replay.
        let mut outcome = Err(Status::internal("submission not attempted"));
        for _ in 0..2 {
            outcome = self.queue(Arc::clone(&job)).await;
            if !outcome.as_ref().is_err_and(|s| s.code() == tonic::Code::Aborted) {
                break;
            }
        }
        let unavailable = outcome.as_ref().is_err_and(|s| s.code() == tonic::Code::Unavailable);
        self.inner.breaker.record(clock(), !unavailable);
        outcome
    }

    /// When a submission's assessment was completed (now when not given), if it is a valid time
    /// between the first benchmark year and the server's clock plus the allowed skew; else a
    /// violation in `violations`.
    fn completed_at(&self, given: Option<&prost_types::Timestamp>, violations: &mut Vec<Violation>) -> Option<i64> {
        let completed_at_us = match given {
            None => Some(now_us()),
            Some(t) => from_timestamp(t),
        };
        if completed_at_us.is_none() {
            violations.push(violation(
                "completed_at",
                "INVALID_TIMESTAMP",
                "completed_at is not a valid time",
                "completed_at is geen geldig tijdstip",
            ));
        }
        let skew = i64::from(self.inner.completed_at_skew_seconds.load(std::sync::atomic::Ordering::Relaxed));
        let latest = now_us().saturating_add(skew.saturating_mul(1_000_000));
        let first = domain_anonymity::years::FIRST_YEAR;
        completed_at_us.filter(|at| {
            let early = year_of(*at) < first;
            let late = *at > latest;
            if early || late {
                violations.push(violation(
                    "completed_at",
                    "COMPLETED_AT_OUT_OF_RANGE",
                    format!(
                        "completed_at must lie between {first}-01-01 and now (at most {skew} s ahead of the server's clock); {} is {}",
                        store::time::rfc3339(*at),
                        if early { "too early" } else { "in the future" }
                    ),
                    format!(
                        "completed_at moet tussen {first}-01-01 en nu liggen (hoogstens {skew} s voor op de klok van de server); {} ligt {}",
                        store::time::rfc3339(*at),
                        if early { "te vroeg" } else { "in de toekomst" }
                    ),
                ));
            }
            !(early || late)
        })
    }

    /// The checks of a submission (every violation at once) and its scoring: what is to be written.
    fn prepare(&self, caller: &Caller, req: pb::SubmitAssessmentRequest) -> Result<Job, Status> {
        let tenant = caller.tenant.as_str();
        let mut violations = submission_fields(&req);
        let (request_id, name) = (req.request_id.trim(), req.firm_name.trim());
        let completed_at_us = self.completed_at(req.completed_at.as_ref(), &mut violations);
        let assessment = req.assessment.clone().unwrap_or_default();
        let locale = request_locale(&assessment.locale, "assessment.locale", &mut violations);
        let scored = match convert::score(&self.inner.registry, &assessment) {
            Ok(s) => Some(s),
            Err(vs) => {
                violations.extend(vs.into_iter().map(|mut v| {
                    v.field = format!("assessment.{}", v.field);
                    v
                }));
                None
            }
        };
        let (Some(scored), Some(completed_at_us)) = (scored, completed_at_us) else {
            return Err(invalid_argument(&violations, locale));
        };
        if !violations.is_empty() {
            return Err(invalid_argument(&violations, locale));
        }

        let request_hash = hex(&Sha256::digest(req.encode_to_vec()));
        let model = Arc::clone(&scored.model);
        let (mut pinned, _) = convert::request_from_pb(&assessment);
        (pinned.model_id, pinned.model_version) = (model.id.clone(), model.version);
        // The position among the figures published now; this submission reaches them through the
        // publisher, once enough of its group changed.
        let r = &scored.assessment;
        let position = self.recent_peers(&model, year_of(completed_at_us), &GroupKey::of(&r.firm)).map(|f| {
            peers::position(self.inner.policy, &model, &f, [r.maturity_index, r.axes[0].index, r.axes[1].index], locale)
        });
        Ok(Job {
            tenant: tenant.to_string(),
            actor: caller.key_prefix.clone(),
            request_id: request_id.to_string(),
            request_hash,
            external_ref: req.external_ref.trim().to_string(),
            firm_name: name.to_string(),
            completed_at_us,
            pinned: Answers::from(&pinned),
            answers: assessment.answers,
            stored_result: snapshot::snapshot(&result_to_pb(&model, &scored.assessment, Locale::Nl)),
            response_result: result_to_pb(&model, &scored.assessment, locale),
            position,
            model,
            result: scored.assessment,
        })
    }

    /// One submission in a transaction of its own (PostgreSQL: concurrent writers commit together
    /// by PostgreSQL's own group commit).
    async fn write_alone(&self, job: &Arc<Job>) -> Result<pb::SubmitAssessmentResponse, Status> {
        let (mut out, queued) = self.write_together(std::slice::from_ref(job)).await?;
        if queued > 0 {
            self.inner.webhook_wake.notify_one();
        }
        out.pop().unwrap_or_else(|| Err(Status::internal("submission not written")))
    }

    /// One submission through this process's writers, which commit the submissions waiting at
    /// the time in one transaction. Answered only after the commit.
    async fn queue(&self, job: Arc<Job>) -> Result<pb::SubmitAssessmentResponse, Status> {
        let sender = self.inner.writer.get_or_init(|| {
            let (tx, rx) = tokio::sync::mpsc::channel(MAX_BATCH * 4);
            let queue: Queue = Arc::new(tokio::sync::Mutex::new(rx));
            for _ in 0..writers(self.inner.sqlite) {
                start_writer(Arc::downgrade(&self.inner), Arc::clone(&queue), self.inner.sqlite);
            }
            tx
        });
        let (reply, answer) = tokio::sync::oneshot::channel();
        let wait = async {
            sender.send((job, reply)).await.map_err(|_| Status::unavailable("the writer has stopped; retry later"))?;
            answer.await.map_err(|_| Status::unavailable("the writer has stopped; retry later"))?
        };
        match tokio::time::timeout(SUBMIT_QUEUE_WAIT, wait).await {
            Ok(outcome) => outcome,
            // The submission may still be written: a retry with the same request id settles it.
            Err(_) => Err(Status::unavailable("too many submissions are waiting; retry later")),
        }
    }

    /// Writes a batch of submissions in one transaction; one outcome per job. A job that repeats an
    /// earlier one of the batch (its request id, or its firm's assessment or contribution) is
    /// written after the batch, on its own, so that it sees the earlier one.
    async fn write_batch(&self, jobs: &[Arc<Job>]) -> Vec<Result<pb::SubmitAssessmentResponse, Status>> {
        let _gate = if self.inner.sqlite { Some(self.inner.write_lock.lock().await) } else { None };
        let (together, after) = split_repeats(jobs);
        let first: Vec<Arc<Job>> = together.iter().map(|&i| Arc::clone(&jobs[i])).collect();
        let mut out: Vec<Option<Result<pb::SubmitAssessmentResponse, Status>>> = vec![None; jobs.len()];
        match self.write_together(&first).await {
            Ok((written, queued)) => {
                if queued > 0 {
                    self.inner.webhook_wake.notify_one();
                }
                for (i, outcome) in together.iter().zip(written) {
                    out[*i] = Some(outcome);
                }
            }
            // The database failed, or a concurrent call remembered one of the request ids first:
            // the batch was rolled back whole; each is written (or answered) in a transaction of
            // its own.
            Err(_) if first.len() > 1 => {
                for &i in &together {
                    out[i] = Some(self.write_alone(&jobs[i]).await);
                }
            }
            Err(status) => {
                for &i in &together {
                    out[i] = Some(Err(status.clone()));
                }
            }
        }
        for i in after {
            out[i] = Some(self.write_alone(&jobs[i]).await);
        }
        out.into_iter().map(|o| o.unwrap_or_else(|| Err(Status::internal("submission not written")))).collect()
    }

    /// Writes `jobs` in one transaction, each step one statement for all of them: the idempotency
    /// check (a remembered request id is answered from what was stored, and not written), the
    /// assessments, their anonymised contributions, the changes for the publisher, the remembered
    /// responses, the audit entries and the webhook events. One outcome per job and the number of
    /// deliveries queued; Err (everything rolled back) when the database failed, or ABORTED when a
    /// concurrent call remembered one of the request ids first. No two jobs may repeat each other
    /// (`split_repeats`).
    async fn write_together(
        &self,
        jobs: &[Arc<Job>],
    ) -> Result<(Vec<Result<pb::SubmitAssessmentResponse, Status>>, usize), Status> {
        let tx = store::begin_write(&self.inner.db).await.map_err(store_status)?;
        // Each request id as it is, and as an erasure keeps it.
        let erased: Vec<String> = jobs.iter().map(|j| self.erased_request_id(&j.tenant, &j.request_id)).collect();
        let keys: Vec<(&str, &str)> = jobs
            .iter()
            .zip(&erased)
            .flat_map(|(j, e)| [(j.tenant.as_str(), j.request_id.as_str()), (j.tenant.as_str(), e.as_str())])
            .collect();
        let remembered = store::idempotency_many(&tx, &keys).await.map_err(store_status)?;
        let mut out: Vec<Option<Result<pb::SubmitAssessmentResponse, Status>>> = vec![None; jobs.len()];
        let mut fresh = Vec::with_capacity(jobs.len());
        for (i, (job, erased)) in jobs.iter().zip(&erased).enumerate() {
            let found = remembered
                .get(&(job.tenant.clone(), job.request_id.clone()))
                .or_else(|| remembered.get(&(job.tenant.clone(), erased.clone())));
            match found {
                Some(stored) => out[i] = Some(replay(job, stored, &self.keyed(&job.tenant, &job.request_hash))),
                None => fresh.push(Arc::clone(job)),
            }
        }
        let mut queued = 0;
        if fresh.is_empty() {
            tx.rollback().await.map_err(|e| store_status(e.into()))?;
        } else {
            let written = self.write_fresh(&tx, &fresh).await;
            let responses = match written {
                Ok(w) => w,
                Err(status) => {
                    let _ = tx.rollback().await;
                    return Err(status);
                }
            };
            store::commit(tx).await.map_err(store_status)?;
            queued = responses.1;
            let mut responses = responses.0.into_iter();
            for slot in out.iter_mut().filter(|o| o.is_none()) {
                *slot = responses.next().map(Ok);
            }
        }
        let out = out.into_iter().map(|o| o.unwrap_or_else(|| Err(Status::internal("submission not written"))));
        Ok((out.collect(), queued))
    }

    /// The writes of `jobs` (none remembered yet) in `tx`: their responses and the number of
    /// webhook deliveries queued.
    async fn write_fresh(
        &self,
        tx: &DatabaseTransaction,
        jobs: &[Arc<Job>],
    ) -> Result<(Vec<pb::SubmitAssessmentResponse>, usize), Status> {
        let now = now_us();
        let new: Vec<NewAssessment> = jobs.iter().map(|j| j.new_assessment()).collect();
        let ids = store::insert_assessments(tx, &new, now).await.map_err(store_status)?;
        let revision = store::next_revision(tx).await.map_err(store_status)?;
        let contributions: Vec<Contribution> = jobs.iter().map(|j| self.contribution(j)).collect();
        let contribution_ids =
            store::upsert_contributions_with_ids(tx, &contributions, revision).await.map_err(store_status)?;
        let universes: Vec<Universe> = contributions
            .iter()
            .map(|c| Universe { model_id: c.model_id.clone(), model_version: c.model_version, year: c.year })
            .collect();
        let changes: Vec<(&Universe, Option<i64>)> =
            universes.iter().zip(&contribution_ids).map(|(u, id)| (u, Some(*id))).collect();
        store::record_changes(tx, &changes).await.map_err(store_status)?;
        // Built from what this call just scored: no decoding or re-scoring of the stored row.
        let responses: Vec<pb::SubmitAssessmentResponse> =
            jobs.iter().zip(&ids).map(|(job, id)| job.response(*id, now)).collect();
        let remembered: Vec<store::Remembered> = jobs
            .iter()
            .zip(&responses)
            .map(|(job, response)| store::Remembered {
                tenant: &job.tenant,
                request_id: &job.request_id,
                method: "SubmitAssessment",
                request_hash: &job.request_hash,
                response: response.encode_to_vec(),
                assessment_id: response.assessment.as_ref().map(|a| a.id),
            })
            .collect();
        if !store::remember_many(tx, &remembered, now).await.map_err(store_status)? {
            return Err(Status::aborted("a concurrent call with this request_id is being stored"));
        }
        let entries: Vec<AuditEntry> = jobs
            .iter()
            .zip(&ids)
            .map(|(job, id)| AuditEntry {
                tenant: job.tenant.clone(),
                actor: job.actor.clone(),
                action: "SubmitAssessment".into(),
                target: format!("assessment {id}"),
                request_id: job.request_id.clone(),
                at_us: now,
            })
            .collect();
        tenants::audit_many(tx, &entries).await.map_err(store_status)?;
        let events: Vec<(&str, &str, serde_json::Value)> = jobs
            .iter()
            .zip(&ids)
            .map(|(job, id)| (job.tenant.as_str(), domain_webhooks::ASSESSMENT_SCORED, job.event(*id)))
            .collect();
        let queued = webhooks::record_events(tx, &events, now).await.map_err(store_status)?;
        Ok((responses, queued))
    }

    /// A job's anonymised contribution.
    fn contribution(&self, job: &Job) -> Contribution {
        let result = &job.result;
        let identity = format!("{}\u{0}{}", job.tenant, job.external_ref);
        Contribution {
            pseudonym: self.pseudonym(identity.as_bytes()),
            year: year_of(job.completed_at_us),
            model_id: job.model.id.clone(),
            model_version: store::version_column(job.model.version),
            profile: result.firm,
            maturity_index: result.maturity_index,
            external_index: result.axes[0].index,
            internal_index: result.axes[1].index,
            external_stage: i16::from(result.axes[0].attained_stage),
            internal_stage: i16::from(result.axes[1].attained_stage),
            value_sources: result.value_sources.clone().map(|v| v.score),
            proposition: result.proposition.centrality,
            fit_verdict: result.fit.verdict,
            returns: result.fit.returns,
            synthetic: false,
            revision: 0,
        }
    }

    /// A year's published figures as CSV or Parquet, with their metadata (size and digest not
    /// yet filled in).
    async fn export_year(
        &self,
        model: &Model,
        year: i32,
        parquet: bool,
    ) -> Result<(Vec<u8>, pb::ExportMetadata), Status> {
        let k = self.inner.policy.k();
        let release = domain_open_figures::Release {
            model_id: model.id.clone(),
            model_version: model.version,
            year,
            k,
            groups: self.inner.benchmarks.groups(model, year).iter().map(|h| h.open_figures(model)).collect(),
        };
        let rows = release.row_count() as u64;
        let groups = u32::try_from(release.groups.len()).unwrap_or(u32::MAX);
        // Encoding a national year takes a while: off the async workers.
        let bytes = tokio::task::spawn_blocking(move || if parquet { release.parquet() } else { release.csv() })
            .await
            .map_err(|e| Status::internal(format!("the export task failed: {e}")))?
            .map_err(Status::internal)?;
        let (content_type, extension) =
            if parquet { ("application/vnd.apache.parquet", "parquet") } else { ("text/csv; charset=utf-8", "csv") };
        let metadata = pb::ExportMetadata {
            content_type: content_type.into(),
            file_name: format!("figures.{}.v{}.{year}.{extension}", model.id, model.version),
            model: Some(pb::ModelRef { id: model.id.clone(), version: model.version }),
            year: u32::try_from(year).unwrap_or(0),
            k,
            groups,
            rows,
            ..pb::ExportMetadata::default()
        };
        Ok((bytes, metadata))
    }

    /// The model and year a benchmark request means, or its violations, or NOT_FOUND when that
    /// year has nothing published.
    async fn universe(
        &self,
        model: Option<&pb::ModelRef>,
        year: u32,
        locale: Locale,
        mut violations: Vec<Violation>,
    ) -> Result<(Arc<Model>, i32), Status> {
        let model = self.model(model, &mut violations);
        let Some(model) = model.filter(|_| violations.is_empty()) else {
            return Err(invalid_argument(&violations, locale));
        };
        let years = self.inner.benchmarks.published_years(&model);
        match self.universe_year(year, &years) {
            Some(y) => Ok((model, y)),
            None => Err(no_group(i32::try_from(year).unwrap_or(0))),
        }
    }

    fn universe_year(&self, requested: u32, years: &[i32]) -> Option<i32> {
        if requested == 0 {
            domain_anonymity::years::default_year(years, year_of(now_us()))
        } else {
            i32::try_from(requested).ok().filter(|y| years.contains(y))
        }
    }

    /// The first published group of `requested`'s ladder, from the engine's memory.
    fn peers(&self, model: &Model, year: i32, requested: &GroupKey) -> Option<Found> {
        self.inner.benchmarks.find(model, year, requested)
    }

    /// The peers of an assessment of `year`: its own year's, else the latest earlier published
    /// year's (at most `peer_years_back` before), from the engine's memory.
    fn recent_peers(&self, model: &Model, year: i32, requested: &GroupKey) -> Option<Found> {
        let back = self.inner.peer_years_back.load(std::sync::atomic::Ordering::Relaxed);
        self.inner.benchmarks.find_recent(model, year, requested, back)
    }

    /// The page tokens of this deployment, for the other services' listings.
    pub fn page_tokens(&self) -> PageTokens {
        self.inner.page_tokens.clone()
    }

    /// How far ahead of this server's clock a submission's `completed_at` may be
    /// (`completed_at_skew_seconds`).
    pub fn set_completed_at_skew_seconds(&self, seconds: u32) {
        self.inner.completed_at_skew_seconds.store(seconds, std::sync::atomic::Ordering::Relaxed);
    }

    /// How many years before an assessment's own its peers may come from (`peer_years_back`).
    pub fn set_peer_years_back(&self, years: u32) {
        self.inner.peer_years_back.store(years, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A group from the API's three optional codes; unknown codes are violations of `field`.
fn group_key(g: Option<&pb::PeerGroup>, field: &str, violations: &mut Vec<Violation>) -> GroupKey {
    let g = g.cloned().unwrap_or_default();
    GroupKey {
        section: firm_code(
            &g.sbi_section,
            &format!("{field}.sbi_section"),
            SbiSection::parse,
            Problem::UnknownSbiSection,
            violations,
        ),
        size: firm_code(
            &g.size_class,
            &format!("{field}.size_class"),
            SizeClass::parse,
            Problem::UnknownSizeClass,
            violations,
        ),
        province: firm_code(
            &g.province,
            &format!("{field}.province"),
            Province::parse,
            Problem::UnknownProvince,
            violations,
        ),
    }
}

fn no_group(year: i32) -> Status {
    Status::not_found(format!("no peer group is published for {year}: fewer firms than the disclosure threshold"))
}

#[tonic::async_trait]
impl PersistenceService for Persistence {
    async fn submit_assessment(
        &self,
        request: Request<pb::SubmitAssessmentRequest>,
    ) -> Result<Response<pb::SubmitAssessmentResponse>, Status> {
        let caller = self.inner.auth.caller(&request).await?;
        self.submit(&caller, request.into_inner()).await.map(Response::new)
    }

    async fn get_assessment(
        &self,
        request: Request<pb::GetAssessmentRequest>,
    ) -> Result<Response<pb::Assessment>, Status> {
        let tenant = self.inner.auth.caller(&request).await?.tenant;
        let req = request.into_inner();
        let mut violations = Vec::new();
        let locale = request_locale(&req.locale, "locale", &mut violations);
        required_id(req.id, &mut violations);
        if !violations.is_empty() {
            return Err(invalid_argument(&violations, locale));
        }
        match store::get_assessment(&self.inner.db, &tenant, req.id).await.map_err(store_status)? {
            Some(a) => Ok(Response::new(self.to_pb(&a, locale))),
            None => Err(not_found(req.id)),
        }
    }

    async fn list_assessments(
        &self,
        request: Request<pb::ListAssessmentsRequest>,
    ) -> Result<Response<pb::ListAssessmentsResponse>, Status> {
        let tenant = self.inner.auth.caller(&request).await?.tenant;
        let req = request.into_inner();
        let mut violations = Vec::new();
        let locale = request_locale(&req.locale, "locale", &mut violations);
        let size = services_api::paging::page_size(req.page_size, &mut violations);
        let filter = list_filter(&req, &mut violations);
        let fingerprint = hex(&Sha256::digest(format!("{filter:?}").as_bytes()))[..16].to_string();
        let listing = (tenant.as_str(), "assessments", fingerprint.as_str());
        let before_id =
            self.inner.page_tokens.position(&req.page_token, listing, |p| p.parse::<i64>().ok(), &mut violations);
        if !violations.is_empty() {
            return Err(invalid_argument(&violations, locale));
        }
        // One more than asked tells whether there is a next page.
        let limit = size + 1;
        let mut rows =
            store::list_assessments(&self.inner.db, &tenant, &filter, before_id, limit).await.map_err(store_status)?;
        let next_page_token = self.inner.page_tokens.next_page(&mut rows, size, listing, |last| last.id.to_string());
        let assessments = rows.iter().map(|a| self.to_pb(a, locale)).collect();
        Ok(Response::new(pb::ListAssessmentsResponse { assessments, next_page_token }))
    }

    async fn delete_assessment(
        &self,
        request: Request<pb::DeleteAssessmentRequest>,
    ) -> Result<Response<pb::DeleteAssessmentResponse>, Status> {
        let caller = self.inner.auth.caller(&request).await?;
        let id = request.get_ref().id;
        let mut violations = Vec::new();
        required_id(id, &mut violations);
        if !violations.is_empty() {
            return Err(invalid_argument(&violations, Locale::default()));
        }
        let tx = store::begin(&self.inner.db).await.map_err(store_status)?;
        // Responses remembered before they were linked to their assessment (m0014) and with no
        // audit entry to link them by: linked now, from the response itself.
        for (request_id, response) in store::unlinked_submissions(&tx, &caller.tenant).await.map_err(store_status)? {
            if let Some(stored) =
                pb::SubmitAssessmentResponse::decode(response.as_slice()).ok().and_then(|r| r.assessment)
            {
                store::link_submission(&tx, &caller.tenant, &request_id, stored.id).await.map_err(store_status)?;
            }
        }
        let keyed = |text: &str| self.keyed(&caller.tenant, text);
        if !store::erase_assessment(&tx, &caller.tenant, id, now_us(), keyed).await.map_err(store_status)? {
            return Err(not_found(id));
        }
        let entry = AuditEntry {
            tenant: caller.tenant.clone(),
            actor: caller.key_prefix.clone(),
            action: "DeleteAssessment".into(),
            target: format!("assessment {id}"),
            request_id: String::new(),
            at_us: now_us(),
        };
        tenants::audit(&tx, &entry).await.map_err(store_status)?;
        store::commit(tx).await.map_err(store_status)?;
        // Erased and committed; that the old pages leave SQLite's log now is best effort.
        if let Err(e) = store::settle_erasure(&self.inner.db).await {
            tracing::warn!(error = %e, assessment = id, "after an erasure the write-ahead log could not be emptied");
        }
        Ok(Response::new(pb::DeleteAssessmentResponse {}))
    }
}

#[tonic::async_trait]
impl BenchmarkService for Persistence {
    type ExportReleasesStream = ExportStream;

    async fn query_benchmark(
        &self,
        request: Request<pb::QueryBenchmarkRequest>,
    ) -> Result<Response<pb::QueryBenchmarkResponse>, Status> {
        self.inner.auth.reader(&request).await?;
        let req = request.into_inner();
        let mut violations = Vec::new();
        let locale = request_locale(&req.locale, "locale", &mut violations);
        let key = group_key(req.group.as_ref(), "group", &mut violations);
        let (model, year) = self.universe(req.model.as_ref(), req.year, locale, violations).await?;
        let found = self.peers(&model, year, &key).ok_or_else(|| no_group(year))?;
        Ok(Response::new(pb::QueryBenchmarkResponse {
            group_used: Some(peers::group_used(&found, self.inner.policy, &model, locale)),
            distributions: peers::distributions_pb(found.figures()),
            stage_shares: peers::stage_shares_pb(found.figures()),
            fit_verdicts: peers::fit_verdicts_pb(found.figures(), &model, locale),
            pay: peers::pay_pb(found.figures(), &model, locale),
        }))
    }

    async fn get_peer_position(
        &self,
        request: Request<pb::GetPeerPositionRequest>,
    ) -> Result<Response<pb::PeerPosition>, Status> {
        self.inner.auth.reader(&request).await?;
        let req = request.into_inner();
        let mut violations = Vec::new();
        let locale = request_locale(&req.locale, "locale", &mut violations);
        let firm = req.firm.clone().unwrap_or_default();
        let group =
            pb::PeerGroup { sbi_section: firm.sbi_section, size_class: firm.size_class, province: firm.province };
        let key = group_key(Some(&group), "firm", &mut violations);
        for (field, v) in [
            ("maturity_index", req.maturity_index),
            ("external_index", req.external_index),
            ("internal_index", req.internal_index),
        ] {
            if !(0.0..=100.0).contains(&v) {
                violations.push(violation(
                    field,
                    "OUT_OF_RANGE",
                    format!("{field} must be between 0 and 100"),
                    format!("{field} moet tussen 0 en 100 liggen"),
                ));
            }
        }
        let (model, year) = self.universe(req.model.as_ref(), req.year, locale, violations).await?;
        let found = self.peers(&model, year, &key).ok_or_else(|| no_group(year))?;
        Ok(Response::new(peers::position(
            self.inner.policy,
            &model,
            &found,
            [req.maturity_index, req.external_index, req.internal_index],
            locale,
        )))
    }

    async fn list_peer_groups(
        &self,
        request: Request<pb::ListPeerGroupsRequest>,
    ) -> Result<Response<pb::ListPeerGroupsResponse>, Status> {
        self.inner.auth.reader(&request).await?;
        let req = request.into_inner();
        let mut violations = Vec::new();
        let locale = request_locale(&req.locale, "locale", &mut violations);
        let (model, year) = self.universe(req.model.as_ref(), req.year, locale, violations).await?;
        let groups = self
            .inner
            .benchmarks
            .groups(&model, year)
            .into_iter()
            .map(|held| {
                let found = Found { requested: held.group, held, year, requested_year: year };
                peers::group_used(&found, self.inner.policy, &model, locale)
            })
            .collect();
        Ok(Response::new(pb::ListPeerGroupsResponse { year: u32::try_from(year).unwrap_or(0), groups }))
    }

    async fn trend(&self, request: Request<pb::TrendRequest>) -> Result<Response<pb::TrendResponse>, Status> {
        self.inner.auth.reader(&request).await?;
        let req = request.into_inner();
        let mut violations = Vec::new();
        let locale = request_locale(&req.locale, "locale", &mut violations);
        let key = group_key(req.group.as_ref(), "group", &mut violations);
        let model = self.model(req.model.as_ref(), &mut violations);
        let Some(model) = model.filter(|_| violations.is_empty()) else {
            return Err(invalid_argument(&violations, locale));
        };
        let mut points = Vec::new();
        for year in self.inner.benchmarks.published_years(&model) {
            if let Some(f) = self.peers(&model, year, &key) {
                let maturity = f.figures().distribution("maturity_index").map(peers::distribution_pb);
                points.push(pb::TrendPoint {
                    year: u32::try_from(year).unwrap_or(0),
                    group_used: Some(peers::group_used(&f, self.inner.policy, &model, locale)),
                    maturity_index: maturity,
                });
            }
        }
        Ok(Response::new(pb::TrendResponse { points }))
    }

    async fn export_releases(
        &self,
        request: Request<pb::ExportReleasesRequest>,
    ) -> Result<Response<Self::ExportReleasesStream>, Status> {
        self.inner.auth.reader(&request).await?;
        let req = request.into_inner();
        let mut violations = Vec::new();
        let locale = request_locale(&req.locale, "locale", &mut violations);
        let format = match pb::ExportFormat::try_from(req.format) {
            Ok(f) => f,
            Err(_) => {
                violations.push(violation(
                    "format",
                    "UNKNOWN_FORMAT",
                    format!("unknown format {}: expected EXPORT_FORMAT_CSV, EXPORT_FORMAT_PARQUET or EXPORT_FORMAT_DICTIONARY", req.format),
                    format!("onbekend formaat {}: verwacht EXPORT_FORMAT_CSV, EXPORT_FORMAT_PARQUET of EXPORT_FORMAT_DICTIONARY", req.format),
                ));
                pb::ExportFormat::Unspecified
            }
        };
        let k = self.inner.policy.k();
        let (bytes, mut metadata) = if format == pb::ExportFormat::Dictionary {
            if !violations.is_empty() {
                return Err(invalid_argument(&violations, locale));
            }
            let bytes = domain_open_figures::dictionary_csv().map_err(Status::internal)?;
            let metadata = pb::ExportMetadata {
                content_type: "text/csv; charset=utf-8".into(),
                file_name: "figures.dictionary.csv".into(),
                k,
                ..pb::ExportMetadata::default()
            };
            (bytes, metadata)
        } else {
            let (model, year) = self.universe(req.model.as_ref(), req.year, locale, violations).await?;
            self.export_year(&model, year, format == pb::ExportFormat::Parquet).await?
        };
        metadata.size = bytes.len() as u64;
        metadata.sha256 = hex::encode(Sha256::digest(&bytes));
        let mut messages = vec![Ok(pb::ExportReleasesResponse { metadata: Some(metadata), data: Vec::new() })];
        messages.extend(
            bytes.chunks(EXPORT_CHUNK).map(|c| Ok(pb::ExportReleasesResponse { metadata: None, data: c.to_vec() })),
        );
        Ok(Response::new(Box::pin(tokio_stream::iter(messages))))
    }
}

/// The pieces of an export, at most this many bytes each (as a chapter's).
const EXPORT_CHUNK: usize = 64 * 1024;

/// The messages of an export.
type ExportStream =
    std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::ExportReleasesResponse, Status>> + Send>>;
