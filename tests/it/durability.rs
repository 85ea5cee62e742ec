//! Nothing answered is ever lost: a crash (SIGKILL) in the middle of a stream of logins loses
//! no touch whose answer reached the client, and while the daemon runs, the flushed sequence
//! always covers every answered touch.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::harness::*;

/// One keep-alive client: POSTs unique credentials until told to stop or the connection dies.
/// Returns the usernames whose answers arrived complete.
fn client(
    addr: SocketAddr,
    id: usize,
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicU64>,
) -> Vec<String> {
    let mut seen = Vec::new();
    let Ok(stream) = TcpStream::connect(addr) else {
        return seen;
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        let user = format!("user-{id}-{i}");
        let body = format!("username={user}&password=pw-{id}-{i}");
        let req = format!(
            "POST /login HTTP/1.1\r\nHost: decoy\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if writer.write_all(req.as_bytes()).is_err() {
            break;
        }
        // Read one whole response: status line, headers, Content-Length bytes of body.
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || !line.starts_with("HTTP/1.1 200") {
            break;
        }
        let mut len = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return seen;
            }
            if h == "\r\n" {
                break;
            }
            if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            break;
        }
        // Only now has the client seen the answer.
        answered.fetch_add(1, Ordering::SeqCst);
        seen.push(user);
        i += 1;
    }
    seen
}

fn login_touches(events: &[serde_json::Value]) -> Vec<&serde_json::Value> {
    events
        .iter()
        .filter(|e| e["event"]["type"] == "http_request" && e["event"]["method"] == "POST")
        .collect()
}

#[test]
fn every_answered_login_survives_sigkill_and_the_flushed_sequence_covers_answers() {
    let sensor = Sensor::new().decoy("web", WEB);
    let d = sensor.start();
    let addr = d.addr("web");
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..24)
        .map(|id| {
            let (stop, answered) = (stop.clone(), answered.clone());
            std::thread::spawn(move || client(addr, id, stop, answered))
        })
        .collect();

    // While running: sample (answers seen so far, flushed sequence) pairs. The answers are
    // counted before the status request, so every one of them must be at or below that seq.
    let samples = Arc::new(Mutex::new(Vec::new()));
    wait_for("clients to get going", Duration::from_secs(30), || {
        (answered.load(Ordering::SeqCst) > 200).then_some(())
    });
    for _ in 0..10 {
        let a = answered.load(Ordering::SeqCst);
        let f = d.status().store.flushed.seq;
        samples.lock().unwrap().push((a, f));
        std::thread::sleep(Duration::from_millis(30));
    }
    let before_kill = answered.load(Ordering::SeqCst);
    d.kill();
    stop.store(true, Ordering::Relaxed);
    let mut seen: HashSet<String> = HashSet::new();
    for c in clients {
        seen.extend(c.join().unwrap());
    }
    let total = answered.load(Ordering::SeqCst);
    assert!(total >= before_kill && total > 200, "{total} answers");
    assert_eq!(seen.len() as u64, total, "usernames are unique per request");

    // After the crash, straight from the store: every answered login is there.
    let events = sensor.events();
    let logins = login_touches(&events);
    let stored: HashSet<String> = logins
        .iter()
        .map(|e| {
            e["event"]["credentials"][0]["username"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let missing: Vec<_> = seen.difference(&stored).take(5).collect();
    assert!(
        missing.is_empty(),
        "answered but not stored after SIGKILL: {missing:?} (of {total})"
    );
    let counted: u64 = logins.iter().map(|e| e["count"].as_u64().unwrap()).sum();
    assert!(counted >= total, "stored {counted} < answered {total}");

    for (a, f) in samples.lock().unwrap().iter() {
        let covered: u64 = logins
            .iter()
            .filter(|e| e["seq"].as_u64().unwrap() <= *f)
            .map(|e| e["count"].as_u64().unwrap())
            .sum();
        assert!(
            covered >= *a,
            "flushed seq {f} covers {covered} logins but {a} had been answered"
        );
    }

    // And the daemon comes back on the same store, continuing the sequence.
    let d = sensor.start();
    let last = events.last().unwrap()["seq"].as_u64().unwrap();
    assert_eq!(d.status().store.flushed.seq, last);
    curl(&[&format!("http://{}/again", d.addr("web"))]);
    let after = sensor.events();
    assert_eq!(after.last().unwrap()["seq"].as_u64().unwrap(), last + 1);
    assert_eq!(d.stop().code(), Some(0));
}

/// Surviving SIGKILL proves nothing about the disk (the page cache survives it too). This
/// watches the daemon's system calls instead: between reading each login request and writing
/// its answer, an fdatasync must have completed.
#[test]
fn every_answer_waits_for_an_fdatasync() {
    let sensor = Sensor::new().decoy("web", WEB);
    let d = sensor.start();
    let url = format!("http://{}/login", d.addr("web"));
    let trace = sensor.dir.path().join("strace.txt");
    let mut strace = std::process::Command::new("strace")
        .args([
            "-f",
            "-qq",
            "-e",
            "trace=fdatasync,read,recvfrom,write,writev,sendto",
            "-o",
        ])
        .arg(&trace)
        .args(["-p", &d.pid.to_string()])
        .spawn()
        .expect("strace is installed");
    // strace is attached once it records the daemon answering a probe.
    wait_for("strace to attach", Duration::from_secs(20), || {
        curl(&[&format!("http://{}/probe", d.addr("web"))]);
        std::fs::read_to_string(&trace)
            .ok()
            .filter(|t| t.contains("HTTP/1.1 404"))
            .map(|_| ())
    });
    for i in 0..3 {
        let (ok, _) = curl(&["-d", &format!("username=s{i}&password=p{i}"), &url]);
        assert!(ok);
    }
    // Ends the tracer through its handle (it detaches; the daemon runs on).
    std::process::Command::new("kill")
        .args(["-INT", &strace.id().to_string()])
        .status()
        .unwrap();
    strace.wait().unwrap();

    let text = std::fs::read_to_string(&trace).unwrap();
    let (mut pending, mut synced, mut answered) = (false, false, 0);
    for line in text.lines() {
        let fdatasync_done = (line.contains(" fdatasync(") && !line.contains("<unfinished"))
            || line.contains("<... fdatasync resumed>");
        if line.contains("\"POST /login") {
            (pending, synced) = (true, false);
        } else if pending && fdatasync_done && line.trim_end().ends_with("= 0") {
            synced = true;
        } else if pending && line.contains("\"HTTP/1.1 200 OK") {
            assert!(
                synced,
                "a login was answered before any fdatasync completed:\n{text}"
            );
            pending = false;
            answered += 1;
        }
    }
    assert_eq!(
        answered, 3,
        "all three answers were seen in the trace:\n{text}"
    );
    drop(d);
}

#[test]
fn sigterm_finishes_answers_in_flight_and_exits_cleanly() {
    let sensor = Sensor::new().decoy(
        "web",
        "kind: http\nlisten: 127.0.0.1:0\nanswer_delay: 1500ms\n",
    );
    let d = sensor.start();
    let url = format!("http://{}/login", d.addr("web"));
    let pending = std::thread::spawn(move || {
        curl(&[
            "-d",
            "username=late&password=x",
            "-w",
            "%{http_code}",
            "-o",
            "/dev/null",
            &url,
        ])
    });
    // Wait until the request is being answered (its touch is on disk, the delay is running).
    wait_for("the login to be recorded", Duration::from_secs(10), || {
        (d.status().store.flushed.touches > 0).then_some(())
    });
    d.signal("TERM");
    let (ok, code) = pending.join().unwrap();
    assert!(ok, "the client in flight got its answer");
    assert_eq!(code, "200");
    let mut d = d;
    assert_eq!(d.wait(Duration::from_secs(20)).code(), Some(0));
    assert!(d.log().contains("every touch is on disk"), "{}", d.log());
    let events = sensor.events();
    assert_eq!(events[0]["event"]["credentials"][0]["username"], "late");
}

/// Reopening the store reads each log segment into one segment-sized buffer (8 MiB) and frees
/// it. That memory must go back to the system: with glibc's dynamic thresholds it stayed in
/// the heap, and a restarted sensor idled with about 8 MiB more than a new one.
#[test]
fn a_restarted_sensor_idles_in_as_little_memory_as_a_new_one() {
    let sensor = Sensor::new().decoy("web", WEB);
    let login = |d: &Daemon| {
        let url = format!("http://{}/login", d.addr("web"));
        let (ok, code) = curl(&[
            "-d",
            "username=u&password=p",
            "-w",
            "%{http_code}",
            "-o",
            "/dev/null",
            &url,
        ]);
        assert!(ok && code == "200", "login answered: {code}");
        d.status();
    };
    let d = sensor.start();
    login(&d);
    let new = d.anon_kib();
    assert_eq!(d.stop().code(), Some(0));
    let d = sensor.start();
    login(&d);
    let restarted = d.anon_kib();
    assert!(
        restarted < new + 3 * 1024,
        "anonymous memory: {new} KiB when new, {restarted} KiB after a restart"
    );
    assert_eq!(sensor.events().len(), 2, "both logins are stored");
}

/// Sends `n` GETs over keep-alive connections from `threads` clients; returns the answers seen.
fn many_gets(addr: SocketAddr, n: usize, threads: usize) -> usize {
    let per = n / threads;
    let clients: Vec<_> = (0..threads)
        .map(|t| {
            std::thread::spawn(move || {
                let stream = TcpStream::connect(addr).unwrap();
                stream.set_nodelay(true).unwrap();
                let mut writer = stream.try_clone().unwrap();
                let mut reader = BufReader::new(stream);
                let mut seen = 0;
                for i in 0..per {
                    // One write per request: split writes meet delayed ACKs and crawl.
                    let req = format!("GET /page-{t}-{i} HTTP/1.1\r\nHost: x\r\n\r\n");
                    writer.write_all(req.as_bytes()).unwrap();
                    let mut len = 0;
                    loop {
                        let mut h = String::new();
                        reader.read_line(&mut h).unwrap();
                        if h == "\r\n" {
                            break;
                        }
                        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap();
                        }
                    }
                    let mut body = vec![0; len];
                    reader.read_exact(&mut body).unwrap();
                    seen += 1;
                }
                seen
            })
        })
        .collect();
    clients.into_iter().map(|c| c.join().unwrap()).sum()
}

#[test]
fn events_pages_through_more_than_one_read_of_records() {
    let sensor = Sensor::new().decoy("web", WEB);
    let d = sensor.start();
    let answered = many_gets(d.addr("web"), 10_400, 8);
    assert_eq!(answered, 10_400);
    let count = |args: &[&str]| {
        let out = sensor.cli(args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).lines().count()
    };
    // Through the running daemon's API.
    assert_eq!(count(&["events", "--json", "-n", "100000"]), 10_400);
    assert_eq!(count(&["events", "--json", "-n", "10100"]), 10_100);
    assert_eq!(d.stop().code(), Some(0));
    // Straight from the store.
    assert_eq!(count(&["events", "--json", "-n", "100000"]), 10_400);
    let newest = sensor.cli(&["events", "--json", "-n", "10001"]);
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&newest.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 10_001);
    assert_eq!(
        lines.first().unwrap()["seq"],
        400,
        "the newest 10001 of 10400 start at seq 400"
    );
    assert_eq!(lines.last().unwrap()["seq"], 10_400);
}
