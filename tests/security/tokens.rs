//! Forged and altered tokens on the default (HS256) configuration. Each is a plain 401 with the
//! reason in the body, and the user's real token keeps working.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde_json::json;

use crate::helpers::{SECRET, TestApp, forge, forge_with, now, raw_token, server_kid};
use crate::support::{
    BAD_ALGORITHM, BAD_CLAIMS, BAD_SIGNATURE, MALFORMED, NOT_YET_VALID, Sign,
    WRONG_ISSUER_OR_AUDIENCE, assert_ok, assert_refused, good_claims, part, signed, with, without,
};

#[rocket::async_test]
async fn a_forged_token_with_good_claims_is_accepted_so_the_refusals_below_mean_something() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;

    assert_ok(&app, &forge(&good_claims(&user.access)), "well forged").await;
}

#[rocket::async_test]
async fn alg_none_is_refused_in_every_spelling() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;
    let claims = good_claims(&user.access);
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
                &good_claims(&user.access),
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

    let token = signed(&header, &good_claims(&user.access), Sign::Hs256(b""));

    assert_refused(&app, "empty HMAC key", &token, BAD_SIGNATURE, &user.access).await;
}

#[rocket::async_test]
async fn a_token_relabelled_to_another_hmac_algorithm_is_refused_even_with_the_right_secret() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;
    let claims = good_claims(&user.access);
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
    let claims = crate::helpers::claims_of(&user.access);

    for (case, changed) in [
        ("another user", with(claims.clone(), "sub", json!("admin"))),
        (
            "another session",
            with(
                claims.clone(),
                "sid",
                crate::helpers::claims_of(&admin.access)["sid"].clone(),
            ),
        ),
        (
            "a later exp",
            with(claims.clone(), "exp", json!(now() + 86_400)),
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
    let claims = good_claims(&user.access);

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
    let claims = good_claims(&user.access);

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
    let claims = good_claims(&user.access);
    let later = now() + 120;

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
    let claims = good_claims(&user.access);
    let exp = now() + 600;

    for (case, value) in [
        ("exp as a string", json!(exp.to_string())),
        ("exp as a float", json!(exp as f64 + 0.5)),
        ("exp u64::MAX", json!(u64::MAX)),
        ("exp 1e300", json!(1e300)),
        ("exp null", json!(null)),
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
    let as_refresh = app
        .post_json("/api/auth/refresh", Some(&user.access), "{}")
        .await;
    let as_logout = app
        .post_json("/api/auth/logout", Some(&user.access), "{}")
        .await;

    as_access.assert_error(401);
    assert_eq!(
        as_access.json()["description"],
        "an access token is required"
    );
    for reply in [as_refresh, as_logout] {
        reply.assert_error(401);
        assert_eq!(reply.json()["description"], "a refresh token is required");
    }
    assert_ok(&app, &user.access, "the access token still works").await;
    let refreshed = app
        .post_json("/api/auth/refresh", Some(&user.refresh), "{}")
        .await;
    assert_eq!(refreshed.status.code, 200, "{}", refreshed.body);
}

#[rocket::async_test]
async fn a_remembered_token_still_expires_on_time() {
    // The server remembers tokens it has verified; the clock is checked on every use anyway.
    let app = TestApp::spawn_with(|f| {
        f.merge(("auth.access_ttl_secs", 1))
            .merge(("auth.leeway_secs", 0))
    })
    .await;
    let user = app.login("user", "user").await;
    for _ in 0..3 {
        let reply = app.get("/api/user-sample", Some(&user.access)).await;
        assert_eq!(reply.status, rocket::http::Status::Ok, "{}", reply.body);
    }
    rocket::tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let reply = app.get("/api/user-sample", Some(&user.access)).await;
    reply.assert_error(401);
    assert!(reply.body.contains("expired"), "{}", reply.body);
    // And as a refresh token it was never acceptable, remembered or not.
    app.post_json("/api/auth/refresh", Some(&user.access), "{}")
        .await
        .assert_error(401);
    let fresh = app.login("user", "user").await;
    let reply = app.get("/api/user-sample", Some(&fresh.access)).await;
    assert_eq!(reply.status, rocket::http::Status::Ok);
}
