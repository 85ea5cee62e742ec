//! The store's single writer. It runs on a thread of its own because sled's writes and fsync
//! block. Each turn it takes every command waiting (up to `max_batch`), folds identical touches,
//! writes one atomic batch, flushes once, and only then acknowledges each touch. The
//! acknowledgement is what lets a decoy answer.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::time::{Instant, SystemTime};

use serde::Deserialize;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{debug, error, info};

use super::{Command, Flushed, Receipt, StoreError, StoreSettings, StoredTouch, keys};
use crate::metrics::Metrics;
use crate::touch::{Timestamp, Touch};

/// Records pruned per sled batch.
const PRUNE_CHUNK: usize = 512;
/// Chunks pruned per age-pruning turn, so a large backlog never stalls writers for long.
const PRUNE_TURN_CHUNKS: usize = 64;

pub(crate) struct Writer {
    db: sled::Db,
    tree: sled::Tree,
    settings: StoreSettings,
    metrics: Metrics,
    flushed: watch::Sender<Flushed>,
    next_seq: u64,
    bytes: u64,
    flushed_touches: u64,
}

struct Pending {
    touch: Touch,
    ack: oneshot::Sender<Result<Receipt, ()>>,
    enqueued: Instant,
}

/// Identical touches from one source in one batch, about to become one record.
struct Group {
    touch: Touch,
    count: u64,
    last_at: Option<Timestamp>,
    waiters: Vec<(oneshot::Sender<Result<Receipt, ()>>, Instant)>,
}

/// The fields pruning needs to find a record's index entries.
#[derive(Deserialize)]
struct IndexFields {
    decoy: String,
    source: SocketAddr,
    at: Timestamp,
    #[serde(default = "one")]
    count: u64,
}

fn one() -> u64 {
    1
}

impl Writer {
    pub(crate) fn new(
        db: sled::Db,
        tree: sled::Tree,
        settings: StoreSettings,
        metrics: Metrics,
        flushed: watch::Sender<Flushed>,
        last_seq: u64,
    ) -> Result<Writer, StoreError> {
        let bytes = match tree.get(keys::META_BYTES)? {
            Some(v) if v.len() == 8 => u64::from_be_bytes(v.as_ref().try_into().expect("8 bytes")),
            _ => {
                // No counter yet (new store): measure what is there.
                let mut total = 0u64;
                for kv in tree.iter() {
                    let (k, v) = kv?;
                    if k.as_ref() != keys::META_BYTES {
                        total += (k.len() + v.len()) as u64;
                    }
                }
                total
            }
        };
        metrics.store_bytes.set(bytes as i64);
        metrics.store_flushed_seq.set(last_seq as i64);
        Ok(Writer {
            db,
            tree,
            settings,
            metrics,
            flushed,
            next_seq: last_seq + 1,
            bytes,
            flushed_touches: 0,
        })
    }

    pub(crate) fn run(&mut self, mut rx: mpsc::Receiver<Command>) {
        let mut pending: Vec<Pending> = Vec::with_capacity(self.settings.max_batch);
        let mut stopping = false;
        while !stopping {
            let Some(first) = rx.blocking_recv() else {
                break;
            };
            // Take what is waiting, in arrival order: appends gather into one group commit;
            // any other command first commits the appends before it.
            let mut next = Some(first);
            while let Some(cmd) = next.take() {
                match cmd {
                    Command::Append {
                        touch,
                        ack,
                        enqueued,
                    } => {
                        pending.push(Pending {
                            touch,
                            ack,
                            enqueued,
                        });
                        if pending.len() < self.settings.max_batch {
                            next = rx.try_recv().ok();
                        }
                    }
                    Command::PruneAge => {
                        if !pending.is_empty() {
                            self.commit(&mut pending);
                        }
                        self.prune_by_age(SystemTime::now());
                        next = rx.try_recv().ok();
                    }
                    Command::Shutdown => stopping = true,
                }
            }
            if !pending.is_empty() {
                self.commit(&mut pending);
            }
        }
        // Anything still queued behind the shutdown request is written too.
        rx.close();
        while let Ok(cmd) = rx.try_recv() {
            if let Command::Append {
                touch,
                ack,
                enqueued,
            } = cmd
            {
                pending.push(Pending {
                    touch,
                    ack,
                    enqueued,
                });
                if pending.len() >= self.settings.max_batch {
                    self.commit(&mut pending);
                }
            }
        }
        if !pending.is_empty() {
            self.commit(&mut pending);
        }
        if let Err(e) = self.db.flush() {
            error!(error = %e, "final store flush failed");
        }
        debug!(seq = self.next_seq - 1, "store writer stopped");
    }

    fn commit(&mut self, pending: &mut Vec<Pending>) {
        let n = pending.len();
        let groups = fold(pending.drain(..));
        let mut batch = sled::Batch::default();
        let mut added = 0u64;
        let first_seq = self.next_seq;
        let mut records = Vec::with_capacity(groups.len());
        for g in groups {
            let seq = self.next_seq;
            self.next_seq += 1;
            let rec = StoredTouch {
                seq,
                count: g.count,
                last_at: g.last_at,
                touch: g.touch,
            };
            let value = serde_json::to_vec(&rec).expect("touches always serialize");
            let rk = keys::record(seq);
            let dk = keys::by_decoy(&rec.touch.decoy, seq);
            let sk = keys::by_source(rec.touch.source.ip(), seq);
            added += (rk.len() + value.len() + dk.len() + sk.len()) as u64;
            batch.insert(&rk[..], value);
            batch.insert(dk, &[][..]);
            batch.insert(&sk[..], &[][..]);
            records.push((
                seq,
                rec.touch.decoy.clone(),
                rec.touch.event.kind(),
                rec.count,
                g.waiters,
            ));
        }
        let bytes = self.bytes + added;
        batch.insert(keys::META_BYTES, &bytes.to_be_bytes()[..]);

        let result = self.tree.apply_batch(batch).and_then(|_| self.db.flush());
        match result {
            Ok(_) => {
                self.bytes = bytes;
                let last = self.next_seq - 1;
                self.flushed_touches += n as u64;
                self.flushed.send_replace(Flushed {
                    seq: last,
                    touches: self.flushed_touches,
                });
                self.metrics.store_flushed_seq.set(last as i64);
                self.metrics.store_bytes.set(bytes as i64);
                self.metrics.store_batch_size.observe(n as f64);
                self.metrics.store_flushes.inc();
                self.metrics
                    .touches_folded
                    .inc_by(n as u64 - records.len() as u64);
                let now = Instant::now();
                for (seq, decoy, kind, count, waiters) in records {
                    self.metrics
                        .touches
                        .get_or_create(&[("decoy", decoy), ("kind", kind.into())])
                        .inc_by(count);
                    for (ack, enqueued) in waiters {
                        self.metrics
                            .store_write_seconds
                            .observe(now.duration_since(enqueued).as_secs_f64());
                        let _ = ack.send(Ok(Receipt { seq }));
                    }
                }
            }
            Err(e) => {
                // Nothing in this batch may be answered: the decoys drop these connections.
                error!(error = %e, first_seq, touches = n, "store write failed; touches not durable");
                self.metrics.store_write_errors.inc_by(n as u64);
                for (_, _, _, _, waiters) in records {
                    for (ack, _) in waiters {
                        let _ = ack.send(Err(()));
                    }
                }
            }
        }
        if self.bytes > self.settings.max_bytes {
            self.prune_by_size();
        }
    }

    /// Prunes the oldest records until the store is 10% under its size cap.
    fn prune_by_size(&mut self) {
        let target = self.settings.max_bytes / 10 * 9;
        let mut pruned = 0u64;
        while self.bytes > target {
            match self.prune_chunk(None) {
                Ok((0, _)) => break,
                Ok((_, touches)) => pruned += touches,
                Err(e) => {
                    error!(error = %e, "pruning by size failed");
                    break;
                }
            }
        }
        if pruned > 0 {
            info!(
                touches = pruned,
                bytes = self.bytes,
                cap = self.settings.max_bytes,
                "pruned oldest touches: store size cap"
            );
            self.metrics
                .touches_pruned
                .get_or_create(&[("reason", "size")])
                .inc_by(pruned);
        }
    }

    /// Prunes records older than the retention age (a bounded amount per call).
    pub(crate) fn prune_by_age(&mut self, now: SystemTime) {
        let cutoff = Timestamp::from(
            now.checked_sub(self.settings.retention)
                .unwrap_or(SystemTime::UNIX_EPOCH),
        );
        let mut pruned = 0u64;
        for _ in 0..PRUNE_TURN_CHUNKS {
            match self.prune_chunk(Some(cutoff)) {
                Ok((0, _)) => break,
                Ok((n, touches)) => {
                    pruned += touches;
                    if n < PRUNE_CHUNK {
                        break;
                    }
                }
                Err(e) => {
                    error!(error = %e, "pruning by age failed");
                    break;
                }
            }
        }
        if pruned > 0 {
            info!(touches = pruned, retention = ?self.settings.retention, "pruned touches older than the retention age");
            self.metrics
                .touches_pruned
                .get_or_create(&[("reason", "age")])
                .inc_by(pruned);
        }
    }

    /// Deletes up to one chunk of the oldest records (only those before `cutoff`, if given).
    /// Returns the records deleted and the touches they stood for.
    fn prune_chunk(&mut self, cutoff: Option<Timestamp>) -> Result<(usize, u64), StoreError> {
        let mut batch = sled::Batch::default();
        let mut removed = 0u64;
        let mut records = 0usize;
        let mut touches = 0u64;
        for kv in self.tree.scan_prefix([keys::RECORD]).take(PRUNE_CHUNK) {
            let (k, v) = kv?;
            let seq = keys::seq_of(&k).unwrap_or(0);
            match serde_json::from_slice::<IndexFields>(&v) {
                Ok(f) => {
                    if cutoff.is_some_and(|c| f.at >= c) {
                        break;
                    }
                    let dk = keys::by_decoy(&f.decoy, seq);
                    let sk = keys::by_source(f.source.ip(), seq);
                    removed += (dk.len() + sk.len()) as u64;
                    batch.remove(dk);
                    batch.remove(&sk[..]);
                    touches += f.count;
                }
                Err(e) => {
                    // Unreadable: remove it; its index entries, if any, are skipped by readers.
                    error!(seq, error = %e, "pruning an unreadable record");
                    touches += 1;
                }
            }
            removed += (k.len() + v.len()) as u64;
            batch.remove(k);
            records += 1;
        }
        if records == 0 {
            return Ok((0, 0));
        }
        self.bytes = self.bytes.saturating_sub(removed);
        batch.insert(keys::META_BYTES, &self.bytes.to_be_bytes()[..]);
        // Not flushed here: if a crash loses the deletion, the next prune repeats it.
        self.tree.apply_batch(batch)?;
        self.metrics.store_bytes.set(self.bytes as i64);
        Ok((records, touches))
    }
}

/// Groups identical touches (same decoy, source address, local address and event) in order
/// of first appearance. Only the source port and time may differ within a group.
fn fold(pending: impl Iterator<Item = Pending>) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    let mut by_hash: HashMap<u64, Vec<usize>> = HashMap::new();
    for p in pending {
        let mut h = DefaultHasher::new();
        p.touch.decoy.hash(&mut h);
        p.touch.source.ip().hash(&mut h);
        p.touch.local.hash(&mut h);
        p.touch.event.hash(&mut h);
        let h = h.finish();
        let same = by_hash.get(&h).and_then(|ix| {
            ix.iter().copied().find(|&i| {
                let t = &groups[i].touch;
                t.decoy == p.touch.decoy
                    && t.source.ip() == p.touch.source.ip()
                    && t.local == p.touch.local
                    && t.event == p.touch.event
            })
        });
        match same {
            Some(i) => {
                let g = &mut groups[i];
                g.count += 1;
                g.last_at = Some(p.touch.at.max(g.last_at.unwrap_or(p.touch.at)));
                g.waiters.push((p.ack, p.enqueued));
            }
            None => {
                by_hash.entry(h).or_default().push(groups.len());
                groups.push(Group {
                    touch: p.touch,
                    count: 1,
                    last_at: None,
                    waiters: vec![(p.ack, p.enqueued)],
                });
            }
        }
    }
    groups
}
