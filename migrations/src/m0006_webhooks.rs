//! Webhooks: a tenant's endpoints, the events it was sent, and the outbox of deliveries. An event
//! and its deliveries are inserted in the transaction of what the event reports, so that the
//! outbox holds exactly the events that happened; a dispatcher claims due deliveries with a lease
//! (as the nightly batch claims assessments) and records every attempt.

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub struct Migration;

/// Columns of `webhook_endpoints`.
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

/// Columns of `webhook_events`.
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

/// Columns of `webhook_deliveries`: the outbox.
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

/// Columns of `webhook_attempts`: one row per POST.
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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use WebhookAttempts as At;
        use WebhookDeliveries as D;
        use WebhookEndpoints as E;
        use WebhookEvents as V;
        manager
            .create_table(
                Table::create()
                    .table(E::Table)
                    .col(ColumnDef::new(E::Id).string_len(32).not_null().primary_key())
                    .col(ColumnDef::new(E::Tenant).string_len(64).not_null())
                    .col(ColumnDef::new(E::Url).string().not_null())
                    .col(ColumnDef::new(E::Description).string().not_null())
                    .col(ColumnDef::new(E::EventTypes).string().not_null())
                    .col(ColumnDef::new(E::Secret).string().not_null())
                    .col(ColumnDef::new(E::PreviousSecret).string().null())
                    .col(ColumnDef::new(E::PreviousUntilUs).big_integer().null())
                    .col(ColumnDef::new(E::DisabledAtUs).big_integer().null())
                    .col(ColumnDef::new(E::DisabledReason).string().null())
                    .col(ColumnDef::new(E::CreatedAtUs).big_integer().not_null())
                    .col(ColumnDef::new(E::UpdatedAtUs).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("webhook_endpoints_tenant").table(E::Table).col(E::Tenant).col(E::Id).to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(V::Table)
                    .col(ColumnDef::new(V::Id).string_len(32).not_null().primary_key())
                    .col(ColumnDef::new(V::Tenant).string_len(64).not_null())
                    .col(ColumnDef::new(V::EventType).string_len(64).not_null())
                    .col(ColumnDef::new(V::Payload).text().not_null())
                    .col(ColumnDef::new(V::CreatedAtUs).big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("webhook_events_tenant_created")
                    .table(V::Table)
                    .col(V::Tenant)
                    .col(V::CreatedAtUs)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(D::Table)
                    .col(ColumnDef::new(D::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(D::EventId).string_len(32).not_null())
                    .col(ColumnDef::new(D::EndpointId).string_len(32).not_null())
                    .col(ColumnDef::new(D::Tenant).string_len(64).not_null())
                    .col(ColumnDef::new(D::State).string_len(16).not_null())
                    .col(ColumnDef::new(D::Attempts).integer().not_null().default(0))
                    .col(ColumnDef::new(D::NextAttemptUs).big_integer().not_null())
                    .col(ColumnDef::new(D::Worker).string().null())
                    .col(ColumnDef::new(D::LeaseUntilUs).big_integer().null())
                    .col(ColumnDef::new(D::Replay).boolean().not_null().default(false))
                    .col(ColumnDef::new(D::CreatedAtUs).big_integer().not_null())
                    .col(ColumnDef::new(D::FinishedAtUs).big_integer().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("webhook_deliveries_due")
                    .table(D::Table)
                    .col(D::State)
                    .col(D::NextAttemptUs)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(Index::create().name("webhook_deliveries_event").table(D::Table).col(D::EventId).to_owned())
            .await?;
        manager
            .create_index(
                Index::create().name("webhook_deliveries_endpoint").table(D::Table).col(D::EndpointId).to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(At::Table)
                    .col(ColumnDef::new(At::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(At::DeliveryId).big_integer().not_null())
                    .col(ColumnDef::new(At::AtUs).big_integer().not_null())
                    .col(ColumnDef::new(At::StatusCode).integer().not_null())
                    .col(ColumnDef::new(At::Error).string().not_null())
                    .col(ColumnDef::new(At::DurationMs).integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("webhook_attempts_delivery").table(At::Table).col(At::DeliveryId).to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(WebhookAttempts::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(WebhookDeliveries::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(WebhookEvents::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(WebhookEndpoints::Table).to_owned()).await
    }
}
