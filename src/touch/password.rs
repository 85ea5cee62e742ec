//! Passwords typed at decoys. A real employee who mistypes a host name must not leak a real
//! password into our store, so by default a password is kept only as a keyed hash (HMAC-SHA256
//! with the per-sensor secret, truncated to 128 bits) plus its length and character classes:
//! enough to see that the same password was tried twice or from two places, and what kind of
//! password it was, but not to recover it, even offline against a word list, without the
//! secret. `capture_passwords: plaintext` keeps the text for labs.

use std::fmt;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::config::CapturePasswords;

/// Longest password kept in lab mode, in bytes.
const MAX_PLAINTEXT: usize = 256;

/// A captured password as stored.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Password {
    /// Hex HMAC-SHA256 of the password under the sensor secret, first 16 bytes.
    pub hmac: String,
    /// The password itself, only with `capture_passwords: plaintext`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plaintext: Option<String>,
    /// Length in characters.
    pub length: u32,
    /// Which kinds of characters it contains.
    pub classes: Vec<CharClass>,
}

/// Kinds of characters in a password.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CharClass {
    /// a-z
    Lower,
    /// A-Z
    Upper,
    /// 0-9
    Digit,
    /// Printable ASCII punctuation and space.
    Symbol,
    /// Anything else (non-ASCII, control characters).
    Other,
}

/// Turns typed passwords into [`Password`] records.
#[derive(Clone)]
pub struct PasswordHasher {
    /// Keyed once: each capture starts from a copy, saving the two key blocks' hashing.
    mac: Hmac<Sha256>,
    mode: CapturePasswords,
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("key", &"[redacted]")
            .field("mode", &self.mode)
            .finish()
    }
}

impl PasswordHasher {
    /// A hasher keyed with the per-sensor secret.
    pub fn new(key: [u8; 32], mode: CapturePasswords) -> Self {
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("any key length");
        PasswordHasher { mac, mode }
    }

    /// Captures one password.
    pub fn capture(&self, password: &str) -> Password {
        let mut mac = self.mac.clone();
        mac.update(password.as_bytes());
        let digest = mac.finalize().into_bytes();
        let hmac = crate::store::files::hex(&digest[..16]);
        let plaintext = match self.mode {
            CapturePasswords::Plaintext => Some(super::clip(password, MAX_PLAINTEXT)),
            CapturePasswords::Hashed => None,
        };
        Password {
            hmac,
            plaintext,
            length: password.chars().count().min(u32::MAX as usize) as u32,
            classes: classes(password),
        }
    }
}

fn classes(s: &str) -> Vec<CharClass> {
    let mut seen = [false; 5];
    for c in s.chars() {
        let class = match c {
            'a'..='z' => CharClass::Lower,
            'A'..='Z' => CharClass::Upper,
            '0'..='9' => CharClass::Digit,
            ' '..='~' => CharClass::Symbol,
            _ => CharClass::Other,
        };
        seen[class as usize] = true;
    }
    [
        CharClass::Lower,
        CharClass::Upper,
        CharClass::Digit,
        CharClass::Symbol,
        CharClass::Other,
    ]
    .into_iter()
    .filter(|c| seen[*c as usize])
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_by_default_and_keyed() {
        let a = PasswordHasher::new([1; 32], CapturePasswords::Hashed);
        let b = PasswordHasher::new([2; 32], CapturePasswords::Hashed);
        let p = a.capture("Winter2024!");
        assert_eq!(p.plaintext, None);
        assert_eq!(p.length, 11);
        assert_eq!(
            p.classes,
            vec![
                CharClass::Lower,
                CharClass::Upper,
                CharClass::Digit,
                CharClass::Symbol
            ]
        );
        // HMAC-SHA256 under the key, first 16 bytes in hex (as Python's hmac module gives).
        assert_eq!(p.hmac, "95e01b6ce37e0cddfea84012aae5be9c");
        // Same password, same key: same hash; another sensor's key: another hash.
        assert_eq!(a.capture("Winter2024!").hmac, p.hmac);
        assert_ne!(b.capture("Winter2024!").hmac, p.hmac);
    }

    #[test]
    fn plaintext_only_in_lab_mode() {
        let h = PasswordHasher::new([1; 32], CapturePasswords::Plaintext);
        assert_eq!(h.capture("hunter2").plaintext.as_deref(), Some("hunter2"));
    }

    #[test]
    fn debug_never_shows_the_key() {
        let h = PasswordHasher::new([0xab; 32], CapturePasswords::Hashed);
        let d = format!("{h:?}");
        assert!(d.contains("redacted") && !d.contains("171"));
    }

    #[test]
    fn non_ascii_counts_as_other() {
        let h = PasswordHasher::new([1; 32], CapturePasswords::Hashed);
        let p = h.capture("pässwörd");
        assert_eq!(p.length, 8);
        assert_eq!(p.classes, vec![CharClass::Lower, CharClass::Other]);
    }
}
