//! tokio-echo — a TCP echo server and 200 concurrent client tasks on tokio's multi-threaded
//! runtime, unmodified: anypoll's clients room (tests/clients/tokio). Each task writes 32 KiB
//! of its own pattern while it reads the echo back on the other half of its socket, then shuts
//! down its write side and must read exactly its bytes followed by end of stream.
//!
//! Prints one line `tokio-echo: ...` and exits 0 only when every byte of every task came back.

use std::process::exit;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const TASKS: usize = 200;
const BYTES: usize = 32 * 1024;

fn pattern(task: usize, i: usize) -> u8 {
    ((i * 13 + task * 101 + i / 251) % 256) as u8
}

async fn client(addr: std::net::SocketAddr, task: usize) -> Result<usize, String> {
    let stream = TcpStream::connect(addr).await.map_err(|e| format!("task {}: connect: {}", task, e))?;
    let (mut rd, mut wr) = stream.into_split();
    let out: Vec<u8> = (0..BYTES).map(|i| pattern(task, i)).collect();
    let writer = tokio::spawn(async move {
        // odd-sized pieces, so the echo is read back in other boundaries than it was written
        for chunk in out.chunks(1000 + task % 37) {
            wr.write_all(chunk).await?;
        }
        wr.shutdown().await
    });
    let mut back = Vec::with_capacity(BYTES);
    let mut buf = [0u8; 4096];
    loop {
        let n = rd.read(&mut buf).await.map_err(|e| format!("task {}: read: {}", task, e))?;
        if n == 0 {
            break;
        }
        back.extend_from_slice(&buf[..n]);
        if back.len() > BYTES {
            return Err(format!("task {}: got more than the {} bytes it sent", task, BYTES));
        }
    }
    writer
        .await
        .map_err(|e| format!("task {}: writer: {}", task, e))?
        .map_err(|e| format!("task {}: write: {}", task, e))?;
    if back.len() != BYTES {
        return Err(format!("task {}: {} of {} bytes came back before end of stream", task, back.len(), BYTES));
    }
    if let Some(i) = (0..BYTES).find(|&i| back[i] != pattern(task, i)) {
        return Err(format!("task {}: byte {} is {}, sent {}", task, i, back[i], pattern(task, i)));
    }
    Ok(back.len())
}

async fn echo_test() -> Result<String, String> {
    let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| format!("bind: {}", e))?;
    let addr = listener.local_addr().map_err(|e| format!("local_addr: {}", e))?;
    let server = tokio::spawn(async move {
        let mut served = 0usize;
        while served < TASKS {
            let (mut sock, _) = listener.accept().await?;
            served += 1;
            tokio::spawn(async move {
                let (mut rd, mut wr) = sock.split();
                tokio::io::copy(&mut rd, &mut wr).await?;
                wr.shutdown().await
            });
        }
        Ok::<usize, std::io::Error>(served)
    });
    let tasks: Vec<_> = (0..TASKS).map(|t| tokio::spawn(client(addr, t))).collect();
    let mut total = 0;
    for t in tasks {
        total += t.await.map_err(|e| format!("task: {}", e))??;
    }
    let accepted = server
        .await
        .map_err(|e| format!("server task: {}", e))?
        .map_err(|e| format!("accept: {}", e))?;
    Ok(format!(
        "{} concurrent tasks, {} connections accepted, {} bytes echoed and verified",
        TASKS, accepted, total
    ))
}

fn main() {
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            println!("tokio-echo: FAIL: cannot build the tokio runtime: {}", e);
            exit(1);
        }
    };
    match rt.block_on(echo_test()) {
        Ok(line) => println!("tokio-echo: ok: {}", line),
        Err(e) => {
            println!("tokio-echo: FAIL: {}", e);
            exit(1);
        }
    }
}
