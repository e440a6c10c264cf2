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
use rocket::data::{self, Data, FromData};
use rocket::fairing::{Fairing, Info, Kind};
use rocket::form::FromForm;
use rocket::http::Method;
use rocket::request::{FromRequest, Outcome, Request};
use sha2::Sha256;

use crate::auth::guards::{Authenticated, Via, authenticated};
use crate::auth::tokens::random_id;
use crate::body::{outcome, parse_form, read_form_text};
use crate::cookies::CookiePolicy;
use crate::error::{AppError, managed};
use crate::headers::Cors;

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
    pub fn new(secret: &[u8]) -> Result<Csrf, hmac::digest::InvalidLength> {
        let mut derive = HmacSha256::new_from_slice(secret)?;
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
        random_id(NONCE_BYTES)
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

    /// The check for a form posted by `who`: the session's token, unless the request was
    /// authenticated by an `Authorization` header, which no other site can make a browser send.
    pub fn check_form(&self, who: &Authenticated, presented: &str) -> Result<(), AppError> {
        match who.via {
            Via::Bearer => Ok(()),
            Via::Cookies => self.check_session(&who.principal.session_id, presented),
        }
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

/// Methods that may change state.
pub fn is_unsafe(method: Method) -> bool {
    !matches!(
        method,
        Method::Get | Method::Head | Method::Options | Method::Trace
    )
}

/// The origin browsers see this site at, as writes from our own pages carry it in `Origin`.
/// Managed by Rocket.
#[derive(Debug, Clone)]
pub struct Site {
    /// `public_origin`, normalised, when configured.
    public_origin: Option<(String, String)>,
    /// Otherwise the scheme our pages are served with: https with `cookie_secure`, else http.
    scheme: &'static str,
}

/// `scheme://host[:port]` as `(scheme, host[:port])`, lower-cased and without the scheme's
/// default port (browsers leave it out of `Origin`; a proxy may spell it out in `Host`).
/// `None` for anything else, `null` included.
fn normalize_origin(origin: &str) -> Option<(String, String)> {
    let (scheme, authority) = origin.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => ":443",
        "http" => ":80",
        _ => return None,
    };
    let authority = authority.to_ascii_lowercase();
    let authority = authority
        .strip_suffix(default_port)
        .unwrap_or(&authority)
        .to_owned();
    if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
        return None;
    }
    Some((scheme, authority))
}

impl Site {
    /// From `public_origin` (already validated) and `cookie_secure`.
    pub fn new(public_origin: Option<&str>, cookie_secure: bool) -> Site {
        Site {
            public_origin: public_origin.and_then(normalize_origin),
            scheme: if cookie_secure { "https" } else { "http" },
        }
    }

    /// True when `origin` is this site: exactly `public_origin` when set, else the expected
    /// scheme with the request's `Host`.
    pub fn is_own_origin(&self, origin: &str, req: &Request<'_>) -> bool {
        let Some(origin) = normalize_origin(origin) else {
            return false;
        };
        if let Some(public) = &self.public_origin {
            return origin == *public;
        }
        let Some(host) = request_host(req) else {
            return false;
        };
        let expected = format!("{}://{host}", self.scheme);
        normalize_origin(&expected).is_some_and(|own| own == origin)
    }
}

/// The host the request was sent to. Rocket fills `host()` from the Host header (HTTP/1) or the
/// authority (HTTP/2). A request without either (HTTP/1.0, test clients) is taken to be for the
/// configured address. Behind a reverse proxy, the proxy must pass the original `Host` on.
fn request_host(req: &Request<'_>) -> Option<String> {
    req.host()
        .map(|host| host.to_string())
        .or_else(|| req.headers().get_one("Host").map(str::to_owned))
        .or_else(|| {
            let config = req.rocket().config();
            Some(format!("{}:{}", config.address, config.port))
        })
}

/// True when the browser says the request was made by another site: `Sec-Fetch-Site` is
/// anything but `same-origin` or `none` (a user's own navigation), or `Origin` is not this site
/// (see [`Site::is_own_origin`]; `Origin: null` included). Either is enough to refuse.
pub fn is_cross_site(req: &Request<'_>) -> bool {
    if let Some(site) = req.headers().get_one("Sec-Fetch-Site")
        && !matches!(site, "same-origin" | "none")
    {
        return true;
    }
    let Some(origin) = req.headers().get_one("Origin") else {
        return false;
    };
    !req.rocket()
        .state::<Site>()
        .is_some_and(|site| site.is_own_origin(origin, req))
}

/// The message of a refused JSON login from a foreign page.
const FOREIGN_LOGIN: &str = "a browser may call the login API only from this site or an origin \
                             listed in cors_origins";

/// The JSON login's cross-site check. A page on any site can make its visitors' browsers post to
/// `/api/auth/login`, and every failure would count against the visitor's address: enough of
/// them lock the visitor out. So a browser's request must come from this site or an allowed
/// origin (`cors_origins`, such as the original Angular client): an `Origin` that is neither
/// (`null` included), or, without `Origin`, `Sec-Fetch-Site: cross-site` or `same-site`, is
/// refused with 403 before anything is counted. Requests with neither header are not made by a
/// browser (curl, servers, mobile apps) and pass.
pub struct BrowserLogin;

fn check_browser_login(req: &Request<'_>) -> Result<(), AppError> {
    let foreign = || Err(AppError::Forbidden(FOREIGN_LOGIN.into()));
    match req.headers().get_one("Origin") {
        Some(origin) => {
            let own = managed::<Site>(req)?.is_own_origin(origin, req);
            let allowed = managed::<Cors>(req)?.allows(origin);
            if own || allowed { Ok(()) } else { foreign() }
        }
        None => match req.headers().get_one("Sec-Fetch-Site") {
            Some("cross-site" | "same-site") => foreign(),
            _ => Ok(()),
        },
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for BrowserLogin {
    type Error = AppError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, AppError> {
        match check_browser_login(req) {
            Ok(()) => Outcome::Success(BrowserLogin),
            Err(e) => e.fail(req),
        }
    }
}

/// Rocket turns a form `POST` whose body starts with `_method=...` into that method before
/// routing. A method that changes nothing (GET, HEAD, OPTIONS, TRACE) would let a cross-site
/// form skip every check made of writes, so such a request is refused with 400; any other
/// override is an unsafe method and is checked like the POST it came as.
pub struct MethodOverride;

#[rocket::async_trait]
impl Fairing for MethodOverride {
    fn info(&self) -> Info {
        Info {
            name: "Refuse _method overrides to safe methods",
            kind: Kind::Request,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, data: &mut Data<'_>) {
        let overridden = req.method() != Method::Post
            && req.content_type().is_some_and(|ct| ct.is_form())
            && data.peek(b"_method=".len()).await.starts_with(b"_method=");
        if overridden && !is_unsafe(req.method()) {
            let error = AppError::BadRequest(format!(
                "a form posted with _method={} is refused: send a real {} request instead",
                req.method(),
                req.method()
            ));
            error.remember(req);
            // No route answers CONNECT, so no handler runs and the catcher reports the error
            // remembered above.
            req.set_method(Method::Connect);
        }
    }
}

/// Where a request came from, for handlers that decide themselves (see `POST /logout`).
pub struct RequestSite {
    pub cross_site: bool,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for RequestSite {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(RequestSite {
            cross_site: is_cross_site(req),
        })
    }
}

/// The refusal of a page request (a form, a logout): a 403 page that says what to do.
pub fn refused() -> AppError {
    AppError::CsrfRejected(REFUSED.into())
}

/// The refusal of an API call, which says how to make one that passes.
fn refused_api() -> AppError {
    AppError::CsrfRejected(REFUSED_API.into())
}

/// The checks for a cookie-authenticated request to the login `session_id`, made by the guards
/// before any handler runs: unsafe methods must be same-origin, and API calls must also carry
/// the session's token in [`HEADER`] (page forms carry it in their body, see [`SessionForm`]).
pub fn check_cookie_request(req: &Request<'_>, session_id: &str) -> Result<(), AppError> {
    if !is_unsafe(req.method()) {
        return Ok(());
    }
    let api = crate::headers::is_api(req);
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

/// The `csrf_token` field of a form body (empty when there is none).
fn form_token(body: &str) -> String {
    #[derive(FromForm)]
    struct Token {
        csrf_token: Option<String>,
    }
    parse_form::<Token>(body)
        .ok()
        .and_then(|t| t.csrf_token)
        .unwrap_or_default()
}

/// A form posted by a signed-in user from one of our pages. Its `csrf_token` field is checked
/// against the session the request guard authenticated, before any other field is looked at;
/// then the body is parsed into `T`. Requests authenticated by an `Authorization` header need
/// no token.
pub struct SessionForm<T>(pub T);

#[rocket::async_trait]
impl<'r, T> FromData<'r> for SessionForm<T>
where
    T: for<'a> FromForm<'a> + Send + 'static,
{
    type Error = AppError;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        let checked = async {
            let body = read_form_text(req, data).await?;
            // The request guard has run (data guards run last), so this is its cached result.
            let who = authenticated(req).await?;
            managed::<Csrf>(req)?.check_form(&who, &form_token(&body))?;
            parse_form(&body)
        };
        outcome(req, checked.await.map(SessionForm))
    }
}

/// The login form: same-origin, with the pre-session token matching the browser's nonce cookie.
pub struct LoginForm<T>(pub T);

#[rocket::async_trait]
impl<'r, T> FromData<'r> for LoginForm<T>
where
    T: for<'a> FromForm<'a> + Send + 'static,
{
    type Error = AppError;

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        let checked = async {
            if is_cross_site(req) {
                return Err(refused());
            }
            let body = read_form_text(req, data).await?;
            let nonce = managed::<CookiePolicy>(req)?.login_nonce(req.cookies());
            managed::<Csrf>(req)?.check_login(nonce, &form_token(&body))?;
            parse_form(&body)
        };
        outcome(req, checked.await.map(LoginForm))
    }
}
