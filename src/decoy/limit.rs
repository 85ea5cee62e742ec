//! Connection caps shared by network decoys: a global cap and a per-source cap, so one flooding
//! address cannot take every slot and starve other clients. State is one counter per source
//! address with a connection open, so it is bounded by the global cap.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Which cap refused a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The decoy has `max_connections` open.
    Total,
    /// This source has `max_connections_per_source` open.
    PerSource,
}

impl Refusal {
    /// Label for metrics.
    pub fn label(self) -> &'static str {
        match self {
            Refusal::Total => "max_connections",
            Refusal::PerSource => "max_connections_per_source",
        }
    }
}

/// Counts open connections per decoy and per source.
#[derive(Debug)]
pub struct ConnLimiter {
    max_total: usize,
    max_per_source: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    total: usize,
    per_source: HashMap<IpAddr, usize>,
}

/// One open connection; releases its slot when dropped.
#[derive(Debug)]
pub struct ConnPermit {
    limiter: Arc<ConnLimiter>,
    ip: IpAddr,
}

impl ConnLimiter {
    /// A limiter with both caps.
    pub fn new(max_total: usize, max_per_source: usize) -> Arc<Self> {
        Arc::new(ConnLimiter {
            max_total,
            max_per_source,
            state: Mutex::new(State::default()),
        })
    }

    /// Takes a slot for a connection from `ip`, or says which cap is full.
    pub fn try_acquire(self: &Arc<Self>, ip: IpAddr) -> Result<ConnPermit, Refusal> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if s.total >= self.max_total {
            return Err(Refusal::Total);
        }
        let n = s.per_source.entry(ip).or_insert(0);
        if *n >= self.max_per_source {
            return Err(Refusal::PerSource);
        }
        *n += 1;
        s.total += 1;
        Ok(ConnPermit {
            limiter: self.clone(),
            ip,
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).total
    }
}

impl Drop for ConnPermit {
    fn drop(&mut self) {
        let mut s = self.limiter.state.lock().unwrap_or_else(|p| p.into_inner());
        s.total -= 1;
        if let Some(n) = s.per_source.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                s.per_source.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_source_cap_leaves_room_for_others() {
        let l = ConnLimiter::new(3, 2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let p1 = l.try_acquire(a).unwrap();
        let _p2 = l.try_acquire(a).unwrap();
        assert_eq!(l.try_acquire(a).unwrap_err(), Refusal::PerSource);
        let _p3 = l.try_acquire(b).unwrap();
        assert_eq!(l.try_acquire(b).unwrap_err(), Refusal::Total);
        drop(p1);
        assert_eq!(l.open(), 2);
        assert!(l.try_acquire(a).is_ok());
    }

    #[test]
    fn state_is_released_when_connections_close() {
        let l = ConnLimiter::new(10, 10);
        let permits: Vec<_> = (0..5)
            .map(|i| l.try_acquire(IpAddr::from([10, 0, 0, i])).unwrap())
            .collect();
        drop(permits);
        assert_eq!(l.open(), 0);
        assert!(l.state.lock().unwrap().per_source.is_empty());
    }
}

/// Connections refused at a cap, counted per source until the next flush. Recording each
/// one would let a flood make the store do the flooding; counting them keeps the sensor from
/// going blind when its slots are full. At most [`RefusalTally::MAX_SOURCES`] sources are
/// kept apart; refusals from any further source are counted under the unspecified address.
#[derive(Debug, Default)]
pub struct RefusalTally {
    by_source: Mutex<HashMap<IpAddr, Refusals>>,
}

/// Refusals from one source since the last flush.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refusals {
    /// How many.
    pub count: u64,
    /// The cap that refused the last one.
    pub cap: Refusal,
    /// The local address they came to.
    pub local: std::net::SocketAddr,
    /// A source port of one of them.
    pub port: u16,
}

impl RefusalTally {
    /// Sources kept apart between two flushes.
    pub const MAX_SOURCES: usize = 4096;

    /// Counts one refused connection.
    pub fn note(&self, peer: std::net::SocketAddr, local: std::net::SocketAddr, cap: Refusal) {
        let mut m = self.by_source.lock().unwrap_or_else(|p| p.into_inner());
        let ip = if m.len() < Self::MAX_SOURCES || m.contains_key(&peer.ip()) {
            peer.ip()
        } else {
            IpAddr::from([0u8; 4])
        };
        let e = m.entry(ip).or_insert(Refusals {
            count: 0,
            cap,
            local,
            port: peer.port(),
        });
        e.count += 1;
        e.cap = cap;
    }

    /// Takes everything counted so far.
    pub fn drain(&self) -> Vec<(IpAddr, Refusals)> {
        let mut m = self.by_source.lock().unwrap_or_else(|p| p.into_inner());
        m.drain().collect()
    }
}

#[cfg(test)]
mod tally_tests {
    use super::*;

    #[test]
    fn refusals_are_counted_per_source_and_bounded() {
        let t = RefusalTally::default();
        let local = "127.0.0.1:80".parse().unwrap();
        for i in 0..(RefusalTally::MAX_SOURCES as u32 + 10) {
            let ip = IpAddr::from((i + 1).to_be_bytes());
            t.note(std::net::SocketAddr::new(ip, 1), local, Refusal::Total);
        }
        t.note("0.0.0.1:2".parse().unwrap(), local, Refusal::PerSource);
        let drained = t.drain();
        assert_eq!(
            drained.len(),
            RefusalTally::MAX_SOURCES + 1,
            "the overflow is one entry"
        );
        let total: u64 = drained.iter().map(|(_, r)| r.count).sum();
        assert_eq!(
            total,
            RefusalTally::MAX_SOURCES as u64 + 11,
            "nothing is lost"
        );
        let first = drained
            .iter()
            .find(|(ip, _)| *ip == IpAddr::from([0, 0, 0, 1]))
            .unwrap();
        assert_eq!((first.1.count, first.1.cap), (2, Refusal::PerSource));
        assert!(t.drain().is_empty());
    }
}
