//! `upsert_batch`: an import batch written inside one transaction.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect,
};
use sesame_core::participant::{ParticipantId, ParticipantRecord};
use sesame_core::store::{StoreError, UpsertOutcome};

use super::contact_and_profile;
use crate::entity::participant::{Column, Entity};
use crate::error;

/// How many numbers one `IN (…)` lookup carries, well under every backend's limit.
const LOOKUP_CHUNK: usize = 500;

/// One `upsert_batch` call inside its transaction.
pub(super) struct Batch<'a> {
    pub(super) txn: &'a DatabaseTransaction,
    pub(super) replace_passwords: bool,
    pub(super) now: DateTime<Utc>,
}

impl Batch<'_> {
    pub(super) async fn run(
        &self,
        records: &[ParticipantRecord],
    ) -> Result<Vec<UpsertOutcome>, StoreError> {
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
