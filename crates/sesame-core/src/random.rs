//! Randomness, behind a trait. Every value here comes from the operating system's CSPRNG.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;

/// A source of cryptographically secure random bytes.
pub trait Random: Send + Sync {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]);

    /// A URL-safe token of `bytes` random bytes (32 bytes = 256 bits).
    fn token(&self, bytes: usize) -> String {
        let mut buf = vec![0u8; bytes];
        self.fill(&mut buf);
        URL_SAFE_NO_PAD.encode(buf)
    }

    /// A uniformly drawn number below `bound`, without modulo bias.
    fn below(&self, bound: u32) -> u32 {
        let zone = u32::MAX - (u32::MAX % bound);
        loop {
            let mut buf = [0u8; 4];
            self.fill(&mut buf);
            let value = u32::from_le_bytes(buf);
            if value < zone {
                return value % bound;
            }
        }
    }
}

/// The operating system's generator, through `rand`'s thread-local CSPRNG.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, buf: &mut [u8]) {
        rand::rng().fill_bytes(buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_distinct_and_url_safe() {
        let a = OsRandom.token(32);
        assert_eq!(a.len(), 43);
        assert_ne!(a, OsRandom.token(32));
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }

    #[test]
    fn below_stays_in_range() {
        assert!((0..1000).all(|_| OsRandom.below(10) < 10));
    }
}
