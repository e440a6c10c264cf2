//! The application's managed state, fetched the way every guard needs it.

use rocket::request::Request;

use super::error::AppError;

/// State the application manages. Missing state is a bug in how the application was built,
/// reported as a 500 rather than a panic.
pub fn managed<'r, T: Send + Sync + 'static>(req: &'r Request<'_>) -> Result<&'r T, AppError> {
    req.rocket()
        .state::<T>()
        .ok_or(AppError::Unmanaged(std::any::type_name::<T>()))
}
