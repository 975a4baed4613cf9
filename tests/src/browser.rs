//! Headless Chromium (Debian's `chromium` + `chromedriver`) driven over WebDriver. No browser is
//! ever downloaded. When Chromium is not installed, [`Browser::launch`] prints why and returns
//! `None` so the test can skip; `.ci/run` installs it, so in CI browser tests always run.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A laptop, a phone and a small phone: (viewport width, viewport height).
pub const WIDTHS: [(u32, u32); 3] = [(1400, 1000), (420, 1400), (360, 1400)];

/// The document's scroll and client widths, and the innermost elements reaching past its right
/// edge (to name the culprit when the page scrolls sideways).
const OVERFLOW: &str = r"
    const d = document.documentElement;
    const out = [...document.body.querySelectorAll('*')]
        .filter((e) => e.getBoundingClientRect().right > d.clientWidth + 0.5)
        .filter((e) => ![...e.children].some((c) => c.getBoundingClientRect().right > d.clientWidth + 0.5))
        .slice(0, 5)
        .map((e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + String(e.className).trim().replace(/ +/g, '.') : ''));
    return [d.scrollWidth, d.clientWidth, out.join(', ')];
";

/// A headless Chromium session; call [`Browser::close`] at the end of the test.
pub struct Browser {
    pub client: Client,
    driver: tokio::process::Child,
    profile: PathBuf,
}

impl Browser {
    /// Starts chromedriver on a free port and opens a headless Chromium session.
    ///
    /// # Panics
    /// When Chromium is installed but cannot be started: that is a failure, not a skip.
    pub async fn launch() -> Option<Browser> {
        for bin in [CHROMIUM, CHROMEDRIVER] {
            if !std::path::Path::new(bin).exists() {
                eprintln!("SKIPPED browser test: {bin} is not installed (apt-get install -y chromium chromium-driver)");
                return None;
            }
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = tokio::process::Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let profile = std::env::temp_dir().join(crate::unique("herald-chromium"));
        let caps = json!({
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--window-size=1280,900", format!("--user-data-dir={}", profile.display()),
                ]
            },
            "goog:loggingPrefs": { "browser": "ALL" }
        });
        let caps = caps.as_object().cloned().expect("an object");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        let client = loop {
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) if Instant::now() < deadline => {
                    tracing_hint(&e);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("could not start headless Chromium through chromedriver: {e}"),
            }
        };
        Some(Browser {
            client,
            driver,
            profile,
        })
    }

    /// Opens `url`.
    ///
    /// # Panics
    /// On a WebDriver error.
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    /// Types into the field with `id`, replacing what is there.
    ///
    /// # Panics
    /// When the field is missing.
    pub async fn fill(&self, id: &str, text: &str) {
        let field = self
            .client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("field #{id}: {e}"));
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    /// Reloads the current page, as the browser's reload button does.
    ///
    /// # Panics
    /// On a WebDriver error.
    pub async fn reload(&self) {
        self.client.refresh().await.expect("reload");
    }

    /// Types into the `n`-th (0-based) element matching `css`, replacing what is there.
    ///
    /// # Panics
    /// When there are fewer matches.
    pub async fn fill_nth(&self, css: &str, n: usize, text: &str) {
        let all = self.client.find_all(Locator::Css(css)).await.expect("find_all");
        let field = all
            .get(n)
            .unwrap_or_else(|| panic!("{css} #{n}: only {} found", all.len()));
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    /// Chooses `value` in the `n`-th select matching `css`.
    ///
    /// # Panics
    /// When the select or the option is missing.
    pub async fn select_nth(&self, css: &str, n: usize, value: &str) {
        let all = self.client.find_all(Locator::Css(css)).await.expect("find_all");
        let select = all
            .get(n)
            .unwrap_or_else(|| panic!("{css} #{n}: only {} found", all.len()));
        select.select_by_value(value).await.expect("select option");
    }

    /// Clicks the element matched by a CSS selector.
    ///
    /// # Panics
    /// When nothing matches.
    pub async fn click(&self, css: &str) {
        let el = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("element {css}: {e}"));
        el.click().await.expect("click");
    }

    /// The text of the element matched by a CSS selector, if any (`None` also while the page it
    /// was found on is being replaced).
    pub async fn text(&self, css: &str) -> Option<String> {
        match self.client.find(Locator::Css(css)).await {
            // A stale element belongs to the page being navigated away from: not there (yet).
            Ok(el) => el.text().await.ok(),
            Err(_) => None,
        }
    }

    /// The page's HTML.
    ///
    /// # Panics
    /// On a WebDriver error.
    pub async fn html(&self) -> String {
        self.client.source().await.expect("page source")
    }

    /// The path of the current URL.
    ///
    /// # Panics
    /// On a WebDriver error.
    pub async fn path(&self) -> String {
        self.client.current_url().await.expect("url").path().to_owned()
    }

    /// Waits (up to 10 s) until the browser has navigated to `path`, as after a form post.
    ///
    /// # Panics
    /// When it does not get there in time.
    pub async fn wait_for_path(&self, path: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let now = self.path().await;
            if now == path {
                return;
            }
            assert!(Instant::now() < deadline, "expected to reach {path}, still on {now}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits (up to 10 s) for an element matching `css` and returns its text.
    ///
    /// # Panics
    /// When it does not appear in time.
    pub async fn wait_for_text(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(text) = self.text(css).await {
                return text;
            }
            assert!(Instant::now() < deadline, "{css} did not appear");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Resizes the window so the page's viewport is `width` × `height` CSS pixels (the window's
    /// own frame, if any, is added), as a laptop or phone would show it.
    ///
    /// # Panics
    /// On a WebDriver error.
    pub async fn set_window_size(&self, width: u32, height: u32) {
        self.client.set_window_size(width, height).await.expect("resize");
        let inner = self.eval("return [window.innerWidth, window.innerHeight];").await;
        let frame = |i: usize, want: u32| {
            let got = u32::try_from(inner[i].as_u64().expect("a size")).expect("a small size");
            want.saturating_sub(got)
        };
        let (extra_w, extra_h) = (frame(0, width), frame(1, height));
        if extra_w > 0 || extra_h > 0 {
            self.client
                .set_window_size(width + extra_w, height + extra_h)
                .await
                .expect("resize");
        }
    }

    /// The browser console's messages since the last call (chromedriver's log), e.g. the
    /// "Refused to … because it violates the following Content Security Policy directive" errors.
    ///
    /// # Panics
    /// On a WebDriver error.
    pub async fn console(&self) -> Vec<String> {
        let entries = self
            .client
            .issue_cmd(ConsoleLog)
            .await
            .expect("the browser's console log");
        entries
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|e| e["message"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Runs `script` (a function body; `return` gives the result) in the page.
    ///
    /// # Panics
    /// On a WebDriver or script error.
    pub async fn eval(&self, script: &str) -> serde_json::Value {
        self.client.execute(script, Vec::new()).await.expect("script runs")
    }

    /// Accepts the `confirm()` dialog the last action opened (`data-confirm` forms).
    ///
    /// # Panics
    /// When no dialog is open.
    pub async fn accept_dialog(&self) {
        self.client.accept_alert().await.expect("a confirmation dialog");
    }

    /// Waits (up to 10 s) until the element matching `css` reads `expected`, as after a script
    /// changed it.
    ///
    /// # Panics
    /// When it does not in time.
    pub async fn wait_for_text_to_be(&self, css: &str, expected: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let now = self.text(css).await;
            if now.as_deref() == Some(expected) {
                return;
            }
            assert!(Instant::now() < deadline, "{css} reads {now:?}, not {expected:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Saves a PNG screenshot under `<workspace>/target/screenshots/<name>.png` for people to
    /// look at (kept out of the source tree, beside the build output).
    ///
    /// # Panics
    /// When the screenshot cannot be taken or written.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/screenshots"));
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
    }

    /// Screenshots the page as `<name>-<width>` and, at phone width, asserts that nothing makes the
    /// document scroll sideways.
    ///
    /// # Panics
    /// When the page is wider than the window.
    pub async fn look(&self, name: &str, width: u32) {
        self.screenshot(&format!("{name}-{width}")).await;
        if width <= 420 {
            let sizes = self.eval(OVERFLOW).await;
            assert!(
                sizes[0].as_u64() <= sizes[1].as_u64(),
                "{name} scrolls sideways at {width} px: scrollWidth {} > clientWidth {}; sticking out: {}",
                sizes[0],
                sizes[1],
                sizes[2]
            );
        }
    }

    /// Ends the session and stops chromedriver.
    pub async fn close(mut self) {
        self.client.clone().close().await.ok();
        self.driver.kill().await.ok();
        std::fs::remove_dir_all(&self.profile).ok();
    }
}

fn tracing_hint(e: &fantoccini::error::NewSessionError) {
    if std::env::var_os("HERALD_TEST_VERBOSE").is_some() {
        eprintln!("waiting for chromedriver: {e}");
    }
}

/// chromedriver's `POST /session/{id}/se/log` for the `browser` (console) log, which WebDriver
/// itself has no command for.
#[derive(Debug)]
struct ConsoleLog;

impl WebDriverCompatibleCommand for ConsoleLog {
    fn endpoint(&self, base_url: &url::Url, session_id: Option<&str>) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/se/log", session_id.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}
