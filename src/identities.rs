//! `decoyd identities [--json]` and `decoyd identities clear EMAIL --reason TEXT`: through the
//! running daemon's admin API when it runs, straight from the store when it does not.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::cli::{IdentitiesArgs, IdentitiesCommand};
use crate::client::AdminClient;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::score::scorer::{self, apply_clear, entry};
use crate::score::{IdentityState, Subject};
use crate::signal::keys::KeyRing;
use crate::signal::outbox::for_change;
use crate::store::{IdentityBatch, Store, files};

/// Runs `decoyd identities ...`.
pub async fn run(config: &Config, args: IdentitiesArgs) -> anyhow::Result<()> {
    let client = AdminClient::discover(&config.data_dir).await;
    match args.command {
        None => {
            let states = match &client {
                Some(c) => {
                    let body = c.get("/api/v1/identities", Duration::from_secs(10)).await?;
                    serde_json::from_slice(&body)?
                }
                None => match Store::reader_if_any(&config.data_dir)? {
                    Some(reader) => scorer::sorted(scorer::decode_all(reader.identities()?.0)),
                    None => Vec::new(),
                },
            };
            print!("{}", show(&states, args.json));
            Ok(())
        }
        Some(IdentitiesCommand::Clear { email, reason }) => {
            if reason.trim().is_empty() {
                bail!("--reason must say why: it is recorded with the clear");
            }
            let by = operator();
            let st = match &client {
                Some(c) => {
                    let body = serde_json::json!({"email": email, "reason": reason, "by": by});
                    let answer = c
                        .post_json_answer("/api/v1/identities/clear", &body)
                        .await?;
                    serde_json::from_slice::<IdentityState>(&answer)?
                }
                None => {
                    files::check_owner(&config.data_dir)?;
                    let (store, writer) =
                        Store::open(&config.data_dir, config.store.clone(), Metrics::new())
                            .context("cannot open the store")?;
                    let (states, _) = scorer::load(&store)?;
                    let mut states: HashMap<Subject, IdentityState> =
                        states.into_iter().map(|s| (s.subject.clone(), s)).collect();
                    let r = apply_clear(&mut states, &email, &by, &reason, &config.scoring);
                    if let Ok((st, change)) = &r {
                        // The signals wait in the outbox for the daemon's next start.
                        let keys = KeyRing::load_or_create(&config.data_dir)?;
                        let made = for_change(&config.signals, &keys, &email, change);
                        store
                            .put_identities(IdentityBatch {
                                put: vec![entry(st)],
                                outbox: made.iter().map(crate::signal::outbox::entry).collect(),
                                ..Default::default()
                            })
                            .await?;
                    }
                    writer.shutdown().await;
                    r.map_err(anyhow::Error::msg)?.0
                }
            };
            println!("{email}: level {} (cleared by {by}: {reason})", st.level);
            Ok(())
        }
    }
}

/// Who is running the command, for the record of a clear.
fn operator() -> String {
    std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "unknown operator".into())
}

fn show(states: &[IdentityState], json: bool) -> String {
    let mut out = String::new();
    for st in states {
        if json {
            let _ = writeln!(out, "{}", serde_json::to_string(st).unwrap_or_default());
            continue;
        }
        let _ = writeln!(out, "{}\t{}\t{}", st.subject, st.level, st.score);
        for r in &st.reasons {
            let _ = writeln!(out, "    {r}");
        }
        if let Some(c) = st.history.last().filter(|c| c.by.is_some()) {
            let _ = writeln!(
                out,
                "    last change: {} → {} at {} ({})",
                c.from,
                c.to,
                c.at,
                c.reasons.join("; ")
            );
        }
    }
    out
}
