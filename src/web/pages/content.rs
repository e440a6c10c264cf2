//! The signed-in pages of the original example: home, the sample value for users and for
//! administrators, and the access-denied page.

use askama::Template;
use rocket::form::FromForm;
use rocket::get;
use rocket::http::Status;
use rocket::post;

use super::error::{DeniedPage, PageResult};
use super::layout::{AdminViewer, Layout, Viewer, render};
use crate::auth::Principal;
use crate::sample::{DEFAULT_EXAMPLE, SampleError, double_text};
use crate::web::forms::SessionForm;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    layout: &'a Layout,
    principal: &'a Principal,
}

#[get("/")]
pub fn home(viewer: Viewer) -> PageResult {
    Ok(render(
        Status::Ok,
        &HomePage {
            layout: &viewer.layout,
            principal: &viewer.principal,
        },
    )?)
}

#[derive(Template)]
#[template(path = "content.html")]
struct ContentPage<'a> {
    layout: &'a Layout,
    title: &'a str,
    action: &'a str,
    value: &'a str,
    result: Option<&'a str>,
    error: Option<&'a str>,
}

#[derive(FromForm)]
pub struct SampleFields {
    example: String,
}

const USER_CONTENT: (&str, &str) = ("User content", "/user-content");
const ADMIN_CONTENT: (&str, &str) = ("Admin content", "/admin-content");

/// The sample form, prefilled with the original's 123.
fn sample_form(viewer: &Viewer, (title, action): (&str, &str)) -> PageResult {
    Ok(render(
        Status::Ok,
        &ContentPage {
            layout: &viewer.layout,
            title,
            action,
            value: DEFAULT_EXAMPLE,
            result: None,
            error: None,
        },
    )?)
}

/// The sample form after a submission: the doubled value, or why it cannot be doubled (422).
fn sample_result(
    viewer: &Viewer,
    (title, action): (&str, &str),
    fields: &SampleFields,
) -> PageResult {
    let entered = fields.example.trim();
    let (status, value, result, error) = match double_text(entered) {
        Ok(doubled) => (Status::Ok, doubled.clone(), Some(doubled), None),
        Err(e) => (
            Status::UnprocessableEntity,
            entered.to_owned(),
            None,
            Some(match e {
                SampleError::NotANumber => "Enter a number, such as 123 or 1.5.",
                SampleError::OutOfRange => {
                    "That number is out of range: the value and its double must fit in a 64-bit \
                     floating-point number, and a value that is not 0 must not round to 0."
                }
            }),
        ),
    };
    Ok(render(
        status,
        &ContentPage {
            layout: &viewer.layout,
            title,
            action,
            value: &value,
            result: result.as_deref(),
            error,
        },
    )?)
}

#[get("/user-content")]
pub fn user_content(viewer: Viewer) -> PageResult {
    sample_form(&viewer, USER_CONTENT)
}

#[post("/user-content", data = "<form>")]
pub fn user_content_submit(viewer: Viewer, form: SessionForm<SampleFields>) -> PageResult {
    sample_result(&viewer, USER_CONTENT, &form.0)
}

#[get("/admin-content")]
pub fn admin_content(admin: AdminViewer) -> PageResult {
    sample_form(&admin.0, ADMIN_CONTENT)
}

#[post("/admin-content", data = "<form>")]
pub fn admin_content_submit(admin: AdminViewer, form: SessionForm<SampleFields>) -> PageResult {
    sample_result(&admin.0, ADMIN_CONTENT, &form.0)
}

#[get("/denied")]
pub fn denied(viewer: Viewer) -> PageResult {
    Ok(render(
        Status::Forbidden,
        &DeniedPage {
            layout: &viewer.layout,
            reason: None,
        },
    )?)
}
