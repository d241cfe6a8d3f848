//! A scripted HTTP server for retry paths: each connection gets the next step of a script
//! (an answer, or an answer cut in the middle of its body), and every request is recorded.

use anyhow::Result;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Step {
    /// A complete answer.
    Respond {
        /// HTTP status.
        status: u16,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// Body.
        body: Vec<u8>,
    },
    /// Headers (no length: the body ends when the connection closes), then `length` bytes of
    /// `a`, written only as fast as the client reads them: an answer too large to hold.
    Flood {
        /// HTTP status.
        status: u16,
        /// How many bytes at most.
        length: u64,
    },
    /// Headers announcing `length` bytes, then only `body`, then the connection is reset.
    Cut {
        /// HTTP status.
        status: u16,
        /// The announced `Content-Length`.
        length: usize,
        /// What is actually sent.
        body: Vec<u8>,
    },
}

impl Step {
    /// A JSON answer.
    pub fn json(status: u16, body: &str) -> Self {
        Self::Respond {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    /// An HTML answer.
    pub fn html(status: u16, body: &str) -> Self {
        Self::Respond {
            status,
            headers: vec![("Content-Type".into(), "text/html".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    /// Adds a header to a `Respond` step.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let Self::Respond { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }
}

/// A recorded request: its head (request line and headers) and body.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Request line and headers.
    pub head: String,
    /// Body.
    pub body: Vec<u8>,
}

/// The running fault server.
pub struct FaultServer {
    /// Its address.
    pub address: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl FaultServer {
    /// Starts serving `script`, one step per connection; past the end, answers 500.
    pub async fn start(script: Vec<Step>) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&requests);
        tokio::spawn(async move {
            let mut steps = script.into_iter();
            while let Ok((stream, _)) = listener.accept().await {
                let step = steps.next().unwrap_or_else(|| Step::json(500, "{}"));
                let log = Arc::clone(&log);
                tokio::spawn(async move { serve(stream, |_, _| step, log).await });
            }
        });
        Ok(Self { address, requests })
    }

    /// Starts answering by path: each request gets the step of the first route whose prefix
    /// starts its path (any method, any number of times); other paths get 404. For a client
    /// whose requests come in no fixed order (parallel downloads).
    pub async fn routes(routes: Vec<(&'static str, Step)>) -> Result<Self> {
        Self::answering(move |path, _| {
            routes
                .iter()
                .find(|(prefix, _)| path.starts_with(prefix))
                .map_or_else(|| Step::json(404, "{}"), |(_, step)| step.clone())
        })
        .await
    }

    /// Starts answering each request with what `answer` makes of its path and body: a server
    /// whose answers depend on what is asked (a hostile one, scripted whole).
    pub async fn answering(
        answer: impl Fn(&str, &[u8]) -> Step + Send + Sync + 'static,
    ) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&requests);
        let answer = Arc::new(answer);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let log = Arc::clone(&log);
                let answer = Arc::clone(&answer);
                tokio::spawn(
                    async move { serve(stream, |path, body| answer(path, body), log).await },
                );
            }
        });
        Ok(Self { address, requests })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("log lock").clone()
    }
}

/// Reads one request, records it, and answers the step `choose` picks for its path.
async fn serve(
    mut stream: TcpStream,
    choose: impl FnOnce(&str, &[u8]) -> Step,
    log: Arc<Mutex<Vec<Recorded>>>,
) -> Result<()> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await?;
        anyhow::ensure!(n > 0, "closed before the request ended");
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())
                .flatten()
        })
        .unwrap_or(0);
    while buffer.len() < head_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let path = head.split_whitespace().nth(1).unwrap_or_default();
    let step = choose(path, &buffer[head_end..]);
    log.lock().expect("log lock").push(Recorded {
        head,
        body: buffer[head_end..].to_vec(),
    });
    match step {
        Step::Respond {
            status,
            headers,
            body,
        } => {
            let mut answer = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                answer.push_str(&format!("{name}: {value}\r\n"));
            }
            answer.push_str("\r\n");
            stream.write_all(answer.as_bytes()).await?;
            stream.write_all(&body).await?;
        }
        Step::Flood { status, length } => {
            let head = format!("HTTP/1.1 {status} X\r\nConnection: close\r\n\r\n");
            stream.write_all(head.as_bytes()).await?;
            let chunk = vec![b'a'; 64 * 1024];
            let mut sent = 0u64;
            // Until the client stops reading (it hangs up) or the length is sent.
            while sent < length && stream.write_all(&chunk).await.is_ok() {
                sent += chunk.len() as u64;
            }
            return Ok(());
        }
        Step::Cut {
            status,
            length,
            body,
        } => {
            let answer = format!("HTTP/1.1 {status} X\r\nContent-Length: {length}\r\n\r\n");
            stream.write_all(answer.as_bytes()).await?;
            stream.write_all(&body).await?;
        }
    }
    stream.flush().await?;
    Ok(())
}

/// A TCP relay to `upstream` that cuts its first connection after `cut_after` bytes of answer
/// and relays the others whole: a connection lost in the middle of a download. Returns its
/// address and the request heads it relayed.
pub async fn spawn_cutting_relay(
    upstream: Arc<Mutex<Option<SocketAddr>>>,
    cut_after: usize,
) -> Result<(SocketAddr, Arc<Mutex<Vec<String>>>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let heads = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&heads);
    tokio::spawn(async move {
        let mut first = true;
        while let Ok((client, _)) = listener.accept().await {
            let Some(target) = *upstream.lock().expect("upstream lock") else {
                continue;
            };
            let limit = if first { Some(cut_after) } else { None };
            first = false;
            let log = Arc::clone(&log);
            tokio::spawn(async move { relay(client, target, limit, log).await });
        }
    });
    Ok((address, heads))
}

async fn relay(
    mut client: TcpStream,
    target: SocketAddr,
    limit: Option<usize>,
    log: Arc<Mutex<Vec<String>>>,
) -> Result<()> {
    let mut server = TcpStream::connect(target).await?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        anyhow::ensure!(client.read(&mut byte).await? == 1, "closed");
        head.push(byte[0]);
    }
    log.lock()
        .expect("log lock")
        .push(String::from_utf8_lossy(&head).into_owned());
    server.write_all(&head).await?;
    match limit {
        None => {
            tokio::io::copy_bidirectional(&mut client, &mut server).await?;
        }
        Some(limit) => {
            let mut sent = 0;
            let mut buffer = vec![0u8; 16 * 1024];
            while sent < limit {
                let n = server.read(&mut buffer).await?;
                if n == 0 {
                    break;
                }
                let take = n.min(limit - sent);
                client.write_all(&buffer[..take]).await?;
                sent += take;
            }
            // Dropping both ends here is the cut.
        }
    }
    Ok(())
}

/// A TCP relay to `upstream` that passes answers at about `bytes_per_second`: a slow link, so
/// that a test can interrupt a transfer in its middle.
pub async fn spawn_slow_relay(
    upstream: Arc<Mutex<Option<SocketAddr>>>,
    bytes_per_second: usize,
) -> Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let Some(target) = *upstream.lock().expect("upstream lock") else {
                continue;
            };
            tokio::spawn(async move {
                let mut server = TcpStream::connect(target).await?;
                let (mut client_read, mut client_write) = client.split();
                let (mut server_read, mut server_write) = server.split();
                let upload = tokio::io::copy(&mut client_read, &mut server_write);
                let download = async {
                    let chunk = (bytes_per_second / 20).max(1);
                    let mut buffer = vec![0u8; chunk];
                    loop {
                        let n = server_read.read(&mut buffer).await?;
                        if n == 0 {
                            break;
                        }
                        client_write.write_all(&buffer[..n]).await?;
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                    Ok::<_, std::io::Error>(())
                };
                // The download side decides when the exchange is over.
                tokio::pin!(upload);
                tokio::select! {
                    _ = download => {}
                    _ = async { let _ = (&mut upload).await; std::future::pending::<()>().await } => {}
                }
                Ok::<_, std::io::Error>(())
            });
        }
    });
    Ok(address)
}
