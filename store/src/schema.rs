//! The schema as the store queries it: the names of the tables and columns that the migrations
//! (crate `migrations`) created, as they stand after the last one. The migrations keep the
//! history; this is the present, so that the store depends on no migration (nor on what a
//! migration needs to read old data).

use sea_orm::DeriveIden;

/// Table `assessments`.
#[derive(Debug, Clone, Copy, DeriveIden)]
pub enum Assessments {
    Table,
    Id,
    Tenant,
    ExternalRef,
    FirmName,
    SbiSection,
    SizeClass,
    Province,
    Year,
    ModelId,
    ModelVersion,
    MaturityIndex,
    Answers,
    Result,
    ReportStatus,
    CompletedAtUs,
    CreatedAtUs,
    UpdatedAtUs,
}

/// Table `idempotency_keys`.
#[derive(Debug, Clone, Copy, DeriveIden)]
pub enum IdempotencyKeys {
    Table,
    Tenant,
    RequestId,
    Method,
    RequestHash,
    Response,
    CreatedAtUs,
    /// The assessment a SubmitAssessment stored (m0014).
    AssessmentId,
    /// When that assessment was erased; the response is then empty (m0014).
    ErasedAtUs,
}

/// Table `benchmark_contributions`.
#[derive(Debug, Clone, Copy, DeriveIden)]
pub enum BenchmarkContributions {
    Table,
    Id,
    Pseudonym,
    Year,
    ModelId,
    ModelVersion,
    SbiSection,
    SizeClass,
    Province,
    MaturityIndex,
    ExternalIndex,
    InternalIndex,
    ExternalStage,
    InternalStage,
    CoCreation,
    InformationSharing,
    NetworkMobilisation,
    TrustBuilding,
    Proposition,
    Synthetic,
    Revision,
    FitVerdict,
    ReturnsCoverCosts,
    ReturnsMeasured,
}

/// Table `benchmark_releases`.
#[derive(Debug, Clone, Copy, DeriveIden)]
pub enum BenchmarkReleases {
    Table,
    ModelId,
    ModelVersion,
    Year,
    GroupKey,
    Level,
    N,
    SyntheticShare,
    /// Highest contribution revision included in the figures.
    Watermark,
    /// The figures, in the store's encoding (`figures`).
    Figures,
    PublishedAtUs,
}

/// Table `assessments` (the nightly batch's columns).
#[derive(Debug, Clone, Copy, DeriveIden)]
pub enum ReportColumns {
    /// The worker holding the lease.
    ReportWorker,
    /// When the lease expires; NULL when nobody holds it.
    ReportLeaseUntilUs,
    /// Failed renderings so far.
    ReportAttempts,
    /// The last rendering error.
    ReportError,
    /// Where the chapter was written, relative to the batch's output folder.
    ReportPath,
    /// The night (YYYY-MM-DD) whose batch wrote it.
    ReportNight,
    /// When the chapter was durable.
    ReportedAtUs,
}

/// Table `tenants`.
#[derive(Debug, Clone, Copy, DeriveIden)]
pub enum Tenants {
    Table,
    /// The tenant id (letters, digits, '-', '_', at most 64): the `tenant` of its assessments.
    Id,
    /// A display name.
    Name,
    CreatedAtUs,
}

/// Table `api_keys`.
#[derive(Debug, Clone, Copy, DeriveIden)]
pub enum ApiKeys {
    Table,
    /// The public part of the key (`mk_` and 10 characters), unique; shown in listings and logs.
    Prefix,
    Tenant,
    /// Hex SHA-256 of the whole key.
    Hash,
    /// What the key is for (free text of the operator).
    Label,
    CreatedAtUs,
    /// When it was revoked; NULL while valid.
    RevokedAtUs,
}

/// Table `audit_log`.
#[derive(Debug, Clone, Copy, DeriveIden)]
pub enum AuditLog {
    Table,
    Id,
    Tenant,
    /// The key's prefix (never the key), or the operator's tool.
    Actor,
    /// The operation, for example `SubmitAssessment`.
    Action,
    /// What it touched, for example `assessment 42`.
    Target,
    /// The caller's request id, when it sent one.
    RequestId,
    AtUs,
}

/// Table `webhook_endpoints`.
#[derive(Debug, Clone, Copy, DeriveIden)]
pub enum WebhookEndpoints {
    Table,
    /// `ep_` and 16 random characters.
    Id,
    Tenant,
    Url,
    Description,
    /// The subscribed event types separated by spaces; empty for every type.
    EventTypes,
    /// The signing secret (`whsec_...`). It has to be kept as is to sign with it.
    Secret,
    /// The secret before the last rotation, signing along until `previous_until_us`.
    PreviousSecret,
    PreviousUntilUs,
    /// When and why it was disabled; NULL while enabled.
    DisabledAtUs,
    DisabledReason,
    CreatedAtUs,
    UpdatedAtUs,
}

/// Table `webhook_events`.
#[derive(Debug, Clone, Copy, DeriveIden)]
pub enum WebhookEvents {
    Table,
    /// `msg_` and 24 random characters: the `webhook-id` of every delivery of it.
    Id,
    Tenant,
    EventType,
    /// The JSON body every delivery carries.
    Payload,
    CreatedAtUs,
}

/// Table `webhook_deliveries`.
#[derive(Debug, Clone, Copy, DeriveIden)]
pub enum WebhookDeliveries {
    Table,
    Id,
    EventId,
    EndpointId,
    Tenant,
    /// pending, delivered, failed, cancelled.
    State,
    /// Attempts made so far.
    Attempts,
    /// When the next attempt is due (while pending).
    NextAttemptUs,
    /// The dispatcher holding it, and until when.
    Worker,
    LeaseUntilUs,
    /// Whether ReplayWebhookEvent queued it.
    Replay,
    CreatedAtUs,
    /// When it ended (delivered, failed or cancelled).
    FinishedAtUs,
}

/// Table `webhook_attempts`.
#[derive(Debug, Clone, Copy, DeriveIden)]
pub enum WebhookAttempts {
    Table,
    Id,
    DeliveryId,
    AtUs,
    /// The HTTP status, 0 when there was no answer.
    StatusCode,
    /// What failed without an answer.
    Error,
    DurationMs,
}

/// Table `benchmark_changes`.
#[derive(Debug, Clone, Copy, DeriveIden)]
pub enum BenchmarkChanges {
    Table,
    Id,
    ModelId,
    ModelVersion,
    Year,
    /// The changed contribution; NULL for the whole universe (m0012).
    ContributionId,
}

/// Table `benchmark_publisher`.
#[derive(Debug, Clone, Copy, DeriveIden)]
pub enum BenchmarkPublisher {
    Table,
    Id,
    /// Who holds the lease (empty: nobody).
    Holder,
    /// Until when (microseconds since the epoch).
    LeaseUntilUs,
    /// Increases with every publication.
    Generation,
}

/// Table `benchmark_universes`.
#[derive(Debug, Clone, Copy, DeriveIden)]
pub enum BenchmarkUniverses {
    Table,
    ModelId,
    ModelVersion,
    Year,
    Generation,
}

/// Table `chapter_archive`: the chapters the nightly batch wrote.
#[derive(Debug, Clone, Copy, DeriveIden)]
pub enum ChapterArchive {
    Table,
    AssessmentId,
    Tenant,
    Locale,
    Night,
    Sha256,
    Content,
    CreatedAtUs,
}

/// Table `invitations`: the questionnaire's links and their drafts.
#[derive(Debug, Clone, Copy, DeriveIden)]
pub enum Invitations {
    Table,
    Id,
    Tenant,
    TokenSha256,
    ExternalRef,
    FirmName,
    SbiSection,
    SizeClass,
    Province,
    Locale,
    ModelId,
    ModelVersion,
    CreatedAtUs,
    ExpiresAtUs,
    OpenedAtUs,
    SubmittedAtUs,
    RevokedAtUs,
    AssessmentId,
    Draft,
    Answered,
    DraftVersion,
}
