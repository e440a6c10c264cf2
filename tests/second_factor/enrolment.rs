//! Turning the second factor on and off: over the API (`setup` → `{"secret","otpauthUri"}`,
//! `enable {"code"}` → `{"recoveryCodes"}`, `disable {"password"}`) and on `/account/2fa` (an
//! inline SVG QR code made on the server, the secret as text, no script); only a confirmed
//! secret is turned on.

use qrcode::{EcLevel, QrCode};
use rocket::http::Status;
use serde_json::{Value, json};

use super::otp::{base32_decode, step_of, totp_of_step};
use super::{
    assert_mfa_required, enrol, keys, next_step, post_page_form, setup, strings, text_after,
    totp_state,
};
use crate::support::{Browser, TestApp, csrf_field};

/// The Content-Security-Policy of every page: no script at all, nothing from elsewhere.
const PAGE_CSP: &str = "default-src 'self'; base-uri 'none'; object-src 'none'; \
                        form-action 'self'; frame-ancestors 'none'";

/// An `otpauth://` URI taken apart: type, label and parameters, percent-decoded.
#[derive(Debug)]
struct OtpAuth {
    kind: String,
    label: String,
    params: Vec<(String, String)>,
}

impl OtpAuth {
    fn parse(uri: &str) -> OtpAuth {
        let rest = uri
            .strip_prefix("otpauth://")
            .unwrap_or_else(|| panic!("not an otpauth URI: {uri}"));
        let (kind, rest) = rest.split_once('/').expect("otpauth://TYPE/LABEL");
        let (label, query) = rest.split_once('?').expect("a query");
        OtpAuth {
            kind: kind.to_owned(),
            label: percent_decode(label),
            params: query
                .split('&')
                .map(|pair| {
                    let (k, v) = pair.split_once('=').expect("key=value");
                    (percent_decode(k), percent_decode(v))
                })
                .collect(),
        }
    }

    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Asserts what the issue asks of the URI: TOTP, the issuer, the account, the secret; and
    /// the parameters apps assume when absent (SHA1, 6 digits, 30 s), if present.
    #[track_caller]
    fn assert_describes(&self, issuer: &str, account: &str, secret: &str) {
        assert_eq!(self.kind, "totp", "{self:?}");
        assert_eq!(self.label, format!("{issuer}:{account}"), "{self:?}");
        assert_eq!(self.param("issuer"), Some(issuer), "{self:?}");
        assert_eq!(self.param("secret"), Some(secret), "{self:?}");
        for (name, default) in [("algorithm", "SHA1"), ("digits", "6"), ("period", "30")] {
            if let Some(value) = self.param(name) {
                assert_eq!(value, default, "{self:?}");
            }
        }
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("two hex digits");
            out.push(u8::from_str_radix(hex, 16).expect("hex"));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("UTF-8")
}

/// Text as it was before HTML escaping: the named entities Askama writes, and numeric ones.
fn unescape_html(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let (entity, after) = rest[at + 1..]
            .split_once(';')
            .unwrap_or_else(|| panic!("an unfinished entity in {text}"));
        let decoded = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            numeric => {
                let code = match numeric.strip_prefix("#x").or(numeric.strip_prefix("#X")) {
                    Some(hex) => u32::from_str_radix(hex, 16),
                    None => numeric.trim_start_matches('#').parse(),
                };
                code.ok()
                    .and_then(char::from_u32)
                    .unwrap_or_else(|| panic!("an unknown entity &{entity}; in {text}"))
            }
        };
        out.push(decoded);
        rest = after;
    }
    out.push_str(rest);
    out
}

/// The dark modules of a QR code drawn as SVG the way the `qrcode` crate draws it (one path of
/// rectangles `M{x} {y}h{w}v{h}H{x}V{y}` in pixels, a quiet zone of 4 modules), for a code of
/// `width` modules a side; `None` when the drawing is not of that many modules.
fn svg_modules(svg: &str, width: usize) -> Option<Vec<bool>> {
    let pixels: usize = text_after(svg, "width=\"")
        .split('"')
        .next()
        .and_then(|w| w.parse().ok())
        .expect("the SVG's width");
    if !pixels.is_multiple_of(width + 8) {
        return None;
    }
    let module = pixels / (width + 8);
    let path = svg
        .split(" d=\"")
        .nth(1)
        .and_then(|d| d.split('"').next())
        .expect("the path of the dark modules");
    let mut dark = vec![false; width * width];
    for rect in path.split('M').filter(|r| !r.is_empty()) {
        let numbers: Vec<usize> = rect
            .split(|c: char| !c.is_ascii_digit())
            .filter(|n| !n.is_empty())
            .map(|n| n.parse().expect("a number"))
            .collect();
        let [left, top, w, h, ..] = numbers[..] else {
            panic!("not a rectangle: {rect}");
        };
        for y in top / module..(top + h) / module {
            for x in left / module..(left + w) / module {
                let (column, row) = (x.checked_sub(4)?, y.checked_sub(4)?);
                if column >= width || row >= width {
                    return None;
                }
                dark[row * width + column] = true;
            }
        }
    }
    Some(dark)
}

/// Asserts that `svg` is a QR code of exactly `text` (at whichever error-correction level).
#[track_caller]
fn assert_qr_code_of(svg: &str, text: &str) {
    let matches = [EcLevel::L, EcLevel::M, EcLevel::Q, EcLevel::H]
        .into_iter()
        .any(|level| {
            let code = QrCode::with_error_correction_level(text.as_bytes(), level).expect("a code");
            let expected: Vec<bool> = code
                .to_colors()
                .into_iter()
                .map(|c| c == qrcode::Color::Dark)
                .collect();
            svg_modules(svg, code.width()) == Some(expected)
        });
    assert!(matches, "the QR code does not encode {text}");
}

#[rocket::async_test]
async fn api_setup_answers_the_secret_and_an_otpauth_uri_issued_by_jwtapp() {
    let app = TestApp::spawn().await;
    let tokens = app.login("user", "user").await;

    let reply = app
        .post_json("/api/auth/totp/setup", Some(&tokens.access), "{}")
        .await;

    assert_eq!(reply.status, Status::Ok, "{}", reply.body);
    let body = reply.json();
    assert_eq!(keys(&body), ["otpauthUri", "secret"]);
    let secret = body["secret"].as_str().expect("secret");
    let bytes = base32_decode(secret).expect("base32");
    assert!(
        bytes.len() >= 20,
        "160 bits, as RFC 4226 recommends: {secret}"
    );
    OtpAuth::parse(body["otpauthUri"].as_str().expect("uri"))
        .assert_describes("jwtapp", "user", secret);
    // A setup alone turns nothing on.
    assert_eq!(
        totp_state(&app, &tokens.access).await,
        json!({"enabled": false, "enabledAt": null, "pending": true, "recoveryCodesLeft": 0})
    );
}

#[rocket::async_test]
async fn the_issuer_comes_from_totp_issuer() {
    let app = TestApp::spawn_with(|f| f.merge(("auth.totp_issuer", "Example Corp"))).await;
    let tokens = app.login("user", "user").await;

    let body = app
        .post_json("/api/auth/totp/setup", Some(&tokens.access), "{}")
        .await
        .json();

    let secret = body["secret"].as_str().expect("secret");
    let uri = body["otpauthUri"].as_str().expect("uri");
    assert!(
        uri.starts_with("otpauth://totp/Example%20Corp:user?"),
        "{uri}"
    );
    OtpAuth::parse(uri).assert_describes("Example Corp", "user", secret);
}

#[rocket::async_test]
async fn only_a_confirmed_secret_is_turned_on_over_the_api() {
    let app = TestApp::spawn().await;
    next_step(&app);
    let tokens = app.login("user", "user").await;
    let enable = async |code: &str| {
        app.post_json(
            "/api/auth/totp/enable",
            Some(&tokens.access),
            &json!({ "code": code }).to_string(),
        )
        .await
    };
    let first = setup(&app, &tokens.access).await;

    // Set up but not confirmed: a login needs no code.
    let login = app.try_login("user", "user").await;
    assert_eq!(login.status, Status::Ok, "{}", login.body);
    // A wrong code turns nothing on.
    assert_mfa_required(&enable("000000").await, "enable with a wrong code");
    assert_eq!(totp_state(&app, &tokens.access).await["pending"], true);
    // A second setup replaces the first: the first secret's code no longer confirms anything.
    let second = setup(&app, &tokens.access).await;
    assert_ne!(first, second);
    let step = step_of(app.now());
    assert_mfa_required(
        &enable(&totp_of_step(&first, step)).await,
        "the code of a replaced secret",
    );
    assert_eq!(app.try_login("user", "user").await.status, Status::Ok);

    // The code of the secret set up last turns it on, and answers ten recovery codes.
    let on = enable(&totp_of_step(&second, step)).await;

    assert_eq!(on.status, Status::Ok, "{}", on.body);
    assert_eq!(keys(&on.json()), ["recoveryCodes"]);
    let codes = strings(&on.json()["recoveryCodes"]);
    assert_eq!(codes.len(), 10, "{codes:?}");
    let distinct: std::collections::BTreeSet<_> = codes.iter().collect();
    assert_eq!(distinct.len(), 10, "{codes:?}");
    assert_eq!(
        totp_state(&app, &tokens.access).await,
        json!({"enabled": true, "enabledAt": jwtapp::auth::rfc3339(app.now() as i64),
               "pending": false, "recoveryCodesLeft": 10})
    );
    assert_mfa_required(&app.try_login("user", "user").await, "a login, now");
    // While it is on, neither a new setup nor another enable is allowed.
    let again = app
        .post_json("/api/auth/totp/setup", Some(&tokens.access), "{}")
        .await;
    again.assert_error(422);
    enable(&totp_of_step(&second, step + 1))
        .await
        .assert_error(422);
}

#[rocket::async_test]
async fn turning_the_factor_off_needs_the_password() {
    let app = TestApp::spawn().await;
    let user = enrol(&app, "user", "user").await;
    let disable = async |password: &str| {
        app.post_json(
            "/api/auth/totp/disable",
            Some(&user.tokens.access),
            &json!({ "password": password }).to_string(),
        )
        .await
    };

    let wrong = disable("wrong").await;
    let still_on = totp_state(&app, &user.tokens.access).await;
    let off = disable("user").await;

    wrong.assert_error(403);
    assert_eq!(still_on["enabled"], true);
    assert_eq!(off.status, Status::Ok, "{}", off.body);
    assert_eq!(off.json(), json!({"message": "Two-step sign-in is off"}));
    assert_eq!(
        totp_state(&app, &user.tokens.access).await,
        json!({"enabled": false, "enabledAt": null, "pending": false, "recoveryCodesLeft": 0})
    );
    let login = app.try_login("user", "user").await;
    assert_eq!(
        login.status,
        Status::Ok,
        "the password alone: {}",
        login.body
    );
    assert_eq!(keys(&login.json()), ["accessToken", "refreshToken"]);
    disable("user").await.assert_error(422);
}

#[rocket::async_test]
async fn the_page_enrols_with_an_inline_svg_qr_code_and_the_secret_as_text() {
    let app = TestApp::spawn().await;
    next_step(&app);
    let browser = Browser::new(&app);
    browser.sign_in("user", "user").await;

    let off = browser.get("/account/2fa").await;
    assert_eq!(off.status, Status::Ok, "{}", off.body);
    assert!(
        off.body
            .contains("Two-step sign-in is <strong>off</strong>")
    );
    let token = csrf_field(&off.body);
    let page = browser
        .post_form("/account/2fa/setup", &[("csrf_token", &token)])
        .await;

    assert_eq!(page.status, Status::Ok, "{}", page.body);
    // No script anywhere, and the policy that forbids it is on this page as on every other.
    assert_eq!(page.header("Content-Security-Policy"), Some(PAGE_CSP));
    assert!(!page.body.contains("<script"), "{}", page.body);
    // The QR code is SVG markup inside the page, made on the server: no image to fetch, no
    // script to draw it, nothing that refers elsewhere.
    let qr = page
        .body
        .split("<div class=\"qr\">")
        .nth(1)
        .and_then(|rest| rest.split("</div>").next())
        .expect("the QR code's box");
    assert!(qr.trim_start().starts_with("<svg "), "{qr}");
    assert!(qr.trim_end().ends_with("</svg>"), "{qr}");
    for absent in ["<?xml", "<script", "<img", "href", "<foreignObject", "url("] {
        assert!(!qr.contains(absent), "{absent} in {qr}");
    }
    // The secret as text, and the URI, whose QR code it is.
    let secret = text_after(&page.body, r#"<code class="secret" id="totp-secret">"#);
    let bytes = base32_decode(&secret).expect("the secret is base32");
    let uri = unescape_html(&text_after(&page.body, r#"<code class="uri">"#));
    OtpAuth::parse(&uri).assert_describes("jwtapp", "user", &secret);
    assert_qr_code_of(qr, &uri);

    // Not on before a code confirms it: a reload shows the same secret, logins need no code.
    let reload = browser.get("/account/2fa").await;
    assert!(reload.body.contains(&secret), "{}", reload.body);
    let state = browser.get("/api/auth/totp").await.json();
    assert_eq!(
        (&state["enabled"], &state["pending"]),
        (&json!(false), &json!(true))
    );
    assert_eq!(app.try_login("user", "user").await.status, Status::Ok);
    let wrong = post_page_form(&browser, "/account/2fa/enable", &[("code", "000000")]).await;
    assert_eq!(wrong.status, Status::Unauthorized, "{}", wrong.body);
    assert!(
        wrong.body.contains("That code is not correct"),
        "{}",
        wrong.body
    );
    assert!(
        wrong.body.contains(&secret),
        "the setup stays: {}",
        wrong.body
    );
    assert_eq!(app.try_login("user", "user").await.status, Status::Ok);

    // The code the app shows turns it on; the recovery codes are shown this once.
    let code = totp_of_step(&bytes, step_of(app.now()));
    let on = post_page_form(&browser, "/account/2fa/enable", &[("code", &code)]).await;

    assert_eq!(on.status, Status::Ok, "{}", on.body);
    assert!(on.body.contains("Two-step sign-in is on."), "{}", on.body);
    let shown: Vec<&str> = on
        .body
        .split("<li><code>")
        .skip(1)
        .map(|rest| rest.split('<').next().unwrap_or_default())
        .collect();
    assert_eq!(shown.len(), 10, "{}", on.body);
    assert_eq!(text_after(&on.body, r#"<strong class="codes-left">"#), "10");
    let later = browser.get("/account/2fa").await;
    assert!(
        !later.body.contains(shown[0]),
        "recovery codes are not shown again"
    );
    assert!(!later.body.contains(&secret), "nor is the secret");
    assert_mfa_required(&app.try_login("user", "user").await, "a login, now");
    let state: Value = browser.get("/api/auth/totp").await.json();
    assert_eq!(state["enabled"], true);
}

#[rocket::async_test]
async fn the_page_turns_the_factor_off_with_the_password() {
    let app = TestApp::spawn().await;
    let user = enrol(&app, "user", "user").await;
    let browser = Browser::new(&app);
    let code_page = super::password_step(&browser, "user", "user").await;
    let signed_in = super::code_step(&browser, &code_page.body, &user.code(&app)).await;
    assert_eq!(signed_in.status, Status::SeeOther, "{}", signed_in.body);

    let wrong = post_page_form(&browser, "/account/2fa/disable", &[("password", "wrong")]).await;
    let still_on = app.try_login("user", "user").await;
    let off = post_page_form(&browser, "/account/2fa/disable", &[("password", "user")]).await;

    assert_eq!(wrong.status, Status::Forbidden, "{}", wrong.body);
    assert!(
        wrong.body.contains("The password is not correct."),
        "{}",
        wrong.body
    );
    assert_mfa_required(&still_on, "after a wrong password");
    assert_eq!(off.status, Status::Ok, "{}", off.body);
    assert!(
        off.body.contains("Two-step sign-in is off."),
        "{}",
        off.body
    );
    assert!(
        off.body
            .contains("Two-step sign-in is <strong>off</strong>"),
        "{}",
        off.body
    );
    assert_eq!(app.try_login("user", "user").await.status, Status::Ok);
}
