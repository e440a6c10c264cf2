//! Minting and verifying JWTs: the only place in jwtapp that encodes or decodes a token.
//!
//! Verification is a pure function of the token, the keys and the time it is given. (Tokens
//! already verified are remembered by [`VerifiedTokens`](super::verified::VerifiedTokens), in
//! front of this.)

use std::collections::HashMap;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::keys::{KeyError, KeyRing, validate_kid};

/// Tokens longer than this are refused before any parsing: ours are a few hundred bytes.
pub const MAX_TOKEN_LEN: usize = 4096;

/// Longest lifetime any token may have: ten years, far below where `i64`/`u64` arithmetic could
/// overflow. No configuration mints a token that lives longer.
pub const MAX_TTL_SECS: u64 = 10 * 365 * 24 * 3600;

/// Lifetime of a step token: the time to type a code after the password.
pub const STEP_TTL_SECS: u64 = 300;

/// Which job a token does. A token of one kind is never accepted where another belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    Access,
    Refresh,
    /// The second step of a login with a second factor: the password was right, a code is due.
    /// It grants nothing by itself, and completes one login at most.
    Step,
}

/// The claims of every jwtapp token. Each field is required: a token missing one does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The username.
    pub sub: String,
    pub iat: u64,
    pub nbf: u64,
    pub exp: u64,
    /// Random, unique per token.
    pub jti: String,
    pub typ: TokenType,
    pub iss: String,
    pub aud: String,
    /// The login (session) this token belongs to; shared by all tokens of one login.
    pub sid: String,
    /// Access tokens: when the user last entered their password in this login (OpenID
    /// Connect's claim). Sensitive actions need it to be recent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<u64>,
}

/// Why a token was refused. All of these are a 401 to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token signature is invalid")]
    BadSignature,
    #[error("the token algorithm is not accepted")]
    BadAlgorithm,
    /// No `kid`, a malformed one, or one naming no configured key (perhaps a removed one).
    #[error("the token was signed with an unknown key")]
    UnknownKey,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was issued for another issuer or audience")]
    WrongIssuerOrAudience,
    #[error("the token lacks a required claim or has one of the wrong type")]
    BadClaims,
    #[error("an access token is required")]
    NotAnAccessToken,
    #[error("a refresh token is required")]
    NotARefreshToken,
    #[error("the sign-in step has expired or is not valid; sign in again")]
    NotAStepToken,
}

/// A freshly signed token and when it expires (what a cookie's `Max-Age` is bounded by).
#[derive(Clone, PartialEq, Eq)]
pub struct Minted {
    pub token: String,
    /// Seconds since the Unix epoch; the token's `exp`.
    pub expires_at: u64,
}

// Tokens are credentials: never in logs.
impl fmt::Debug for Minted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Minted")
            .field("token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// What tokens say about themselves: who issues them, for whom, for how long.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    pub issuer: String,
    pub audience: String,
    /// Clock skew allowed on `exp`, `nbf` and `iat`.
    pub leeway_secs: u64,
    pub access_ttl_secs: u64,
    pub refresh_ttl_secs: u64,
}

/// One key that verifies tokens, with the one algorithm it accepts.
struct Verifier {
    algorithm: Algorithm,
    key: DecodingKey,
    validation: Validation,
}

/// A configured key as the CLI and logs show it: no material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    pub kid: String,
    pub algorithm: Algorithm,
    /// True for the one key that signs new tokens.
    pub active: bool,
}

/// The signing key, every verification key and the verification rules, built once.
pub struct TokenKeys {
    /// `kid` and algorithm of the key that signs.
    active_kid: String,
    active_algorithm: Algorithm,
    encoding: EncodingKey,
    /// Every key that verifies, the active one included, by `kid`.
    verifiers: HashMap<String, Verifier>,
    listing: Vec<KeyInfo>,
    jwks: JwkSet,
    settings: TokenSettings,
}

impl fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenKeys")
            .field("keys", &self.listing)
            .field("settings", &self.settings)
            .finish()
    }
}

/// Random bytes as URL-safe base64, for token ids and session ids.
pub fn random_id(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::fill(&mut buf[..]);
    URL_SAFE_NO_PAD.encode(buf)
}

impl TokenKeys {
    /// Builds the keys from a loaded key ring.
    pub fn new(ring: &KeyRing, settings: TokenSettings) -> Result<TokenKeys, KeyError> {
        let mut verifiers = HashMap::new();
        for key in ring.keys() {
            let verifier = Verifier {
                algorithm: key.algorithm(),
                key: key.decoding_key()?,
                validation: validation(key.algorithm(), &settings),
            };
            verifiers.insert(key.kid.clone(), verifier);
        }
        let encoding = ring
            .active
            .encoding_key()?
            .ok_or_else(|| KeyError::Missing {
                setting: ring.active.setting.clone(),
            })?;
        Ok(TokenKeys {
            active_kid: ring.active.kid.clone(),
            active_algorithm: ring.active.algorithm(),
            encoding,
            verifiers,
            listing: ring
                .keys()
                .map(|key| KeyInfo {
                    kid: key.kid.clone(),
                    algorithm: key.algorithm(),
                    active: key.kid == ring.active.kid,
                })
                .collect(),
            jwks: ring.jwks()?,
            settings,
        })
    }

    /// The `kid` that new tokens carry.
    pub fn active_key_id(&self) -> &str {
        &self.active_kid
    }

    /// Every configured key, the active one first.
    pub fn key_infos(&self) -> &[KeyInfo] {
        &self.listing
    }

    /// The public keys as a JWK Set: the Ed25519 ones; secrets never.
    pub fn jwks(&self) -> &JwkSet {
        &self.jwks
    }

    /// Seconds a token still verifies past its `exp` (`leeway_secs`).
    pub fn leeway_secs(&self) -> u64 {
        self.settings.leeway_secs
    }

    /// Lifetime of a token of this type, in seconds.
    pub fn ttl(&self, typ: TokenType) -> u64 {
        match typ {
            TokenType::Access => self.settings.access_ttl_secs,
            TokenType::Refresh => self.settings.refresh_ttl_secs,
            TokenType::Step => STEP_TTL_SECS,
        }
    }

    /// Signs a token for `username` in login `sid` with id `jti`, valid from `issued_at` until
    /// `min(issued_at + ttl, not_after)`. The same inputs give the same token, which is how a
    /// refresh token's successor is handed out again within the grace window.
    pub fn mint(
        &self,
        typ: TokenType,
        username: &str,
        sid: &str,
        jti: &str,
        issued_at: u64,
        not_after: u64,
    ) -> Result<Minted, jsonwebtoken::errors::Error> {
        self.mint_with(typ, username, sid, jti, issued_at, not_after, None)
    }

    /// [`mint`](Self::mint), with an `auth_time` claim (access tokens).
    #[allow(clippy::too_many_arguments)]
    pub fn mint_with(
        &self,
        typ: TokenType,
        username: &str,
        sid: &str,
        jti: &str,
        issued_at: u64,
        not_after: u64,
        auth_time: Option<u64>,
    ) -> Result<Minted, jsonwebtoken::errors::Error> {
        let claims = Claims {
            sub: username.to_owned(),
            iat: issued_at,
            nbf: issued_at,
            exp: (issued_at + self.ttl(typ)).min(not_after),
            jti: jti.to_owned(),
            typ,
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
            sid: sid.to_owned(),
            auth_time,
        };
        // `Header::new` adds `typ: "JWT"`; HS256 and Ed25519 signatures are deterministic, so the
        // same inputs still give the same token.
        let mut header = Header::new(self.active_algorithm);
        header.kid = Some(self.active_kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.encoding)?;
        Ok(Minted {
            token,
            expires_at: claims.exp,
        })
    }

    /// Checks key, signature, algorithm, every claim (against `now`) and the token type. Says
    /// nothing about whether the session is still active or the user still enabled: that is
    /// the caller's next step.
    ///
    /// The key is chosen by the header's `kid` alone, among the configured keys, and the token's
    /// `alg` must be that key's algorithm. `jku`, `x5u`, `jwk` and `x5c` are never looked at, so
    /// a token can neither bring its own key nor make the server fetch one.
    pub fn verify(&self, token: &str, expected: TokenType, now: u64) -> Result<Claims, TokenError> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        // A compact JWT is base64url and dots.
        if !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'='))
        {
            return Err(TokenError::Malformed);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        let verifier = header
            .kid
            .as_deref()
            .filter(|kid| validate_kid(kid).is_ok())
            .and_then(|kid| self.verifiers.get(kid))
            .ok_or(TokenError::UnknownKey)?;
        // One algorithm per key: a public Ed25519 key is never used as an HMAC secret.
        if header.alg != verifier.algorithm {
            return Err(TokenError::BadAlgorithm);
        }
        let data = jsonwebtoken::decode::<Claims>(token, &verifier.key, &verifier.validation)
            .map_err(|e| map_error(e.kind()))?;
        self.check_claims(&data.claims, expected, now)?;
        Ok(data.claims)
    }

    /// The checks that depend on the clock or on where the token is used, made against `now`
    /// (the application's clock: jsonwebtoken's own reading of the system time is switched off).
    /// Done on every use, also of a token verified before.
    pub fn check_claims(
        &self,
        claims: &Claims,
        expected: TokenType,
        now: u64,
    ) -> Result<(), TokenError> {
        let leeway = self.settings.leeway_secs;
        if claims.exp < now.saturating_sub(leeway) {
            return Err(TokenError::Expired);
        }
        // jsonwebtoken never looks at `iat`: a token "issued" in the future was not issued by us.
        if claims.nbf > now + leeway || claims.iat > now + leeway {
            return Err(TokenError::NotYetValid);
        }
        // An `exp` beyond what any configuration mints (up to u64::MAX) was not set by us, and
        // must not reach code that converts it to a date or an i64.
        if claims.exp.saturating_sub(claims.iat) > MAX_TTL_SECS {
            return Err(TokenError::BadClaims);
        }
        if claims.typ != expected {
            return Err(match expected {
                TokenType::Access => TokenError::NotAnAccessToken,
                TokenType::Refresh => TokenError::NotARefreshToken,
                TokenType::Step => TokenError::NotAStepToken,
            });
        }
        Ok(())
    }
}

/// The claim checks every key shares, for a key of `algorithm`: every claim we rely on is
/// required, the issuer and audience are ours. `exp` and `nbf` are checked by
/// [`TokenKeys::check_claims`] against the application's clock.
fn validation(algorithm: Algorithm, settings: &TokenSettings) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.set_required_spec_claims(&["exp", "nbf", "sub", "iss", "aud"]);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = true;
    validation.set_issuer(&[&settings.issuer]);
    validation.set_audience(&[&settings.audience]);
    validation
}

fn map_error(kind: &ErrorKind) -> TokenError {
    match kind {
        ErrorKind::InvalidSignature => TokenError::BadSignature,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::MissingAlgorithm => TokenError::BadAlgorithm,
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidIssuer | ErrorKind::InvalidAudience => TokenError::WrongIssuerOrAudience,
        ErrorKind::MissingRequiredClaim(_)
        | ErrorKind::InvalidClaimFormat(_)
        | ErrorKind::Json(_) => TokenError::BadClaims,
        _ => TokenError::Malformed,
    }
}
