//! The browser flow in a real browser: headless Chromium driven over WebDriver (chromedriver)
//! against the real binary.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them). Without them the
//! test says that it was skipped, unless `JWTAPP_REQUIRE_BROWSER=1` (set by CI) makes that a
//! failure. `CHROMIUM` and `CHROMEDRIVER` name other binaries; `JWTAPP_SCREENSHOTS=<dir>` saves
//! a screenshot of each step.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::helpers::Server;

/// The access lifetime of the server under test: short, so the test can outlive it.
const ACCESS_TTL_SECS: u64 = 2;

fn find_binary(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Ok(path) = std::env::var(env) {
        return Some(PathBuf::from(path)).filter(|path| path.is_file());
    }
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
}

/// chromedriver on a free local port; killed when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start(binary: &Path) -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver { child, port }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser session and the server it talks to.
struct Session<'s> {
    browser: Client,
    server: &'s Server,
    /// Names the screenshots of this test.
    test: &'static str,
    screenshots: Option<PathBuf>,
    step: usize,
}

impl Session<'_> {
    async fn open(&mut self, path: &str) {
        self.browser
            .goto(&self.server.url(path))
            .await
            .expect("navigate");
        self.snap(path).await;
    }

    /// The path (and query) the browser is on now.
    async fn location(&self) -> String {
        let url = self.browser.current_url().await.expect("current URL");
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    async fn text(&self, css: &str) -> String {
        self.browser
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .text()
            .await
            .expect("text")
    }

    async fn page_text(&self) -> String {
        self.text("body").await
    }

    async fn fill(&self, css: &str, value: &str) {
        let field = self
            .browser
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        field.clear().await.expect("clear");
        field.send_keys(value).await.expect("type");
    }

    /// Clicks a submit button and waits for the page it leads to.
    async fn submit(&mut self, button_css: &str, label: &str) {
        let old_page = self
            .browser
            .find(Locator::Css("html"))
            .await
            .expect("the current page");
        self.browser
            .find(Locator::Css(button_css))
            .await
            .unwrap_or_else(|e| panic!("{button_css}: {e}"))
            .click()
            .await
            .expect("click");
        // The click only starts the navigation: wait until the old document is gone (its
        // elements go stale), then until the new one has loaded.
        let deadline = Instant::now() + Duration::from_secs(10);
        while old_page.tag_name().await.is_ok() {
            assert!(
                Instant::now() < deadline,
                "{label}: the form did not navigate"
            );
            rocket::tokio::time::sleep(Duration::from_millis(25)).await;
        }
        self.wait_for_load().await;
        self.snap(label).await;
    }

    async fn wait_for_load(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let state = self
                .browser
                .execute("return document.readyState", vec![])
                .await
                .ok();
            if state == Some(json!("complete")) {
                return;
            }
            assert!(Instant::now() < deadline, "page did not finish loading");
            rocket::tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn sign_in(&mut self, username: &str, password: &str) {
        self.fill("#username", username).await;
        self.fill("#password", password).await;
        self.submit(
            "form button[type=submit]",
            &format!("signed in as {username}"),
        )
        .await;
    }

    async fn snap(&mut self, label: &str) {
        let Some(dir) = &self.screenshots else { return };
        self.step += 1;
        let png = self.browser.screenshot().await.expect("screenshot");
        let name: String = label
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let file = format!("{}-{:02}-{name}.png", self.test, self.step);
        std::fs::write(dir.join(file), png).expect("save");
    }
}

/// A headless Chromium under chromedriver, with its own empty profile; closed when dropped.
/// `None` (the test then says it was skipped) when Chromium is not installed, unless
/// `JWTAPP_REQUIRE_BROWSER` makes that a failure.
struct Chromium {
    browser: Client,
    test: &'static str,
    _driver: Driver,
    _profile: tempfile::TempDir,
}

impl Chromium {
    async fn start(test: &'static str) -> Option<Chromium> {
        let chromium = find_binary(
            "CHROMIUM",
            &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
        );
        let chromedriver = find_binary(
            "CHROMEDRIVER",
            &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"],
        );
        let (Some(chromium), Some(chromedriver)) = (chromium, chromedriver) else {
            assert!(
                std::env::var_os("JWTAPP_REQUIRE_BROWSER").is_none(),
                "JWTAPP_REQUIRE_BROWSER is set but chromium or chromedriver is missing"
            );
            // Straight to the process's stderr: the harness captures `eprintln!` of passing tests.
            let _ = writeln!(
                std::io::stderr().lock(),
                "\nSKIPPED browser::{test}: chromium or chromedriver not found \
                 (apt-get install chromium chromium-driver)"
            );
            return None;
        };
        let driver = Driver::start(&chromedriver);
        let profile = tempfile::tempdir().expect("profile dir");
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    "--window-size=1000,800",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let browser = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .expect("a WebDriver session");
        Some(Chromium {
            browser,
            test,
            _driver: driver,
            _profile: profile,
        })
    }

    fn session<'s>(&self, server: &'s Server) -> Session<'s> {
        let screenshots = std::env::var_os("JWTAPP_SCREENSHOTS").map(PathBuf::from);
        if let Some(dir) = &screenshots {
            std::fs::create_dir_all(dir).expect("screenshot dir");
        }
        Session {
            browser: self.browser.clone(),
            server,
            test: self.test,
            screenshots,
            step: 0,
        }
    }
}

#[rocket::async_test]
async fn a_real_browser_walks_the_whole_application() {
    let Some(chromium) = Chromium::start("a_real_browser_walks_the_whole_application").await else {
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
    rocket::tokio::time::sleep(Duration::from_secs(ACCESS_TTL_SECS + 1)).await;
    session.open("/").await;
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
    let Some(chromium) = Chromium::start("a_foreign_page_cannot_lock_its_visitors_out").await
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
