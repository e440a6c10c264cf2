//! The browser flow in a real browser (see [`Chromium`]): the whole application, clicked
//! through as a user would.

use std::time::Duration;

use fantoccini::Locator;

use crate::support::{Chromium, Server};

/// The access lifetime of the server under test: short, so the test can outlive it. (This is
/// the real binary on the system clock: the one real-time test of reissue and of cookie
/// lifetimes in a real browser.)
const ACCESS_TTL_SECS: u64 = 1;

#[rocket::async_test]
async fn a_real_browser_walks_the_whole_application() {
    let Some(chromium) =
        Chromium::start("pages::chromium::a_real_browser_walks_the_whole_application").await
    else {
        return;
    };
    let server = Server::start(&format!("access_ttl_secs={ACCESS_TTL_SECS}"));
    let mut session = chromium.session(&server);

    // A signed-in page sends an anonymous visitor to the login page, remembering where to return.
    session.open("/user-content").await;
    assert_eq!(session.location().await, "/login?next=/user-content");
    assert_eq!(
        session.browser.title().await.expect("title"),
        "Sign in · jwtapp"
    );
    session.sign_in("user", "user").await;
    assert_eq!(session.location().await, "/user-content");
    assert!(session.page_text().await.contains("Signed in as user"));

    // The original's form: 123 prefilled, submitted value doubled on the server.
    let prefilled = session
        .browser
        .find(Locator::Css("#example"))
        .await
        .expect("example field")
        .prop("value")
        .await
        .expect("value");
    assert_eq!(prefilled.as_deref(), Some("123"));
    session.fill("#example", "21").await;
    session
        .submit("form button[type=submit]", "doubled 21")
        .await;
    assert_eq!(session.text("#result").await, "42");

    // The JWT cookies are HttpOnly: no script can read them. Only the CSRF token is readable.
    let cookies = session
        .browser
        .execute("return document.cookie", vec![])
        .await
        .expect("document.cookie");
    let cookies = cookies.as_str().expect("a string").to_owned();
    assert!(!cookies.contains("jwtapp_access"), "{cookies}");
    assert!(!cookies.contains("jwtapp_refresh"), "{cookies}");
    assert!(cookies.contains("jwtapp_csrf="), "{cookies}");

    // Past the access lifetime, the next page load is still signed in: reissued transparently.
    // (Every access cookie so far was set before this sleep, with a Max-Age of at most the
    // lifetime: the browser has dropped it when the sleep ends.)
    rocket::tokio::time::sleep(Duration::from_secs(ACCESS_TTL_SECS) + Duration::from_millis(200))
        .await;
    assert_eq!(session.cookie_value("jwtapp_access").await, None, "expired");
    let refresh = session.cookie_value("jwtapp_refresh").await;
    assert!(refresh.is_some());
    session.open("/").await;
    assert!(
        session.cookie_value("jwtapp_access").await.is_some(),
        "reissued"
    );
    assert_ne!(
        session.cookie_value("jwtapp_refresh").await,
        refresh,
        "rotated"
    );
    assert_eq!(session.location().await, "/");
    assert!(session.page_text().await.contains("Signed in as user"));
    session.open("/user-content").await;
    assert_eq!(session.location().await, "/user-content");

    // A user is no admin.
    session.open("/admin-content").await;
    assert_eq!(session.location().await, "/admin-content");
    assert!(
        session
            .page_text()
            .await
            .contains("Access to the requested resource is denied")
    );

    // Log out: a confirmation, then the login page; the signed-in pages are closed again.
    session.open("/logout").await;
    assert!(
        session
            .page_text()
            .await
            .contains("Are you sure you want to log out?")
    );
    session
        .submit("form button[type=submit]", "logged out")
        .await;
    assert_eq!(session.location().await, "/login");
    session.open("/user-content").await;
    assert_eq!(session.location().await, "/login?next=/user-content");

    // An administrator gets the admin form.
    session.open("/login?next=/admin-content").await;
    session.sign_in("admin", "admin").await;
    assert_eq!(session.location().await, "/admin-content");
    assert!(
        session
            .page_text()
            .await
            .contains("Signed in as admin [administrator]")
    );
    session.fill("#example", "0.1").await;
    session
        .submit("form button[type=submit]", "admin doubled")
        .await;
    assert_eq!(session.text("#result").await, "0.2");

    // The sessions page lists this login as the current one.
    session.open("/sessions").await;
    assert!(session.page_text().await.contains("End (this session)"));

    // The users page: disable `user`, then enable them again.
    session.open("/admin/users").await;
    let users = session.page_text().await;
    assert!(users.contains("admin (you)"), "{users}");
    session
        .submit(
            "form.row-actions:has(input[name=username][value=user]) button[value=disable]",
            "disabled user",
        )
        .await;
    assert!(
        session
            .page_text()
            .await
            .contains("Disabled user and ended their sessions.")
    );
    session
        .submit(
            "form.row-actions:has(input[name=username][value=user]) button[value=enable]",
            "enabled user",
        )
        .await;
    assert!(session.page_text().await.contains("Enabled user."));

    session.browser.close().await.expect("close the browser");
}
