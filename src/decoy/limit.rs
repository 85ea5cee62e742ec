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
