//! The HTTP login decoy against curl: what an attacker sees, and what the operator reads back.

use crate::harness::*;

#[test]
fn curl_get_form_json_and_basic_are_recorded_with_passwords_hashed() {
    let sensor = Sensor::new().decoy("web", WEB);
    let d = sensor.start();
    let base = format!("http://{}", d.addr("web"));

    let (ok, page) = curl(&["-A", "Mozilla/5.0 test", &format!("{base}/")]);
    assert!(
        ok && page.contains("<form") && page.contains("password"),
        "{page}"
    );

    let (ok, page) = curl(&[
        "-d",
        "username=alice&password=Zq-form-secret-81",
        &format!("{base}/login"),
    ]);
    assert!(
        ok && page.contains("Invalid username or password."),
        "{page}"
    );

    let (ok, body) = curl(&[
        "-H",
        "Content-Type: application/json",
        "-d",
        r#"{"username":"bob","password":"Zq-json-secret-82"}"#,
        &format!("{base}/api/login?next=%2Fdash"),
    ]);
    assert!(ok && body.contains("invalid_credentials"), "{body}");

    let (ok, code) = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-u",
        "carol:Zq-basic-secret-83",
        &format!("{base}/admin"),
    ]);
    assert!(ok);
    assert_eq!(code, "401");

    // While the daemon runs, `events` goes through the admin API.
    let events = sensor.events();
    let reqs = of_type(&events, "http_request");
    assert_eq!(reqs.len(), 4, "{events:#?}");
    let get = reqs[0];
    assert_eq!(get["event"]["method"], "GET");
    assert_eq!(get["event"]["path"], "/");
    assert_eq!(get["event"]["user_agent"], "Mozilla/5.0 test");
    assert_eq!(get["event"]["status"], 200);
    assert_eq!(get["decoy"], "web");
    assert_eq!(get["sensor"], "test-sensor");
    assert!(get["source"].as_str().unwrap().starts_with("127.0.0.1:"));

    let form = &reqs[1]["event"];
    assert_eq!(form["method"], "POST");
    assert_eq!(form["path"], "/login");
    let cred = &form["credentials"][0];
    assert_eq!(cred["source"], "form");
    assert_eq!(cred["username"], "alice");
    assert_eq!(cred["password"]["length"], 17);
    assert_eq!(
        cred["password"]["classes"],
        serde_json::json!(["lower", "upper", "digit", "symbol"])
    );
    assert_eq!(cred["password"]["hmac"].as_str().unwrap().len(), 32);
    assert!(cred["password"].get("plaintext").is_none());
    assert_eq!(form["fields"], serde_json::json!(["username", "password"]));

    let json = &reqs[2]["event"];
    assert_eq!(json["credentials"][0]["source"], "json");
    assert_eq!(json["credentials"][0]["username"], "bob");
    assert_eq!(json["query"], "next=%2Fdash");
    assert_eq!(json["status"], 401);

    let basic = &reqs[3]["event"];
    assert_eq!(basic["credentials"][0]["source"], "basic");
    assert_eq!(basic["credentials"][0]["username"], "carol");
    let auth = basic["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0] == "authorization")
        .unwrap();
    assert_eq!(auth[1], "Basic [redacted]");

    // No plaintext password anywhere: not in the events, not in any file the daemon wrote.
    let text = serde_json::to_string(&events).unwrap();
    for secret in [
        "Zq-form-secret-81",
        "Zq-json-secret-82",
        "Zq-basic-secret-83",
    ] {
        assert!(!text.contains(secret), "{secret} leaked into events");
    }
    assert_eq!(d.stop().code(), Some(0));
    let files = all_bytes_under(&sensor.data());
    for secret in [
        "Zq-form-secret-81",
        "Zq-json-secret-82",
        "Zq-basic-secret-83",
    ] {
        assert!(
            !contains(&files, secret),
            "{secret} leaked into the data dir"
        );
    }

    // With the daemon stopped, `events` reads the store directly and sees the same records.
    let offline = sensor.events();
    assert_eq!(offline.len(), events.len());
    assert_eq!(
        offline[1]["event"]["credentials"],
        events[1]["event"]["credentials"]
    );
}

#[test]
fn the_same_password_gets_the_same_keyed_hash_across_restarts_and_paths() {
    let sensor = Sensor::new().decoy("web", WEB);
    let d = sensor.start();
    let base = format!("http://{}", d.addr("web"));
    curl(&[
        "-d",
        "username=a&password=Same-Pw-1",
        &format!("{base}/login"),
    ]);
    curl(&["-u", "b:Same-Pw-1", &format!("{base}/")]);
    curl(&[
        "-d",
        "username=a&password=Other-Pw-2",
        &format!("{base}/login"),
    ]);
    assert_eq!(d.stop().code(), Some(0));
    let d = sensor.start();
    curl(&[
        "-d",
        "username=c&password=Same-Pw-1",
        &format!("http://{}/login", d.addr("web")),
    ]);
    let hmacs: Vec<String> = of_type(&sensor.events(), "http_request")
        .iter()
        .map(|e| {
            e["event"]["credentials"][0]["password"]["hmac"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(hmacs.len(), 4);
    assert_eq!(hmacs[0], hmacs[1], "form and Basic, same password");
    assert_eq!(
        hmacs[0], hmacs[3],
        "same password after a restart (the sensor secret persists)"
    );
    assert_ne!(hmacs[0], hmacs[2], "another password");
}

#[test]
fn the_lab_switch_keeps_plaintext_passwords() {
    let main = format!("{MAIN}capture_passwords: plaintext\n");
    let sensor = Sensor::with_main(&main).decoy("web", WEB);
    let d = sensor.start();
    let base = format!("http://{}", d.addr("web"));
    curl(&[
        "-d",
        "username=alice&password=lab-visible-1",
        &format!("{base}/login"),
    ]);
    let events = sensor.events();
    let cred = &of_type(&events, "http_request")[0]["event"]["credentials"][0];
    assert_eq!(cred["password"]["plaintext"], "lab-visible-1");
    assert_eq!(cred["password"]["length"], 13);
    drop(d);
}

#[test]
fn the_answer_is_sent_only_after_the_delay_and_the_page_looks_like_nginx() {
    let sensor = Sensor::new().decoy(
        "web",
        "kind: http\nlisten: 127.0.0.1:0\nanswer_delay: 300ms\n",
    );
    let d = sensor.start();
    let base = format!("http://{}", d.addr("web"));
    let (_, headers) = curl(&["-D", "-", "-o", "/dev/null", &format!("{base}/nope")]);
    assert!(
        headers.starts_with("HTTP/1.1 404 Not Found\r\nServer: nginx/1.24.0 (Ubuntu)\r\nDate: "),
        "{headers}"
    );
    let (_, page) = curl(&[&format!("{base}/nope")]);
    assert!(
        page.contains("<center><h1>404 Not Found</h1></center>"),
        "{page}"
    );
    let (_, favicon) = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code} %{content_type} %{size_download}",
        &format!("{base}/favicon.ico"),
    ]);
    assert!(favicon.starts_with("200 image/x-icon "), "{favicon}");
    // The configured delay applies to login attempts: curl's own timer sees it.
    let (_, t) = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{time_total}",
        "-d",
        "username=a&password=b",
        &format!("{base}/login"),
    ]);
    let secs: f64 = t.parse().unwrap();
    assert!(
        secs >= 0.29,
        "login answered after {secs}s, before the 300ms delay"
    );
    drop(d);
}

#[test]
fn events_follow_prints_new_touches_as_they_arrive() {
    use std::io::{BufRead, BufReader};
    let sensor = Sensor::new().decoy("web", WEB);
    let d = sensor.start();
    let base = format!("http://{}", d.addr("web"));
    curl(&[&format!("{base}/before")]);
    let mut follow = std::process::Command::new(bin())
        .args(["events", "--json", "--follow", "-n", "10", "-c"])
        .arg(sensor.config())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(follow.stdout.take().unwrap()).lines();
    // If the follower ever stopped printing, the reads below would block: a watchdog ends it
    // through its handle (never by a PID that may have been reused).
    let follow = std::sync::Arc::new(std::sync::Mutex::new(Some(follow)));
    let watchdog = follow.clone();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(60));
        if let Some(c) = watchdog.lock().unwrap().as_mut() {
            let _ = c.kill();
        }
    });
    let first: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["event"]["path"], "/before");
    curl(&[&format!("{base}/after")]);
    let next: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(next["event"]["path"], "/after");
    let mut follow = follow.lock().unwrap().take().unwrap();
    follow.kill().unwrap();
    follow.wait().unwrap();
    drop(d);
}

#[test]
fn events_filters_by_decoy_and_source() {
    let sensor = Sensor::new().decoy("one", WEB).decoy("two", WEB);
    let d = sensor.start();
    curl(&[&format!("http://{}/a", d.addr("one"))]);
    curl(&[
        "--interface",
        "127.0.0.2",
        &format!("http://{}/b", d.addr("two")),
    ]);
    curl(&[&format!("http://{}/c", d.addr("two"))]);
    let out = sensor.cli(&["events", "--json", "--decoy", "two"]);
    let paths: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["event"]["path"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(paths, vec!["/b", "/c"]);
    let out = sensor.cli(&["events", "--json", "--source", "127.0.0.2"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("\"/b\""));
    // The text format quotes what the attacker sent.
    let out = sensor.cli(&["events", "-n", "1"]);
    let line = String::from_utf8_lossy(&out.stdout);
    assert!(
        line.contains("two 127.0.0.1:") && line.contains("\"/c\""),
        "{line}"
    );
    drop(d);
}

#[test]
fn events_refuses_to_open_a_store_owned_by_another_user() {
    let sensor = Sensor::new().decoy("web", WEB);
    let d = sensor.start();
    curl(&[&format!("http://{}/", d.addr("web"))]);
    assert_eq!(d.stop().code(), Some(0));
    use std::os::unix::fs::MetadataExt;
    let mine = std::fs::metadata(sensor.data()).unwrap().uid();
    // Only root can hand the data dir to another user; elsewhere there is nothing to check.
    if std::os::unix::fs::chown(sensor.data(), Some(65534), None).is_err() {
        eprintln!("not root: cannot create a data dir owned by another user; skipped");
        return;
    }
    let out = sensor.cli(&["events"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("belongs to uid 65534"), "{stderr}");
    std::os::unix::fs::chown(sensor.data(), Some(mine), None).unwrap();
    assert!(sensor.cli(&["events"]).status.success());
}

#[test]
fn no_typed_password_reaches_the_store_or_the_log_by_any_path() {
    use std::io::Write;
    use std::time::Duration;
    let limits = "kind: http\nlisten: 127.0.0.1:0\nanswer_delay: 0s\nlimits:\n  header_read_timeout: 1s\n  body_read_timeout: 1s\n";
    let sensor = Sensor::new().decoy("web", limits);
    let d = sensor.start_with(&["-vv"]);
    let addr = d.addr("web");
    let base = format!("http://{addr}");
    // A request line that never ends (cut at the header timeout), and one with a bad version.
    let mut slow = std::net::TcpStream::connect(addr).unwrap();
    slow.write_all(b"GET /login?user=a&password=Zq-leak1")
        .unwrap();
    raw(
        addr,
        b"GET /login?user=a&password=Zq-leak2 HTTP/2.0\r\n\r\n",
        Duration::from_secs(10),
    );
    // A body that never finishes, with the password in what did arrive.
    raw(
        addr,
        b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nusername=a&password=Zq-leak3",
        Duration::from_secs(10),
    );
    curl(&[
        "-e",
        "http://intranet/login?username=a&password=Zq-leak4",
        &format!("{base}/"),
    ]);
    curl(&[&format!("{base}/login?u=admin&p=Zq-leak5")]);
    curl(&["-u", "admin:Zq-leak6", &format!("{base}/")]);
    curl(&[
        "-d",
        "username=a&password=Zq-leak7",
        &format!("{base}/login"),
    ]);
    curl(&[
        "-H",
        "Content-Type: application/json",
        "-d",
        r#"{"user":"a","pass":"Zq-leak8"}"#,
        &format!("{base}/login"),
    ]);
    curl(&["-H", "Cookie: JSESSIONID=Zq-leak9", &format!("{base}/")]);
    // Request lines of odd shapes: a double space, an unusual method with a bad version.
    raw(
        addr,
        b"GET  /login?user=a&password=Zq-leak10 HTTP/1.1\r\n\r\n",
        Duration::from_secs(10),
    );
    raw(
        addr,
        b"M-SEARCH /login?password=Zq-leak11 HTTP/3.0\r\n\r\n",
        Duration::from_secs(10),
    );
    raw(
        addr,
        b"GET /login?q=1;password=Zq-leak12 HTTP/1.1\r\nHost: x\r\n\r\n",
        Duration::from_secs(10),
    );
    wait_for(
        "the slow request to be cut off",
        Duration::from_secs(10),
        || of_type(&sensor.events(), "connection").first().map(|_| ()),
    );
    drop(slow);
    let events = serde_json::to_string(&sensor.events()).unwrap();
    let log = d.log();
    assert_eq!(d.stop().code(), Some(0));
    let files = all_bytes_under(&sensor.data());
    for i in 1..=12 {
        let secret = format!("Zq-leak{i}");
        assert!(
            !events.contains(&secret),
            "{secret} is in the events: {events}"
        );
        assert!(!log.contains(&secret), "{secret} is in the log");
        assert!(!contains(&files, &secret), "{secret} is in the data dir");
    }
    // And yet every one of those requests was recorded.
    assert!(
        events.matches("\"type\":\"http_request\"").count() >= 6,
        "{events}"
    );
}
