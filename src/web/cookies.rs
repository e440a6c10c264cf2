//! The browser session's cookies: their names and attributes, set and cleared in one place.
//!
//! Login sets three cookies, all `Path=/` (the guard on every page needs the refresh cookie to
//! reissue the access cookie) and all with the same `Secure` and `SameSite` attributes:
//!
//! | cookie | holds | `HttpOnly` | `Max-Age` |
//! |---|---|---|---|
//! | `jwtapp_access` | the access JWT | yes | the access token's remaining lifetime |
//! | `jwtapp_refresh` | the refresh JWT | yes | the refresh token's remaining lifetime |
//! | `jwtapp_csrf` | the session's CSRF token | no: a same-origin script sends it back as `X-CSRF-Token` | as the refresh cookie |
//!
//! The login page adds a fourth, `jwtapp_login`, binding the login form's pre-session CSRF token
//! to the browser. It is no session cookie: login and logout leave it alone.
//! With `cookie_secure` (the default) every name carries the `__Host-` prefix, which browsers
//! accept only from a secure origin, with `Secure`, `Path=/` and no `Domain`.

use std::sync::Arc;

use rocket::http::{Cookie, CookieJar, SameSite};
use rocket::time::{Duration, OffsetDateTime};

use crate::auth::{Clock, Minted, Reissued};

/// How long a login form stays usable, in seconds.
const LOGIN_FORM_LIFETIME: i64 = 24 * 3600;

/// Names and attributes of the auth cookies, from the configuration.
#[derive(Clone)]
pub struct CookiePolicy {
    secure: bool,
    same_site: SameSite,
    access: String,
    refresh: String,
    csrf: String,
    login: String,
    /// Cookie lifetimes are what is left of their token's: counted by the application's clock.
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for CookiePolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CookiePolicy")
            .field("secure", &self.secure)
            .field("same_site", &self.same_site)
            .finish_non_exhaustive()
    }
}

/// The session cookies a request carried (values only; nothing here is verified yet).
#[derive(Debug, Clone, Copy, Default)]
pub struct SessionCookies<'r> {
    pub access: Option<&'r str>,
    pub refresh: Option<&'r str>,
}

impl SessionCookies<'_> {
    pub fn is_empty(&self) -> bool {
        self.access.is_none() && self.refresh.is_none()
    }
}

impl CookiePolicy {
    /// `secure`: the `Secure` attribute and the `__Host-` name prefix.
    pub fn new(secure: bool, same_site: SameSite, clock: Arc<dyn Clock>) -> CookiePolicy {
        let prefix = if secure { "__Host-" } else { "" };
        CookiePolicy {
            secure,
            same_site,
            clock,
            access: format!("{prefix}jwtapp_access"),
            refresh: format!("{prefix}jwtapp_refresh"),
            csrf: format!("{prefix}jwtapp_csrf"),
            login: format!("{prefix}jwtapp_login"),
        }
    }

    /// The refresh cookie's name (for the API document).
    pub fn refresh_name(&self) -> &str {
        &self.refresh
    }

    /// `Max-Age` for a token expiring at `expires_at`: its remaining lifetime, never more.
    fn until(&self, expires_at: u64) -> Duration {
        let left = expires_at.saturating_sub(self.clock.now());
        Duration::seconds(i64::try_from(left).unwrap_or(i64::MAX))
    }

    /// The access and refresh cookies of a request.
    pub fn session<'r>(&self, jar: &'r CookieJar<'_>) -> SessionCookies<'r> {
        SessionCookies {
            access: value(jar, &self.access),
            refresh: value(jar, &self.refresh),
        }
    }

    /// The login form's nonce, if the browser has one.
    pub fn login_nonce<'r>(&self, jar: &'r CookieJar<'_>) -> Option<&'r str> {
        value(jar, &self.login)
    }

    /// Sets the cookies of a new login, replacing whatever the browser had.
    pub fn set_session(
        &self,
        jar: &CookieJar<'_>,
        access: &Minted,
        refresh: &Minted,
        csrf_token: &str,
    ) {
        self.set_access(jar, access);
        self.set_refresh(jar, refresh);
        jar.add(self.build(
            &self.csrf,
            csrf_token.to_owned(),
            false,
            self.until(refresh.expires_at),
        ));
    }

    /// Replaces the access cookie with a freshly minted token.
    pub fn set_access(&self, jar: &CookieJar<'_>, access: &Minted) {
        jar.add(self.build(
            &self.access,
            access.token.clone(),
            true,
            self.until(access.expires_at),
        ));
    }

    /// Replaces the refresh cookie with the family's rotated refresh token.
    pub fn set_refresh(&self, jar: &CookieJar<'_>, refresh: &Minted) {
        jar.add(self.build(
            &self.refresh,
            refresh.token.clone(),
            true,
            self.until(refresh.expires_at),
        ));
    }

    /// Sets the tokens a refresh minted: the access cookie, and the refresh cookie when the
    /// family rotated.
    pub fn set_reissued(&self, jar: &CookieJar<'_>, tokens: &Reissued) {
        self.set_access(jar, &tokens.access);
        if let Some(refresh) = &tokens.refresh {
            self.set_refresh(jar, refresh);
        }
    }

    /// Deletes every cookie a login set, whether or not the request sent them: each removal
    /// repeats the name, path and attributes the cookie was set with. The login form's nonce
    /// stays, so a login form open in another tab still works.
    pub fn clear_session(&self, jar: &CookieJar<'_>) {
        for (name, http_only) in [
            (&self.access, true),
            (&self.refresh, true),
            (&self.csrf, false),
        ] {
            let mut cookie = self.build(name, String::new(), http_only, Duration::ZERO);
            cookie.set_expires(OffsetDateTime::UNIX_EPOCH);
            jar.add(cookie);
        }
    }

    /// Sets the login form's nonce cookie.
    pub fn set_login_nonce(&self, jar: &CookieJar<'_>, nonce: &str) {
        jar.add(self.build(
            &self.login,
            nonce.to_owned(),
            true,
            Duration::seconds(LOGIN_FORM_LIFETIME),
        ));
    }

    /// Every attribute explicit: Rocket's defaults (`SameSite=Strict`, no `HttpOnly`, `Secure`
    /// only under its own TLS) are not what a session cookie needs.
    fn build(
        &self,
        name: &str,
        value: String,
        http_only: bool,
        max_age: Duration,
    ) -> Cookie<'static> {
        Cookie::build((name.to_owned(), value))
            .path("/")
            .http_only(http_only)
            .secure(self.secure)
            .same_site(self.same_site)
            .max_age(max_age)
            .build()
    }
}

/// A cookie's value; an empty one counts as absent.
fn value<'r>(jar: &'r CookieJar<'_>, name: &str) -> Option<&'r str> {
    jar.get(name)
        .map(|cookie| cookie.value())
        .filter(|value| !value.is_empty())
}
