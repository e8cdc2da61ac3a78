//! tokio-http — an HTTP GET client in the style of `xh`, on hyper 0.14 and tokio's
//! multi-threaded runtime, unmodified: anypoll's clients room (tests/clients/tokio) runs it on a
//! host without epoll to show the drop-in carries tokio (mio's epoll registry, its eventfd waker).
//!
//!   tokio-http URL        GET URL, print the status line, headers and body as xh does
//!   tokio-http            self-test: a hyper server in the same process on 127.0.0.1, then
//!                         200 GETs over one keep-alive connection and 64 concurrent GETs on
//!                         new connections; every status and body byte is checked
//!
//! Prints one line `tokio-http: ...` and exits 0 only when everything it got was right.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::exit;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use hyper::server::conn::AddrStream;
use hyper::service::{make_service_fn, service_fn};
use hyper::{Body, Client, Request, Response, Server, StatusCode, Uri};

const KEEPALIVE_GETS: usize = 200;
const NEW_CONN_GETS: usize = 64;

/// The body served for /bytes/N: N bytes that depend on N and on their position, so a body
/// that was cut, shifted or belongs to another request does not verify.
fn pattern(n: usize, i: usize) -> u8 {
    ((i * 31 + n * 7) % 251) as u8
}

async fn handle(req: Request<Body>, requests: Arc<AtomicUsize>) -> Result<Response<Body>, Infallible> {
    requests.fetch_add(1, Ordering::SeqCst);
    let n = req
        .uri()
        .path()
        .strip_prefix("/bytes/")
        .and_then(|s| s.parse::<usize>().ok());
    Ok(match n {
        Some(n) if n <= 1 << 20 => {
            let body: Vec<u8> = (0..n).map(|i| pattern(n, i)).collect();
            Response::builder()
                .header("content-type", "application/octet-stream")
                .body(Body::from(body))
                .unwrap()
        }
        _ => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(Body::from("not found\n"))
            .unwrap(),
    })
}

/// One GET of /bytes/n through a pooled Client, checked.
async fn get_checked(
    client: &Client<hyper::client::HttpConnector>,
    addr: SocketAddr,
    n: usize,
) -> Result<usize, String> {
    let uri: Uri = format!("http://{}/bytes/{}", addr, n).parse().unwrap();
    let resp = client.get(uri).await.map_err(|e| format!("GET /bytes/{}: {}", n, e))?;
    check_response(resp, n).await
}

/// Waits until the connection can take another request (a future of its own: Debian's rustc
/// 1.63 has no std::future::poll_fn).
struct Ready<'a>(&'a mut hyper::client::conn::SendRequest<Body>);
impl std::future::Future for Ready<'_> {
    type Output = hyper::Result<()>;
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        self.0.poll_ready(cx)
    }
}
async fn futures_ready(sender: &mut hyper::client::conn::SendRequest<Body>) -> Result<(), String> {
    Ready(sender).await.map_err(|e| format!("connection not ready: {}", e))
}

/// A response to GET /bytes/n, checked: status 200, content-length n, every byte.
async fn check_response(resp: Response<Body>, n: usize) -> Result<usize, String> {
    if resp.status() != StatusCode::OK {
        return Err(format!("GET /bytes/{}: status {}", n, resp.status()));
    }
    let len = resp
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if len != Some(n) {
        return Err(format!("GET /bytes/{}: content-length {:?}", n, len));
    }
    let body = hyper::body::to_bytes(resp.into_body())
        .await
        .map_err(|e| format!("GET /bytes/{}: body: {}", n, e))?;
    if body.len() != n {
        return Err(format!("GET /bytes/{}: {} body bytes", n, body.len()));
    }
    if let Some(i) = (0..n).find(|&i| body[i] != pattern(n, i)) {
        return Err(format!("GET /bytes/{}: byte {} is {}, expected {}", n, i, body[i], pattern(n, i)));
    }
    Ok(n)
}

async fn self_test() -> Result<String, String> {
    let requests = Arc::new(AtomicUsize::new(0));
    let connections = Arc::new(AtomicUsize::new(0));
    let (r, c) = (requests.clone(), connections.clone());
    let make_svc = make_service_fn(move |_conn: &AddrStream| {
        c.fetch_add(1, Ordering::SeqCst);
        let r = r.clone();
        async move { Ok::<_, Infallible>(service_fn(move |req| handle(req, r.clone()))) }
    });
    let server = Server::try_bind(&SocketAddr::from(([127, 0, 0, 1], 0)))
        .map_err(|e| format!("bind: {}", e))?
        .serve(make_svc);
    let addr = server.local_addr();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(server.with_graceful_shutdown(async {
        stop_rx.await.ok();
    }));

    // Sequential GETs on one keep-alive connection. hyper's pooled Client may open a second
    // connection when a request comes before the previous one's connection is back in the pool
    // (a race inside hyper), so this part drives one connection itself: every request must
    // reuse it.
    let stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| format!("connect: {}", e))?;
    let (mut sender, conn) = hyper::client::conn::handshake(stream)
        .await
        .map_err(|e| format!("handshake: {}", e))?;
    let conn = tokio::spawn(conn);
    let mut bytes = 0;
    for i in 0..KEEPALIVE_GETS {
        let n = (i * 997) % 20000;
        futures_ready(&mut sender).await?;
        let req = Request::get(format!("/bytes/{}", n))
            .header("host", addr.to_string())
            .body(Body::empty())
            .unwrap();
        let resp = sender.send_request(req).await.map_err(|e| format!("GET /bytes/{}: {}", n, e))?;
        bytes += check_response(resp, n).await?;
    }
    drop(sender); // the connection ends once nothing can send on it
    conn.await
        .map_err(|e| format!("connection task: {}", e))?
        .map_err(|e| format!("connection: {}", e))?;
    let conns_keepalive = connections.load(Ordering::SeqCst);
    if conns_keepalive != 1 {
        return Err(format!("{} keep-alive GETs used {} connections, expected 1", KEEPALIVE_GETS, conns_keepalive));
    }

    // Concurrent GETs, each on a connection of its own (no pooling), on the runtime's workers.
    let fresh = Client::builder().pool_max_idle_per_host(0).build_http::<Body>();
    let tasks: Vec<_> = (0..NEW_CONN_GETS)
        .map(|i| {
            let client = fresh.clone();
            tokio::spawn(async move { get_checked(&client, addr, 1000 + i * 4099).await })
        })
        .collect();
    for t in tasks {
        bytes += t.await.map_err(|e| format!("task: {}", e))??;
    }
    let conns_new = connections.load(Ordering::SeqCst) - conns_keepalive;
    if conns_new != NEW_CONN_GETS {
        return Err(format!("{} GETs without pooling used {} new connections", NEW_CONN_GETS, conns_new));
    }
    let served = requests.load(Ordering::SeqCst);
    if served != KEEPALIVE_GETS + NEW_CONN_GETS {
        return Err(format!("server saw {} requests, sent {}", served, KEEPALIVE_GETS + NEW_CONN_GETS));
    }
    drop(fresh);
    stop_tx.send(()).ok();
    server
        .await
        .map_err(|e| format!("server task: {}", e))?
        .map_err(|e| format!("server: {}", e))?;
    Ok(format!(
        "{} GETs, all 200 OK, {} body bytes verified; {} on 1 keep-alive connection, {} concurrent on new connections",
        served,
        bytes,
        KEEPALIVE_GETS,
        NEW_CONN_GETS
    ))
}

/// xh-style: the response as it came, status line, headers, body.
async fn get_url(url: &str) -> Result<bool, String> {
    let uri: Uri = url.parse().map_err(|e| format!("{}: {}", url, e))?;
    let resp = Client::new().get(uri).await.map_err(|e| format!("GET {}: {}", url, e))?;
    println!("{:?} {}", resp.version(), resp.status());
    for (k, v) in resp.headers() {
        println!("{}: {}", k, v.to_str().unwrap_or("<binary>"));
    }
    println!();
    let ok = resp.status().is_success();
    let body = hyper::body::to_bytes(resp.into_body()).await.map_err(|e| format!("body: {}", e))?;
    println!("{}", String::from_utf8_lossy(&body));
    Ok(ok)
}

fn main() {
    let url = std::env::args().nth(1);
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            println!("tokio-http: FAIL: cannot build the tokio runtime: {}", e);
            exit(1);
        }
    };
    match url {
        Some(url) => match rt.block_on(get_url(&url)) {
            Ok(ok) => exit(if ok { 0 } else { 4 }),
            Err(e) => {
                eprintln!("tokio-http: {}", e);
                exit(1);
            }
        },
        None => match rt.block_on(self_test()) {
            Ok(line) => println!("tokio-http: ok: {}", line),
            Err(e) => {
                println!("tokio-http: FAIL: {}", e);
                exit(1);
            }
        },
    }
}
