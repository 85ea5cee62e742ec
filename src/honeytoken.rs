//! Self-verifying honeytokens. Every credential a lure carries is minted from the fleet secret
//! so that any sensor holding that secret recognises it in memory, with no shared database and
//! no network call, and knows which lure it came from.
//!
//! A token's core is 160 bits: `masked lure id (64) ‖ nonce (32) ‖ MAC (64)`, where the lure id
//! is derived from the lure's name (so every sensor with the same catalogue computes the same
//! id), the nonce is fresh randomness per credential (so two plantings never share a
//! credential), the MAC is HMAC-SHA256(id ‖ nonce) under a key derived from the fleet secret,
//! and the mask hides the id (two credentials of one lure share nothing visible). Forging one
//! means guessing a 64-bit MAC. The core is then written in the alphabet and length of the
//! credential it stands for ([`Shape`]): a 160-bit number plus a random multiple of 2^160, so
//! that every character position, the first included, is spread like a generated password's.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;

/// Shortest fleet secret accepted, in bytes.
pub const MIN_SECRET: usize = 16;

const CORE: usize = 20;

/// The fleet secret's derived keys. Never logged.
#[derive(Clone)]
pub struct FleetKey {
    id_key: [u8; 32],
    mac_key: [u8; 32],
    mask_key: [u8; 32],
}

impl fmt::Debug for FleetKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FleetKey([redacted])")
    }
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

impl FleetKey {
    /// Keys from the secret's bytes (at least [`MIN_SECRET`]).
    pub fn new(secret: &[u8]) -> FleetKey {
        FleetKey {
            id_key: hmac(secret, &[b"decoyd honeytoken lure id"]),
            mac_key: hmac(secret, &[b"decoyd honeytoken mac"]),
            mask_key: hmac(secret, &[b"decoyd honeytoken mask"]),
        }
    }

    /// Reads a fleet secret file: hex, base64, or raw bytes, at least [`MIN_SECRET`] bytes,
    /// readable by its owner only.
    pub fn load(path: &Path) -> anyhow::Result<FleetKey> {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path)
            .with_context(|| format!("cannot read the fleet secret {}", path.display()))?;
        if meta.permissions().mode() & 0o077 != 0 {
            bail!(
                "fleet secret {} is readable by others (mode {:o}): make it 0600 or 0400",
                path.display(),
                meta.permissions().mode() & 0o777
            );
        }
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read the fleet secret {}", path.display()))?;
        let secret = decode_secret(&bytes);
        if secret.len() < MIN_SECRET {
            bail!(
                "fleet secret {} is too short ({} bytes): expected at least {MIN_SECRET} random bytes, e.g. `head -c 32 /dev/urandom | base64`",
                path.display(),
                secret.len()
            );
        }
        Ok(FleetKey::new(&secret))
    }

    /// The lure id of the lure named `name`, the same on every sensor of the fleet.
    pub fn lure_id(&self, name: &str) -> LureId {
        let d = hmac(&self.id_key, &[name.as_bytes()]);
        LureId(u64::from_be_bytes(d[..8].try_into().expect("8 bytes")))
    }

    /// 32 bytes for `purpose`, the same on every sensor of the fleet, unrelated to any token.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        hmac(&self.id_key, &[b"derive:", purpose.as_bytes()])
    }

    fn mac(&self, id: LureId, nonce: [u8; 4]) -> [u8; 8] {
        let d = hmac(&self.mac_key, &[&id.0.to_be_bytes(), &nonce]);
        d[..8].try_into().expect("8 bytes")
    }

    fn mask(&self, nonce: [u8; 4], mac: [u8; 8]) -> [u8; 8] {
        let d = hmac(&self.mask_key, &[&nonce, &mac]);
        d[..8].try_into().expect("8 bytes")
    }

    /// A new credential of `shape` for lure `id`.
    pub fn mint(&self, id: LureId, shape: Shape, rng: &mut impl Rng) -> String {
        let nonce: [u8; 4] = rng.random();
        let mac = self.mac(id, nonce);
        let mask = self.mask(nonce, mac);
        let mut core = [0u8; CORE];
        for (i, b) in id.0.to_be_bytes().iter().enumerate() {
            core[i] = b ^ mask[i];
        }
        core[8..12].copy_from_slice(&nonce);
        core[12..].copy_from_slice(&mac);
        shape.encode(&core, rng)
    }

    /// The lure id a credential was minted for, if it is a valid token of this fleet. Tries
    /// every shape; costs two HMACs per shape that parses.
    pub fn recognise(&self, credential: &str) -> Option<LureId> {
        Shape::ALL.iter().find_map(|shape| {
            let core = shape.decode(credential)?;
            let nonce: [u8; 4] = core[8..12].try_into().expect("4 bytes");
            let mac: [u8; 8] = core[12..].try_into().expect("8 bytes");
            let mask = self.mask(nonce, mac);
            let mut id = [0u8; 8];
            for i in 0..8 {
                id[i] = core[i] ^ mask[i];
            }
            let id = LureId(u64::from_be_bytes(id));
            let expected = self.mac(id, nonce);
            // Constant time: a timing difference must not help anyone build a MAC.
            let diff = expected
                .iter()
                .zip(mac.iter())
                .fold(0u8, |d, (a, b)| d | (a ^ b));
            (diff == 0).then_some(id)
        })
    }
}

/// Hex or base64 text is decoded; anything else is taken as raw bytes.
fn decode_secret(bytes: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(bytes).map(str::trim).unwrap_or("");
    if !text.is_empty() {
        if let Some(b) = crate::store::files::unhex(text) {
            return b;
        }
        use base64::Engine;
        if let Ok(b) = base64::engine::general_purpose::STANDARD.decode(text) {
            return b;
        }
    }
    bytes.to_vec()
}

/// A lure's 64-bit id, written as 16 hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LureId(pub u64);

impl fmt::Display for LureId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// What a lure in the fleet's catalogue is, as far as recognising its tokens needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LureInfo {
    /// The lure's name (its file stem).
    pub name: Arc<str>,
    /// Whose the lure is: the identity its token's use names.
    pub owner: Arc<str>,
    /// The sensor that plants it.
    pub host: Arc<str>,
    /// The decoy its credential is for.
    pub credential_for: Option<Arc<str>>,
    /// The login name the lure names.
    pub user: Option<Arc<str>>,
}

/// The fleet key and the catalogue: everything a decoy needs to recognise honeytokens.
#[derive(Clone, Debug)]
pub struct Honeytokens {
    key: FleetKey,
    lures: Arc<HashMap<LureId, LureInfo>>,
}

/// A recognised honeytoken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Match {
    /// The lure id the token carries.
    pub id: LureId,
    /// The lure, when it is in this sensor's catalogue.
    pub lure: Option<LureInfo>,
}

impl Match {
    /// The touch recording this token's use.
    pub fn used(
        &self,
        via: crate::touch::HoneytokenVia,
        username: Option<&str>,
        accepted: bool,
    ) -> crate::touch::HoneytokenUsed {
        let lure = self.lure.as_ref();
        crate::touch::HoneytokenUsed {
            lure_id: self.id.to_string(),
            lure: lure.map(|l| l.name.to_string()),
            owner: lure.map(|l| l.owner.to_string()),
            planted_by: lure.map(|l| l.host.to_string()),
            via,
            username: username.map(|u| crate::touch::clip(u, crate::touch::MAX_FIELD)),
            accepted,
        }
    }

    /// Logs the use: an honest user never holds a honeytoken, so this is a warning.
    pub fn log(&self, peer: std::net::SocketAddr, username: Option<&str>) {
        let lure = self.lure.as_ref();
        tracing::warn!(
            peer = %peer,
            lure_id = %self.id,
            lure = lure.map(|l| &*l.name),
            owner = lure.map(|l| &*l.owner),
            user = ?username.unwrap_or(""),
            "honeytoken used"
        );
    }
}

impl Honeytokens {
    /// Recognition with `key` over the catalogue `lures`.
    pub fn new(key: FleetKey, lures: impl IntoIterator<Item = LureInfo>) -> Honeytokens {
        let lures = lures
            .into_iter()
            .map(|l| (key.lure_id(&l.name), l))
            .collect();
        Honeytokens {
            key,
            lures: Arc::new(lures),
        }
    }

    /// The fleet key.
    pub fn key(&self) -> &FleetKey {
        &self.key
    }

    /// The catalogue's lures whose credential is for `decoy`.
    pub fn bound_to(&self, decoy: &str) -> Vec<LureInfo> {
        let mut v: Vec<LureInfo> = self
            .lures
            .values()
            .filter(|l| l.credential_for.as_deref() == Some(decoy))
            .cloned()
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// Whether `credential` is a token of this fleet, and whose.
    pub fn recognise(&self, credential: &str) -> Option<Match> {
        let id = self.key.recognise(credential)?;
        Some(Match {
            id,
            lure: self.lures.get(&id).cloned(),
        })
    }
}

/// The forms a honeytoken takes, each matching the credential it imitates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A generated password: 28 letters and digits.
    Password,
    /// An AWS secret access key: 40 characters of the base64 alphabet.
    AwsSecret,
    /// An API key or bearer token: 32 letters and digits.
    ApiKey,
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

impl Shape {
    /// Every shape, in the order [`FleetKey::recognise`] tries them.
    pub const ALL: [Shape; 3] = [Shape::Password, Shape::AwsSecret, Shape::ApiKey];

    fn alphabet(self) -> &'static [u8] {
        match self {
            Shape::Password | Shape::ApiKey => BASE62,
            Shape::AwsSecret => BASE64,
        }
    }

    fn len(self) -> usize {
        match self {
            Shape::Password => 28,
            Shape::AwsSecret => 40,
            Shape::ApiKey => 32,
        }
    }

    fn encode(self, core: &[u8; CORE], rng: &mut impl Rng) -> String {
        let base = self.alphabet().len() as u64;
        // Room above the core: floor(base^len / 2^160); pick a multiple uniformly below it.
        let mut space = Big::from_u64(1);
        for _ in 0..self.len() {
            space.mul_add(base, 0);
        }
        let room = space.shr(CORE * 8);
        let high = room.random_below(rng);
        let mut n = high.shl(CORE * 8);
        n.or_bytes(core);
        let mut digits = vec![0u8; self.len()];
        for d in digits.iter_mut().rev() {
            *d = self.alphabet()[n.div_rem(base) as usize];
        }
        debug_assert!(n.is_zero());
        String::from_utf8(digits).expect("ASCII alphabet")
    }

    fn decode(self, s: &str) -> Option<[u8; CORE]> {
        if s.len() != self.len() {
            return None;
        }
        let alphabet = self.alphabet();
        let mut n = Big::from_u64(0);
        for c in s.bytes() {
            let d = alphabet.iter().position(|&a| a == c)?;
            n.mul_add(alphabet.len() as u64, d as u64);
        }
        Some(n.low_bytes())
    }
}

/// Just enough unsigned big-integer arithmetic for [`Shape`]: little-endian 32-bit limbs.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Big(Vec<u32>);

impl Big {
    fn from_u64(v: u64) -> Big {
        Big(vec![v as u32, (v >> 32) as u32])
    }

    fn is_zero(&self) -> bool {
        self.0.iter().all(|&l| l == 0)
    }

    fn mul_add(&mut self, m: u64, a: u64) {
        let mut carry = a;
        for l in self.0.iter_mut() {
            let v = *l as u64 * m + carry;
            *l = v as u32;
            carry = v >> 32;
        }
        while carry > 0 {
            self.0.push(carry as u32);
            carry >>= 32;
        }
    }

    fn div_rem(&mut self, d: u64) -> u64 {
        let mut rem = 0u64;
        for l in self.0.iter_mut().rev() {
            let v = (rem << 32) | *l as u64;
            *l = (v / d) as u32;
            rem = v % d;
        }
        rem
    }

    /// `self >> bits`, for bits a multiple of 32.
    fn shr(&self, bits: usize) -> Big {
        let limbs = bits / 32;
        debug_assert_eq!(bits % 32, 0);
        Big(self.0.get(limbs..).unwrap_or(&[]).to_vec())
    }

    /// `self << bits`, for bits a multiple of 32.
    fn shl(&self, bits: usize) -> Big {
        debug_assert_eq!(bits % 32, 0);
        let mut v = vec![0u32; bits / 32];
        v.extend_from_slice(&self.0);
        Big(v)
    }

    /// ORs a big-endian byte string into the low bits.
    fn or_bytes(&mut self, bytes: &[u8; CORE]) {
        for (i, chunk) in bytes.rchunks(4).enumerate() {
            let mut w = [0u8; 4];
            w[4 - chunk.len()..].copy_from_slice(chunk);
            if self.0.len() <= i {
                self.0.resize(i + 1, 0);
            }
            self.0[i] |= u32::from_be_bytes(w);
        }
    }

    /// The low 160 bits, big-endian.
    fn low_bytes(&self) -> [u8; CORE] {
        let mut out = [0u8; CORE];
        for i in 0..CORE / 4 {
            let l = self.0.get(i).copied().unwrap_or(0);
            out[CORE - 4 * (i + 1)..CORE - 4 * i].copy_from_slice(&l.to_be_bytes());
        }
        out
    }

    fn bits(&self) -> usize {
        for (i, &l) in self.0.iter().enumerate().rev() {
            if l != 0 {
                return i * 32 + 32 - l.leading_zeros() as usize;
            }
        }
        0
    }

    fn less_than(&self, other: &Big) -> bool {
        let n = self.0.len().max(other.0.len());
        for i in (0..n).rev() {
            let (a, b) = (
                self.0.get(i).copied().unwrap_or(0),
                other.0.get(i).copied().unwrap_or(0),
            );
            if a != b {
                return a < b;
            }
        }
        false
    }

    /// Uniform in `[0, self)`, by rejection; `self` is at least 1.
    fn random_below(&self, rng: &mut impl Rng) -> Big {
        let bits = self.bits();
        loop {
            let mut v: Vec<u32> = (0..bits.div_ceil(32)).map(|_| rng.random()).collect();
            if !bits.is_multiple_of(32)
                && let Some(top) = v.last_mut()
            {
                *top &= (1u32 << (bits % 32)) - 1;
            }
            let candidate = Big(v);
            if candidate.less_than(self) {
                return candidate;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn rng() -> rand::rngs::StdRng {
        rand::rngs::StdRng::seed_from_u64(42)
    }

    #[test]
    fn every_shape_round_trips_and_looks_like_what_it_imitates() {
        let key = FleetKey::new(b"a fleet secret of 32 bytes......");
        let id = key.lure_id("alice-aws");
        let mut rng = rng();
        for shape in Shape::ALL {
            for _ in 0..200 {
                let t = key.mint(id, shape, &mut rng);
                assert_eq!(t.len(), shape.len(), "{t}");
                assert!(t.bytes().all(|c| shape.alphabet().contains(&c)), "{t}");
                assert_eq!(key.recognise(&t), Some(id), "{shape:?} {t}");
            }
        }
    }

    #[test]
    fn credentials_are_unique_and_hide_their_lure() {
        let key = FleetKey::new(&[7; 32]);
        let id = key.lure_id("alice-notes");
        let mut rng = rng();
        let a = key.mint(id, Shape::Password, &mut rng);
        let b = key.mint(id, Shape::Password, &mut rng);
        assert_ne!(a, b);
        // No shared prefix or suffix betrays that both belong to one lure.
        assert_ne!(a[..4], b[..4]);
        assert_ne!(a[a.len() - 4..], b[b.len() - 4..]);
    }

    #[test]
    fn the_first_character_is_spread_over_the_whole_alphabet() {
        // A bare 160-bit number in 28 base-62 digits would always start with 0 or 1.
        let key = FleetKey::new(&[9; 32]);
        let id = key.lure_id("x");
        let mut rng = rng();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..2000 {
            seen.insert(key.mint(id, Shape::Password, &mut rng).as_bytes()[0]);
        }
        assert!(seen.len() > 55, "{} first characters seen", seen.len());
    }

    #[test]
    fn another_fleet_secret_and_forgeries_are_not_recognised() {
        let ours = FleetKey::new(&[1; 32]);
        let theirs = FleetKey::new(&[2; 32]);
        let mut rng = rng();
        let t = ours.mint(ours.lure_id("alice"), Shape::Password, &mut rng);
        assert_eq!(theirs.recognise(&t), None);
        // Right shape, every single-character change: none verifies.
        for i in 0..t.len() {
            let mut b = t.clone().into_bytes();
            b[i] = if b[i] == b'a' { b'b' } else { b'a' };
            let forged = String::from_utf8(b).unwrap();
            assert_eq!(ours.recognise(&forged), None, "{forged}");
        }
        // Random strings of every shape.
        for shape in Shape::ALL {
            for _ in 0..500 {
                let s: String = (0..shape.len())
                    .map(|_| shape.alphabet()[rng.random_range(0..shape.alphabet().len())] as char)
                    .collect();
                assert_eq!(ours.recognise(&s), None);
            }
        }
        for s in [
            "",
            "hunter2",
            "Winter2024!",
            &"A".repeat(28),
            &"é".repeat(14),
        ] {
            assert_eq!(ours.recognise(s), None, "{s}");
        }
    }

    #[test]
    fn lure_ids_depend_on_name_and_secret_only() {
        let a = FleetKey::new(&[1; 32]);
        assert_eq!(a.lure_id("alice"), FleetKey::new(&[1; 32]).lure_id("alice"));
        assert_ne!(a.lure_id("alice"), a.lure_id("bob"));
        assert_ne!(a.lure_id("alice"), FleetKey::new(&[2; 32]).lure_id("alice"));
        assert_eq!(format!("{}", LureId(0xab)), "00000000000000ab");
    }

    #[test]
    fn the_catalogue_names_the_lure_and_an_unknown_lure_keeps_its_id() {
        let key = FleetKey::new(&[3; 32]);
        let info = LureInfo {
            name: "alice-notes".into(),
            owner: "alice@example.com".into(),
            host: "alice-laptop".into(),
            credential_for: Some("ssh".into()),
            user: Some("deploy".into()),
        };
        let h = Honeytokens::new(key.clone(), [info.clone()]);
        let mut rng = rng();
        let t = key.mint(key.lure_id("alice-notes"), Shape::Password, &mut rng);
        assert_eq!(h.recognise(&t).unwrap().lure, Some(info));
        let other = key.mint(key.lure_id("not-in-catalogue"), Shape::ApiKey, &mut rng);
        let m = h.recognise(&other).unwrap();
        assert_eq!(m.id, key.lure_id("not-in-catalogue"));
        assert_eq!(m.lure, None);
    }

    #[test]
    fn secrets_are_read_as_hex_base64_or_bytes() {
        assert_eq!(decode_secret(b"00ff10\n"), vec![0, 255, 16]);
        assert_eq!(decode_secret(b"AAEC/w=="), vec![0, 1, 2, 255]);
        assert_eq!(decode_secret(b"\x00\x01 raw"), b"\x00\x01 raw".to_vec());
    }
}
