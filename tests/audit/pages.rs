//! The trail as pages: "Recent activity" (`/activity`, in the navigation), every user's events
//! for administrators (`/admin/events`, with its filter form), and the readable browser and
//! system names on the sessions page.

use rocket::http::Status;

use super::{CHROME, CHROME_DEVICE, Caller, FIREFOX, FIREFOX_DEVICE, Visitor};
use crate::support::TestApp;

/// One table row of an event list: its kind, whether it is marked, and its cells as text.
#[derive(Debug)]
struct Row {
    kind: String,
    alarming: bool,
    cells: Vec<String>,
}

/// The event rows of a page, top to bottom.
fn rows(html: &str) -> Vec<Row> {
    html.split("<tr")
        .skip(1)
        .filter(|row| row.contains("data-kind=\""))
        .map(|row| {
            let kind = row
                .split("data-kind=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .expect("data-kind")
                .to_owned();
            let body = row.split("</tr>").next().expect("a row");
            let cells = body
                .split("<td")
                .skip(1)
                .map(|cell| {
                    let text = cell.split_once('>').expect("a cell").1;
                    text.split("</td>")
                        .next()
                        .expect("cell end")
                        .trim()
                        .to_owned()
                })
                .collect();
            Row {
                kind,
                alarming: row.starts_with(" class=\"alarming\""),
                cells,
            }
        })
        .collect()
}

/// HTML text with the escapes of `<`, `>` and `&` undone, in either spelling.
fn unescape(html: &str) -> String {
    html.replace("&#60;", "<")
        .replace("&lt;", "<")
        .replace("&#62;", ">")
        .replace("&gt;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

fn kinds(rows: &[Row]) -> Vec<&str> {
    rows.iter().map(|row| row.kind.as_str()).collect()
}

// ----- /activity -----

#[rocket::async_test]
async fn the_navigation_links_to_recent_activity_and_administrators_to_events() {
    let app = TestApp::spawn().await;
    let user = Visitor::new(&app, Caller::new(60, CHROME));
    user.sign_in("user", "user").await;
    let admin = Visitor::new(&app, Caller::new(61, CHROME));
    admin.sign_in("admin", "admin").await;

    let users_home = user.get("/").await;
    let admins_home = admin.get("/").await;

    let nav = |html: &str| -> String {
        let start = html.find("<nav class=\"nav\"").expect("the navigation");
        let end = html[start..].find("</nav>").expect("its end") + start;
        html[start..end].to_owned()
    };
    assert!(
        nav(&users_home.body).contains(r#"<a href="/activity">Recent activity</a>"#),
        "{}",
        users_home.body
    );
    assert!(!nav(&users_home.body).contains("/admin/events"));
    assert!(nav(&admins_home.body).contains(r#"<a href="/activity">Recent activity</a>"#));
    assert!(
        nav(&admins_home.body).contains(r#"<a href="/admin/events">Events</a>"#),
        "{}",
        admins_home.body
    );
}

/// A user sees their own sign-ins and the failed attempts against their account (marked), each
/// with the kind in words, the address and the browser and system by name.
#[rocket::async_test]
async fn recent_activity_shows_own_events_in_words_with_address_and_device() {
    let app = TestApp::spawn().await;
    Caller::new(62, FIREFOX)
        .try_login(&app, "user", "a-guess")
        .await
        .assert_error(401);
    Caller::new(63, FIREFOX).login(&app, "admin", "admin").await;
    let laptop = Visitor::new(&app, Caller::new(64, CHROME));
    laptop.sign_in("user", "user").await;

    let page = laptop.get("/activity").await;

    assert_eq!(page.status, Status::Ok, "{}", page.body);
    assert!(
        page.body.contains("<h1>Recent activity</h1>"),
        "{}",
        page.body
    );
    let rows = rows(&page.body);
    assert_eq!(
        kinds(&rows),
        ["login_succeeded", "login_failed", "user_created"],
        "{}",
        page.body
    );
    assert_eq!(
        rows[0].cells[1..],
        ["Signed in", "192.0.2.64", CHROME_DEVICE, "user", ""]
    );
    assert!(!rows[0].alarming);
    assert_eq!(
        rows[1].cells[1..],
        [
            "Failed sign-in",
            "192.0.2.62",
            FIREFOX_DEVICE,
            "–",
            "wrong password"
        ]
    );
    assert!(rows[1].alarming, "a failure stands out: {:?}", rows[1]);
    assert_eq!(
        rows[2].cells[1..],
        [
            "Account created",
            "–",
            "–",
            "jwtapp",
            "a demo account (debug profile)"
        ]
    );
    // When, to the minute, in UTC: the app's clock.
    let now = jwtapp::auth::minutes(app.now() as i64);
    assert_eq!(rows[0].cells[0], now);
}

#[rocket::async_test]
async fn recent_activity_takes_a_limit_and_refuses_a_bad_one() {
    let app = TestApp::spawn().await;
    let laptop = Visitor::new(&app, Caller::new(65, CHROME));
    laptop.sign_in("user", "user").await;

    let one = laptop.get("/activity?limit=1").await;
    let empty = laptop.get("/activity?limit=").await;
    let zero = laptop.get("/activity?limit=0").await;
    let word = laptop.get("/activity?limit=abc").await;

    assert_eq!(kinds(&rows(&one.body)), ["login_succeeded"]);
    assert_eq!(rows(&empty.body).len(), 2, "an empty field is no limit");
    for bad in [zero, word] {
        assert_eq!(bad.status, Status::BadRequest, "{}", bad.body);
        assert!(
            bad.body
                .contains("limit must be a whole number from 1 to 500"),
            "{}",
            bad.body
        );
    }
}

#[rocket::async_test]
async fn recent_activity_needs_a_sign_in() {
    let app = TestApp::spawn().await;
    let stranger = Visitor::new(&app, Caller::new(66, CHROME));

    let page = stranger.get("/activity").await;

    assert_eq!(page.status, Status::SeeOther);
    assert_eq!(page.header("Location"), Some("/login?next=/activity"));
}

// ----- /admin/events -----

#[rocket::async_test]
async fn the_events_page_shows_and_filters_every_users_events() {
    let app = TestApp::spawn().await;
    Caller::new(67, FIREFOX)
        .try_login(&app, "nobody", "a-guess")
        .await
        .assert_error(401);
    let desk = Visitor::new(&app, Caller::new(68, CHROME));
    desk.sign_in("admin", "admin").await;
    desk.administer("user", "disable").await;

    let all = desk.get("/admin/events").await;
    // The form sends every field, empty when unused.
    let disabled = desk
        .get("/admin/events?user=user&kind=user_disabled&limit=")
        .await;
    let typed = desk.get("/admin/events?user=nobody&kind=&limit=10").await;
    let newest = desk.get("/admin/events?user=&kind=&limit=1").await;

    assert_eq!(all.status, Status::Ok, "{}", all.body);
    assert!(
        all.body
            .contains(r#"<form method="get" action="/admin/events""#)
    );
    assert_eq!(
        kinds(&rows(&all.body)),
        [
            "user_disabled",
            "login_succeeded",
            "login_failed",
            "user_created",
            "user_created"
        ]
    );
    // Who disabled user: the row names them, with their address and browser.
    let rows_disabled = rows(&disabled.body);
    assert_eq!(kinds(&rows_disabled), ["user_disabled"]);
    assert_eq!(
        rows_disabled[0].cells[1..],
        [
            "user",
            "Account disabled",
            "administrator admin",
            "192.0.2.68",
            CHROME_DEVICE,
            ""
        ]
    );
    assert!(
        disabled
            .body
            .contains(r#"<option value="user_disabled" selected>"#),
        "the form keeps the filter: {}",
        disabled.body
    );
    assert!(disabled.body.contains(r#"name="user" value="user""#));
    let rows_typed = rows(&typed.body);
    assert_eq!(kinds(&rows_typed), ["login_failed"]);
    assert_eq!(rows_typed[0].cells[1], "nobody");
    assert_eq!(rows_typed[0].cells[6], "unknown user");
    assert!(rows_typed[0].alarming);
    assert_eq!(kinds(&rows(&newest.body)), ["user_disabled"]);
}

/// A bad filter shows the form again with the reason, 400.
#[rocket::async_test]
async fn a_bad_filter_on_the_events_page_is_the_form_again_with_the_reason() {
    let app = TestApp::spawn().await;
    let desk = Visitor::new(&app, Caller::new(69, CHROME));
    desk.sign_in("admin", "admin").await;
    let long = "u".repeat(257);

    for (query, reason) in [
        (
            "kind=nonsense",
            "kind must be one of login_succeeded, login_failed",
        ),
        ("limit=0", "limit must be a whole number from 1 to 500"),
        ("limit=-1", "limit must be a whole number from 1 to 500"),
        ("limit=ten", "limit must be a whole number from 1 to 500"),
        (
            &format!("user={long}") as &str,
            "user is too long to be a username",
        ),
    ] {
        let page = desk.get(&format!("/admin/events?{query}")).await;
        assert_eq!(page.status, Status::BadRequest, "{query}: {}", page.body);
        assert!(
            page.body
                .contains(r#"<form method="get" action="/admin/events""#),
            "{query}: {}",
            page.body
        );
        assert!(
            page.body.contains(r#"<p class="error" role="alert">"#) && page.body.contains(reason),
            "{query}: {}",
            page.body
        );
        assert!(rows(&page.body).is_empty(), "{query}");
    }
}

#[rocket::async_test]
async fn the_events_page_is_for_administrators() {
    let app = TestApp::spawn().await;
    let user = Visitor::new(&app, Caller::new(70, CHROME));
    user.sign_in("user", "user").await;
    let stranger = Visitor::new(&app, Caller::new(71, CHROME));

    let denied = user.get("/admin/events").await;
    let redirected = stranger.get("/admin/events").await;

    assert_eq!(denied.status, Status::Forbidden, "{}", denied.body);
    assert!(rows(&denied.body).is_empty());
    assert_eq!(redirected.status, Status::SeeOther);
}

/// What a stranger sends (the name they type, their user agent) is shown to the account's user
/// and to administrators as text, never as markup.
#[rocket::async_test]
async fn what_a_guesser_sends_is_shown_as_text_not_markup() {
    const NAME: &str = "<img src=x onerror=alert(1)>";
    const AGENT: &str = "<script>alert(2)</script>";
    let app = TestApp::spawn().await;
    let guesser = Caller::new(74, AGENT);
    guesser
        .try_login(&app, NAME, "a-guess")
        .await
        .assert_error(401);
    guesser
        .try_login(&app, "user", "a-guess")
        .await
        .assert_error(401);
    let desk = Visitor::new(&app, Caller::new(75, CHROME));
    desk.sign_in("admin", "admin").await;
    let owner = Visitor::new(&app, Caller::new(76, CHROME));
    owner.sign_in("user", "user").await;

    let events = desk.get("/admin/events").await;
    let activity = owner.get("/activity").await;

    for (page, reply) in [("/admin/events", &events), ("/activity", &activity)] {
        assert_eq!(reply.status, Status::Ok, "{page}: {}", reply.body);
        assert!(!reply.body.contains(AGENT), "{page}: {}", reply.body);
        assert!(
            unescape(&reply.body).contains(AGENT),
            "{page}: the user agent is shown, escaped: {}",
            reply.body
        );
    }
    assert!(!events.body.contains(NAME), "{}", events.body);
    assert!(
        unescape(&events.body).contains(NAME),
        "the name as typed is shown, escaped: {}",
        events.body
    );
}

// ----- /sessions -----

#[rocket::async_test]
async fn the_sessions_page_names_browsers_and_systems() {
    let app = TestApp::spawn().await;
    let tokens = Caller::new(72, FIREFOX).login(&app, "user", "user").await;
    let laptop = Visitor::new(&app, Caller::new(73, CHROME));
    laptop.sign_in("user", "user").await;

    let page = laptop.get("/sessions").await;
    let api = Caller::new(72, FIREFOX)
        .get(&app, "/api/auth/sessions", Some(&tokens.access))
        .await;

    assert_eq!(page.status, Status::Ok, "{}", page.body);
    for (agent, device) in [(CHROME, CHROME_DEVICE), (FIREFOX, FIREFOX_DEVICE)] {
        let cell = format!(r#"<td class="agent" title="{agent}">{device}</td>"#);
        assert!(page.body.contains(&cell), "no {cell} in {}", page.body);
    }
    let mut devices: Vec<String> = api
        .json()
        .as_array()
        .expect("sessions")
        .iter()
        .map(|s| s["device"].as_str().expect("device").to_owned())
        .collect();
    devices.sort();
    assert_eq!(devices, [CHROME_DEVICE, FIREFOX_DEVICE]);
}
