//! A real HTTP receiver for webhooks on `127.0.0.1:0`: every request's method, headers and raw
//! body go into a channel; replies can be scripted (fail, hang, 429 with `Retry-After`,
//! redirect, 410). Tests wait on the channel with a deadline — they never sleep-and-hope.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use tokio::sync::mpsc;

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// Lower-cased names.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Received {
    /// The body as JSON.
    ///
    /// # Panics
    /// When it is not JSON.
    #[must_use]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the webhook body is JSON")
    }

    /// A header's value.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }
}

/// How the receiver answers.
#[derive(Debug, Clone)]
pub enum Reply {
    Status(u16, &'static str),
    RetryAfter(u16, u64),
    Redirect(String),
    Hang(Duration),
}

struct Script {
    next: VecDeque<Reply>,
    default: Reply,
}

/// A running receiver; stops when dropped.
pub struct Receiver {
    pub url: String,
    rx: mpsc::UnboundedReceiver<Received>,
    script: Arc<Mutex<Script>>,
    server: actix_web::dev::ServerHandle,
    concurrency: Arc<Concurrency>,
}

/// Requests being answered now, and the most seen at once.
#[derive(Debug, Default)]
struct Concurrency {
    now: std::sync::atomic::AtomicUsize,
    peak: std::sync::atomic::AtomicUsize,
}

async fn handle(
    req: HttpRequest,
    body: web::Bytes,
    tx: web::Data<mpsc::UnboundedSender<Received>>,
    script: web::Data<Arc<Mutex<Script>>>,
    concurrency: web::Data<Arc<Concurrency>>,
) -> HttpResponse {
    use std::sync::atomic::Ordering;
    let now = concurrency.now.fetch_add(1, Ordering::SeqCst) + 1;
    concurrency.peak.fetch_max(now, Ordering::SeqCst);
    let response = answer(req, body, &tx, &script).await;
    concurrency.now.fetch_sub(1, Ordering::SeqCst);
    response
}

async fn answer(
    req: HttpRequest,
    body: web::Bytes,
    tx: &mpsc::UnboundedSender<Received>,
    script: &Arc<Mutex<Script>>,
) -> HttpResponse {
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let received = Received {
        method: req.method().to_string(),
        path: req.path().to_owned(),
        headers,
        body: body.to_vec(),
        at: Instant::now(),
    };
    let reply = {
        let mut s = script.lock().expect("script lock");
        s.next.pop_front().unwrap_or_else(|| s.default.clone())
    };
    tx.send(received).ok();
    match reply {
        Reply::Status(code, text) => {
            HttpResponse::build(actix_web::http::StatusCode::from_u16(code).expect("status")).body(text)
        }
        Reply::RetryAfter(code, secs) => {
            HttpResponse::build(actix_web::http::StatusCode::from_u16(code).expect("status"))
                .insert_header(("Retry-After", secs.to_string()))
                .body("slow down")
        }
        Reply::Redirect(to) => HttpResponse::Found().insert_header(("Location", to)).finish(),
        Reply::Hang(d) => {
            tokio::time::sleep(d).await;
            HttpResponse::Ok().body("late")
        }
    }
}

impl Receiver {
    /// Starts a receiver that answers `200 ok` unless scripted otherwise.
    ///
    /// # Panics
    /// If it cannot bind.
    pub async fn start() -> Receiver {
        let (tx, rx) = mpsc::unbounded_channel();
        let script = Arc::new(Mutex::new(Script {
            next: VecDeque::new(),
            default: Reply::Status(200, "ok"),
        }));
        let (tx_data, script_data) = (web::Data::new(tx), web::Data::new(script.clone()));
        let concurrency = Arc::new(Concurrency::default());
        let concurrency_data = web::Data::new(Arc::clone(&concurrency));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind receiver");
        let port = listener.local_addr().expect("addr").port();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(tx_data.clone())
                .app_data(script_data.clone())
                .app_data(concurrency_data.clone())
                .app_data(web::PayloadConfig::new(64 * 1024 * 1024))
                .default_service(web::to(handle))
        })
        .workers(2)
        .disable_signals()
        .listen(listener)
        .expect("listen")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Receiver {
            url: format!("http://127.0.0.1:{port}/hook"),
            rx,
            script,
            server: handle,
            concurrency,
        }
    }

    /// The next replies, in order; afterwards the default applies again.
    ///
    /// # Panics
    /// If the lock is poisoned.
    pub fn script(&self, replies: Vec<Reply>) {
        self.script.lock().expect("script lock").next.extend(replies);
    }

    /// The most requests this receiver was answering at the same time.
    #[must_use]
    pub fn peak_concurrency(&self) -> usize {
        self.concurrency.peak.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The reply once the script is used up.
    ///
    /// # Panics
    /// If the lock is poisoned.
    pub fn answer_by_default(&self, reply: Reply) {
        self.script.lock().expect("script lock").default = reply;
    }

    /// The next request, waiting at most `within`.
    ///
    /// # Panics
    /// When none arrives in time.
    pub async fn next(&mut self, within: Duration) -> Received {
        tokio::time::timeout(within, self.rx.recv())
            .await
            .expect("a webhook request arrives in time")
            .expect("receiver open")
    }

    /// Exactly the requests that arrive until `n` have come, waiting at most `within` in all.
    ///
    /// # Panics
    /// When fewer arrive in time.
    pub async fn take(&mut self, n: usize, within: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + within;
        let mut got = Vec::with_capacity(n);
        while got.len() < n {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(r)) => got.push(r),
                _ => panic!("only {} of {n} webhook requests arrived within {within:?}", got.len()),
            }
        }
        got
    }

    /// Everything that arrives within `window` (used to show that nothing more comes).
    pub async fn drain(&mut self, window: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + window;
        let mut got = Vec::new();
        while let Ok(Some(r)) = tokio::time::timeout_at(deadline, self.rx.recv()).await {
            got.push(r);
        }
        got
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let server = self.server.clone();
        tokio::spawn(async move { server.stop(false).await });
    }
}
