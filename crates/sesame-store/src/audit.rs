//! [`AuditStore`] on the `audit_events` table.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select,
};
use sesame_core::audit::AuditEvent;
use sesame_core::participant::ParticipantId;
use sesame_core::store::{AuditFilter, AuditStore, StoreError};

use crate::SeaStore;
use crate::convert::{from_json, instant, name_of, named, to_json, uuid};
use crate::entity::audit_event::{ActiveModel, Column, Entity, Model};
use crate::error;

#[async_trait]
impl AuditStore for SeaStore {
    async fn record(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let row = ActiveModel {
            id: NotSet,
            at: Set(instant(event.at)),
            kind: Set(name_of(&event.kind)?),
            participant_id: Set(event.participant.map(|p| p.to_string())),
            client_id: Set(event.client_id.clone()),
            ip: Set(event.ip.clone()),
            detail: Set(to_json(&event.detail)?),
        };
        Entity::insert(row)
            .exec_without_returning(&self.db)
            .await
            .map_err(error::db)?;
        Ok(())
    }

    async fn query(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError> {
        let rows = matching(filter)?
            .order_by_desc(Column::At)
            .order_by_desc(Column::Id)
            .limit(filter.limit)
            .all(&self.db)
            .await
            .map_err(error::db)?;
        rows.into_iter().map(event).collect()
    }

    async fn purge(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let result = Entity::delete_many()
            .filter(Column::At.lt(instant(before)))
            .exec(&self.db)
            .await
            .map_err(error::db)?;
        Ok(result.rows_affected)
    }
}

/// The rows that pass `filter`; the time bounds use the index on `at`, the participant
/// the index on `participant_id`.
fn matching(filter: &AuditFilter) -> Result<Select<Entity>, StoreError> {
    let kinds = filter
        .kinds
        .iter()
        .map(name_of)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Entity::find()
        .apply_if(filter.participant, |q, p| {
            q.filter(Column::ParticipantId.eq(p.to_string()))
        })
        .apply_if(filter.since, |q, at| q.filter(Column::At.gte(instant(at))))
        .apply_if(filter.until, |q, at| q.filter(Column::At.lt(instant(at))))
        .apply_if((!kinds.is_empty()).then_some(kinds), |q, kinds| {
            q.filter(Column::Kind.is_in(kinds))
        }))
}

fn event(row: Model) -> Result<AuditEvent, StoreError> {
    let participant = row
        .participant_id
        .as_deref()
        .map(|id| uuid(id, "audit_events.participant_id").map(ParticipantId))
        .transpose()?;
    Ok(AuditEvent {
        at: row.at,
        kind: named(&row.kind, "audit_events.kind")?,
        participant,
        client_id: row.client_id,
        ip: row.ip,
        detail: from_json(&row.detail, "audit_events.detail")?,
    })
}
