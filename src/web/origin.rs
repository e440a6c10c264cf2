//! Where a request comes from: this site's own pages, an allowed origin, or another site.
//!
//! Browsers say so in `Origin` and `Sec-Fetch-Site`. A request that another site's page made a
//! browser send must not be able to change anything, nor count against anyone's login budget.

use rocket::request::{FromRequest, Outcome, Request};

use super::cors::Cors;
use super::error::AppError;
use super::failure::fail;
use super::state::managed;

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
    let (Ok(fetch_site), Ok(origin)) = (single(req, "Sec-Fetch-Site"), single(req, "Origin"))
    else {
        // Browsers send each once; anything else is not a browser we can vouch for.
        return true;
    };
    if let Some(site) = fetch_site
        && !(site.eq_ignore_ascii_case("same-origin") || site.eq_ignore_ascii_case("none"))
    {
        return true;
    }
    let Some(origin) = origin else {
        return false;
    };
    !req.rocket()
        .state::<Site>()
        .is_some_and(|site| site.is_own_origin(origin, req))
}

/// The one value of a header that may appear at most once; `Err` when it appears more often.
fn single<'r>(req: &'r Request<'_>, name: &str) -> Result<Option<&'r str>, ()> {
    let mut values = req.headers().get(name);
    let first = values.next();
    match values.next() {
        Some(_) => Err(()),
        None => Ok(first),
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
    let (Ok(fetch_site), Ok(origin)) = (single(req, "Sec-Fetch-Site"), single(req, "Origin"))
    else {
        return foreign();
    };
    match origin {
        Some(origin) => {
            let own = managed::<Site>(req)?.is_own_origin(origin, req);
            let allowed = managed::<Cors>(req)?.allows(origin);
            if own || allowed { Ok(()) } else { foreign() }
        }
        None => match fetch_site {
            Some(site)
                if site.eq_ignore_ascii_case("cross-site")
                    || site.eq_ignore_ascii_case("same-site") =>
            {
                foreign()
            }
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
            Err(e) => fail(req, e),
        }
    }
}
