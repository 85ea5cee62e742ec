//! `decoyd events`: recorded touches, through the running daemon's admin API when it runs,
//! straight from the store when it does not (sled allows one process at a time, so the CLI
//! never opens the store under a running daemon). Text lines quote every attacker-supplied
//! string; `--json` prints one stored record per line.

use std::fmt::Write as _;
use std::io::Write;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::cli::EventsArgs;
use crate::client::AdminClient;
use crate::config::Config;
use crate::store::{EventQuery, MAX_READ, Store, StoreError, StoredTouch};
use crate::touch::{Event, Password};

/// Seconds one long poll waits for new touches.
const FOLLOW_WAIT: u64 = 25;

/// Runs `decoyd events`.
pub async fn run(config: &Config, args: EventsArgs) -> anyhow::Result<()> {
    let mut last_seq;
    if let Some(client) = AdminClient::discover(&config.data_dir).await {
        let flushed = client.status().await?.store.flushed.seq;
        let client = &client;
        let last = print_newest(&args, |q| async move { fetch(client, &q).await }).await?;
        last_seq = last.unwrap_or(0).max(flushed);
    } else {
        if config.data_dir.exists() {
            crate::store::files::check_owner(&config.data_dir)?;
        }
        match Store::open_read_only(&config.data_dir) {
            Ok(reader) => {
                print_newest(&args, |q| {
                    std::future::ready(reader.events(&q).map_err(anyhow::Error::from))
                })
                .await?;
                last_seq = reader.stats().flushed.seq;
            }
            Err(StoreError::Locked { .. }) => bail!(
                "the store in {} is in use by a running decoyd, but its admin API did not answer (see {}/admin.addr)",
                config.data_dir.display(),
                config.data_dir.display()
            ),
            Err(e) if args.follow => {
                eprintln!("decoyd: {e}; waiting for the daemon");
                last_seq = 0;
            }
            Err(e) => return Err(e).context("cannot read events"),
        }
    }
    if !args.follow {
        return Ok(());
    }
    loop {
        let Some(client) = AdminClient::discover(&config.data_dir).await else {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        };
        loop {
            let q = EventQuery {
                after: Some(last_seq),
                decoy: args.decoy.clone(),
                source: args.source,
                ..EventQuery::default()
            };
            let Ok(recs) = fetch_wait(&client, &q, FOLLOW_WAIT).await else {
                break;
            };
            if let Some(r) = recs.last() {
                last_seq = r.seq;
            } else if let Ok(s) = client.status().await {
                // Nothing for this filter: skip ahead to what is on disk.
                last_seq = last_seq.max(s.store.flushed.seq);
            }
            print(&recs, args.json)?;
        }
    }
}

fn query_string(q: &EventQuery) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    if let Some(a) = q.after {
        s.append_pair("after", &a.to_string());
    }
    if let Some(t) = q.tail {
        s.append_pair("tail", &t.to_string());
    }
    if let Some(l) = q.limit {
        s.append_pair("limit", &l.to_string());
    }
    if let Some(d) = &q.decoy {
        s.append_pair("decoy", d);
    }
    if let Some(ip) = q.source {
        s.append_pair("source", &ip.to_string());
    }
    s.finish()
}

/// Prints the newest `args.limit` matching records, oldest first, a page at a time (memory
/// stays bounded however many are asked for). Returns the last sequence number printed.
async fn print_newest<F, Fut>(args: &EventsArgs, mut page: F) -> anyhow::Result<Option<u64>>
where
    F: FnMut(EventQuery) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Vec<StoredTouch>>>,
{
    let want = args.limit;
    let mut q = EventQuery {
        tail: Some(want),
        limit: Some(want.min(MAX_READ)),
        decoy: args.decoy.clone(),
        source: args.source,
        ..EventQuery::default()
    };
    let (mut printed, mut last) = (0, None);
    while printed < want {
        let recs = page(q.clone()).await?;
        print(&recs, args.json)?;
        printed += recs.len();
        last = recs.last().map(|r| r.seq).or(last);
        if recs.len() < q.limit.unwrap_or(MAX_READ) {
            break;
        }
        q = EventQuery {
            after: last,
            limit: Some((want - printed).min(MAX_READ)),
            decoy: args.decoy.clone(),
            source: args.source,
            ..EventQuery::default()
        };
    }
    Ok(last)
}

async fn fetch(client: &AdminClient, q: &EventQuery) -> anyhow::Result<Vec<StoredTouch>> {
    let body = client
        .get(
            &format!("/api/v1/events?{}", query_string(q)),
            Duration::from_secs(30),
        )
        .await?;
    parse_lines(&body)
}

async fn fetch_wait(
    client: &AdminClient,
    q: &EventQuery,
    wait: u64,
) -> anyhow::Result<Vec<StoredTouch>> {
    let path = format!("/api/v1/events?{}&wait={wait}", query_string(q));
    let body = client.get(&path, Duration::from_secs(wait + 10)).await?;
    parse_lines(&body)
}

fn parse_lines(body: &[u8]) -> anyhow::Result<Vec<StoredTouch>> {
    body.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).context("unreadable event from the admin API"))
        .collect()
}

fn print(recs: &[StoredTouch], json: bool) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for r in recs {
        let line = if json {
            serde_json::to_string(r)?
        } else {
            text_line(r)
        };
        if let Err(e) = writeln!(out, "{line}") {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                // `decoyd events | head`: the reader has what it wanted.
                std::process::exit(0);
            }
            return Err(e.into());
        }
    }
    out.flush().ok();
    Ok(())
}

fn password_text(p: &Password) -> String {
    let classes: Vec<String> = p
        .classes
        .iter()
        .map(|c| {
            serde_json::to_value(c)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default()
        })
        .collect();
    match &p.plaintext {
        Some(t) => format!("password={t:?}"),
        None => format!(
            "password=hmac:{} ({} chars: {})",
            &p.hmac,
            p.length,
            classes.join(",")
        ),
    }
}

fn ssh_client_text(s: &mut String, c: &crate::touch::SshClient) {
    if let Some(v) = &c.version {
        let _ = write!(s, " client={v:?}");
    }
    if let Some(h) = &c.hassh {
        let _ = write!(s, " hassh={h}");
    }
}

/// One human-readable line per record; attacker strings are `{:?}`-quoted.
pub fn text_line(r: &StoredTouch) -> String {
    let t = &r.touch;
    // A file has no network source: lure touches show `local` there.
    let source = if t.source == crate::touch::NO_ADDRESS {
        "local".to_string()
    } else {
        t.source.to_string()
    };
    let mut s = format!(
        "{} #{} {} {} {}",
        t.at,
        r.seq,
        t.decoy,
        source,
        t.event.kind()
    );
    match &t.event {
        Event::Connection(c) => {
            let _ = write!(
                s,
                " ended={:?} after={}ms bytes={}",
                c.ended, c.duration_ms, c.bytes
            );
            if !c.preview.is_empty() {
                let _ = write!(s, " first={:?}", c.preview);
            }
        }
        Event::HttpRequest(h) => {
            let _ = write!(s, " {:?} {:?}", h.method, h.path);
            if let Some(q) = &h.query {
                let _ = write!(s, " query={q:?}");
            }
            for c in &h.credentials {
                let _ = write!(s, " [{:?}", c.source);
                if let Some(u) = &c.username {
                    let _ = write!(s, " user={u:?}");
                }
                if let Some(p) = &c.password {
                    let _ = write!(s, " {}", password_text(p));
                }
                s.push(']');
            }
            match h.status {
                Some(st) => {
                    let _ = write!(s, " status={st}");
                }
                None => s.push_str(" status=none"),
            }
            if let Some(ua) = &h.user_agent {
                let _ = write!(s, " ua={ua:?}");
            }
        }
        Event::HttpMalformed(m) => {
            let _ = write!(s, " reason={:?} first={:?}", m.reason, m.preview);
            if let Some(st) = m.status {
                let _ = write!(s, " status={st}");
            }
        }
        Event::ConnectionRefused(c) => {
            let _ = write!(s, " cap={} refused={}", c.cap, r.count);
        }
        Event::SshAuth(a) => {
            let _ = write!(s, " #{} {:?} user={:?}", a.attempt, a.method, a.username);
            if let Some(p) = &a.password {
                let _ = write!(s, " {}", password_text(p));
            }
            if let Some(p) = &a.new_password {
                let _ = write!(s, " new_{}", password_text(p));
            }
            if let Some(k) = &a.key {
                let _ = write!(s, " key={} {}", k.algorithm, k.fingerprint);
            }
            if let Some(m) = &a.submethods {
                let _ = write!(s, " submethods={m:?}");
            }
            let _ = write!(s, " {:?}", a.result);
            ssh_client_text(&mut s, &a.client);
        }
        Event::SshCommand(c) => {
            let _ = write!(
                s,
                " user={:?} {:?} {:?} status={}",
                c.username, c.source, c.command, c.status
            );
            if let Some(p) = &c.password {
                let _ = write!(s, " {}", password_text(p));
            }
        }
        Event::SshRequest(q) => {
            let _ = write!(s, " {:?}", q.request);
            if !q.detail.is_empty() {
                let _ = write!(s, " {:?}", q.detail);
            }
            if let Some(u) = &q.username {
                let _ = write!(s, " user={u:?}");
            }
        }
        Event::SshConnection(c) => {
            let _ = write!(
                s,
                " ended={:?} after={}ms in={} out={} auth={}",
                c.ended, c.duration_ms, c.bytes_in, c.bytes_out, c.auth_attempts
            );
            if let Some(u) = &c.probe_user {
                let _ = write!(s, " probe_user={u:?}");
            }
            if let Some(u) = &c.accepted_user {
                let _ = write!(s, " accepted={u:?} commands={}", c.commands);
            }
            ssh_client_text(&mut s, &c.client);
            if !c.preview.is_empty() {
                let _ = write!(s, " first={:?}", c.preview);
            }
        }
        Event::LureAccess(l) => {
            let _ = write!(
                s,
                " {} owner={} {:?} path={:?} seen_by={:?}",
                l.lure, l.owner, l.action, l.path, l.seen_by
            );
            if let Some(p) = &l.process {
                let _ = write!(s, " pid={}", p.pid);
                if let Some(u) = p.uid {
                    let _ = write!(s, " uid={u}");
                }
                if let Some(u) = p.login_uid {
                    let _ = write!(s, " login_uid={u}");
                }
                if let Some(e) = &p.exe {
                    let _ = write!(s, " exe={e:?}");
                }
            }
        }
        Event::HoneytokenUsed(h) => {
            let _ = write!(
                s,
                " lure={} owner={} via={:?} accepted={}",
                h.lure.as_deref().unwrap_or("unknown"),
                h.owner.as_deref().unwrap_or("unknown"),
                h.via,
                h.accepted
            );
            let _ = write!(s, " lure_id={}", h.lure_id);
            if let Some(u) = &h.username {
                let _ = write!(s, " user={u:?}");
            }
        }
    }
    if r.count > 1 {
        let _ = write!(
            s,
            " (x{} until {})",
            r.count,
            r.last_at.map(|t| t.to_string()).unwrap_or_default()
        );
    }
    s
}
