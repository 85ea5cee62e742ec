//! Planting a lure, and checking that it is still what was planted.
//!
//! Planting never overwrites: the file is written under a temporary name in its folder and
//! then hard-linked to its path, which fails if anything is there; a file decoyd has no record
//! of, or one changed since it was planted, is refused with the reason. Checking compares the
//! file's identity and metadata first and reads it only when they changed, so the periodic
//! check does not itself look like someone reading the lure.

use std::fmt;
use std::fs::{self, File, FileTimes, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rand::Rng;
use sha2::{Digest, Sha256};

use super::template::Fill;
use super::{LureSettings, Target};
use crate::honeytoken::FleetKey;
use crate::store::{FileState, PlantedLure, PlantedTarget};
use crate::touch::Timestamp;

/// Largest lure file read back for checking.
const MAX_READ: u64 = 1 << 20;

pub use crate::store::LureState;

/// Why a lure was not planted.
#[derive(Debug)]
pub enum PlantError {
    /// A file decoyd did not create is at the path.
    Foreign(PathBuf),
    /// The lure decoyd planted there has changed since.
    Changed(PathBuf, LureState),
    /// Writing there, or giving the file its owner, needs rights this process lacks.
    Privilege(PathBuf, io::Error),
    /// Anything else.
    Io(PathBuf, io::Error),
}

impl fmt::Display for PlantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlantError::Foreign(p) => write!(
                f,
                "refusing to plant at {}: a file decoyd did not create is there (decoyd never overwrites one; move it away or choose another path)",
                p.display()
            ),
            PlantError::Changed(p, s) => write!(
                f,
                "refusing to plant at {}: the lure decoyd planted there is {s} since (inspect it; remove it to plant afresh)",
                p.display()
            ),
            PlantError::Privilege(p, e) => write!(
                f,
                "cannot plant at {}: {e} (planting into another user's folder needs root or that user: run `decoyd lures plant` as root)",
                p.display()
            ),
            PlantError::Io(p, e) => write!(f, "cannot plant at {}: {e}", p.display()),
        }
    }
}

impl std::error::Error for PlantError {}

/// What planting needs besides the lure's settings.
pub struct PlantContext<'a> {
    /// The lure's name.
    pub name: &'a str,
    /// The fleet key that mints its tokens.
    pub key: &'a FleetKey,
    /// This sensor.
    pub sensor: &'a str,
    /// What the file names.
    pub target: Target,
}

/// Plants the lure unless it is already there. `existing` is the store's record of an
/// earlier planting. Returns the new record, or `None` when the planted file is intact.
pub fn plant(
    lure: &LureSettings,
    cx: &PlantContext,
    existing: Option<&PlantedLure>,
) -> Result<Option<PlantedLure>, PlantError> {
    let path = &lure.path;
    match (fs::symlink_metadata(path), existing) {
        (Err(e), _) if e.kind() == io::ErrorKind::NotFound => {}
        (Err(e), _) => return Err(classify(path, e)),
        (Ok(_), None) => return Err(PlantError::Foreign(path.clone())),
        (Ok(_), Some(rec)) => {
            if rec.path != path.to_string_lossy() {
                return Err(PlantError::Foreign(path.clone()));
            }
            return match check(rec).state {
                LureState::Intact => Ok(None),
                state => Err(PlantError::Changed(path.clone(), state)),
            };
        }
    }
    let dir = path
        .parent()
        .ok_or_else(|| PlantError::Io(path.clone(), io::Error::other("no parent folder")))?;
    let (uid, gid) = match lure.file_owner {
        Some((uid, gid)) => (uid, gid.unwrap_or_else(|| nearest_dir_owner(dir).1)),
        None => nearest_dir_owner(dir),
    };
    make_dirs(dir, uid, gid).map_err(|e| classify(dir, e))?;

    let mut rng = rand::rng();
    let key = cx.key;
    let id = key.lure_id(cx.name);
    let rendered = lure.template.render(
        key,
        id,
        &Fill {
            host: &cx.target.host,
            port: cx.target.port,
            user: &cx.target.user,
            owner: &lure.owner,
        },
        &mut rng,
    );
    let mode = lure.mode.unwrap_or(lure.template.default_mode);
    let age = lure.age.unwrap_or_else(|| {
        Duration::from_secs(rng.random_range(20..=300) * 86_400 + rng.random_range(0..86_400))
    });
    let mtime = SystemTime::now()
        .checked_sub(age)
        .unwrap_or(SystemTime::UNIX_EPOCH);

    let file_name = path
        .file_name()
        .ok_or_else(|| PlantError::Io(path.clone(), io::Error::other("no file name")))?;
    let tmp = dir.join(format!(
        ".{}.{:08x}.tmp",
        file_name.to_string_lossy(),
        rng.random::<u32>()
    ));
    // The state is taken from the open file and the bytes written, not by reading the lure
    // back: a running daemon watching the folder would see that read as someone's.
    let write = || -> io::Result<File> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(O_NOFOLLOW)
            .open(&tmp)?;
        f.write_all(rendered.text.as_bytes())?;
        std::os::unix::fs::fchown(&f, Some(uid), Some(gid))?;
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        f.set_times(FileTimes::new().set_modified(mtime).set_accessed(mtime))?;
        f.sync_all()?;
        // Linking fails if anything has appeared at the path meanwhile: never overwrite.
        fs::hard_link(&tmp, path)?;
        Ok(f)
    };
    let written = write();
    // The temporary name is ours alone (created exclusively above): always remove it.
    let _ = fs::remove_file(&tmp);
    // Metadata from the open file, once the links are final: linking and unlinking change
    // the inode's ctime, which the checks compare.
    let file = match written.and_then(|f| f.metadata()) {
        Ok(m) => state_of(&m, &Sha256::digest(rendered.text.as_bytes())),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(PlantError::Foreign(path.clone()));
        }
        Err(e) => return Err(classify(path, e)),
    };
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(Some(PlantedLure {
        lure: cx.name.to_string(),
        lure_id: id.to_string(),
        owner: lure.owner.to_string(),
        sensor: cx.sensor.to_string(),
        path: path.to_string_lossy().into_owned(),
        planted_at: Timestamp::now(),
        template: lure.template.name.clone(),
        credential_for: lure.credential_for.as_deref().map(String::from),
        target: PlantedTarget {
            host: cx.target.host.clone(),
            port: cx.target.port,
            user: cx.target.user.clone(),
        },
        credentials: rendered
            .tokens
            .iter()
            .map(|(v, _)| v.name().to_string())
            .collect(),
        file,
        state: LureState::Intact,
    }))
}

/// `O_NOFOLLOW` on Linux: the temporary name must never resolve through a link.
const O_NOFOLLOW: i32 = 0o400000;

fn classify(path: &Path, e: io::Error) -> PlantError {
    match e.kind() {
        io::ErrorKind::PermissionDenied => PlantError::Privilege(path.to_path_buf(), e),
        _ if e.raw_os_error() == Some(1) => PlantError::Privilege(path.to_path_buf(), e),
        _ => PlantError::Io(path.to_path_buf(), e),
    }
}

/// The owner of the nearest existing folder at or above `dir`: planting into
/// `/home/alice/.aws` gives the file (and `.aws`) to alice.
fn nearest_dir_owner(dir: &Path) -> (u32, u32) {
    let mut d = Some(dir);
    while let Some(p) = d {
        if let Ok(m) = fs::metadata(p) {
            return (m.uid(), m.gid());
        }
        d = p.parent();
    }
    (0, 0)
}

/// Creates the missing folders down to `dir`, private to the file's owner.
fn make_dirs(dir: &Path, uid: u32, gid: u32) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        make_dirs(parent, uid, gid)?;
    }
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => std::os::unix::fs::chown(dir, Some(uid), Some(gid)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// The file at `path` as it is now, its contents hashed. Does not follow a link.
pub fn file_state(path: &Path) -> io::Result<FileState> {
    let m = fs::symlink_metadata(path)?;
    let mut f = OpenOptions::new()
        .read(true)
        .custom_flags(O_NOFOLLOW)
        .open(path)?;
    let mut h = Sha256::new();
    let mut buf = [0u8; 8192];
    let mut left = MAX_READ;
    while left > 0 {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        left = left.saturating_sub(n as u64);
    }
    Ok(state_of(&m, &h.finalize()))
}

fn state_of(m: &fs::Metadata, sha256: &[u8]) -> FileState {
    FileState {
        dev: m.dev(),
        ino: m.ino(),
        size: m.size(),
        mtime_ns: mtime_ns(m),
        ctime_ns: ctime_ns(m),
        mode: m.mode() & 0o7777,
        uid: m.uid(),
        gid: m.gid(),
        sha256: crate::store::files::hex(sha256),
    }
}

fn mtime_ns(m: &fs::Metadata) -> i128 {
    m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128
}

fn ctime_ns(m: &fs::Metadata) -> i128 {
    m.ctime() as i128 * 1_000_000_000 + m.ctime_nsec() as i128
}

/// What a check found.
#[derive(Debug, PartialEq, Eq)]
pub struct Checked {
    /// Where the lure stands.
    pub state: LureState,
    /// Whether finding out needed reading the file (the watcher is then told to expect
    /// that open).
    pub read: bool,
    /// The same contents with new metadata (a `touch`, a `chmod`): the record's new baseline,
    /// so later checks need not read the file again.
    pub baseline: Option<FileState>,
}

/// Where the planted lure stands now. Without reading the file when its inode, size, mtime
/// and ctime are what was recorded: nobody can set a ctime, so contents changed behind a
/// restored mtime are still read and compared.
pub fn check(rec: &PlantedLure) -> Checked {
    let done = |state, read| Checked {
        state,
        read,
        baseline: None,
    };
    let path = Path::new(&rec.path);
    let m = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(_) => return done(LureState::Missing, false),
    };
    if !m.file_type().is_file() {
        return done(LureState::Replaced, false);
    }
    let p = &rec.file;
    let same_file = m.dev() == p.dev && m.ino() == p.ino;
    if same_file && m.size() == p.size && mtime_ns(&m) == p.mtime_ns && ctime_ns(&m) == p.ctime_ns {
        return done(LureState::Intact, false);
    }
    match file_state(path) {
        Ok(now) if now.sha256 != p.sha256 => done(LureState::Modified, true),
        Ok(now) if same_file => Checked {
            state: LureState::Intact,
            read: true,
            baseline: Some(now),
        },
        Ok(_) => done(LureState::Replaced, true),
        // Unreadable now: not what was planted, and no open for the watcher to expect.
        Err(_) => done(LureState::Replaced, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decoy::lure::{Builtin, LureTemplate, TargetSpec};
    use std::sync::Arc;

    fn lure(path: &Path) -> LureSettings {
        LureSettings {
            host: "h".into(),
            path: path.to_path_buf(),
            owner: Arc::from("alice@example.com"),
            template: LureTemplate::builtin(Builtin::Netrc),
            credential_for: None,
            target: TargetSpec::default(),
            mode: None,
            file_owner: None,
            age: Some(Duration::from_secs(86_400)),
        }
    }

    fn cx(key: &FleetKey) -> PlantContext<'_> {
        PlantContext {
            name: "alice-netrc",
            key,
            sensor: "h",
            target: Target {
                host: "git.corp.example".into(),
                port: 443,
                user: "alice".into(),
            },
        }
    }

    #[test]
    fn a_planted_lure_is_intact_until_it_is_edited_replaced_or_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/.netrc");
        let key = FleetKey::new(&[4; 32]);
        let l = lure(&path);
        let rec = plant(&l, &cx(&key), None).unwrap().unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::metadata(dir.path().join("sub"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o700
        );
        assert_eq!(rec.credentials, ["password"]);
        let sr = |c: Checked| (c.state, c.read);
        assert_eq!(sr(check(&rec)), (LureState::Intact, false));
        // Planting again: nothing to do.
        assert!(plant(&l, &cx(&key), Some(&rec)).unwrap().is_none());

        // A new mtime alone: read to be sure, still intact.
        let f = File::options().write(true).open(&path).unwrap();
        f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000))
            .unwrap();
        let checked = check(&rec);
        assert_eq!((checked.state, checked.read), (LureState::Intact, true));
        // ... and the new metadata is the baseline: the next check does not read it.
        let mut rec = rec;
        rec.file = checked.baseline.expect("a new baseline");
        assert_eq!(sr(check(&rec)), (LureState::Intact, false));
        // New contents behind a restored mtime: the ctime gives it away.
        let planted = fs::read(&path).unwrap();
        let mut forged = planted.clone();
        forged[0] ^= 1;
        fs::write(&path, &forged).unwrap();
        let f = File::options().write(true).open(&path).unwrap();
        f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_nanos(rec.file.mtime_ns as u64))
            .unwrap();
        assert_eq!(sr(check(&rec)), (LureState::Modified, true));
        fs::write(&path, &planted).unwrap();
        let checked = check(&rec);
        assert_eq!(sr(checked), (LureState::Intact, true));

        // The same contents under a new inode: replaced.
        let text = fs::read(&path).unwrap();
        fs::remove_file(&path).unwrap();
        assert_eq!(sr(check(&rec)), (LureState::Missing, false));
        fs::write(&path, &text).unwrap();
        assert_eq!(check(&rec).state, LureState::Replaced);
        // Other contents: modified; and planting refuses to touch it.
        fs::write(&path, b"machine x login y password z\n").unwrap();
        assert_eq!(check(&rec).state, LureState::Modified);
        let e = plant(&l, &cx(&key), Some(&rec)).unwrap_err();
        assert!(
            matches!(e, PlantError::Changed(_, LureState::Modified)),
            "{e}"
        );
        assert_eq!(fs::read(&path).unwrap(), b"machine x login y password z\n");
        // A link where the lure was: replaced, never followed.
        fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", &path).unwrap();
        assert_eq!(sr(check(&rec)), (LureState::Replaced, false));
    }

    #[test]
    fn a_file_or_link_decoyd_did_not_create_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let key = FleetKey::new(&[4; 32]);
        let path = dir.path().join(".netrc");
        fs::write(&path, b"theirs").unwrap();
        let e = plant(&lure(&path), &cx(&key), None).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("refusing to plant at {}", path.display()))
        );
        assert_eq!(fs::read(&path).unwrap(), b"theirs");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &link).unwrap();
        assert!(matches!(
            plant(&lure(&link), &cx(&key), None),
            Err(PlantError::Foreign(_))
        ));
        assert!(!dir.path().join("nowhere").exists());
        // No temporary file is left behind either time.
        let left: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 2, "{left:?}");
    }
}
