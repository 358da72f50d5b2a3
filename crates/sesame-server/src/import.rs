//! `sesame user import FILE`: participants from JSON Lines (DESIGN §3 "User import").
//! Lines are checked one by one; good lines are committed in batches of 1000; a bad line
//! is reported with its number and nothing of it is written.

use std::collections::HashMap;
use std::io::BufRead;

use serde::Deserialize;
use sesame_core::participant::{ParticipantRecord, Profile, RequiredAction};
use sesame_core::password::PasswordHash;
use sesame_core::service::PasswordHasher;
use sesame_core::store::{ParticipantStore, UpsertOutcome};
use sesame_core::{CohortNumber, SecretString};

/// How an import treats existing and new participants.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Also replace the passwords of participants that exist.
    pub replace_passwords: bool,
    /// Actions given to every participant the import creates (`policy.actions.for_new_users`).
    pub new_actions: Vec<RequiredAction>,
}

/// Lines per transaction.
pub const BATCH: usize = 1000;

/// One line of the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    number: serde_json::Value,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: bool,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    phone_verified: bool,
    /// Kept untyped so that a wrong type is reported without echoing the value.
    #[serde(default)]
    password: Option<serde_json::Value>,
    #[serde(default)]
    password_hash: Option<serde_json::Value>,
    #[serde(default)]
    required_actions: Vec<String>,
    #[serde(default)]
    given_name: Option<String>,
    #[serde(default)]
    family_name: Option<String>,
    #[serde(default)]
    locale: Option<String>,
}

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub created: usize,
    pub updated: usize,
    /// `(line number, reason)` of each refused line.
    pub refused: Vec<(usize, String)>,
}

/// Checks a line and turns it into a record; the password, if plain, is hashed later.
/// The longest line taken: far more than any participant needs.
const MAX_LINE: usize = 16 * 1024;

fn decode_line(bytes: Vec<u8>) -> Result<String, String> {
    if bytes.len() > MAX_LINE {
        return Err(format!("line longer than {MAX_LINE} bytes"));
    }
    let mut text = String::from_utf8(bytes).map_err(|_| "not valid UTF-8".to_owned())?;
    if text.ends_with('\r') {
        text.pop();
    }
    Ok(text)
}

fn parse_line(text: &str) -> Result<(ParticipantRecord, Option<SecretString>), String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|_| "not valid JSON".to_owned())?;
    if !value.is_object() {
        return Err("each line must be a JSON object".into());
    }
    let line: Line = serde_json::from_value(value).map_err(|e| {
        format!(
            "not a valid participant: {}",
            strip_position(&e.to_string())
        )
    })?;
    check_profile(&line)?;
    let number = match &line.number {
        serde_json::Value::String(s) => {
            CohortNumber::parse(s).map_err(|_| "number must be 8 digits".to_owned())?
        }
        _ => return Err("number must be a string of 8 digits (leading zeros matter)".into()),
    };
    let email = line
        .email
        .map(|e| e.trim().to_owned())
        .filter(|e| !e.is_empty());
    if email.as_deref().is_some_and(|e| !plausible_email(e)) {
        return Err("email is not a valid address".into());
    }
    let phone = line.phone.as_deref().map(normalize_phone).transpose()?;
    let actions = line
        .required_actions
        .iter()
        .map(|a| RequiredAction::parse(a).ok_or_else(|| format!("unknown required action {a}")))
        .collect::<Result<Vec<_>, _>>()?;
    let password = secret_text(line.password, "password")?;
    let password_hash = secret_text(line.password_hash, "password_hash")?;
    let (password_hash, plain) = match (password, password_hash) {
        (Some(_), Some(_)) => return Err("give password or password_hash, not both".into()),
        (Some(plain), None) if plain.expose().is_empty() => return Err("password is empty".into()),
        (Some(plain), None) => (None, Some(plain)),
        (None, Some(hash)) => (Some(parse_hash(hash.expose())?), None),
        (None, None) => (None, None),
    };
    let mut required_actions = actions;
    required_actions.sort();
    required_actions.dedup();
    let record = ParticipantRecord {
        number,
        email_verified: line.email_verified && email.is_some(),
        email,
        phone_verified: line.phone_verified && phone.is_some(),
        phone,
        profile: Profile {
            given_name: line.given_name,
            family_name: line.family_name,
            locale: line.locale,
        },
        password_hash,
        required_actions,
    };
    Ok((record, plain))
}

/// A secret field's text; a value of another type is refused without being shown.
fn secret_text(
    value: Option<serde_json::Value>,
    name: &str,
) -> Result<Option<SecretString>, String> {
    match value {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(text)) => Ok(Some(SecretString::new(text))),
        Some(_) => Err(format!("{name} must be a string")),
    }
}

/// Names and locale: bounded, and the locale shaped like a language tag.
fn check_profile(line: &Line) -> Result<(), String> {
    for (name, value) in [
        ("given_name", &line.given_name),
        ("family_name", &line.family_name),
    ] {
        if value
            .as_ref()
            .is_some_and(|v| v.chars().count() > 200 || v.chars().any(char::is_control))
        {
            return Err(format!(
                "{name} is longer than 200 characters or has control characters"
            ));
        }
    }
    let tag = |t: &str| {
        t.len() <= 35
            && t.split('-')
                .all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
    };
    if line.locale.as_deref().is_some_and(|l| !tag(l)) {
        return Err("locale is not a language tag like fr or fr-FR".into());
    }
    Ok(())
}

fn strip_position(message: &str) -> String {
    message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_owned()
}

/// A stored hash to take as is: argon2, or a legacy format replaced at the next login. The
/// reason never quotes the hash.
fn parse_hash(hash: &str) -> Result<PasswordHash, String> {
    PasswordHash::parse(hash).map_err(|why| format!("password_hash: {why}"))
}

fn plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    email.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && !domain.contains('@')
}

/// E.164 as given, or a French national number (`06 12 34 56 78`) as `+33…`.
pub fn normalize_phone(text: &str) -> Result<String, String> {
    let compact: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')'))
        .collect();
    let digits_only = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if let Some(rest) = compact.strip_prefix('+') {
        if digits_only(rest) && (8..=15).contains(&rest.len()) && !rest.starts_with('0') {
            return Ok(compact);
        }
    } else if compact.len() == 10
        && compact.starts_with('0')
        && digits_only(&compact)
        && !compact.starts_with("00")
    {
        return Ok(format!("+33{}", &compact[1..]));
    }
    Err("phone is neither E.164 (+33612345678) nor a French national number (0612345678)".into())
}

/// Reads `input` and writes participants in batches. `report` gets each refused line.
pub async fn run(
    input: impl BufRead,
    store: &dyn ParticipantStore,
    hasher: &dyn PasswordHasher,
    options: &Options,
    now: chrono::DateTime<chrono::Utc>,
) -> std::io::Result<Summary> {
    let mut summary = Summary::default();
    let mut batch: Vec<(usize, ParticipantRecord)> = Vec::with_capacity(BATCH);
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (index, line) in input.split(b'\n').enumerate() {
        let number = index + 1;
        let bytes = line?;
        let text = match decode_line(bytes) {
            Ok(text) => text,
            Err(why) => {
                summary.refused.push((number, why));
                continue;
            }
        };
        if text.trim().is_empty() {
            continue;
        }
        match parse_line(&text) {
            Ok((record, plain)) => {
                if let Some(first) = seen.get(record.number.as_str()) {
                    summary
                        .refused
                        .push((number, format!("number already given on line {first}")));
                    continue;
                }
                let record = match hash_plain(record, plain, hasher).await {
                    Ok(r) => r,
                    Err(why) => {
                        summary.refused.push((number, why));
                        continue;
                    }
                };
                seen.insert(record.number.as_str().to_owned(), number);
                batch.push((number, record));
            }
            Err(why) => summary.refused.push((number, why)),
        }
        if batch.len() == BATCH {
            flush(&mut batch, store, options, now, &mut summary).await;
        }
    }
    flush(&mut batch, store, options, now, &mut summary).await;
    summary.refused.sort();
    Ok(summary)
}

async fn hash_plain(
    mut record: ParticipantRecord,
    plain: Option<SecretString>,
    hasher: &dyn PasswordHasher,
) -> Result<ParticipantRecord, String> {
    if let Some(password) = plain {
        record.password_hash = Some(
            hasher
                .hash(password)
                .await
                .ok_or("password could not be hashed")?,
        );
    }
    Ok(record)
}

/// Commits a batch; if the database refuses it, every line of it is reported.
async fn flush(
    batch: &mut Vec<(usize, ParticipantRecord)>,
    store: &dyn ParticipantStore,
    options: &Options,
    now: chrono::DateTime<chrono::Utc>,
    summary: &mut Summary,
) {
    if batch.is_empty() {
        return;
    }
    let records: Vec<ParticipantRecord> = batch.iter().map(|(_, r)| r.clone()).collect();
    match store
        .upsert_batch(&records, options.replace_passwords, now)
        .await
    {
        Ok(outcomes) => {
            for (outcome, record) in outcomes.into_iter().zip(&records) {
                match outcome {
                    UpsertOutcome::Created => {
                        summary.created += 1;
                        give_new_actions(store, record, &options.new_actions, now).await;
                    }
                    UpsertOutcome::Updated => summary.updated += 1,
                }
            }
        }
        Err(error) => {
            tracing::error!(%error, lines = batch.len(), "import batch refused by the database");
            for (line, _) in batch.iter() {
                summary.refused.push((
                    *line,
                    format!("not written: the database refused its batch ({error})"),
                ));
            }
        }
    }
    batch.clear();
}

/// Adds `policy.actions.for_new_users` to a participant the import just created.
async fn give_new_actions(
    store: &dyn ParticipantStore,
    record: &ParticipantRecord,
    new: &[RequiredAction],
    now: chrono::DateTime<chrono::Utc>,
) {
    if new.is_empty() {
        return;
    }
    let mut actions: Vec<RequiredAction> =
        record.required_actions.iter().chain(new).copied().collect();
    actions.sort();
    actions.dedup();
    let result = match store.by_number(&record.number).await {
        Ok(Some(p)) => store.set_required_actions(p.id, &actions, now).await,
        Ok(None) => Ok(()),
        Err(error) => Err(error),
    };
    if let Err(error) = result {
        tracing::error!(%error, "actions for new participants not stored");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_must_be_strings_of_eight_digits() {
        assert!(parse_line(r#"{"number": 12345678}"#).is_err_and(|e| e.contains("string")));
        assert!(parse_line(r#"{"number": "1234567"}"#).is_err());
        assert!(parse_line(r#"{"number": "01234567"}"#).is_ok());
    }

    #[test]
    fn unknown_fields_and_double_passwords_are_refused() {
        assert!(
            parse_line(r#"{"number": "01234567", "nmae": "x"}"#).is_err_and(|e| e.contains("nmae"))
        );
        let both = r#"{"number": "01234567", "password": "x", "password_hash": "y"}"#;
        assert!(parse_line(both).is_err_and(|e| e.contains("not both")));
    }

    #[test]
    fn errors_never_echo_the_password() {
        let line = r#"{"number": "01234567", "password": 12}"#;
        assert!(parse_line(line).is_err_and(|e| !e.contains("12")));
    }

    fn hash_line(hash: &str) -> String {
        serde_json::json!({ "number": "01234567", "password_hash": hash }).to_string()
    }

    fn imported_hash(hash: &str) -> Result<PasswordHash, String> {
        parse_line(&hash_line(hash))?
            .0
            .password_hash
            .ok_or_else(|| "no hash kept".to_owned())
    }

    #[test]
    fn every_accepted_hash_format_is_taken_and_verifies() {
        let password = SecretString::new("L\u{e9}gacy pass 1!");
        // bcrypt from libxcrypt's crypt(3); PBKDF2 from Python's hashlib.pbkdf2_hmac, written
        // as passlib and Django write it.
        let bcrypt = "$2b$04$mUjCRf0B81TY3ORfGJ7R9..wdWDjL6z1CxxRHXfZnzGwoyF7uINSG";
        let argon2 = sesame_core::password::hash(&password).expect("argon2 hashes");
        let hashes = [
            argon2.as_str().to_owned(),
            bcrypt.to_owned(),
            bcrypt.replacen("$2b$", "$2a$", 1),
            bcrypt.replacen("$2b$", "$2y$", 1),
            "$pbkdf2-sha256$29000$nzocAP9.YbLE1eb3CBkqOw$\
             v4ChaIhVmmxv.EuS8QldFHH7iT4KVdv2/PxEheQQ26o"
                .to_owned(),
            "pbkdf2_sha256$20000$sesameDjangoSalt2024AB$\
             QeLZq8YfEO+DxEuJiRz4T2MB/2epPZZ9iIvQTp11rT4="
                .to_owned(),
        ];
        for (index, text) in hashes.iter().enumerate() {
            let hash = imported_hash(text);
            assert!(
                hash.as_ref().is_ok_and(|h| h.as_str() == text),
                "{index}: {hash:?}"
            );
            let hash = hash.unwrap();
            assert!(sesame_core::password::verify(&password, &hash), "{index}");
            // Only the argon2id hash, first, is kept at the next login.
            assert_eq!(hash.needs_rehash(), index > 0, "{index}");
        }
    }

    #[test]
    fn refused_hashes_say_why_without_echoing_them() {
        let unknown = imported_hash("$scrypt$ln=16,r=8,p=1$c2FsdA$aGFzaA").unwrap_err();
        assert!(unknown.contains("accepted") && !unknown.contains("c2FsdA"));
        for format in [
            "argon2",
            "$2a$",
            "$2b$",
            "$2y$",
            "$pbkdf2-sha256$",
            "pbkdf2_sha256$",
        ] {
            assert!(unknown.contains(format), "{format} missing from: {unknown}");
        }
        let short = imported_hash("$2b$12$abcdefghijklmnopqrstuv").unwrap_err();
        assert!(short.contains("malformed bcrypt") && !short.contains("abcdef"));
        let key = "QeLZq8YfEO+DxEuJiRz4T2MB/2epPZZ9iIvQTp11rT4=";
        let costly = imported_hash(&format!("pbkdf2_sha256$999999999$salt${key}")).unwrap_err();
        assert!(costly.contains("too costly") && !costly.contains("999999999"));
    }

    #[test]
    fn phones_are_normalised() {
        assert_eq!(normalize_phone("06 12 34 56 78"), Ok("+33612345678".into()));
        assert_eq!(normalize_phone("+262692123456"), Ok("+262692123456".into()));
        assert!(normalize_phone("12").is_err());
        assert!(normalize_phone("+0612").is_err());
    }

    #[test]
    fn emails_are_checked() {
        assert!(plausible_email("a@b.fr"));
        assert!(!plausible_email("a@b"));
        assert!(!plausible_email("a b@c.fr"));
        assert!(!plausible_email("@c.fr"));
    }

    #[test]
    fn actions_are_named_and_sorted() {
        let line =
            r#"{"number": "01234567", "required_actions": ["register-phone", "update-password"]}"#;
        let actions = parse_line(line).map(|(r, _)| r.required_actions);
        assert_eq!(
            actions,
            Ok(vec![
                RequiredAction::UpdatePassword,
                RequiredAction::RegisterPhone
            ])
        );
        assert!(parse_line(r#"{"number": "01234567", "required_actions": ["fly"]}"#).is_err());
    }
}
