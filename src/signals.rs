//! `decoyd signals [--json]` (the outbox) and `decoyd keys jwks | rotate`: through the running
//! daemon's admin API when it runs, straight from the data dir when it does not.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::Context;

use crate::cli::{KeysCommand, OktaCommand};
use crate::client::AdminClient;
use crate::config::Config;
use crate::signal::keys::KeyRing;
use crate::signal::okta::UserCheck;
use crate::signal::outbox::{self, Signal};
use crate::store::{Store, files};

/// Runs `decoyd signals`.
pub async fn list(config: &Config, json: bool) -> anyhow::Result<()> {
    let signals: Vec<Signal> = match AdminClient::discover(&config.data_dir).await {
        Some(c) => {
            serde_json::from_slice(&c.get("/api/v1/signals", Duration::from_secs(10)).await?)?
        }
        None => match Store::reader_if_any(&config.data_dir)? {
            Some(reader) => outbox::decode_all(reader.outbox()?),
            None => Vec::new(),
        },
    };
    let mut out = String::new();
    for s in &signals {
        if json {
            let _ = writeln!(out, "{}", serde_json::to_string(s).unwrap_or_default());
            continue;
        }
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{}\t{} {}→{}\tattempts {}\t{}",
            s.created_at,
            s.receiver.as_deref().unwrap_or("(no receiver)"),
            format!("{:?}", s.state).to_lowercase(),
            match s.action {
                Some(a) => format!("okta:{}", a.name()),
                None => format!("{:?}", s.event),
            },
            s.email,
            s.previous,
            s.level,
            s.attempts,
            s.last_answer.as_deref().unwrap_or(""),
        );
        let _ = writeln!(out, "    jti {}", s.jti);
        match &s.okta_user {
            Some(UserCheck::Found { id, status }) => {
                let _ = writeln!(out, "    okta user {id} ({status})");
            }
            Some(UserCheck::NotFound) => {
                let _ = writeln!(
                    out,
                    "    okta user: none has this login or email, so Okta drops the signal"
                );
            }
            Some(UserCheck::Ambiguous) => {
                let _ = writeln!(
                    out,
                    "    okta user: several have this primary email, so no direct response"
                );
            }
            Some(UserCheck::Failed { error, .. }) => {
                let _ = writeln!(out, "    okta user lookup failed: {error}");
            }
            None => {}
        }
    }
    print!("{out}");
    Ok(())
}

/// Runs `decoyd keys ...`.
pub async fn keys(config: &Config, cmd: KeysCommand) -> anyhow::Result<()> {
    let client = AdminClient::discover(&config.data_dir).await;
    match cmd {
        KeysCommand::Jwks => {
            let jwks: serde_json::Value = match &client {
                Some(c) => {
                    serde_json::from_slice(&c.get("/jwks.json", Duration::from_secs(10)).await?)?
                }
                None => {
                    files::ensure_data_dir(&config.data_dir)?;
                    files::check_owner(&config.data_dir)?;
                    let ring = KeyRing::load_or_create(&config.data_dir)?;
                    let pending = match Store::reader_if_any(&config.data_dir)? {
                        Some(reader) => outbox::pending_kids(&outbox::decode_all(reader.outbox()?)),
                        None => Vec::new(),
                    };
                    ring.jwks(config.signals.key_overlap, &pending)
                }
            };
            println!("{}", serde_json::to_string_pretty(&jwks)?);
        }
        KeysCommand::Rotate => {
            let kid = match &client {
                Some(c) => {
                    let answer = c
                        .post_json_answer("/api/v1/keys/rotate", &serde_json::json!({}))
                        .await?;
                    let v: serde_json::Value = serde_json::from_slice(&answer)?;
                    v["kid"]
                        .as_str()
                        .context("the daemon did not say the new kid")?
                        .to_string()
                }
                None => {
                    files::check_owner(&config.data_dir)?;
                    KeyRing::load_or_create(&config.data_dir)?.rotate()?
                }
            };
            println!(
                "signing with {kid}; the previous key stays published for {}",
                humantime::format_duration(config.signals.key_overlap)
            );
        }
    }
    Ok(())
}

/// Runs `decoyd okta ...`.
pub async fn okta(config: &Config, cmd: OktaCommand) -> anyhow::Result<()> {
    let OktaCommand::Register(args) = cmd;
    let with_api: Vec<_> = config
        .signals
        .receivers
        .iter()
        .filter(|r| r.api.is_some())
        .collect();
    let receiver = match &args.receiver {
        Some(n) => config
            .signals
            .receivers
            .iter()
            .find(|r| &r.name == n)
            .with_context(|| format!("no receiver is named {n:?}"))?,
        None => match with_api.as_slice() {
            [one] => one,
            [] => anyhow::bail!(
                "no okta receiver has `api:` credentials: add them to signals.receivers (see the README)"
            ),
            _ => anyhow::bail!("several okta receivers have `api:`: choose one with --receiver"),
        },
    };
    let api = receiver.api.clone().with_context(|| {
        format!(
            "receiver {:?} has no `api:` credentials to register with",
            receiver.name
        )
    })?;
    let base = config.signals.public_base_url.trim_end_matches('/');
    let settings = if args.issuer_and_jwks {
        serde_json::json!({ "issuer": config.signals.issuer, "jwks_url": format!("{base}/jwks.json") })
    } else {
        serde_json::json!({ "well_known_url": format!("{base}/.well-known/ssf-configuration") })
    };
    let name = args
        .name
        .unwrap_or_else(|| format!("decoyd {}", config.sensor_id));
    let client = crate::signal::okta::Client::new(crate::signal::deliver::http_client()?, api);
    let (created, answer) = client
        .register(&name, settings.clone())
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e}", receiver.name))?;
    println!(
        "{} Security Events Provider {:?} (id {}, status {}) at {}",
        if created { "created" } else { "updated" },
        name,
        answer["id"].as_str().unwrap_or("?"),
        answer["status"].as_str().unwrap_or("?"),
        client.api().org_url,
    );
    println!("settings: {settings}");
    println!(
        "Okta must reach {base} over HTTPS; it acts only with an entity risk policy rule (Security Events Provider Reported Risk, High → Universal Logout)."
    );
    Ok(())
}
