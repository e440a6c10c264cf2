//! What a test looks at in a response, whichever client got it: status, headers, body, cookies.

use rocket::http::Status;
use rocket::local::asynchronous::LocalResponse;
use serde_json::Value;

/// A response, read to the end.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: Status,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    /// Reads a response of Rocket's local client.
    pub async fn read(response: LocalResponse<'_>) -> Reply {
        let status = response.status();
        let headers = response
            .headers()
            .iter()
            .map(|h| (h.name().to_string(), h.value().to_string()))
            .collect();
        let body = response.into_string().await.unwrap_or_default();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Asserts the original example's error shape with this status.
    #[track_caller]
    pub fn assert_error(&self, code: u16) {
        assert_eq!(self.status.code, code, "body: {}", self.body);
        let body = self.json();
        assert_eq!(body["statusCode"], code, "body: {}", self.body);
        assert!(
            body["name"].as_str().is_some_and(|n| !n.is_empty()),
            "body: {}",
            self.body
        );
        assert!(
            body["description"].as_str().is_some_and(|d| !d.is_empty()),
            "body: {}",
            self.body
        );
        assert_eq!(self.header("Content-Type"), Some("application/json"));
        if code == 401 {
            assert_eq!(self.header("WWW-Authenticate"), Some("Bearer"));
        }
    }

    /// Every `Set-Cookie` of the response.
    pub fn set_cookies(&self) -> Vec<SetCookie> {
        self.header_values("Set-Cookie")
            .into_iter()
            .map(SetCookie::parse)
            .collect()
    }

    pub fn set_cookie(&self, name: &str) -> Option<SetCookie> {
        self.set_cookies().into_iter().find(|c| c.name == name)
    }
}

/// One `Set-Cookie` header, parsed.
#[derive(Debug, Clone)]
pub struct SetCookie {
    pub name: String,
    pub value: String,
    /// The attributes after the value, lower-cased names (`httponly`, `max-age`, ...).
    pub attributes: Vec<(String, Option<String>)>,
}

impl SetCookie {
    pub fn parse(header: &str) -> SetCookie {
        let mut parts = header.split(';').map(str::trim);
        let (name, value) = parts
            .next()
            .and_then(|pair| pair.split_once('='))
            .unwrap_or_else(|| panic!("bad Set-Cookie: {header}"));
        let attributes = parts
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (k.to_ascii_lowercase(), Some(v.to_owned())),
                None => (p.to_ascii_lowercase(), None),
            })
            .collect();
        SetCookie {
            name: name.to_owned(),
            value: value.to_owned(),
            attributes,
        }
    }

    pub fn has(&self, attribute: &str) -> bool {
        self.attributes.iter().any(|(k, _)| k == attribute)
    }

    pub fn attribute(&self, attribute: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == attribute)
            .and_then(|(_, v)| v.as_deref())
    }

    pub fn max_age(&self) -> Option<i64> {
        self.attribute("max-age")
            .map(|v| v.parse().expect("numeric Max-Age"))
    }

    /// True for a cookie that tells the browser to delete it.
    pub fn is_removal(&self) -> bool {
        self.max_age() == Some(0)
    }
}
