//! A real HTTP/1.1 receiver on `127.0.0.1:0`, written on a raw `TcpListener` so the tests see
//! exactly what went over the wire (header order, raw body bytes) and can misbehave on purpose.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How the receiver answers every request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A complete response: status, extra headers, body (with `Content-Length`, `Connection: close`).
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Read the request, then never answer.
    Hang,
    /// Answer 200 announcing `declared` body bytes, send `sent` of them, then stall.
    PartialBody { declared: usize, sent: usize },
    /// Without reading, write a plain-HTTP error and close (what a TLS client sees as garbage).
    NotTls,
    /// 200 with a chunked body that never ends (64 KB chunks as fast as they are taken).
    EndlessBody,
    /// 200 with a body of this many bytes, declared and sent in full (64 KB writes).
    HugeBody(usize),
    /// A status line, then header lines forever, never the blank line that ends them.
    HeadersForever,
    /// Half of a declared 1000-byte body, then the connection is closed.
    CloseMidResponse,
}

impl Reply {
    /// A bare response with `status` and a short body.
    pub fn status(status: u16) -> Self {
        Self::Respond {
            status,
            headers: Vec::new(),
            body: format!("answer {status}").into_bytes(),
        }
    }

    /// A response with `status` and extra headers.
    pub fn with_headers(status: u16, headers: &[(&str, &str)]) -> Self {
        Self::Respond {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body: Vec::new(),
        }
    }
}

/// One request as received.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    /// Names lower-cased, in wire order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A running receiver; stops when the test's runtime ends.
pub struct Receiver {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Received>>>,
    connections: Arc<AtomicUsize>,
}

impl Receiver {
    /// Starts a receiver answering every request with `reply`.
    pub async fn start(reply: Reply) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind receiver");
        let addr = listener.local_addr().expect("receiver address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let (reqs, conns) = (requests.clone(), connections.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                conns.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(stream, reply.clone(), reqs.clone()));
            }
        });
        Self {
            addr,
            requests,
            connections,
        }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The port the receiver listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.requests.lock().expect("requests lock").clone()
    }

    /// How many TCP connections were accepted (requests or not).
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

async fn serve(mut stream: TcpStream, reply: Reply, requests: Arc<Mutex<Vec<Received>>>) {
    if let Reply::NotTls = reply {
        let _ = stream
            .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .await;
        return;
    }
    let Some(received) = read_request(&mut stream).await else {
        return;
    };
    requests.lock().expect("requests lock").push(received);
    match reply {
        Reply::Respond { status, headers, body } => {
            let mut head = format!("HTTP/1.1 {status} Whatever\r\nContent-Length: {}\r\n", body.len());
            for (k, v) in &headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("Connection: close\r\n\r\n");
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(&body).await;
            let _ = stream.shutdown().await;
        }
        Reply::Hang => tokio::time::sleep(Duration::from_secs(60)).await,
        Reply::PartialBody { declared, sent } => {
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {declared}\r\n\r\n");
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(&vec![b'x'; sent]).await;
            let _ = stream.flush().await;
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
        Reply::EndlessBody => {
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                .await;
            let chunk = [
                format!("{:x}\r\n", 64 * 1024).into_bytes(),
                vec![b'e'; 64 * 1024],
                b"\r\n".to_vec(),
            ]
            .concat();
            while stream.write_all(&chunk).await.is_ok() {}
        }
        Reply::HugeBody(len) => {
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n\r\n");
            let _ = stream.write_all(head.as_bytes()).await;
            let block = vec![b'h'; 64 * 1024];
            let mut sent = 0;
            while sent < len {
                let n = block.len().min(len - sent);
                if stream.write_all(&block[..n]).await.is_err() {
                    break;
                }
                sent += n;
            }
        }
        Reply::HeadersForever => {
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\n").await;
            let mut i = 0u64;
            while stream
                .write_all(format!("X-More-{i}: yes\r\n").as_bytes())
                .await
                .is_ok()
            {
                i += 1;
                if i.is_multiple_of(100) {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
        Reply::CloseMidResponse => {
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
                .await;
            let _ = stream.write_all(&[b'c'; 500]).await;
            let _ = stream.shutdown().await;
        }
        Reply::NotTls => {}
    }
}

/// Reads one request: head up to the blank line, then `Content-Length` bytes of body.
async fn read_request(stream: &mut TcpStream) -> Option<Received> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let path = request_line.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Received {
        method,
        path,
        headers,
        body,
    })
}
