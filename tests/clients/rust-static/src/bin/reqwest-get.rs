//! reqwest-get — reqwest 0.11's async client (no TLS) against a hyper server in the same
//! process, on tokio's multi-threaded runtime; built fully static with anypoll linked in
//! (bindings/rust/anypoll-link) by `make clients-rust-static`.
//!
//!   reqwest-get    self-test: a hyper server on 127.0.0.1, then 100 sequential GETs through one
//!                  reqwest::Client (its pool keeps the connection alive), 32 concurrent GETs,
//!                  and one POST echoed back; every status, length and body byte is checked
//!
//! Prints one line `reqwest-get: ...` (with the engine anypoll chose, from anypoll_link::engine())
//! and exits 0 only when everything it got was right.

// anypoll's drop-in is in this binary because it names the crate (docs/dropin.md, "Rust"): here
// by calling anypoll_link::engine() below; `use anypoll_link as _;` would do as well.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::exit;

use hyper::service::{make_service_fn, service_fn};
use hyper::{Body, Method, Request, Response, Server, StatusCode};

const SEQUENTIAL_GETS: usize = 100;
const CONCURRENT_GETS: usize = 32;

fn pattern(n: usize, i: usize) -> u8 {
    ((i * 31 + n * 7) % 251) as u8
}

async fn handle(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    if req.method() == Method::POST {
        let body = hyper::body::to_bytes(req.into_body()).await.unwrap_or_default();
        return Ok(Response::new(Body::from(body)));
    }
    let n = req.uri().path().strip_prefix("/bytes/").and_then(|s| s.parse::<usize>().ok());
    Ok(match n {
        Some(n) if n <= 1 << 20 => Response::new(Body::from((0..n).map(|i| pattern(n, i)).collect::<Vec<u8>>())),
        _ => Response::builder().status(StatusCode::NOT_FOUND).body(Body::from("not found\n")).unwrap(),
    })
}

async fn get_checked(client: reqwest::Client, addr: SocketAddr, n: usize) -> Result<usize, String> {
    let url = format!("http://{}/bytes/{}", addr, n);
    let resp = client.get(&url).send().await.map_err(|e| format!("GET {}: {}", url, e))?;
    let (status, length) = (resp.status(), resp.content_length());
    let body = resp.bytes().await.map_err(|e| format!("GET {}: body: {}", url, e))?;
    let want: Vec<u8> = (0..n).map(|i| pattern(n, i)).collect();
    match body.iter().zip(&want).position(|(a, b)| a != b) {
        _ if status != reqwest::StatusCode::OK || length != Some(n as u64) => {
            Err(format!("GET {}: status {}, content-length {:?}", url, status, length))
        }
        Some(i) => Err(format!("GET {}: byte {} is {}, expected {}", url, i, body[i], want[i])),
        None if body.len() != n => Err(format!("GET {}: {} body bytes", url, body.len())),
        None => Ok(n),
    }
}

async fn self_test() -> Result<String, String> {
    let make_svc = make_service_fn(|_| async { Ok::<_, Infallible>(service_fn(handle)) });
    let server = Server::try_bind(&SocketAddr::from(([127, 0, 0, 1], 0)))
        .map_err(|e| format!("bind: {}", e))?
        .serve(make_svc);
    let addr = server.local_addr();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(server.with_graceful_shutdown(async {
        stop_rx.await.ok();
    }));

    let client = reqwest::Client::builder().build().map_err(|e| format!("client: {}", e))?;
    let mut bytes = 0;
    for i in 0..SEQUENTIAL_GETS {
        bytes += get_checked(client.clone(), addr, (i * 997) % 20000).await?;
    }
    let mut set = tokio::task::JoinSet::new();
    for i in 0..CONCURRENT_GETS {
        set.spawn(get_checked(client.clone(), addr, 1000 + i * 4099));
    }
    while let Some(done) = set.join_next().await {
        bytes += done.map_err(|e| format!("task: {}", e))??;
    }
    let sent: Vec<u8> = (0..65536).map(|i| pattern(65536, i)).collect();
    let url = format!("http://{}/echo", addr);
    let resp = client.post(&url).body(sent.clone()).send().await.map_err(|e| format!("POST {}: {}", url, e))?;
    if resp.status() != reqwest::StatusCode::OK {
        return Err(format!("POST {}: status {}", url, resp.status()));
    }
    let back = resp.bytes().await.map_err(|e| format!("POST {}: body: {}", url, e))?;
    if back[..] != sent[..] {
        return Err(format!("POST {}: {} bytes sent, {} came back different", url, sent.len(), back.len()));
    }
    drop(client);
    stop_tx.send(()).ok();
    server
        .await
        .map_err(|e| format!("server task: {}", e))?
        .map_err(|e| format!("server: {}", e))?;
    Ok(format!(
        "{} GETs ({} sequential, {} concurrent), all 200 OK, {} body bytes verified; POST of {} bytes echoed",
        SEQUENTIAL_GETS + CONCURRENT_GETS,
        SEQUENTIAL_GETS,
        CONCURRENT_GETS,
        bytes,
        sent.len()
    ))
}

fn main() {
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            println!("reqwest-get: FAIL: cannot build the tokio runtime: {}", e);
            exit(1);
        }
    };
    match rt.block_on(self_test()) {
        Ok(line) => println!("reqwest-get: ok: {}; anypoll engine {}", line, anypoll_link::engine()),
        Err(e) => {
            println!("reqwest-get: FAIL: {}", e);
            exit(1);
        }
    }
}
