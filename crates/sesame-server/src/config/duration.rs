//! Durations written as `"90s"`, `"10m"`, `"12h"`, `"30d"`.

use chrono::Duration;

/// Parses a duration string.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: i64 = digits.parse().map_err(|_| {
        format!("\"{text}\" is not a duration like \"90s\", \"10m\", \"12h\" or \"30d\"")
    })?;
    let duration = match unit {
        "ms" => Duration::milliseconds(n),
        "s" => Duration::seconds(n),
        "m" => Duration::minutes(n),
        "h" => Duration::hours(n),
        "d" => Duration::days(n),
        _ => return Err(format!("\"{text}\" needs a unit: ms, s, m, h or d")),
    };
    if n == 0 || n > 3650 * 24 * 3600 * 1000 {
        return Err(format!("\"{text}\" is out of range"));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse_duration("90s"), Ok(Duration::seconds(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::minutes(10)));
        assert_eq!(parse_duration("30d"), Ok(Duration::days(30)));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("-5s").is_err());
    }
}
