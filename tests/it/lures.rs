//! Lures and honeytokens, as an operator would tell it: plant alice's fake secrets in her
//! home, watch someone read them, and see her credential used at the decoys, on this sensor
//! or on another of the fleet.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use crate::harness::*;

/// The main file with a fleet secret shared by the sensors of one test.
fn main_yaml(id: &str, extra: &str) -> String {
    format!(
        "sensor:\n  id: {id}\n  data_dir: ./data\n  fleet_secret_file: ./fleet.key\ndecoys_dir: ./decoys\nadmin:\n  listen: 127.0.0.1:0\nidentity:\n  email_domain: example.com\n{extra}"
    )
}

fn sensor(id: &str, extra: &str, secret: &str) -> Sensor {
    let s = Sensor::with_main(&main_yaml(id, extra));
    let key = s.dir.path().join("fleet.key");
    fs::write(&key, secret).unwrap();
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
    s
}

const SECRET: &str = "4f1b0c9e7d2a6b3c8e5f0a1d9c7b6e2f4a8d3c1b0e9f7a6d\n";

fn home(s: &Sensor) -> PathBuf {
    s.dir.path().join("home/alice")
}

fn lure(s: &Sensor, name: &str, template: &str, rel: &str, extra: &str) -> PathBuf {
    let path = home(s).join(rel);
    let yaml = format!(
        "kind: lure\nhost: {}\npath: {}\nowner: alice\ntemplate: {template}\n{extra}",
        sensor_id(s),
        path.display()
    );
    fs::write(
        s.dir.path().join("decoys").join(format!("{name}.yaml")),
        yaml,
    )
    .unwrap();
    path
}

fn sensor_id(s: &Sensor) -> String {
    let main = fs::read_to_string(s.config()).unwrap();
    main.lines()
        .find_map(|l| l.trim().strip_prefix("id: "))
        .unwrap()
        .to_string()
}

fn python(code: &str, arg: &Path) -> String {
    let o = Command::new("python3")
        .args(["-c", code])
        .arg(arg)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap().trim().to_string()
}

fn used(events: &[serde_json::Value]) -> Vec<&serde_json::Value> {
    of_type(events, "honeytoken_used")
}

/// The password an `ssh-notes` lure gives away.
fn notes_password(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap();
    text.lines()
        .find_map(|l| l.trim().strip_prefix("pw: "))
        .expect("the note has a pw: line")
        .to_string()
}

#[test]
fn every_template_is_planted_as_its_tool_reads_it_and_a_read_names_the_owner() {
    let s = sensor("alice-laptop", "", SECRET)
        .decoy("ssh", SSH)
        .decoy("web", WEB)
        .with_host_keys("ssh");
    // Another user's file, as root plants it (or this user's, when the tests run as one).
    let me = fs::metadata(s.dir.path()).unwrap();
    let (uid, gid) = if me.uid() == 0 {
        (4242, 4343)
    } else {
        (me.uid(), me.gid())
    };
    let aws = lure(&s, "alice-aws", "aws-credentials", ".aws/credentials", "");
    let notes = lure(
        &s,
        "alice-notes",
        "ssh-notes",
        "notes/servers.txt",
        "credential_for: ssh\ntarget: { user: deploy }\n",
    );
    let sshcfg = lure(
        &s,
        "alice-sshcfg",
        "ssh-config",
        ".ssh/config",
        "credential_for: ssh\n",
    );
    let netrc = lure(
        &s,
        "alice-netrc",
        "netrc",
        ".netrc",
        "credential_for: web\n",
    );
    let env = lure(
        &s,
        "alice-env",
        "env-file",
        "app/.env",
        "credential_for: web\ntarget: { user: app }\n",
    );
    let git = lure(
        &s,
        "alice-git",
        "git-credentials",
        ".git-credentials",
        "credential_for: web\n",
    );
    let kube = lure(
        &s,
        "alice-kube",
        "kubeconfig",
        ".kube/config",
        "credential_for: web\n",
    );
    let csv = lure(
        &s,
        "alice-csv",
        "passwords-csv",
        "Downloads/passwords.csv",
        &format!("credential_for: web\nmode: \"0640\"\nage: 90d\nfile_owner: \"{uid}:{gid}\"\n"),
    );
    let d = s.start();
    let ssh_port = d.addr("ssh").port();
    let web = d.addr("web");

    // Each file reads as its own tool reads it, with a fresh token where a secret goes.
    let secret = python(
        "import configparser,sys; c=configparser.ConfigParser(); c.read(sys.argv[1]); print(c['default']['aws_secret_access_key'], c['default']['aws_access_key_id'])",
        &aws,
    );
    let (aws_secret, key_id) = secret.split_once(' ').unwrap();
    assert_eq!(aws_secret.len(), 40);
    assert!(key_id.starts_with("AKIA") && key_id.len() == 20, "{key_id}");

    let g = Command::new("ssh")
        .args(["-G", "-F"])
        .arg(&sshcfg)
        .arg("build")
        .output()
        .unwrap();
    let g = String::from_utf8(g.stdout).unwrap();
    assert!(g.lines().any(|l| l == "hostname 127.0.0.1"), "{g}");
    assert!(g.lines().any(|l| l == format!("port {ssh_port}")), "{g}");
    assert!(g.lines().any(|l| l == "user alice"), "{g}");

    let url = python(
        "import sys,urllib.parse; l=[x for x in open(sys.argv[1]) if x.startswith('DATABASE_URL=')][0]; u=urllib.parse.urlparse(l.split('=',1)[1].strip()); print(u.scheme, u.username, u.hostname, u.port, len(u.password))",
        &env,
    );
    assert_eq!(url, format!("postgres app 127.0.0.1 {} 28", web.port()));

    let mut cred = Command::new("git")
        .args(["credential-store", "--file"])
        .arg(&git)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    write!(
        cred.stdin.take().unwrap(),
        "protocol=https\nhost=127.0.0.1:{}\n\n",
        web.port()
    )
    .unwrap();
    let out = String::from_utf8(cred.wait_with_output().unwrap().stdout).unwrap();
    assert!(out.contains("username=alice"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.strip_prefix("password=").is_some_and(|p| p.len() == 28)),
        "{out}"
    );

    let k: serde_json::Value = serde_saphyr::from_str(&fs::read_to_string(&kube).unwrap()).unwrap();
    assert_eq!(k["current-context"], "build");
    assert_eq!(
        k["clusters"][0]["cluster"]["server"],
        format!("https://127.0.0.1:{}", web.port())
    );
    assert_eq!(k["users"][0]["user"]["token"].as_str().unwrap().len(), 32);

    let row = python(
        "import csv,sys; r=list(csv.DictReader(open(sys.argv[1]))); print(len(r), r[0]['username'], r[0]['url'], len(r[0]['password']))",
        &csv,
    );
    assert_eq!(
        row,
        format!("1 alice https://127.0.0.1:{}/login 28", web.port())
    );
    assert_eq!(notes_password(&notes).len(), 28);

    // Modes and ages as configured or as the real files have them; owned by the home's owner.
    let meta = |p: &Path| fs::metadata(p).unwrap();
    assert_eq!(meta(&aws).mode() & 0o777, 0o600);
    assert_eq!(meta(&csv).mode() & 0o777, 0o640);
    assert_eq!(meta(&notes).mode() & 0o777, 0o644);
    assert_eq!(meta(&aws).uid(), meta(s.dir.path()).uid());
    assert_eq!((meta(&csv).uid(), meta(&csv).gid()), (uid, gid));
    let age = |p: &Path| {
        SystemTime::now()
            .duration_since(meta(p).modified().unwrap())
            .unwrap()
    };
    assert!(
        age(&csv) >= Duration::from_secs(89 * 86_400)
            && age(&csv) <= Duration::from_secs(91 * 86_400)
    );
    assert!(
        age(&aws) >= Duration::from_secs(19 * 86_400),
        "{:?}",
        age(&aws)
    );
    // Two lures never share a credential.
    assert_ne!(
        notes_password(&notes),
        fs::read_to_string(&netrc).unwrap().lines().nth(2).unwrap()[9..]
    );

    // `cat` of a lure is a touch naming the lure and its owner.
    let c = Command::new("cat").arg(&aws).output().unwrap();
    assert!(c.status.success());
    let opened = wait_for("the read of the AWS lure", Duration::from_secs(10), || {
        let ev = s.events();
        of_type(&ev, "lure_access")
            .into_iter()
            .filter(|e| e["event"]["lure"] == "alice-aws" && e["event"]["action"] == "opened")
            // The parser's read came first; `cat` is the newest.
            .nth(1)
            .cloned()
    });
    assert_eq!(opened["event"]["owner"], "alice@example.com");
    assert_eq!(opened["event"]["path"], aws.display().to_string());
    assert_eq!(opened["decoy"], "alice-aws");
    if may_attribute() {
        assert_eq!(
            opened["event"]["process"]["cmdline"],
            format!("cat {}", aws.display())
        );
    }

    // The netrc's credential, as curl sends it, is a honeytoken use for alice at the HTTP decoy.
    let (ok, _) = curl(&[
        "-s",
        "-o",
        "/dev/null",
        "--netrc-file",
        netrc.to_str().unwrap(),
        &format!("http://{web}/login"),
    ]);
    assert!(ok);
    let ev = s.events();
    let u = used(&ev);
    assert_eq!(u.len(), 1, "{ev:#?}");
    assert_eq!(u[0]["decoy"], "web");
    assert_eq!(u[0]["event"]["lure"], "alice-netrc");
    assert_eq!(u[0]["event"]["owner"], "alice@example.com");
    assert_eq!(u[0]["event"]["via"], "http_basic");
    assert_eq!(u[0]["event"]["username"], "alice");
    // Never the credential itself.
    let netrc_pw = fs::read_to_string(&netrc).unwrap().lines().nth(2).unwrap()[9..].to_string();
    assert!(!contains(&all_bytes_under(&s.data()), &netrc_pw));
}

#[test]
fn an_ssh_notes_password_is_recognised_and_with_accept_honeytokens_lands_in_the_shell() {
    let open = format!("{SSH}accept_honeytokens: true\n");
    let s = sensor("alice-laptop", "", SECRET)
        .decoy("ssh", SSH)
        .decoy("ssh-open", &open)
        .with_host_keys("ssh")
        .with_host_keys("ssh-open");
    let closed_notes = lure(
        &s,
        "notes-closed",
        "ssh-notes",
        "notes/a.txt",
        "credential_for: ssh\ntarget: { user: deploy }\n",
    );
    let open_notes = lure(
        &s,
        "notes-open",
        "ssh-notes",
        "notes/b.txt",
        "credential_for: ssh-open\ntarget: { user: deploy }\n",
    );
    let d = s.start();

    // At a decoy without accept_honeytokens: refused like any password, but recorded, from
    // two sources, as two uses of one lure.
    let pw = notes_password(&closed_notes);
    for bind in ["127.0.0.1", "127.0.0.2"] {
        ssh_refused(d.addr("ssh"), "deploy", &pw, Some(bind));
    }
    let ev = s.events();
    let u = used(&ev);
    assert_eq!(u.len(), 2, "{ev:#?}");
    let sources: Vec<&str> = u
        .iter()
        .map(|e| e["source"].as_str().unwrap().split(':').next().unwrap())
        .collect();
    assert_eq!(sources, ["127.0.0.1", "127.0.0.2"]);
    for e in &u {
        assert_eq!(e["event"]["lure"], "notes-closed");
        assert_eq!(e["event"]["owner"], "alice@example.com");
        assert_eq!(e["event"]["planted_by"], "alice-laptop");
        assert_eq!(e["event"]["via"], "ssh_password");
        assert_eq!(e["event"]["accepted"], false);
    }

    // At the decoy that accepts its lure's tokens, the intruder gets the fake shell.
    let pw = notes_password(&open_notes);
    let o = sshpass(
        d.addr("ssh-open"),
        "deploy",
        &pw,
        &["-o", "PubkeyAuthentication=no"],
        Some("whoami; cat /etc/hostname"),
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("deploy\n"));
    // Its token only opens the decoy it is bound to, and only as the user the lure names.
    ssh_refused(d.addr("ssh"), "deploy", &pw, None);
    ssh_refused(d.addr("ssh-open"), "root", &pw, None);
    let ev = s.events();
    let accepted: Vec<_> = used(&ev)
        .into_iter()
        .filter(|e| e["event"]["accepted"] == true)
        .collect();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0]["decoy"], "ssh-open");
    assert_eq!(accepted[0]["event"]["lure"], "notes-open");
    let cmds: Vec<&str> = of_type(&ev, "ssh_command")
        .iter()
        .map(|e| e["event"]["command"].as_str().unwrap())
        .collect();
    assert_eq!(cmds, ["whoami; cat /etc/hostname"]);
    assert_eq!(used(&ev).len(), 5);
}

#[test]
fn planting_never_overwrites_a_file_it_did_not_create() {
    let s = sensor("alice-laptop", "", SECRET).decoy("web", WEB);
    let path = lure(
        &s,
        "alice-netrc",
        "netrc",
        ".netrc",
        "credential_for: web\ntarget: { port: 8443 }\n",
    );
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(
        &path,
        "machine real.example login alice password her-real-one\n",
    )
    .unwrap();

    let o = s.cli(&["lures", "plant"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!(
            "refusing to plant at {}: a file decoyd did not create is there",
            path.display()
        )),
        "{err}"
    );
    // The daemon refuses it too, says so, and runs.
    let d = s.start();
    assert!(d.log().contains("refusing to plant at"), "{}", d.log());
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "machine real.example login alice password her-real-one\n"
    );
    let v = s.cli(&["lures", "verify"]);
    assert_eq!(v.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&v.stdout).contains("alice-netrc\tnot planted"));
}

#[test]
fn verify_and_the_running_check_see_an_edit_and_a_deletion() {
    let s = sensor("alice-laptop", "lures:\n  check_every: 200ms\n", SECRET).decoy("web", WEB);
    let edited = lure(
        &s,
        "alice-env",
        "env-file",
        "app/.env",
        "credential_for: web\n",
    );
    let deleted = lure(&s, "alice-aws", "aws-credentials", ".aws/credentials", "");
    let d = s.start();
    let v = s.cli(&["lures", "verify"]);
    assert_eq!(
        v.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&v.stdout)
    );

    let sed = Command::new("sed")
        .args(["-i", "s/LOG_LEVEL=info/LOG_LEVEL=debug/"])
        .arg(&edited)
        .status()
        .unwrap();
    assert!(sed.success());
    fs::remove_file(&deleted).unwrap();
    let v = s.cli(&["lures", "verify"]);
    assert_eq!(v.status.code(), Some(1));
    let out = String::from_utf8_lossy(&v.stdout);
    assert!(out.contains("alice-env\tmodified"), "{out}");
    assert!(out.contains("alice-aws\tmissing"), "{out}");

    // The daemon saw both as they happened, each naming the lure and owner.
    let ev = wait_for("the edit and the deletion", Duration::from_secs(10), || {
        let ev = s.events();
        let acts: Vec<(String, String)> = of_type(&ev, "lure_access")
            .iter()
            .map(|e| {
                (
                    e["event"]["lure"].as_str().unwrap().to_string(),
                    e["event"]["action"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        (acts.contains(&("alice-env".into(), "modified".into()))
            && acts.contains(&("alice-aws".into(), "deleted".into())))
        .then_some(ev)
    });
    assert!(
        of_type(&ev, "lure_access")
            .iter()
            .all(|e| e["event"]["owner"] == "alice@example.com")
    );

    // `lures plant` puts the deleted one back, with a new credential, and leaves the edited one.
    let p = s.cli(&["lures", "plant"]);
    let out = String::from_utf8_lossy(&p.stdout);
    assert!(out.contains("alice-aws\tplanted"), "{out}");
    assert!(
        String::from_utf8_lossy(&p.stderr)
            .contains("the lure decoyd planted there is modified since")
    );
    let v = s.cli(&["lures", "verify"]);
    assert!(String::from_utf8_lossy(&v.stdout).contains("alice-aws\tintact"));

    // After kill -9 and a restart: nothing is planted twice, and the edit, already recorded,
    // is not recorded again.
    std::thread::sleep(Duration::from_millis(500));
    let before = of_type(&s.events(), "lure_access").len();
    d.kill();
    let d = s.start();
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(
        of_type(&s.events(), "lure_access").len(),
        before,
        "{:#?}",
        s.events()
    );
    assert!(!d.log().contains("lure planted"), "{}", d.log());
    let v = s.cli(&["lures", "verify"]);
    let out = String::from_utf8_lossy(&v.stdout);
    assert!(
        out.contains("alice-aws\tintact") && out.contains("alice-env\tmodified"),
        "{out}"
    );
}

#[test]
fn a_lure_planted_by_one_sensor_is_recognised_by_another_of_the_fleet_and_forgeries_are_not() {
    // The server runs the SSH decoy; alice's laptop plants the lure that points at it. Both
    // have the same decoys folder and fleet secret, and nothing else in common.
    let server = sensor("build-07", "", SECRET)
        .decoy("ssh", SSH)
        .with_host_keys("ssh");
    let laptop = sensor("alice-laptop", "", SECRET)
        .decoy("ssh", SSH)
        .with_host_keys("ssh");
    let extra =
        "credential_for: ssh\ntarget: { host: build-07.corp.example, port: 22, user: deploy }\n";
    let path = lure(
        &laptop,
        "alice-notes",
        "ssh-notes",
        "notes/servers.txt",
        extra,
    );
    // The server's copy of the catalogue has the same lure file (its path is on the laptop).
    fs::copy(
        laptop.dir.path().join("decoys/alice-notes.yaml"),
        server.dir.path().join("decoys/alice-notes.yaml"),
    )
    .unwrap();
    let ds = server.start();
    let _dl = laptop.start();
    assert!(path.exists(), "the laptop planted its lure");
    assert!(
        !ds.log().contains("lure planted"),
        "the server plants none of the laptop's lures"
    );
    assert!(
        fs::read_to_string(&path)
            .unwrap()
            .contains("ssh deploy@build-07.corp.example -p 22")
    );

    let pw = notes_password(&path);
    ssh_refused(ds.addr("ssh"), "deploy", &pw, None);
    // A forgery: right shape, one character changed, so its MAC is wrong.
    let mut forged = pw.clone().into_bytes();
    forged[10] = if forged[10] == b'a' { b'b' } else { b'a' };
    let forged = String::from_utf8(forged).unwrap();
    ssh_refused(ds.addr("ssh"), "deploy", &forged, None);

    let ev = server.events();
    let u = used(&ev);
    assert_eq!(u.len(), 1, "the forgery is no honeytoken: {ev:#?}");
    assert_eq!(u[0]["sensor"], "build-07");
    assert_eq!(u[0]["event"]["lure"], "alice-notes");
    assert_eq!(u[0]["event"]["owner"], "alice@example.com");
    assert_eq!(u[0]["event"]["planted_by"], "alice-laptop");
    let auths = of_type(&ev, "ssh_auth");
    assert_eq!(auths.len(), 2);
    assert_eq!(
        auths[1]["event"]["password"]["hmac"],
        server.password_hmac(&forged)
    );

    // A sensor of the same fleet whose catalogue lacks the lure still knows a honeytoken,
    // by its lure id, and names no one.
    let stranger = sensor("stranger", "", SECRET)
        .decoy("ssh", SSH)
        .with_host_keys("ssh");
    let d4 = stranger.start();
    ssh_refused(d4.addr("ssh"), "deploy", &pw, None);
    let ev = stranger.events();
    let u = used(&ev);
    assert_eq!(u.len(), 1, "{ev:#?}");
    assert_eq!(
        u[0]["event"]["lure_id"],
        used(&server.events())[0]["event"]["lure_id"]
    );
    assert!(u[0]["event"].get("lure").is_none() && u[0]["event"].get("owner").is_none());

    // A sensor with another fleet secret sees an ordinary password.
    let other = sensor("elsewhere", "", "0123456789abcdef0123456789abcdef\n")
        .decoy("ssh", SSH)
        .with_host_keys("ssh");
    let d3 = other.start();
    ssh_refused(d3.addr("ssh"), "deploy", &pw, None);
    assert!(used(&other.events()).is_empty());
}

/// Whether this process may use fanotify: CAP_SYS_ADMIN (bit 21) in its effective set. The
/// daemon, started by the test, has the same.
fn may_attribute() -> bool {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let caps = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .map(|v| u64::from_str_radix(v.trim(), 16).unwrap())
        .unwrap();
    caps & (1 << 21) != 0
}

#[test]
fn opens_name_the_reader_except_ignored_processes_and_decoyd_itself() {
    opens_are_recorded_as_the_kernel_allows(may_attribute(), Sensor::start);
}

#[test]
fn without_cap_sys_admin_opens_are_recorded_without_a_process_and_decoyds_own_reads_are_not() {
    opens_are_recorded_as_the_kernel_allows(false, Sensor::start_without_sys_admin);
}

/// A lure read by `head` (in ignore_processes) and by `cat`, after a new mtime that makes
/// decoyd read the file itself. With attribution: only cat's open, with its process. Without:
/// both opens, no process, and still never decoyd's own.
fn opens_are_recorded_as_the_kernel_allows(attributed: bool, start: fn(&Sensor) -> Daemon) {
    let s = sensor(
        "alice-laptop",
        "lures:\n  check_every: 100ms\n  ignore_processes: [head]\n",
        SECRET,
    );
    let path = lure(&s, "alice-aws", "aws-credentials", ".aws/credentials", "");
    let d = start(&s);
    // The watcher says it once it runs, which may be just after the admin API answers.
    let said = if attributed {
        "lure attribution is on"
    } else {
        "lure attribution is off"
    };
    wait_for(said, Duration::from_secs(10), || {
        d.log().contains(said).then_some(())
    });

    // A new mtime, the contents unchanged: the check must read the file to know, and that
    // read is decoyd's own, never recorded. (os.utime opens nothing; `touch` would.)
    python(
        "import os,sys; os.utime(sys.argv[1], (1_600_000_000, 1_600_000_000))",
        &path,
    );
    std::thread::sleep(Duration::from_millis(500));
    let head = Command::new("head")
        .args(["-c", "1"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(head.status.success());
    let cat = Command::new("cat").arg(&path).output().unwrap();
    assert!(cat.status.success());

    let opened = |ev: &[serde_json::Value]| -> Vec<serde_json::Value> {
        of_type(ev, "lure_access")
            .into_iter()
            .filter(|e| e["event"]["action"] == "opened")
            .cloned()
            .collect()
    };
    let expected = if attributed { 1 } else { 2 };
    wait_for("the reads", Duration::from_secs(10), || {
        (opened(&s.events()).len() >= expected).then_some(())
    });
    std::thread::sleep(Duration::from_millis(500));
    let ev = s.events();
    let opens = opened(&ev);
    assert_eq!(opens.len(), expected, "{opens:#?}");
    assert!(
        of_type(&ev, "lure_access")
            .iter()
            .all(|e| e["event"]["action"] == "opened"),
        "the new mtime alone is no change: {ev:#?}"
    );
    let last = &opens[expected - 1]["event"];
    if attributed {
        let p = &last["process"];
        assert_eq!(
            p["exe"].as_str().unwrap().rsplit('/').next(),
            Some("cat"),
            "{p}"
        );
        assert_eq!(p["cmdline"], format!("cat {}", path.display()));
        assert_eq!(
            p["uid"].as_u64(),
            Some(fs::metadata(s.dir.path()).unwrap().uid() as u64)
        );
        assert!(
            d.metrics().contains("decoyd_lure_opens_ignored_total 1"),
            "{}",
            d.metrics()
        );
    } else {
        assert!(last.get("process").is_none());
    }
}
