//! [`ParticipantStore`] on the `participants` table.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use sesame_core::CohortNumber;
use sesame_core::participant::{Participant, ParticipantId, ParticipantRecord, Profile};
use sesame_core::password::PasswordHash;
use sesame_core::store::{ParticipantStore, StoreError, UpsertOutcome};

use crate::SeaStore;
use crate::convert::{corrupt, from_json, instant, to_json, uuid};
use crate::entity::participant::{ActiveModel, Column, Entity, Model};
use crate::error;

/// How many numbers one `IN (…)` lookup carries, well under every backend's limit.
const LOOKUP_CHUNK: usize = 500;

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
        let txn = self
            .db
            .begin_with_options(write_transaction())
            .await
            .map_err(error::db)?;
        let batch = Batch {
            txn: &txn,
            replace_passwords,
            now: instant(now),
        };
        match batch.run(records).await {
            Ok(outcomes) => {
                txn.commit().await.map_err(error::db)?;
                Ok(outcomes)
            }
            Err(err) => {
                // The error that stopped the batch is the one worth reporting.
                let _ = txn.rollback().await;
                Err(err)
            }
        }
    }

    async fn set_password(
        &self,
        id: ParticipantId,
        hash: &PasswordHash,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        Entity::update_many()
            .col_expr(Column::PasswordHash, Expr::value(hash.as_str()))
            .col_expr(Column::UpdatedAt, Expr::value(instant(now)))
            .filter(Column::Id.eq(id.to_string()))
            .exec(&self.db)
            .await
            .map(|_| ())
            .map_err(error::db)
    }

    async fn count(&self) -> Result<u64, StoreError> {
        Entity::find().count(&self.db).await.map_err(error::db)
    }
}

/// A SQLite transaction that takes the write lock at once, so that it never has to be
/// upgraded from a read lock halfway (which fails when another writer got there first).
fn write_transaction() -> TransactionOptions {
    TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    }
}

/// One `upsert_batch` call inside its transaction.
struct Batch<'a> {
    txn: &'a DatabaseTransaction,
    replace_passwords: bool,
    now: DateTime<Utc>,
}

impl Batch<'_> {
    async fn run(&self, records: &[ParticipantRecord]) -> Result<Vec<UpsertOutcome>, StoreError> {
        let existing = self.existing_ids(records).await?;
        let mut seen = HashSet::new();
        let mut outcomes = Vec::with_capacity(records.len());
        for record in records {
            // The same number twice in one batch is refused as a whole.
            if !seen.insert(record.number.as_str()) {
                return Err(StoreError::Conflict);
            }
            let outcome = match existing.get(record.number.as_str()) {
                Some(id) => self.update(id, record).await?,
                None => self.create(record).await?,
            };
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }

    /// The ids of the participants whose numbers the batch names, by number.
    async fn existing_ids(
        &self,
        records: &[ParticipantRecord],
    ) -> Result<HashMap<String, String>, StoreError> {
        let mut ids = HashMap::new();
        for chunk in records.chunks(LOOKUP_CHUNK) {
            let numbers = chunk.iter().map(|r| r.number.as_str().to_owned());
            let rows: Vec<(String, String)> = Entity::find()
                .select_only()
                .column(Column::Number)
                .column(Column::Id)
                .filter(Column::Number.is_in(numbers))
                .into_tuple()
                .all(self.txn)
                .await
                .map_err(error::db)?;
            ids.extend(rows);
        }
        Ok(ids)
    }

    async fn create(&self, record: &ParticipantRecord) -> Result<UpsertOutcome, StoreError> {
        let mut row = contact_and_profile(record)?;
        row.id = Set(ParticipantId::generate().to_string());
        row.number = Set(record.number.as_str().to_owned());
        row.password_hash = Set(record.password_hash.as_ref().map(|h| h.as_str().to_owned()));
        row.created_at = Set(self.now);
        row.updated_at = Set(self.now);
        Entity::insert(row)
            .exec_without_returning(self.txn)
            .await
            .map_err(error::db)?;
        Ok(UpsertOutcome::Created)
    }

    /// Updates profile, contacts and actions; the password only when asked to and when
    /// the record carries one.
    async fn update(
        &self,
        id: &str,
        record: &ParticipantRecord,
    ) -> Result<UpsertOutcome, StoreError> {
        let mut row = contact_and_profile(record)?;
        if let (true, Some(hash)) = (self.replace_passwords, &record.password_hash) {
            row.password_hash = Set(Some(hash.as_str().to_owned()));
        }
        row.updated_at = Set(self.now);
        Entity::update_many()
            .set(row)
            .filter(Column::Id.eq(id))
            .exec(self.txn)
            .await
            .map_err(error::db)?;
        Ok(UpsertOutcome::Updated)
    }
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
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}
