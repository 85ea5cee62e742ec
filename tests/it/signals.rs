//! Signals to identity providers, checked by an independent verifier: a small SSF push
//! receiver in Python that verifies decoyd's tokens with PyJWT against the JWKS it fetches
//! from the daemon, and answers the way Okta does.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::*;

const ISSUER: &str = "https://decoyd.test.example";

/// The receiver process.
struct Receiver(PyServer);

impl Receiver {
    fn start(dir: &Path, data: &Path, audience: &str, port: u16, extra: &[&str]) -> Receiver {
        let jwks = format!("@{}", data.join("admin.addr").display());
        let mut args = vec!["--jwks", &jwks, "--issuer", ISSUER, "--audience", audience];
        args.extend_from_slice(extra);
        Receiver(PyServer::start("ssf_receiver.py", dir, port, &args))
    }

    fn requests(&self) -> Vec<serde_json::Value> {
        self.0.requests()
    }

    fn accepted(&self) -> Vec<serde_json::Value> {
        self.requests()
            .into_iter()
            .filter(|r| r["status"] == 202)
            .collect()
    }
}

fn sensor(port: u16, receiver_extra: &str) -> Sensor {
    let main = format!(
        "sensor:\n  id: alice-laptop\n  data_dir: ./data\ndecoys_dir: ./decoys\nadmin:\n  listen: 127.0.0.1:0\nidentity:\n  email_domain: example.com\n  users: {{ alice: alice@example.com, bob: bob@example.com, carol: carol@example.com }}\nsignals:\n  issuer: {ISSUER}\n  max_retry_delay: 1s\n  auth_retry_delay: 1s\n  receivers:\n    - name: test\n      kind: ssf\n      url: http://127.0.0.1:{port}/events\n      events: [user-risk-change]\n      min_level: low\n{receiver_extra}"
    );
    Sensor::with_main(&main).decoy("web", WEB)
}

fn audience(port: u16) -> String {
    format!("http://127.0.0.1:{port}/events")
}

fn signals(s: &Sensor) -> Vec<serde_json::Value> {
    s.cli_json(&["signals", "--json"])
}

/// A login attempt as `user` at the web decoy: a listed user's name, so `low`.
fn login(d: &Daemon, user: &str) {
    let (ok, _) = curl(&[
        "-s",
        "-o",
        "/dev/null",
        "-d",
        &format!("username={user}&password=x"),
        &format!("http://{}/login", d.addr("web")),
    ]);
    assert!(ok);
}

#[test]
fn a_honeytoken_used_over_ssh_reaches_the_receiver_as_a_verified_high_risk_for_the_owner() {
    let port = free_port();
    let s = sensor(port, "").decoy("ssh", SSH).with_host_keys("ssh");
    let path = s.dir.path().join("home/alice/notes.txt");
    let s = s.decoy(
        "alice-notes",
        &format!("kind: lure\nhost: alice-laptop\npath: {}\nowner: alice\ntemplate: ssh-notes\ncredential_for: ssh\ntarget: {{ user: deploy }}\n", path.display()),
    );
    let d = s.start();
    let r = Receiver::start(s.dir.path(), &s.data(), &audience(port), port, &[]);
    let pw = fs::read_to_string(&path)
        .unwrap()
        .lines()
        .find_map(|l| l.trim().strip_prefix("pw: ").map(String::from))
        .unwrap();
    ssh_refused(d.addr("ssh"), "deploy", &pw, None);

    // Reading the note (to learn its password) already raised alice to medium; the token's
    // use raises her to high.
    let risk = |a: &serde_json::Value| {
        a["claims"]["events"]["https://schemas.okta.com/secevent/okta/event-type/user-risk-change"]
            ["current_level"]
            .clone()
    };
    let got = wait_for("a verified high signal", Duration::from_secs(20), || {
        r.accepted().into_iter().find(|a| risk(a) == "high")
    });
    assert_eq!(got["content_type"], "application/secevent+jwt");
    assert_eq!(got["accept"], "application/json");
    let claims = &got["claims"];
    assert_eq!(claims["iss"], ISSUER);
    let ev =
        &claims["events"]["https://schemas.okta.com/secevent/okta/event-type/user-risk-change"];
    assert_eq!(
        ev["subject"]["user"],
        serde_json::json!({"format": "email", "email": "alice@example.com"})
    );
    assert_eq!(ev["current_level"], "high");
    assert!(
        ev["previous_level"] == "none" || ev["previous_level"] == "medium",
        "{ev}"
    );
    assert_eq!(ev["initiating_entity"], "system");
    assert!(
        ev["reason_admin"]["en"]
            .as_str()
            .unwrap()
            .contains("honeytoken of lure alice-notes used at decoy ssh from 127.0.0.1"),
        "{ev}"
    );
    assert!(claims.get("sub_id").is_none() && claims.get("txn").is_none());
    // The outbox says so too, with the same jti.
    let out = wait_for("delivered in the outbox", Duration::from_secs(10), || {
        signals(&s)
            .into_iter()
            .find(|x| x["state"] == "delivered" && x["level"] == "high")
    });
    assert_eq!(out["jti"], got["jti"]);
    // The discovery document points at the JWKS the receiver used.
    let (code, body) = d.admin_get("/.well-known/ssf-configuration", false);
    assert_eq!(code, 200);
    let conf: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(conf["issuer"], ISSUER);
    assert_eq!(conf["jwks_uri"], format!("{ISSUER}/jwks.json"));
    assert_eq!(
        conf["delivery_methods_supported"],
        serde_json::json!(["urn:ietf:rfc:8935"])
    );
}

#[test]
fn signals_made_while_the_receiver_is_down_all_arrive_once_with_their_first_jti() {
    let port = free_port();
    let s = sensor(port, "");
    let d = s.start();
    for u in ["alice", "bob", "carol"] {
        login(&d, u);
    }
    let pending = wait_for("three signals retried", Duration::from_secs(20), || {
        let v = signals(&s);
        (v.len() == 3
            && v.iter()
                .all(|x| x["state"] == "pending" && x["attempts"].as_u64().unwrap() >= 1))
        .then_some(v)
    });
    let r = Receiver::start(s.dir.path(), &s.data(), &audience(port), port, &[]);
    let accepted = wait_for("all three delivered", Duration::from_secs(20), || {
        let a = r.accepted();
        (a.len() >= 3 && signals(&s).iter().all(|x| x["state"] == "delivered")).then_some(a)
    });
    assert_eq!(accepted.len(), 3, "{accepted:#?}");
    assert!(accepted.iter().all(|a| a["duplicate"] == false));
    let mut sent: Vec<&str> = accepted
        .iter()
        .map(|a| a["jti"].as_str().unwrap())
        .collect();
    let mut first: Vec<&str> = pending.iter().map(|p| p["jti"].as_str().unwrap()).collect();
    sent.sort();
    first.sort();
    assert_eq!(sent, first);
}

#[test]
fn a_wrong_audience_is_dead_lettered_after_one_try_and_shown() {
    let port = free_port();
    let s = sensor(port, "      audience: https://not-this-receiver.example\n");
    let d = s.start();
    let r = Receiver::start(s.dir.path(), &s.data(), &audience(port), port, &[]);
    login(&d, "alice");
    let dead = wait_for("a dead signal", Duration::from_secs(20), || {
        signals(&s).into_iter().find(|x| x["state"] == "dead")
    });
    assert_eq!(dead["attempts"], 1);
    assert!(
        dead["last_answer"].as_str().unwrap().starts_with("400 "),
        "{dead}"
    );
    assert!(
        dead["last_answer"]
            .as_str()
            .unwrap()
            .contains("invalid_audience"),
        "{dead}"
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(r.requests().len(), 1, "never retried");
    let text = String::from_utf8(s.cli(&["signals"]).stdout).unwrap();
    assert!(text.contains("\tdead\t"), "{text}");
    assert!(d.log().contains("signal rejected for good"));
    assert!(
        d.metrics()
            .contains(r#"decoyd_signals_total{receiver="test",outcome="dead"} 1"#),
        "{}",
        d.metrics()
    );
}

#[test]
fn a_rate_limited_receiver_is_waited_for_then_served() {
    let port = free_port();
    let s = sensor(port, "");
    let d = s.start();
    let r = Receiver::start(
        s.dir.path(),
        &s.data(),
        &audience(port),
        port,
        &["--rate-limit", "1"],
    );
    login(&d, "alice");
    let accepted = wait_for("delivery after the 429", Duration::from_secs(20), || {
        r.accepted().into_iter().next()
    });
    let reqs = r.requests();
    assert_eq!(reqs[0]["status"], 429);
    let waited = accepted["at"].as_f64().unwrap() - reqs[0]["at"].as_f64().unwrap();
    assert!(
        waited >= 0.9,
        "retried after {waited}s, before X-Rate-Limit-Reset"
    );
    let out = signals(&s);
    assert_eq!(out[0]["state"], "delivered");
    assert_eq!(out[0]["attempts"], 2);
}

#[test]
fn a_signal_pending_at_sigkill_is_delivered_after_restart() {
    let port = free_port();
    let s = sensor(port, "");
    let d = s.start();
    login(&d, "alice");
    let pending = wait_for("a pending signal", Duration::from_secs(20), || {
        signals_via_api(&d)
            .into_iter()
            .find(|x| x["state"] == "pending" && x["attempts"].as_u64().unwrap() >= 1)
    });
    d.kill();
    let r = Receiver::start(s.dir.path(), &s.data(), &audience(port), port, &[]);
    let _d = s.start();
    let got = wait_for("delivery after restart", Duration::from_secs(20), || {
        r.accepted().into_iter().next()
    });
    assert_eq!(got["jti"], pending["jti"]);
    assert_eq!(r.accepted().len(), 1);
}

fn signals_via_api(d: &Daemon) -> Vec<serde_json::Value> {
    let (code, body) = d.admin_get("/api/v1/signals", true);
    assert_eq!(code, 200);
    serde_json::from_str(&body).unwrap()
}

#[test]
fn after_a_key_rotation_new_tokens_verify_and_the_old_key_stays_published() {
    let port = free_port();
    let s = sensor(port, "");
    let d = s.start();
    let r = Receiver::start(s.dir.path(), &s.data(), &audience(port), port, &[]);
    login(&d, "alice");
    wait_for("the first signal", Duration::from_secs(20), || {
        r.accepted().into_iter().next()
    });
    let jwks = |d: &Daemon| -> Vec<String> {
        let (_, body) = d.admin_get("/jwks.json", false);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_string())
            .collect()
    };
    let before = jwks(&d);
    assert_eq!(before.len(), 1);
    let o = s.cli(&["keys", "rotate"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let after = jwks(&d);
    assert_eq!(after.len(), 2);
    assert!(
        after.contains(&before[0]),
        "the old key is still published during the overlap"
    );
    let cli_jwks: serde_json::Value =
        serde_json::from_slice(&s.cli(&["keys", "jwks"]).stdout).unwrap();
    assert_eq!(cli_jwks["keys"].as_array().unwrap().len(), 2);
    login(&d, "bob");
    let second = wait_for("a signal with the new key", Duration::from_secs(20), || {
        r.accepted().into_iter().nth(1)
    });
    assert_eq!(
        second["claims"]["events"]["https://schemas.okta.com/secevent/okta/event-type/user-risk-change"]
            ["subject"]["user"]["email"],
        "bob@example.com"
    );
    let out = signals(&s);
    let bob = out
        .iter()
        .find(|x| x["email"] == "bob@example.com")
        .unwrap();
    assert_ne!(bob["kid"].as_str().unwrap(), before[0]);
    assert!(after.contains(&bob["kid"].as_str().unwrap().to_string()));
}

#[test]
fn decoyd_receiver_verifies_the_daemons_tokens_and_rejects_a_tampered_one() {
    let port = free_port();
    let s = sensor(port, "");
    let d = s.start();
    let out = s.dir.path().join("receiver.out");
    let child = Command::new(bin())
        .args(["receiver", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--jwks")
        .arg(format!("http://{}/jwks.json", d.admin))
        .args(["--issuer", ISSUER, "--audience", &audience(port)])
        .stdout(fs::File::create(&out).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = Ended(child);
    login(&d, "alice");
    let printed = wait_for("the receiver's output", Duration::from_secs(20), || {
        let text = fs::read_to_string(&out).ok()?;
        let line = text.lines().next()?.to_string();
        Some(serde_json::from_str::<serde_json::Value>(&line).unwrap())
    });
    assert_eq!(printed["iss"], ISSUER);
    let delivered = wait_for("delivered", Duration::from_secs(10), || {
        signals(&s).into_iter().find(|x| x["state"] == "delivered")
    });
    assert_eq!(printed["jti"], delivered["jti"]);

    // The same token with its subject changed no longer verifies.
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let token = delivered["token"].as_str().unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let claims = String::from_utf8(b64.decode(parts[1]).unwrap())
        .unwrap()
        .replace("alice@example.com", "ceo@example.com");
    let tampered = format!("{}.{}.{}", parts[0], b64.encode(claims), parts[2]);
    let (ok, body) = curl(&[
        "-s",
        "-w",
        "\n%{http_code}",
        "-H",
        "Content-Type: application/secevent+jwt",
        "--data-binary",
        &tampered,
        &audience(port),
    ]);
    assert!(ok);
    assert!(body.ends_with("\n400"), "{body}");
    assert!(body.contains("\"err\":\"authentication_failed\""), "{body}");
    let _ = child.0.kill();
    let _ = child.0.wait();
    assert_eq!(
        fs::read_to_string(&out).unwrap().lines().count(),
        1,
        "the tampered token was not printed"
    );
}

#[test]
fn the_public_listener_serves_the_discovery_documents_and_nothing_else() {
    let port = free_port();
    let s = sensor(port, "");
    let main = fs::read_to_string(s.config()).unwrap().replace(
        "  max_retry_delay: 1s\n",
        "  max_retry_delay: 1s\n  public_listen: 127.0.0.1:0\n",
    );
    fs::write(s.config(), main).unwrap();
    let d = s.start();
    let public = d.addr("public");
    let get = |path: &str| {
        curl(&[
            "-s",
            "-w",
            "\n%{http_code}",
            &format!("http://{public}{path}"),
        ])
        .1
    };
    let jwks = get("/jwks.json");
    assert!(jwks.ends_with("\n200"), "{jwks}");
    let (_, admin_jwks) = d.admin_get("/jwks.json", false);
    assert_eq!(jwks.trim_end_matches("\n200"), admin_jwks);
    assert!(get("/.well-known/ssf-configuration").contains(&format!("\"issuer\":\"{ISSUER}\"")));
    for hidden in ["/api/v1/status", "/api/v1/signals", "/metrics", "/healthz"] {
        assert!(
            get(hidden).ends_with("\n404"),
            "{hidden} must not be served publicly"
        );
    }
}

#[test]
fn a_receiver_that_never_answers_does_not_hold_up_another() {
    // A listener that accepts connections (the kernel's backlog) and never answers: each push
    // to it waits out the client's timeout.
    let stuck = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let stuck_port = stuck.local_addr().unwrap().port();
    let port = free_port();
    let s = sensor(
        port,
        &format!(
            "    - name: stuck\n      kind: ssf\n      url: http://127.0.0.1:{stuck_port}/events\n      events: [user-risk-change]\n      min_level: low\n"
        ),
    );
    let d = s.start();
    let r = Receiver::start(s.dir.path(), &s.data(), &audience(port), port, &[]);
    for u in ["alice", "bob", "carol"] {
        login(&d, u);
    }
    // One lane per receiver: the healthy one gets all three while the stuck one has not
    // finished a single push (each waits out the 10 s client timeout). One lane for both
    // would have had to finish a push to the stuck receiver before the second delivery.
    let got = wait_for(
        "all three at the healthy receiver",
        Duration::from_secs(20),
        || {
            let a = r.accepted();
            (a.len() >= 3).then_some(a)
        },
    );
    assert_eq!(got.len(), 3);
    let out = signals_via_api(&d);
    let stuck_ones: Vec<_> = out.iter().filter(|x| x["receiver"] == "stuck").collect();
    assert_eq!(stuck_ones.len(), 3);
    assert!(
        stuck_ones
            .iter()
            .all(|x| x["state"] == "pending" && x["attempts"] == 0),
        "{out:#?}"
    );
    drop(stuck);
}
