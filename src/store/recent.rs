//! The newest records, kept in memory as well as on disk, up to a byte budget. Readers that
//! follow the store (the scorer reads every touch once, `events --follow` tails it) get what
//! was just written from here instead of reading it back from sled and decoding it again.
//!
//! The writer adds a batch's records only once the batch is durable, before it announces the
//! new flushed position, so a reader never finds here a record that is not yet on disk; and
//! pruning drops records from here before it deletes them on disk, so a reader never finds
//! here one that is gone. What is held is always a contiguous run of sequence numbers, ending at the newest; a read
//! that starts before that run goes to disk.

use std::collections::VecDeque;

use super::StoredTouch;

/// Memory the recent records may take, counted as their stored (JSON) size: a few hundred
/// small touches, a tenth of a second of a flood. The scorer reads what arrived in the last
/// 20 ms or so; a reader further behind reads the disk.
pub const BUDGET: usize = 256 << 10;

/// The newest records, oldest first.
#[derive(Debug)]
pub(crate) struct Recent {
    records: VecDeque<(StoredTouch, usize)>,
    bytes: usize,
    budget: usize,
}

impl Recent {
    pub(crate) fn new(budget: usize) -> Recent {
        Recent {
            records: VecDeque::new(),
            bytes: 0,
            budget,
        }
    }

    /// Adds a durable record (`size`: its stored length), dropping the oldest beyond the
    /// budget. A record that does not follow the newest one held (after a failed batch,
    /// whose sequence numbers were given out) starts the run afresh.
    pub(crate) fn push(&mut self, rec: StoredTouch, size: usize) {
        if self
            .records
            .back()
            .is_some_and(|(r, _)| r.seq + 1 != rec.seq)
        {
            self.clear();
        }
        self.bytes += size;
        self.records.push_back((rec, size));
        while self.bytes > self.budget {
            match self.records.pop_front() {
                Some((_, n)) => self.bytes -= n,
                None => break,
            }
        }
    }

    /// Forgets everything (the next reads go to disk).
    pub(crate) fn clear(&mut self) {
        self.records.clear();
        self.bytes = 0;
    }

    /// Drops the records up to `seq` (pruned from disk).
    pub(crate) fn forget_through(&mut self, seq: u64) {
        while let Some((r, n)) = self.records.front() {
            if r.seq > seq {
                break;
            }
            self.bytes -= n;
            self.records.pop_front();
        }
    }

    /// Up to `limit` records from `start` to `flushed`, or `None` when `start` is older than
    /// the oldest held (or nothing is held).
    pub(crate) fn read(&self, start: u64, flushed: u64, limit: usize) -> Option<Vec<StoredTouch>> {
        let first = self.records.front()?.0.seq;
        if start < first {
            return None;
        }
        let skip = usize::try_from(start - first).unwrap_or(usize::MAX);
        Some(
            self.records
                .iter()
                .skip(skip)
                .take_while(|(r, _)| r.seq <= flushed)
                .take(limit)
                .map(|(r, _)| r.clone())
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::touch::{Connection, ConnectionEnd, Event, Timestamp, Touch};

    fn rec(seq: u64) -> StoredTouch {
        StoredTouch {
            seq,
            count: 1,
            last_at: None,
            touch: Touch {
                at: Timestamp::now(),
                sensor: Arc::from("s1"),
                decoy: Arc::from("d"),
                source: "192.0.2.1:4000".parse().unwrap(),
                local: "127.0.0.1:22".parse().unwrap(),
                event: Event::Connection(Connection {
                    ended: ConnectionEnd::Closed,
                    duration_ms: 1,
                    bytes: 0,
                    preview: String::new(),
                }),
            },
        }
    }

    fn seqs(v: Option<Vec<StoredTouch>>) -> Option<Vec<u64>> {
        v.map(|v| v.into_iter().map(|r| r.seq).collect())
    }

    #[test]
    fn reads_a_contiguous_run_up_to_the_flushed_position() {
        let mut r = Recent::new(1000);
        for s in 5..=9 {
            r.push(rec(s), 10);
        }
        assert_eq!(seqs(r.read(5, 9, 100)), Some(vec![5, 6, 7, 8, 9]));
        assert_eq!(seqs(r.read(7, 8, 100)), Some(vec![7, 8]));
        assert_eq!(seqs(r.read(6, 9, 2)), Some(vec![6, 7]));
        assert_eq!(seqs(r.read(10, 9, 100)), Some(vec![]));
        // Older than what is held: the caller reads the disk.
        assert_eq!(seqs(r.read(4, 9, 100)), None);
        assert_eq!(seqs(Recent::new(1000).read(1, 9, 100)), None);
    }

    #[test]
    fn keeps_to_its_budget_and_drops_the_oldest() {
        let mut r = Recent::new(35);
        for s in 1..=10 {
            r.push(rec(s), 10);
        }
        assert_eq!(r.bytes, 30);
        assert_eq!(seqs(r.read(8, 10, 100)), Some(vec![8, 9, 10]));
        assert_eq!(seqs(r.read(7, 10, 100)), None);
        // One record larger than the whole budget is not kept either.
        r.push(rec(11), 100);
        assert_eq!(r.bytes, 0);
        assert_eq!(seqs(r.read(11, 11, 100)), None);
    }

    #[test]
    fn a_gap_starts_the_run_afresh() {
        let mut r = Recent::new(1000);
        r.push(rec(1), 10);
        r.push(rec(2), 10);
        // 3 and 4 went to a batch that failed to sync: on disk perhaps, never here.
        r.push(rec(5), 10);
        assert_eq!(seqs(r.read(2, 5, 100)), None);
        assert_eq!(seqs(r.read(5, 5, 100)), Some(vec![5]));
    }

    #[test]
    fn pruned_records_are_forgotten() {
        let mut r = Recent::new(1000);
        for s in 1..=6 {
            r.push(rec(s), 10);
        }
        r.forget_through(3);
        assert_eq!(r.bytes, 30);
        assert_eq!(seqs(r.read(3, 6, 100)), None, "3 was pruned: read the disk");
        assert_eq!(seqs(r.read(4, 6, 100)), Some(vec![4, 5, 6]));
        r.forget_through(9);
        assert_eq!((r.bytes, r.records.len()), (0, 0));
    }
}
