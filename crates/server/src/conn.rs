//! Connection limits: a cap on open connections and an idle timeout, so that idle or slow
//! clients cannot exhaust the process's file descriptors (the header-read timeout is hyper's,
//! set in [`crate::app::serve`]).
//!
//! [`LimitAcceptor`] runs first on every accepted TCP stream (under TLS, before the
//! handshake): it takes a permit from a semaphore of `max_connections` permits, or closes the
//! stream at once when none is left (counted in `cphar_connections_refused_total`). The
//! permit travels with the stream ([`Limited`]) and is returned when the connection ends.
//! [`Limited`] also closes the connection when nothing has been read or written for the idle
//! timeout, whatever the protocol state (before the first byte, between keep-alive requests,
//! an HTTP/2 connection without streams, a stalled TLS handshake).

use axum_server::accept::Accept;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// Open-connection accounting shared by the acceptor and the metrics.
pub struct ConnectionLimits {
    permits: Arc<Semaphore>,
    max: usize,
    idle: Duration,
    refused: prometheus_client::metrics::counter::Counter,
}

impl ConnectionLimits {
    /// At most `max` connections (at least 1), each closed after `idle` without traffic.
    pub fn new(
        max: usize,
        idle: Duration,
        refused: prometheus_client::metrics::counter::Counter,
    ) -> Self {
        let max = max.clamp(1, Semaphore::MAX_PERMITS);
        ConnectionLimits {
            permits: Arc::new(Semaphore::new(max)),
            max,
            idle,
            refused,
        }
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.max.saturating_sub(self.permits.available_permits())
    }
}

/// The acceptor applying [`ConnectionLimits`].
#[derive(Clone)]
pub struct LimitAcceptor {
    limits: Arc<ConnectionLimits>,
}

impl LimitAcceptor {
    /// An acceptor over shared limits.
    pub fn new(limits: Arc<ConnectionLimits>) -> Self {
        LimitAcceptor { limits }
    }
}

impl<I, S> Accept<I, S> for LimitAcceptor
where
    I: AsyncRead + AsyncWrite + Unpin,
{
    type Stream = Limited<I>;
    type Service = S;
    type Future = std::future::Ready<io::Result<(Limited<I>, S)>>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        let result = match Arc::clone(&self.limits.permits).try_acquire_owned() {
            Ok(permit) => Ok((Limited::new(stream, permit, self.limits.idle), service)),
            Err(_) => {
                // Dropping the stream closes it: the client sees a reset or EOF at once
                // instead of waiting in the backlog behind idle connections.
                self.limits.refused.inc();
                Err(io::Error::other("connection limit reached"))
            }
        };
        std::future::ready(result)
    }
}

/// A stream holding its connection permit, closed after the idle timeout.
pub struct Limited<I> {
    inner: I,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
    _permit: OwnedSemaphorePermit,
}

impl<I> Limited<I> {
    fn new(inner: I, permit: OwnedSemaphorePermit, idle: Duration) -> Self {
        Limited {
            inner,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
            _permit: permit,
        }
    }

    fn touch(&mut self) {
        self.deadline.as_mut().reset(Instant::now() + self.idle);
    }

    /// `Ready(Err)` once the idle deadline has passed (this also registers the waker).
    fn expired(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(io::Error::new(
                io::ErrorKind::TimedOut,
                "connection idle timeout",
            )),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Limited<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    self.touch();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => self.expired(cx).map(Err),
        }
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Limited<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, data) {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    self.touch();
                }
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            // A client that stops reading our answer is idle too.
            Poll::Pending => self.expired(cx).map(Err),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write_vectored(cx, bufs) {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    self.touch();
                }
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => self.expired(cx).map(Err),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
