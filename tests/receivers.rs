//! Local endpoints the notification tests send to: an HTTP receiver that records every request
//! and answers as the test's closure says (checking a provider's signature, failing on
//! purpose), and the real SMTP server `tests/notify/smtp_sink.py` (aiosmtpd) started as a
//! child process.

use std::process::Stdio;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

/// One request an HTTP receiver got.
#[derive(Debug, Clone, Default)]
pub struct Received {
    /// The path, e.g. `/sms`.
    pub path: String,
    /// The query string, without `?`.
    pub query: String,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
    /// The status the receiver answered.
    pub status: u16,
}

impl Received {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (null when it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_default()
    }

    /// A query parameter, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (k == name).then(|| percent_decode(v))
        })
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// How a receiver answers a request: (status, JSON body).
pub type Answer = Arc<dyn Fn(&Received) -> (u16, String) + Send + Sync>;

/// An HTTP receiver on 127.0.0.1.
pub struct HttpReceiver {
    /// Its port.
    pub port: u16,
    requests: Arc<Mutex<Vec<Received>>>,
    task: JoinHandle<()>,
}

impl HttpReceiver {
    /// Starts one on a free port.
    pub async fn start(
        answer: impl Fn(&Received) -> (u16, String) + Send + Sync + 'static,
    ) -> Self {
        Self::start_delayed(std::time::Duration::ZERO, answer).await
    }

    /// Starts one on a free port that takes `delay` over each answer (a provider's latency:
    /// sends are in flight when a test kills the sender).
    pub async fn start_delayed(
        delay: std::time::Duration,
        answer: impl Fn(&Received) -> (u16, String) + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a receiver");
        Self::serve(listener, Arc::new(answer), delay)
    }

    /// Starts one on `port` (a port a test reserved and told the server about before).
    pub async fn start_on(
        port: u16,
        answer: impl Fn(&Received) -> (u16, String) + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind the reserved port");
        Self::serve(listener, Arc::new(answer), std::time::Duration::ZERO)
    }

    fn serve(listener: TcpListener, answer: Answer, delay: std::time::Duration) -> Self {
        let port = listener.local_addr().expect("local address").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (seen, answer) = (seen.clone(), answer.clone());
                tokio::spawn(async move {
                    let _ = handle(stream, seen, answer, delay).await;
                });
            }
        });
        HttpReceiver {
            port,
            requests,
            task,
        }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Received> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Drop for HttpReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(
    stream: TcpStream,
    seen: Arc<Mutex<Vec<Received>>>,
    answer: Answer,
    delay: std::time::Duration,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let target = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let (path, query) = target
            .split_once('?')
            .map(|(p, q)| (p.to_owned(), q.to_owned()))
            .unwrap_or((target.clone(), String::new()));
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).await?;
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((n, v)) = h.split_once(':') {
                headers.push((n.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).await?;
        let mut request = Received {
            path,
            query,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            status: 0,
        };
        tokio::time::sleep(delay).await;
        let (status, reply) = answer(&request);
        request.status = status;
        if let Ok(mut all) = seen.lock() {
            all.push(request);
        }
        let response = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{reply}",
            reply.len()
        );
        reader.get_mut().write_all(response.as_bytes()).await?;
    }
}

/// A free port on 127.0.0.1 (bound, then let go).
pub async fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("address").port()
}

/// The SMTP server (aiosmtpd) the notification tests send mail to.
pub struct SmtpSink {
    /// Its port.
    pub port: u16,
    out: tempfile::NamedTempFile,
    _child: Child,
}

impl SmtpSink {
    /// Starts one requiring `user`/`password`; `None` when no Python with aiosmtpd is here
    /// (`STEELCARE_SMTP_PYTHON` names the interpreter, `python3` by default).
    pub async fn start(user: &str, password: &str) -> Option<SmtpSink> {
        let python = std::env::var("STEELCARE_SMTP_PYTHON").unwrap_or_else(|_| "python3".into());
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/notify/smtp_sink.py");
        let out = tempfile::NamedTempFile::new().expect("temp file");
        let port = free_port().await;
        let mut child = Command::new(&python)
            .arg(script)
            .arg(port.to_string())
            .arg(user)
            .arg(password)
            .arg(out.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .ok()?;
        let stdout = child.stdout.take()?;
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(std::time::Duration::from_secs(20), lines.next_line())
            .await
            .ok()?
            .ok()??;
        (ready.trim() == "ready").then_some(SmtpSink {
            port,
            out,
            _child: child,
        })
    }

    /// Every message received so far, as the sink recorded it.
    pub fn messages(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.out.path())
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}
