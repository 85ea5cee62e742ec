use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::*;

/// A config folder with a main file and decoy files.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new(main: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("decoyd.yaml"), main).unwrap();
        fs::create_dir(dir.path().join("decoys")).unwrap();
        Fixture { dir }
    }

    fn decoy(self, name: &str, text: &str) -> Fixture {
        fs::write(self.dir.path().join("decoys").join(name), text).unwrap();
        self
    }

    fn main(&self) -> PathBuf {
        self.dir.path().join("decoyd.yaml")
    }

    fn errors(&self) -> Vec<String> {
        match load(Some(&self.main())) {
            Ok(_) => Vec::new(),
            Err(e) => e.0.iter().map(|e| relative(e, self.dir.path())).collect(),
        }
    }
}

/// `decoys/web.yaml:2:9: message` with the temp folder cut off.
fn relative(e: &ConfigError, base: &Path) -> String {
    let file = e
        .file
        .strip_prefix(base)
        .unwrap_or(&e.file)
        .display()
        .to_string();
    format!("{file}:{}:{}: {}", e.line, e.column, e.message)
}

const MAIN: &str = "sensor:\n  id: test-01\n  data_dir: ./data\ndecoys_dir: ./decoys\nadmin:\n  listen: 127.0.0.1:0\n";

#[test]
fn a_valid_config_loads_with_paths_relative_to_its_file() {
    let f = Fixture::new(MAIN).decoy(
        "web.yaml",
        "kind: http\nlisten: 127.0.0.1:0\nskin: jenkins\n",
    );
    let c = load(Some(&f.main())).unwrap();
    assert_eq!(&*c.sensor_id, "test-01");
    assert_eq!(c.data_dir, f.dir.path().join("data"));
    assert_eq!(c.decoys.len(), 1);
    assert_eq!(&*c.decoys[0].name, "web");
    assert!(matches!(&c.decoys[0].kind, DecoyKind::Http(h) if h.skin.name() == "jenkins"));
}

#[test]
fn broken_files_each_name_file_line_and_column() {
    // (decoy file text, expected error)
    let cases: &[(&str, &str)] = &[
        (
            "kind: http\nlisten: 127.0.0.1:0\nskn: generic\n",
            "decoys/d.yaml:3:1: unknown key `skn`, expected one of",
        ),
        (
            "kind: http\nlisten: [1, 2]\n",
            "decoys/d.yaml:2:9: wrong type: expected a single text value",
        ),
        (
            "kind: http\nlisten: 127.0.0.1:0\nlimits:\n  max_connections: lots\n",
            "decoys/d.yaml:4:20: wrong type: expected a whole number",
        ),
        (
            "kind: http\nlisten: localhost:80\n",
            "decoys/d.yaml:2:9: invalid listen address \"localhost:80\": expected an IP address and a port",
        ),
        (
            "kind: http\nlisten: 127.0.0.1:99999\n",
            "decoys/d.yaml:2:9: invalid listen address",
        ),
        ("", "decoys/d.yaml:1:1: the decoy file is empty"),
        (
            "# nothing here\n",
            "decoys/d.yaml:1:1: the decoy file is empty",
        ),
        (
            "kind: http\nlisten: \"127.0.0.1:0\n",
            "decoys/d.yaml:2:9: unclosed quote",
        ),
        (
            "kind: http\n  listen: x\n",
            "decoys/d.yaml:2:9: mapping values are not allowed in this context",
        ),
        (
            "kind: ftp\nlisten: 127.0.0.1:21\n",
            "decoys/d.yaml:1:7: unknown decoy kind \"ftp\": expected one of http",
        ),
        (
            "listen: 127.0.0.1:0\n",
            "decoys/d.yaml:1:1: missing `kind:`",
        ),
        (
            "kind: http\nlisten: 127.0.0.1:0\nskin: jenkns\n",
            "decoys/d.yaml:3:7: unknown skin \"jenkns\": expected one of generic, jenkins",
        ),
        (
            "kind: http\nlisten: 127.0.0.1:0\nanswer_delay: soon\n",
            "decoys/d.yaml:3:15: invalid duration \"soon\"",
        ),
        (
            "kind: http\nlisten: 127.0.0.1:0\nanswer_delay: 2s..1s\n",
            "decoys/d.yaml:3:15: invalid delay range",
        ),
        (
            "kind: http\nlisten: 127.0.0.1:0\nlimits:\n  max_body_size: 1TB\n",
            "decoys/d.yaml:4:18: max_body_size out of range: expected 1KiB to 16MiB",
        ),
        (
            "kind: http\nlisten: 127.0.0.1:0\nskin: jenkins\ntitle: Hi\n",
            "decoys/d.yaml:4:8: `title` applies to the generic skin only",
        ),
        (
            "kind: http\nlisten: 127.0.0.1:0\npage: ./missing.html\n",
            "decoys/d.yaml:3:7: page ",
        ),
        (
            "- a\n- b\n",
            "decoys/d.yaml:1:1: wrong type: expected a mapping",
        ),
    ];
    for (text, want) in cases {
        let f = Fixture::new(MAIN).decoy("d.yaml", text);
        let errs = f.errors();
        assert_eq!(errs.len(), 1, "{text:?} gave {errs:#?}");
        assert!(
            errs[0].starts_with(want),
            "{text:?}:\n  got  {}\n  want {want}",
            errs[0]
        );
    }
}

#[test]
fn every_error_in_every_file_is_reported_together() {
    let f =
        Fixture::new("sensor:\n  id: 'bad id!'\nadmin:\n  listen: nowhere\ndecoys_dir: ./decoys\n")
            .decoy("a.yaml", "kind: http\nlisten: 127.0.0.1:0\nbogus: 1\n")
            .decoy("b.yaml", "kind: http\nlisten: 1.2.3\nanswer_delay: x\n");
    let errs = f.errors();
    assert_eq!(errs.len(), 5, "{errs:#?}");
    assert!(
        errs[0].starts_with("decoyd.yaml:2:7: invalid sensor id"),
        "{errs:#?}"
    );
    assert!(
        errs[1].starts_with("decoyd.yaml:4:11: invalid listen address"),
        "{errs:#?}"
    );
    assert!(
        errs[2].starts_with("decoys/a.yaml:3:1: unknown key `bogus`"),
        "{errs:#?}"
    );
    assert!(
        errs[3].starts_with("decoys/b.yaml:2:9: invalid listen address"),
        "{errs:#?}"
    );
    assert!(
        errs[4].starts_with("decoys/b.yaml:3:15: invalid duration"),
        "{errs:#?}"
    );
}

#[test]
fn two_decoys_on_one_address_name_both_files() {
    let f = Fixture::new(MAIN)
        .decoy("one.yaml", "kind: http\nlisten: 0.0.0.0:8080\n")
        .decoy("two.yaml", "kind: http\nlisten: 127.0.0.1:8080\n");
    let errs = f.errors();
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(errs[0].starts_with("decoys/two.yaml:2:9: address 127.0.0.1:8080 of decoy \"two\" conflicts with 0.0.0.0:8080 of decoy \"one\" at "), "{errs:#?}");
    assert!(errs[0].ends_with("decoys/one.yaml:2:9"), "{errs:#?}");
}

#[test]
fn port_zero_never_conflicts_and_distinct_ips_share_a_port() {
    let f = Fixture::new(MAIN)
        .decoy("a.yaml", "kind: http\nlisten: 127.0.0.1:0\n")
        .decoy("b.yaml", "kind: http\nlisten: 127.0.0.1:0\n")
        .decoy("c.yaml", "kind: http\nlisten: 127.0.0.2:8080\n")
        .decoy("d.yaml", "kind: http\nlisten: 127.0.0.3:8080\n");
    assert_eq!(f.errors(), Vec::<String>::new());
}

#[test]
fn wildcards_conflict_within_their_family_and_v6_any_with_everything() {
    let a = |s: &str| s.parse::<SocketAddr>().unwrap();
    assert!(same_socket(a("0.0.0.0:80"), a("127.0.0.1:80")));
    assert!(
        !same_socket(a("0.0.0.0:80"), a("[::1]:80")),
        "IPv4 any and an IPv6 address bind together"
    );
    assert!(
        same_socket(a("[::]:80"), a("127.0.0.1:80")),
        "[::] is dual-stack on Linux"
    );
    assert!(same_socket(a("[::]:80"), a("[::1]:80")));
    assert!(!same_socket(a("127.0.0.1:80"), a("127.0.0.2:80")));
}

#[test]
fn every_unknown_key_and_bad_value_in_one_file_is_reported_together() {
    let f = Fixture::new(MAIN).decoy(
        "web.yaml",
        "kind: http\nlisten: nowhere\nskn: generic\nanswer_delay: soon\ntitel: x\nlimits:\n  max_body: 1\n",
    );
    let errs = f.errors();
    assert_eq!(errs.len(), 5, "{errs:#?}");
    assert!(
        errs[0].starts_with("decoys/web.yaml:3:1: unknown key `skn`")
            && errs[0].ends_with("(did you mean `skin`?)")
    );
    assert!(errs[1].starts_with("decoys/web.yaml:5:1: unknown key `titel`"));
    assert!(errs[2].starts_with("decoys/web.yaml:7:3: unknown key `max_body`"));
    assert!(errs[3].starts_with("decoys/web.yaml:2:9: invalid listen address"));
    assert!(errs[4].starts_with("decoys/web.yaml:4:15: invalid duration"));
}

#[test]
fn an_unknown_key_in_the_main_file_does_not_hide_the_decoys_errors() {
    let f =
        Fixture::new(&format!("{MAIN}sensr: x\n")).decoy("web.yaml", "kind: http\nlisten: bad\n");
    let errs = f.errors();
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert!(
        errs[0].starts_with("decoyd.yaml:7:1: unknown key `sensr`")
            && errs[0].ends_with("(did you mean `sensor`?)")
    );
    assert!(errs[1].starts_with("decoys/web.yaml:2:9: invalid listen address"));
}

#[test]
fn an_empty_decoys_folder_is_an_error_and_upper_case_extensions_count() {
    let f = Fixture::new(MAIN);
    let errs = f.errors();
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(
        errs[0].starts_with("decoyd.yaml:4:13: no decoys:"),
        "{errs:#?}"
    );
    let f = f.decoy("WEB.YAML", "kind: http\nlisten: 127.0.0.1:0\n");
    assert_eq!(f.errors(), Vec::<String>::new());
}

#[test]
fn a_decoy_on_the_admin_address_is_a_conflict() {
    let main = MAIN.replace("127.0.0.1:0", "127.0.0.1:9470");
    let f = Fixture::new(&main).decoy("web.yaml", "kind: http\nlisten: 127.0.0.1:9470\n");
    let errs = f.errors();
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(
        errs[0].contains("conflicts with 127.0.0.1:9470 of the admin listener at"),
        "{errs:#?}"
    );
}

#[test]
fn missing_decoys_folder_points_at_decoys_dir() {
    let f = Fixture::new(&MAIN.replace("./decoys", "./nowhere"));
    let errs = f.errors();
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(
        errs[0].starts_with("decoyd.yaml:4:13: decoys folder"),
        "{errs:#?}"
    );
    assert!(errs[0].ends_with("nowhere does not exist"), "{errs:#?}");
}

#[test]
fn main_file_problems() {
    let cases: &[(&str, &str)] = &[
        ("", "decoyd.yaml:1:1: the config file is empty"),
        (
            "sensor:\n  idd: x\n",
            "decoyd.yaml:2:3: unknown key `idd`, expected one of id, data_dir",
        ),
        (
            "capture_passwords: clear\n",
            "decoyd.yaml:1:20: unknown variant `clear`, expected one of",
        ),
        (
            "store:\n  commit_window: 1s\n",
            "decoyd.yaml:2:18: store commit_window is too long: expected at most 100ms",
        ),
        (
            "store:\n  retention: 5s\n",
            "decoyd.yaml:2:14: store retention is too short",
        ),
        (
            "store:\n  max_size: 12 parsecs\n",
            "decoyd.yaml:2:13: invalid size",
        ),
        (
            "store:\n  write_queue: 1\n",
            "decoyd.yaml:2:16: 1 is out of range: expected 16 to 1048576",
        ),
    ];
    for (text, want) in cases {
        let f = Fixture::new(text);
        let errs = f.errors();
        assert!(!errs.is_empty(), "{text:?} was accepted");
        assert!(
            errs[0].starts_with(want),
            "{text:?}:\n  got  {}\n  want {want}",
            errs[0]
        );
    }
}

#[test]
fn a_custom_page_template_is_checked_at_its_own_positions() {
    let f = Fixture::new(MAIN).decoy(
        "web.yaml",
        "kind: http\nlisten: 127.0.0.1:0\npage: login.html\n",
    );
    fs::write(
        f.dir.path().join("decoys/login.html"),
        "<h1>{{title}}</h1>\n<p>{{eror}}</p>\n",
    )
    .unwrap();
    let errs = f.errors();
    assert_eq!(
        errs,
        vec![
            "decoys/login.html:2:4: unknown placeholder {{eror}}, expected {{title}} or {{error}}"
        ]
    );
    fs::write(
        f.dir.path().join("decoys/login.html"),
        "<h1>{{title}}</h1>\n<p>{{error}}</p>\n",
    )
    .unwrap();
    assert_eq!(f.errors(), Vec::<String>::new());
}

#[test]
fn decoy_files_with_the_same_name_are_an_error() {
    let f = Fixture::new(MAIN)
        .decoy("web.yaml", "kind: http\nlisten: 127.0.0.1:0\n")
        .decoy("web.yml", "kind: http\nlisten: 127.0.0.1:0\n");
    let errs = f.errors();
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(
        errs[0].starts_with("decoys/web.yml:1:1: decoy name \"web\" is also defined by"),
        "{errs:#?}"
    );
}

#[test]
fn other_files_in_the_decoys_folder_are_ignored() {
    let f = Fixture::new(MAIN)
        .decoy("README.md", "not yaml")
        .decoy(".hidden.yaml", "garbage: [")
        .decoy("web.yaml", "kind: http\nlisten: 127.0.0.1:0\n");
    assert_eq!(f.errors(), Vec::<String>::new());
}

#[test]
fn the_builtin_default_is_valid() {
    let c = builtin();
    assert_eq!(c.origin, Origin::BuiltIn);
    assert_eq!(c.data_dir, PathBuf::from("decoyd-data"));
    assert_eq!(c.admin_listen.to_string(), "127.0.0.1:9470");
    let decoys: Vec<(String, &str, String)> = c
        .decoys
        .iter()
        .map(|d| {
            (
                d.name.to_string(),
                d.kind.label(),
                d.kind.listen().map(|a| a.to_string()).unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        decoys,
        [
            ("demo-lure".to_string(), "lure", String::new()),
            ("ssh".to_string(), "ssh", "127.0.0.1:2222".to_string()),
            ("web".to_string(), "http", "127.0.0.1:8080".to_string())
        ]
    );
}

#[test]
fn the_repository_examples_are_valid() {
    let main = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/decoyd.yaml");
    let c = load(Some(&main)).unwrap_or_else(|e| panic!("{e}"));
    assert!(!c.decoys.is_empty());
}

#[test]
fn an_ssh_decoy_loads_with_its_defaults() {
    let f = Fixture::new(MAIN).decoy("ssh.yaml", "kind: ssh\nlisten: 127.0.0.1:0\n");
    let c = load(Some(&f.main())).unwrap_or_else(|e| panic!("{e}"));
    let DecoyKind::Ssh(s) = &c.decoys[0].kind else {
        panic!("an ssh decoy")
    };
    assert_eq!(s.profile.to_string(), "openssh-9.6p1-ubuntu");
    assert_eq!(s.max_auth_tries, 6);
    assert_eq!(s.login_grace_time, Duration::from_secs(120));
    assert_eq!(s.failure_delay.min, Duration::from_secs(2));
    assert!(s.accept.is_empty(), "nothing is accepted unless listed");
    assert!(!s.shell.hostname.is_empty());
}

#[test]
fn every_problem_in_an_ssh_decoy_is_reported_at_its_position() {
    let f = Fixture::new(MAIN).decoy(
        "ssh.yaml",
        "kind: ssh\n\
         listen: 127.0.0.1:22x\n\
         profile: openssh-7\n\
         failure_delay: 1m\n\
         max_auth_tries: 0\n\
         login_grace_time: 2h\n\
         acept: []\n\
         accept:\n\
         \x20 - user: Root\n\
         \x20   password: x\n\
         \x20 - user: git\n\
         \x20   key: ssh-ed25519 notbase64\n\
         \x20 - user: ops\n\
         \x20 - user: ops\n\
         \x20   password: a\n\
         \x20   key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJyZZAc5bXk5WenrfmZnukY5fZeMz2VHuW3qPHKkUv1s\n\
         \x20 - user: deploy\n\
         \x20   pasword: x\n\
         shell:\n\
         \x20 hostname: bad_host\n\
         \x20 files:\n\
         \x20   etc/motd: hi\n\
         \x20   /home/../etc/x: hi\n\
         limits:\n\
         \x20 idle_timeout: 0s\n",
    );
    let errs = f.errors();
    let want = [
        "decoys/ssh.yaml:7:1: unknown key `acept`",
        "decoys/ssh.yaml:18:5: unknown key `pasword`",
        "decoys/ssh.yaml:2:9: invalid listen address",
        "decoys/ssh.yaml:3:10: unknown profile \"openssh-7\": expected one of openssh-9.6p1-ubuntu, openssh-9.2p1-debian",
        "decoys/ssh.yaml:4:16: failure_delay is too long",
        "decoys/ssh.yaml:6:19: login_grace_time out of range",
        "decoys/ssh.yaml:5:17: 0 is out of range: expected 1 to 100",
        "decoys/ssh.yaml:9:11: invalid user \"Root\"",
        "decoys/ssh.yaml:12:10: invalid public key",
        "decoys/ssh.yaml:13:11: accept item for \"ops\" has no `password` or `key`",
        "decoys/ssh.yaml:16:10: an accept item has either `password` or `key`, not both",
        "decoys/ssh.yaml:17:11: accept item for \"deploy\" has no `password` or `key`",
        "decoys/ssh.yaml:20:13: invalid hostname \"bad_host\"",
        "decoys/ssh.yaml:23:21: invalid shell file path \"/home/../etc/x\"",
        "decoys/ssh.yaml:22:15: invalid shell file path \"etc/motd\"",
        "decoys/ssh.yaml:25:17: idle_timeout out of range",
    ];
    for w in want {
        assert!(
            errs.iter().any(|e| e.starts_with(w)),
            "missing {w:?} in {errs:#?}"
        );
    }
    assert_eq!(errs.len(), want.len(), "{errs:#?}");
}

#[test]
fn a_lure_loads_with_its_owner_completed_and_its_decoy_checked() {
    let main = format!("{MAIN}identity:\n  email_domain: example.com\n");
    let f = Fixture::new(&main)
        .decoy("ssh.yaml", "kind: ssh\nlisten: 127.0.0.1:0\n")
        .decoy(
            "alice-notes.yaml",
            "kind: lure\nhost: alice-laptop\npath: ./home/notes.txt\nowner: alice\ntemplate: ssh-notes\ncredential_for: ssh\nmode: \"0640\"\n",
        );
    let c = load(Some(&f.main())).unwrap();
    let DecoyKind::Lure(l) = &c.decoys[0].kind else {
        panic!("a lure")
    };
    assert_eq!(&*l.owner, "alice@example.com");
    assert_eq!(l.path, f.dir.path().join("decoys/home/notes.txt"));
    assert_eq!(l.mode, Some(0o640));
    assert_eq!(l.credential_for.as_deref(), Some("ssh"));
}

#[test]
fn every_lure_mistake_is_named_where_it_is() {
    let f = Fixture::new(MAIN)
        .decoy("web.yaml", "kind: http\nlisten: 127.0.0.1:0\n")
        .decoy(
            "bad.yaml",
            "kind: lure\nhost: alice laptop\npath: /home/alice/.netrc\nowner: alice\ntemplate: netrx\ncredential_for: sshh\nmode: \"999\"\ntarget: { port: 0 }\n",
        );
    assert_eq!(
        f.errors(),
        [
            "decoys/bad.yaml:2:7: invalid lure host (the sensor id that plants it): invalid sensor id \"alice laptop\": expected 1 to 64 letters, digits, `.`, `-` or `_`",
            "decoys/bad.yaml:5:11: unknown template \"netrx\": expected one of aws-credentials, ssh-notes, ssh-config, netrc, env-file, git-credentials, kubeconfig, passwords-csv",
            "decoys/bad.yaml:8:17: target port 0 is no address to write into a lure: expected 1 to 65535",
            "decoys/bad.yaml:7:7: invalid mode \"999\": expected octal permission bits the owner can read, like \"0600\" or \"0644\"",
        ]
    );
    let f = Fixture::new(MAIN)
        .decoy("web.yaml", "kind: http\nlisten: 127.0.0.1:0\n")
        .decoy(
            "l.yaml",
            "kind: lure\nhost: a\npath: /x/.netrc\nowner: alice\ntemplate: netrc\ncredential_for: sshh\n",
        );
    assert_eq!(
        f.errors(),
        [
            "decoys/l.yaml:6:17: credential_for names no SSH or HTTP decoy \"sshh\": expected one of web",
            "decoys/l.yaml:4:8: owner \"alice\" has no domain: write the email address, or set `identity.email_domain` in the main file",
        ]
    );
}

#[test]
fn a_custom_lure_template_is_checked_at_its_own_line_and_column() {
    let f = Fixture::new(MAIN).decoy(
        "l.yaml",
        "kind: lure\nhost: a\npath: /x/notes\nowner: a@example.com\ntemplate_file: ./notes.tmpl\n",
    );
    fs::write(
        f.dir.path().join("decoys/notes.tmpl"),
        "db pass:\n  {{pasword}}\n",
    )
    .unwrap();
    let errs = f.errors();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("decoys/notes.tmpl:2:3: unknown placeholder {{pasword}}"),
        "{errs:?}"
    );
}

#[test]
fn scoring_settings_load_and_every_mistake_is_named() {
    let main = format!(
        "{MAIN}identity:\n  users: {{ alice: alice@example.com }}\nscoring:\n  allow_sources: [10.0.9.0/24, \"fd00::/8\"]\n  window: 2d\n  weights: {{ lure_opened: 0.5, many_sources: 0.4 }}\n  thresholds: {{ low: 10, medium: 40, high: 70 }}\n"
    );
    let f = Fixture::new(&main).decoy("web.yaml", "kind: http\nlisten: 127.0.0.1:0\n");
    let c = load(Some(&f.main())).unwrap();
    let s = &c.scoring;
    assert_eq!(s.allow_sources.len(), 2);
    assert_eq!(s.window, Duration::from_secs(2 * 86_400));
    assert_eq!(s.weight(crate::score::EvidenceKind::LureOpened), 0.5);
    assert_eq!(s.bonus_many_sources, 0.4);
    assert_eq!(s.thresholds, [10, 40, 70]);
    assert_eq!(
        s.users,
        [("alice".to_string(), "alice@example.com".to_string())]
    );

    let main = format!(
        "{MAIN}identity:\n  users: {{ bob: not-an-email }}\nscoring:\n  allow_sources: [10.0.9.0/33]\n  weights: {{ lure_openned: 0.5, connection: 2 }}\n  thresholds: {{ low: 50, medium: 40 }}\n"
    );
    let f = Fixture::new(&main).decoy("web.yaml", "kind: http\nlisten: 127.0.0.1:0\n");
    assert_eq!(
        f.errors(),
        [
            "decoyd.yaml:10:19: invalid address block \"10.0.9.0/33\": expected an address or ADDR/LEN, like 10.0.9.0/24",
            "decoyd.yaml:11:45: weight connection out of range: expected 0 to 1 (a confidence)",
            "decoyd.yaml:11:28: unknown weight \"lure_openned\": expected one of connection, page_visit, login_guessed_name, login_known_user, lure_opened, lure_changed, honeytoken_used, honeytoken_session, many_sources, read_then_used, many_decoys",
            "decoyd.yaml:12:34: thresholds 50, 40, 80 out of order: expected 1 <= low < medium < high <= 100",
            "decoyd.yaml:8:17: invalid identity for user \"bob\": expected an email address like alice@example.com",
        ]
    );
}
