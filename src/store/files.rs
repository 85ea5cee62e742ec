//! The data directory and the secrets that live beside the database: the per-sensor secret
//! (keys password hashes) and the admin API token. The directory is mode 0700 and each secret
//! is a file of its own with mode 0600, outside sled's files, created atomically (write to a
//! temporary file, then rename) so a crash never leaves a half-written secret.

use std::fmt;
use std::fs::{self, DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// File name of the per-sensor secret.
pub const SENSOR_SECRET: &str = "sensor.key";
/// File name of the admin bearer token.
pub const ADMIN_TOKEN: &str = "admin.token";
/// File where `run` writes the admin address it actually bound.
pub const ADMIN_ADDR: &str = "admin.addr";
/// Folder of the sled database.
pub const DB_DIR: &str = "store";

/// Creates the data directory (mode 0700) or tightens an existing one to 0700.
pub fn ensure_data_dir(dir: &Path) -> anyhow::Result<()> {
    if !dir.exists() {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create data dir {}", dir.display()))?;
    }
    let meta =
        fs::metadata(dir).with_context(|| format!("cannot read data dir {}", dir.display()))?;
    if !meta.is_dir() {
        bail!("data dir {} is not a folder", dir.display());
    }
    if meta.permissions().mode() & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot make data dir {} private (0700)", dir.display()))?;
    }
    Ok(())
}

/// 32 random bytes that key the hashes of typed passwords. Never logged.
#[derive(Clone)]
pub struct SensorSecret(pub [u8; 32]);

impl fmt::Debug for SensorSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SensorSecret([redacted])")
    }
}

impl SensorSecret {
    /// A secret value for one purpose, derived so that no two purposes share a key.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.0).expect("any key length");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// Loads the per-sensor secret, creating it on first use.
pub fn sensor_secret(dir: &Path) -> anyhow::Result<SensorSecret> {
    let path = dir.join(SENSOR_SECRET);
    let text = load_or_create_secret(&path, || hex(&rand::random::<[u8; 32]>()))?;
    let bytes = unhex(text.trim())
        .filter(|b| b.len() == 32)
        .with_context(|| format!("{} is not 64 hex digits; restore it from backup or delete it (old password hashes then no longer match)", path.display()))?;
    let mut key = [0u8; 32];
    key.copy_from_slice(&bytes);
    Ok(SensorSecret(key))
}

/// File name of this sensor's own fleet secret, used when the config names none.
pub const FLEET_SECRET: &str = "fleet.key";

/// The fleet key: from `file` when the config names one (shared by every sensor of the
/// fleet), else this sensor's own in the data dir, created on first use.
pub fn fleet_key(dir: &Path, file: Option<&Path>) -> anyhow::Result<crate::honeytoken::FleetKey> {
    match file {
        Some(f) => crate::honeytoken::FleetKey::load(f),
        None => {
            let path = dir.join(FLEET_SECRET);
            load_or_create_secret(&path, || hex(&rand::random::<[u8; 32]>()))?;
            crate::honeytoken::FleetKey::load(&path)
        }
    }
}

/// The bearer token of the admin API, creating it on first use.
pub fn admin_token(dir: &Path) -> anyhow::Result<String> {
    let path = dir.join(ADMIN_TOKEN);
    let t = load_or_create_secret(&path, || hex(&rand::random::<[u8; 32]>()))?;
    let t = t.trim().to_string();
    if t.len() < 32 {
        bail!(
            "{} holds a token shorter than 32 characters",
            path.display()
        );
    }
    Ok(t)
}

/// Refuses to open the store as anyone but the owner of the data dir: opening sled can write
/// files, and a file created by another user (say root, while the daemon runs as `decoyd`)
/// would stop the daemon from opening its own store.
pub fn check_owner(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let owner = fs::metadata(dir)
        .with_context(|| format!("cannot read data dir {}", dir.display()))?
        .uid();
    let me = effective_uid();
    if me.is_some_and(|me| me != owner) {
        bail!(
            "the data dir {} belongs to uid {owner}; run this command as that user (for example `sudo -u '#{owner}' decoyd ...`) so no file in it changes owner",
            dir.display()
        );
    }
    Ok(())
}

/// The effective uid, from /proc (no unsafe libc call needed); `None` where unavailable.
fn effective_uid() -> Option<u32> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// Reads the admin token if it exists (the CLI never creates one).
pub fn read_admin_token(dir: &Path) -> Option<String> {
    fs::read_to_string(dir.join(ADMIN_TOKEN))
        .ok()
        .map(|s| s.trim().to_string())
}

fn load_or_create_secret(path: &Path, make: impl FnOnce() -> String) -> anyhow::Result<String> {
    match fs::read_to_string(path) {
        Ok(s) => {
            let mode = fs::metadata(path)?.permissions().mode();
            if mode & 0o077 != 0 {
                fs::set_permissions(path, fs::Permissions::from_mode(0o600))
                    .with_context(|| format!("cannot make {} private (0600)", path.display()))?;
            }
            Ok(s)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let value = make();
            write_private(path, value.as_bytes())?;
            Ok(value)
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Writes a file with mode 0600 atomically: temp file, fsync, rename.
pub fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let tmp = tmp_path(path);
    let _ = fs::remove_file(&tmp);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot create {}", tmp.display()))?;
    f.write_all(contents)?;
    f.sync_all()?;
    fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

/// Decodes hex digits (either case); none for anything else.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_dir_and_secrets_are_private_and_stable() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        ensure_data_dir(&dir).unwrap();
        assert_eq!(
            fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );

        let a = sensor_secret(&dir).unwrap();
        let b = sensor_secret(&dir).unwrap();
        assert_eq!(a.0, b.0, "the secret is created once and reused");
        let mode = fs::metadata(dir.join(SENSOR_SECRET))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(format!("{a:?}"), "SensorSecret([redacted])");

        let t = admin_token(&dir).unwrap();
        assert_eq!(t, admin_token(&dir).unwrap());
        assert_eq!(read_admin_token(&dir).as_deref(), Some(t.as_str()));
        let mode = fs::metadata(dir.join(ADMIN_TOKEN))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn loose_data_dir_is_tightened() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        ensure_data_dir(&dir).unwrap();
        assert_eq!(
            fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
    }

    #[test]
    fn the_owner_of_the_data_dir_may_open_it() {
        let tmp = tempfile::tempdir().unwrap();
        check_owner(tmp.path()).unwrap();
        assert!(effective_uid().is_some());
    }

    #[test]
    fn corrupt_secret_is_an_error_not_a_new_key() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join(SENSOR_SECRET), "zz").unwrap();
        let e = sensor_secret(tmp.path()).unwrap_err().to_string();
        assert!(e.contains("not 64 hex digits"), "{e}");
    }
}
