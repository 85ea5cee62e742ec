//! Attackers send garbage by design. Every hostile input gets a realistic answer or a closed
//! connection, is recorded, and never stops other clients from being served or makes memory
//! grow without bound.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::harness::*;

const LIMITED: &str = "kind: http\nlisten: 127.0.0.1:0\nanswer_delay: 0s\nlimits:\n  header_read_timeout: 1s\n  body_read_timeout: 1s\n  write_timeout: 1s\n  max_header_size: 16KiB\n  max_body_size: 8KiB\n  max_connections: 64\n  max_connections_per_source: 8\n";

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A normal client still gets the login page, promptly enough to be useful.
fn still_serves(addr: SocketAddr, from: &str) {
    let (ok, page) = curl(&[
        "--interface",
        from,
        "--max-time",
        "5",
        &format!("http://{addr}/"),
    ]);
    assert!(
        ok && page.contains("<form"),
        "a normal client from {from} was not served"
    );
}

#[test]
fn oversized_heads_and_bodies_get_nginx_answers() {
    let sensor = Sensor::new().decoy("web", LIMITED);
    let d = sensor.start();
    let addr = d.addr("web");

    let big_header = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Junk: {}\r\n\r\n",
        "a".repeat(40_000)
    );
    let answer = text(&raw(addr, big_header.as_bytes(), Duration::from_secs(10)));
    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{answer}"
    );
    assert!(
        answer.contains("<title>400 Request Header Or Cookie Too Large</title>"),
        "{answer}"
    );

    let long_line = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(40_000));
    let answer = text(&raw(addr, long_line.as_bytes(), Duration::from_secs(10)));
    assert!(
        answer.starts_with("HTTP/1.1 414 Request-URI Too Large\r\n"),
        "{answer}"
    );

    // A declared body over the limit is refused without reading it.
    let declared = "POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n";
    let answer = text(&raw(addr, declared.as_bytes(), Duration::from_secs(10)));
    assert!(
        answer.starts_with("HTTP/1.1 413 Request Entity Too Large\r\n"),
        "{answer}"
    );

    // A chunked body that grows past the limit is cut off the same way.
    let mut chunked =
        b"POST /login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..20 {
        chunked.extend_from_slice(format!("400\r\n{}\r\n", "b".repeat(1024)).as_bytes());
    }
    let answer = text(&raw(addr, &chunked, Duration::from_secs(10)));
    assert!(
        answer.starts_with("HTTP/1.1 413 Request Entity Too Large\r\n"),
        "{answer}"
    );

    let events = sensor.events();
    let malformed = of_type(&events, "http_malformed");
    let reasons: Vec<_> = malformed
        .iter()
        .map(|e| e["event"]["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, vec!["head_too_large", "request_line_too_long"]);
    let too_large: Vec<_> = of_type(&events, "http_request")
        .into_iter()
        .filter(|e| e["event"]["status"] == 413)
        .collect();
    assert_eq!(too_large.len(), 2, "{events:#?}");
    still_serves(addr, "127.0.0.1");
}

#[test]
fn garbage_tls_and_http2_prefaces_are_answered_like_nginx_and_recorded() {
    let sensor = Sensor::new().decoy("web", LIMITED);
    let d = sensor.start();
    let addr = d.addr("web");

    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let answer = text(&raw(addr, &garbage, Duration::from_secs(10)));
    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\nServer: nginx/1.24.0 (Ubuntu)\r\n"),
        "{answer}"
    );

    let client_hello = b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03";
    let answer = text(&raw(addr, client_hello, Duration::from_secs(10)));
    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{answer}"
    );

    // The HTTP/2 preface followed by a SETTINGS frame, as an h2c prior-knowledge client sends.
    let mut h2 = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    h2.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    let answer = text(&raw(addr, &h2, Duration::from_secs(10)));
    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{answer}"
    );

    // curl's own h2c attempt (prior knowledge) fails the way it does against this nginx.
    let (ok, _) = curl(&["--http2-prior-knowledge", &format!("http://{addr}/")]);
    assert!(
        !ok,
        "HTTP/2 must not be spoken on a cleartext HTTP/1.1 decoy"
    );

    // nginx refuses versions it does not speak, and HTTP/1.1 without a Host.
    let answer = text(&raw(
        addr,
        b"GET / HTTP/2.0\r\nHost: x\r\n\r\n",
        Duration::from_secs(10),
    ));
    assert!(
        answer.starts_with("HTTP/1.1 505 HTTP Version Not Supported\r\n"),
        "{answer}"
    );
    let answer = text(&raw(
        addr,
        b"GET / HTTP/1.1\r\n\r\n",
        Duration::from_secs(10),
    ));
    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\n") && answer.contains("Connection: close"),
        "{answer}"
    );

    let events = sensor.events();
    let malformed = of_type(&events, "http_malformed");
    let reasons: Vec<_> = malformed
        .iter()
        .map(|e| e["event"]["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        vec![
            "bad_request_line",
            "tls_handshake",
            "http2_preface",
            "http2_preface",
            "unsupported_version"
        ]
    );
    assert!(
        malformed[1]["event"]["preview"]
            .as_str()
            .unwrap()
            .starts_with("\\x16\\x03\\x01")
    );
    assert_eq!(malformed[0]["event"]["status"], 400);
    still_serves(addr, "127.0.0.1");
}

#[test]
fn a_slowloris_is_cut_off_and_cannot_starve_other_clients() {
    let sensor = Sensor::new().decoy("web", LIMITED);
    let d = sensor.start();
    let addr = d.addr("web");

    // More slow connections from one address than its cap allows.
    let mut slow: Vec<TcpStream> = Vec::new();
    for _ in 0..20 {
        let mut s = TcpStream::connect(addr).unwrap();
        let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-a: ");
        slow.push(s);
    }
    // Other clients, from another address and even from the same one once slots free up,
    // are served while the slow ones hang.
    still_serves(addr, "127.0.0.2");
    // Every slow connection ends: refused over the cap at once, or cut at the header timeout,
    // however long the client keeps trickling bytes.
    let started = Instant::now();
    for s in &mut slow {
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
    }
    let mut open = slow.len();
    while open > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{open} slow connections were never closed"
        );
        open = 0;
        for s in &mut slow {
            let _ = s.write_all(b"b");
            let mut buf = [0u8; 1024];
            match s.read(&mut buf) {
                Ok(0) => {}
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut =>
                {
                    open += 1
                }
                Ok(_) | Err(_) => {}
            }
        }
    }
    still_serves(addr, "127.0.0.1");
    let metrics = d.metrics();
    let refused: u64 = metrics
        .lines()
        .find(|l| l.starts_with("decoyd_connections_refused_total{decoy=\"web\",cap=\"max_connections_per_source\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(
        refused >= 1,
        "the per-source cap refused nothing:\n{metrics}"
    );
    // Every slow connection is accounted for: cut at the header timeout, or refused at the
    // cap and recorded, counted per source, within a few seconds.
    let sum = |events: &[serde_json::Value], ty: &str, ended: Option<&str>| -> u64 {
        of_type(events, ty)
            .into_iter()
            .filter(|e| ended.is_none_or(|x| e["event"]["ended"] == x))
            .map(|e| e["count"].as_u64().unwrap())
            .sum()
    };
    let events = wait_for("refusals to be recorded", Duration::from_secs(20), || {
        let ev = sensor.events();
        (sum(&ev, "connection_refused", None) == refused).then_some(ev)
    });
    let timeouts = sum(&events, "connection", Some("timeout"));
    assert_eq!(
        timeouts + refused,
        20,
        "{timeouts} cut at the timeout, {refused} refused"
    );
    let r = of_type(&events, "connection_refused")[0];
    assert_eq!(r["event"]["cap"], "max_connections_per_source");
}

#[test]
fn a_slow_body_is_cut_off_at_the_body_timeout() {
    let sensor = Sensor::new().decoy("web", LIMITED);
    let d = sensor.start();
    let mut s = TcpStream::connect(d.addr("web")).unwrap();
    s.write_all(b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nusername=a").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    assert!(
        out.is_empty(),
        "no answer to an unfinished body: {}",
        text(&out)
    );
    let events = sensor.events();
    let reqs = of_type(&events, "http_request");
    assert_eq!(reqs.len(), 1);
    assert!(reqs[0]["event"].get("status").is_none(), "{:#?}", reqs[0]);
}

#[test]
fn a_flood_of_hostile_connections_keeps_memory_bounded() {
    let flood = LIMITED
        .replace("max_connections: 64", "max_connections: 256")
        .replace("per_source: 8", "per_source: 256");
    let sensor = Sensor::new().decoy("web", &flood);
    let d = sensor.start();
    let addr = d.addr("web");
    let idle = d.rss_kib();
    // A bounded flood: 8 threads x 150 rounds of garbage, oversized heads and bodies,
    // abandoned heads and login attempts.
    let threads: Vec<_> = (0..8u8)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..150 {
                    let payload: Vec<u8> = match i % 5 {
                        0 => vec![0xff; 20_000],
                        1 => format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "z".repeat(30_000)).into_bytes(),
                        2 => b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n".to_vec(),
                        3 => b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec(),
                        _ => {
                            let body = format!("username=u{i:03}&password=p{t:04}");
                            format!(
                                "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                                body.len()
                            )
                            .into_bytes()
                        }
                    };
                    let sock = std::net::TcpStream::connect(addr);
                    let Ok(mut s) = sock else { continue };
                    let _ = s.write_all(&payload);
                    if i % 5 != 3 {
                        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                        let mut sink = Vec::new();
                        let _ = s.read_to_end(&mut sink);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let after = d.rss_kib();
    // A loose bound (debug build): the flood must not add more than 64 MiB.
    assert!(
        after < idle + 64 * 1024,
        "RSS grew from {idle} KiB to {after} KiB"
    );
    still_serves(addr, "127.0.0.1");
    let logins = of_type(&sensor.events(), "http_request")
        .into_iter()
        .filter(|e| e["event"]["method"] == "POST" && e["event"]["status"] == 200)
        .map(|e| e["count"].as_u64().unwrap())
        .sum::<u64>();
    assert_eq!(
        logins,
        8 * 30,
        "every answered login of the flood was recorded"
    );
}

#[test]
fn heads_hyper_cannot_parse_are_recorded_first_and_answered_like_nginx() {
    let sensor = Sensor::new().decoy("web", LIMITED);
    let d = sensor.start();
    let addr = d.addr("web");
    // A header line without a colon in the first request.
    let answer = text(&raw(
        addr,
        b"GET / HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n",
        Duration::from_secs(10),
    ));
    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\nServer: nginx/1.24.0 (Ubuntu)\r\n"),
        "{answer}"
    );
    assert!(
        answer.contains("<center><h1>400 Bad Request</h1></center>"),
        "{answer}"
    );
    // More header lines than any client sends (but within the size limit).
    let mut many = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..300 {
        many.extend_from_slice(format!("X-{i}: 1\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    let answer = text(&raw(addr, &many, Duration::from_secs(10)));
    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\nServer: nginx/1.24.0 (Ubuntu)\r\n")
            && answer.contains("Request Header Or Cookie Too Large"),
        "{answer}"
    );
    // A good request, then a broken one pipelined behind it: both answered, both recorded.
    let answer = text(&raw(
        addr,
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\n\r\n",
        Duration::from_secs(10),
    ));
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(
        answer.contains("HTTP/1.1 400 Bad Request\r\nServer: nginx/1.24.0 (Ubuntu)\r\n"),
        "{answer}"
    );
    assert!(
        !answer.contains("content-length: 0") && !answer.contains("Content-Length: 0\r\nDate"),
        "hyper's own answer leaked: {answer}"
    );
    let events = sensor.events();
    let reasons: Vec<_> = of_type(&events, "http_malformed")
        .iter()
        .map(|e| {
            (
                e["event"]["reason"].as_str().unwrap().to_string(),
                e["event"]["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        vec![
            ("bad_request_head".to_string(), 400),
            ("head_too_large".to_string(), 400),
            ("bad_request_head".to_string(), 400)
        ]
    );
    assert_eq!(of_type(&events, "http_request").len(), 1);
}

#[test]
fn a_client_that_never_reads_its_answers_is_cut_off() {
    let sensor = Sensor::new().decoy("web", LIMITED);
    let d = sensor.start();
    let open = |n: u32| {
        d.metrics()
            .contains(&format!("decoyd_connections_open{{decoy=\"web\"}} {n}"))
    };
    let mut s = TcpStream::connect(d.addr("web")).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    wait_for("the connection to be open", Duration::from_secs(10), || {
        open(1).then_some(())
    });
    // Keep sending requests and never read: the answers pile up until the socket is full,
    // and the decoy's writes stall.
    s.set_write_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let started = Instant::now();
    while !open(0) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "a client that never reads kept its connection"
        );
        match s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") {
            Err(e)
                if e.kind() != std::io::ErrorKind::WouldBlock
                    && e.kind() != std::io::ErrorKind::TimedOut =>
            {
                break;
            }
            _ => {}
        }
    }
    wait_for("the slot to be free", Duration::from_secs(10), || {
        open(0).then_some(())
    });
}

#[test]
fn a_bare_connect_and_close_is_a_touch_without_a_preview() {
    let sensor = Sensor::new().decoy("web", LIMITED);
    let d = sensor.start();
    drop(TcpStream::connect(d.addr("web")).unwrap());
    let events = wait_for(
        "the connection to be recorded",
        Duration::from_secs(10),
        || {
            let ev = sensor.events();
            (!of_type(&ev, "connection").is_empty()).then_some(ev)
        },
    );
    let c = &of_type(&events, "connection")[0]["event"];
    assert_eq!(c["ended"], "closed");
    assert_eq!(c["bytes"], 0);
    assert!(c.get("preview").is_none(), "{c}");
}
