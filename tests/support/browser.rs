//! A client of the pages that keeps cookies the way a browser does, and the form helpers it uses.

use std::collections::BTreeMap;
use std::sync::Mutex;

use rocket::http::{ContentType, Cookie, Status};
use rocket::local::asynchronous::LocalRequest;

use super::{Reply, TestApp};

/// A client that keeps cookies the way a browser does: it stores what `Set-Cookie` sets,
/// forgets what it deletes, and sends the rest with every request.
pub struct Browser<'a> {
    pub app: &'a TestApp,
    jar: Mutex<BTreeMap<String, String>>,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Browser<'a> {
        Browser {
            app,
            jar: Default::default(),
        }
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar.lock().expect("jar").get(name).cloned()
    }

    pub fn set(&self, name: &str, value: &str) {
        self.jar
            .lock()
            .expect("jar")
            .insert(name.to_owned(), value.to_owned());
    }

    pub fn remove(&self, name: &str) {
        self.jar.lock().expect("jar").remove(name);
    }

    pub fn cookie_names(&self) -> Vec<String> {
        self.jar.lock().expect("jar").keys().cloned().collect()
    }

    /// Sends `request` with the stored cookies and stores what the response sets.
    pub async fn send(&self, request: LocalRequest<'_>) -> Reply {
        let cookies: Vec<Cookie<'static>> = self
            .jar
            .lock()
            .expect("jar")
            .iter()
            .map(|(n, v)| Cookie::new(n.clone(), v.clone()))
            .collect();
        let reply = self.app.send(request.cookies(cookies)).await;
        let mut jar = self.jar.lock().expect("jar");
        for cookie in reply.set_cookies() {
            if cookie.is_removal() {
                jar.remove(&cookie.name);
            } else {
                jar.insert(cookie.name, cookie.value);
            }
        }
        reply
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.app.client.get(path.to_owned())).await
    }

    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        self.send(form_post(self.app, path, fields)).await
    }

    /// Opens the login page and submits it; returns the answer to the POST.
    pub async fn try_sign_in(&self, username: &str, password: &str, next: Option<&str>) -> Reply {
        let page = self.get("/login").await;
        assert_eq!(page.status, Status::Ok, "{}", page.body);
        let token = csrf_field(&page.body);
        let mut fields = vec![
            ("username", username),
            ("password", password),
            ("csrf_token", token.as_str()),
        ];
        if let Some(next) = next {
            fields.push(("next", next));
        }
        self.post_form("/login", &fields).await
    }

    /// Signs in and asserts it worked.
    pub async fn sign_in(&self, username: &str, password: &str) {
        let reply = self.try_sign_in(username, password, None).await;
        assert_eq!(
            reply.status,
            Status::SeeOther,
            "sign in as {username}: {}",
            reply.body
        );
        assert_eq!(reply.header("Location"), Some("/"));
    }

    /// Posts a page form with the CSRF token of the page it is on, as a browser would.
    pub async fn submit(&self, page_path: &str, fields: &[(&str, &str)]) -> Reply {
        let page = self.get(page_path).await;
        assert_eq!(page.status, Status::Ok, "{page_path}: {}", page.body);
        let token = csrf_field(&page.body);
        let mut all = fields.to_vec();
        all.push(("csrf_token", token.as_str()));
        self.post_form(page_path, &all).await
    }

    /// Posts an action on the users page, as the administrator signed in here would.
    pub async fn administer(&self, username: &str, action: &str) -> Reply {
        self.submit(
            "/admin/users",
            &[("username", username), ("action", action)],
        )
        .await
    }
}

/// A form POST as a browser sends it, without cookies.
pub fn form_post<'c>(app: &'c TestApp, path: &str, fields: &[(&str, &str)]) -> LocalRequest<'c> {
    app.client
        .post(path.to_owned())
        .header(ContentType::Form)
        .body(form_encode(fields))
}

/// Percent-encodes a form field the way a browser does (`application/x-www-form-urlencoded`).
pub fn form_encode(fields: &[(&str, &str)]) -> String {
    let encode = |text: &str| -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_owned(),
                other => format!("%{other:02X}"),
            })
            .collect()
    };
    fields
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The value of the hidden `csrf_token` field of the (first) form on a page.
pub fn csrf_field(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).map(|at| at + marker.len());
    let start = start.unwrap_or_else(|| panic!("no csrf_token field in: {html}"));
    let end = html[start..].find('"').expect("closing quote") + start;
    html[start..end].to_owned()
}
