//! The administrators' user management page: the same actions as the `jwtapp user` commands.

use askama::Template;
use rocket::form::FromForm;
use rocket::http::Status;
use rocket::{State, get, post};

use super::error::PageResult;
use super::layout::{AdminViewer, Layout, render, sentence};
use crate::auth::{Actor, AdminAction, Auth, AuthError, ClientInfo, UserSummary, minutes};
use crate::web::error::AppError;
use crate::web::forms::SessionForm;

/// One user as the list shows them.
struct UserRow {
    username: String,
    is_admin: bool,
    enabled: bool,
    /// Two-step sign-in is on.
    has_totp: bool,
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
) -> PageResult {
    let me = &admin.0.principal.username;
    let users = auth
        .accounts()
        .list()
        .await?
        .into_iter()
        .map(|UserSummary { user, sessions }| UserRow {
            is_you: &user.username == me,
            created: minutes(user.created_at),
            username: user.username,
            is_admin: user.is_admin,
            enabled: user.enabled,
            has_totp: user.has_totp,
            sessions,
        })
        .collect();
    Ok(render(
        status,
        &UsersPage {
            layout: &admin.0.layout,
            users,
            error,
            done,
        },
    )?)
}

#[get("/admin/users")]
pub async fn users_page(admin: AdminViewer, auth: &State<Auth>) -> PageResult {
    page(&admin, auth, Status::Ok, None, None).await
}

#[derive(FromForm)]
pub struct ActionFields {
    username: String,
    action: String,
}

/// Carries out one action and shows the list again, with what was done or why not.
#[post("/admin/users", data = "<form>")]
pub async fn users_submit(
    admin: AdminViewer,
    form: SessionForm<ActionFields>,
    client: ClientInfo,
    auth: &State<Auth>,
) -> PageResult {
    let ActionFields { username, action } = form.0;
    // The page offers no deletion: that stays with the command line.
    let Some(action) = AdminAction::parse(&action).filter(|a| *a != AdminAction::Delete) else {
        let error = "Unknown action.";
        return page(&admin, auth, Status::UnprocessableEntity, Some(error), None).await;
    };
    let actor = Actor::Admin(&admin.0.principal, &client);
    match auth.accounts().apply(actor, &username, action).await {
        Ok(applied) => {
            let done = action.done(&applied.username);
            page(&admin, auth, Status::Ok, None, Some(&done)).await
        }
        Err(e @ (AuthError::NotAllowed(_) | AuthError::NotFound(_))) => {
            let problem = AppError::from(e).problem();
            let message = sentence(&problem.description);
            page(&admin, auth, problem.status, Some(&message), None).await
        }
        Err(e) => Err(e.into()),
    }
}
