//! Facts about a request's path and method that several modules need.

use rocket::http::Method;
use rocket::request::Request;

/// True for requests under `/api`. Decided on the decoded, non-empty segments, as Rocket routes
/// them: `//api/x` and `/%61pi/x` reach the API routes, so they must count as API requests too.
pub fn is_api(req: &Request<'_>) -> bool {
    req.uri().path().segments().next() == Some("api")
}

/// Methods that may change state.
pub fn is_unsafe(method: Method) -> bool {
    !matches!(
        method,
        Method::Get | Method::Head | Method::Options | Method::Trace
    )
}

/// Methods that have a route for this path (for 405 and preflight answers).
pub fn methods_for_path(req: &Request<'_>) -> Vec<Method> {
    let segments: Vec<&str> = req.uri().path().segments().collect();
    let mut methods: Vec<Method> = req
        .rocket()
        .routes()
        .filter(|route| {
            route.method != Method::Options && path_matches(route.uri.path(), &segments)
        })
        .map(|route| route.method)
        .collect();
    methods.sort_by_key(|m| m.as_str());
    methods.dedup();
    methods
}

/// Whether a route's path pattern (`/api/auth/sessions/<id>`) matches a request's decoded path
/// segments, the way Rocket's router does: `<name>` takes one non-empty segment, `<name..>` the
/// rest, anything else must be equal.
fn path_matches(pattern: &str, segments: &[&str]) -> bool {
    let mut parts = pattern.split('/').filter(|part| !part.is_empty());
    let mut segments = segments.iter();
    loop {
        match (parts.next(), segments.next()) {
            (None, None) => return true,
            (Some(part), _) if part.starts_with('<') && part.ends_with("..>") => return true,
            (Some(part), Some(segment)) if part.starts_with('<') && part.ends_with('>') => {
                if segment.is_empty() {
                    return false;
                }
            }
            (Some(part), Some(segment)) if part == *segment => {}
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::path_matches;

    #[test]
    fn route_patterns_match_like_the_router() {
        assert!(path_matches(
            "/api/auth/sessions/<id>",
            &["api", "auth", "sessions", "abc"]
        ));
        assert!(!path_matches(
            "/api/auth/sessions/<id>",
            &["api", "auth", "sessions"]
        ));
        assert!(!path_matches(
            "/api/auth/sessions/<id>",
            &["api", "auth", "sessions", "a", "b"]
        ));
        assert!(path_matches("/api/auth/login", &["api", "auth", "login"]));
        assert!(!path_matches("/api/auth/login", &["api", "auth", "logout"]));
        assert!(path_matches("/static/<path..>", &["static", "a", "b.css"]));
        assert!(path_matches("/", &[]));
    }
}
