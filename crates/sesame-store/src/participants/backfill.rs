//! `require_for_all`: one required action added to every participant, batch by batch
//! inside one transaction.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use sesame_core::participant::RequiredAction;
use sesame_core::store::StoreError;

use crate::convert::{from_json, to_json};
use crate::entity::participant::{Column, Entity};
use crate::error;

/// How many participants one batch reads and rewrites.
const BATCH: u64 = 500;

/// Adds `action` to every participant whose list lacks it; returns how many changed.
///
/// Batches walk the table by id. Rows whose list already names the action are left out in
/// SQL (the names are stored as JSON strings, so the quoted name is enough to tell), and
/// every row read is checked again once parsed. The rows read are locked (`FOR UPDATE` on
/// PostgreSQL; SQLite's transaction holds the write lock), so none changes between being
/// read and being rewritten.
pub(super) async fn require_for_all(
    txn: &DatabaseTransaction,
    action: RequiredAction,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let quoted = format!("%{}%", to_json(&action)?);
    let mut after = None;
    let mut changed = 0;
    loop {
        let rows = lacking(txn, &quoted, after.as_deref()).await?;
        let Some((last, _)) = rows.last() else {
            return Ok(changed);
        };
        after = Some(last.clone());
        let full = rows.len() as u64 == BATCH;
        changed += rewrite(txn, add_to_each(rows, action)?, now).await?;
        if !full {
            return Ok(changed);
        }
    }
}

/// The next batch of `(id, required_actions)` after the id `after` whose text does not
/// match `quoted`, locked for the rest of the transaction.
async fn lacking(
    txn: &DatabaseTransaction,
    quoted: &str,
    after: Option<&str>,
) -> Result<Vec<(String, String)>, StoreError> {
    let mut query = Entity::find()
        .select_only()
        .column(Column::Id)
        .column(Column::RequiredActions)
        .filter(Column::RequiredActions.not_like(quoted));
    if let Some(after) = after {
        query = query.filter(Column::Id.gt(after));
    }
    query
        .order_by_asc(Column::Id)
        .limit(BATCH)
        .lock_exclusive()
        .into_tuple()
        .all(txn)
        .await
        .map_err(error::db)
}

/// Groups the rows that lack `action` by their new list (sorted in the enum's order,
/// without duplicates), so that one statement rewrites each group.
fn add_to_each(
    rows: Vec<(String, String)>,
    action: RequiredAction,
) -> Result<BTreeMap<String, Vec<String>>, StoreError> {
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (id, text) in rows {
        let mut actions: Vec<RequiredAction> = from_json(&text, "participants.required_actions")?;
        if actions.contains(&action) {
            continue;
        }
        actions.push(action);
        actions.sort_unstable();
        actions.dedup();
        groups.entry(to_json(&actions)?).or_default().push(id);
    }
    Ok(groups)
}

/// Writes each new list on its ids; returns how many rows changed.
async fn rewrite(
    txn: &DatabaseTransaction,
    groups: BTreeMap<String, Vec<String>>,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let mut changed = 0;
    for (actions, ids) in groups {
        let result = Entity::update_many()
            .col_expr(Column::RequiredActions, Expr::value(actions))
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .filter(Column::Id.is_in(ids))
            .exec(txn)
            .await
            .map_err(error::db)?;
        changed += result.rows_affected;
    }
    Ok(changed)
}
