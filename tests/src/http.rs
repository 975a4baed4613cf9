//! An HTTP client that behaves like one browser (its own cookie jar, no automatic redirects),
//! with typed helpers for the dashboard's forms and the REST API.

use reqwest::{Response, StatusCode, redirect};
use serde_json::{Value, json};

/// One simulated person: a cookie jar against one Herald.
pub struct Session {
    pub base: String,
    pub client: reqwest::Client,
}

/// The password every test user gets (long enough for the 12-character rule).
pub const PASSWORD: &str = "correct horse battery staple";

impl Session {
    /// A fresh cookie jar.
    ///
    /// # Panics
    /// If the HTTP client cannot be built.
    #[must_use]
    pub fn new(base: &str) -> Session {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(redirect::Policy::none())
            .build()
            .expect("HTTP client");
        Session {
            base: base.to_owned(),
            client,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET path`.
    ///
    /// # Panics
    /// On a transport error.
    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// `GET path`, expecting 200, returning the HTML.
    ///
    /// # Panics
    /// On any other status.
    pub async fn page(&self, path: &str) -> String {
        let res = self.get(path).await;
        assert_eq!(res.status(), StatusCode::OK, "GET {path}");
        res.text().await.expect("body")
    }

    /// The CSRF token of this browser, read from a form on `path`.
    ///
    /// # Panics
    /// If the page has no CSRF field.
    pub async fn csrf_from(&self, path: &str) -> String {
        let html = self.page(path).await;
        extract(&html, "name=\"csrf\" value=\"", "\"").expect("a csrf field on the page")
    }

    /// Posts a form with this browser's CSRF token (taken from the login page, which every
    /// browser can open) plus `fields`.
    ///
    /// # Panics
    /// On a transport error.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.csrf_from("/login").await;
        let mut all: Vec<(&str, &str)> = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// Posts exactly `fields` (no CSRF token added).
    ///
    /// # Panics
    /// On a transport error.
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let body = form_encode(fields);
        self.client
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("POST")
    }

    /// Signs up (user, account, first app) and stays logged in.
    ///
    /// # Panics
    /// If signup does not redirect into the dashboard.
    pub async fn signup(&self, email: &str, account: &str) {
        let res = self
            .post_form(
                "/signup",
                &[("email", email), ("password", PASSWORD), ("account_name", account)],
            )
            .await;
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "signup of {email}: {}",
            res.text().await.unwrap_or_default()
        );
    }

    /// Logs in with [`PASSWORD`].
    ///
    /// # Panics
    /// If login fails.
    pub async fn login(&self, email: &str) {
        let res = self
            .post_form("/login", &[("email", email), ("password", PASSWORD)])
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "login of {email}");
    }

    /// Creates an API token in the dashboard and returns its secret. An `ingest` token is tied
    /// to the account's only app (the dashboard's rule); use [`Session::post_form`] to name one.
    ///
    /// # Panics
    /// If the form is refused or the page it redirects to does not show a new secret.
    pub async fn create_token(&self, name: &str, scopes: &[&str]) -> String {
        let mut fields = vec![("name", name)];
        fields.extend(scopes.iter().map(|s| ("scopes", *s)));
        let res = self.post_form("/settings/tokens", &fields).await;
        let html = self.follow(res).await;
        extract(&html, "id=\"new-token\" class=\"secret\">", "<").expect("the new token's secret on the page")
    }

    /// The page a successful form post redirects to (`303 See Other`), opened once.
    ///
    /// # Panics
    /// If `res` is not a 303 with a `Location`, or the page is not a 200.
    pub async fn follow(&self, res: Response) -> String {
        let status = res.status();
        let location = res
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .map(str::to_owned);
        let Some(location) = location.filter(|_| status == StatusCode::SEE_OTHER) else {
            panic!(
                "expected 303 See Other, got {status}: {}",
                res.text().await.unwrap_or_default()
            );
        };
        self.page(&location).await
    }

    /// A REST API call with a bearer token.
    ///
    /// # Panics
    /// On a transport error.
    pub async fn api(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .client
            .request(method, self.url(&format!("/api/v1{path}")))
            .bearer_auth(token);
        if let Some(body) = body {
            req = req.json(body);
        }
        let res = req.send().await.expect("API call");
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// Ingests `n` track events named `event` (a multiple of 100) in batches of 100 through
    /// `POST /api/v1/events`, with message ids `{event}-{batch}-{i}`.
    ///
    /// # Panics
    /// If a batch is not accepted.
    pub async fn post_track_batches(&self, token: &str, event: &str, n: usize) {
        for chunk in 0..n / 100 {
            let batch: Vec<Value> = (0..100)
                .map(|i| json!({"type": "track", "userId": "u", "event": event, "messageId": format!("{event}-{chunk}-{i}")}))
                .collect();
            let (status, res) = self
                .api(reqwest::Method::POST, token, "/events", Some(&json!({"batch": batch})))
                .await;
            assert_eq!(status, StatusCode::ACCEPTED, "{res}");
        }
    }

    /// A REST API call with a raw body (malformed JSON tests).
    ///
    /// # Panics
    /// On a transport error.
    pub async fn api_raw(&self, method: reqwest::Method, token: &str, path: &str, body: &str) -> (StatusCode, Value) {
        let res = self
            .client
            .request(method, self.url(&format!("/api/v1{path}")))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("API call");
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
}

/// The text between `start` and the next `end` in `html`, with askama's entity escapes undone.
#[must_use]
pub fn extract(html: &str, start: &str, end: &str) -> Option<String> {
    let from = html.find(start)? + start.len();
    let len = html[from..].find(end)?;
    Some(unescape(&html[from..from + len]))
}

/// Undoes the HTML escapes askama writes (numeric entities).
#[must_use]
pub fn unescape(s: &str) -> String {
    s.replace("&#38;", "&")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn form_encode(fields: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}
