//! Time-based one-time passwords (RFC 6238) as authenticator apps make them: SHA-1, 6 digits,
//! 30-second steps, one step of drift either way. Checking a code says which step it belongs
//! to, so the caller can accept each code once.

use totp_rs::{Algorithm, Builder, Secret, Totp};

/// Digits of a code.
pub const DIGITS: usize = 6;
/// Seconds of a time step.
pub const STEP_SECS: u64 = 30;
/// Bytes of a new secret: 160 bits, what RFC 4226 recommends.
const SECRET_BYTES: usize = 20;

/// A TOTP secret, in the clear: only ever in memory, sealed before it is stored.
pub struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret([redacted])")
    }
}

impl TotpSecret {
    /// A new random secret.
    pub fn generate() -> TotpSecret {
        let mut bytes = vec![0u8; SECRET_BYTES];
        rand::fill(&mut bytes[..]);
        TotpSecret(bytes)
    }

    pub fn from_bytes(bytes: Vec<u8>) -> TotpSecret {
        TotpSecret(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The secret as people type it into an authenticator app: base32, no padding.
    pub fn base32(&self) -> String {
        Secret::from(self.0.clone()).to_base32()
    }

    fn totp(&self, issuer: &str, account: &str) -> Option<Totp> {
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(DIGITS as u8)
            .with_skew(1)
            .with_step_duration(STEP_SECS)
            .with_secret(self.0.clone())
            // The otpauth label separates issuer and account with ':'; neither may hold one.
            .with_issuer(Some(issuer.replace(':', " ")))
            .with_account_name(account.replace(':', " "))
            .build()
            .ok()
    }

    /// The `otpauth://totp/...` URI authenticator apps read from a QR code.
    pub fn uri(&self, issuer: &str, account: &str) -> Option<String> {
        self.totp(issuer, account)?.to_url().ok()
    }

    /// The time step of `code` at `now` (the current step, or one either side), or `None`.
    /// Anything but exactly six ASCII digits is no code.
    pub fn check(&self, code: &str, now: u64) -> Option<i64> {
        if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let step = self.totp("jwtapp", "user")?.check(code, now)?;
        i64::try_from(step).ok()
    }

    /// The code of the step `now` falls in (for tests and examples; the server never needs it).
    pub fn code_at(&self, now: u64) -> Option<String> {
        Some(self.totp("jwtapp", "user")?.generate(now).to_string())
    }
}

/// Whether `code` has the shape of a TOTP code (six digits, spaces ignored), rather than a
/// recovery code.
pub fn looks_like_totp(code: &str) -> bool {
    let digits: Vec<u8> = code.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits.len() == DIGITS && digits.iter().all(u8::is_ascii_digit)
}

/// A code as typed, without the spaces apps show in the middle ("123 456").
pub fn normalize(code: &str) -> String {
    code.chars().filter(|c| !c.is_whitespace()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_sha1_vector() {
        // RFC 6238, appendix B: the secret "12345678901234567890", 8 digits: 94287082 at 59 s;
        // six digits are its last six.
        let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
        assert_eq!(secret.code_at(59).as_deref(), Some("287082"));
        assert_eq!(secret.check("287082", 59), Some(1));
        // One step later is still accepted (drift), two are not.
        assert_eq!(secret.check("287082", 89), Some(1));
        assert_eq!(secret.check("287082", 120), None);
        assert_eq!(secret.check(" 287082", 59), None);
        assert_eq!(secret.check("28708", 59), None);
    }

    #[test]
    fn uris_name_the_issuer_and_account() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
        let uri = secret.uri("jwtapp", "alice").unwrap_or_default();
        assert!(uri.starts_with("otpauth://totp/jwtapp:alice?"), "{uri}");
        assert!(
            uri.contains("secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
            "{uri}"
        );
        assert!(secret.uri("a:b", "c:d").is_some());
    }
}
