//! A real browser for the tests that need one: headless Chromium driven over WebDriver
//! (chromedriver), against the real binary ([`Server`]).
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them). Without them a
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

use super::Server;

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
pub struct Session<'s> {
    pub browser: Client,
    server: &'s Server,
    /// Names the screenshots of this test.
    test: &'static str,
    screenshots: Option<PathBuf>,
    step: usize,
}

impl Session<'_> {
    pub async fn open(&mut self, path: &str) {
        self.browser
            .goto(&self.server.url(path))
            .await
            .expect("navigate");
        self.snap(path).await;
    }

    /// The path (and query) the browser is on now.
    pub async fn location(&self) -> String {
        let url = self.browser.current_url().await.expect("current URL");
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    pub async fn text(&self, css: &str) -> String {
        self.browser
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .text()
            .await
            .expect("text")
    }

    /// The value of the browser's cookie `name` for the server, HttpOnly or not.
    pub async fn cookie_value(&self, name: &str) -> Option<String> {
        let cookies = self.browser.get_all_cookies().await.expect("the cookies");
        cookies
            .iter()
            .find(|cookie| cookie.name() == name)
            .map(|cookie| cookie.value().to_owned())
    }

    pub async fn page_text(&self) -> String {
        self.text("body").await
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let field = self
            .browser
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        field.clear().await.expect("clear");
        field.send_keys(value).await.expect("type");
    }

    /// Clicks a submit button and waits for the page it leads to.
    pub async fn submit(&mut self, button_css: &str, label: &str) {
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

    pub async fn sign_in(&mut self, username: &str, password: &str) {
        self.fill("#username", username).await;
        self.fill("#password", password).await;
        self.submit(
            "form button[type=submit]",
            &format!("signed in as {username}"),
        )
        .await;
    }

    pub async fn snap(&mut self, label: &str) {
        let Some(dir) = &self.screenshots else { return };
        self.step += 1;
        let png = self.browser.screenshot().await.expect("screenshot");
        let name: String = label
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let file = format!(
            "{}-{:02}-{name}.png",
            self.test.replace("::", "-"),
            self.step
        );
        std::fs::write(dir.join(file), png).expect("save");
    }
}

/// A headless Chromium under chromedriver, with its own empty profile; closed when dropped.
/// `None` (the test then says it was skipped) when Chromium is not installed, unless
/// `JWTAPP_REQUIRE_BROWSER` makes that a failure.
pub struct Chromium {
    browser: Client,
    test: &'static str,
    _driver: Driver,
    _profile: tempfile::TempDir,
}

impl Chromium {
    pub async fn start(test: &'static str) -> Option<Chromium> {
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
                "\nSKIPPED {test}: chromium or chromedriver not found \
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

    pub fn session<'s>(&self, server: &'s Server) -> Session<'s> {
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
