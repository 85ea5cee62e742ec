use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::*;
use crate::touch::{Connection, ConnectionEnd, Event, Touch};

/// A connection touch of `decoy` from `source` (shared with the writer's own tests).
pub(super) fn touch(decoy: &str, source: &str, bytes: u64) -> Touch {
    Touch {
        at: Timestamp::now(),
        sensor: Arc::from("s1"),
        decoy: Arc::from(decoy),
        source: source.parse::<SocketAddr>().unwrap(),
        local: "127.0.0.1:8080".parse().unwrap(),
        event: Event::Connection(Connection {
            ended: ConnectionEnd::Closed,
            duration_ms: 1,
            bytes,
            preview: String::new(),
        }),
    }
}

fn settings() -> StoreSettings {
    StoreSettings {
        prune_every: Duration::from_secs(3600),
        ..StoreSettings::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_are_acknowledged_in_order_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let (store, writer) = Store::open(dir.path(), settings(), Metrics::new()).unwrap();
    for i in 0..5 {
        let r = store
            .record(touch("web", "10.0.0.1:1000", i))
            .await
            .unwrap();
        assert_eq!(r.seq, i + 1);
        assert!(store.flushed().seq >= r.seq, "acknowledged means flushed");
    }
    writer.shutdown().await;
    drop(store);

    let (store, writer) = Store::open(dir.path(), settings(), Metrics::new()).unwrap();
    let r = store
        .record(touch("web", "10.0.0.1:1000", 99))
        .await
        .unwrap();
    assert_eq!(r.seq, 6, "sequence numbers continue after a restart");
    let all = store.events(&EventQuery::default()).unwrap();
    assert_eq!(
        all.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5, 6]
    );
    writer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_touches_share_flushes_and_identical_ones_fold_with_a_count() {
    let dir = tempfile::tempdir().unwrap();
    let metrics = Metrics::new();
    let (store, writer) = Store::open(dir.path(), settings(), metrics.clone()).unwrap();
    let mut tasks = Vec::new();
    for i in 0..400u64 {
        let store = store.clone();
        // Half are identical (same source IP, other port): foldable. Half are distinct.
        let t = if i % 2 == 0 {
            touch("web", &format!("10.0.0.9:{}", 1000 + i), 7)
        } else {
            touch("web", "10.0.0.8:1000", i)
        };
        tasks.push(tokio::spawn(async move { store.record(t).await.unwrap() }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let flushed = store.flushed();
    assert_eq!(flushed.touches, 400, "every touch is accounted for");
    let all = store.events(&EventQuery::default()).unwrap();
    let total: u64 = all.iter().map(|r| r.count).sum();
    assert_eq!(total, 400, "folded records carry their counts");
    let batches = metrics.store_flushes.get();
    assert!(
        batches < 400,
        "concurrent touches share group commits ({batches} flushes)"
    );
    writer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexes_find_records_by_decoy_and_by_source() {
    let dir = tempfile::tempdir().unwrap();
    let (store, writer) = Store::open(dir.path(), settings(), Metrics::new()).unwrap();
    store.record(touch("web", "10.0.0.1:1", 1)).await.unwrap();
    store.record(touch("web2", "10.0.0.2:1", 2)).await.unwrap();
    store.record(touch("web", "10.0.0.2:1", 3)).await.unwrap();
    store
        .record(touch("webx", "[2001:db8::1]:1", 4))
        .await
        .unwrap();
    let by_decoy = store
        .events(&EventQuery {
            decoy: Some("web".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        by_decoy.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![1, 3]
    );
    let by_source = store
        .events(&EventQuery {
            source: Some("10.0.0.2".parse().unwrap()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        by_source.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![2, 3]
    );
    let v6 = store
        .events(&EventQuery {
            source: Some("2001:db8::1".parse().unwrap()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(v6.len(), 1);
    let tail = store
        .events(&EventQuery {
            tail: Some(2),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(tail.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![3, 4]);
    let after = store
        .events(&EventQuery {
            after: Some(2),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(after.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![3, 4]);
    writer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_size_cap_prunes_the_oldest_and_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    let metrics = Metrics::new();
    let s = StoreSettings {
        max_bytes: 64 * 1024,
        ..settings()
    };
    let (store, writer) = Store::open(dir.path(), s, metrics.clone()).unwrap();
    for i in 0..2000u64 {
        store.record(touch("web", "10.0.0.1:1", i)).await.unwrap();
    }
    let stats = store.stats();
    assert!(
        stats.bytes <= 64 * 1024,
        "logical size {} stays under the cap",
        stats.bytes
    );
    let all = store.events(&EventQuery::default()).unwrap();
    assert!(all.len() < 2000 && !all.is_empty());
    assert_eq!(all.last().unwrap().seq, 2000, "the newest are kept");
    let pruned = metrics
        .touches_pruned
        .get_or_create(&[("reason", "size")])
        .get();
    assert_eq!(
        pruned as usize + all.len(),
        2000,
        "every pruned touch is counted"
    );
    // Index entries of pruned records are gone too.
    let by_decoy = store
        .events(&EventQuery {
            decoy: Some("web".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(by_decoy.len(), all.len());
    writer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retention_age_prunes_old_touches() {
    let dir = tempfile::tempdir().unwrap();
    let metrics = Metrics::new();
    let s = StoreSettings {
        retention: Duration::from_secs(3600),
        ..settings()
    };
    let (store, writer) = Store::open(dir.path(), s, metrics.clone()).unwrap();
    let old = Timestamp::from(SystemTime::now() - Duration::from_secs(7200));
    for i in 0..3u64 {
        let mut t = touch("web", "10.0.0.1:1", i);
        t.at = old;
        store.record(t).await.unwrap();
    }
    store.record(touch("web", "10.0.0.1:1", 100)).await.unwrap();
    store.prune_by_age().await;
    // The prune runs on the writer; a following write is ordered after it.
    store.record(touch("web", "10.0.0.1:1", 101)).await.unwrap();
    let all = store.events(&EventQuery::default()).unwrap();
    assert_eq!(all.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![4, 5]);
    assert_eq!(
        metrics
            .touches_pruned
            .get_or_create(&[("reason", "age")])
            .get(),
        3
    );
    writer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_slows_writers_down_instead_of_dropping() {
    let dir = tempfile::tempdir().unwrap();
    let s = StoreSettings {
        write_queue: 16,
        max_batch: 8,
        ..settings()
    };
    let (store, writer) = Store::open(dir.path(), s, Metrics::new()).unwrap();
    let mut tasks = Vec::new();
    for i in 0..500u64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.record(touch("web", "10.0.0.1:1", i)).await
        }));
    }
    for t in tasks {
        t.await
            .unwrap()
            .expect("every writer eventually gets its acknowledgement");
    }
    assert_eq!(store.flushed().touches, 500);
    writer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequence_numbers_are_never_reused_even_after_everything_is_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let s = StoreSettings {
        retention: Duration::from_secs(3600),
        ..settings()
    };
    let (store, writer) = Store::open(dir.path(), s.clone(), Metrics::new()).unwrap();
    let old = Timestamp::from(SystemTime::now() - Duration::from_secs(7200));
    for i in 0..3u64 {
        let mut t = touch("web", "10.0.0.1:1", i);
        t.at = old;
        store.record(t).await.unwrap();
    }
    store.prune_by_age().await;
    writer.shutdown().await;
    drop(store);
    let (store, writer) = Store::open(dir.path(), s, Metrics::new()).unwrap();
    assert_eq!(store.stats().records, 0, "everything was pruned");
    assert_eq!(
        store.flushed().seq,
        3,
        "the flushed sequence does not go back"
    );
    let r = store.record(touch("web", "10.0.0.1:1", 9)).await.unwrap();
    assert_eq!(r.seq, 4);
    assert_eq!(store.stats().records, 1);
    writer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_newest_records_can_be_read_page_by_page() {
    let dir = tempfile::tempdir().unwrap();
    let (store, writer) = Store::open(dir.path(), settings(), Metrics::new()).unwrap();
    for i in 0..12u64 {
        let decoy = if i % 2 == 0 { "even" } else { "odd" };
        store.record(touch(decoy, "10.0.0.1:1", i)).await.unwrap();
    }
    let seqs = |q: EventQuery| {
        store
            .events(&q)
            .unwrap()
            .iter()
            .map(|r| r.seq)
            .collect::<Vec<_>>()
    };
    // The newest five, two at a time.
    assert_eq!(
        seqs(EventQuery {
            tail: Some(5),
            limit: Some(2),
            ..Default::default()
        }),
        vec![8, 9]
    );
    assert_eq!(
        seqs(EventQuery {
            after: Some(9),
            limit: Some(3),
            ..Default::default()
        }),
        vec![10, 11, 12]
    );
    // With a filter, the tail counts only matching records.
    let odd = || EventQuery {
        decoy: Some("odd".into()),
        ..Default::default()
    };
    assert_eq!(
        seqs(EventQuery {
            tail: Some(3),
            limit: Some(2),
            ..odd()
        }),
        vec![8, 10]
    );
    assert_eq!(
        seqs(EventQuery {
            after: Some(10),
            ..odd()
        }),
        vec![12]
    );
    assert_eq!(
        seqs(EventQuery {
            tail: Some(100),
            ..odd()
        })
        .len(),
        6
    );
    writer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_records_that_sled_writes_as_blobs_are_synced_before_the_ack() {
    let dir = tempfile::tempdir().unwrap();
    let metrics = Metrics::new();
    let (store, writer) = Store::open(dir.path(), settings(), metrics.clone()).unwrap();
    let mut t = touch("web", "10.0.0.1:1", 1);
    // Far above a quarter of sled's segment size (no real touch is this large; see the
    // next test): sled writes it to a file of its own.
    t.event = Event::Connection(Connection {
        ended: ConnectionEnd::Closed,
        duration_ms: 1,
        bytes: 1,
        preview: "x".repeat(3 << 20),
    });
    store.record(t).await.unwrap();
    let blobs = std::fs::read_dir(dir.path().join("store/blobs"))
        .unwrap()
        .count();
    assert!(blobs > 0, "the record went to a blob file");
    assert!(
        metrics.store_blob_syncs.get() >= 1,
        "and that file was synced before the acknowledgement"
    );
    writer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tail_with_both_filters_counts_only_records_matching_both() {
    let dir = tempfile::tempdir().unwrap();
    let (store, writer) = Store::open(dir.path(), settings(), Metrics::new()).unwrap();
    for i in 0..3u64 {
        store.record(touch("web", "10.0.0.1:1", i)).await.unwrap();
    }
    for i in 0..5u64 {
        store.record(touch("web", "10.0.0.2:1", i)).await.unwrap();
    }
    // An IPv4 client of a dual-stack listener arrives as ::ffff:10.0.0.1.
    store
        .record(touch("web", "[::ffff:10.0.0.1]:1", 9))
        .await
        .unwrap();
    let q = EventQuery {
        tail: Some(2),
        decoy: Some("web".into()),
        source: Some("10.0.0.1".parse().unwrap()),
        ..Default::default()
    };
    let seqs: Vec<u64> = store.events(&q).unwrap().iter().map(|r| r.seq).collect();
    assert_eq!(seqs, vec![3, 9]);
    writer.shutdown().await;
}

#[test]
fn the_largest_touch_the_limits_allow_stays_far_below_the_blob_threshold() {
    use crate::touch::{Credential, CredentialSource, HttpRequest, MAX_FIELD, clip};
    // Worst cases for JSON: control characters escape to six bytes, U+FFFD takes three.
    let ctrl = |n: usize| clip(&"\u{1}".repeat(n), n);
    let wide = |n: usize| clip(&"\u{FFFD}".repeat(n), n);
    let hasher =
        crate::touch::PasswordHasher::new([1; 32], crate::config::CapturePasswords::Plaintext);
    let t = Touch {
        event: Event::HttpRequest(HttpRequest {
            method: "A".repeat(32),
            path: clip(&"\"".repeat(4 * MAX_FIELD), MAX_FIELD),
            query: Some(clip(&"\"".repeat(4 * MAX_FIELD), MAX_FIELD)),
            host: Some(wide(MAX_FIELD)),
            user_agent: Some(wide(MAX_FIELD)),
            headers: (0..16).map(|_| ("x".repeat(64), ctrl(256))).collect(),
            fields: (0..32).map(|_| ctrl(64)).collect(),
            body_bytes: u64::MAX,
            credentials: (0..4)
                .map(|_| Credential {
                    source: CredentialSource::Form,
                    username: Some(ctrl(256)),
                    password: Some(hasher.capture(&"\u{1}".repeat(256))),
                })
                .collect(),
            status: Some(200),
        }),
        ..touch(
            "a-decoy-name-of-sixty-four-characters-aaaaaaaaaaaaaaaaaaaaaaaaa",
            "[2001:db8::1]:65535",
            1,
        )
    };
    let rec = StoredTouch {
        seq: u64::MAX,
        count: u64::MAX,
        last_at: Some(Timestamp::now()),
        touch: t,
    };
    let len = serde_json::to_vec(&rec).unwrap().len();
    // sled writes a node as a blob above 2 MiB (8 MiB segments); a leaf holds 17 records.
    assert!(
        len * 17 < (2 << 20) / 2,
        "a worst-case record is {len} bytes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_load_the_commit_window_gathers_more_touches_per_sync() {
    // The same stream of touches: waves of 20 concurrent writers, each wave waiting for the
    // last. Without a window each wave takes several syncs; with one, a wave gathers into few.
    async fn syncs(window: Duration) -> u64 {
        let dir = tempfile::tempdir().unwrap();
        let metrics = Metrics::new();
        let s = StoreSettings {
            commit_window: window,
            ..settings()
        };
        let (store, writer) = Store::open(dir.path(), s, metrics.clone()).unwrap();
        for wave in 0..10u64 {
            let mut tasks = Vec::new();
            for i in 0..20u64 {
                let store = store.clone();
                tasks.push(tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_micros(i * 300)).await;
                    store
                        .record(touch("web", "10.0.0.1:1", wave * 100 + i))
                        .await
                }));
            }
            for t in tasks {
                t.await.unwrap().unwrap();
            }
        }
        assert_eq!(store.flushed().touches, 200);
        writer.shutdown().await;
        metrics.store_flushes.get()
    }
    let without = syncs(Duration::ZERO).await;
    let with = syncs(Duration::from_millis(20)).await;
    // With the window a wave is one or two syncs (its first touch may go alone); without
    // it, every sync takes only what arrived during the one before.
    assert!(
        with <= 21 && with < without,
        "{with} syncs with a 20 ms window, {without} without"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_get_the_same_records_from_memory_as_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let (store, writer) = Store::open(dir.path(), settings(), Metrics::new()).unwrap();
    // About 2.5 MiB of records, more than the memory budget, some folded by concurrency.
    let mut tasks = Vec::new();
    for i in 0..300u64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut t = touch("web", "10.0.0.1:1", i % 7);
            if let Event::Connection(c) = &mut t.event {
                c.preview = format!("{i:08}").repeat(1024);
            }
            store.record(t).await.unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let flushed = store.flushed().seq;
    let from_disk = read_events(&store.inner.tree, flushed, &EventQuery::default()).unwrap();
    assert_eq!(from_disk.last().map(|r| r.seq), Some(flushed));
    let mut paged = Vec::new();
    let mut after = 0;
    loop {
        let page = store
            .events(&EventQuery {
                after: Some(after),
                limit: Some(50),
                ..Default::default()
            })
            .unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        paged.extend(page);
    }
    assert_eq!(paged, from_disk);
    // The newest came from memory, the oldest (beyond the budget) from disk.
    let (newest, oldest) = {
        let recent = store.inner.recent.lock().unwrap();
        (recent.read(flushed, flushed, 1), recent.read(1, flushed, 1))
    };
    assert!(newest.is_some_and(|v| v.len() == 1));
    assert!(oldest.is_none());
    writer.shutdown().await;
}

/// The logical size of the touches tree as the writer accounts it: every key and value but
/// the metadata.
fn logical_size(tree: &sled::Tree) -> u64 {
    tree.iter()
        .map(|kv| kv.unwrap())
        .filter(|(k, _)| k[0] != keys::META)
        .map(|(k, v)| (k.len() + v.len()) as u64)
        .sum()
}

fn count_prefix(tree: &sled::Tree, prefix: u8) -> usize {
    tree.scan_prefix([prefix]).count()
}

/// What a query must return, worked out from `model` (seq, decoy, source address) alone.
fn expected(model: &[(u64, &str, IpAddr)], q: &EventQuery) -> Vec<u64> {
    let matching: Vec<u64> = model
        .iter()
        .filter(|(seq, decoy, ip)| {
            q.after.is_none_or(|a| *seq > a)
                && q.decoy.as_deref().is_none_or(|d| d == *decoy)
                && q.source.is_none_or(|s| s == *ip)
        })
        .map(|(seq, _, _)| *seq)
        .collect();
    let from = q
        .tail
        .map_or(0, |n| matching.len().saturating_sub(n.max(1)));
    matching[from..]
        .iter()
        .copied()
        .take(q.limit.unwrap_or(MAX_READ))
        .collect()
}

/// Every combination of filters, starts, tails and limits against the model.
fn check_reads(store: &Store, model: &[(u64, &str, IpAddr)], sources: &[IpAddr]) {
    let last = model.last().map_or(0, |m| m.0);
    let mut checked = 0;
    for decoy in [None, Some("a"), Some("b")] {
        for source in std::iter::once(None).chain(sources.iter().copied().map(Some)) {
            for after in [
                None,
                Some(0),
                Some(1),
                Some(last / 3),
                Some(last / 2 + 1),
                Some(last),
            ] {
                for tail in [None, Some(1), Some(5), Some(40), Some(100_000)] {
                    for limit in [None, Some(7)] {
                        let q = EventQuery {
                            after,
                            tail,
                            limit,
                            decoy: decoy.map(String::from),
                            source,
                        };
                        let got: Vec<u64> =
                            store.events(&q).unwrap().iter().map(|r| r.seq).collect();
                        assert_eq!(got, expected(model, &q), "{q:?}");
                        checked += 1;
                    }
                }
            }
        }
    }
    assert_eq!(checked, 3 * (1 + sources.len()) * 6 * 5 * 2);
}

fn mixed_touches(n: u64, sources: &[IpAddr]) -> Vec<(Touch, u64)> {
    (0..n)
        .map(|i| {
            let decoy = if i % 2 == 0 { "a" } else { "b" };
            let src = SocketAddr::new(sources[(i % sources.len() as u64) as usize], 1000);
            // Distinct sizes: nothing folds, every touch is a record of its own.
            (touch(decoy, &src.to_string(), i), 1)
        })
        .collect()
}

/// Records `touches` in one go and returns their model entries (seq, decoy, source).
async fn record_into_model(
    store: &Store,
    touches: Vec<(Touch, u64)>,
) -> Vec<(u64, &'static str, IpAddr)> {
    let meta: Vec<(&'static str, IpAddr)> = touches
        .iter()
        .map(|(t, _)| (if &*t.decoy == "a" { "a" } else { "b" }, t.source.ip()))
        .collect();
    let receipts = store.record_all(touches).await;
    receipts
        .into_iter()
        .zip(meta)
        .map(|((_, r), (d, ip))| (r.unwrap().seq, d, ip))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_writes_one_index_entry_per_decoy_and_source_and_reads_expand_it() {
    let dir = tempfile::tempdir().unwrap();
    let metrics = Metrics::new();
    let (store, writer) = Store::open(dir.path(), settings(), metrics.clone()).unwrap();
    let sources: Vec<IpAddr> = ["10.0.0.1", "10.0.0.2", "2001:db8::7"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    let mut model = Vec::new();
    for round in 0..3 {
        model.extend(record_into_model(&store, mixed_touches(120, &sources)).await);
        assert_eq!(model.len(), 120 * (round + 1));
    }
    let flushes = metrics.store_flushes.get() as usize;
    let tree = &store.inner.tree;
    assert_eq!(count_prefix(tree, keys::RECORD), 360);
    let (by_decoy, by_source) = (
        count_prefix(tree, keys::BY_DECOY),
        count_prefix(tree, keys::BY_SOURCE),
    );
    // At most one entry per decoy and per source in each group commit.
    assert!(
        by_decoy <= 2 * flushes && by_source <= 3 * flushes,
        "{by_decoy} decoy and {by_source} source entries for {flushes} flushes"
    );
    assert!(
        by_decoy + by_source < 360,
        "fewer index keys than records ({by_decoy} + {by_source}, {flushes} flushes)"
    );
    assert_eq!(store.stats().bytes, logical_size(tree));
    check_reads(&store, &model, &sources);
    writer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruning_part_of_a_group_leaves_the_rest_readable_and_the_size_exact() {
    let dir = tempfile::tempdir().unwrap();
    let metrics = Metrics::new();
    let s = StoreSettings {
        retention: Duration::from_secs(3600),
        ..settings()
    };
    let (store, writer) = Store::open(dir.path(), s, metrics.clone()).unwrap();
    let sources: Vec<IpAddr> = ["10.0.0.1", "10.0.0.2"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    // The first 30 are old: the age prune ends inside the batch.
    let old = Timestamp::from(SystemTime::now() - Duration::from_secs(7200));
    let mut touches = mixed_touches(80, &sources);
    for (t, _) in touches.iter_mut().take(30) {
        t.at = old;
    }
    let mut model = record_into_model(&store, touches).await;
    let flushes = metrics.store_flushes.get();
    store.prune_by_age().await;
    // The prune runs on the writer; a following write is ordered after it.
    let r = store.record(touch("a", "10.0.0.1:9", 999)).await.unwrap();
    model.push((r.seq, "a", "10.0.0.1".parse().unwrap()));
    model.drain(..30);
    let tree = &store.inner.tree;
    assert_eq!(count_prefix(tree, keys::RECORD), 51);
    assert_eq!(
        store.stats().bytes,
        logical_size(tree),
        "size accounting is exact"
    );
    // Every index entry left ends in a record that exists (pruning removed the others).
    for kv in tree.iter() {
        let (k, _) = kv.unwrap();
        if k[0] == keys::BY_DECOY || k[0] == keys::BY_SOURCE {
            let seq = keys::seq_of(&k).unwrap();
            assert!(
                tree.get(keys::record(seq)).unwrap().is_some(),
                "entry {seq}"
            );
        }
    }
    if flushes == 1 {
        // One batch: both its decoy entries survive (their newest records were not pruned)
        // and still list the pruned ones, which readers skip; the later touch adds a third.
        assert_eq!(count_prefix(tree, keys::BY_DECOY), 3);
    }
    check_reads(&store, &model, &sources);
    writer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_size_cap_prunes_grouped_entries_with_exact_accounting() {
    let dir = tempfile::tempdir().unwrap();
    let s = StoreSettings {
        max_bytes: 48 * 1024,
        ..settings()
    };
    let (store, writer) = Store::open(dir.path(), s, Metrics::new()).unwrap();
    let sources: Vec<IpAddr> = ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    let mut model = Vec::new();
    for _ in 0..20 {
        model.extend(record_into_model(&store, mixed_touches(50, &sources)).await);
    }
    // The size prune runs on the writer after the acknowledgements: wait for it with a
    // command ordered behind it.
    store
        .put_identities(IdentityBatch::default())
        .await
        .unwrap();
    let tree = &store.inner.tree;
    let left = count_prefix(tree, keys::RECORD);
    assert!(left > 0 && left < 1000, "{left} records left");
    let bytes = store.stats().bytes;
    assert!(
        bytes <= 48 * 1024,
        "{bytes} bytes, {left} records, logical {}",
        logical_size(tree)
    );
    assert_eq!(bytes, logical_size(tree), "size accounting is exact");
    model.drain(..1000 - left);
    let oldest = tree.scan_prefix([keys::RECORD]).next().unwrap().unwrap().0;
    assert_eq!(model[0].0, keys::seq_of(&oldest).unwrap());
    check_reads(&store, &model, &sources);
    writer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_with_one_index_entry_per_record_read_and_prune_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let sources: Vec<IpAddr> = ["10.0.0.1", "10.0.0.2"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    let old = Timestamp::from(SystemTime::now() - Duration::from_secs(7200));
    let mut model = Vec::new();
    // Written the way stores were before grouping: an empty-valued entry per record and
    // index, and no counters (the store measures itself when it opens).
    {
        let db = open_db(dir.path(), 1 << 20).unwrap();
        let tree = db.open_tree("touches").unwrap();
        for (i, (mut t, _)) in mixed_touches(40, &sources).into_iter().enumerate() {
            let seq = i as u64 + 1;
            if seq <= 10 {
                t.at = old;
            }
            let d = if &*t.decoy == "a" { "a" } else { "b" };
            model.push((seq, d, t.source.ip()));
            tree.insert(keys::by_decoy(&t.decoy, seq), &[][..]).unwrap();
            tree.insert(&keys::by_source(t.source.ip(), seq)[..], &[][..])
                .unwrap();
            let rec = StoredTouch {
                seq,
                count: 1,
                last_at: None,
                touch: t,
            };
            tree.insert(keys::record(seq), serde_json::to_vec(&rec).unwrap())
                .unwrap();
        }
        db.flush().unwrap();
    }
    let s = StoreSettings {
        retention: Duration::from_secs(3600),
        ..settings()
    };
    let (store, writer) = Store::open(dir.path(), s, Metrics::new()).unwrap();
    check_reads(&store, &model, &sources);
    // New touches are grouped beside the old entries; the old ones prune as before.
    model.extend(record_into_model(&store, mixed_touches(20, &sources)).await);
    assert_eq!(model.last().unwrap().0, 60);
    store.prune_by_age().await;
    store.record(touch("b", "10.0.0.2:1", 5)).await.unwrap();
    model.push((61, "b", "10.0.0.2".parse().unwrap()));
    model.drain(..10);
    let tree = &store.inner.tree;
    assert_eq!(count_prefix(tree, keys::RECORD), 51);
    assert_eq!(
        store.stats().bytes,
        logical_size(tree),
        "size accounting is exact"
    );
    // The pruned records' own entries are gone; those of the old records left remain.
    for (seq, d, ip) in mixed_touches(40, &sources)
        .iter()
        .enumerate()
        .map(|(i, (t, _))| (i as u64 + 1, t.decoy.clone(), t.source.ip()))
    {
        let kept = tree.get(keys::by_decoy(&d, seq)).unwrap();
        let kept_source = tree.get(keys::by_source(ip, seq)).unwrap();
        assert_eq!(kept.is_some(), seq > 10, "decoy entry {seq}");
        assert_eq!(kept_source.is_some(), seq > 10, "source entry {seq}");
    }
    check_reads(&store, &model, &sources);
    writer.shutdown().await;
}
