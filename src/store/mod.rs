//! The touch store: a cheap, clonable handle on one sled database in the data directory.
//!
//! Invariants:
//! - A touch is durable before the decoy answers. [`Store::record`] resolves only after sled's
//!   `flush` (fsync) has returned for the batch that holds the touch.
//! - One writer thread owns every mutation ([`writer`]). It takes whatever touches are waiting,
//!   writes them in one atomic batch and flushes once for all of them (group commit), so
//!   durability costs one fsync per batch, not per touch.
//! - The queue to the writer is bounded: when the disk falls behind, decoys wait for room
//!   (backpressure) instead of dropping. Identical touches from one source that meet in one
//!   batch are folded into one record with a count, never dropped without one.
//! - Readers only see records up to the last flushed sequence number. The newest records are
//!   also kept in memory ([`recent`]), so following readers get them without a read back.
//! - Retention age and a size cap prune the oldest records; each pruned touch is counted.

pub mod files;
pub mod keys;
mod recent;
mod writer;

use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, watch};

use crate::metrics::Metrics;
use crate::touch::{Timestamp, Touch};

pub use files::SensorSecret;

/// Retention and limits of the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreSettings {
    /// Touches older than this are pruned.
    pub retention: Duration,
    /// Logical size (keys and values of records and indexes) above which the oldest touches
    /// are pruned. sled's files are larger than this by its own space overhead.
    pub max_bytes: u64,
    /// Memory for sled's page cache.
    pub cache_bytes: u64,
    /// Touches that may wait for the writer before decoys are slowed down.
    pub write_queue: usize,
    /// Most touches written in one group commit.
    pub max_batch: usize,
    /// How often the age limit is enforced.
    pub prune_every: Duration,
    /// Under load (the last group commit held more than one touch), how long after the start
    /// of the last sync the next one waits for more touches: fewer, larger syncs, each costing
    /// the same. An idle store syncs at once.
    pub commit_window: Duration,
}

impl Default for StoreSettings {
    fn default() -> Self {
        StoreSettings {
            retention: Duration::from_secs(90 * 86_400),
            max_bytes: 1 << 30,
            cache_bytes: 8 << 20,
            write_queue: 1024,
            max_batch: 1024,
            prune_every: Duration::from_secs(60),
            commit_window: Duration::from_millis(2),
        }
    }
}

/// Why the store could not do something.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process (normally the running daemon) has the database open.
    #[error("the store {path} is in use by another decoyd process")]
    Locked {
        /// The database folder.
        path: String,
    },
    /// sled failed.
    #[error("store error: {0}")]
    Sled(#[from] sled::Error),
    /// The writer has stopped (shutdown, or a fatal write error).
    #[error("the store writer has stopped")]
    Closed,
    /// A record could not be decoded.
    #[error("corrupt record {seq}: {err}")]
    Corrupt {
        /// Its sequence number.
        seq: u64,
        /// What was wrong.
        err: String,
    },
}

/// A touch as stored: its sequence number, and how many identical touches it stands for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTouch {
    /// Position in time order, starting at 1, never reused.
    pub seq: u64,
    /// Touches folded into this record (1 when none were folded).
    pub count: u64,
    /// Time of the last folded touch, when more than one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_at: Option<Timestamp>,
    /// The (first) touch.
    #[serde(flatten)]
    pub touch: Touch,
}

/// What is known to be on disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flushed {
    /// Highest sequence number flushed.
    pub seq: u64,
    /// Touches (counting folded ones) flushed since this process opened the store.
    pub touches: u64,
}

/// The proof a decoy gets that its touch is on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The record that holds the touch.
    pub seq: u64,
}

/// Which records to read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventQuery {
    /// Only records after this sequence number.
    pub after: Option<u64>,
    /// Start at the N-th newest (records are returned oldest first).
    pub tail: Option<usize>,
    /// At most this many (and never more than [`MAX_READ`]: page on with `after`).
    pub limit: Option<usize>,
    /// Only this decoy's.
    pub decoy: Option<String>,
    /// Only from this source address.
    pub source: Option<IpAddr>,
}

/// Counters for `status`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreStats {
    /// What is on disk.
    pub flushed: Flushed,
    /// Records stored now.
    pub records: u64,
    /// Logical size in bytes.
    pub bytes: u64,
    /// Size of sled's files in bytes.
    pub disk_bytes: u64,
}

// Nearly every command is an Append, so boxing the touch would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Command {
    Append {
        touch: Touch,
        /// Touches this one stands for (more than 1 for pre-aggregated counts).
        count: u64,
        ack: oneshot::Sender<Result<Receipt, ()>>,
        enqueued: Instant,
    },
    PruneAge,
    /// Writes identity states and the sequence number scored so far in one atomic batch.
    PutIdentities {
        batch: IdentityBatch,
        ack: oneshot::Sender<Result<(), ()>>,
    },
    /// Records a planted lure (after the appends before it), durably.
    PutLure {
        lure: Box<PlantedLure>,
        ack: oneshot::Sender<Result<(), ()>>,
    },
    Shutdown,
}

/// Name of the tree of identity states: `i` key → state (JSON), `mscored` → the last
/// sequence number scored (8 bytes, big-endian). One tree, so one batch is atomic.
const IDENTITIES_TREE: &str = "identities";
const SCORED_KEY: &[u8] = b"mscored";

/// Identity states to write together (serialized by the scorer, which owns their type).
#[derive(Debug, Default)]
pub struct IdentityBatch {
    /// Key and JSON of each state written.
    pub put: Vec<(String, Vec<u8>)>,
    /// Keys of states removed.
    pub remove: Vec<String>,
    /// The last sequence number scored, when it moved.
    pub scored: Option<u64>,
    /// Key (jti) and JSON of each signal written to the outbox.
    pub outbox: Vec<(String, Vec<u8>)>,
    /// Keys (jti) of outbox entries removed.
    pub outbox_remove: Vec<String>,
    /// Sync before acknowledging. Without it the batch is durable with the next group commit
    /// of touches (one sled log): fine for evidence counts, never for level changes, clears or
    /// signals, which always sync.
    pub lazy: bool,
}

fn read_outbox(db: &sled::Db) -> Result<Vec<Vec<u8>>, StoreError> {
    let tree = db.open_tree(IDENTITIES_TREE)?;
    let mut out = Vec::new();
    for kv in tree.scan_prefix(b"o") {
        out.push(kv?.1.to_vec());
    }
    Ok(out)
}

fn read_identities(db: &sled::Db) -> Result<(Vec<Vec<u8>>, u64), StoreError> {
    let tree = db.open_tree(IDENTITIES_TREE)?;
    let mut out = Vec::new();
    for kv in tree.scan_prefix(b"i") {
        out.push(kv?.1.to_vec());
    }
    let scored = tree
        .get(SCORED_KEY)?
        .and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes))
        .unwrap_or(0);
    Ok((out, scored))
}

/// Name of the tree of planted lures: lure name → [`PlantedLure`] (JSON).
const LURES_TREE: &str = "lures";

/// A lure file as decoyd planted it: what it is, whose, and the file's identity, so a later
/// check can tell the file decoyd wrote from one that stands in its place.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlantedLure {
    /// The lure's name.
    pub lure: String,
    /// Its 64-bit id, as in its honeytokens.
    pub lure_id: String,
    /// Whose it is.
    pub owner: String,
    /// The sensor that planted it.
    pub sensor: String,
    /// The file.
    pub path: String,
    /// When it was planted.
    pub planted_at: Timestamp,
    /// The template.
    pub template: String,
    /// The decoy its credential is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_for: Option<String>,
    /// What the file names: host, port and user.
    pub target: PlantedTarget,
    /// The placeholders that hold honeytokens (the tokens themselves are not kept).
    pub credentials: Vec<String>,
    /// The file as written.
    pub file: FileState,
    /// Where it stood at the last check of a running daemon, so a change is recorded once,
    /// not again at every start.
    #[serde(default, skip_serializing_if = "LureState::is_intact")]
    pub state: LureState,
}

/// Where a planted lure stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LureState {
    /// The file decoyd wrote, unchanged.
    #[default]
    Intact,
    /// Nothing is at its path.
    Missing,
    /// A file at its path has other contents than decoyd wrote (edited in place, or saved
    /// over it by an editor or `sed -i`).
    Modified,
    /// Something else stands at its path with the contents decoyd wrote (a copy put back),
    /// or something that is not a plain file (a link, a folder).
    Replaced,
}

impl LureState {
    fn is_intact(&self) -> bool {
        *self == LureState::Intact
    }
}

impl std::fmt::Display for LureState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LureState::Intact => "intact",
            LureState::Missing => "missing",
            LureState::Modified => "modified",
            LureState::Replaced => "replaced",
        })
    }
}

/// What a lure file names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlantedTarget {
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Login name.
    pub user: String,
}

/// A file's identity and contents, as far as checking it needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileState {
    /// Device.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i128,
    /// Inode change time, nanoseconds since the epoch (0 in records from before it was kept:
    /// the next check reads the file once and records it).
    #[serde(default)]
    pub ctime_ns: i128,
    /// Permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// SHA-256 of the contents, hex.
    pub sha256: String,
}

fn read_lures(db: &sled::Db) -> Result<Vec<PlantedLure>, StoreError> {
    let tree = db.open_tree(LURES_TREE)?;
    let mut out = Vec::new();
    for kv in tree.iter() {
        let (_, v) = kv?;
        out.push(serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
            seq: 0,
            err: format!("planted lure record: {e}"),
        })?);
    }
    Ok(out)
}

struct Inner {
    db: sled::Db,
    tree: sled::Tree,
    tx: mpsc::Sender<Command>,
    flushed: watch::Receiver<Flushed>,
    recent: Arc<Mutex<recent::Recent>>,
}

/// Handle on the store; clone it freely.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

/// The running writer thread; [`WriterHandle::shutdown`] drains, flushes and joins it.
pub struct WriterHandle {
    tx: mpsc::Sender<Command>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl WriterHandle {
    /// Writes everything queued, flushes, and stops the writer. Call after every decoy has
    /// stopped handing over touches.
    pub async fn shutdown(mut self) {
        let _ = self.tx.send(Command::Shutdown).await;
        if let Some(t) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }
}

/// Opens sled in `dir`, mapping "another process has it" to [`StoreError::Locked`].
fn open_db(dir: &Path, cache_bytes: u64) -> Result<sled::Db, StoreError> {
    let path = dir.join(files::DB_DIR);
    sled::Config::new()
        .path(&path)
        .cache_capacity(cache_bytes)
        .mode(sled::Mode::HighThroughput)
        // Every batch is flushed explicitly; the background flusher would only add wakeups.
        .flush_every_ms(None)
        // sled writes any log item above a quarter segment to a file of its own (a blob).
        // With 8 MiB segments that takes 2 MiB, while a leaf holds at most 17 records, each
        // under about 40 KiB by the touch field limits: no blob is ever written. (Should one
        // appear, the vendored sled syncs it before its log item.) sled fixes this at
        // creation: changing it later needs a migration.
        .segment_size(8 << 20)
        .open()
        .map_err(|e| match &e {
            sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
                StoreError::Locked {
                    path: path.display().to_string(),
                }
            }
            _ => StoreError::Sled(e),
        })
}

impl Store {
    /// Opens the store and starts its writer thread.
    pub fn open(
        dir: &Path,
        settings: StoreSettings,
        metrics: Metrics,
    ) -> Result<(Store, WriterHandle), StoreError> {
        let db = open_db(dir, settings.cache_bytes)?;
        let tree = db.open_tree("touches")?;
        let state = writer::State::load(&tree)?;
        let (flushed_tx, flushed_rx) = watch::channel(Flushed {
            seq: state.next_seq - 1,
            touches: 0,
        });
        let (tx, rx) = mpsc::channel(settings.write_queue.max(1));
        let recent = Arc::new(Mutex::new(recent::Recent::new(recent::BUDGET)));
        let mut w = writer::Writer::new(
            db.clone(),
            tree.clone(),
            &dir.join(files::DB_DIR),
            settings,
            metrics,
            (flushed_tx, recent.clone()),
            state,
        )?;
        let thread = std::thread::Builder::new()
            .name("decoyd-store".into())
            .spawn(move || w.run(rx))
            .map_err(|e| StoreError::Sled(sled::Error::Io(e)))?;
        let store = Store {
            inner: Arc::new(Inner {
                db,
                tree,
                tx: tx.clone(),
                flushed: flushed_rx,
                recent,
            }),
        };
        Ok((
            store,
            WriterHandle {
                tx,
                thread: Some(thread),
            },
        ))
    }

    /// Opens the store for reading only (the CLI, when no daemon runs). Nothing is written.
    pub fn open_read_only(dir: &Path) -> Result<StoreReader, StoreError> {
        if !dir.join(files::DB_DIR).exists() {
            return Err(StoreError::Sled(sled::Error::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!(
                    "no store in {} (has decoyd run with this data dir?)",
                    dir.display()
                ),
            ))));
        }
        let db = open_db(dir, 4 << 20)?;
        let tree = db.open_tree("touches")?;
        let flushed = writer::State::load(&tree)?.next_seq - 1;
        Ok(StoreReader { db, tree, flushed })
    }

    /// For the CLI when no daemon runs: the store in `dir` opened for reading by its owner, or
    /// `None` when no store was ever made there.
    pub fn reader_if_any(dir: &Path) -> anyhow::Result<Option<StoreReader>> {
        if !dir.join(files::DB_DIR).exists() {
            return Ok(None);
        }
        files::check_owner(dir)?;
        Ok(Some(Store::open_read_only(dir)?))
    }

    /// Hands a touch to the writer and waits until it is on disk. Waits for room when the
    /// queue is full (backpressure).
    pub async fn record(&self, touch: Touch) -> Result<Receipt, StoreError> {
        self.record_count(touch, 1).await
    }

    /// Like [`Store::record`], for a touch that stands for `count` identical ones counted
    /// elsewhere (e.g. connections refused at a cap).
    pub async fn record_count(&self, touch: Touch, count: u64) -> Result<Receipt, StoreError> {
        let (ack, done) = oneshot::channel();
        self.inner
            .tx
            .send(Command::Append {
                touch,
                count: count.max(1),
                ack,
                enqueued: Instant::now(),
            })
            .await
            .map_err(|_| StoreError::Closed)?;
        match done.await {
            Ok(Ok(r)) => Ok(r),
            _ => Err(StoreError::Closed),
        }
    }

    /// Hands many counted touches to the writer at once, so they share group commits, then
    /// waits for all of them. Returns each touch's count with its result.
    pub async fn record_all(
        &self,
        touches: Vec<(Touch, u64)>,
    ) -> Vec<(u64, Result<Receipt, StoreError>)> {
        let mut waiting = Vec::with_capacity(touches.len());
        for (touch, count) in touches {
            let (ack, done) = oneshot::channel();
            let cmd = Command::Append {
                touch,
                count: count.max(1),
                ack,
                enqueued: Instant::now(),
            };
            let sent = self.inner.tx.send(cmd).await.is_ok();
            waiting.push((count, sent.then_some(done)));
        }
        let mut out = Vec::with_capacity(waiting.len());
        for (count, done) in waiting {
            let r = match done {
                Some(done) => match done.await {
                    Ok(Ok(r)) => Ok(r),
                    _ => Err(StoreError::Closed),
                },
                None => Err(StoreError::Closed),
            };
            out.push((count, r));
        }
        out
    }

    /// Asks the writer to prune touches older than the retention age.
    pub async fn prune_by_age(&self) {
        let _ = self.inner.tx.send(Command::PruneAge).await;
    }

    /// What is on disk now.
    pub fn flushed(&self) -> Flushed {
        *self.inner.flushed.borrow()
    }

    /// Waits until a record beyond `seq` is on disk, or the timeout passes.
    pub async fn wait_beyond(&self, seq: u64, timeout: Duration) {
        let mut rx = self.inner.flushed.clone();
        let _ = tokio::time::timeout(timeout, rx.wait_for(|f| f.seq > seq)).await;
    }

    /// Reads flushed records.
    pub fn events(&self, q: &EventQuery) -> Result<Vec<StoredTouch>, StoreError> {
        let flushed = self.flushed().seq;
        if q.decoy.is_none() && q.source.is_none() && q.tail.is_none() {
            let start = q.after.map(|a| a.saturating_add(1)).unwrap_or(0);
            let limit = q.limit.unwrap_or(MAX_READ).min(MAX_READ);
            let recent = self.inner.recent.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(found) = recent.read(start, flushed, limit) {
                return Ok(found);
            }
        }
        read_events(&self.inner.tree, flushed, q)
    }

    /// Counters for `status`.
    pub fn stats(&self) -> StoreStats {
        stats(&self.inner.db, &self.inner.tree, self.flushed())
    }

    /// Records a planted lure durably, replacing any earlier record of the same lure.
    pub async fn put_lure(&self, lure: PlantedLure) -> Result<(), StoreError> {
        let (ack, done) = oneshot::channel();
        self.inner
            .tx
            .send(Command::PutLure {
                lure: Box::new(lure),
                ack,
            })
            .await
            .map_err(|_| StoreError::Closed)?;
        match done.await {
            Ok(Ok(())) => Ok(()),
            _ => Err(StoreError::Closed),
        }
    }

    /// Every planted lure on record.
    pub fn lures(&self) -> Result<Vec<PlantedLure>, StoreError> {
        read_lures(&self.inner.db)
    }

    /// Writes identity states durably and atomically.
    pub async fn put_identities(&self, batch: IdentityBatch) -> Result<(), StoreError> {
        let (ack, done) = oneshot::channel();
        self.inner
            .tx
            .send(Command::PutIdentities { batch, ack })
            .await
            .map_err(|_| StoreError::Closed)?;
        match done.await {
            Ok(Ok(())) => Ok(()),
            _ => Err(StoreError::Closed),
        }
    }

    /// Every identity state (JSON) and the last sequence number scored.
    pub fn identities(&self) -> Result<(Vec<Vec<u8>>, u64), StoreError> {
        read_identities(&self.inner.db)
    }

    /// Every signal in the outbox (JSON).
    pub fn outbox(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        read_outbox(&self.inner.db)
    }
}

/// The store opened directly by the CLI while no daemon runs.
pub struct StoreReader {
    db: sled::Db,
    tree: sled::Tree,
    flushed: u64,
}

impl StoreReader {
    /// Reads records.
    pub fn events(&self, q: &EventQuery) -> Result<Vec<StoredTouch>, StoreError> {
        read_events(&self.tree, self.flushed, q)
    }

    /// Every planted lure on record.
    pub fn lures(&self) -> Result<Vec<PlantedLure>, StoreError> {
        read_lures(&self.db)
    }

    /// Every identity state (JSON) and the last sequence number scored.
    pub fn identities(&self) -> Result<(Vec<Vec<u8>>, u64), StoreError> {
        read_identities(&self.db)
    }

    /// Every signal in the outbox (JSON).
    pub fn outbox(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        read_outbox(&self.db)
    }

    /// Counters for `status`.
    pub fn stats(&self) -> StoreStats {
        stats(
            &self.db,
            &self.tree,
            Flushed {
                seq: self.flushed,
                touches: 0,
            },
        )
    }
}

fn stats(db: &sled::Db, tree: &sled::Tree, flushed: Flushed) -> StoreStats {
    let state = writer::State::load(tree).unwrap_or_default();
    StoreStats {
        flushed,
        records: state.records,
        bytes: state.bytes,
        disk_bytes: db.size_on_disk().unwrap_or(0),
    }
}

/// Most records one read returns.
pub const MAX_READ: usize = 10_000;

fn decode(seq: u64, v: &[u8]) -> Result<StoredTouch, StoreError> {
    serde_json::from_slice(v).map_err(|e| StoreError::Corrupt {
        seq,
        err: e.to_string(),
    })
}

type SeqIter = Box<dyn Iterator<Item = Result<u64, StoreError>>>;

/// The members of the index entries in `range` from `start` on. An entry's key is its newest
/// member (see `keys`), so the entries from `start` to the flushed position hold every member
/// in that range; the first may also list older ones, which are left out.
fn index_seqs(range: sled::Iter, start: u64, rev: bool) -> SeqIter {
    let expand = move |kv: sled::Result<(sled::IVec, sled::IVec)>| {
        let members = kv.map_err(StoreError::from).and_then(|(k, v)| {
            keys::group_members(&k, &v).ok_or_else(|| StoreError::Corrupt {
                seq: keys::seq_of(&k).unwrap_or(0),
                err: "malformed index entry".into(),
            })
        });
        match members {
            Ok(mut m) => {
                m.retain(|&s| s >= start);
                if !rev {
                    m.reverse();
                }
                m.into_iter().map(Ok).collect::<Vec<_>>()
            }
            Err(e) => vec![Err(e)],
        }
    };
    if rev {
        Box::new(range.rev().flat_map(expand))
    } else {
        Box::new(range.flat_map(expand))
    }
}

fn read_events(
    tree: &sled::Tree,
    flushed: u64,
    q: &EventQuery,
) -> Result<Vec<StoredTouch>, StoreError> {
    let limit = q.limit.unwrap_or(MAX_READ).min(MAX_READ);
    let mut start = q.after.map(|a| a.saturating_add(1)).unwrap_or(0);
    if start > flushed {
        return Ok(Vec::new());
    }
    // Sequence numbers of matching records from the right index (by decoy, by source, or
    // the records themselves), oldest first or, for `rev`, newest first; lazily, so a tail or
    // a page stops early.
    let seqs = |start: u64, rev: bool| {
        let index = |prefix: &[u8]| {
            let (mut from, mut to) = (prefix.to_vec(), prefix.to_vec());
            from.extend_from_slice(&start.to_be_bytes());
            to.extend_from_slice(&flushed.to_be_bytes());
            index_seqs(tree.range(from..=to), start, rev)
        };
        match (&q.decoy, q.source) {
            (Some(d), _) => index(&keys::decoy_prefix(d)),
            (None, Some(ip)) => index(&keys::source_prefix(ip)),
            (None, None) => {
                let (from, to) = (keys::record(start), keys::record(flushed));
                let keys = tree.range(&from[..]..=&to[..]).keys();
                let seq = |k: sled::Result<sled::IVec>| Ok(keys::seq_of(&k?).unwrap_or(0));
                if rev {
                    Box::new(keys.rev().map(seq)) as SeqIter
                } else {
                    Box::new(keys.map(seq))
                }
            }
        }
    };
    // The index chosen covers one filter; the other (source, when both are given) needs the
    // record itself.
    let matches = |rec: &StoredTouch| {
        q.source
            .is_none_or(|ip| rec.touch.source.ip().to_canonical() == ip.to_canonical())
            && q.decoy.as_ref().is_none_or(|d| *rec.touch.decoy == **d)
    };
    if let Some(n) = q.tail {
        // Where the newest `n` begin: walking keys backwards, reading records only when the
        // index alone cannot tell.
        let both = q.decoy.is_some() && q.source.is_some();
        let mut found = 0;
        let mut first = None;
        for seq in seqs(start, true) {
            let seq = seq?;
            if both {
                match tree.get(keys::record(seq))? {
                    Some(v) if matches(&decode(seq, &v)?) => {}
                    _ => continue,
                }
            }
            first = Some(seq);
            found += 1;
            if found >= n.max(1) {
                break;
            }
        }
        match first {
            Some(seq) => start = seq,
            None => return Ok(Vec::new()),
        }
    }
    let mut out = Vec::new();
    if q.decoy.is_none() && q.source.is_none() {
        // No index: the records themselves, keys and values in one scan (the scorer reads
        // every touch this way, so a lookup per record would double its cost).
        let (from, to) = (keys::record(start), keys::record(flushed));
        for kv in tree.range(&from[..]..=&to[..]).take(limit) {
            let (k, v) = kv?;
            out.push(decode(keys::seq_of(&k).unwrap_or(0), &v)?);
        }
        return Ok(out);
    }
    for seq in seqs(start, false) {
        if out.len() >= limit {
            break;
        }
        let seq = seq?;
        // An index entry whose record was pruned a moment ago is skipped.
        if let Some(v) = tree.get(keys::record(seq))? {
            let rec = decode(seq, &v)?;
            if matches(&rec) {
                out.push(rec);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
