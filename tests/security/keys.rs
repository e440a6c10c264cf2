//! Keys: the `kid` alone picks a configured key, header fields that name other keys are ignored,
//! keys rotate without logging anybody out, and the JWK Set publishes public keys only.

use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::{JwkSet, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rocket::figment::Figment;
use rocket::http::Status;
use serde_json::{Value, json};

use crate::support::{
    BAD_ALGORITHM, BAD_SIGNATURE, Ed25519Key, MALFORMED, SECRET, Sign, TestApp, Tokens,
    UNKNOWN_KEY, assert_ok, assert_refused, good_claims, header_of, server_kid, signed,
};
use jwtapp::auth::{
    KeyRing, KeySettings, Pem, SigningAlgorithm, TokenKeys, TokenSettings, TokenType, hs256_key_id,
};

/// The signing secret after a rotation.
const NEW_SECRET: &str = "rotated-secret-9876543210-zyxwvutsrqponmlkjihgfedcba";

/// A test app on the database of another one: a restart with other keys, same logins.
async fn restart_on(database: &Path, keys: impl FnOnce(Figment) -> Figment) -> TestApp {
    TestApp::spawn_with(|figment| keys(figment.merge(("auth.database", database)))).await
}

/// Settings that sign with `key` (EdDSA).
fn eddsa(figment: Figment, key: &Ed25519Key) -> Figment {
    figment
        .merge(("auth.algorithm", "EdDSA"))
        .merge(("auth.private_key", key.private_pem()))
}

async fn refresh(app: &TestApp, refresh_token: &str) -> (Status, Value) {
    let reply = app.refresh(refresh_token).await;
    let body = reply.json();
    (reply.status, body)
}

#[rocket::async_test]
async fn tokens_carry_the_kid_of_the_signing_key() {
    let app = TestApp::spawn().await;
    let key = Ed25519Key::generate();
    let eddsa_app = TestApp::spawn_with(|f| eddsa(f, &key)).await;

    let hs256 = app.login("user", "user").await;
    let ed = eddsa_app.login("user", "user").await;

    for token in [&hs256.access, &hs256.refresh] {
        assert_eq!(
            header_of(token),
            json!({"alg": "HS256", "typ": "JWT", "kid": server_kid()})
        );
    }
    for token in [&ed.access, &ed.refresh] {
        assert_eq!(
            header_of(token),
            json!({"alg": "EdDSA", "typ": "JWT", "kid": key.kid()})
        );
    }
}

#[rocket::async_test]
async fn odd_or_unknown_kids_are_refused_before_any_key_is_tried() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;
    let claims = good_claims(&app, &user.access);

    let kids = [
        json!("../../etc/passwd"),
        json!("/dev/null"),
        json!("x' OR '1'='1"),
        json!(""),
        json!("k".repeat(65)),
        json!(format!("{}/", server_kid())),
        json!(format!("{}\u{0}", server_kid())),
        json!("ключ"),
        json!("no-such-key"),
        json!("k".repeat(64)),
        json!(null),
    ];
    // Signed with our own secret (only the kid is wrong) and with an empty key (the /dev/null trick).
    for kid in kids {
        for (with_key, key) in [("our secret", SECRET.as_bytes()), ("an empty key", b"")] {
            let header = json!({"alg": "HS256", "typ": "JWT", "kid": kid});
            let token = signed(&header, &claims, Sign::Hs256(key));
            let case = format!("kid {kid}, signed with {with_key}");
            assert_refused(&app, &case, &token, UNKNOWN_KEY, &user.access).await;
        }
    }
    let no_kid = signed(
        &json!({"alg": "HS256", "typ": "JWT"}),
        &claims,
        Sign::Hs256(SECRET.as_bytes()),
    );
    assert_refused(&app, "no kid", &no_kid, UNKNOWN_KEY, &user.access).await;
    for kid in [json!(7), json!(["a"]), json!({"kid": server_kid()})] {
        let header = json!({"alg": "HS256", "typ": "JWT", "kid": kid});
        let token = signed(&header, &claims, Sign::Hs256(SECRET.as_bytes()));
        let case = format!("kid {kid}");
        assert_refused(&app, &case, &token, MALFORMED, &user.access).await;
    }
}

/// Tokens that bring their own key (`jwk`) or point at one (`jku`, `x5u`), signed by the attacker.
/// Returns after asserting each is refused and that nothing connected to the URLs they name.
async fn assert_header_keys_ignored(app: &TestApp, user: &Tokens, our_kid: &str, eddsa: bool) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    listener.set_nonblocking(true).expect("non-blocking");
    let url = format!(
        "http://{}/jwks.json",
        listener.local_addr().expect("address")
    );
    let attacker = Ed25519Key::generate();
    let attacker_secret = b"attacker-secret-attacker-secret-attacker-secret";
    let attacker_oct = json!({"kty": "oct", "k": URL_SAFE_NO_PAD.encode(attacker_secret)});
    let claims = good_claims(app, &user.access);
    let (ed_with_our_kid, hs_with_our_kid) = if eddsa {
        (BAD_SIGNATURE, BAD_ALGORITHM)
    } else {
        (BAD_ALGORITHM, BAD_SIGNATURE)
    };

    let cases = [
        (
            "jku to the attacker's JWK Set",
            json!({"alg": "EdDSA", "kid": attacker.kid(), "jku": url}),
            UNKNOWN_KEY,
        ),
        (
            "x5u to the attacker's certificate",
            json!({"alg": "EdDSA", "kid": attacker.kid(), "x5u": url}),
            UNKNOWN_KEY,
        ),
        (
            "the attacker's jwk, no kid",
            json!({"alg": "EdDSA", "jwk": attacker.jwk()}),
            UNKNOWN_KEY,
        ),
        (
            "the attacker's jwk, jku and x5u together",
            json!({"alg": "EdDSA", "kid": attacker.kid(), "jwk": attacker.jwk(), "jku": url, "x5u": url}),
            UNKNOWN_KEY,
        ),
        (
            "our kid with the attacker's jwk and jku",
            json!({"alg": "EdDSA", "kid": our_kid, "jwk": attacker.jwk(), "jku": url}),
            ed_with_our_kid,
        ),
    ];
    for (case, header, expected) in cases {
        let token = signed(&header, &claims, Sign::Ed25519(&attacker.signing));
        assert_refused(app, case, &token, expected, &user.access).await;
    }
    let header = json!({"alg": "HS256", "kid": our_kid, "jwk": attacker_oct, "jku": url});
    let token = signed(&header, &claims, Sign::Hs256(attacker_secret));
    assert_refused(
        app,
        "our kid with the attacker's HMAC jwk",
        &token,
        hs_with_our_kid,
        &user.access,
    )
    .await;

    std::thread::sleep(Duration::from_millis(200));
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("a token made the server connect to {url}: {other:?}"),
    }
}

#[rocket::async_test]
async fn keys_named_in_the_header_are_never_used_or_fetched_hs256() {
    let app = TestApp::spawn().await;
    let user = app.login("user", "user").await;

    assert_header_keys_ignored(&app, &user, &server_kid(), false).await;
}

#[rocket::async_test]
async fn keys_named_in_the_header_are_never_used_or_fetched_eddsa() {
    let key = Ed25519Key::generate();
    let app = TestApp::spawn_with(|f| eddsa(f, &key)).await;
    let user = app.login("user", "user").await;

    assert_header_keys_ignored(&app, &user, &key.kid(), true).await;
}

#[rocket::async_test]
async fn an_hs256_key_rotates_without_logging_anybody_out_until_it_is_removed() {
    let before = TestApp::spawn().await;
    let old = before.login("user", "user").await;
    let database = before.database();

    // The new secret signs; the old one moves to retired_keys with nothing else to configure.
    let rotated = restart_on(&database, |f| {
        f.merge(("auth.secret", NEW_SECRET))
            .merge(("auth.retired_keys", json!([{ "secret": SECRET }])))
    })
    .await;
    let new = rotated.login("user", "user").await;
    let new_kid = hs256_key_id(NEW_SECRET.as_bytes());

    assert_ok(
        &rotated,
        &old.access,
        "an old access token after the rotation",
    )
    .await;
    let (status, body) = refresh(&rotated, &old.refresh).await;
    assert_eq!(
        status,
        Status::Ok,
        "an old refresh token after the rotation: {body}"
    );
    let renewed = body["accessToken"].as_str().expect("accessToken");
    assert_eq!(
        header_of(renewed)["kid"],
        new_kid,
        "renewed under the new key"
    );
    assert_ok(&rotated, renewed, "the renewed access token").await;
    assert_eq!(header_of(&new.access)["kid"], new_kid);
    assert_eq!(header_of(&new.refresh)["kid"], new_kid);

    // Once the retired key is removed, what it signed is refused; the rest is untouched.
    let removed = restart_on(&database, |f| f.merge(("auth.secret", NEW_SECRET))).await;

    assert_refused(
        &removed,
        "old access token, key removed",
        &old.access,
        UNKNOWN_KEY,
        &new.access,
    )
    .await;
    let (status, body) = refresh(&removed, &old.refresh).await;
    assert_eq!(status, Status::Unauthorized, "{body}");
    assert_eq!(body["description"], UNKNOWN_KEY);
    assert_ok(&removed, renewed, "a token of the new key").await;
    assert_eq!(refresh(&removed, &new.refresh).await.0, Status::Ok);
}

#[rocket::async_test]
async fn an_eddsa_key_rotates_without_logging_anybody_out_until_it_is_removed() {
    let old_key = Ed25519Key::generate();
    let new_key = Ed25519Key::generate();
    let before = TestApp::spawn_with(|f| eddsa(f, &old_key)).await;
    let old = before.login("user", "user").await;
    let database = before.database();
    // The keys as files this time, the old one by its public half only.
    let new_private = before.dir.path().join("new-ed25519.pem");
    let old_public = before.dir.path().join("old-ed25519.pub.pem");
    std::fs::write(&new_private, new_key.private_pem()).expect("write key");
    std::fs::write(&old_public, old_key.public_pem()).expect("write key");

    let rotated = restart_on(&database, |f| {
        f.merge(("auth.algorithm", "EdDSA"))
            .merge(("auth.private_key_file", &new_private))
            .merge((
                "auth.retired_keys",
                json!([{ "public_key_file": old_public }]),
            ))
    })
    .await;
    let new = rotated.login("user", "user").await;

    assert_eq!(header_of(&old.access)["kid"], old_key.kid());
    assert_eq!(header_of(&new.access)["kid"], new_key.kid());
    assert_ok(
        &rotated,
        &old.access,
        "an old access token after the rotation",
    )
    .await;
    let (status, body) = refresh(&rotated, &old.refresh).await;
    assert_eq!(
        status,
        Status::Ok,
        "an old refresh token after the rotation: {body}"
    );
    let renewed = body["accessToken"].as_str().expect("accessToken");
    assert_eq!(header_of(renewed)["kid"], new_key.kid());

    let removed = restart_on(&database, |f| eddsa(f, &new_key)).await;

    assert_refused(
        &removed,
        "old access token, key removed",
        &old.access,
        UNKNOWN_KEY,
        &new.access,
    )
    .await;
    let (status, body) = refresh(&removed, &old.refresh).await;
    assert_eq!(status, Status::Unauthorized, "{body}");
    assert_eq!(body["description"], UNKNOWN_KEY);
    assert_ok(&removed, renewed, "a token of the new key").await;
}

#[rocket::async_test]
async fn switching_from_hs256_to_eddsa_keeps_logins_when_the_secret_is_retired() {
    let before = TestApp::spawn().await;
    let old = before.login("user", "user").await;
    let key = Ed25519Key::generate();

    let after = restart_on(&before.database(), |f| {
        eddsa(f, &key).merge(("auth.retired_keys", json!([{ "secret": SECRET }])))
    })
    .await;
    let new = after.login("user", "user").await;

    assert_ok(&after, &old.access, "the HS256 token after the switch").await;
    assert_eq!(header_of(&new.access)["alg"], "EdDSA");
    assert_eq!(refresh(&after, &old.refresh).await.0, Status::Ok);
}

#[rocket::async_test]
async fn the_jwks_publishes_the_ed25519_keys_and_another_service_can_verify_with_it() {
    let active = Ed25519Key::generate();
    let retired = Ed25519Key::generate();
    let retired_secret = "a-retired-hmac-secret-that-must-never-be-published";
    let app = TestApp::spawn_with(|f| {
        eddsa(f, &active).merge((
            "auth.retired_keys",
            json!([{ "private_key": retired.private_pem() }, { "secret": retired_secret }]),
        ))
    })
    .await;
    let user = app.login("user", "user").await;

    let reply = app.get("/.well-known/jwks.json", None).await;

    assert_eq!(reply.status, Status::Ok);
    assert_eq!(reply.header("Content-Type"), Some("application/json"));
    assert_eq!(reply.header("Cache-Control"), Some("public, max-age=300"));
    assert_eq!(reply.json(), json!({"keys": [active.jwk(), retired.jwk()]}));
    assert!(!reply.body.contains(retired_secret));
    assert!(!reply.body.contains(&URL_SAFE_NO_PAD.encode(retired_secret)));

    // What another service does: pick the JWK by the token's kid, and check the claims.
    let set: JwkSet = serde_json::from_str(&reply.body).expect("a JWK Set");
    let kid = jsonwebtoken::decode_header(&user.access)
        .expect("header")
        .kid
        .expect("kid");
    let jwk = set.find(&kid).expect("the token's key is published");
    assert_eq!(
        jwk.thumbprint(ThumbprintHash::SHA256).expect("thumbprint"),
        kid
    );
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&["jwtapp"]);
    validation.set_issuer(&["jwtapp"]);
    let key = DecodingKey::from_jwk(jwk).expect("a decoding key");
    let verified = jsonwebtoken::decode::<Value>(&user.access, &key, &validation)
        .expect("the access token verifies with the published key");
    assert_eq!(verified.claims["sub"], "user");
    assert_eq!(verified.claims["typ"], "access");
    assert_ok(&app, &user.access, "the token itself").await;
}

#[rocket::async_test]
async fn an_hs256_server_publishes_no_keys() {
    let app =
        TestApp::spawn_with(|f| f.merge(("auth.retired_keys", json!([{ "secret": NEW_SECRET }]))))
            .await;

    let reply = app.get("/.well-known/jwks.json", None).await;

    assert_eq!(reply.status, Status::Ok);
    assert_eq!(reply.body, r#"{"keys":[]}"#);
    assert_eq!(reply.header("Content-Type"), Some("application/json"));
    assert_eq!(reply.header("Cache-Control"), Some("public, max-age=300"));
}

#[rocket::async_test]
async fn an_ed25519_public_key_is_never_an_hmac_secret() {
    let active = Ed25519Key::generate();
    let retired = Ed25519Key::generate();
    let app = TestApp::spawn_with(|f| {
        eddsa(f, &active).merge((
            "auth.retired_keys",
            json!([{ "private_key": retired.private_pem() }, { "secret": NEW_SECRET }]),
        ))
    })
    .await;
    let user = app.login("user", "user").await;
    let claims = good_claims(&app, &user.access);

    // The classic confusion: relabel to HS256 and use the public key, which anyone can fetch
    // from the JWK Set, as the HMAC secret; in every form it is published or stored in.
    for key in [&active, &retired] {
        let public_pem = key.public_pem();
        let der = STANDARD
            .decode(
                public_pem
                    .lines()
                    .filter(|l| !l.starts_with("-----"))
                    .collect::<String>(),
            )
            .expect("PEM body");
        let x = URL_SAFE_NO_PAD.encode(key.public_bytes());
        let forms: [(&str, &[u8]); 4] = [
            ("raw", &key.public_bytes()),
            ("PEM", public_pem.as_bytes()),
            ("DER", &der),
            ("JWK x", x.as_bytes()),
        ];
        for (form, secret) in forms {
            let header = json!({"alg": "HS256", "typ": "JWT", "kid": key.kid()});
            let token = signed(&header, &claims, Sign::Hs256(secret));
            let case = format!("HS256 with the {form} public key of {}", key.kid());
            assert_refused(&app, &case, &token, BAD_ALGORITHM, &user.access).await;
        }
    }
    // And the other way round: an EdDSA signature under the kid of an HS256 key.
    let attacker = Ed25519Key::generate();
    let header = json!({"alg": "EdDSA", "typ": "JWT", "kid": hs256_key_id(NEW_SECRET.as_bytes())});
    let token = signed(&header, &claims, Sign::Ed25519(&attacker.signing));
    assert_refused(
        &app,
        "EdDSA under an HS256 kid",
        &token,
        BAD_ALGORITHM,
        &user.access,
    )
    .await;
}

#[test]
fn the_same_inputs_mint_the_same_token_with_either_algorithm() {
    let key = Ed25519Key::generate();
    let settings = |algorithm, private_key| KeySettings {
        algorithm,
        secret: SECRET.as_bytes().to_vec().into(),
        private_key,
        key_id: None,
        retired: Vec::new(),
    };
    let hs256 = settings(SigningAlgorithm::Hs256, None);
    let eddsa = settings(
        SigningAlgorithm::EdDsa,
        Some(Pem::Inline(key.private_pem().into())),
    );
    let tokens = TokenSettings {
        issuer: "jwtapp".into(),
        audience: "jwtapp".into(),
        leeway_secs: 5,
        access_ttl_secs: 900,
        refresh_ttl_secs: 2_592_000,
    };

    for settings in [hs256, eddsa] {
        let ring = KeyRing::load(&settings).expect("keys");
        let keys = TokenKeys::new(&ring, tokens.clone()).expect("keys");
        let mint = || {
            keys.mint(TokenType::Refresh, "user", "sid", "jti", 1_000, u64::MAX)
                .expect("mint")
        };
        assert_eq!(mint(), mint(), "{:?}", settings.algorithm);
    }
}
