//! The all-in-one server: every gRPC service of the product in one process on one port, for the
//! embedded default and small deployments, and the end-to-end demo job that `make run` runs
//! against it through the real gRPC API.

pub mod chapter;
pub mod demo;
pub mod operators;
pub mod sample;

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use configuration::layers::{AuthMode, Secret};
use configuration::settings::ServeConfig;
use domain_anonymity::Policy;
use domain_model::ModelRegistry;
use report_gen::{Assembler, Renderer};
use services_auth::RateLimit;
use services_persistence::Persistence;
use services_report::Reports;
use services_scoring::Scoring;
use services_server::guard::Gauge;
use services_server::server::{Listeners, ServerSettings, Services, serve_with_http};
use services_webhooks::dispatch::{DispatchSettings, Dispatcher};
use store::engine::Intervals;

/// Whether opening may create a database it does not find.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opening {
    /// A server, a batch, `maturity migrate`: the SQLite file is created on first start.
    MayCreate,
    /// An operator's command on tenants and keys: a missing database is an error, not a new
    /// empty one beside the real one.
    Existing,
}

/// Opens the database named by `config` with its pool settings and gets its schema ready:
/// migrated under the lock, or checked when `migrate_on_start` is false. With
/// `Opening::Existing`, an SQLite database that is not there is an error instead of a new file.
pub async fn open_database(config: &ServeConfig, opening: Opening) -> anyhow::Result<store::DatabaseConnection> {
    let url = config.database_url.expose();
    if opening == Opening::Existing && !store::exists(url) {
        anyhow::bail!(
            "there is no database at {url}: run this where the server runs, or name its database with --database-url (or --config); `maturity migrate` creates a new one"
        );
    }
    // Told not to migrate, a program leaves a missing SQLite file missing: it would refuse the
    // empty schema anyway.
    if !config.migrate_on_start && !store::exists(url) {
        let every = migrations::state_of_nothing();
        return Err(anyhow::Error::new(migrations::PrepareError::Mismatch(every)))
            .with_context(|| format!("while preparing the database schema: there is no database at {url}"));
    }
    let pool = store::PoolSettings {
        max_connections: config.database_pool_size,
        acquire_timeout: config.database_acquire_timeout,
        connect_timeout: config.database_connect_timeout,
    };
    let db = store::open_with(url, pool).await.context("while opening the database")?;
    migrations::prepare(&db, config.migrate_on_start).await.context("while preparing the database schema")?;
    Ok(db)
}

/// The state every service of the all-in-one server shares.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The maturity models.
    pub registry: Arc<ModelRegistry>,
    /// Scoring over those models.
    pub scoring: Scoring,
    /// The stores.
    pub persistence: Persistence,
    /// Chapters on demand.
    pub reports: Reports,
    /// How webhooks are delivered.
    pub webhooks: DispatchSettings,
    /// How often benchmark figures are published and reloaded.
    pub publication: Intervals,
    /// How often an SQLite write-ahead log is checkpointed beside the submission writer (a
    /// background job); `None` leaves it to the writer's own commits.
    pub sqlite_checkpoint: Option<std::time::Duration>,
    /// The operator token: with one, the operators' port also manages tenants and keys
    /// (`operators`).
    pub operator_token: Option<Secret<String>>,
    /// The address firms reach the HTTP port at (`public_url`; empty: links are paths).
    pub public_url: String,
    /// Whether `run` starts the background jobs: the publisher with the cache refresh, and the
    /// webhook dispatcher (tests that publish by hand, with `Benchmarks::sync`, or that leave the
    /// database to another process, turn them off).
    pub background_jobs: bool,
}

impl AppState {
    /// Opens the database named by `config` (migrating it, or checking its schema, as configured)
    /// and the pseudonym key (created on first start).
    pub async fn open(config: &ServeConfig, registry: Arc<ModelRegistry>) -> anyhow::Result<AppState> {
        let policy = Policy::new(config.disclosure_k).context("while setting the disclosure threshold")?;
        let key = store::keys::load_or_create(&config.pseudonym_key_file)?;
        let db = open_database(config, Opening::MayCreate).await?;
        let mut state = AppState::on(db, registry, policy, key, config.auth).await?;
        state.webhooks.timeout = config.webhook_timeout;
        state.webhooks.allow_private_networks = config.webhook_allow_private_networks;
        state.publication.publish = config.publish_interval;
        state.publication.refresh = state.publication.refresh.min(config.publish_interval);
        state.sqlite_checkpoint = config.sqlite_checkpoint;
        state.operator_token = config.operator_token_file.as_deref().map(operators::read_token).transpose()?;
        state.persistence.set_peer_years_back(config.peer_years_back);
        state.persistence.set_completed_at_skew_seconds(config.completed_at_skew_seconds);
        state.reports.assembler().set_peer_years_back(config.peer_years_back);
        state.webhooks.proxy = config.webhook_proxy.clone();
        state.public_url = config.public_url.clone();
        if let Some(path) = &config.webhook_ca_file {
            let pem =
                std::fs::read(path).with_context(|| format!("cannot read the webhook CA file {}", path.display()))?;
            state.webhooks.extra_roots_pem = Some(pem);
        }
        // Built once now, so that a bad CA file or proxy is a start-up error rather than failed
        // deliveries.
        services_webhooks::dispatch::Client::new(&state.webhooks)?;
        let rate = config.tenant_rate_limit;
        state
            .persistence
            .authenticator()
            .set_rate_limit((rate > 0.0).then_some(RateLimit { per_second: rate, burst: (2.0 * rate).max(1.0) }));
        Ok(state)
    }

    /// Opens the database at `url` with an explicit policy, key and way of identifying callers
    /// (tests, tools).
    pub async fn open_with(
        url: &str,
        registry: Arc<ModelRegistry>,
        policy: Policy,
        key: Vec<u8>,
        auth: AuthMode,
    ) -> anyhow::Result<AppState> {
        let db = store::open(url).await.context("while opening the database")?;
        migrations::up(&db).await.context("while migrating the database")?;
        AppState::on(db, registry, policy, key, auth).await
    }

    /// The state over an opened database whose schema is current.
    async fn on(
        db: store::DatabaseConnection,
        registry: Arc<ModelRegistry>,
        policy: Policy,
        key: Vec<u8>,
        auth: AuthMode,
    ) -> anyhow::Result<AppState> {
        let scoring = Scoring::new(Arc::clone(&registry));
        let persistence = Persistence::new(db.clone(), Arc::clone(&registry), policy, Secret::new(key), auth);
        let backfilled = persistence
            .backfill_fit_verdicts()
            .await
            .context("while filling in the fit verdicts of older contributions")?;
        if backfilled.contributions > 0 {
            tracing::info!(
                contributions = backfilled.contributions,
                universes = backfilled.universes,
                "filled in the fit verdicts of contributions from before they were kept; the publisher republishes their groups"
            );
        }
        persistence.benchmarks().refresh().await.context("while loading the published benchmark figures")?;
        let assembler = Assembler::new(Arc::clone(&registry), policy).context("while reading the context figures")?;
        let templates = report_gen::Templates::builtin().context("while loading the chapter templates")?;
        let reports =
            Reports::new(db, assembler, Arc::new(Renderer::new(templates)), persistence.authenticator().clone());
        Ok(AppState {
            registry,
            scoring,
            persistence,
            reports,
            webhooks: DispatchSettings::default(),
            publication: Intervals::default(),
            sqlite_checkpoint: Some(store::CHECKPOINT_INTERVAL),
            operator_token: None,
            public_url: String::new(),
            background_jobs: true,
        })
    }
}

/// What the stores say at a scrape: the webhook outbox and the chapters' statuses. Nothing when the
/// database does not answer (readiness says so).
async fn store_gauges(db: &store::DatabaseConnection) -> Vec<Gauge> {
    let mut out = Vec::new();
    if let Ok((waiting, first_due)) = store::webhooks::backlog(db).await {
        let now = store::time::now_us();
        let overdue = first_due.map_or(0.0, |t| ((now - t).max(0) as f64) / 1e6);
        out.push(Gauge {
            name: "maturity_webhook_backlog",
            help: "Webhook deliveries waiting.",
            value: waiting as f64,
        });
        out.push(Gauge {
            name: "maturity_webhook_oldest_due_seconds",
            help: "How long the longest-waiting due webhook delivery has been due (0 when none is).",
            value: overdue,
        });
    }
    if let Ok(counts) = store::reports::status_counts(db).await {
        for (status, name, help) in [
            (store::ReportStatus::Pending, "maturity_chapters_pending", "Assessments waiting for their chapter."),
            (store::ReportStatus::Rendered, "maturity_chapters_rendered", "Assessments whose chapter is written."),
            (
                store::ReportStatus::Failed,
                "maturity_chapters_failed",
                "Assessments whose chapter failed (retried while attempts are left).",
            ),
        ] {
            let value = counts.iter().find(|(s, _)| *s == status).map_or(0, |(_, n)| *n);
            out.push(Gauge { name, help, value: value as f64 });
        }
    }
    out
}

/// `settings` with what the operators' port shows of this process: readiness as a database ping
/// (unless the caller set its own), the store's gauges in `/metrics`, and the tenant and key
/// routes when an operator token is configured.
fn for_operators(mut settings: ServerSettings, state: &AppState) -> ServerSettings {
    let db = state.persistence.db().clone();
    if settings.readiness.is_none() {
        let db = db.clone();
        settings.readiness = Some(Arc::new(move || {
            let db = db.clone();
            Box::pin(async move { db.ping().await.is_ok() })
        }));
    }
    if let Some(token) = state.operator_token.clone() {
        settings.admin_routes = Some(operators::router(db.clone(), token));
    }
    settings.guard.metrics.add_source(Arc::new(move || {
        let db = db.clone();
        Box::pin(async move { store_gauges(&db).await })
    }));
    settings
}

/// The questionnaire of the all-in-one server, its pages and its invitations: its submissions
/// take the persistence service's submission path.
fn questionnaire(state: &AppState) -> anyhow::Result<(axum::Router, services_questionnaire::Invitations)> {
    let persistence = state.persistence.clone();
    let submit: services_questionnaire::Submit = Arc::new(move |caller, request| {
        let persistence = persistence.clone();
        Box::pin(async move { persistence.submit_as(&caller, request).await })
    });
    let questionnaire = services_questionnaire::Questionnaire::new(
        state.persistence.db().clone(),
        Arc::clone(&state.registry),
        submit,
        state.persistence.webhook_wake(),
        &state.public_url,
    )
    .context("while loading the questionnaire's templates")?;
    let invitations = services_questionnaire::Invitations::new(
        questionnaire.clone(),
        state.persistence.authenticator().clone(),
        state.persistence.page_tokens(),
    );
    Ok((services_questionnaire::pages::router(questionnaire), invitations))
}

/// Serves every service of the product on `listeners` (gRPC, and as JSON over HTTP and the
/// operators' port when given), until `shutdown`; delivers webhooks meanwhile (and until the server
/// has drained).
pub async fn run(
    listeners: Listeners,
    state: AppState,
    settings: ServerSettings,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let mut settings = for_operators(settings, &state);
    let (pages, invitations) = questionnaire(&state)?;
    settings.public_routes = Some(pages);
    let allow_private_networks = state.webhooks.allow_private_networks;
    let dispatcher = Dispatcher::new(state.persistence.db().clone(), state.webhooks, state.persistence.webhook_wake())?;
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let mut engine_stop = stop_rx.clone();
    let dispatching = state.background_jobs.then(|| {
        tokio::spawn(dispatcher.run(async move {
            let _ = stop_rx.wait_for(|stop| *stop).await;
        }))
    });
    let publishing = state.background_jobs.then(|| {
        tokio::spawn(Arc::clone(state.persistence.benchmarks()).run(state.publication, async move {
            let _ = engine_stop.wait_for(|stop| *stop).await;
        }))
    });
    let mut checkpoint_stop = stop_tx.subscribe();
    // SQLite's write-ahead log is copied back beside the submission writer, not in its commits.
    let checkpointing = state.sqlite_checkpoint.filter(|_| state.background_jobs).map(|interval| {
        tokio::spawn(store::run_checkpointer(state.persistence.db().clone(), interval, async move {
            let _ = checkpoint_stop.wait_for(|stop| *stop).await;
        }))
    });
    let mut services = Services::new();
    let webhook = services_webhooks::Webhooks::new(
        state.persistence.db().clone(),
        state.persistence.authenticator().clone(),
        state.persistence.webhook_wake(),
        state.persistence.page_tokens(),
    )
    .allow_private_networks(allow_private_networks)
    .into_service();
    let (persistence, benchmark) = state.persistence.into_services();
    services
        .add(state.scoring.into_service())
        .add(persistence)
        .add(benchmark)
        .add(state.reports.into_service())
        .add(webhook)
        .add(invitations.into_service());
    let served = serve_with_http(listeners, services, settings, shutdown).await;
    let _ = stop_tx.send(true);
    if let Some(dispatching) = dispatching {
        let _ = dispatching.await;
    }
    if let Some(publishing) = publishing {
        let _ = publishing.await;
    }
    if let Some(checkpointing) = checkpointing {
        let _ = checkpointing.await;
    }
    served
}
