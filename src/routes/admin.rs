//! The administrators' user management page: the same actions as the `jwtapp user` commands.

use askama::Template;
use rocket::form::FromForm;
use rocket::http::Status;
use rocket::{Route, State, get, post, routes};

use super::pages::{AdminViewer, Layout, Page, render};
use crate::auth::{AdminAction, Auth, AuthError, UserSummary};
use crate::csrf::SessionForm;
use crate::error::AppError;
use crate::routes::minutes;

pub fn routes() -> Vec<Route> {
    routes![users_page, users_submit]
}

/// One user as the list shows them.
struct UserRow {
    username: String,
    is_admin: bool,
    enabled: bool,
    created: String,
    sessions: u64,
    is_you: bool,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage<'a> {
    layout: &'a Layout,
    users: Vec<UserRow>,
    error: Option<&'a str>,
    done: Option<&'a str>,
}

async fn page(
    admin: &AdminViewer,
    auth: &Auth,
    status: Status,
    error: Option<&str>,
    done: Option<&str>,
) -> Result<Page, AppError> {
    let me = &admin.0.principal.username;
    let users = auth
        .users()
        .await?
        .into_iter()
        .map(|UserSummary { user, sessions }| UserRow {
            is_you: &user.username == me,
            created: minutes(user.created_at),
            username: user.username,
            is_admin: user.is_admin,
            enabled: user.enabled,
            sessions,
        })
        .collect();
    render(
        status,
        &UsersPage {
            layout: &admin.0.layout,
            users,
            error,
            done,
        },
    )
}

#[get("/admin/users")]
async fn users_page(admin: AdminViewer, auth: &State<Auth>) -> Result<Page, AppError> {
    page(&admin, auth, Status::Ok, None, None).await
}

#[derive(FromForm)]
struct ActionFields {
    username: String,
    action: String,
}

/// Carries out one action and shows the list again, with what was done or why not.
#[post("/admin/users", data = "<form>")]
async fn users_submit(
    admin: AdminViewer,
    form: SessionForm<ActionFields>,
    auth: &State<Auth>,
) -> Result<Page, AppError> {
    let ActionFields { username, action } = form.0;
    let Some(action) = AdminAction::parse(&action) else {
        let error = "Unknown action.";
        return page(&admin, auth, Status::UnprocessableEntity, Some(error), None).await;
    };
    match auth.administer(&admin.0.principal, &username, action).await {
        Ok(done) => page(&admin, auth, Status::Ok, None, Some(&done)).await,
        Err(e @ (AuthError::Refused(_) | AuthError::NotFound(_))) => {
            let error = AppError::from(e);
            let message = format!("{}.", error.description());
            page(&admin, auth, error.status(), Some(&message), None).await
        }
        Err(e) => Err(e.into()),
    }
}
