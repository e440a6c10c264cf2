//! The API's error answer: `{"statusCode", "name", "description"}` with the right status and
//! headers.

use rocket::request::Request;
use rocket::response::{self, Responder};

use crate::auth::AuthError;
use crate::web::error::{AppError, json_response};
use crate::web::failure::note_answered;

/// An error a JSON handler answers with.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        ApiError(error)
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        ApiError(error.into())
    }
}

impl<'r> Responder<'r, 'static> for ApiError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        // For the error log, which writes down causes; the answer shows none.
        note_answered(req, &self.0);
        json_response(&self.0.problem())
    }
}

/// What a JSON handler returns.
pub type ApiResult<T> = Result<T, ApiError>;
