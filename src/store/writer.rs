//! The store's single writer. It runs on a thread of its own because sled's writes and syncs
//! block. Each turn it takes every command waiting (up to `max_batch`), folds identical touches,
//! writes one atomic batch, makes it durable once, and only then acknowledges each touch. The
//! acknowledgement is what lets a decoy answer.
//!
//! Durable means fdatasync: sled's `flush` writes its log with `sync_file_range`, which neither
//! persists the file's size nor flushes the drive's cache, so the writer follows it with
//! `fdatasync` on the log file before acknowledging anything.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use serde::Deserialize;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{debug, error, info};

use super::recent::Recent;
use super::{Command, Flushed, Receipt, StoreError, StoreSettings, StoredTouch, keys};
use crate::metrics::Metrics;
use crate::touch::{Timestamp, Touch};

/// Records pruned per sled batch.
const PRUNE_CHUNK: usize = 512;
/// Chunks pruned per age-pruning turn, so a large backlog never stalls writers for long.
const PRUNE_TURN_CHUNKS: usize = 64;

/// Counters kept in the store itself, updated in the same atomic batch as the records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct State {
    /// The next sequence number to give out; never goes back, even when everything is pruned.
    pub next_seq: u64,
    /// Logical size of records and index entries.
    pub bytes: u64,
    /// Records stored.
    pub records: u64,
}

impl State {
    fn encode(&self) -> [u8; 24] {
        let mut b = [0u8; 24];
        b[..8].copy_from_slice(&self.next_seq.to_be_bytes());
        b[8..16].copy_from_slice(&self.bytes.to_be_bytes());
        b[16..].copy_from_slice(&self.records.to_be_bytes());
        b
    }

    fn decode(b: &[u8]) -> Option<State> {
        let b: &[u8; 24] = b.try_into().ok()?;
        let n = |i: usize| u64::from_be_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        Some(State {
            next_seq: n(0),
            bytes: n(8),
            records: n(16),
        })
    }

    /// Reads the counters, or measures them in a store written before they existed.
    pub(crate) fn load(tree: &sled::Tree) -> Result<State, StoreError> {
        let last = tree
            .scan_prefix([keys::RECORD])
            .keys()
            .next_back()
            .transpose()?
            .and_then(|k| keys::seq_of(&k))
            .unwrap_or(0);
        let mut state = match tree.get(keys::META_STATE)?.and_then(|v| State::decode(&v)) {
            Some(s) => s,
            None => {
                let mut s = State::default();
                for kv in tree.iter() {
                    let (k, v) = kv?;
                    if k.first() == Some(&keys::META) {
                        continue;
                    }
                    s.bytes += (k.len() + v.len()) as u64;
                    if k.first() == Some(&keys::RECORD) {
                        s.records += 1;
                    }
                }
                s
            }
        };
        state.next_seq = state.next_seq.max(last + 1);
        Ok(state)
    }
}

pub(crate) struct Writer {
    db: sled::Db,
    tree: sled::Tree,
    /// sled's log file, for fdatasync.
    log: File,
    /// sled's count of blob files it has written and synced, when last read.
    blob_syncs: u64,
    settings: StoreSettings,
    metrics: Metrics,
    flushed: watch::Sender<Flushed>,
    /// The newest durable records, for readers (filled before `flushed` moves on).
    recent: Arc<Mutex<Recent>>,
    state: State,
    flushed_touches: u64,
}

struct Pending {
    touch: Touch,
    count: u64,
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

/// Where a prune stops.
#[derive(Clone, Copy)]
enum Prune {
    /// At the first record from this time on.
    Age(Timestamp),
    /// Once the logical size is at most this.
    Size(u64),
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
    /// A writer for the database in `db_dir` (sled's folder: its log is `db_dir/db`, its
    /// blob files are in `db_dir/blobs`).
    pub(crate) fn new(
        db: sled::Db,
        tree: sled::Tree,
        db_dir: &Path,
        settings: StoreSettings,
        metrics: Metrics,
        (flushed, recent): (watch::Sender<Flushed>, Arc<Mutex<Recent>>),
        state: State,
    ) -> Result<Writer, StoreError> {
        // sled's log, opened once so every group commit can fdatasync it.
        let log =
            File::open(db_dir.join("db")).map_err(|e| StoreError::Sled(sled::Error::Io(e)))?;
        metrics.store_bytes.set(state.bytes as i64);
        metrics
            .store_flushed_seq
            .set(state.next_seq.saturating_sub(1) as i64);
        Ok(Writer {
            db,
            tree,
            log,
            blob_syncs: sled::blob_syncs(),
            settings,
            metrics,
            flushed,
            recent,
            state,
            flushed_touches: 0,
        })
    }

    /// Makes everything written so far durable: sled's flush, then fdatasync of the log.
    /// A log item too large for the log goes to a blob file of its own, which the vendored
    /// sled syncs, with its folder, before the log refers to it (vendor/sled/PATCHES.md).
    fn sync(&mut self) -> Result<(), StoreError> {
        self.db.flush()?;
        self.log
            .sync_data()
            .map_err(|e| StoreError::Sled(sled::Error::Io(e)))?;
        let blob_syncs = sled::blob_syncs();
        self.metrics
            .store_blob_syncs
            .inc_by(blob_syncs.saturating_sub(self.blob_syncs));
        self.blob_syncs = blob_syncs;
        Ok(())
    }

    pub(crate) fn run(&mut self, mut rx: mpsc::Receiver<Command>) {
        let mut pending: Vec<Pending> = Vec::with_capacity(self.settings.max_batch);
        let mut stopping = false;
        // Start and size of the last group commit: under load the next one gathers for the
        // rest of the commit window (after the first touch arrives) before it syncs.
        let mut last_start = Instant::now();
        let mut last_size = 0u64;
        while !stopping {
            let Some(first) = rx.blocking_recv() else {
                break;
            };
            let window = self.settings.commit_window;
            if last_size > 1 && !window.is_zero() {
                let until = last_start + window;
                let now = Instant::now();
                if until > now {
                    std::thread::sleep(until - now);
                }
            }
            // Take what is waiting, in arrival order: appends gather into one group commit;
            // any other command first commits the appends before it.
            let mut next = Some(first);
            while let Some(cmd) = next.take() {
                match cmd {
                    Command::Append {
                        touch,
                        count,
                        ack,
                        enqueued,
                    } => {
                        pending.push(Pending {
                            touch,
                            count,
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
                    Command::PutIdentities { batch, ack } => {
                        if !pending.is_empty() {
                            self.commit(&mut pending);
                        }
                        let _ = ack.send(self.put_identities(batch));
                        next = rx.try_recv().ok();
                    }
                    Command::PutLure { lure, ack } => {
                        if !pending.is_empty() {
                            self.commit(&mut pending);
                        }
                        let _ = ack.send(self.put_lure(&lure));
                        next = rx.try_recv().ok();
                    }
                    Command::Shutdown => stopping = true,
                }
            }
            if !pending.is_empty() {
                last_start = Instant::now();
                last_size = pending.len() as u64;
                self.commit(&mut pending);
            } else {
                last_size = 0;
            }
        }
        // Anything still queued behind the shutdown request is written too.
        rx.close();
        while let Ok(cmd) = rx.try_recv() {
            if let Command::Append {
                touch,
                count,
                ack,
                enqueued,
            } = cmd
            {
                pending.push(Pending {
                    touch,
                    count,
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
        if let Err(e) = self.sync() {
            error!(error = %e, "final store sync failed");
        }
        debug!(next_seq = self.state.next_seq, "store writer stopped");
    }

    fn put_identities(&mut self, b: super::IdentityBatch) -> Result<(), ()> {
        let lazy = b.lazy && b.outbox.is_empty();
        let mut batch = sled::Batch::default();
        for (k, v) in b.put {
            batch.insert(format!("i{k}").into_bytes(), v);
        }
        for k in b.remove {
            batch.remove(format!("i{k}").into_bytes());
        }
        for (k, v) in b.outbox {
            batch.insert(format!("o{k}").into_bytes(), v);
        }
        for k in b.outbox_remove {
            batch.remove(format!("o{k}").into_bytes());
        }
        if let Some(seq) = b.scored {
            batch.insert(super::SCORED_KEY, &seq.to_be_bytes()[..]);
        }
        let done = self
            .db
            .open_tree(super::IDENTITIES_TREE)
            .and_then(|t| t.apply_batch(batch))
            .map_err(StoreError::from)
            .and_then(|_| if lazy { Ok(()) } else { self.sync() });
        done.map_err(|e| error!(error = %e, "cannot record identity states"))
    }

    fn put_lure(&mut self, lure: &super::PlantedLure) -> Result<(), ()> {
        let value = serde_json::to_vec(lure).expect("lure records always serialize");
        let done = self
            .db
            .open_tree(super::LURES_TREE)
            .and_then(|t| t.insert(lure.lure.as_bytes(), value))
            .map_err(StoreError::from)
            .and_then(|_| self.sync());
        done.map_err(|e| error!(lure = %lure.lure, error = %e, "cannot record a planted lure"))
    }

    fn commit(&mut self, pending: &mut Vec<Pending>) {
        let touches: u64 = pending.iter().map(|p| p.count).sum();
        let groups = fold(pending.drain(..), fold_hash);
        let before = self.state;
        let mut state = self.state;
        let mut batch = sled::Batch::default();
        let mut records = Vec::with_capacity(groups.len());
        let mut durable = Vec::with_capacity(groups.len());
        // This batch's sequence numbers per index prefix, ascending: one entry each.
        let mut index: HashMap<Vec<u8>, Vec<u64>> = HashMap::new();
        let mut add = |prefix: &[u8], seq: u64| match index.get_mut(prefix) {
            Some(seqs) => seqs.push(seq),
            None => {
                index.insert(prefix.to_vec(), vec![seq]);
            }
        };
        for g in groups {
            let seq = state.next_seq;
            state.next_seq += 1;
            let rec = StoredTouch {
                seq,
                count: g.count,
                last_at: g.last_at,
                touch: g.touch,
            };
            let value = serde_json::to_vec(&rec).expect("touches always serialize");
            let rk = keys::record(seq);
            add(&keys::decoy_prefix(&rec.touch.decoy), seq);
            add(&keys::source_prefix(rec.touch.source.ip()), seq);
            state.bytes += (rk.len() + value.len()) as u64;
            state.records += 1;
            let size = value.len();
            batch.insert(&rk[..], value);
            records.push((
                seq,
                rec.touch.decoy.clone(),
                rec.touch.event.kind(),
                rec.count,
                g.waiters,
            ));
            durable.push((rec, size));
        }
        for (mut key, seqs) in index {
            let value = keys::group_value(&seqs);
            key.extend_from_slice(&seqs[seqs.len() - 1].to_be_bytes());
            state.bytes += (key.len() + value.len()) as u64;
            batch.insert(key, value);
        }
        batch.insert(keys::META_STATE, &state.encode()[..]);

        let result = match self.tree.apply_batch(batch) {
            // Not applied: nothing changed, the sequence numbers are given out again.
            Err(e) => Err(StoreError::from(e)),
            Ok(()) => {
                // Applied (in memory at least): the counters move on even if the sync fails.
                self.state = state;
                self.sync()
            }
        };
        match result {
            Ok(()) => {
                let last = state.next_seq - 1;
                {
                    let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
                    for (rec, size) in durable {
                        recent.push(rec, size);
                    }
                }
                self.flushed_touches += touches;
                self.flushed.send_replace(Flushed {
                    seq: last,
                    touches: self.flushed_touches,
                });
                self.metrics.store_flushed_seq.set(last as i64);
                self.metrics.store_bytes.set(state.bytes as i64);
                self.metrics.store_batch_size.observe(touches as f64);
                self.metrics.store_flushes.inc();
                self.metrics
                    .touches_folded
                    // Folded: touches that joined another's record (pre-counted ones do not).
                    .inc_by(records.iter().map(|r| r.4.len() as u64 - 1).sum());
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
                error!(error = %e, first_seq = before.next_seq, touches, "store write failed; touches not durable");
                self.metrics.store_write_errors.inc_by(touches);
                for (_, _, _, _, waiters) in records {
                    for (ack, _) in waiters {
                        let _ = ack.send(Err(()));
                    }
                }
            }
        }
        if self.state.bytes > self.settings.max_bytes {
            self.prune_by_size();
        }
    }

    /// Prunes the oldest records until the store is 10% under its size cap.
    fn prune_by_size(&mut self) {
        let target = self.settings.max_bytes / 10 * 9;
        let mut pruned = 0u64;
        while self.state.bytes > target {
            match self.prune_chunk(Prune::Size(target)) {
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
                bytes = self.state.bytes,
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
            match self.prune_chunk(Prune::Age(cutoff)) {
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

    /// Deletes up to one chunk of the oldest records: those older than the cutoff, or as many
    /// as bring the size down to the target. Returns the records deleted and the touches they
    /// stood for.
    fn prune_chunk(&mut self, until: Prune) -> Result<(usize, u64), StoreError> {
        let mut batch = sled::Batch::default();
        let mut state = self.state;
        let mut records = 0usize;
        let mut touches = 0u64;
        let mut last = 0;
        for kv in self.tree.scan_prefix([keys::RECORD]).take(PRUNE_CHUNK) {
            if matches!(until, Prune::Size(target) if state.bytes <= target) {
                break;
            }
            let (k, v) = kv?;
            let seq = keys::seq_of(&k).unwrap_or(0);
            match serde_json::from_slice::<IndexFields>(&v) {
                Ok(f) => {
                    if matches!(until, Prune::Age(cutoff) if f.at >= cutoff) {
                        break;
                    }
                    // The index entries this record ends, if any (see `keys`): others
                    // that list it go when their own newest record does.
                    for ik in [
                        keys::by_decoy(&f.decoy, seq),
                        keys::by_source(f.source.ip(), seq).to_vec(),
                    ] {
                        if let Some(iv) = self.tree.get(&ik)? {
                            state.bytes = state.bytes.saturating_sub((ik.len() + iv.len()) as u64);
                            batch.remove(ik);
                        }
                    }
                    touches += f.count;
                }
                Err(e) => {
                    // Unreadable: remove it; its index entries, if any, are skipped by readers.
                    error!(seq, error = %e, "pruning an unreadable record");
                    touches += 1;
                }
            }
            state.bytes = state.bytes.saturating_sub((k.len() + v.len()) as u64);
            state.records = state.records.saturating_sub(1);
            batch.remove(k);
            records += 1;
            last = seq;
        }
        if records == 0 {
            return Ok((0, 0));
        }
        // Readers must not find in memory what is about to go from disk.
        self.recent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .forget_through(last);
        batch.insert(keys::META_STATE, &state.encode()[..]);
        // Not synced here: if a crash loses the deletion, the next prune repeats it.
        self.tree.apply_batch(batch)?;
        self.state = state;
        self.metrics.store_bytes.set(state.bytes as i64);
        Ok((records, touches))
    }
}

/// The hash of what makes touches identical for [`fold`].
fn fold_hash(t: &Touch) -> u64 {
    let mut h = DefaultHasher::new();
    t.decoy.hash(&mut h);
    t.source.ip().hash(&mut h);
    t.local.hash(&mut h);
    t.event.hash(&mut h);
    h.finish()
}

/// Groups identical touches (same decoy, source address, local address and event) in order
/// of first appearance. Only the source port and time may differ within a group.
fn fold(
    pending: impl ExactSizeIterator<Item = Pending>,
    hash: impl Fn(&Touch) -> u64,
) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::with_capacity(pending.len());
    // The groups of one hash as a chain (the first in `first`, each one's successor in
    // `next`): hashes rarely collide, and a list per hash cost an allocation per record.
    let mut first: HashMap<u64, usize> = HashMap::with_capacity(pending.len());
    let mut next: Vec<Option<usize>> = Vec::with_capacity(pending.len());
    for p in pending {
        let h = hash(&p.touch);
        let (mut at, mut tail, mut same) = (first.get(&h).copied(), None, None);
        while let Some(i) = at {
            let t = &groups[i].touch;
            if t.decoy == p.touch.decoy
                && t.source.ip() == p.touch.source.ip()
                && t.local == p.touch.local
                && t.event == p.touch.event
            {
                same = Some(i);
                break;
            }
            (tail, at) = (Some(i), next[i]);
        }
        match same {
            Some(i) => {
                let g = &mut groups[i];
                g.count += p.count;
                g.last_at = Some(p.touch.at.max(g.last_at.unwrap_or(p.touch.at)));
                g.waiters.push((p.ack, p.enqueued));
            }
            None => {
                match tail {
                    Some(t) => next[t] = Some(groups.len()),
                    None => {
                        first.insert(h, groups.len());
                    }
                }
                next.push(None);
                groups.push(Group {
                    touch: p.touch,
                    count: p.count,
                    last_at: None,
                    waiters: vec![(p.ack, p.enqueued)],
                });
            }
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::touch::Event;

    fn pending(decoy: &str, source: &str, bytes: u64) -> Pending {
        Pending {
            touch: crate::store::tests::touch(decoy, source, bytes),
            count: 1,
            ack: oneshot::channel().0,
            enqueued: Instant::now(),
        }
    }

    /// (decoy, bytes, count, waiters) of each group, in order.
    fn shape(groups: &[Group]) -> Vec<(String, u64, u64, usize)> {
        let bytes = |t: &Touch| match &t.event {
            Event::Connection(c) => c.bytes,
            _ => unreachable!(),
        };
        groups
            .iter()
            .map(|g| {
                (
                    g.touch.decoy.to_string(),
                    bytes(&g.touch),
                    g.count,
                    g.waiters.len(),
                )
            })
            .collect()
    }

    #[test]
    fn touches_fold_by_content_even_when_every_hash_collides() {
        let batch = || {
            vec![
                pending("a", "10.0.0.1:1000", 1),
                pending("b", "10.0.0.1:1001", 1),
                pending("a", "10.0.0.1:1002", 1),
                pending("a", "10.0.0.2:1003", 1),
                pending("a", "10.0.0.1:1004", 2),
                pending("b", "10.0.0.1:1005", 1),
                pending("a", "10.0.0.1:1006", 2),
            ]
        };
        let want = vec![
            ("a".to_string(), 1, 2, 2),
            ("b".to_string(), 1, 2, 2),
            ("a".to_string(), 1, 1, 1),
            ("a".to_string(), 2, 2, 2),
        ];
        assert_eq!(shape(&fold(batch().into_iter(), fold_hash)), want);
        // One hash for all: the chain of colliding groups is searched by content.
        assert_eq!(shape(&fold(batch().into_iter(), |_| 7)), want);
        // Two hashes, interleaved.
        assert_eq!(
            shape(&fold(batch().into_iter(), |t| u64::from(&*t.decoy == "a"))),
            want
        );
    }
}
