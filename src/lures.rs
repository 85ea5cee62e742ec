//! `decoyd lures list | plant | verify`. `plant` writes this sensor's lure files itself (it
//! is the one step that may need root, to write into other users' folders) and records each
//! planting in the store: through the running daemon's admin API, which also starts watching
//! it, or straight into the store when no daemon runs. `list` and `verify` read the records
//! the same way; `verify` compares each file with what was planted.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::cli::{LuresArgs, LuresCommand};
use crate::client::AdminClient;
use crate::config::Config;
use crate::decoy::lure::{self, LureState, plant::PlantContext};
use crate::metrics::Metrics;
use crate::store::{PlantedLure, Store, files};

/// Runs `decoyd lures ...`; returns whether everything was as it should be (for the exit
/// code of `verify` and `plant`).
pub async fn run(config: &Config, args: LuresArgs) -> anyhow::Result<bool> {
    let client = AdminClient::discover(&config.data_dir).await;
    match args.command {
        LuresCommand::List { json } => {
            let records = records(config, client.as_ref()).await?;
            print!("{}", list(config, &records, json));
            Ok(true)
        }
        LuresCommand::Verify { json } => {
            let records = records(config, client.as_ref()).await?;
            let mut ok = true;
            let mut out = String::new();
            for (name, _) in lure::own(&config.decoys, &config.sensor_id) {
                let (state, path) = match records.iter().find(|r| *r.lure == **name) {
                    Some(r) => (Some(lure::check(r).state), r.path.clone()),
                    None => (None, String::new()),
                };
                ok &= state == Some(LureState::Intact);
                let shown = state.map(|s| s.to_string()).unwrap_or("not planted".into());
                if json {
                    let _ = writeln!(
                        out,
                        "{}",
                        serde_json::json!({"lure": &**name, "path": path, "state": shown})
                    );
                } else {
                    let _ = writeln!(out, "{name}\t{shown}\t{path}");
                }
            }
            print!("{out}");
            Ok(ok)
        }
        LuresCommand::Plant => plant(config, client).await,
    }
}

async fn records(
    config: &Config,
    client: Option<&AdminClient>,
) -> anyhow::Result<Vec<PlantedLure>> {
    match client {
        Some(c) => {
            let body = c.get("/api/v1/lures", Duration::from_secs(10)).await?;
            Ok(serde_json::from_slice(&body)?)
        }
        None => match Store::reader_if_any(&config.data_dir)? {
            Some(reader) => Ok(reader.lures()?),
            None => Ok(Vec::new()),
        },
    }
}

fn list(config: &Config, records: &[PlantedLure], json: bool) -> String {
    let mut out = String::new();
    for d in &config.decoys {
        let crate::decoy::DecoyKind::Lure(l) = &d.kind else {
            continue;
        };
        let rec = records.iter().find(|r| *r.lure == *d.name);
        if json {
            let _ = writeln!(
                out,
                "{}",
                serde_json::json!({
                    "lure": &*d.name,
                    "host": &*l.host,
                    "owner": &*l.owner,
                    "path": l.path.display().to_string(),
                    "template": l.template.name,
                    "credential_for": l.credential_for.as_deref(),
                    "planted": rec,
                })
            );
        } else {
            let planted = match rec {
                Some(r) => format!(
                    "planted {} ({}:{} as {})",
                    r.planted_at, r.target.host, r.target.port, r.target.user
                ),
                None if *l.host == *config.sensor_id => "not planted".into(),
                None => format!("planted by {}", l.host),
            };
            let _ = writeln!(
                out,
                "{}\t{}\t{}\t{}\t{planted}",
                d.name,
                l.owner,
                l.path.display(),
                l.template.name
            );
        }
    }
    out
}

async fn plant(config: &Config, client: Option<AdminClient>) -> anyhow::Result<bool> {
    let key = files::fleet_key(&config.data_dir, config.fleet_secret_file.as_deref())?;
    // Without a daemon the store is opened here, which only its owner may do.
    let (records, direct) = match &client {
        Some(c) => (records(config, Some(c)).await?, None),
        None => {
            files::ensure_data_dir(&config.data_dir)?;
            files::check_owner(&config.data_dir)?;
            let (store, writer) =
                Store::open(&config.data_dir, config.store.clone(), Metrics::new()).context(
                    "cannot open the store (is a daemon running without its admin API?)",
                )?;
            (store.lures()?, Some((store, writer)))
        }
    };
    let bound: HashMap<String, std::net::SocketAddr> = match &client {
        Some(c) => c
            .status()
            .await?
            .listening
            .into_iter()
            .map(|l| (l.name, l.addr))
            .collect(),
        None => HashMap::new(),
    };
    let mut ok = true;
    for (name, l) in lure::own(&config.decoys, &config.sensor_id) {
        let existing = records
            .iter()
            .find(|r| *r.lure == **name && std::path::Path::new(&r.path) == l.path);
        let target = match l.resolve_target(
            lure::decoy_addr(&config.decoys, l, &bound),
            &config.advertise_host,
        ) {
            Ok(t) => t,
            Err(m) => {
                eprintln!("decoyd: lure {name}: not planted: {m}");
                ok = false;
                continue;
            }
        };
        let cx = PlantContext {
            name,
            key: &key,
            sensor: &config.sensor_id,
            target,
        };
        // A planted lure found missing is planted afresh; one changed is left as it is.
        let existing = existing.filter(|r| lure::check(r).state != LureState::Missing);
        match lure::plant(l, &cx, existing) {
            Ok(Some(rec)) => {
                let recorded = match (&client, &direct) {
                    (Some(c), _) => c.post_json("/api/v1/lures", &rec).await,
                    (None, Some((store, _))) => {
                        store.put_lure(rec.clone()).await.map_err(Into::into)
                    }
                    (None, None) => unreachable!("one of the two is open"),
                };
                if let Err(e) = recorded {
                    eprintln!(
                        "decoyd: lure {name}: planted at {} but not recorded: {e:#}",
                        rec.path
                    );
                    ok = false;
                    continue;
                }
                println!("{name}\tplanted\t{}", rec.path);
            }
            Ok(None) => println!("{name}\tintact\t{}", l.path.display()),
            Err(e) => {
                eprintln!("decoyd: lure {name}: {e}");
                ok = false;
            }
        }
    }
    if let Some((_, writer)) = direct {
        writer.shutdown().await;
    }
    if lure::own(&config.decoys, &config.sensor_id)
        .next()
        .is_none()
    {
        bail!(
            "no lure in the catalogue names this sensor ({}) as its host",
            config.sensor_id
        );
    }
    Ok(ok)
}
