//! Prometheus metrics for `/metrics`. Labels only ever carry decoy names from the config and
//! fixed enum names, never attacker input, so cardinality is bounded by the config.

use std::sync::Arc;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels: decoy and kind.
pub type DecoyKindLabels = [(&'static str, Arc<str>); 2];
/// Labels: decoy only.
pub type DecoyLabels = [(&'static str, Arc<str>); 1];
/// Labels: one fixed reason.
pub type ReasonLabels = [(&'static str, &'static str); 1];

/// Every metric the daemon exports; cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    /// Touches recorded, by decoy and event kind (folded touches count once each).
    pub touches: Family<DecoyKindLabels, Counter>,
    /// Touches folded into an earlier identical record instead of a record of their own.
    pub touches_folded: Counter,
    /// Touches pruned, by reason (`age`, `size`).
    pub touches_pruned: Family<ReasonLabels, Counter>,
    /// Seconds from a decoy handing a touch to the store until it is on disk.
    pub store_write_seconds: Histogram,
    /// Touches in one group commit.
    pub store_batch_size: Histogram,
    /// Group commits (one fsync each).
    pub store_flushes: Counter,
    /// Large log items sled wrote to files of their own, synced before acknowledging.
    pub store_blob_syncs: Counter,
    /// Store writes that failed (a touch that could not be made durable: data loss risk).
    pub store_write_errors: Counter,
    /// Highest sequence number known to be on disk.
    pub store_flushed_seq: Gauge,
    /// Logical size of stored touches, in bytes.
    pub store_bytes: Gauge,
    /// Connections open now, by decoy.
    pub connections_open: Family<DecoyLabels, Gauge>,
    /// Connections refused because a connection cap was reached, by decoy and cap.
    pub connections_refused: Family<DecoyKindLabels, Counter>,
    /// Lure opens not recorded because the process is in `lures.ignore_processes`.
    pub lure_opens_ignored: Counter,
    /// Signal delivery attempts, by receiver and outcome (`delivered`, `retried`, `dead`).
    pub signals: Family<DecoyKindLabels, Counter>,
    /// Okta user lookups before a signal, by receiver and result (`found`, `not_found`,
    /// `failed`): `not_found` means Okta would drop the signal silently.
    pub okta_user_checks: Family<DecoyKindLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Self {
        let mut r = Registry::with_prefix("decoyd");
        let touches = Family::<DecoyKindLabels, Counter>::default();
        r.register(
            "touches",
            "Touches recorded, by decoy and event kind",
            touches.clone(),
        );
        let touches_folded = Counter::default();
        r.register(
            "touches_folded",
            "Touches folded into an identical earlier record (counted in its count field)",
            touches_folded.clone(),
        );
        let touches_pruned = Family::<ReasonLabels, Counter>::default();
        r.register(
            "touches_pruned",
            "Touches pruned by retention age or store size cap",
            touches_pruned.clone(),
        );
        let store_write_seconds = Histogram::new(exponential_buckets(0.000_05, 2.0, 16));
        r.register(
            "store_write_seconds",
            "Time from a decoy handing over a touch until it is flushed to disk",
            store_write_seconds.clone(),
        );
        let store_batch_size = Histogram::new(exponential_buckets(1.0, 2.0, 12));
        r.register(
            "store_batch_size",
            "Touches per group commit",
            store_batch_size.clone(),
        );
        let store_flushes = Counter::default();
        r.register(
            "store_flushes",
            "Group commits, one fsync each",
            store_flushes.clone(),
        );
        let store_blob_syncs = Counter::default();
        r.register(
            "store_blob_syncs",
            "Large log items in files of their own, synced before acknowledging",
            store_blob_syncs.clone(),
        );
        let store_write_errors = Counter::default();
        r.register(
            "store_write_errors",
            "Touches that could not be written to disk",
            store_write_errors.clone(),
        );
        let store_flushed_seq = Gauge::default();
        r.register(
            "store_flushed_seq",
            "Highest touch sequence number flushed to disk",
            store_flushed_seq.clone(),
        );
        let store_bytes = Gauge::default();
        r.register(
            "store_bytes",
            "Logical size of the stored touches in bytes",
            store_bytes.clone(),
        );
        let connections_open = Family::<DecoyLabels, Gauge>::default();
        r.register(
            "connections_open",
            "Connections open now, by decoy",
            connections_open.clone(),
        );
        let connections_refused = Family::<DecoyKindLabels, Counter>::default();
        r.register(
            "connections_refused",
            "Connections closed at once because a connection cap was reached",
            connections_refused.clone(),
        );
        let lure_opens_ignored = Counter::default();
        r.register(
            "lure_opens_ignored",
            "Lure opens not recorded because the process is in lures.ignore_processes",
            lure_opens_ignored.clone(),
        );
        let signals = Family::<DecoyKindLabels, Counter>::default();
        r.register(
            "signals",
            "Signal delivery attempts, by receiver and outcome (delivered, retried, dead)",
            signals.clone(),
        );
        let okta_user_checks = Family::<DecoyKindLabels, Counter>::default();
        r.register(
            "okta_user_checks",
            "Okta user lookups before a signal, by receiver and result (found, not_found, failed)",
            okta_user_checks.clone(),
        );
        Metrics {
            registry: Arc::new(r),
            touches,
            touches_folded,
            touches_pruned,
            store_write_seconds,
            store_batch_size,
            store_flushes,
            store_blob_syncs,
            store_write_errors,
            store_flushed_seq,
            store_bytes,
            connections_open,
            connections_refused,
            lure_opens_ignored,
            signals,
            okta_user_checks,
        }
    }

    /// The registry in the Prometheus/OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String");
        out
    }
}
