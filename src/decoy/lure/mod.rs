//! Lure files: planted fake secrets whose credentials are honeytokens. A lure is planted once
//! ([`plant`]) at the path its file names, on the sensor its `host:` names, and then watched
//! ([`watch`]): a read, an edit, a deletion or a rename is a touch naming the lure and its
//! owner, and a periodic check ([`check`]) finds what the watcher could not see (changes while
//! decoyd was stopped).
//!
//! Invariants: decoyd writes a lure only where the config says, never over a file it did not
//! create (the store records the identity of every file it planted), and never deletes one.

pub mod attribution;
pub mod plant;
pub mod template;
pub mod watch;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tracing::{error, info, warn};

pub use plant::{LureState, check, plant};
pub use template::{Builtin, LureTemplate};

use crate::decoy::{DecoyKind, DecoySpec};
use crate::honeytoken::{FleetKey, LureInfo};
use crate::store::Store;

/// A `kind: lure` decoy, validated.
#[derive(Clone, Debug)]
pub struct LureSettings {
    /// The sensor that plants and watches it.
    pub host: Arc<str>,
    /// Where the file goes.
    pub path: PathBuf,
    /// Whose secret it pretends to be: the identity its touches name.
    pub owner: Arc<str>,
    /// What the file says.
    pub template: LureTemplate,
    /// The decoy its credential is for.
    pub credential_for: Option<Arc<str>>,
    /// What the file names, where set.
    pub target: TargetSpec,
    /// File mode; default the template's.
    pub mode: Option<u32>,
    /// File owner (uid, gid); default the owner of the folder it goes in.
    pub file_owner: Option<(u32, Option<u32>)>,
    /// How old the file looks (its modification time before planting); default a random
    /// age between 20 and 300 days.
    pub age: Option<Duration>,
}

/// The `target:` of a lure; anything unset comes from the decoy it is for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TargetSpec {
    /// Host name or address.
    pub host: Option<String>,
    /// Port.
    pub port: Option<u16>,
    /// Login name.
    pub user: Option<String>,
}

/// A target with nothing left unset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Login name.
    pub user: String,
}

impl LureSettings {
    /// The catalogue entry for this lure.
    pub fn info(&self, name: &str) -> LureInfo {
        LureInfo {
            name: name.into(),
            owner: self.owner.clone(),
            host: self.host.clone(),
            credential_for: self.credential_for.clone(),
            user: Some(Arc::from(self.user())),
        }
    }

    /// The login name the file names: `target.user`, else the owner's local part.
    pub fn user(&self) -> String {
        self.target
            .user
            .clone()
            .unwrap_or_else(|| template::owner_user(&self.owner).to_string())
    }

    /// What the file names. `decoy` is the address of the decoy it is for (as bound, when
    /// the daemon runs; as configured otherwise); `advertised` is this sensor's host name,
    /// used when the decoy listens on every address.
    pub fn resolve_target(
        &self,
        decoy: Option<SocketAddr>,
        advertised: &str,
    ) -> Result<Target, String> {
        let host = match (&self.target.host, decoy) {
            (Some(h), _) => h.clone(),
            (None, Some(a)) if !a.ip().is_unspecified() => a.ip().to_string(),
            (None, _) => advertised.to_string(),
        };
        let port = match (self.target.port, decoy) {
            (Some(p), _) => p,
            (None, Some(a)) if a.port() != 0 => a.port(),
            // A file that names no port (AWS credentials) needs none.
            (None, _) if !self.template.uses(template::Var::Port) => 0,
            (None, Some(_)) => {
                return Err(
                    "its decoy listens on port 0 and is not running: set `target.port`, or plant it with the daemon running"
                        .into(),
                );
            }
            (None, None) => {
                return Err("no port: set `target.port` or `credential_for`".into());
            }
        };
        Ok(Target {
            host,
            port,
            user: self.user(),
        })
    }
}

/// This sensor's lures (`host:` is its id), from the whole catalogue.
pub fn own<'a>(
    decoys: &'a [DecoySpec],
    sensor: &'a str,
) -> impl Iterator<Item = (&'a Arc<str>, &'a LureSettings)> + 'a {
    decoys.iter().filter_map(move |d| match &d.kind {
        DecoyKind::Lure(l) if &*l.host == sensor => Some((&d.name, l)),
        _ => None,
    })
}

/// The address a lure's credential points at: the decoy it is for, as bound when `bound`
/// has it, else as configured.
pub fn decoy_addr(
    decoys: &[DecoySpec],
    lure: &LureSettings,
    bound: &HashMap<String, SocketAddr>,
) -> Option<SocketAddr> {
    let name = lure.credential_for.as_deref()?;
    bound.get(name).copied().or_else(|| {
        decoys
            .iter()
            .find(|d| &*d.name == name)
            .and_then(|d| d.kind.listen())
    })
}

/// Plants each of this sensor's lures that has never been planted (or whose path changed),
/// records it, and returns every planted lure to watch. A lure that cannot be planted is
/// logged with the reason and skipped: the other decoys still run.
pub async fn plant_missing(
    decoys: &[DecoySpec],
    sensor: &str,
    advertised: &str,
    key: &FleetKey,
    store: &Store,
    bound: &HashMap<String, SocketAddr>,
) -> Vec<watch::Watched> {
    let records = match store.lures() {
        Ok(r) => r,
        Err(e) => {
            error!(error = %e, "cannot read the planted lures; lures are not watched");
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (name, lure) in own(decoys, sensor) {
        let existing = records
            .iter()
            .find(|r| *r.lure == **name && Path::new(&r.path) == lure.path);
        if let Some(rec) = existing {
            out.push(watch::Watched {
                name: name.clone(),
                record: rec.clone(),
            });
            continue;
        }
        let target = match lure.resolve_target(decoy_addr(decoys, lure, bound), advertised) {
            Ok(t) => t,
            Err(m) => {
                error!(lure = %name, "lure not planted: {m}");
                continue;
            }
        };
        let cx = plant::PlantContext {
            name,
            key,
            sensor,
            target,
        };
        match plant(lure, &cx, None) {
            Ok(Some(rec)) => {
                if let Err(e) = store.put_lure(rec.clone()).await {
                    error!(lure = %name, error = %e, "a planted lure could not be recorded; it is not watched");
                    continue;
                }
                info!(lure = %name, path = %rec.path, owner = %rec.owner, "lure planted");
                out.push(watch::Watched {
                    name: name.clone(),
                    record: rec,
                });
            }
            Ok(None) => {}
            Err(e) => warn!(lure = %name, "lure not planted: {e}"),
        }
    }
    out
}
