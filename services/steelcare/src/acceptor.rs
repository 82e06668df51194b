//! The listener's side of a graceful stop. The server closes every connection gracefully when
//! its shutdown signal fires, and a connection whose first bytes it has not read yet is then
//! dropped, not drained: a client that connected and sent its call just before SIGTERM would
//! get UNAVAILABLE for a call that reached the machine. So at the stop the acceptor first takes
//! in the connections already waiting in the listen backlog, closes the listener, and lets the
//! shutdown go on only once the youngest connection has had [`SETTLE`] to be read; with no
//! recent connection that wait is nothing.

use std::future::poll_fn;
use std::task::Poll;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;

/// How long a connection accepted just before the stop is given for the server to read its
/// first request (the HTTP/2 preface and the call follow the TCP handshake at once).
pub const SETTLE: Duration = Duration::from_millis(250);

/// Accepted connections for the server, and a handle that stops accepting.
pub struct Acceptor {
    stop: watch::Sender<bool>,
    closed: oneshot::Receiver<Option<Instant>>,
}

/// Starts accepting on `listener`: the stream of connections (it never ends on its own, so
/// the server's shutdown signal alone ends serving), and the [`Acceptor`] that stops it.
///
/// The accepting task lives as long as the server and needs no supervisor: it cannot fail
/// (an accept error is handed to the server, which logs it and goes on), and it ends only
/// when the server drops the stream. Were it ever to end early, the stream would end with it
/// and the server would stop serving, so the process would exit rather than run deaf.
pub fn accept(listener: TcpListener) -> (ReceiverStream<std::io::Result<TcpStream>>, Acceptor) {
    let (tx, rx) = mpsc::channel(64);
    let (stop, mut stopping) = watch::channel(false);
    let (closed_tx, closed) = oneshot::channel();
    tokio::spawn(async move {
        let mut last = None;
        loop {
            let accepted = tokio::select! {
                biased;
                _ = stopping.wait_for(|stop| *stop) => break,
                accepted = listener.accept() => accepted,
            };
            last = Some(Instant::now());
            if tx.send(ready(accepted)).await.is_err() {
                return;
            }
        }
        // What the kernel already accepted for us waits in the backlog: take it in too.
        while let Some(accepted) = poll_fn(|cx| match listener.poll_accept(cx) {
            Poll::Ready(accepted) => Poll::Ready(Some(accepted)),
            Poll::Pending => Poll::Ready(None),
        })
        .await
        {
            last = Some(Instant::now());
            if tx.send(ready(accepted)).await.is_err() {
                return;
            }
        }
        drop(listener);
        let _ = closed_tx.send(last);
        // The stream stays open until the server drops it at its shutdown.
        tx.closed().await;
    });
    (rx.into(), Acceptor { stop, closed })
}

/// An accepted connection with Nagle's algorithm off: gRPC writes small frames and waits for
/// answers, and delayed ACKs would otherwise add ~40 ms to every call.
fn ready(
    accepted: std::io::Result<(TcpStream, std::net::SocketAddr)>,
) -> std::io::Result<TcpStream> {
    let (stream, _) = accepted?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

impl Acceptor {
    /// Stops accepting (after the backlog), and returns once the youngest connection has had
    /// [`SETTLE`] for its first request to be read.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Ok(Some(last)) = self.closed.await {
            tokio::time::sleep_until(last + SETTLE).await;
        }
    }
}
