//! Configuration: a main file plus a folder of decoy files, one decoy per file (the file stem
//! is the decoy's name). Raw serde types ([`raw`]) become a validated [`Config`] here, with
//! every address parsed, every path checked and every template compiled before anything binds
//! a port. All problems in all files are collected and reported together, each at
//! `file:line:col`.

pub mod error;
pub mod keys;
pub mod lure;
pub mod raw;
pub mod scoring;
pub mod signals;
pub mod ssh;
pub mod units;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_saphyr::Spanned;

pub use error::{ConfigError, ConfigErrors};
pub use raw::CapturePasswords;

use crate::decoy::http::{GenericSkin, HttpLimits, HttpSettings, PageTemplate, Skin};
use crate::decoy::{DecoyKind, DecoySpec};
use crate::store::StoreSettings;

/// Where the main file is looked for when neither `-c` nor `$DECOYD_CONFIG` names one.
pub const SYSTEM_CONFIG: &str = "/etc/decoyd/decoyd.yaml";

/// Default admin listen address.
pub const DEFAULT_ADMIN: &str = "127.0.0.1:9470";

/// Where the configuration came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A main file on disk.
    File(PathBuf),
    /// The built-in default (no config file anywhere).
    BuiltIn,
}

/// A complete, validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where it came from.
    pub origin: Origin,
    /// This sensor's id, in every touch.
    pub sensor_id: Arc<str>,
    /// Data folder (store, secrets, admin token); created 0700.
    pub data_dir: PathBuf,
    /// Admin API listen address.
    pub admin_listen: SocketAddr,
    /// How typed passwords are kept.
    pub capture_passwords: CapturePasswords,
    /// Store retention and limits.
    pub store: StoreSettings,
    /// The decoys, in file-name order: the fleet's whole catalogue, lures of other sensors
    /// included (their owners are needed to recognise their honeytokens).
    pub decoys: Vec<DecoySpec>,
    /// The fleet secret file; `None` means this sensor's own, in the data dir.
    pub fleet_secret_file: Option<PathBuf>,
    /// The host name lures name for decoys that listen on every address.
    pub advertise_host: Arc<str>,
    /// How often planted lures are checked.
    pub lure_check_every: Duration,
    /// Executables (full paths or file names) whose lure opens are not recorded.
    pub ignore_processes: Vec<String>,
    /// Weights, thresholds, noise control and listed users of scoring.
    pub scoring: crate::score::ScoringSettings,
    /// Issuer, keys and receivers of signals.
    pub signals: crate::signal::SignalSettings,
}

/// Default interval of the lure check.
pub const DEFAULT_LURE_CHECK: Duration = Duration::from_secs(60);

/// One decoy file, parsed: the decoy, the address it claims, and a lure's references to check
/// against the whole catalogue.
struct Parsed {
    spec: DecoySpec,
    claim: Option<Claim>,
    refs: Option<lure::LureRefs>,
}

/// Picks the main file: the `-c` argument (or `$DECOYD_CONFIG`, which clap folds into it),
/// else [`SYSTEM_CONFIG`] when it exists, else none (the built-in default).
pub fn locate(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    let system = Path::new(SYSTEM_CONFIG);
    system.exists().then(|| system.to_path_buf())
}

/// Whether loading reads the secrets the config names (Okta API credentials).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Secrets {
    /// Read and check them: `run`, `check` and `okta register`.
    Read,
    /// Check only where they are said to be: commands that never call Okta, so an operator
    /// can read events from a shell without the daemon's environment or file rights.
    Skip,
}

/// Loads the main file at `path` (or the built-in default when `None`), reading secrets.
pub fn load(path: Option<&Path>) -> Result<Config, ConfigErrors> {
    load_for(path, Secrets::Read)
}

/// Loads the main file at `path` (or the built-in default when `None`).
pub fn load_for(path: Option<&Path>, secrets: Secrets) -> Result<Config, ConfigErrors> {
    match path {
        Some(p) => load_file(p, secrets),
        None => Ok(builtin()),
    }
}

/// The built-in default: a generic login page on 127.0.0.1:8080, an SSH server on
/// 127.0.0.1:2222, data in `./decoyd-data`, admin on 127.0.0.1:9470.
pub fn builtin() -> Config {
    let mut errors = ConfigErrors::default();
    let sensor_id = default_sensor_id();
    let data_dir = PathBuf::from("decoyd-data");
    let demo = format!(
        "kind: lure\nhost: {sensor_id}\npath: {}/demo-lure/servers.txt\nowner: demo@example.com\ntemplate: ssh-notes\ncredential_for: ssh\ntarget: {{ user: deploy }}\n",
        data_dir.display()
    );
    let mut decoys: Vec<DecoySpec> = [
        ("demo-lure", demo.as_str()),
        ("ssh", BUILTIN_SSH),
        ("web", BUILTIN_WEB),
    ]
    .into_iter()
    .map(|(name, text)| {
        let file = PathBuf::from(format!("<built-in>/{name}.yaml"));
        parse_decoy(&file, name, text, Path::new("."), &mut errors)
            .expect("the built-in decoys are valid")
            .spec
    })
    .collect();
    debug_assert!(errors.is_empty(), "{errors}");
    lure::check_catalogue(&mut decoys, &[], None, &mut errors);
    Config {
        origin: Origin::BuiltIn,
        sensor_id,
        data_dir,
        admin_listen: DEFAULT_ADMIN.parse().expect("valid default"),
        capture_passwords: CapturePasswords::Hashed,
        store: StoreSettings::default(),
        decoys,
        fleet_secret_file: None,
        advertise_host: default_advertise_host(),
        lure_check_every: DEFAULT_LURE_CHECK,
        ignore_processes: Vec::new(),
        scoring: crate::score::ScoringSettings::default(),
        signals: crate::signal::SignalSettings::defaults(&default_advertise_host()),
    }
}

fn default_advertise_host() -> Arc<str> {
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    match check_host_name(host.trim()) {
        Ok(()) => Arc::from(host.trim()),
        Err(_) => Arc::from("localhost"),
    }
}

fn check_host_name(h: &str) -> Result<(), String> {
    let ok = !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid host name {h:?}: expected a DNS name like build-07.corp.example"
        ))
    }
}

const BUILTIN_WEB: &str = "kind: http\nlisten: 127.0.0.1:8080\nskin: generic\n";
const BUILTIN_SSH: &str = "kind: ssh\nlisten: 127.0.0.1:2222\nprofile: openssh-9.6p1-ubuntu\n";

fn default_sensor_id() -> Arc<str> {
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    let host = host.trim();
    if host.is_empty() || check_sensor_id(host).is_err() {
        Arc::from("decoyd")
    } else {
        Arc::from(host)
    }
}

fn load_file(path: &Path, secrets: Secrets) -> Result<Config, ConfigErrors> {
    let mut errors = ConfigErrors::default();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            errors.push(ConfigError::at(
                path,
                1,
                1,
                format!("cannot read the config file: {e}"),
            ));
            return Err(errors);
        }
    };
    if is_empty_yaml(&text) {
        errors.push(ConfigError::at(
            path,
            1,
            1,
            "the config file is empty: expected at least `decoys_dir:` (see deploy/decoyd.yaml)",
        ));
        return Err(errors);
    }
    let tree: keys::KeyTree = match serde_saphyr::from_str(&text) {
        Ok(t) => t,
        Err(e) => {
            errors.push(ConfigError::from_yaml(path, &e));
            return Err(errors);
        }
    };
    keys::check(path, &tree, &main_schema(), &mut errors);
    let raw: raw::RawMain = match serde_saphyr::from_str(&text) {
        Ok(r) => r,
        Err(e) => {
            errors.push(ConfigError::from_yaml(path, &e));
            return Err(errors);
        }
    };
    let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let base = if base.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        base
    };

    let sensor = raw.sensor.unwrap_or_default();
    let sensor_id = match &sensor.id {
        Some(id) => match check_sensor_id(&id.value) {
            Ok(()) => Arc::from(id.value.as_str()),
            Err(m) => {
                errors.push(ConfigError::spanned(path, id, m));
                Arc::from("invalid")
            }
        },
        None => default_sensor_id(),
    };
    let data_dir = match &sensor.data_dir {
        Some(d) => resolve_path(path, &base, d, &mut errors),
        None => Some(base.join("decoyd-data")),
    };
    let fleet_secret_file = sensor
        .fleet_secret_file
        .as_ref()
        .and_then(|f| resolve_path(path, &base, f, &mut errors));
    let advertise_host = match &sensor.advertise_host {
        Some(h) => match check_host_name(h.value.trim()) {
            Ok(()) => Arc::from(h.value.trim()),
            Err(m) => {
                errors.push(ConfigError::spanned(path, h, m));
                Arc::from("invalid")
            }
        },
        None => default_advertise_host(),
    };
    let identity = raw.identity.unwrap_or_default();
    let scoring = scoring::build(
        path,
        raw.scoring.unwrap_or_default(),
        &identity,
        &mut errors,
    );
    let public_span = raw.signals.as_ref().and_then(|s| s.public_listen.clone());
    let signal_settings = signals::build(
        path,
        &base,
        raw.signals.unwrap_or_default(),
        &advertise_host,
        secrets,
        &mut errors,
    );
    let email_domain = identity.email_domain.as_ref().and_then(|d| {
        match check_host_name(d.value.trim().trim_start_matches('@')) {
            Ok(()) => Some(d.value.trim().trim_start_matches('@').to_string()),
            Err(m) => {
                errors.push(ConfigError::spanned(path, d, format!("email_domain: {m}")));
                None
            }
        }
    });
    let lures_section = raw.lures.unwrap_or_default();
    let lure_check_every = parse_spanned(
        path,
        &lures_section.check_every,
        units::parse_duration,
        DEFAULT_LURE_CHECK,
        &mut errors,
    );
    let mut ignore_processes = Vec::new();
    for p in lures_section.ignore_processes.iter().flatten() {
        let v = p.value.trim();
        if v.is_empty() || v.len() > 4096 || v.contains('\0') {
            errors.push(ConfigError::spanned(
                path,
                p,
                "invalid ignore_processes entry: expected an executable's full path or file name",
            ));
        } else {
            ignore_processes.push(v.to_string());
        }
    }
    if let (Some(d), Some(v)) = (lure_check_every, &lures_section.check_every)
        && !(Duration::from_millis(100)..=Duration::from_secs(86_400)).contains(&d)
    {
        errors.push(ConfigError::spanned(
            path,
            v,
            "check_every out of range: expected 100ms to 24h",
        ));
    }

    let admin = raw.admin.unwrap_or_default();
    let admin_listen = match &admin.listen {
        Some(l) => parse_listen(path, l, &mut errors),
        None => Some(DEFAULT_ADMIN.parse().expect("valid default")),
    };

    let store = build_store(path, raw.store.unwrap_or_default(), &mut errors);

    let decoys_dir = match &raw.decoys_dir {
        Some(d) => resolve_path(path, &base, d, &mut errors).map(|p| (p, Some(d))),
        None => Some((base.join("decoys"), None)),
    };
    let mut decoys = Vec::new();
    if let Some((dir, spanned)) = decoys_dir {
        let (line, column) = spanned
            .map(|s| (s.referenced.line(), s.referenced.column()))
            .unwrap_or((1, 1));
        if !dir.is_dir() {
            let what = if dir.exists() {
                "is not a folder"
            } else {
                "does not exist"
            };
            let hint = if spanned.is_none() {
                " (the default; set `decoys_dir:`)"
            } else {
                ""
            };
            errors.push(ConfigError::at(
                path,
                line,
                column,
                format!("decoys folder {} {what}{hint}", dir.display()),
            ));
        } else {
            decoys = load_decoys(path, line, column, &dir, &mut errors);
            if decoys.is_empty() && errors.is_empty() {
                // A sensor with nothing to touch records nothing: surely a deployment slip.
                errors.push(ConfigError::at(
                    path,
                    line,
                    column,
                    format!(
                        "no decoys: {} has no decoy files (*.yaml), expected at least one",
                        dir.display()
                    ),
                ));
            }
        }
    }

    let mut claims: Vec<Claim> = Vec::new();
    if let (Some(addr), Some(l)) = (admin_listen, &admin.listen) {
        claims.push(Claim::new(addr, path, l, "the admin listener"));
    } else if let Some(addr) = admin_listen {
        claims.push(Claim {
            addr,
            file: path.to_path_buf(),
            line: 1,
            column: 1,
            what: "the admin listener (default)".into(),
        });
    }
    if let (Some(span), Some(addr)) = (
        &public_span,
        signal_settings.as_ref().and_then(|s| s.public_listen),
    ) {
        claims.push(Claim::new(addr, path, span, "the public listener"));
    }
    claims.extend(decoys.iter().filter_map(|p| p.claim.clone()));
    check_address_conflicts(&claims, &mut errors);
    let refs: Vec<lure::LureRefs> = decoys.iter().filter_map(|p| p.refs.clone()).collect();
    let mut decoys: Vec<DecoySpec> = decoys.into_iter().map(|p| p.spec).collect();
    lure::check_catalogue(&mut decoys, &refs, email_domain.as_deref(), &mut errors);

    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Config {
        origin: Origin::File(path.to_path_buf()),
        sensor_id,
        data_dir: data_dir.expect("no error means a data dir"),
        admin_listen: admin_listen.expect("no error means an address"),
        capture_passwords: raw.capture_passwords.map(|c| c.value).unwrap_or_default(),
        store: store.expect("no error means store settings"),
        decoys,
        fleet_secret_file,
        advertise_host,
        lure_check_every: lure_check_every.expect("no error means a duration"),
        ignore_processes,
        scoring: scoring.expect("no error means scoring settings"),
        signals: signal_settings.expect("no error means signal settings"),
    })
}

fn main_schema() -> keys::Schema {
    use keys::Schema;
    Schema::of::<raw::RawMain>()
        .section("sensor", Schema::of::<raw::RawSensor>())
        .section("admin", Schema::of::<raw::RawAdmin>())
        .section("store", Schema::of::<raw::RawStore>())
        .section("identity", Schema::of::<raw::RawIdentity>())
        .section("lures", Schema::of::<raw::RawLures>())
        .section(
            "scoring",
            Schema::of::<raw::RawScoring>()
                .section("thresholds", Schema::of::<raw::RawThresholds>()),
        )
        .section(
            "signals",
            Schema::of::<raw::RawSignals>().section(
                "receivers",
                Schema::of::<raw::RawReceiver>().section("api", Schema::of::<raw::RawOktaApi>()),
            ),
        )
}

fn http_schema() -> keys::Schema {
    use keys::Schema;
    Schema::of::<raw::RawHttp>().section("limits", Schema::of::<raw::RawHttpLimits>())
}

/// True for a file with nothing but blank lines and comments.
fn is_empty_yaml(text: &str) -> bool {
    text.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#') || t == "---" || t == "..."
    })
}

/// Names that end up in every touch, in metrics labels and in file names: short and plain.
fn check_name(what: &str, name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid {what} {name:?}: expected 1 to 64 letters, digits, `.`, `-` or `_`"
        ))
    }
}

fn check_sensor_id(id: &str) -> Result<(), String> {
    check_name("sensor id", id)
}

/// Resolves a path value against the folder of the file that names it.
fn resolve_path(
    file: &Path,
    base: &Path,
    value: &Spanned<String>,
    errors: &mut ConfigErrors,
) -> Option<PathBuf> {
    let v = value.value.trim();
    if v.is_empty() {
        errors.push(ConfigError::spanned(
            file,
            value,
            "empty path: expected a file or folder path",
        ));
        return None;
    }
    if v.contains('\0') {
        errors.push(ConfigError::spanned(
            file,
            value,
            "invalid path: contains a NUL byte",
        ));
        return None;
    }
    let p = Path::new(v);
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    };
    // `./decoys` under `/etc/decoyd` reads better as `/etc/decoyd/decoys` in every message.
    Some(
        joined
            .components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .collect(),
    )
}

fn parse_listen(
    file: &Path,
    value: &Spanned<String>,
    errors: &mut ConfigErrors,
) -> Option<SocketAddr> {
    match value.value.trim().parse::<SocketAddr>() {
        Ok(a) => Some(a),
        Err(_) => {
            errors.push(ConfigError::spanned(
                file,
                value,
                format!(
                    "invalid listen address {:?}: expected an IP address and a port, like 0.0.0.0:8080, 127.0.0.1:0 or [::]:2222",
                    value.value
                ),
            ));
            None
        }
    }
}

fn parse_spanned<T>(
    file: &Path,
    value: &Option<Spanned<String>>,
    parse: impl Fn(&str) -> Result<T, String>,
    default: T,
    errors: &mut ConfigErrors,
) -> Option<T> {
    match value {
        None => Some(default),
        Some(v) => match parse(&v.value) {
            Ok(x) => Some(x),
            Err(m) => {
                errors.push(ConfigError::spanned(file, v, m));
                None
            }
        },
    }
}

fn bounded_u32(
    file: &Path,
    value: &Option<Spanned<u32>>,
    default: u32,
    min: u32,
    max: u32,
    errors: &mut ConfigErrors,
) -> Option<usize> {
    match value {
        None => Some(default as usize),
        Some(v) if v.value >= min && v.value <= max => Some(v.value as usize),
        Some(v) => {
            errors.push(ConfigError::spanned(
                file,
                v,
                format!("{} is out of range: expected {min} to {max}", v.value),
            ));
            None
        }
    }
}

fn build_store(
    file: &Path,
    raw: raw::RawStore,
    errors: &mut ConfigErrors,
) -> Option<StoreSettings> {
    let d = StoreSettings::default();
    let retention = parse_spanned(
        file,
        &raw.retention,
        units::parse_duration,
        d.retention,
        errors,
    );
    let max_bytes = parse_spanned(file, &raw.max_size, units::parse_size, d.max_bytes, errors);
    let cache = parse_spanned(
        file,
        &raw.cache_size,
        units::parse_size,
        d.cache_bytes,
        errors,
    );
    let window = parse_spanned(
        file,
        &raw.commit_window,
        units::parse_duration,
        d.commit_window,
        errors,
    );
    if let (Some(w), Some(v)) = (window, &raw.commit_window)
        && w > Duration::from_millis(100)
    {
        errors.push(ConfigError::spanned(
            file,
            v,
            "store commit_window is too long: expected at most 100ms (every answer waits for it under load)",
        ));
    }
    let queue = bounded_u32(
        file,
        &raw.write_queue,
        d.write_queue as u32,
        16,
        1 << 20,
        errors,
    );
    if let (Some(m), Some(v)) = (max_bytes, &raw.max_size)
        && m < 1 << 20
    {
        errors.push(ConfigError::spanned(
            file,
            v,
            "store max_size is too small: expected at least 1MiB",
        ));
    }
    if let (Some(r), Some(v)) = (retention, &raw.retention)
        && r < Duration::from_secs(60)
    {
        errors.push(ConfigError::spanned(
            file,
            v,
            "store retention is too short: expected at least 1m",
        ));
    }
    Some(StoreSettings {
        retention: retention?,
        max_bytes: max_bytes?,
        cache_bytes: cache?,
        write_queue: queue?,
        commit_window: window?,
        ..d
    })
}

/// An address one listener claims, and where the claim was written.
#[derive(Clone, Debug)]
pub struct Claim {
    addr: SocketAddr,
    file: PathBuf,
    line: u64,
    column: u64,
    what: String,
}

impl Claim {
    fn new(addr: SocketAddr, file: &Path, value: &Spanned<String>, what: &str) -> Self {
        Claim {
            addr,
            file: file.to_path_buf(),
            line: value.referenced.line(),
            column: value.referenced.column(),
            what: what.to_string(),
        }
    }
}

/// Two listeners conflict on the same non-zero port when their IPs are equal or either is a
/// wildcard (0.0.0.0 and [::] also take the port for every other address on Linux).
/// Whether two listeners on one port would collide on Linux: the same IP; a wildcard and any
/// address of its family; or `[::]`, which also takes IPv4 (dual-stack is Linux's default).
fn same_socket(x: SocketAddr, y: SocketAddr) -> bool {
    let (a, b) = (x.ip(), y.ip());
    let v6_any = |ip: std::net::IpAddr| ip.is_ipv6() && ip.is_unspecified();
    a == b
        || v6_any(a)
        || v6_any(b)
        || (a.is_unspecified() || b.is_unspecified()) && a.is_ipv4() == b.is_ipv4()
}

fn check_address_conflicts(claims: &[Claim], errors: &mut ConfigErrors) {
    for (i, b) in claims.iter().enumerate() {
        for a in &claims[..i] {
            let (x, y) = (a.addr, b.addr);
            if x.port() == 0 || x.port() != y.port() {
                continue;
            }
            if same_socket(x, y) {
                errors.push(ConfigError::at(
                    &b.file,
                    b.line,
                    b.column,
                    format!(
                        "address {} of {} conflicts with {} of {} at {}:{}:{}",
                        y,
                        b.what,
                        x,
                        a.what,
                        a.file.display(),
                        a.line,
                        a.column
                    ),
                ));
            }
        }
    }
}

fn load_decoys(
    main: &Path,
    line: u64,
    column: u64,
    dir: &Path,
    errors: &mut ConfigErrors,
) -> Vec<Parsed> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push(ConfigError::at(
                main,
                line,
                column,
                format!("cannot read decoys folder {}: {e}", dir.display()),
            ));
            return Vec::new();
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let hidden = p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'));
            let yaml = p
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
            yaml && !hidden && p.is_file()
        })
        .collect();
    files.sort();

    let mut by_name: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut out = Vec::new();
    for file in files {
        let stem = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("")
            .to_string();
        if let Err(m) = check_decoy_name(&stem) {
            errors.push(ConfigError::at(&file, 1, 1, m));
            continue;
        }
        if let Some(other) = by_name.get(&stem) {
            errors.push(ConfigError::at(
                &file,
                1,
                1,
                format!("decoy name {stem:?} is also defined by {}", other.display()),
            ));
            continue;
        }
        by_name.insert(stem.clone(), file.clone());
        let text = match read_bounded(&file, MAX_DECOY_FILE) {
            Ok(t) => t,
            Err(m) => {
                errors.push(ConfigError::at(&file, 1, 1, m));
                continue;
            }
        };
        let base = file.parent().unwrap_or(Path::new(".")).to_path_buf();
        if let Some(p) = parse_decoy(&file, &stem, &text, &base, errors) {
            out.push(p);
        }
    }
    out
}

const MAX_DECOY_FILE: u64 = 1024 * 1024;

fn read_bounded(file: &Path, max: u64) -> Result<String, String> {
    let meta = std::fs::metadata(file).map_err(|e| format!("cannot read: {e}"))?;
    if meta.len() > max {
        return Err(format!(
            "file is too large ({} bytes): expected at most {max}",
            meta.len()
        ));
    }
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read: {e}"))?;
    String::from_utf8(bytes).map_err(|_| "file is not valid UTF-8 text".to_string())
}

fn check_decoy_name(name: &str) -> Result<(), String> {
    check_name("decoy name (the file name without .yaml)", name)
}

/// The decoy kinds a file may name.
const KINDS: &str = "http, lure, ssh";

fn parse_decoy(
    file: &Path,
    name: &str,
    text: &str,
    base: &Path,
    errors: &mut ConfigErrors,
) -> Option<Parsed> {
    if is_empty_yaml(text) {
        errors.push(ConfigError::at(
            file,
            1,
            1,
            format!("the decoy file is empty: expected a decoy definition starting with `kind:` ({KINDS})"),
        ));
        return None;
    }
    let tree: keys::KeyTree = match serde_saphyr::from_str(text) {
        Ok(t) => t,
        Err(e) => {
            errors.push(ConfigError::from_yaml(file, &e));
            return None;
        }
    };
    let kind: raw::RawKind = match serde_saphyr::from_str(text) {
        Ok(k) => k,
        Err(e) => {
            errors.push(ConfigError::from_yaml(file, &e));
            return None;
        }
    };
    let Some(kind) = kind.kind else {
        errors.push(ConfigError::at(
            file,
            1,
            1,
            format!("missing `kind:`: expected one of {KINDS}"),
        ));
        return None;
    };
    match kind.value.as_str() {
        "http" => {
            keys::check(file, &tree, &http_schema(), errors);
            let raw: raw::RawHttp = match serde_saphyr::from_str(text) {
                Ok(r) => r,
                Err(e) => {
                    errors.push(ConfigError::from_yaml(file, &e));
                    return None;
                }
            };
            let listen_span = raw.listen.clone();
            let http = build_http(file, base, raw, errors)?;
            let claim = Claim::new(http.listen, file, &listen_span, &format!("decoy {name:?}"));
            Some(Parsed {
                spec: DecoySpec {
                    name: Arc::from(name),
                    file: file.to_path_buf(),
                    kind: DecoyKind::Http(http),
                },
                claim: Some(claim),
                refs: None,
            })
        }
        "ssh" => {
            keys::check(file, &tree, &ssh::schema(), errors);
            let raw: raw::RawSsh = match serde_saphyr::from_str(text) {
                Ok(r) => r,
                Err(e) => {
                    errors.push(ConfigError::from_yaml(file, &e));
                    return None;
                }
            };
            let listen_span = raw.listen.clone();
            let settings = ssh::build(file, raw, errors)?;
            let claim = Claim::new(
                settings.listen,
                file,
                &listen_span,
                &format!("decoy {name:?}"),
            );
            Some(Parsed {
                spec: DecoySpec {
                    name: Arc::from(name),
                    file: file.to_path_buf(),
                    kind: DecoyKind::Ssh(settings),
                },
                claim: Some(claim),
                refs: None,
            })
        }
        "lure" => {
            keys::check(file, &tree, &lure::schema(), errors);
            let raw: raw::RawLure = match serde_saphyr::from_str(text) {
                Ok(r) => r,
                Err(e) => {
                    errors.push(ConfigError::from_yaml(file, &e));
                    return None;
                }
            };
            let refs = lure::refs(file, name, &raw);
            let settings = lure::build(file, base, raw, errors)?;
            Some(Parsed {
                spec: DecoySpec {
                    name: Arc::from(name),
                    file: file.to_path_buf(),
                    kind: DecoyKind::Lure(settings),
                },
                claim: None,
                refs: Some(refs),
            })
        }
        other => {
            errors.push(ConfigError::spanned(
                file,
                &kind,
                format!("unknown decoy kind {other:?}: expected one of {KINDS}"),
            ));
            None
        }
    }
}

fn build_http(
    file: &Path,
    base: &Path,
    raw: raw::RawHttp,
    errors: &mut ConfigErrors,
) -> Option<HttpSettings> {
    let before = errors.0.len();
    let listen = parse_listen(file, &raw.listen, errors);
    let skin_name = raw
        .skin
        .as_ref()
        .map(|s| s.value.as_str())
        .unwrap_or("generic");
    let skin = match skin_name {
        "generic" => {
            let page = raw.page.as_ref().and_then(|p| {
                let path = resolve_path(file, base, p, errors)?;
                load_page(file, p, &path, errors)
            });
            let d = GenericSkin::default();
            let text = |v: &Option<Spanned<String>>,
                        default: String,
                        what: &str,
                        errors: &mut ConfigErrors| match v {
                None => Some(default),
                Some(s)
                    if !s.value.trim().is_empty()
                        && s.value.len() <= 200
                        && !s.value.chars().any(char::is_control) =>
                {
                    Some(s.value.clone())
                }
                Some(s) => {
                    errors.push(ConfigError::spanned(
                        file,
                        s,
                        format!("invalid {what}: expected 1 to 200 characters on one line"),
                    ));
                    None
                }
            };
            let title = text(&raw.title, d.title.clone(), "title", errors);
            let server = text(
                &raw.server_header,
                d.server_header.clone(),
                "server_header",
                errors,
            );
            Some(Skin::Generic(GenericSkin {
                title: title.unwrap_or_default(),
                server_header: server.unwrap_or_default(),
                page,
            }))
        }
        "jenkins" => {
            for (key, v) in [
                ("page", &raw.page),
                ("title", &raw.title),
                ("server_header", &raw.server_header),
            ] {
                if let Some(v) = v {
                    errors.push(ConfigError::spanned(
                        file,
                        v,
                        format!("`{key}` applies to the generic skin only: the jenkins skin keeps the product's own page and headers so they agree"),
                    ));
                }
            }
            Some(Skin::Jenkins)
        }
        other => {
            let s = raw
                .skin
                .as_ref()
                .expect("a non-default name came from the file");
            errors.push(ConfigError::spanned(
                file,
                s,
                format!("unknown skin {other:?}: expected one of generic, jenkins"),
            ));
            None
        }
    };
    let delay = parse_spanned(
        file,
        &raw.answer_delay,
        units::parse_delay_range,
        HttpSettings::DEFAULT_DELAY,
        errors,
    );
    if let (Some(d), Some(v)) = (delay, &raw.answer_delay)
        && d.max > Duration::from_secs(30)
    {
        errors.push(ConfigError::spanned(
            file,
            v,
            "answer_delay is too long: expected at most 30s",
        ));
    }
    let limits = build_http_limits(file, raw.limits.unwrap_or_default(), errors);
    if errors.0.len() > before {
        return None;
    }
    Some(HttpSettings {
        listen: listen?,
        skin: skin?,
        answer_delay: delay?,
        limits: limits?,
    })
}

fn load_page(
    file: &Path,
    value: &Spanned<String>,
    path: &Path,
    errors: &mut ConfigErrors,
) -> Option<PageTemplate> {
    let text = match read_bounded(path, crate::decoy::http::template::MAX_PAGE_BYTES as u64) {
        Ok(t) => t,
        Err(m) => {
            errors.push(ConfigError::spanned(
                file,
                value,
                format!("page {}: {m}", path.display()),
            ));
            return None;
        }
    };
    match PageTemplate::compile(&text) {
        Ok(t) => Some(t),
        Err(errs) => {
            for e in errs {
                errors.push(ConfigError::at(path, e.line, e.column, e.message));
            }
            None
        }
    }
}

fn build_http_limits(
    file: &Path,
    raw: raw::RawHttpLimits,
    errors: &mut ConfigErrors,
) -> Option<HttpLimits> {
    let d = HttpLimits::default();
    let header_timeout = parse_spanned(
        file,
        &raw.header_read_timeout,
        units::parse_duration,
        d.header_read_timeout,
        errors,
    );
    let body_timeout = parse_spanned(
        file,
        &raw.body_read_timeout,
        units::parse_duration,
        d.body_read_timeout,
        errors,
    );
    let write_timeout = parse_spanned(
        file,
        &raw.write_timeout,
        units::parse_duration,
        d.write_timeout,
        errors,
    );
    let header = parse_spanned(
        file,
        &raw.max_header_size,
        units::parse_size,
        d.max_header_bytes as u64,
        errors,
    );
    let body = parse_spanned(
        file,
        &raw.max_body_size,
        units::parse_size,
        d.max_body_bytes as u64,
        errors,
    );
    let caps = connection_caps(
        file,
        (&raw.max_connections, &raw.max_connections_per_source),
        (d.max_connections, d.max_connections_per_source),
        errors,
    );
    for (t, v) in [
        (header_timeout, &raw.header_read_timeout),
        (body_timeout, &raw.body_read_timeout),
        (write_timeout, &raw.write_timeout),
    ] {
        if let (Some(t), Some(v)) = (t, v)
            && (t < Duration::from_millis(10) || t > Duration::from_secs(300))
        {
            errors.push(ConfigError::spanned(
                file,
                v,
                "timeout out of range: expected 10ms to 5m",
            ));
        }
    }
    if let (Some(h), Some(v)) = (header, &raw.max_header_size)
        && !(HttpLimits::MIN_HEADER_BYTES as u64..=1 << 20).contains(&h)
    {
        errors.push(ConfigError::spanned(
            file,
            v,
            "max_header_size out of range: expected 8KiB to 1MiB",
        ));
    }
    if let (Some(b), Some(v)) = (body, &raw.max_body_size)
        && !(1024..=16 << 20).contains(&b)
    {
        // Below a kilobyte no login form fits, and every attempt would go unrecorded.
        errors.push(ConfigError::spanned(
            file,
            v,
            "max_body_size out of range: expected 1KiB to 16MiB",
        ));
    }
    Some(HttpLimits {
        header_read_timeout: header_timeout?,
        body_read_timeout: body_timeout?,
        write_timeout: write_timeout?,
        max_header_bytes: header? as usize,
        max_body_bytes: body? as usize,
        max_connections: caps?.0,
        max_connections_per_source: caps?.1,
    })
}

/// A decoy's `max_connections` and `max_connections_per_source`, or their defaults.
fn connection_caps(
    file: &Path,
    (total, per_source): (&Option<Spanned<u32>>, &Option<Spanned<u32>>),
    (default_total, default_per_source): (usize, usize),
    errors: &mut ConfigErrors,
) -> Option<(usize, usize)> {
    let total = bounded_u32(file, total, default_total as u32, 1, 1_000_000, errors);
    let per_source = bounded_u32(
        file,
        per_source,
        default_per_source as u32,
        1,
        1_000_000,
        errors,
    );
    Some((total?, per_source?))
}

#[cfg(test)]
mod tests;
