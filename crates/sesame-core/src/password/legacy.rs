//! Hashes imported from other systems (DESIGN §3 "User import"): bcrypt, PBKDF2-SHA256 as
//! passlib writes it, and Django's PBKDF2-SHA256. Each is verified against the password as
//! typed and replaced by argon2id at the next login. Parsing bounds the work a hash may ask
//! for, so that a hostile import cannot make logins hang.

use base64::Engine;
use base64::alphabet::Alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use sha2::Sha256;
use zeroize::Zeroize;

use super::UnsupportedHash;
use crate::crypto::constant_time_eq;

/// The highest bcrypt cost taken: each step doubles the work, 16 is seconds per login.
pub const MAX_BCRYPT_COST: u32 = 16;
/// The highest PBKDF2 iteration count taken (Django 5 uses about a million).
pub const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
/// The longest PBKDF2 salt taken, in bytes (passlib's own limit).
const MAX_SALT: usize = 1024;
/// A PBKDF2-SHA256 derived key, as both passlib and Django store it.
const KEY_LEN: usize = 32;

const BCRYPT: &str = "bcrypt";
const PASSLIB: &str = "PBKDF2 ($pbkdf2-sha256$)";
const DJANGO: &str = "Django PBKDF2 (pbkdf2_sha256$)";

/// passlib's "adapted base64": the standard alphabet with `.` in place of `+`, no padding.
const AB64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789./";

/// A parsed legacy hash. No `Debug`: it holds the hash.
pub(super) enum Legacy<'a> {
    /// Verified by the `bcrypt` crate from the text, already checked.
    Bcrypt(&'a str),
    /// passlib's or Django's PBKDF2-SHA256, decoded.
    Pbkdf2(Pbkdf2),
}

/// PBKDF2-HMAC-SHA256 with its parameters and the expected key.
pub(super) struct Pbkdf2 {
    rounds: u32,
    salt: Vec<u8>,
    expected: [u8; KEY_LEN],
}

impl Legacy<'_> {
    /// Verifies `password`, as typed, in constant time; false on any failure.
    pub(super) fn verify(&self, password: &[u8]) -> bool {
        match self {
            Self::Bcrypt(text) => bcrypt::verify(password, text).unwrap_or(false),
            Self::Pbkdf2(p) => p.verify(password),
        }
    }
}

impl Pbkdf2 {
    fn verify(&self, password: &[u8]) -> bool {
        let mut key = [0u8; KEY_LEN];
        pbkdf2::pbkdf2_hmac::<Sha256>(password, &self.salt, self.rounds, &mut key);
        let equal = constant_time_eq(&key, &self.expected);
        key.zeroize();
        equal
    }
}

/// `None` when `text` does not start like a legacy hash; otherwise the parsed hash, or why
/// it was refused.
pub(super) fn recognise(text: &str) -> Option<Result<Legacy<'_>, UnsupportedHash>> {
    if ["$2a$", "$2b$", "$2y$"].iter().any(|p| text.starts_with(p)) {
        Some(bcrypt_hash(text))
    } else if let Some(rest) = text.strip_prefix("$pbkdf2-sha256$") {
        Some(passlib_hash(rest).map(Legacy::Pbkdf2))
    } else {
        text.strip_prefix("pbkdf2_sha256$")
            .map(|rest| django_hash(rest).map(Legacy::Pbkdf2))
    }
}

/// `$2b$12$` then 22 characters of salt and 31 of hash, in bcrypt's base64.
fn bcrypt_hash(text: &str) -> Result<Legacy<'_>, UnsupportedHash> {
    let malformed = UnsupportedHash::Malformed { format: BCRYPT };
    if text.len() != 60 || !text.is_ascii() || text.as_bytes().get(6) != Some(&b'$') {
        return Err(malformed);
    }
    let cost = text.get(4..6).and_then(decimal).ok_or(malformed)?;
    if cost < 4 {
        return Err(malformed);
    }
    if cost > u64::from(MAX_BCRYPT_COST) {
        return Err(UnsupportedHash::TooCostly {
            format: BCRYPT,
            limit: "a cost of at most 16",
        });
    }
    text.parse::<bcrypt::HashParts>().map_err(|_| malformed)?;
    Ok(Legacy::Bcrypt(text))
}

/// passlib: `<rounds>$<salt>$<key>`, salt and key in ab64.
fn passlib_hash(rest: &str) -> Result<Pbkdf2, UnsupportedHash> {
    let malformed = UnsupportedHash::Malformed { format: PASSLIB };
    let [rounds, salt, key] = fields(rest).ok_or(malformed)?;
    let rounds = iterations(rounds, PASSLIB)?;
    let ab64 = Alphabet::new(AB64).map_err(|_| malformed)?;
    let config = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true);
    let engine = GeneralPurpose::new(&ab64, config);
    let salt = engine.decode(salt).map_err(|_| malformed)?;
    let key = engine.decode(key).map_err(|_| malformed)?;
    pbkdf2_parts(rounds, salt, &key).ok_or(malformed)
}

/// Django: `<iterations>$<salt>$<key>`, the salt used as text, the key in padded base64.
fn django_hash(rest: &str) -> Result<Pbkdf2, UnsupportedHash> {
    let malformed = UnsupportedHash::Malformed { format: DJANGO };
    let [rounds, salt, key] = fields(rest).ok_or(malformed)?;
    let rounds = iterations(rounds, DJANGO)?;
    if salt.is_empty() {
        return Err(malformed);
    }
    let key = STANDARD.decode(key).map_err(|_| malformed)?;
    pbkdf2_parts(rounds, salt.as_bytes().to_vec(), &key).ok_or(malformed)
}

fn pbkdf2_parts(rounds: u32, salt: Vec<u8>, key: &[u8]) -> Option<Pbkdf2> {
    let expected = <[u8; KEY_LEN]>::try_from(key).ok()?;
    (salt.len() <= MAX_SALT).then_some(Pbkdf2 {
        rounds,
        salt,
        expected,
    })
}

/// Exactly three `$`-separated fields.
fn fields(rest: &str) -> Option<[&str; 3]> {
    let mut parts = rest.split('$');
    let fields = [parts.next()?, parts.next()?, parts.next()?];
    parts.next().is_none().then_some(fields)
}

/// An iteration count: decimal, no sign or leading zero, between 1 and the bound.
fn iterations(text: &str, format: &'static str) -> Result<u32, UnsupportedHash> {
    let malformed = UnsupportedHash::Malformed { format };
    let count = decimal(text).ok_or(malformed)?;
    if count == 0 || text.starts_with('0') {
        return Err(malformed);
    }
    match u32::try_from(count) {
        Ok(count) if count <= MAX_PBKDF2_ITERATIONS => Ok(count),
        _ => Err(UnsupportedHash::TooCostly {
            format,
            limit: "at most 10000000 iterations",
        }),
    }
}

/// ASCII digits only (`u64::from_str` would also take a `+`); too many digits read as the
/// largest number, so that they count as too costly rather than malformed.
fn decimal(text: &str) -> Option<u64> {
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| text.parse().unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::super::{PasswordHash, verify};
    use super::*;
    use crate::secret::SecretString;

    /// Typed with a composed "é" (U+00E9).
    const PASSWORD: &str = "L\u{e9}gacy pass 1!";
    /// The same text with a decomposed "é": NFKC would equate them, verification must not.
    const DECOMPOSED: &str = "Le\u{301}gacy pass 1!";
    /// Python: `pbkdf2_hmac('sha256', PASSWORD, b'sesameDjangoSalt2024AB', 20000)`,
    /// written as Django's `PBKDF2PasswordHasher` writes it.
    const DJANGO_VECTOR: &str = "pbkdf2_sha256$20000$sesameDjangoSalt2024AB$\
                                 QeLZq8YfEO+DxEuJiRz4T2MB/2epPZZ9iIvQTp11rT4=";
    /// Python: `pbkdf2_hmac('sha256', PASSWORD, bytes.fromhex('9f3a1c00ff7e61b2c4d5e6f7\
    /// 08192a3b'), 29000)`, salt and key in ab64 (`.` for `+`), as passlib writes it.
    const PASSLIB_VECTOR: &str = "$pbkdf2-sha256$29000$nzocAP9.YbLE1eb3CBkqOw$\
                                  v4ChaIhVmmxv.EuS8QldFHH7iT4KVdv2/PxEheQQ26o";
    /// libxcrypt's `crypt(3)` (through Python's `crypt`), an implementation apart from the crate.
    const XCRYPT_BCRYPT: &str = "$2b$04$mUjCRf0B81TY3ORfGJ7R9..wdWDjL6z1CxxRHXfZnzGwoyF7uINSG";
    /// libxcrypt again, for "é" 40 times (80 bytes): bcrypt reads the first 72 only.
    const XCRYPT_LONG: &str = "$2b$04$mUjCRf0B81TY3ORfGJ7R9.OXUPc9InIJcDWymT.vpjEX3lJqKB9Oi";
    /// The example of passlib's documentation, for the password "password".
    const PASSLIB_DOC: &str =
        "$pbkdf2-sha256$8000$XAuBMIYQQogxRg$tRRlz8hYn63B9LYiCd6PRo6FMiunY9ozmMMI3srxeRE";

    fn checks(text: &str, password: &str) -> bool {
        PasswordHash::parse(text).is_ok_and(|h| verify(&SecretString::new(password), &h))
    }

    /// A `$2b$` hash made by the crate, its prefix rewritten: `$2a$`, `$2b$` and `$2y$`
    /// hash alike for passwords this short.
    fn bcrypt_vector(prefix: &str) -> String {
        let made = bcrypt::hash(PASSWORD, 4).expect("bcrypt hashes at cost 4");
        made.replacen("$2b$", prefix, 1)
    }

    #[test]
    fn bcrypt_variants_verify_as_typed() {
        for prefix in ["$2a$", "$2b$", "$2y$"] {
            let text = bcrypt_vector(prefix);
            assert!(text.starts_with(prefix));
            assert!(checks(&text, PASSWORD), "{prefix}");
            assert!(!checks(&text, "Legacy pass 1!"), "{prefix}");
            assert!(!checks(&text, DECOMPOSED), "{prefix}");
            assert!(PasswordHash::parse(&text).is_ok_and(|h| h.needs_rehash()));
        }
    }

    #[test]
    fn bcrypt_vectors_of_another_implementation_verify() {
        for prefix in ["$2a$", "$2b$", "$2y$"] {
            let text = XCRYPT_BCRYPT.replacen("$2b$", prefix, 1);
            assert!(checks(&text, PASSWORD), "{prefix}");
            assert!(!checks(&text, DECOMPOSED), "{prefix}");
        }
        assert!(checks(XCRYPT_LONG, &"\u{e9}".repeat(40)));
        assert!(checks(XCRYPT_LONG, &"\u{e9}".repeat(36)));
        assert!(!checks(XCRYPT_LONG, &"\u{e9}".repeat(35)));
    }

    #[test]
    fn django_vector_verifies_as_typed() {
        assert!(checks(DJANGO_VECTOR, PASSWORD));
        assert!(!checks(DJANGO_VECTOR, "wrong password"));
        assert!(!checks(DJANGO_VECTOR, DECOMPOSED));
        assert!(PasswordHash::parse(DJANGO_VECTOR).is_ok_and(|h| h.needs_rehash()));
    }

    #[test]
    fn passlib_vectors_verify_as_typed() {
        assert!(checks(PASSLIB_VECTOR, PASSWORD));
        assert!(!checks(PASSLIB_VECTOR, "wrong password"));
        assert!(!checks(PASSLIB_VECTOR, DECOMPOSED));
        assert!(checks(PASSLIB_DOC, "password"));
        assert!(!checks(PASSLIB_DOC, "Password"));
        assert!(PasswordHash::parse(PASSLIB_VECTOR).is_ok_and(|h| h.needs_rehash()));
    }

    #[test]
    fn malformed_legacy_hashes_are_refused() {
        let bcrypt = bcrypt_vector("$2b$");
        let malformed = [
            "$2b$12$abcdefghijklmnopqrstuv".to_owned(),
            bcrypt.replace("$2b$04$", "$2b$+4$"),
            bcrypt.replace("$2b$04$", "$2b$03$"),
            format!("{bcrypt}x"),
            bcrypt.replacen('$', "\u{e9}", 3),
            DJANGO_VECTOR.replace("$20000$", "$$"),
            DJANGO_VECTOR.replace("$20000$", "$020000$"),
            DJANGO_VECTOR.replace("$20000$", "$0$"),
            DJANGO_VECTOR.replace("$20000$", "$-1$"),
            DJANGO_VECTOR.replace("sesameDjangoSalt2024AB", ""),
            DJANGO_VECTOR.replace("rT4=", "rT4"),
            DJANGO_VECTOR.replace("rT4=", "rT4=$x"),
            DJANGO_VECTOR.replace("QeLZ", "!eLZ"),
            PASSLIB_VECTOR.replace("nzocAP9.", "nzocAP9+"),
            PASSLIB_VECTOR.replace("$v4Ch", "$Ch"),
            "$pbkdf2-sha256$i=1000,l=32$c2FsdA$c2FsdA".to_owned(),
            "pbkdf2_sha256$".to_owned(),
            "$2x$04$......................YgIDy4hFBdVlc/6LHnD9mX488r9cLd2".to_owned(),
        ];
        for text in &malformed {
            assert!(PasswordHash::parse(text).is_err(), "{text}");
            assert!(!verify(
                &SecretString::new(PASSWORD),
                &PasswordHash(text.clone())
            ));
        }
    }

    #[test]
    fn costly_hashes_are_refused_before_any_work() {
        let bcrypt = bcrypt_vector("$2b$");
        let too_costly = [
            bcrypt.replace("$2b$04$", "$2b$17$"),
            bcrypt.replace("$2b$04$", "$2b$31$"),
            DJANGO_VECTOR.replace("$20000$", "$10000001$"),
            PASSLIB_VECTOR.replace("$29000$", "$4000000000$"),
            PASSLIB_VECTOR.replace("$29000$", "$99999999999999999999999$"),
        ];
        for text in &too_costly {
            let refused = PasswordHash::parse(text);
            assert!(
                matches!(refused, Err(UnsupportedHash::TooCostly { .. })),
                "{text}"
            );
            // A stored copy that skipped parsing is refused too, without hashing.
            assert!(!verify(
                &SecretString::new(PASSWORD),
                &PasswordHash(text.clone())
            ));
        }
    }

    #[test]
    fn refusals_name_the_format_and_never_the_hash() {
        let message = PasswordHash::parse(&DJANGO_VECTOR.replace("rT4=", "rT4"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(message.contains("Django"), "{message}");
        let costly = PasswordHash::parse(&DJANGO_VECTOR.replace("$20000$", "$10000001$"));
        let limit = costly.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            limit.contains(&MAX_PBKDF2_ITERATIONS.to_string()),
            "{limit}"
        );
        let costly = PasswordHash::parse(&bcrypt_vector("$2b$").replace("$04$", "$17$"));
        let limit = costly.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(limit.contains(&MAX_BCRYPT_COST.to_string()), "{limit}");
        assert!(!message.contains("QeLZ"), "{message}");
    }
}
