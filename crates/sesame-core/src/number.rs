//! The cohort number: exactly eight digits, kept as a string (leading zeros matter).

use serde::{Deserialize, Serialize};

/// A participant's cohort number. Its `Debug` hides all but the last two digits, since
/// the number identifies a person in a health study.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CohortNumber(String);

/// The text is not eight ASCII digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a cohort number has exactly 8 digits")]
pub struct InvalidNumber;

impl CohortNumber {
    /// Parses a number typed by a person: spaces around and inside are ignored.
    pub fn parse(text: &str) -> Result<Self, InvalidNumber> {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if sesame_protocol::authorize::is_cohort_number(&compact) {
            Ok(Self(compact))
        } else {
            Err(InvalidNumber)
        }
    }

    /// The eight digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CohortNumber {
    type Error = InvalidNumber;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CohortNumber> for String {
    fn from(value: CohortNumber) -> Self {
        value.0
    }
}

impl std::fmt::Debug for CohortNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CohortNumber(******{})",
            self.0.get(6..).unwrap_or_default()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_eight_digits_only() {
        assert!(CohortNumber::parse("01234567").is_ok());
        assert_eq!(
            CohortNumber::parse(" 0123 4567 ").map(|n| n.0),
            Ok("01234567".into())
        );
        assert!(CohortNumber::parse("1234567").is_err());
        assert!(CohortNumber::parse("123456789").is_err());
        assert!(CohortNumber::parse("1234567a").is_err());
        assert!(CohortNumber::parse("١٢٣٤٥٦٧٨").is_err());
    }

    #[test]
    fn debug_hides_most_digits() {
        let n = CohortNumber::parse("12345678").map(|n| format!("{n:?}"));
        assert_eq!(n, Ok("CohortNumber(******78)".into()));
    }
}
