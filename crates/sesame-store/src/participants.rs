//! [`ParticipantStore`] on the `participants` table.

mod backfill;
mod upsert;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use sesame_core::CohortNumber;
use sesame_core::participant::{
    Participant, ParticipantId, ParticipantRecord, Profile, RequiredAction, TermsAcceptance,
};
use sesame_core::password::PasswordHash;
use sesame_core::store::{ParticipantStore, StoreError, UpsertOutcome};

use crate::SeaStore;
use crate::convert::{corrupt, from_json, instant, to_json, uuid};
use crate::entity::participant::{ActiveModel, Column, Entity, Model};
use crate::error;
use crate::transaction::{begin_write, finish};

#[async_trait]
impl ParticipantStore for SeaStore {
    async fn by_number(&self, number: &CohortNumber) -> Result<Option<Participant>, StoreError> {
        let found = Entity::find()
            .filter(Column::Number.eq(number.as_str()))
            .one(&self.db)
            .await;
        found.map_err(error::db)?.map(participant).transpose()
    }

    async fn by_id(&self, id: ParticipantId) -> Result<Option<Participant>, StoreError> {
        let found = Entity::find_by_id(id.to_string()).one(&self.db).await;
        found.map_err(error::db)?.map(participant).transpose()
    }

    async fn upsert_batch(
        &self,
        records: &[ParticipantRecord],
        replace_passwords: bool,
        now: DateTime<Utc>,
    ) -> Result<Vec<UpsertOutcome>, StoreError> {
        let txn = begin_write(&self.db).await?;
        let batch = upsert::Batch {
            txn: &txn,
            replace_passwords,
            now: instant(now),
        };
        let outcome = batch.run(records).await;
        finish(txn, outcome).await
    }

    async fn set_password(
        &self,
        id: ParticipantId,
        hash: &PasswordHash,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let row = ActiveModel {
            password_hash: Set(Some(hash.as_str().to_owned())),
            ..touched(now)
        };
        update(&self.db, id, row).await
    }

    async fn count(&self) -> Result<u64, StoreError> {
        Entity::find().count(&self.db).await.map_err(error::db)
    }

    async fn without_password(
        &self,
        after: Option<&CohortNumber>,
        limit: u64,
    ) -> Result<Vec<Participant>, StoreError> {
        let mut query = Entity::find().filter(Column::PasswordHash.is_null());
        if let Some(after) = after {
            query = query.filter(Column::Number.gt(after.as_str()));
        }
        let rows = query
            .order_by_asc(Column::Number)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(error::db)?;
        rows.into_iter().map(participant).collect()
    }

    /// Stores the list as given.
    async fn set_required_actions(
        &self,
        id: ParticipantId,
        actions: &[RequiredAction],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let row = ActiveModel {
            required_actions: Set(to_json(actions)?),
            ..touched(now)
        };
        update(&self.db, id, row).await
    }

    /// Runs in one transaction, reading and rewriting participants in batches; the lists it
    /// changes come out sorted in the enum's order, without duplicates.
    async fn require_for_all(
        &self,
        action: RequiredAction,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let txn = begin_write(&self.db).await?;
        let outcome = backfill::require_for_all(&txn, action, instant(now)).await;
        finish(txn, outcome).await
    }

    async fn set_phone(
        &self,
        id: ParticipantId,
        phone: Option<&str>,
        verified: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let row = ActiveModel {
            phone: Set(phone.map(str::to_owned)),
            phone_verified: Set(verified),
            phone_declined_at: Set(None),
            ..touched(now)
        };
        update(&self.db, id, row).await
    }

    /// `at` is also the participant's `updated_at`.
    async fn set_phone_declined(
        &self,
        id: ParticipantId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let row = ActiveModel {
            phone_declined_at: Set(Some(instant(at))),
            ..touched(at)
        };
        update(&self.db, id, row).await
    }

    /// True when the stored address is `email`, verified now or already before; false
    /// when it has changed since or the participant is unknown.
    async fn set_email_verified(
        &self,
        id: ParticipantId,
        email: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let row = ActiveModel {
            email_verified: Set(true),
            ..touched(now)
        };
        let result = Entity::update_many()
            .set(row)
            .filter(Column::Id.eq(id.to_string()))
            .filter(Column::Email.eq(email))
            .exec(&self.db)
            .await
            .map_err(error::db)?;
        Ok(result.rows_affected > 0)
    }

    /// The acceptance time is also the participant's `updated_at`.
    async fn accept_terms(
        &self,
        id: ParticipantId,
        acceptance: &TermsAcceptance,
    ) -> Result<(), StoreError> {
        let row = ActiveModel {
            terms_version: Set(Some(acceptance.version.clone())),
            terms_accepted_at: Set(Some(instant(acceptance.at))),
            ..touched(acceptance.at)
        };
        update(&self.db, id, row).await
    }
}

/// A change that sets `updated_at` and nothing else yet.
fn touched(now: DateTime<Utc>) -> ActiveModel {
    ActiveModel {
        updated_at: Set(instant(now)),
        ..ActiveModel::default()
    }
}

/// Writes the columns set in `row` on participant `id`; an unknown id changes nothing.
async fn update(
    db: &DatabaseConnection,
    id: ParticipantId,
    row: ActiveModel,
) -> Result<(), StoreError> {
    Entity::update_many()
        .set(row)
        .filter(Column::Id.eq(id.to_string()))
        .exec(db)
        .await
        .map(|_| ())
        .map_err(error::db)
}

/// The columns an import sets on both new and existing participants.
fn contact_and_profile(record: &ParticipantRecord) -> Result<ActiveModel, StoreError> {
    Ok(ActiveModel {
        email: Set(record.email.clone()),
        email_verified: Set(record.email_verified),
        phone: Set(record.phone.clone()),
        phone_verified: Set(record.phone_verified),
        given_name: Set(record.profile.given_name.clone()),
        family_name: Set(record.profile.family_name.clone()),
        locale: Set(record.profile.locale.clone()),
        required_actions: Set(to_json(&record.required_actions)?),
        ..ActiveModel::default()
    })
}

fn participant(row: Model) -> Result<Participant, StoreError> {
    let password_hash = row
        .password_hash
        .as_deref()
        .map(|h| PasswordHash::parse(h).map_err(|_| corrupt("participants.password_hash")))
        .transpose()?;
    Ok(Participant {
        id: ParticipantId(uuid(&row.id, "participants.id")?),
        number: CohortNumber::parse(&row.number).map_err(|_| corrupt("participants.number"))?,
        email: row.email,
        email_verified: row.email_verified,
        phone: row.phone,
        phone_verified: row.phone_verified,
        profile: Profile {
            given_name: row.given_name,
            family_name: row.family_name,
            locale: row.locale,
        },
        password_hash,
        required_actions: from_json(&row.required_actions, "participants.required_actions")?,
        phone_declined_at: row.phone_declined_at,
        terms_accepted: terms(row.terms_version, row.terms_accepted_at)?,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// The version and the time are stored together or not at all.
fn terms(
    version: Option<String>,
    at: Option<DateTime<Utc>>,
) -> Result<Option<TermsAcceptance>, StoreError> {
    match (version, at) {
        (Some(version), Some(at)) => Ok(Some(TermsAcceptance { version, at })),
        (None, None) => Ok(None),
        _ => Err(corrupt("participants.terms_version")),
    }
}
