//! Requests as a particular client sends them: from an address of its own, naming its browser in
//! `User-Agent`, so a test can tell which client an event was recorded for.

use std::net::SocketAddr;

use rocket::http::{ContentType, Header, Status};
use rocket::local::asynchronous::LocalRequest;
use serde_json::json;

use crate::support::{
    Browser, Reply, TestApp, Tokens, address, csrf_field, form_encode, with_bearer,
};

/// Chrome 156 on Linux, as the example names it.
pub const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                          Chrome/156.0.0.0 Safari/537.36";
pub const CHROME_DEVICE: &str = "Chrome 156 on Linux";
pub const FIREFOX: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:142.0) Gecko/20100101 Firefox/142.0";
pub const FIREFOX_DEVICE: &str = "Firefox 142 on Windows 10";

/// One client: its address (192.0.2.N) and its user agent.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub address: SocketAddr,
    pub agent: &'static str,
}

impl Caller {
    /// The client at 192.0.2.`last` with this user agent.
    pub fn new(last: u8, agent: &'static str) -> Caller {
        Caller {
            address: address(last),
            agent,
        }
    }

    /// `request`, sent from this client.
    pub fn on<'c>(&self, request: LocalRequest<'c>) -> LocalRequest<'c> {
        request
            .remote(self.address)
            .header(Header::new("User-Agent", self.agent))
    }

    pub async fn get(&self, app: &TestApp, path: &str, bearer: Option<&str>) -> Reply {
        app.send(with_bearer(
            self.on(app.client.get(path.to_owned())),
            bearer,
        ))
        .await
    }

    pub async fn post(&self, app: &TestApp, path: &str, bearer: Option<&str>, body: &str) -> Reply {
        let request = app
            .client
            .post(path.to_owned())
            .header(ContentType::JSON)
            .body(body);
        app.send(with_bearer(self.on(request), bearer)).await
    }

    pub async fn delete(&self, app: &TestApp, path: &str, bearer: Option<&str>) -> Reply {
        app.send(with_bearer(
            self.on(app.client.delete(path.to_owned())),
            bearer,
        ))
        .await
    }

    /// `POST /api/auth/login` from this client.
    pub async fn try_login(&self, app: &TestApp, username: &str, password: &str) -> Reply {
        let body = json!({"username": username, "password": password}).to_string();
        self.post(app, "/api/auth/login", None, &body).await
    }

    /// A login from this client that must succeed.
    pub async fn login(&self, app: &TestApp, username: &str, password: &str) -> Tokens {
        let reply = self.try_login(app, username, password).await;
        assert_eq!(
            reply.status,
            Status::Ok,
            "login as {username}: {}",
            reply.body
        );
        let body = reply.json();
        Tokens {
            access: body["accessToken"].as_str().expect("accessToken").into(),
            refresh: body["refreshToken"].as_str().expect("refreshToken").into(),
        }
    }
}

/// A browser on the pages ([`Browser`], which keeps cookies) that sends every request from one
/// [`Caller`].
pub struct Visitor<'a> {
    pub browser: Browser<'a>,
    pub caller: Caller,
}

impl<'a> Visitor<'a> {
    pub fn new(app: &'a TestApp, caller: Caller) -> Visitor<'a> {
        Visitor {
            browser: Browser::new(app),
            caller,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        let request = self.browser.app.client.get(path.to_owned());
        self.browser.send(self.caller.on(request)).await
    }

    /// Opens `page` and posts its form (with the page's CSRF token) to `action`.
    pub async fn submit(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> Reply {
        let shown = self.get(page).await;
        assert_eq!(shown.status, Status::Ok, "{page}: {}", shown.body);
        let token = csrf_field(&shown.body);
        let mut all = fields.to_vec();
        all.push(("csrf_token", token.as_str()));
        let request = self
            .browser
            .app
            .client
            .post(action.to_owned())
            .header(ContentType::Form)
            .body(form_encode(&all));
        self.browser.send(self.caller.on(request)).await
    }

    /// The login form, filled in and sent; the answer to the POST.
    pub async fn try_sign_in(&self, username: &str, password: &str) -> Reply {
        self.submit(
            "/login",
            "/login",
            &[("username", username), ("password", password)],
        )
        .await
    }

    /// Signs in and asserts it worked.
    pub async fn sign_in(&self, username: &str, password: &str) {
        let reply = self.try_sign_in(username, password).await;
        assert_eq!(
            reply.status,
            Status::SeeOther,
            "sign in as {username}: {}",
            reply.body
        );
    }

    /// An action on the users page, as the administrator signed in here.
    pub async fn administer(&self, username: &str, action: &str) -> Reply {
        let reply = self
            .submit(
                "/admin/users",
                "/admin/users",
                &[("username", username), ("action", action)],
            )
            .await;
        assert_eq!(
            reply.status,
            Status::Ok,
            "{action} {username}: {}",
            reply.body
        );
        reply
    }

    /// The session id of the browser's login, from its access cookie (debug profile names).
    pub fn session_id(&self) -> String {
        let access = self
            .browser
            .cookie("jwtapp_access")
            .expect("an access cookie: signed in");
        crate::support::claims_of(&access)["sid"]
            .as_str()
            .expect("sid")
            .to_owned()
    }
}
