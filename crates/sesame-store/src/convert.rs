//! Conversions between domain values and their stored form.

use chrono::{DateTime, Timelike, Utc};
use serde_json::Value;
use sesame_core::store::StoreError;
use uuid::Uuid;

/// Cuts a timestamp to the microsecond, the precision PostgreSQL keeps, so that SQLite
/// stores the same instant and both read back what they were given.
pub(crate) fn instant(at: DateTime<Utc>) -> DateTime<Utc> {
    let micros = at.nanosecond() / 1_000 * 1_000;
    at.with_nanosecond(micros).unwrap_or(at)
}

/// Serialises a list or a document for a text column.
pub(crate) fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|_| StoreError::Corrupt("unserialisable value".into()))
}

/// Reads a list or a document from a text column; `column` names it in the error.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    text: &str,
    column: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|_| corrupt(column))
}

/// Reads a UUID from a text column.
pub(crate) fn uuid(text: &str, column: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|_| corrupt(column))
}

/// Reads a serde-named enum (`"snake_case"` names) from a text column.
pub(crate) fn named<T: serde::de::DeserializeOwned>(
    text: &str,
    column: &str,
) -> Result<T, StoreError> {
    serde_json::from_value(Value::String(text.to_owned())).map_err(|_| corrupt(column))
}

/// The stored name of a serde-named enum.
pub(crate) fn name_of<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    match serde_json::to_value(value) {
        Ok(Value::String(name)) => Ok(name),
        _ => Err(StoreError::Corrupt("a value has no stored name".into())),
    }
}

/// The error for an unreadable value in `column`.
pub(crate) fn corrupt(column: &str) -> StoreError {
    StoreError::Corrupt(format!("unreadable value in {column}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn instants_keep_microseconds() {
        let at = Utc.timestamp_opt(1_700_000_000, 123_456_789).single();
        let cut = at.map(instant).map(|t| t.nanosecond());
        assert_eq!(cut, Some(123_456_000));
    }

    #[test]
    fn names_round_trip() {
        let name = name_of(&sesame_core::client::ApplicationType::Native);
        assert_eq!(name, Ok("native".to_owned()));
        let back = named::<sesame_core::client::ApplicationType>("native", "t.c");
        assert_eq!(back, Ok(sesame_core::client::ApplicationType::Native));
        assert!(named::<sesame_core::client::ApplicationType>("nope", "t.c").is_err());
    }
}
