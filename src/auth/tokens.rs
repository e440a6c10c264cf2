//! Minting and verifying JWTs. The only place in jwtapp that encodes or decodes a token.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::AuthConfig;

/// Tokens longer than this are refused before any parsing: ours are a few hundred bytes.
pub const MAX_TOKEN_LEN: usize = 4096;

/// Which job a token does. A token of one kind is never accepted where the other belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    Access,
    Refresh,
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

/// Signing key and verification rules, built once from the configuration.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    leeway: u64,
    access_ttl: u64,
    refresh_ttl: u64,
}

impl fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenKeys")
            .field("algorithm", &"HS256")
            .field("key", &"[redacted]")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
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
    /// Builds the keys from `secret` (already checked by the configuration) and the `auth` settings.
    pub fn new(
        secret: &[u8],
        config: &AuthConfig,
    ) -> Result<TokenKeys, jsonwebtoken::errors::Error> {
        let mut validation = Validation::new(Algorithm::HS256);
        // jsonwebtoken checks only `exp` unless told otherwise; every claim we rely on is required.
        validation.set_required_spec_claims(&["exp", "nbf", "sub", "iss", "aud"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.leeway = config.leeway_secs;
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        Ok(TokenKeys {
            encoding: EncodingKey::from_secret(secret)?,
            decoding: DecodingKey::from_secret(secret)?,
            validation,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            leeway: config.leeway_secs,
            access_ttl: config.access_ttl_secs,
            refresh_ttl: config.refresh_ttl_secs,
        })
    }

    /// Lifetime of a token of this type, in seconds.
    pub fn ttl(&self, typ: TokenType) -> u64 {
        match typ {
            TokenType::Access => self.access_ttl,
            TokenType::Refresh => self.refresh_ttl,
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
        let claims = Claims {
            sub: username.to_owned(),
            iat: issued_at,
            nbf: issued_at,
            exp: (issued_at + self.ttl(typ)).min(not_after),
            jti: jti.to_owned(),
            typ,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sid: sid.to_owned(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok(Minted {
            token,
            expires_at: claims.exp,
        })
    }

    /// Checks signature, algorithm, every claim and the token type. Says nothing about whether the
    /// session is still live or the user still enabled: that is the caller's next step.
    pub fn verify(&self, token: &str, expected: TokenType, now: u64) -> Result<Claims, TokenError> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| map_error(e.kind()))?;
        let claims = data.claims;
        // jsonwebtoken never looks at `iat`: a token "issued" in the future was not issued by us.
        if claims.iat > now + self.leeway {
            return Err(TokenError::NotYetValid);
        }
        if claims.typ != expected {
            return Err(match expected {
                TokenType::Access => TokenError::NotAnAccessToken,
                TokenType::Refresh => TokenError::NotARefreshToken,
            });
        }
        Ok(claims)
    }
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
