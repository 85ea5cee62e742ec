//! Key layout of the `touches` tree. One tree holds the records and both indexes, so a group
//! of touches and its index entries land in one atomic sled batch.
//!
//! - `r` seq(8, big-endian) → the record (JSON)
//! - `d` decoy-name 0x00 last-seq → group (index by decoy; names never contain 0x00)
//! - `s` ip(16, IPv4 mapped into IPv6) last-seq → group (index by source address)
//! - `m` name → metadata (`mstate`: next sequence number, logical size, record count)
//!
//! An index entry stands for every record of one commit batch under its decoy or source: its
//! key ends in the newest one's sequence number, and its value lists the others, newest first,
//! each as a LEB128 varint of its distance to the one before. A flood from one address thus
//! writes one record key per touch and two index keys per batch, where one index key per
//! record made sled split a leaf every few inserts. An empty value is an entry of one record,
//! which is what stores written before grouping hold, so they read unchanged.
//!
//! Groups under one prefix never interleave (batches are written one after another), and
//! pruning removes the oldest records first: the entry whose key is a pruned record's is
//! removed with it. Members of a surviving entry whose records were pruned stay listed until
//! then; readers skip index members without a record, and they are always older than every
//! record that remains.

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

/// The value of an index entry for `seqs` (ascending, at least one): the distances between
/// neighbours, newest first, as varints. The newest is in the key.
pub fn group_value(seqs: &[u64]) -> Vec<u8> {
    let mut v = Vec::new();
    for pair in seqs.windows(2).rev() {
        let mut d = pair[1] - pair[0];
        loop {
            let byte = (d & 0x7f) as u8;
            d >>= 7;
            if d == 0 {
                v.push(byte);
                break;
            }
            v.push(byte | 0x80);
        }
    }
    v
}

/// The sequence numbers of an index entry, newest first; `None` if the value is malformed
/// (a varint that runs past the end or overflows, a distance of zero, or one beyond seq 1).
pub fn group_members(key: &[u8], value: &[u8]) -> Option<Vec<u64>> {
    let mut seq = seq_of(key)?;
    let mut out = Vec::with_capacity(1 + value.len());
    out.push(seq);
    let mut bytes = value.iter();
    while bytes.len() > 0 {
        let mut d = 0u64;
        let mut shift = 0u32;
        loop {
            let b = *bytes.next()?;
            if shift > 63 || (shift == 63 && b > 1) {
                return None;
            }
            d |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        // Sequence numbers start at 1.
        seq = seq.checked_sub(d).filter(|&s| d > 0 && s > 0)?;
        out.push(seq);
    }
    Some(out)
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

    #[test]
    fn index_groups_list_their_members_newest_first() {
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let seqs = [3, 4, 200, 201, 70_000, 1 << 40];
        let v = group_value(&seqs);
        // Five distances: 1, 1, 196 (two bytes), 69799 (three), the last one six.
        assert_eq!(v.len(), 1 + 1 + 2 + 3 + 6);
        let members = group_members(&by_source(ip, 1 << 40), &v).unwrap();
        let mut expected = seqs.to_vec();
        expected.reverse();
        assert_eq!(members, expected);
        // One record: an empty value, the layout of stores written before grouping.
        assert!(group_value(&[9]).is_empty());
        assert_eq!(group_members(&by_decoy("web", 9), &[]), Some(vec![9]));
    }

    #[test]
    fn malformed_index_values_are_refused() {
        let k = by_decoy("web", 10);
        assert_eq!(group_members(&k, &[0x80]), None, "varint cut short");
        assert_eq!(group_members(&k, &[0]), None, "distance zero");
        assert_eq!(
            group_members(&k, &[10]),
            None,
            "before the first sequence number"
        );
        assert_eq!(group_members(&k, &[0xff; 11]), None, "overflow");
        assert_eq!(group_members(&k[..4], &[]), None, "key too short");
        assert_eq!(group_members(&k, &[9]), Some(vec![10, 1]));
    }
}
