//! A relying party's back-channel endpoint for tests: a raw HTTP/1.1 listener on
//! 127.0.0.1 that records every connection and request, and answers as told.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How long a test waits for something that should happen.
const WAIT: Duration = Duration::from_secs(5);

/// How the endpoint answers every request.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Reply {
    /// This status, an empty body, and a `Location` pointing elsewhere on the server.
    Status(u16),
    /// Nothing, ever: the connection stays open.
    Silence,
}

/// A request as received.
#[derive(Debug)]
pub(crate) struct Request {
    /// The request line and headers, as sent.
    pub(crate) head: String,
    pub(crate) body: String,
}

impl Request {
    /// The value of header `name` (compared case-insensitively), if present.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

/// The running endpoint; it stops when dropped.
pub(crate) struct TestServer {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    requests: mpsc::UnboundedReceiver<Request>,
    task: JoinHandle<()>,
}

impl TestServer {
    /// Listens on 127.0.0.1 at a free port.
    pub(crate) async fn start(reply: Reply) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let connections = Arc::new(AtomicUsize::new(0));
        let (sender, requests) = mpsc::unbounded_channel();
        let counter = Arc::clone(&connections);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(stream, reply, sender.clone()));
            }
        });
        Ok(Self {
            addr,
            connections,
            requests,
            task,
        })
    }

    /// The port it listens on.
    pub(crate) fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Its address.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port><path>`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The next request received, waiting a few seconds for it.
    pub(crate) async fn request(&mut self) -> Option<Request> {
        tokio::time::timeout(WAIT, self.requests.recv())
            .await
            .ok()
            .flatten()
    }

    /// A request already received, without waiting.
    pub(crate) fn received(&mut self) -> Option<Request> {
        self.requests.try_recv().ok()
    }

    /// How many connections were accepted so far. A probe connection made here is accepted
    /// after any made earlier, so once it is counted, every earlier one is too.
    pub(crate) async fn connections(&self) -> std::io::Result<usize> {
        let before_probe = self.connections.load(Ordering::SeqCst);
        let _probe = TcpStream::connect(self.addr).await?;
        let counted = async {
            while self.connections.load(Ordering::SeqCst) == before_probe {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        let _ = tokio::time::timeout(WAIT, counted).await;
        // The probe itself is not a connection of the code under test.
        let total = self.connections.load(Ordering::SeqCst);
        self.connections.fetch_sub(1, Ordering::SeqCst);
        Ok(total.saturating_sub(1))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut stream: TcpStream, reply: Reply, requests: mpsc::UnboundedSender<Request>) {
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    let _ = requests.send(request);
    match reply {
        Reply::Status(code) => {
            let response = format!(
                "HTTP/1.1 {code} Test\r\nlocation: /elsewhere\r\ncontent-length: 0\r\n\
                 connection: close\r\n\r\n"
            );
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
        Reply::Silence => std::future::pending::<()>().await,
    }
}

/// Reads one request: its head up to the blank line, then `Content-Length` bytes of body.
async fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut bytes = Vec::new();
    let mut chunk = [0_u8; 4096];
    let head_end = loop {
        if let Some(at) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        bytes.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8(bytes[..head_end].to_vec()).ok()?;
    let mut request = Request {
        head,
        body: String::new(),
    };
    let length: usize = request
        .header("content-length")
        .map_or(Some(0), |v| v.parse().ok())?;
    let mut body = bytes.split_off(head_end + 4);
    while body.len() < length {
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..read]);
    }
    request.body = String::from_utf8(body).ok()?;
    Some(request)
}
