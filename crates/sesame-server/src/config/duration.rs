//! Durations written as `"90s"`, `"10m"`, `"12h"`, `"30d"` (and `"500ms"`).

use chrono::Duration;

/// The longest duration accepted anywhere: ten years.
const MAX_SECONDS: i64 = 3650 * 86_400;

/// Parses a duration string; zero, negative and over-long values are refused.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let shape =
        || format!("\"{text}\" is not a duration like \"90s\", \"10m\", \"12h\" or \"30d\"");
    let out_of_range = || format!("\"{text}\" is out of range (1ms to 3650d)");
    let n: i64 = digits.parse().map_err(|_| shape())?;
    let millis = match unit {
        "ms" => Some(n),
        "s" => n.checked_mul(1_000),
        "m" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        "d" => n.checked_mul(86_400_000),
        _ => return Err(format!("\"{text}\" needs a unit: ms, s, m, h or d")),
    };
    match millis {
        Some(ms) if ms > 0 && ms <= MAX_SECONDS * 1_000 => Ok(Duration::milliseconds(ms)),
        _ => Err(out_of_range()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse_duration("90s"), Ok(Duration::seconds(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::minutes(10)));
        assert_eq!(parse_duration("30d"), Ok(Duration::days(30)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::milliseconds(250)));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("-5s").is_err());
    }

    #[test]
    fn huge_values_are_refused_not_panicking() {
        assert!(parse_duration("99999999999999d").is_err());
        assert!(parse_duration("100000000d").is_err());
        assert!(parse_duration("99999999999999999999999s").is_err());
        assert!(parse_duration("3650d").is_ok());
        assert!(parse_duration("3651d").is_err());
    }
}
