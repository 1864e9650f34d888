//! A webhook receiver for tests, written from the Standard Webhooks specification alone (it shares
//! no code with the sender): it reads each POST by hand, verifies `webhook-signature` against every
//! secret it was given (HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}` keyed with the
//! base64-decoded part of `whsec_...`, any of the space-separated `v1,` signatures may match),
//! refuses timestamps more than five minutes away, and answers as the test scripted it.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test support")]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How the receiver answers one delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// This status, no body.
    Status(u16),
    /// This status with `Retry-After: seconds`.
    RetryAfter(u16, u64),
    /// Read the request, never answer (until the sender gives up or dies).
    Hang,
}

/// One POST as received.
#[derive(Clone, Debug)]
pub struct Received {
    /// `webhook-id`.
    pub id: String,
    /// `webhook-timestamp`.
    pub timestamp: i64,
    /// The `v1,` signatures in `webhook-signature`.
    pub signatures: Vec<String>,
    /// Which of the receiver's secrets (by index) verified a signature.
    pub verified_by: Vec<usize>,
    /// Whether the timestamp was within tolerance.
    pub fresh: bool,
    /// The request body byte for byte (what the signatures cover).
    pub body: Vec<u8>,
    /// What was answered (0 for Hang).
    pub answered: u16,
    /// When it arrived.
    pub at: Instant,
    /// The path POSTed to.
    pub path: String,
}

impl Received {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }
}

#[derive(Debug, Default)]
struct State {
    secrets: Vec<String>,
    script: VecDeque<Reply>,
    otherwise: Option<Reply>,
    received: Vec<Received>,
}

/// A receiver listening on a loopback port.
#[derive(Clone, Debug)]
pub struct Receiver {
    /// Where it listens.
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

fn expected(secret: &str, id: &str, timestamp: &str, body: &[u8]) -> Option<String> {
    let key = STANDARD.decode(secret.strip_prefix("whsec_")?).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    let mut content = format!("{id}.{timestamp}.").into_bytes();
    content.extend_from_slice(body);
    mac.update(&content);
    Some(STANDARD.encode(mac.finalize().into_bytes()))
}

impl Receiver {
    /// Starts a receiver on a free loopback port.
    pub fn start() -> Receiver {
        Receiver::start_on("127.0.0.1:0")
    }

    /// Starts a receiver on `addr`.
    pub fn start_on(addr: &str) -> Receiver {
        let listener = TcpListener::bind(addr).expect("bind the receiver");
        let receiver = Receiver { addr: listener.local_addr().unwrap(), state: Arc::new(Mutex::new(State::default())) };
        let state = Arc::clone(&receiver.state);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = Arc::clone(&state);
                std::thread::spawn(move || handle(stream, &state));
            }
        });
        receiver
    }

    /// The URL of `path` on this receiver.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The secrets signatures are checked against (any may match).
    pub fn set_secrets(&self, secrets: &[&str]) {
        self.state.lock().unwrap().secrets = secrets.iter().map(|s| s.to_string()).collect();
    }

    /// The next answers, in order; after them, `otherwise` (200 unless set).
    pub fn script(&self, replies: &[Reply]) {
        self.state.lock().unwrap().script = replies.iter().cloned().collect();
    }

    /// The answer once the script is used up.
    pub fn otherwise(&self, reply: Reply) {
        self.state.lock().unwrap().otherwise = Some(reply);
    }

    /// Every POST so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// The POSTs answered 2xx.
    pub fn accepted(&self) -> Vec<Received> {
        self.received().into_iter().filter(|r| (200..300).contains(&r.answered)).collect()
    }

    /// Waits until `n` POSTs were answered 2xx, or `timeout`; whether they were.
    pub fn wait_accepted(&self, n: usize, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if self.accepted().len() >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.accepted().len() >= n
    }

    /// Waits until `n` POSTs arrived (whatever the answer), or `timeout`.
    pub fn wait_received(&self, n: usize, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if self.received().len() >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.received().len() >= n
    }
}

fn handle(stream: TcpStream, state: &Mutex<State>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end().to_string();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let length: usize = header("content-length").parse().unwrap_or(0);
    let mut body = vec![0u8; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let id = header("webhook-id");
    let timestamp = header("webhook-timestamp");
    let signatures: Vec<String> = header("webhook-signature").split(' ').map(str::to_string).collect();
    let (reply, secrets) = {
        let mut s = state.lock().unwrap();
        let reply = s.script.pop_front().or_else(|| s.otherwise.clone()).unwrap_or(Reply::Status(200));
        (reply, s.secrets.clone())
    };
    let verified_by: Vec<usize> = secrets
        .iter()
        .enumerate()
        .filter(|(_, secret)| {
            expected(secret, &id, &timestamp, &body)
                .is_some_and(|e| signatures.iter().any(|s| s.strip_prefix("v1,") == Some(e.as_str())))
        })
        .map(|(i, _)| i)
        .collect();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let ts: i64 = timestamp.parse().unwrap_or(0);
    let fresh = (now - ts).abs() <= 300;
    // A delivery that does not verify is refused, as a real receiver must.
    let reply = if verified_by.is_empty() || !fresh { Reply::Status(401) } else { reply };
    let answered = match reply {
        Reply::Status(s) | Reply::RetryAfter(s, _) => s,
        Reply::Hang => 0,
    };
    let path = request_line.split_whitespace().nth(1).unwrap_or("").to_string();
    state.lock().unwrap().received.push(Received {
        id,
        timestamp: ts,
        signatures,
        verified_by,
        fresh,
        body,
        answered,
        at: Instant::now(),
        path,
    });
    let mut stream = stream;
    match reply {
        Reply::Status(s) => {
            let _ = write!(stream, "HTTP/1.1 {s} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
        Reply::RetryAfter(s, secs) => {
            let _ = write!(
                stream,
                "HTTP/1.1 {s} X\r\nRetry-After: {secs}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
        Reply::Hang => {
            // Hold the connection open without answering until the sender closes it.
            let mut sink = [0u8; 64];
            while matches!(reader.read(&mut sink), Ok(n) if n > 0) {}
        }
    }
}
