//! Key layout of the `touches` tree. One tree holds the records and both indexes, so a group
//! of touches and its index entries land in one atomic sled batch.
//!
//! - `r` seq(8, big-endian) → the record (JSON)
//! - `d` decoy-name 0x00 seq → empty (index by decoy; names never contain 0x00)
//! - `s` ip(16, IPv4 mapped into IPv6) seq → empty (index by source address)
//! - `m` name → metadata (`mstate`: next sequence number, logical size, record count)

use std::net::IpAddr;

/// Prefix of records.
pub const RECORD: u8 = b'r';
/// Prefix of the decoy index.
pub const BY_DECOY: u8 = b'd';
/// Prefix of the source index.
pub const BY_SOURCE: u8 = b's';
/// Prefix of metadata.
pub const META: u8 = b'm';
/// Key of the store's counters (see `writer::State`).
pub const META_STATE: &[u8] = b"mstate";

/// Key of the record with sequence number `seq`.
pub fn record(seq: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = RECORD;
    k[1..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// Prefix of all index entries for one decoy.
pub fn decoy_prefix(decoy: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(decoy.len() + 2);
    k.push(BY_DECOY);
    k.extend_from_slice(decoy.as_bytes());
    k.push(0);
    k
}

/// Index entry of one record under its decoy.
pub fn by_decoy(decoy: &str, seq: u64) -> Vec<u8> {
    let mut k = decoy_prefix(decoy);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// Prefix of all index entries for one source address.
pub fn source_prefix(ip: IpAddr) -> [u8; 17] {
    let mut k = [0u8; 17];
    k[0] = BY_SOURCE;
    let v6 = match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    };
    k[1..].copy_from_slice(&v6.octets());
    k
}

/// Index entry of one record under its source address.
pub fn by_source(ip: IpAddr, seq: u64) -> [u8; 25] {
    let mut k = [0u8; 25];
    k[..17].copy_from_slice(&source_prefix(ip));
    k[17..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// The sequence number at the end of any record or index key.
pub fn seq_of(key: &[u8]) -> Option<u64> {
    let tail: [u8; 8] = key.get(key.len().checked_sub(8)?..)?.try_into().ok()?;
    Some(u64::from_be_bytes(tail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_by_sequence_within_a_prefix() {
        assert!(record(2) < record(10));
        assert!(record(255) < record(256));
        assert!(by_decoy("web", 9) < by_decoy("web", 300));
        // A decoy whose name extends another's never mixes into its range.
        assert!(!by_decoy("web2", 1).starts_with(&decoy_prefix("web")));
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        assert_eq!(seq_of(&by_source(ip, 77)), Some(77));
        assert_eq!(seq_of(&record(5)), Some(5));
        assert!(by_source(ip, 1).starts_with(&source_prefix(ip)));
    }
}
