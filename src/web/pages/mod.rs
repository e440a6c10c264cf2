//! Server-rendered pages (Askama templates under `templates/`): the whole application of the
//! original example for browsers without a JavaScript framework.
//!
//! A page behind [`Viewer`](layout::Viewer) or [`AdminViewer`](layout::AdminViewer) never
//! renders without an active session: the guard fails, and the catcher answers
//! `303 See Other` to `/login?next=<the page>`.

mod account;
mod activity;
mod admin;
mod content;
mod error;
mod layout;
mod login;
mod logout;
mod next;
mod reauth;
mod second_factor;

use rocket::{Route, routes};

pub use error::error_page;
pub use layout::Layout;

/// Everything mounted at `/`.
pub fn routes() -> Vec<Route> {
    routes![
        login::login_page,
        login::login_submit,
        login::code_submit,
        content::home,
        content::user_content,
        content::user_content_submit,
        content::admin_content,
        content::admin_content_submit,
        content::denied,
        logout::logout_page,
        logout::logout_submit,
        account::sessions_page,
        account::end_session,
        account::end_other_sessions,
        account::end_all_sessions,
        account::password_page,
        account::password_submit,
        admin::users_page,
        admin::users_submit,
        reauth::reauth_page,
        reauth::reauth_submit,
        second_factor::page,
        second_factor::setup,
        second_factor::enable,
        second_factor::disable,
        second_factor::recovery_codes,
        activity::activity_page,
        activity::events_page,
    ]
}
