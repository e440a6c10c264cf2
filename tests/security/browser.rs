//! The outside review's cross-site lockout, replayed in a real browser (see [`Chromium`]): a page
//! of another site makes its visitor's browser post wrong passwords to jwtapp.

use std::io::Write;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::support::{Chromium, Server};

/// A page of another site (served from `localhost`, while jwtapp is at `127.0.0.1`) that makes
/// the visiting browser post wrong passwords to jwtapp's JSON login the way the review did: a
/// `no-cors` fetch with a `Blob` body, which needs no preflight and has no `Content-Type`.
fn serve_attacker_page(target: String) -> u16 {
    use std::io::{BufRead, BufReader};
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().expect("address").port();
    let page = format!(
        r#"<!DOCTYPE html><title>cute cats</title><script>
(async () => {{
  const body = JSON.stringify({{username: "user", password: "a wrong guess"}});
  let sent = 0;
  for (let i = 0; i < 60; i++) {{
    try {{
      await fetch("{target}", {{method: "POST", mode: "no-cors", body: new Blob([body])}});
    }} catch (e) {{}}
    sent++;
  }}
  document.title = "sent " + sent;
}})();
</script>"#
    );
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let mut stream = &stream;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{page}",
                page.len()
            );
        }
    });
    port
}

#[rocket::async_test]
async fn a_foreign_page_cannot_lock_its_visitors_out() {
    let Some(chromium) =
        Chromium::start("security::browser::a_foreign_page_cannot_lock_its_visitors_out").await
    else {
        return;
    };
    let server = Server::start("");
    let attacker = serve_attacker_page(server.url("/api/auth/login"));
    let mut session = chromium.session(&server);

    // The visitor opens the attacker's page, which fires 60 logins at jwtapp from their browser
    // (and their address): more than the 5 failures per user and the 50 per address.
    session
        .browser
        .goto(&format!("http://localhost:{attacker}/"))
        .await
        .expect("open the attacker's page");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let title = session.browser.title().await.expect("title");
        if title == "sent 60" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the page did not finish: {title}"
        );
        rocket::tokio::time::sleep(Duration::from_millis(100)).await;
    }
    session.snap("the attacker's page").await;

    // None of it counted: the visitor signs in at once.
    session.open("/login").await;
    session.sign_in("user", "user").await;
    assert_eq!(session.location().await, "/");
    assert!(session.page_text().await.contains("Signed in as user"));
    session.browser.close().await.expect("close the browser");
}
