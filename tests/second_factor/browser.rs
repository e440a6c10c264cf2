//! Two-step sign-in in a real browser (see [`Chromium`]), against the real binary on the system
//! clock: enrolment on `/account/2fa` from the secret the page shows as text, a login with a code
//! on the second step, a login with a recovery code, and a replayed code refused.
//!
//! Codes come from the tests' own RFC 6238 implementation at the system's time. The enabling
//! code is the current step's; the login uses the next step's (one step of drift is accepted,
//! and the current one is spent), so the test never waits for a step to pass, as long as it
//! runs within a minute.

use fantoccini::Locator;
use jwtapp::{Clock, SystemClock};
use serde_json::json;

use super::otp::{base32_decode, step_of, totp_of_step};
use crate::support::{Chromium, ChromiumSession, Server};

#[rocket::async_test]
async fn a_real_browser_enrols_then_signs_in_with_a_code_and_a_recovery_code() {
    let Some(chromium) = Chromium::start(
        "second_factor::browser::a_real_browser_enrols_then_signs_in_with_a_code_and_a_recovery_code",
    )
    .await
    else {
        return;
    };
    let server = Server::start("");
    let mut session = chromium.session(&server);

    // Signed in, on to the two-step page, and set up: a QR code drawn without script, and the
    // secret as text, which is what this test reads.
    session.open("/login?next=/account/2fa").await;
    session.sign_in("user", "user").await;
    assert_eq!(session.location().await, "/account/2fa");
    session
        .submit(
            "form[action='/account/2fa/setup'] button[type=submit]",
            "set up",
        )
        .await;
    session
        .browser
        .find(Locator::Css(".qr svg path"))
        .await
        .expect("the QR code, as inline SVG");
    let scripts = session
        .browser
        .execute("return document.scripts.length", vec![])
        .await
        .expect("count the scripts");
    assert_eq!(scripts, json!(0), "no script on the page");
    let secret_text = session.text("#totp-secret").await;
    let secret = base32_decode(&secret_text)
        .unwrap_or_else(|| panic!("the page's secret is not base32: {secret_text}"));

    // The code of now turns it on; the recovery codes show once.
    let step = step_of(SystemClock.now());
    session.fill("#code", &totp_of_step(&secret, step)).await;
    session
        .submit(
            "form[action='/account/2fa/enable'] button[type=submit]",
            "turned on",
        )
        .await;
    assert!(
        session
            .page_text()
            .await
            .contains("Two-step sign-in is on."),
        "{}",
        session.page_text().await
    );
    let recovery_code = session.text("ul.recovery-codes li code").await;
    assert_eq!(recovery_code.len(), 11, "{recovery_code}");
    log_out(&mut session).await;

    // The password, then the next step's code on the second step.
    let next_code = totp_of_step(&secret, step + 1);
    session.sign_in("user", "user").await;
    assert_eq!(title(&session).await, "Sign-in code · jwtapp");
    assert_eq!(session.cookie_value("jwtapp_access").await, None);
    session.fill("#code", &next_code).await;
    session
        .submit("form button[type=submit]", "signed in with a code")
        .await;
    assert_eq!(session.location().await, "/");
    assert!(session.page_text().await.contains("Signed in as user"));
    log_out(&mut session).await;

    // The password, then a recovery code: signed in, and one code fewer.
    session.sign_in("user", "user").await;
    session.fill("#code", &recovery_code).await;
    session
        .submit("form button[type=submit]", "signed in with a recovery code")
        .await;
    assert_eq!(session.location().await, "/");
    session.open("/account/2fa").await;
    assert_eq!(session.text(".codes-left").await, "9");
    log_out(&mut session).await;

    // The code used before, again: refused, still on the second step, no session.
    session.sign_in("user", "user").await;
    session.fill("#code", &next_code).await;
    session
        .submit("form button[type=submit]", "a replayed code")
        .await;
    assert_eq!(title(&session).await, "Sign-in code · jwtapp");
    assert!(
        session
            .page_text()
            .await
            .contains("That code is not correct, or was used already"),
        "{}",
        session.page_text().await
    );
    assert_eq!(session.cookie_value("jwtapp_access").await, None);

    session.browser.close().await.expect("close the browser");
}

async fn log_out(session: &mut ChromiumSession<'_>) {
    session.open("/logout").await;
    session
        .submit("form button[type=submit]", "logged out")
        .await;
    assert_eq!(session.location().await, "/login");
}

async fn title(session: &ChromiumSession<'_>) -> String {
    session.browser.title().await.expect("the title")
}
