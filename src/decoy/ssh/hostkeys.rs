//! Host keys: the key types the profile's build generates on installation, created once per
//! decoy in the data directory (`ssh/<decoy>/ssh_host_<type>_key`, OpenSSH format, mode
//! 0600, with a `.pub` beside it as sshd has) and loaded again on every start. A host key
//! that changes on restart is one of the surest signs of a honeypot.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use russh::keys::ssh_key::LineEnding;
use russh::keys::ssh_key::private::RsaKeypair;
use russh::keys::{PrivateKey, key::safe_rng};

use super::profile::HostKeyType;
use crate::store::files;

/// Largest host key file read (an RSA-16384 key in OpenSSH format is about 13 KiB).
const MAX_KEY_FILE: u64 = 64 * 1024;

/// The folder of one decoy's host keys.
pub fn dir(data_dir: &Path, decoy: &str) -> PathBuf {
    data_dir.join("ssh").join(decoy)
}

/// Loads each host key of `types` from `dir`, generating and saving the missing ones.
/// Returns them in `types` order (the order the build advertises them in).
pub fn load_or_create(dir: &Path, types: &[HostKeyType]) -> anyhow::Result<Vec<PrivateKey>> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create host key folder {}", dir.display()))?;
    types.iter().map(|&t| load_or_create_one(dir, t)).collect()
}

fn load_or_create_one(dir: &Path, t: HostKeyType) -> anyhow::Result<PrivateKey> {
    let path = dir.join(t.file_name());
    match fs::metadata(&path) {
        Ok(meta) => {
            if meta.len() > MAX_KEY_FILE {
                bail!(
                    "host key {} is too large ({} bytes)",
                    path.display(),
                    meta.len()
                );
            }
            if meta.permissions().mode() & 0o077 != 0 {
                // As sshd does, refuse a private key others can read: it may have leaked.
                bail!(
                    "host key {} is readable by other users (mode {:o}); run chmod 600 on it",
                    path.display(),
                    meta.permissions().mode() & 0o777
                );
            }
            let text = fs::read_to_string(&path)
                .with_context(|| format!("cannot read host key {}", path.display()))?;
            let key = PrivateKey::from_openssh(text.as_bytes()).with_context(|| {
                format!("host key {} is not an OpenSSH private key", path.display())
            })?;
            if key.is_encrypted() {
                bail!(
                    "host key {} is encrypted: a host key has no passphrase",
                    path.display()
                );
            }
            let want = t.algorithm();
            let have = key.algorithm();
            let same = have == want || (have.clone().is_rsa() && want.clone().is_rsa());
            if !same {
                bail!(
                    "host key {} is {}, expected {}",
                    path.display(),
                    key.algorithm(),
                    want
                );
            }
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = generate(t)?;
            let text = key
                .to_openssh(LineEnding::LF)
                .context("cannot encode a host key")?;
            files::write_private(&path, text.as_bytes())?;
            let public = key
                .public_key()
                .to_openssh()
                .context("cannot encode a host key")?;
            let pub_path = path.with_file_name(format!("{}.pub", t.file_name()));
            files::write_private(&pub_path, format!("{public}\n").as_bytes())?;
            tracing::info!(path = %path.display(), "generated a host key");
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("cannot read host key {}", path.display())),
    }
}

fn generate(t: HostKeyType) -> anyhow::Result<PrivateKey> {
    let mut rng = safe_rng();
    let key = match t {
        HostKeyType::Rsa => PrivateKey::from(
            RsaKeypair::random(&mut rng, HostKeyType::RSA_BITS)
                .context("cannot generate an RSA host key")?,
        ),
        other => {
            PrivateKey::random(&mut rng, other.algorithm()).context("cannot generate a host key")?
        }
    };
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_created_once_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let kd = dir.path().join("ssh").join("d");
        let types = [HostKeyType::Ecdsa, HostKeyType::Ed25519];
        let first = load_or_create(&kd, &types).unwrap();
        for t in types {
            let mode = fs::metadata(kd.join(t.file_name()))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(
            fs::metadata(&kd).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let again = load_or_create(&kd, &types).unwrap();
        for (a, b) in first.iter().zip(&again) {
            assert_eq!(a.public_key(), b.public_key());
        }
    }

    #[test]
    fn a_wrong_or_exposed_key_file_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        load_or_create(dir.path(), &[HostKeyType::Ed25519]).unwrap();
        // An ed25519 key where the ECDSA key belongs.
        fs::copy(
            dir.path().join("ssh_host_ed25519_key"),
            dir.path().join("ssh_host_ecdsa_key"),
        )
        .unwrap();
        fs::set_permissions(
            dir.path().join("ssh_host_ecdsa_key"),
            fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        let e = load_or_create(dir.path(), &[HostKeyType::Ecdsa]).unwrap_err();
        assert!(
            format!("{e:#}").contains("ssh_host_ecdsa_key is ssh-ed25519"),
            "{e:#}"
        );

        fs::set_permissions(
            dir.path().join("ssh_host_ed25519_key"),
            fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        let e = load_or_create(dir.path(), &[HostKeyType::Ed25519]).unwrap_err();
        assert!(
            format!("{e:#}").contains("readable by other users"),
            "{e:#}"
        );

        fs::write(dir.path().join("ssh_host_rsa_key"), "garbage").unwrap();
        fs::set_permissions(
            dir.path().join("ssh_host_rsa_key"),
            fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        let e = load_or_create(dir.path(), &[HostKeyType::Rsa]).unwrap_err();
        assert!(
            format!("{e:#}").contains("not an OpenSSH private key"),
            "{e:#}"
        );
    }
}
