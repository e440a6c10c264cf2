//! Rocket's `_method` form field, made safe.

use rocket::data::Data;
use rocket::fairing::{Fairing, Info, Kind};
use rocket::form::Form;
use rocket::http::Method;
use rocket::request::Request;

use super::error::AppError;
use super::failure::{ErrorCookies, Failure, record};
use super::routing::is_unsafe;

/// Rocket turns a form `POST` whose first field is `_method=...` into that method before
/// routing. A method that changes nothing (Rocket honours GET, HEAD and TRACE among them) would
/// let a cross-site form skip every check made of writes, so such a request is refused with 400;
/// any other override is an unsafe method and is checked like the POST it came as.
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
        // What Rocket looked at: the first field of the first 14 bytes of a form body.
        let first_field_is_method = |peeked: &[u8]| {
            std::str::from_utf8(peeked)
                .ok()
                .and_then(|raw| Form::values(raw).next())
                .is_some_and(|field| field.name == "_method")
        };
        let overridden = req.method() != Method::Post
            && req.content_type().is_some_and(|ct| ct.is_form())
            && first_field_is_method(data.peek("_method=delete".len()).await);
        if overridden && !is_unsafe(req.method()) {
            let error = AppError::BadRequest(format!(
                "a form posted with _method={} is refused: send a real {} request instead",
                req.method(),
                req.method()
            ));
            record(
                req,
                Failure {
                    error,
                    cookies: ErrorCookies::default(),
                    viewer: None,
                },
            );
            // No route answers CONNECT, so no handler runs and the catcher reports the error
            // recorded above.
            req.set_method(Method::Connect);
        }
    }
}
