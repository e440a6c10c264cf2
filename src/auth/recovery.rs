//! Recovery codes: ten single-use codes shown once when the second factor is turned on, each
//! usable instead of a TOTP code (a lost phone). Stored as SHA-256 hashes: a code carries about 50
//! random bits, which no one guesses offline from its hash, and which the login throttle keeps
//! anyone from guessing online.

use sha2::{Digest, Sha256};

/// Codes made at a time.
pub const COUNT: usize = 10;
/// Characters of a code, without the dash: 10 of 31 symbols, about 50 bits.
const LENGTH: usize = 10;
/// Lower-case letters and digits without the ones people confuse (0/o, 1/l/i).
const ALPHABET: &[u8; 31] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// One symbol, uniformly: bytes past the largest multiple of 31 are drawn again.
fn symbol() -> char {
    loop {
        let byte: u8 = rand::random();
        if usize::from(byte) < ALPHABET.len() * 8 {
            return char::from(ALPHABET[usize::from(byte) % ALPHABET.len()]);
        }
    }
}

/// New codes, as the user is shown them: `abcde-fghjk`.
pub fn generate() -> Vec<String> {
    (0..COUNT)
        .map(|_| {
            let chars: String = (0..LENGTH).map(|_| symbol()).collect();
            format!("{}-{}", &chars[..5], &chars[5..])
        })
        .collect()
}

/// The code as stored: what the user typed, in lower case, without dashes and spaces, hashed.
pub fn hash(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    let digest = Sha256::digest(normal.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `code` could be a recovery code at all (before any lookup).
pub fn looks_like_recovery_code(code: &str) -> bool {
    let significant = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .count();
    significant == LENGTH && code.len() <= 32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_hash_the_way_they_are_typed() {
        let codes = generate();
        assert_eq!(codes.len(), COUNT);
        let unique: std::collections::BTreeSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), COUNT);
        for code in &codes {
            assert_eq!(code.len(), 11);
            assert!(looks_like_recovery_code(code));
            assert_eq!(hash(code), hash(&code.to_uppercase().replace('-', " ")));
        }
        assert_ne!(hash(&codes[0]), hash(&codes[1]));
        assert!(!looks_like_recovery_code("123456"));
    }
}
