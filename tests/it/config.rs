//! Operators make typos: `check` and `run` report every problem at file:line:col and nothing
//! starts listening on a broken config.

use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

use crate::harness::*;

/// A set of broken files, each with the position its error must name.
const BROKEN: &[(&str, &str, &str)] = &[
    (
        "unknown-key",
        "kind: http\nlisten: 127.0.0.1:0\nskn: generic\n",
        "unknown-key.yaml:3:1: unknown key `skn`",
    ),
    (
        "wrong-type",
        "kind: http\nlisten: 127.0.0.1:0\nlimits:\n  max_connections: many\n",
        "wrong-type.yaml:4:20: wrong type",
    ),
    (
        "bad-address",
        "kind: http\nlisten: 300.1.1.1:80\n",
        "bad-address.yaml:2:9: invalid listen address",
    ),
    ("empty", "", "empty.yaml:1:1: the decoy file is empty"),
    (
        "syntax",
        "kind: http\nlisten: [127.0.0.1:0\n",
        "syntax.yaml:2:9: unclosed bracket",
    ),
    ("dup-a", "kind: http\nlisten: 127.0.0.1:18080\n", ""),
    (
        "dup-b",
        "kind: http\nlisten: 127.0.0.1:18080\n",
        "dup-b.yaml:2:9: address 127.0.0.1:18080 of decoy \"dup-b\" conflicts with 127.0.0.1:18080 of decoy \"dup-a\" at",
    ),
];

#[test]
fn check_lists_every_broken_file_with_its_position() {
    let mut sensor = Sensor::new();
    for (name, text, _) in BROKEN {
        sensor = sensor.decoy(name, text);
    }
    let out = sensor.cli(&["check"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{stderr}");
    for (_, _, want) in BROKEN.iter().filter(|b| !b.2.is_empty()) {
        assert!(
            stderr
                .lines()
                .any(|l| l.contains(&format!("decoys/{want}"))),
            "missing {want:?} in:\n{stderr}"
        );
    }
    assert!(
        stderr.contains("dup-a.yaml:2:9"),
        "the duplicate names both files:\n{stderr}"
    );
    assert!(stderr.contains("6 errors in the configuration"), "{stderr}");
}

#[test]
fn each_broken_file_alone_fails_check_with_its_position() {
    for (name, text, want) in BROKEN
        .iter()
        .filter(|b| !b.2.is_empty() && !b.0.starts_with("dup"))
    {
        let sensor = Sensor::new().decoy(name, text);
        let out = sensor.cli(&["check"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{name} was accepted");
        assert!(stderr.contains(want), "{name}: {stderr}");
    }
}

#[test]
fn a_missing_decoys_folder_is_an_error_at_decoys_dir() {
    let sensor = Sensor::with_main(&MAIN.replace("./decoys", "./no-such-folder"));
    let out = sensor.cli(&["check"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64));
    assert!(
        stderr.contains("decoyd.yaml:4:13: decoys folder") && stderr.contains("does not exist"),
        "{stderr}"
    );
}

#[test]
fn run_refuses_a_broken_config_with_exit_64_and_binds_nothing() {
    // A port that is free now; the broken config names it for a valid decoy.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sensor = Sensor::new()
        .decoy("good", &format!("kind: http\nlisten: 127.0.0.1:{port}\n"))
        .decoy("bad", "kind: http\nlisten: 127.0.0.1:0\nsurprise: true\n");
    let mut child = Command::new(bin())
        .args(["run", "-c"])
        .arg(sensor.config())
        .spawn()
        .unwrap();
    let status = wait_for("decoyd run to refuse", Duration::from_secs(20), || {
        child.try_wait().unwrap()
    });
    assert_eq!(status.code(), Some(64));
    // Nothing was started: no data dir, and the good decoy's port was never taken.
    assert!(
        !sensor.data().exists(),
        "run created its data dir before validating"
    );
    TcpListener::bind(("127.0.0.1", port)).expect("the port is still free");
}

#[test]
fn a_port_in_use_fails_run_naming_the_decoy_file() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let sensor = Sensor::new().decoy("web", &format!("kind: http\nlisten: 127.0.0.1:{port}\n"));
    let out = Command::new(bin())
        .args(["run", "-c"])
        .arg(sensor.config())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("web.yaml: decoy \"web\" cannot listen on 127.0.0.1:"),
        "{stderr}"
    );
}

#[test]
fn the_repository_examples_pass_check() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/decoyd.yaml");
    let out = Command::new(bin())
        .args(["check", "-c", example])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("ok: "), "{stdout}");
    assert!(
        stdout.contains("jenkins: http on 0.0.0.0:8080 (jenkins skin)"),
        "{stdout}"
    );
}

#[test]
fn the_config_file_comes_from_decoyd_config_when_no_flag_is_given() {
    let sensor = Sensor::new().decoy("web", WEB);
    let out = Command::new(bin())
        .arg("check")
        .env("DECOYD_CONFIG", sensor.config())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&sensor.config().display().to_string()),
        "{stdout}"
    );
    assert!(stdout.contains("web: http on 127.0.0.1:0"), "{stdout}");
}
