//! Who is compromised, as the SOC reads it with `decoyd identities`: a stolen lure secret
//! names its owner at `high`; typed names, scanners and brute forces never do.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::harness::*;

fn sensor(extra: &str) -> Sensor {
    let main = format!(
        "sensor:\n  id: alice-laptop\n  data_dir: ./data\ndecoys_dir: ./decoys\nadmin:\n  listen: 127.0.0.1:0\nidentity:\n  email_domain: example.com\n  users: {{ alice: alice@example.com, svc-backup: ops-lead@example.com }}\n{extra}"
    );
    Sensor::with_main(&main)
        .decoy("ssh", SSH)
        .decoy("web", WEB)
        .with_host_keys("ssh")
}

fn identities(s: &Sensor) -> Vec<serde_json::Value> {
    s.cli_json(&["identities", "--json"])
}

fn user<'a>(states: &'a [serde_json::Value], email: &str) -> Option<&'a serde_json::Value> {
    states.iter().find(|s| s["subject"]["user"] == email)
}

fn people(states: &[serde_json::Value]) -> Vec<&serde_json::Value> {
    states
        .iter()
        .filter(|s| s["subject"].get("user").is_some())
        .collect()
}

/// Waits until the scorer has caught up with every touch on disk: each network touch is one
/// piece of evidence about its source.
fn scored(s: &Sensor) -> Vec<serde_json::Value> {
    let touches: u64 = s
        .events()
        .iter()
        .map(|e| e["count"].as_u64().unwrap())
        .sum();
    wait_for("the scorer", Duration::from_secs(10), || {
        let st = identities(s);
        let counted: u64 = st
            .iter()
            .filter(|x| x["subject"].get("source").is_some())
            .flat_map(|x| x["evidence"].as_array().unwrap().clone())
            .map(|e| e["count"].as_u64().unwrap())
            .sum();
        (counted == touches).then_some(st)
    })
}

fn notes_password(path: &Path) -> String {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .find_map(|l| l.trim().strip_prefix("pw: "))
        .unwrap()
        .to_string()
}

#[test]
fn a_read_lure_is_medium_and_its_token_used_over_ssh_is_high_with_the_reasons() {
    let s = sensor("");
    let path = s.dir.path().join("home/alice/notes/servers.txt");
    let lure = format!(
        "kind: lure\nhost: alice-laptop\npath: {}\nowner: alice\ntemplate: ssh-notes\ncredential_for: ssh\ntarget: {{ user: deploy }}\n",
        path.display()
    );
    let s = s.decoy("alice-notes", &lure);
    let d = s.start();
    let pw = notes_password(&path);

    // `cat` of alice's lure: alice medium, not high, and the reason says which lure.
    let cat = Command::new("cat").arg(&path).output().unwrap();
    assert!(cat.status.success());
    let st = wait_for("alice medium", Duration::from_secs(10), || {
        let st = identities(&s);
        user(&st, "alice@example.com")
            .filter(|a| a["level"] == "medium")
            .cloned()
    });
    assert!(
        st["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("lure alice-notes opened"),
        "{st}"
    );

    // Its token used at the SSH decoy: high, with the lure, the decoy and the source named.
    ssh_refused(d.addr("ssh"), "deploy", &pw, None);
    let st = wait_for("alice high", Duration::from_secs(10), || {
        let st = identities(&s);
        user(&st, "alice@example.com")
            .filter(|a| a["level"] == "high")
            .cloned()
    });
    let reasons: Vec<&str> = st["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(
        reasons[0], "honeytoken of lure alice-notes used at decoy ssh from 127.0.0.1, once",
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("lure alice-notes was read at ")),
        "{reasons:?}"
    );
    let history = st["history"].as_array().unwrap();
    let steps: Vec<(&str, &str)> = history
        .iter()
        .map(|c| (c["from"].as_str().unwrap(), c["to"].as_str().unwrap()))
        .collect();
    assert_eq!(steps, [("none", "medium"), ("medium", "high")]);
    assert!(d.log().contains("identity level raised"));

    // The SOC clears it (a red team exercise): low, with who and why; the old evidence no
    // longer counts, and more of the same raises it again.
    let o = Command::new(bin())
        .args([
            "identities",
            "clear",
            "alice@example.com",
            "--reason",
            "red team exercise",
            "-c",
        ])
        .arg(s.config())
        .env("USER", "jdoe")
        .env_remove("SUDO_USER")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let st = identities(&s);
    let a = user(&st, "alice@example.com").unwrap();
    assert_eq!(a["level"], "low");
    let last = a["history"].as_array().unwrap().last().unwrap();
    assert_eq!(
        (last["from"].as_str(), last["to"].as_str()),
        (Some("high"), Some("low"))
    );
    assert_eq!(last["by"], "jdoe");
    assert_eq!(last["reasons"][0], "cleared by jdoe: red team exercise");
    let text = String::from_utf8(s.cli(&["identities"]).stdout).unwrap();
    assert!(text.contains("alice@example.com\tlow\t0"), "{text}");

    // The clear survives a restart, and the daemon does not score old touches again.
    drop(d);
    let d = s.start();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        user(&identities(&s), "alice@example.com").unwrap()["level"],
        "low"
    );
    ssh_refused(d.addr("ssh"), "deploy", &pw, Some("127.0.0.3"));
    wait_for("alice high again", Duration::from_secs(10), || {
        user(&identities(&s), "alice@example.com")
            .filter(|a| a["level"] == "high")
            .map(|_| ())
    });
}

#[test]
fn an_allowed_scanner_running_hydra_is_recorded_and_never_scored() {
    let s = sensor("scoring:\n  allow_sources: [127.0.0.0/8]\n");
    let d = s.start();
    let (users, passwords) = (
        ["root", "alice", "svc-backup"],
        ["123456", "password", "alice2024"],
    );
    let made: std::collections::BTreeSet<_> = users
        .iter()
        .flat_map(|u| {
            passwords
                .iter()
                .map(|p| (u.to_string(), s.password_hmac(p)))
        })
        .collect();
    // hydra sometimes ends a child before its last pair reaches the wire and says so with
    // an `[ERROR]` line; then it runs once more on the same sensor, and the two runs
    // together must have stored every pair.
    for run in 1..=2 {
        let out = hydra(&s, d.addr("ssh"), 4, &users, &passwords);
        assert!(out.contains("1 of 1 target completed"), "{out}");
        assert_eq!(hydra_tried(&s, &out), made, "{out}");
        let stored = stored_password_pairs(&s.events());
        assert!(stored.is_subset(&made), "{stored:?}");
        if stored == made {
            break;
        }
        assert!(
            hydra_gave_up(&out) && run == 1,
            "every attempt hydra made is stored: {stored:?}\n{out}"
        );
        eprintln!("hydra gave up on a pair (run {run}):\n{out}");
    }
    std::thread::sleep(Duration::from_millis(500));
    let st = identities(&s);
    assert!(st.iter().all(|x| x["level"] == "none"), "{st:#?}");
    assert!(
        st.is_empty(),
        "allowed sources give no evidence at all: {st:#?}"
    );
}

#[test]
fn a_brute_force_of_random_names_from_one_address_is_one_source_verdict_and_no_identity() {
    let s = sensor("");
    let d = s.start();
    let names: Vec<String> = (0..12)
        .map(|i| format!("u{i:02}x{}", i * 7919 % 1000))
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let out = hydra(
        &s,
        d.addr("ssh"),
        4,
        &names,
        &["123456", "password", "qwerty"],
    );
    assert!(out.contains("1 of 1 target completed"), "{out}");
    let st = scored(&s);
    assert!(people(&st).is_empty(), "{st:#?}");
    assert_eq!(st.len(), 1, "{st:#?}");
    assert_eq!(st[0]["subject"]["source"], "127.0.0.1");
    assert!(
        st[0]["level"] == "low" || st[0]["level"] == "medium",
        "{}",
        st[0]
    );
    // One evolving verdict: every attempt is in one counted record.
    let ev = st[0]["evidence"].as_array().unwrap();
    let logins: Vec<_> = ev
        .iter()
        .filter(|e| e["kind"] == "login_guessed_name")
        .collect();
    assert_eq!(logins.len(), 1, "{ev:#?}");
    assert_eq!(
        logins[0]["count"].as_u64().unwrap() as usize,
        of_type(&s.events(), "ssh_auth").len()
    );
}

#[test]
fn hundreds_of_attempts_as_a_listed_user_from_several_sources_never_reach_high() {
    let s = sensor("");
    let d = s.start();
    let url = format!("http://{}/login", d.addr("web"));
    for src in 1..=5 {
        let mut args = vec![
            "-s".to_string(),
            "--interface".into(),
            format!("127.0.0.{src}"),
            "-o".into(),
            "/dev/null".into(),
            "-d".into(),
            "username=alice&password=Winter2024!".into(),
        ];
        args.extend(std::iter::repeat_n(url.clone(), 60));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, _) = curl(&args);
        assert!(ok);
        ssh_refused(
            d.addr("ssh"),
            "alice",
            "hunter2",
            Some(&format!("127.0.0.{src}")),
        );
    }
    assert!(of_type(&s.events(), "http_request").len() >= 300);
    let st = scored(&s);
    let a = user(&st, "alice@example.com").expect("alice has evidence");
    assert_eq!(a["level"], "medium", "{a}");
    assert!(a["score"].as_u64().unwrap() < 80);
    assert!(
        a["reasons"].as_array().unwrap().iter().any(|r| r
            .as_str()
            .unwrap()
            .contains("only lure and honeytoken evidence reaches high")),
        "{a}"
    );
    assert_eq!(people(&st).len(), 1, "only alice is a listed user");
}
