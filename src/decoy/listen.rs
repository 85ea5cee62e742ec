//! The accept loop every network decoy shares: connection caps, refusals counted and
//! recorded, shutdown. A decoy passes the connections it admits to its own `serve`; those
//! refused at a cap are closed at once (as a server past its connection limit does) and
//! written to the store every few seconds as one counted touch per source, so a flood cannot
//! make the store do the flooding, yet the sensor never goes blind.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tracing::{Instrument, debug, info, warn};

use super::DecoyCtx;
use super::limit::{ConnLimiter, ConnPermit, RefusalTally};
use crate::touch::{ConnectionRefused, Event, Touch};

/// How often refused connections are written to the store.
const REFUSALS_EVERY: Duration = Duration::from_secs(5);

/// Keeps the open-connections gauge right however a connection ends.
pub struct OpenGuard(prometheus_client::metrics::gauge::Gauge);

impl OpenGuard {
    /// Counts one open connection of the decoy until dropped.
    pub fn new(ctx: &DecoyCtx) -> OpenGuard {
        let gauge = ctx
            .metrics
            .connections_open
            .get_or_create_owned(&[("decoy", ctx.name.clone())]);
        gauge.inc();
        OpenGuard(gauge)
    }
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Accepts connections on `listener` until `ctx.shutdown` fires, admitting each under the
/// caps (`admit` gets the stream, the client's address and the slot it holds), then writes
/// the last refusals. Runs in the caller's span.
pub async fn accept_loop(
    listener: TcpListener,
    ctx: &DecoyCtx,
    max_connections: usize,
    max_per_source: usize,
    mut admit: impl FnMut(TcpStream, SocketAddr, ConnPermit),
) {
    let limiter = ConnLimiter::new(max_connections, max_per_source);
    let refused = Arc::new(RefusalTally::default());
    ctx.tracker
        .spawn(record_refusals(ctx.clone(), refused.clone()).in_current_span());
    loop {
        let accepted = tokio::select! {
            _ = ctx.shutdown.cancelled() => break,
            a = listener.accept() => a,
        };
        match accepted {
            Ok((stream, peer)) => {
                // IPv4 clients of a dual-stack listener are recorded as plain IPv4.
                let peer = SocketAddr::new(peer.ip().to_canonical(), peer.port());
                match limiter.try_acquire(peer.ip()) {
                    Ok(permit) => admit(stream, peer, permit),
                    Err(cap) => {
                        let local = stream.local_addr().unwrap_or(peer);
                        drop(stream);
                        refused.note(peer, local, cap);
                        let labels = [("decoy", ctx.name.clone()), ("cap", cap.label().into())];
                        ctx.metrics.connections_refused.get_or_create(&labels).inc();
                        debug!(peer = %peer, cap = cap.label(), "connection refused: cap reached");
                    }
                }
            }
            Err(e) => {
                // Out of file descriptors or similar: back off instead of spinning.
                warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    info!("stopped accepting");
    flush_refusals(ctx, &refused).await;
}

/// Writes the refusal tally every few seconds until shutdown (the accept loop writes the
/// last of it once it has stopped accepting).
async fn record_refusals(ctx: DecoyCtx, tally: Arc<RefusalTally>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(REFUSALS_EVERY) => flush_refusals(&ctx, &tally).await,
            _ = ctx.shutdown.cancelled() => return,
        }
    }
}

/// Records everything in the tally, one counted touch per source, all handed to the store at
/// once so they share group commits.
async fn flush_refusals(ctx: &DecoyCtx, tally: &RefusalTally) {
    let touches: Vec<(Touch, u64)> = tally
        .drain()
        .into_iter()
        .map(|(ip, r)| {
            let event = Event::ConnectionRefused(ConnectionRefused {
                cap: r.cap.label().to_string(),
            });
            (
                ctx.touch(SocketAddr::new(ip, r.port), r.local, event),
                r.count,
            )
        })
        .collect();
    let lost: u64 = ctx
        .store
        .record_all(touches)
        .await
        .into_iter()
        .filter_map(|(count, r)| r.is_err().then_some(count))
        .sum();
    if lost > 0 {
        warn!(refused = lost, "refused connections could not be recorded");
    }
}
