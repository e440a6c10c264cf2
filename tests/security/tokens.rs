//! Forged, altered and expired tokens on the default (HS256) configuration. Each is a plain 401
//! with the reason in the body, and the user's real token keeps working.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use rocket::http::Header;
use serde_json::json;

use crate::support::{
    BAD_ALGORITHM, BAD_CLAIMS, BAD_SIGNATURE, EXPIRED, MALFORMED, NOT_A_REFRESH_TOKEN,
    NOT_AN_ACCESS_TOKEN, NOT_YET_VALID, SECRET, SESSION_ENDED, Sign, TestApp,
    WRONG_ISSUER_OR_AUDIENCE, assert_ok, assert_refused, claims_of, forge, forge_with, good_claims,
    part, raw_token, server_kid, signed, sleep_until_second, with, without,
};

#[rocket::async_test]
async fn a_forged_token_with_good_claims_is_accepted_so_the_refusals_below_mean_something() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;

    assert_ok(
        &app,
        &forge(&good_claims(&app, &user.access)),
        "well forged",
    )
    .await;
}

#[rocket::async_test]
async fn alg_none_is_refused_in_every_spelling() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;
    let claims = good_claims(&app, &user.access);
    let real_signature = user.access.rsplit('.').next().expect("signature");

    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = json!({"alg": alg, "typ": "JWT", "kid": server_kid()});
        for signature in ["", real_signature] {
            let token = raw_token(&header, &claims, signature);
            let case = format!("alg {alg}, signature {signature:?}");
            assert_refused(&app, &case, &token, MALFORMED, &user.access).await;
        }
    }
}

#[rocket::async_test]
async fn an_algorithm_nobody_knows_is_refused() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;
    let claims = good_claims(&app, &user.access);
    let real_signature = user.access.rsplit('.').next().expect("signature");

    for header in [
        json!({"alg": "XX999", "typ": "JWT", "kid": server_kid()}),
        json!({"alg": "XX999", "typ": "JWT"}),
        json!({"typ": "JWT", "kid": server_kid()}),
    ] {
        let token = raw_token(&header, &claims, real_signature);
        let case = format!("header {header}");
        assert_refused(&app, &case, &token, MALFORMED, &user.access).await;
    }
}

#[rocket::async_test]
async fn a_stripped_truncated_or_foreign_signature_is_refused() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;
    let (message, signature) = user.access.rsplit_once('.').expect("signature");
    let refresh_signature = user.refresh.rsplit('.').next().expect("signature");
    let signature_bytes = URL_SAFE_NO_PAD.decode(signature).expect("base64url");

    let cases = [
        ("stripped signature", format!("{message}.")),
        (
            "truncated signature",
            format!(
                "{message}.{}",
                URL_SAFE_NO_PAD.encode(&signature_bytes[..29])
            ),
        ),
        (
            "another key's signature",
            forge_with(
                &good_claims(&app, &user.access),
                Algorithm::HS256,
                b"another-secret-another-secret-another-secret",
            ),
        ),
        (
            "another token's signature",
            format!("{message}.{refresh_signature}"),
        ),
    ];
    for (case, token) in cases {
        assert_refused(&app, case, &token, BAD_SIGNATURE, &user.access).await;
    }
    // Cut to 41 characters, a length no base64url text has (41 mod 4 is 1), the signature is
    // no base64url any more. (A cut to 39 characters may still decode, depending on its bits.)
    assert_eq!(signature.len(), 43);
    let cut = format!("{message}.{}", &signature[..41]);
    assert_refused(
        &app,
        "signature cut mid-character",
        &cut,
        MALFORMED,
        &user.access,
    )
    .await;
}

#[rocket::async_test]
async fn an_hmac_with_an_empty_key_is_refused() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;
    let header = json!({"alg": "HS256", "typ": "JWT", "kid": server_kid()});

    let token = signed(&header, &good_claims(&app, &user.access), Sign::Hs256(b""));

    assert_refused(&app, "empty HMAC key", &token, BAD_SIGNATURE, &user.access).await;
}

#[rocket::async_test]
async fn a_token_relabelled_to_another_hmac_algorithm_is_refused_even_with_the_right_secret() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;
    let claims = good_claims(&app, &user.access);
    let (_, rest) = user.access.split_once('.').expect("header");

    for alg in [Algorithm::HS384, Algorithm::HS512] {
        let case = format!("signed with {alg:?} and our secret");
        let token = forge_with(&claims, alg, SECRET.as_bytes());
        assert_refused(&app, &case, &token, BAD_ALGORITHM, &user.access).await;

        // Only the label changed: the HS256 signature is still there.
        let header = json!({"alg": format!("{alg:?}"), "typ": "JWT", "kid": server_kid()});
        let relabelled = format!("{}.{rest}", part(&header));
        let case = format!("relabelled {alg:?}");
        assert_refused(&app, &case, &relabelled, BAD_ALGORITHM, &user.access).await;
    }
}

#[rocket::async_test]
async fn changed_claims_under_the_original_signature_are_refused() {
    let app = TestApp::spawn().await;
    let admin = app.login("admin", "admin").await;
    let user = app.login("user", "user").await;
    let (head, rest) = user.access.split_once('.').expect("header");
    let signature = rest.rsplit('.').next().expect("signature");
    let claims = claims_of(&user.access);

    for (case, changed) in [
        ("another user", with(claims.clone(), "sub", json!("admin"))),
        (
            "another session",
            with(
                claims.clone(),
                "sid",
                claims_of(&admin.access)["sid"].clone(),
            ),
        ),
        (
            "a later exp",
            with(claims.clone(), "exp", json!(app.now() + 86_400)),
        ),
        (
            "refresh type",
            with(claims.clone(), "typ", json!("refresh")),
        ),
    ] {
        let token = format!("{head}.{}.{signature}", part(&changed));
        assert_refused(&app, case, &token, BAD_SIGNATURE, &user.access).await;
    }
}

#[rocket::async_test]
async fn a_token_missing_a_claim_is_refused() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;
    let claims = good_claims(&app, &user.access);

    for claim in [
        "exp", "aud", "iss", "typ", "sub", "nbf", "iat", "sid", "jti",
    ] {
        let token = forge(&without(claims.clone(), claim));
        let case = format!("missing {claim}");
        assert_refused(&app, &case, &token, BAD_CLAIMS, &user.access).await;
    }
}

#[rocket::async_test]
async fn a_token_for_another_audience_or_issuer_is_refused() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;
    let claims = good_claims(&app, &user.access);

    for (case, claims) in [
        (
            "wrong aud",
            with(claims.clone(), "aud", json!("another-service")),
        ),
        (
            "wrong iss",
            with(claims.clone(), "iss", json!("https://evil.example")),
        ),
        ("empty iss", with(claims.clone(), "iss", json!(""))),
    ] {
        assert_refused(
            &app,
            case,
            &forge(&claims),
            WRONG_ISSUER_OR_AUDIENCE,
            &user.access,
        )
        .await;
    } // Our tokens have exactly one audience: a list does not parse, whoever is in it.
    for aud in [
        json!(["another-service"]),
        json!(["jwtapp"]),
        json!(["jwtapp", "other"]),
    ] {
        let token = forge(&with(claims.clone(), "aud", aud.clone()));
        let case = format!("aud {aud}");
        assert_refused(&app, &case, &token, BAD_CLAIMS, &user.access).await;
    }
}

#[rocket::async_test]
async fn a_token_from_the_future_is_refused() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;
    let claims = good_claims(&app, &user.access);
    let later = app.now() + 120;

    for (case, claims) in [
        ("future nbf", with(claims.clone(), "nbf", json!(later))),
        ("future iat", with(claims.clone(), "iat", json!(later))),
    ] {
        assert_refused(&app, case, &forge(&claims), NOT_YET_VALID, &user.access).await;
    }
}

#[rocket::async_test]
async fn an_exp_that_is_no_plain_timestamp_is_refused() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;
    let claims = good_claims(&app, &user.access);
    let exp = app.now() + 600;

    for (case, value) in [
        ("exp as a string", json!(exp.to_string())),
        ("exp as a float", json!(exp as f64 + 0.5)),
        ("exp u64::MAX", json!(u64::MAX)),
        ("exp 1e300", json!(1e300)),
        ("exp null", json!(null)),
        ("negative exp", json!(-1)),
    ] {
        let token = forge(&with(claims.clone(), "exp", value));
        assert_refused(&app, case, &token, BAD_CLAIMS, &user.access).await;
    }
}

#[rocket::async_test]
async fn a_refresh_token_is_no_access_token_and_an_access_token_no_refresh_token() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;

    let as_access = app.get("/api/user-sample", Some(&user.refresh)).await;
    let as_info = app.get("/api/auth/info", Some(&user.refresh)).await;
    let as_refresh = app.refresh(&user.access).await;
    let as_logout = app
        .post_json("/api/auth/logout", Some(&user.access), "{}")
        .await;

    for reply in [as_access, as_info] {
        reply.assert_error(401);
        assert_eq!(reply.json()["description"], NOT_AN_ACCESS_TOKEN);
    }
    for reply in [as_refresh, as_logout] {
        reply.assert_error(401);
        assert_eq!(reply.json()["description"], NOT_A_REFRESH_TOKEN);
    }
    assert_ok(&app, &user.access, "the access token still works").await;
    let refreshed = app.refresh(&user.refresh).await;
    assert_eq!(refreshed.status.code, 200, "{}", refreshed.body);
}

#[rocket::async_test]
async fn a_token_of_an_unknown_type_is_refused() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;

    for typ in [json!("id"), json!("Access"), json!(""), json!(1)] {
        let token = forge(&with(good_claims(&app, &user.access), "typ", typ.clone()));
        let case = format!("typ {typ}");
        assert_refused(&app, &case, &token, BAD_CLAIMS, &user.access).await;
    }
}

#[rocket::async_test]
async fn a_well_signed_token_of_an_unknown_or_another_users_session_is_refused() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;
    let admin = app.login("admin", "admin").await;
    let claims = good_claims(&app, &user.access);

    // The user's name on the admin's session: both exist, but not together.
    let mixed = forge(&with(
        claims.clone(),
        "sid",
        claims_of(&admin.access)["sid"].clone(),
    ));
    assert_refused(
        &app,
        "another user's session",
        &mixed,
        SESSION_ENDED,
        &user.access,
    )
    .await;
    app.get("/api/admin-sample", Some(&mixed))
        .await
        .assert_error(401);
    let unknown = forge(&with(claims, "sid", json!("no-such-session")));
    assert_refused(
        &app,
        "an unknown session",
        &unknown,
        SESSION_ENDED,
        &user.access,
    )
    .await;
}

/// Expiry and the leeway, to the second, by the app's clock: `exp`, `nbf` and `iat` are allowed
/// `leeway_secs` (5 in Rocket.toml) of clock skew, and not one second more.
#[rocket::async_test]
async fn the_leeway_is_exactly_leeway_secs() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;
    let claims = good_claims(&app, &user.access);
    let now = app.now();

    assert_ok(
        &app,
        &forge(&with(claims.clone(), "exp", json!(now - 5))),
        "exp 5 s ago",
    )
    .await;
    assert_refused(
        &app,
        "exp 6 s ago",
        &forge(&with(claims.clone(), "exp", json!(now - 6))),
        EXPIRED,
        &user.access,
    )
    .await;
    for claim in ["nbf", "iat"] {
        let soon = forge(&with(claims.clone(), claim, json!(now + 5)));
        assert_ok(&app, &soon, &format!("{claim} in 5 s")).await;
        let later = forge(&with(claims.clone(), claim, json!(now + 6)));
        let case = format!("{claim} in 6 s");
        assert_refused(&app, &case, &later, NOT_YET_VALID, &user.access).await;
    }
}

/// The server remembers the tokens it has verified; the clock is checked on every use anyway.
#[rocket::async_test]
async fn a_remembered_token_still_expires_on_time() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;
    let exp = claims_of(&user.access)["exp"].as_u64().unwrap();
    for _ in 0..3 {
        assert_ok(&app, &user.access, "a fresh token, verified and remembered").await;
    }

    // To the last second of its lifetime and leeway, the remembered token is good; one more and
    // it is not.
    app.clock().set(exp + 5);
    assert_ok(&app, &user.access, "at exp + leeway").await;
    app.clock().advance(1);
    let reply = app.get("/api/user-sample", Some(&user.access)).await;
    reply.assert_error(401);
    assert_eq!(reply.json()["description"], EXPIRED);
    // And as a refresh token it was never acceptable, remembered or not.
    app.refresh(&user.access).await.assert_error(401);
    let fresh = app.login("user", "user").await;
    assert_ok(&app, &fresh.access, "a new login").await;
}

/// The one real-time test of token expiry: on the system clock, as in production, an access
/// token of a one-second lifetime (no leeway) is refused once that second is over.
#[rocket::async_test]
async fn an_access_token_expires_by_the_system_clock() {
    let app = TestApp::spawn_on_system_clock(|f| {
        f.merge(("auth.access_ttl_secs", 1))
            .merge(("auth.leeway_secs", 0))
    })
    .await;
    let user = app.login("user", "user").await;
    let exp = claims_of(&user.access)["exp"].as_u64().unwrap();
    assert_ok(&app, &user.access, "a fresh token").await;

    sleep_until_second(exp + 1).await;

    let reply = app.get("/api/user-sample", Some(&user.access)).await;
    reply.assert_error(401);
    assert_eq!(reply.json()["description"], EXPIRED);
}

#[rocket::async_test]
async fn a_missing_or_malformed_authorization_header_is_401() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;

    app.get("/api/user-sample", None).await.assert_error(401);
    for value in [
        "".to_owned(),
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
        format!("Basic {}", user.access),
        format!("Token {}", user.access),
        format!("Bearer {} extra", user.access),
        "Bearer not-a-jwt".to_owned(),
        "Bearer a.b.c".to_owned(),
        "Bearer \u{0}".to_owned(),
        format!("Bearer {}", "A".repeat(64 * 1024)),
    ] {
        let request = app
            .client
            .get("/api/user-sample")
            .header(Header::new("Authorization", value.clone()));
        let reply = app.send(request).await;
        assert_eq!(reply.status.code, 401, "{value:.40}: {}", reply.body);
        reply.assert_error(401);
    }
    assert_ok(&app, &user.access, "the real token").await;
}
