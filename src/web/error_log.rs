//! Logs the cause of every response that failed on our side. Errors turn into responses without
//! side effects; they leave the error on the request, and this fairing writes it down (as
//! axum's error-handling example does with a logging layer).

use rocket::Response;
use rocket::fairing::{Fairing, Info, Kind};
use rocket::request::Request;

use super::failure::final_error;
use crate::error_chain::chain;

pub struct ErrorLog;

#[rocket::async_trait]
impl Fairing for ErrorLog {
    fn info(&self) -> Info {
        Info {
            name: "Log the causes of server errors",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        if res.status().class() != rocket::http::StatusClass::ServerError {
            return;
        }
        match final_error(req) {
            Some(error) => log::error!("{} {}: {}", req.method(), req.uri().path(), chain(error)),
            None => log::error!(
                "{} {}: {} with no recorded cause",
                req.method(),
                req.uri().path(),
                res.status()
            ),
        }
    }
}
