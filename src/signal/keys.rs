//! Signing keys for Security Event Tokens: RSA 2048, made on first run in
//! `data_dir/signing/`, one PKCS#8 file per key (mode 0600) and `keys.json` saying which key
//! signs and when each was retired. A key's `kid` is its RFC 7638 thumbprint. `rotate` makes
//! a new key the signer; a retired key stays in the JWKS for the overlap, and for as long as any
//! token waiting in the outbox carries its `kid` (a receiver must still verify it).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::store::files;
use crate::touch::Timestamp;

/// Folder of the signing keys in the data dir.
pub const DIR: &str = "signing";
const INDEX: &str = "keys.json";

/// One key's entry in `keys.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEntry {
    /// RFC 7638 thumbprint.
    pub kid: String,
    /// When it was made.
    pub created_at: Timestamp,
    /// When another key took over signing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<Timestamp>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Index {
    keys: Vec<KeyEntry>,
}

/// A public key as published.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Always `RSA`.
    pub kty: String,
    /// The thumbprint.
    pub kid: String,
    /// Always `sig`.
    #[serde(rename = "use")]
    pub use_: String,
    /// Always `RS256`.
    pub alg: String,
    /// Modulus, base64url.
    pub n: String,
    /// Exponent, base64url.
    pub e: String,
}

/// The signing keys.
pub struct KeyRing {
    dir: PathBuf,
    keys: Vec<(KeyEntry, RsaKeyPair)>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.keys.iter().map(|(e, _)| e.kid.as_str()).collect();
        f.debug_struct("KeyRing").field("kids", &kids).finish()
    }
}

fn jwk_of(kid: &str, key: &RsaKeyPair) -> Jwk {
    let p = key.public_key();
    Jwk {
        kty: "RSA".into(),
        kid: kid.into(),
        use_: "sig".into(),
        alg: "RS256".into(),
        n: B64.encode(p.modulus().big_endian_without_leading_zero()),
        e: B64.encode(p.exponent().big_endian_without_leading_zero()),
    }
}

/// RFC 7638: SHA-256 of the required members in lexicographic order, no whitespace.
pub fn thumbprint(n_b64: &str, e_b64: &str) -> String {
    let canonical = format!(r#"{{"e":"{e_b64}","kty":"RSA","n":"{n_b64}"}}"#);
    B64.encode(Sha256::digest(canonical.as_bytes()))
}

impl KeyRing {
    /// Loads the keys in `data_dir`, making the first one if there is none.
    pub fn load_or_create(data_dir: &Path) -> anyhow::Result<KeyRing> {
        let dir = data_dir.join(DIR);
        if !dir.exists() {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        }
        let index_path = dir.join(INDEX);
        let index: Index = match std::fs::read(&index_path) {
            Ok(b) => serde_json::from_slice(&b)
                .with_context(|| format!("{} is not a key index", index_path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Index::default(),
            Err(e) => return Err(e).context(format!("cannot read {}", index_path.display())),
        };
        let mut ring = KeyRing {
            dir,
            keys: Vec::new(),
        };
        for entry in index.keys {
            let path = ring.key_path(&entry.kid);
            let der = std::fs::read(&path)
                .with_context(|| format!("cannot read signing key {}", path.display()))?;
            let key = RsaKeyPair::from_pkcs8(&der)
                .map_err(|e| anyhow::anyhow!("{} is not an RSA key: {e}", path.display()))?;
            let kid = jwk_of(&entry.kid, &key);
            if thumbprint(&kid.n, &kid.e) != entry.kid {
                bail!("{} does not hold the key {} names", path.display(), INDEX);
            }
            ring.keys.push((entry, key));
        }
        if ring.keys.is_empty() {
            ring.add_key()?;
        }
        Ok(ring)
    }

    fn key_path(&self, kid: &str) -> PathBuf {
        self.dir.join(format!("{kid}.p8"))
    }

    fn add_key(&mut self) -> anyhow::Result<String> {
        let key = RsaKeyPair::generate(KeySize::Rsa2048)
            .map_err(|_| anyhow::anyhow!("cannot generate an RSA key"))?;
        let der = key
            .as_der()
            .map_err(|_| anyhow::anyhow!("cannot encode the RSA key"))?;
        let jwk = jwk_of("", &key);
        let kid = thumbprint(&jwk.n, &jwk.e);
        files::write_private(&self.key_path(&kid), der.as_ref())?;
        let now = Timestamp::now();
        for (e, _) in self.keys.iter_mut() {
            e.retired_at.get_or_insert(now);
        }
        self.keys.push((
            KeyEntry {
                kid: kid.clone(),
                created_at: now,
                retired_at: None,
            },
            key,
        ));
        self.save()?;
        Ok(kid)
    }

    fn save(&self) -> anyhow::Result<()> {
        let index = Index {
            keys: self.keys.iter().map(|(e, _)| e.clone()).collect(),
        };
        files::write_private(
            &self.dir.join(INDEX),
            &serde_json::to_vec_pretty(&index).expect("index serializes"),
        )
    }

    /// Makes a new key the signer; returns its kid.
    pub fn rotate(&mut self) -> anyhow::Result<String> {
        self.add_key()
    }

    /// The signing key's kid.
    pub fn current(&self) -> &str {
        &self.keys.last().expect("a ring always has a key").0.kid
    }

    /// Signs `input` with the current key: (kid, signature).
    pub fn sign(&self, input: &[u8]) -> (String, Vec<u8>) {
        let (entry, key) = self.keys.last().expect("a ring always has a key");
        let mut sig = vec![0u8; key.public_modulus_len()];
        key.sign(
            &RSA_PKCS1_SHA256,
            &aws_lc_rs::rand::SystemRandom::new(),
            input,
            &mut sig,
        )
        .expect("RSA signing of a bounded message does not fail");
        (entry.kid.clone(), sig)
    }

    /// The published keys: the signer, every key retired less than `overlap` ago, and every
    /// key in `pending` (kids of tokens still waiting for delivery).
    pub fn jwks(&self, overlap: Duration, pending: &[String]) -> serde_json::Value {
        let now = Timestamp::now().micros();
        let keys: Vec<Jwk> = self
            .keys
            .iter()
            .filter(|(e, _)| match e.retired_at {
                None => true,
                Some(r) => {
                    now.saturating_sub(r.micros()) < overlap.as_micros() as u64
                        || pending.contains(&e.kid)
                }
            })
            .map(|(e, k)| jwk_of(&e.kid, k))
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// Every key's entry, oldest first.
    pub fn entries(&self) -> Vec<KeyEntry> {
        self.keys.iter().map(|(e, _)| e.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};

    fn verify(jwk: &serde_json::Value, msg: &[u8], sig: &[u8]) -> bool {
        let n = B64.decode(jwk["n"].as_str().unwrap()).unwrap();
        let e = B64.decode(jwk["e"].as_str().unwrap()).unwrap();
        RsaPublicKeyComponents {
            n: &n[..],
            e: &e[..],
        }
        .verify(&RSA_PKCS1_2048_8192_SHA256, msg, sig)
        .is_ok()
    }

    #[test]
    fn the_rfc_7638_example_thumbprint() {
        // RFC 7638 section 3.1.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        assert_eq!(
            thumbprint(n, "AQAB"),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn keys_are_made_once_private_and_rotated_with_overlap() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let ring = KeyRing::load_or_create(dir.path()).unwrap();
        let first = ring.current().to_string();
        let key_file = dir.path().join(DIR).join(format!("{first}.p8"));
        assert_eq!(
            std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let again = KeyRing::load_or_create(dir.path()).unwrap();
        assert_eq!(again.current(), first);

        let (kid, sig) = again.sign(b"header.claims");
        assert_eq!(kid, first);
        let jwks = again.jwks(Duration::from_secs(3600), &[]);
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
        let k = &jwks["keys"][0];
        assert_eq!(
            (k["kty"].as_str(), k["use"].as_str(), k["alg"].as_str()),
            (Some("RSA"), Some("sig"), Some("RS256"))
        );
        assert_eq!(k["kid"], first.as_str());
        assert_eq!(
            thumbprint(k["n"].as_str().unwrap(), k["e"].as_str().unwrap()),
            first
        );
        assert_eq!(
            B64.decode(k["n"].as_str().unwrap()).unwrap().len(),
            256,
            "RSA 2048"
        );
        assert!(verify(k, b"header.claims", &sig));
        assert!(!verify(k, b"header.claimz", &sig));

        let mut ring = again;
        let second = ring.rotate().unwrap();
        assert_ne!(second, first);
        assert_eq!(ring.current(), second);
        let both = ring.jwks(Duration::from_secs(3600), &[]);
        assert_eq!(both["keys"].as_array().unwrap().len(), 2);
        // After the overlap only the signer is published, unless a pending token needs the old.
        let after = ring.jwks(Duration::ZERO, &[]);
        assert_eq!(after["keys"].as_array().unwrap().len(), 1);
        assert_eq!(after["keys"][0]["kid"], second.as_str());
        let pending = ring.jwks(Duration::ZERO, std::slice::from_ref(&first));
        assert_eq!(pending["keys"].as_array().unwrap().len(), 2);
        let reloaded = KeyRing::load_or_create(dir.path()).unwrap();
        assert_eq!(reloaded.current(), second);
        assert_eq!(reloaded.entries().len(), 2);
    }
}
