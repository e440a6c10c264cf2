//! Cross-site request forgery protection for cookie-authenticated writes.
//!
//! A browser attaches cookies to requests any site can make, so a cookie-authenticated request
//! with an unsafe method must also prove it came from our own pages:
//!
//! - **Fetch metadata and `Origin`.** A request whose `Sec-Fetch-Site` is anything but
//!   `same-origin` or `none`, or whose `Origin` is not this server's, is refused outright.
//! - **A token bound to the session.** Forms carry it in a hidden `csrf_token` field; scripts
//!   send it as `X-CSRF-Token` (it is readable from the `jwtapp_csrf` cookie and the pages'
//!   `<meta name="csrf-token">`). It is an HMAC of the session id, so it needs no storage and
//!   a token of one login is worthless for another.
//! - **The login form** carries a pre-session token: an HMAC of a random nonce kept in the
//!   `jwtapp_login` cookie, so a foreign site cannot log a victim into the attacker's account.
//!
//! Requests authenticated by an `Authorization` header need none of this: a browser never
//! attaches that header on its own.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use rocket::request::Request;
use secrecy::{ExposeSecret, SecretSlice};
use sha2::Sha256;

use super::error::AppError;
use super::origin::is_cross_site;
use super::routing::{is_api, is_unsafe};
use super::state::managed;

type HmacSha256 = Hmac<Sha256>;

/// Random bytes in a login form's nonce.
const NONCE_BYTES: usize = 16;

/// The header a script sends the session's CSRF token in.
pub const HEADER: &str = "X-CSRF-Token";

/// The message of a refused form: the same whatever the exact reason.
const REFUSED: &str = "The request did not come from this site's own pages, or its form has \
                       expired: go back, reload the page and try again";

/// The message of a refused API call made with the session cookies.
const REFUSED_API: &str = "a request authenticated by the session cookies must come from this \
                           site and carry the session's CSRF token (the jwtapp_csrf cookie) in \
                           X-CSRF-Token; or authenticate with an Authorization: Bearer token";

/// Makes and checks CSRF tokens. Managed by Rocket.
pub struct Csrf {
    /// HMAC keyed with the CSRF key, cloned for each token.
    mac: HmacSha256,
}

// The key is a secret: never in logs.
impl std::fmt::Debug for Csrf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Csrf([redacted])")
    }
}

impl Csrf {
    /// Derives the CSRF key from the signing secret, so that neither can be computed from the other.
    pub fn new(secret: &SecretSlice<u8>) -> Result<Csrf, hmac::digest::InvalidLength> {
        let mut derive = HmacSha256::new_from_slice(secret.expose_secret())?;
        derive.update(b"jwtapp csrf key v1");
        let key = derive.finalize().into_bytes();
        Ok(Csrf {
            mac: HmacSha256::new_from_slice(&key)?,
        })
    }

    /// The token of the login `session_id`.
    pub fn session_token(&self, session_id: &str) -> String {
        self.token("session", session_id)
    }

    /// The token of a login form whose browser holds `nonce`.
    pub fn login_token(&self, nonce: &str) -> String {
        self.token("login", nonce)
    }

    /// A fresh nonce for a login form.
    pub fn new_nonce() -> String {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::fill(&mut nonce[..]);
        URL_SAFE_NO_PAD.encode(nonce)
    }

    /// Whether a cookie value has the shape of a nonce we made (anything else is replaced).
    pub fn is_nonce(value: &str) -> bool {
        URL_SAFE_NO_PAD
            .decode(value)
            .is_ok_and(|bytes| bytes.len() == NONCE_BYTES)
    }

    /// Accepts `presented` only as the token of the login `session_id` (compared in constant time).
    pub fn check_session(&self, session_id: &str, presented: &str) -> Result<(), AppError> {
        self.check("session", session_id, presented)
    }

    /// The check for the login form: the browser holds a nonce, and `presented` is its token.
    pub fn check_login(&self, nonce: Option<&str>, presented: &str) -> Result<(), AppError> {
        match nonce {
            Some(nonce) if Csrf::is_nonce(nonce) => self.check("login", nonce, presented),
            _ => Err(refused()),
        }
    }

    fn mac(&self, purpose: &str, subject: &str) -> HmacSha256 {
        let mut mac = self.mac.clone();
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(subject.as_bytes());
        mac
    }

    fn token(&self, purpose: &str, subject: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(purpose, subject).finalize().into_bytes())
    }

    fn check(&self, purpose: &str, subject: &str, presented: &str) -> Result<(), AppError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(presented.trim())
            .map_err(|_| refused())?;
        self.mac(purpose, subject)
            .verify_slice(&bytes)
            .map_err(|_| refused())
    }
}

/// The refusal of a page request (a form, a logout): a 403 page that says what to do.
pub fn refused() -> AppError {
    AppError::Csrf(REFUSED)
}

/// The refusal of an API call, which says how to make one that passes.
fn refused_api() -> AppError {
    AppError::Csrf(REFUSED_API)
}

/// The checks for a cookie-authenticated request to the login `session_id`, made by the guards
/// before any handler runs: unsafe methods must be same-origin, and API calls must also carry
/// the session's token in [`HEADER`] (page forms carry it in their body, see [`SessionForm`]).
pub fn check_cookie_request(req: &Request<'_>, session_id: &str) -> Result<(), AppError> {
    if !is_unsafe(req.method()) {
        return Ok(());
    }
    let api = is_api(req);
    let refusal = if api { refused_api } else { refused };
    if is_cross_site(req) {
        return Err(refusal());
    }
    if api {
        let presented = req.headers().get_one(HEADER).unwrap_or("");
        managed::<Csrf>(req)?
            .check_session(session_id, presented)
            .map_err(|_| refusal())?;
    }
    Ok(())
}
