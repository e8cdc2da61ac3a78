//! tokio-throughput — TCP echo throughput on tokio's multi-threaded runtime, unmodified: anypoll's
//! benchmark workload 7 (scripts/bench-report) and a client of the clients room
//! (tests/clients/tokio). An echo server and N client connections (default 64) on loopback;
//! each client writes its own byte pattern in 16 KiB pieces for the given time (default 3 s)
//! while it reads the echo back on the other half, then shuts down its write side and must read
//! exactly its bytes, in order, followed by end of stream.
//!
//! Usage: tokio-throughput [--connections N] [--seconds S]
//! Prints one line `tokio-throughput: connections=N seconds=S bytes=B bytes_per_s=R` (B: bytes
//! echoed back, every one checked) and exits 0 only when every byte of every connection came back.

use std::process::exit;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const PERIOD: usize = 251; // a prime: pieces never line up with the pattern
const PIECE: usize = PERIOD * 64; // 16 064 bytes, a whole number of periods

fn pattern(conn: usize, pos: u64) -> u8 {
    ((pos % PERIOD as u64) as usize + conn * 7) as u8
}

async fn client(addr: std::net::SocketAddr, conn: usize, stop: Arc<AtomicBool>) -> Result<u64, String> {
    let stream = TcpStream::connect(addr).await.map_err(|e| format!("conn {}: connect: {}", conn, e))?;
    stream.set_nodelay(true).map_err(|e| format!("conn {}: nodelay: {}", conn, e))?;
    let (mut rd, mut wr) = stream.into_split();
    let piece: Vec<u8> = (0..PIECE).map(|i| pattern(conn, i as u64)).collect();
    let writer = tokio::spawn(async move {
        let mut sent: u64 = 0;
        while !stop.load(Ordering::Relaxed) {
            wr.write_all(&piece).await?;
            sent += PIECE as u64;
        }
        wr.shutdown().await?;
        Ok::<u64, std::io::Error>(sent)
    });
    let mut got: u64 = 0;
    let mut buf = vec![0u8; 65536];
    loop {
        let n = rd.read(&mut buf).await.map_err(|e| format!("conn {}: read: {}", conn, e))?;
        if n == 0 {
            break;
        }
        for (k, &b) in buf[..n].iter().enumerate() {
            if b != pattern(conn, got + k as u64) {
                return Err(format!("conn {}: byte {} is {}, sent {}", conn, got + k as u64, b, pattern(conn, got + k as u64)));
            }
        }
        got += n as u64;
    }
    let sent = writer
        .await
        .map_err(|e| format!("conn {}: writer: {}", conn, e))?
        .map_err(|e| format!("conn {}: write: {}", conn, e))?;
    if got != sent {
        return Err(format!("conn {}: {} of {} bytes came back before end of stream", conn, got, sent));
    }
    Ok(got)
}

async fn run(conns: usize, seconds: f64) -> Result<(u64, f64), String> {
    let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| format!("bind: {}", e))?;
    let addr = listener.local_addr().map_err(|e| format!("local_addr: {}", e))?;
    let server = tokio::spawn(async move {
        for _ in 0..conns {
            let (mut sock, _) = listener.accept().await?;
            sock.set_nodelay(true)?;
            tokio::spawn(async move {
                let (mut rd, mut wr) = sock.split();
                tokio::io::copy(&mut rd, &mut wr).await?;
                wr.shutdown().await
            });
        }
        Ok::<(), std::io::Error>(())
    });
    let stop = Arc::new(AtomicBool::new(false));
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..conns).map(|c| tokio::spawn(client(addr, c, stop.clone()))).collect();
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    for t in tasks {
        total += t.await.map_err(|e| format!("task: {}", e))??;
    }
    let elapsed = t0.elapsed().as_secs_f64();
    server.await.map_err(|e| format!("server task: {}", e))?.map_err(|e| format!("accept: {}", e))?;
    Ok((total, elapsed))
}

fn main() {
    let mut conns = 64usize;
    let mut seconds = 3.0f64;
    let args: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < args.len() {
        let v = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--connections" => conns = v.parse().unwrap_or(0),
            "--seconds" => seconds = v.parse().unwrap_or(-1.0),
            _ => {
                eprintln!("usage: tokio-throughput [--connections N] [--seconds S]");
                exit(2);
            }
        }
        i += 2;
    }
    if conns == 0 || seconds <= 0.0 {
        eprintln!("tokio-throughput: --connections must be > 0 and --seconds > 0");
        exit(2);
    }
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tokio-throughput: runtime: {}", e);
            exit(1);
        }
    };
    match rt.block_on(run(conns, seconds)) {
        Ok((bytes, elapsed)) => {
            println!(
                "tokio-throughput: connections={} seconds={:.3} bytes={} bytes_per_s={:.0}",
                conns, elapsed, bytes, bytes as f64 / elapsed
            );
        }
        Err(e) => {
            eprintln!("tokio-throughput: {}", e);
            exit(1);
        }
    }
}
