//! Watching planted lures. inotify (through notify) watches each lure's folder, not the file:
//! editors and `sed -i` put a new file in its place, and a watch on the old inode would go
//! quiet. An open, a write, a deletion or a rename of a lure is a touch as it happens. A
//! file appearing at a lure's path (created, or renamed onto it) is left to a check a moment
//! later, which compares it with what was planted: so a re-planting by `decoyd lures plant`
//! is not mistaken for an intruder's work.
//!
//! The periodic check records each change of a lure's state once. When a check has to read a
//! lure (its metadata changed), the watcher is told to expect that open, so decoyd's own read
//! is never recorded as someone else's.
//!
//! inotify does not say who did it. Where decoyd has CAP_SYS_ADMIN, [`super::attribution`]
//! takes over the opens, with the process behind each; without it, decoyd says once at start
//! that attribution is off, and inotify's opens are recorded without a process.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::event::{AccessKind, CreateKind, EventKind, ModifyKind, RemoveKind, RenameMode};
use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use super::attribution::{Attribution, Opened, ignored};
use super::{LureState, check};
use crate::store::{PlantedLure, Store};
use crate::touch::{Event, LureAccess, LureAction, LureSeenBy, NO_ADDRESS, Timestamp, Touch};

/// File events waiting for the lure task; the notify thread waits when it is full.
const QUEUE: usize = 4096;
/// How long after a file appears at a lure's path it is checked.
const SETTLE: Duration = Duration::from_secs(2);

/// One planted lure being watched.
#[derive(Clone, Debug)]
pub struct Watched {
    /// The lure's name, as the decoy in its touches.
    pub name: Arc<str>,
    /// The store's record of its planting.
    pub record: PlantedLure,
}

/// What the lure task needs.
pub struct WatchCtx {
    /// Where touches go.
    pub store: Store,
    /// This sensor's id.
    pub sensor: Arc<str>,
    /// How often every lure is checked.
    pub check_every: Duration,
    /// Fires when the daemon stops.
    pub shutdown: CancellationToken,
    /// Planting records made while running (`decoyd lures plant` through the admin API).
    pub replanted: mpsc::Receiver<PlantedLure>,
    /// Executables (full paths or file names) whose opens are not recorded, when attribution
    /// says who opened: backup agents, indexers.
    pub ignore_processes: Vec<String>,
    /// Metrics.
    pub metrics: crate::metrics::Metrics,
    /// Fired once every lure is watched: the daemon reports itself up only then, so that
    /// an open right after start is not missed.
    pub ready: Option<tokio::sync::oneshot::Sender<()>>,
}

struct Lure {
    name: Arc<str>,
    record: PlantedLure,
    /// The state last recorded.
    state: LureState,
    /// Opens of the file by decoyd's own checks, not yet seen by the watcher.
    own_opens: u32,
    /// A file appeared at the path: check it at this time.
    check_at: Option<Instant>,
    /// The record has a new baseline to write.
    dirty: bool,
}

/// Watches `lures` until shutdown.
pub async fn run(lures: Vec<Watched>, mut ctx: WatchCtx) {
    let mut attribution = match Attribution::start() {
        Ok(a) => {
            info!(
                lures = lures.len(),
                "lure attribution is on: opens are recorded with their process (fanotify)"
            );
            Some(a)
        }
        Err(why) => {
            info!(lures = lures.len(), reason = %why, "lure attribution is off: opens are recorded without the process behind them");
            None
        }
    };
    let (tx, mut rx) = mpsc::channel::<notify::Result<notify::Event>>(QUEUE);
    let watcher = notify::recommended_watcher(move |ev| {
        // This runs on notify's own thread: waiting here is backpressure into the kernel's
        // queue, never an unbounded buffer.
        let _ = tx.blocking_send(ev);
    });
    let mut watcher = match watcher {
        Ok(w) => Some(w),
        Err(e) => {
            error!(error = %e, "cannot watch lure files; only the periodic check will see changes");
            None
        }
    };
    let mut by_path: HashMap<PathBuf, Lure> = HashMap::new();
    for w in lures {
        add(&mut by_path, &mut watcher, w.name, w.record);
    }
    mark_all(&by_path, &mut attribution);
    if let Some(ready) = ctx.ready.take() {
        let _ = ready.send(());
    }
    // The first tick is at once: what changed while decoyd was stopped is recorded now.
    let mut tick = tokio::time::interval(ctx.check_every);
    loop {
        let next_settle = by_path.values().filter_map(|l| l.check_at).min();
        let settle = async {
            match next_settle {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = ctx.shutdown.cancelled() => break,
            Some(rec) = ctx.replanted.recv() => {
                let name: Arc<str> = Arc::from(rec.lure.as_str());
                by_path.retain(|_, l| l.name != name);
                add(&mut by_path, &mut watcher, name, rec);
                mark_all(&by_path, &mut attribution);
            }
            Some(first) = async {
                match attribution.as_mut() {
                    Some(a) => a.opened.recv().await,
                    None => std::future::pending().await,
                }
            } => {
                let mut opens = vec![first];
                if let Some(a) = attribution.as_mut() {
                    while opens.len() < 256 {
                        match a.opened.try_recv() {
                            Ok(o) => opens.push(o),
                            Err(_) => break,
                        }
                    }
                }
                let touches = on_opens(&by_path, opens, &ctx);
                record(&ctx.store, touches).await;
            }
            Some(first) = rx.recv() => {
                let mut events = vec![first];
                while events.len() < 256 {
                    match rx.try_recv() {
                        Ok(e) => events.push(e),
                        Err(_) => break,
                    }
                }
                let touches = on_events(&mut by_path, events, &ctx.sensor, attribution.is_some());
                record(&ctx.store, touches).await;
            }
            _ = settle => {
                let now = Instant::now();
                let due: Vec<PathBuf> = by_path
                    .iter()
                    .filter(|(_, l)| l.check_at.is_some_and(|t| t <= now))
                    .map(|(p, _)| p.clone())
                    .collect();
                let mut touches = Vec::new();
                for p in due {
                    let l = by_path.get_mut(&p).expect("due paths are watched");
                    l.check_at = None;
                    touches.extend(check_one(l, &ctx.sensor, LureSeenBy::Watch).map(|t| (t, 1)));
                }
                mark_all(&by_path, &mut attribution);
                record(&ctx.store, touches).await;
            }
            _ = tick.tick() => {
                let mut touches = Vec::new();
                for l in by_path.values_mut() {
                    touches.extend(check_one(l, &ctx.sensor, LureSeenBy::Check).map(|t| (t, 1)));
                }
                // A lure replaced since the last check is another inode, not yet marked.
                mark_all(&by_path, &mut attribution);
                record(&ctx.store, touches).await;
            }
        }
        persist(&mut by_path, &ctx.store).await;
    }
    drop(watcher);
}

/// Writes each lure's new state to its record, so a restart does not record it again.
async fn persist(by_path: &mut HashMap<PathBuf, Lure>, store: &Store) {
    for l in by_path.values_mut() {
        if l.record.state != l.state || l.dirty {
            l.record.state = l.state;
            l.dirty = false;
            if let Err(e) = store.put_lure(l.record.clone()).await {
                warn!(lure = %l.name, error = %e, "cannot record the lure's state");
            }
        }
    }
}

fn add(
    by_path: &mut HashMap<PathBuf, Lure>,
    watcher: &mut Option<notify::RecommendedWatcher>,
    name: Arc<str>,
    record: PlantedLure,
) {
    // notify names files under the folder as watched; both sides are made absolute so a
    // relative data dir still matches.
    let path = absolute(Path::new(&record.path));
    if let (Some(w), Some(dir)) = (watcher.as_mut(), path.parent())
        && let Err(e) = w.watch(dir, RecursiveMode::NonRecursive)
    {
        warn!(lure = %name, dir = %dir.display(), error = %e, "cannot watch the lure's folder; only the periodic check will see changes");
    }
    by_path.insert(
        path,
        Lure {
            name,
            state: record.state,
            record,
            own_opens: 0,
            check_at: None,
            dirty: false,
        },
    );
}

/// Marks every lure file there is now. A kernel without open-permission events turns
/// attribution off, once, with the reason.
fn mark_all(by_path: &HashMap<PathBuf, Lure>, attribution: &mut Option<Attribution>) {
    let Some(a) = attribution.as_ref() else {
        return;
    };
    for (path, l) in by_path {
        match a.mark(path) {
            Ok(()) => {}
            // Missing for now: marked when it is back.
            Err(nix::errno::Errno::ENOENT) => {}
            Err(nix::errno::Errno::EINVAL) => {
                warn!(
                    "lure attribution is off: this kernel has no fanotify open-permission events"
                );
                *attribution = None;
                return;
            }
            Err(e) => warn!(lure = %l.name, error = %e, "cannot mark the lure for attribution"),
        }
    }
}

/// Touches for attributed opens: decoyd's own and those of ignored processes are left out.
fn on_opens(
    by_path: &HashMap<PathBuf, Lure>,
    opens: Vec<Opened>,
    ctx: &WatchCtx,
) -> Vec<(Touch, u64)> {
    let mut out = Vec::new();
    for o in opens {
        let Some(l) = by_path.get(&absolute(&o.path)) else {
            continue;
        };
        if o.own {
            continue;
        }
        if ignored(&o.process, &ctx.ignore_processes) {
            debug!(lure = %l.name, exe = ?o.process.exe, "open by an ignored process");
            ctx.metrics.lure_opens_ignored.inc();
            continue;
        }
        let mut t = touch(l, &ctx.sensor, LureAction::Opened, LureSeenBy::Watch);
        if let Event::LureAccess(a) = &mut t.event {
            a.process = Some(o.process);
        }
        out.push((t, 1));
    }
    out
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

fn touch(l: &Lure, sensor: &Arc<str>, action: LureAction, seen_by: LureSeenBy) -> Touch {
    Touch {
        at: Timestamp::now(),
        sensor: sensor.clone(),
        decoy: l.name.clone(),
        source: NO_ADDRESS,
        local: NO_ADDRESS,
        event: Event::LureAccess(LureAccess {
            lure: l.name.to_string(),
            owner: l.record.owner.clone(),
            path: l.record.path.clone(),
            action,
            seen_by,
            process: None,
        }),
    }
}

/// Checks one lure; a change of state since the last one recorded is a touch.
fn check_one(l: &mut Lure, sensor: &Arc<str>, seen_by: LureSeenBy) -> Option<Touch> {
    let checked = check(&l.record);
    let state = checked.state;
    l.own_opens += u32::from(checked.read);
    if let Some(b) = checked.baseline {
        l.record.file = b;
        l.dirty = true;
    }
    if state == l.state {
        return None;
    }
    l.state = state;
    let action = match state {
        LureState::Intact => {
            debug!(lure = %l.name, "lure is intact again");
            return None;
        }
        LureState::Missing => LureAction::Missing,
        LureState::Modified => LureAction::Modified,
        LureState::Replaced => LureAction::Replaced,
    };
    Some(touch(l, sensor, action, seen_by))
}

/// Touches for a batch of file events: consecutive identical ones are counted as one.
fn on_events(
    by_path: &mut HashMap<PathBuf, Lure>,
    events: Vec<notify::Result<notify::Event>>,
    sensor: &Arc<str>,
    attributed: bool,
) -> Vec<(Touch, u64)> {
    let mut out: Vec<(Touch, u64)> = Vec::new();
    for ev in events {
        let ev = match ev {
            Ok(ev) => ev,
            Err(e) => {
                warn!(error = %e, "lure watch error; the next check will catch up");
                continue;
            }
        };
        if ev.need_rescan() {
            warn!("lure watch queue overflowed: file events were lost; checking every lure now");
            for l in by_path.values_mut() {
                l.check_at = Some(Instant::now());
            }
            continue;
        }
        let action = match ev.kind {
            EventKind::Access(AccessKind::Open(_)) => Some(LureAction::Opened),
            EventKind::Modify(ModifyKind::Data(_)) | EventKind::Modify(ModifyKind::Any) => {
                Some(LureAction::Modified)
            }
            EventKind::Modify(ModifyKind::Name(RenameMode::From)) => Some(LureAction::Renamed),
            EventKind::Remove(RemoveKind::File) | EventKind::Remove(RemoveKind::Any) => {
                Some(LureAction::Deleted)
            }
            // Something new at the path: decided by a check once it has settled.
            EventKind::Create(CreateKind::File)
            | EventKind::Create(CreateKind::Any)
            | EventKind::Modify(ModifyKind::Name(RenameMode::To)) => None,
            _ => continue,
        };
        for path in &ev.paths {
            let Some(l) = by_path.get_mut(&absolute(path)) else {
                continue;
            };
            let Some(action) = action else {
                l.check_at = Some(Instant::now() + SETTLE);
                continue;
            };
            if action == LureAction::Opened {
                // With attribution, opens come from fanotify, with their process.
                if attributed {
                    continue;
                }
                if l.own_opens > 0 {
                    l.own_opens -= 1;
                    continue;
                }
            }
            match action {
                LureAction::Deleted | LureAction::Renamed => l.state = LureState::Missing,
                LureAction::Modified => l.state = LureState::Modified,
                _ => {}
            }
            let t = touch(l, sensor, action, LureSeenBy::Watch);
            match out.last_mut() {
                Some((last, n)) if last.decoy == t.decoy && last.event == t.event => *n += 1,
                _ => out.push((t, 1)),
            }
        }
    }
    out
}

async fn record(store: &Store, touches: Vec<(Touch, u64)>) {
    if touches.is_empty() {
        return;
    }
    for (count, r) in store.record_all(touches).await {
        if let Err(e) = r {
            error!(error = %e, count, "a lure touch could not be stored");
        }
    }
}
