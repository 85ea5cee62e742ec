//! Okta's Management API, against a fake Okta org on loopback (tests/python/fake_okta.py):
//! `decoyd okta register`, the user check before a push, and the direct response, with an
//! SSWS token or an OAuth service app (`private_key_jwt`, DPoP) whose assertions and proofs
//! the fake verifies with PyJWT.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::harness::*;

const ISSUER: &str = "https://decoyd.test.example";
const RISK: &str = "https://schemas.okta.com/secevent/okta/event-type/user-risk-change";
/// The fake org's users: alice only.
const ALICE: &str =
    r#"[{"id":"00ualice","login":"alice@example.com","email":"alice@example.com"}]"#;

/// The fake org.
struct FakeOkta(PyServer);

impl FakeOkta {
    fn start(dir: &Path, extra: &[&str]) -> FakeOkta {
        FakeOkta(PyServer::start("fake_okta.py", dir, free_port(), extra))
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.0.port)
    }

    fn requests(&self) -> Vec<serde_json::Value> {
        self.0.requests()
    }

    /// The requests of `method` to paths that start with `path_start`.
    fn to(&self, method: &str, path_start: &str) -> Vec<serde_json::Value> {
        self.requests()
            .into_iter()
            .filter(|r| {
                r["method"] == method && r["path"].as_str().unwrap().starts_with(path_start)
            })
            .collect()
    }
}

/// A sensor whose okta receiver points at the fake, with the discovery documents on a public
/// listener the fake can fetch, and a netrc lure for each of `owners` for the web decoy.
fn sensor(okta: &FakeOkta, receiver_extra: &str, owners: &[&str]) -> (Sensor, Vec<PathBuf>) {
    let public = free_port();
    let main = format!(
        "sensor:\n  id: alice-laptop\n  data_dir: ./data\ndecoys_dir: ./decoys\nadmin:\n  listen: 127.0.0.1:0\nidentity:\n  email_domain: example.com\nsignals:\n  issuer: {ISSUER}\n  public_listen: 127.0.0.1:{public}\n  public_base_url: http://127.0.0.1:{public}\n  max_retry_delay: 1s\n  auth_retry_delay: 1s\n  receivers:\n    - name: okta\n      kind: okta\n      org_url: {}\n      min_level: medium\n{receiver_extra}",
        okta.url()
    );
    let mut s = Sensor::with_main(&main).decoy("web", WEB);
    let mut paths = Vec::new();
    for o in owners {
        let path = s.dir.path().join(format!("home/{o}/.netrc"));
        s = s.decoy(
            &format!("{o}-netrc"),
            &format!(
                "kind: lure\nhost: alice-laptop\npath: {}\nowner: {o}\ntemplate: netrc\ncredential_for: web\n",
                path.display()
            ),
        );
        paths.push(path);
    }
    (s, paths)
}

/// Uses a netrc lure's credential at the web decoy, as curl does: `high` for its owner.
fn use_netrc(d: &Daemon, netrc: &Path) {
    wait_for("the lure planted", Duration::from_secs(10), || {
        netrc.exists().then_some(())
    });
    let (ok, _) = curl(&[
        "-s",
        "-o",
        "/dev/null",
        "--netrc-file",
        netrc.to_str().unwrap(),
        &format!("http://{}/login", d.addr("web")),
    ]);
    assert!(ok);
}

fn signals(s: &Sensor, env: &[(&str, &str)]) -> Vec<serde_json::Value> {
    let o = s.cli_with_env(env, &["signals", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn risk_level(push: &serde_json::Value) -> serde_json::Value {
    push["claims"]["events"][RISK]["current_level"].clone()
}

#[test]
fn a_service_app_with_dpop_registers_the_sensor_then_a_honeytoken_use_ends_the_owners_sessions() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("okta-app.pem");
    let okta = FakeOkta::start(
        tmp.path(),
        &[
            "--client-id",
            "0oa-decoyd",
            "--client-key-out",
            key.to_str().unwrap(),
            "--client-kid",
            "app-key-1",
            "--require-dpop",
            "--users",
            ALICE,
        ],
    );
    let api = format!(
        "      response: revoke_sessions\n      api:\n        client_id: 0oa-decoyd\n        private_key_file: {}\n        key_id: app-key-1\n",
        key.display()
    );
    let (s, netrcs) = sensor(&okta, &api, &["alice"]);

    // Registration: created, then updated in place, in well-known mode.
    let first = s.cli(&["okta", "register"]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let out = String::from_utf8(first.stdout).unwrap();
    assert!(
        out.starts_with("created Security Events Provider \"decoyd alice-laptop\""),
        "{out}"
    );
    let again = s.cli(&["okta", "register"]);
    assert!(again.status.success());
    assert!(
        String::from_utf8(again.stdout)
            .unwrap()
            .starts_with("updated ")
    );
    let created = okta.to("POST", "/api/v1/security-events-providers");
    let updated = okta.to("PUT", "/api/v1/security-events-providers/");
    assert_eq!(
        (created.len(), updated.len()),
        (1, 1),
        "{:#?}",
        okta.requests()
    );
    let settings = &updated[0]["body"]["settings"];
    let well_known = settings["well_known_url"].as_str().unwrap();
    assert!(
        well_known.starts_with("http://127.0.0.1:")
            && well_known.ends_with("/.well-known/ssf-configuration"),
        "{settings}"
    );
    assert_eq!(updated[0]["body"]["type"], "decoyd");
    assert_eq!(updated[0]["status"], 200);
    // DPoP when Okta demands it: the app requires a proof, then the nonce Okta hands out.
    let token_reqs = okta.to("POST", "/oauth2/v1/token");
    assert_eq!(token_reqs[0]["status"], 400);
    assert_eq!(token_reqs[0]["dpop"], false);
    assert_eq!(token_reqs[0]["answer"]["error"], "invalid_dpop_proof");
    assert_eq!(token_reqs[1]["status"], 400);
    assert_eq!(token_reqs[1]["answer"]["error"], "use_dpop_nonce");
    assert_eq!(token_reqs[2]["status"], 200);
    assert_eq!(token_reqs[2]["assertion_ok"], true);
    assert_eq!(
        token_reqs[2]["form"]["scope"],
        "okta.securityEventsProviders.manage"
    );
    assert!(
        updated
            .iter()
            .chain(&created)
            .all(|r| r["auth"] == "DPoP" && r["dpop"] == true)
    );

    // Debug and trace logs too must hold no secret.
    let d = s.start_with(&["-vv"]);
    use_netrc(&d, &netrcs[0]);

    // Okta verified the push with the JWKS it found through the registered well-known URL.
    let push = wait_for("a verified high push", Duration::from_secs(30), || {
        okta.to("POST", "/security/api/v1/security-events")
            .into_iter()
            .find(|r| r["status"] == 202 && risk_level(r) == "high")
    });
    assert_eq!(
        push["claims"]["events"][RISK]["subject"]["user"]["email"],
        "alice@example.com"
    );
    assert_eq!(push["claims"]["aud"], okta.url());
    // The user was looked up first, and her sessions and tokens were ended.
    let ended = wait_for("sessions ended", Duration::from_secs(30), || {
        okta.to("DELETE", "/api/v1/users/00ualice/sessions")
            .into_iter()
            .find(|r| r["status"] == 204)
    });
    assert_eq!(ended["query"]["oauthTokens"], "true");
    assert_eq!(
        (&ended["auth"], &ended["dpop"]),
        (&"DPoP".into(), &true.into())
    );
    let lookups = okta.to("GET", "/api/v1/users");
    assert!(!lookups.is_empty());
    assert!(
        lookups
            .iter()
            .all(|r| r["auth"] == "DPoP" && r["status"] == 200),
        "{lookups:#?}"
    );
    assert_eq!(
        lookups[0]["query"]["filter"],
        r#"profile.login eq "alice@example.com""#
    );
    // Each token was asked for with only the scope its call needs.
    let scopes: std::collections::BTreeSet<String> = okta
        .to("POST", "/oauth2/v1/token")
        .iter()
        .filter(|r| r["status"] == 200)
        .map(|r| r["form"]["scope"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        scopes.into_iter().collect::<Vec<_>>(),
        [
            "okta.securityEventsProviders.manage",
            "okta.users.manage",
            "okta.users.read"
        ]
    );

    // The outbox shows both, with the user found.
    let out = wait_for("both done in the outbox", Duration::from_secs(10), || {
        let v = signals(&s, &[]);
        v.iter()
            .any(|x| x["action"] == "revoke_sessions" && x["state"] == "delivered")
            .then_some(v)
    });
    let high_push = out
        .iter()
        .find(|x| x["level"] == "high" && x.get("action").is_none())
        .unwrap();
    assert_eq!(high_push["state"], "delivered");
    assert_eq!(high_push["okta_user"]["result"], "found");
    assert_eq!(high_push["okta_user"]["id"], "00ualice");
    assert_eq!(high_push["jti"], push["jti"]);

    // No secret in any log: not the private key, not one access token the fake issued.
    let pem = fs::read_to_string(&key).unwrap();
    let key_line = pem.lines().nth(3).unwrap();
    let shown = s.cli(&["signals"]);
    let logs = format!(
        "{}{}{}{}{}",
        d.log(),
        String::from_utf8_lossy(&first.stderr),
        String::from_utf8_lossy(&again.stderr),
        String::from_utf8_lossy(&shown.stdout),
        serde_json::to_string(&out).unwrap()
    );
    assert!(!logs.contains(key_line));
    for r in okta.to("POST", "/oauth2/v1/token") {
        if let Some(t) = r["issued"].as_str() {
            assert!(!logs.contains(t), "an access token is in a log");
            assert!(
                !contains(&all_bytes_under(&s.data()), t),
                "an access token is stored"
            );
        }
    }
}

#[test]
fn an_ssws_token_from_the_environment_sets_risk_and_an_unknown_user_is_flagged() {
    let tmp = tempfile::tempdir().unwrap();
    let okta = FakeOkta::start(
        tmp.path(),
        &["--ssws", "00ssws-test-token-value", "--users", ALICE],
    );
    let env = [("DECOYD_TEST_OKTA_TOKEN", "00ssws-test-token-value")];
    let (s, netrcs) = sensor(
        &okta,
        "      response: set_risk\n      api: { token_env: DECOYD_TEST_OKTA_TOKEN }\n",
        &["alice", "carol"],
    );
    // Without the variable the configuration is refused, naming it.
    let o = s.cli(&["check"]);
    assert_eq!(o.status.code(), Some(64));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.contains("decoyd.yaml:")
            && err.contains(
                "the environment variable \"DECOYD_TEST_OKTA_TOKEN\" (Okta API token) is not set"
            ),
        "{err}"
    );

    // Registration of the issuer and a JWKS URL, for a JWKS published as a file.
    let reg = s.cli_with_env(
        &env,
        &[
            "okta",
            "register",
            "--issuer-and-jwks",
            "--name",
            "decoyd lab",
        ],
    );
    assert!(
        reg.status.success(),
        "{}",
        String::from_utf8_lossy(&reg.stderr)
    );
    let p = &okta.to("POST", "/api/v1/security-events-providers")[0];
    assert_eq!(p["auth"], "SSWS");
    assert_eq!(p["body"]["name"], "decoyd lab");
    assert_eq!(p["body"]["settings"]["issuer"], ISSUER);
    assert!(
        p["body"]["settings"]["jwks_url"]
            .as_str()
            .unwrap()
            .ends_with("/jwks.json")
    );
    // The existing providers were listed first, to update rather than duplicate.
    assert_eq!(okta.to("GET", "/api/v1/security-events-providers").len(), 1);

    let d = s.start_with_env(&env);
    for n in &netrcs {
        use_netrc(&d, n);
    }
    // alice is an Okta user: her risk is set HIGH.
    let set = wait_for("alice's risk set", Duration::from_secs(30), || {
        okta.to("PUT", "/api/v1/users/00ualice/risk")
            .into_iter()
            .find(|r| r["status"] == 200)
    });
    assert_eq!(set["body"]["riskLevel"], "HIGH");
    assert!(
        set["body"]["riskReason"]
            .as_str()
            .unwrap()
            .contains("lure alice-netrc"),
        "{set}"
    );
    // carol is not: her push still goes, flagged in the outbox, the log and the metrics, and
    // her direct response is dead-lettered with the reason.
    // Commands that never call Okta work from a shell without the daemon's environment.
    let carol = wait_for("carol's signals settled", Duration::from_secs(30), || {
        let v = signals(&s, &[]);
        let mine: Vec<_> = v
            .into_iter()
            .filter(|x| x["email"] == "carol@example.com" && x["level"] == "high")
            .collect();
        (mine.len() == 2 && mine.iter().all(|x| x["state"] != "pending")).then_some(mine)
    });
    let push = carol.iter().find(|x| x.get("action").is_none()).unwrap();
    let action = carol.iter().find(|x| x["action"] == "set_risk").unwrap();
    assert_eq!(push["state"], "delivered");
    assert_eq!(push["okta_user"]["result"], "not_found");
    assert_eq!(action["state"], "dead");
    assert_eq!(
        action["last_answer"],
        "no Okta user has login or email carol@example.com"
    );
    assert!(d.log().contains("no Okta user has this login or email"));
    let text = String::from_utf8(s.cli(&["signals"]).stdout).unwrap();
    assert!(
        text.contains("none has this login or email, so Okta drops the signal"),
        "{text}"
    );
    assert!(text.contains("okta:set_risk"), "{text}");
    let m = d.metrics();
    assert!(
        m.contains(r#"decoyd_okta_user_checks_total{receiver="okta",result="not_found"}"#),
        "{m}"
    );
    // Lookups tried login, then email, for carol.
    let carol_lookups: Vec<_> = okta
        .to("GET", "/api/v1/users")
        .into_iter()
        .filter(|r| r["query"].to_string().contains("carol"))
        .collect();
    assert!(
        carol_lookups
            .iter()
            .any(|r| r["query"]["search"] == r#"profile.email eq "carol@example.com""#)
    );

    // An operator's clear lowers alice's risk in Okta too.
    let o = s.cli_with_env(
        &env,
        &[
            "identities",
            "clear",
            "alice@example.com",
            "--reason",
            "red team exercise",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let low = wait_for("alice's risk lowered", Duration::from_secs(30), || {
        okta.to("PUT", "/api/v1/users/00ualice/risk")
            .into_iter()
            .find(|r| r["body"]["riskLevel"] == "LOW" && r["status"] == 200)
    });
    assert_eq!(low["auth"], "SSWS");
    let logs = d.log();
    assert!(
        !logs.contains("00ssws-test-token-value"),
        "the token is in the log"
    );
    assert!(!contains(
        &all_bytes_under(&s.data()),
        "00ssws-test-token-value"
    ));
}

#[test]
fn a_wrong_token_gets_okta_s_401_retried_then_dead_and_a_bad_api_section_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let okta = FakeOkta::start(tmp.path(), &["--ssws", "right-token", "--users", ALICE]);
    let token_file = tmp.path().join("okta.token");
    fs::write(&token_file, "wrong-token\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&token_file, fs::Permissions::from_mode(0o644)).unwrap();
    let api = format!(
        "      response: set_risk\n      api:\n        token_file: {}\n",
        token_file.display()
    );
    let (s, netrcs) = sensor(&okta, &api, &["alice"]);
    // A token file its group or others can read is refused.
    let o = s.cli(&["check"]);
    assert_eq!(o.status.code(), Some(64));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.contains("its group or others may read it (mode 644)"),
        "{err}"
    );
    fs::set_permissions(&token_file, fs::Permissions::from_mode(0o600)).unwrap();

    let d = s.start();
    use_netrc(&d, &netrcs[0]);
    let dead = wait_for(
        "the response dead-lettered",
        Duration::from_secs(30),
        || {
            signals(&s, &[])
                .into_iter()
                .find(|x| x["action"] == "set_risk" && x["state"] == "dead")
        },
    );
    // Okta's 401 may be a token just rotated: a few retries, then dead.
    assert_eq!(dead["attempts"], 4, "{dead}");
    assert!(
        dead["last_answer"].as_str().unwrap().starts_with("401 "),
        "{dead}"
    );
    assert!(okta.to("PUT", "/api/v1/users/00ualice/risk").is_empty());
    // The push needs no API token: it was sent despite the failed lookup, which is noted
    // (this org has no provider registered, so Okta answers invalid_issuer).
    let push = signals(&s, &[])
        .into_iter()
        .find(|x| x["level"] == "high" && x.get("action").is_none())
        .unwrap();
    assert_eq!(push["okta_user"]["result"], "failed");
    assert!(
        push["last_answer"]
            .as_str()
            .unwrap()
            .contains("invalid_issuer"),
        "{push}"
    );
    assert!(
        !okta
            .to("POST", "/security/api/v1/security-events")
            .is_empty()
    );

    // Errors in `api:` name the line; typos are caught.
    let (bad, _) = sensor(
        &okta,
        "      verify_users: true\n    - name: other\n      kind: ssf\n      url: http://127.0.0.1:9/x\n      response: set_risk\n      api: { token_file: /nonexistent }\n    - name: third\n      kind: okta\n      org_url: https://acme.okta.com\n      api: { token_fil: x }\n    - name: fourth\n      kind: okta\n      org_url: https://acme.okta.com\n      response: revoke_tokens\n      api: { token_env: PATH, key_id: k1 }\n",
        &[],
    );
    let o = bad.cli(&["check"]);
    assert_eq!(o.status.code(), Some(64));
    let err = String::from_utf8(o.stderr).unwrap();
    for want in [
        "`verify_users` needs Okta API credentials",
        "`api:` is for okta receivers",
        "unknown key `token_fil`",
        "(did you mean `token_file`?)",
        "`response` is for okta receivers",
        "`key_id` is for an OAuth service app, not an SSWS token",
        "revoke_tokens (global token revocation, scope okta.universalLogout.manage) needs an OAuth service app",
    ] {
        assert!(err.contains(want), "{want:?} missing from:\n{err}");
    }
    assert!(
        err.lines().filter(|l| l.contains("decoyd.yaml:")).count() >= 7,
        "{err}"
    );
}

#[test]
fn global_token_revocation_goes_with_a_fresh_token_after_okta_revoked_the_first() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("okta-app.pem");
    let okta = FakeOkta::start(
        tmp.path(),
        &[
            "--client-id",
            "0oa-decoyd",
            "--client-key-out",
            key.to_str().unwrap(),
            "--revoke-first-token",
            "--users",
            ALICE,
        ],
    );
    let api = format!(
        "      response: revoke_tokens\n      api: {{ client_id: 0oa-decoyd, private_key_file: {} }}\n",
        key.display()
    );
    let (s, netrcs) = sensor(&okta, &api, &["alice"]);
    let d = s.start();
    use_netrc(&d, &netrcs[0]);
    let revoked = wait_for("global token revocation", Duration::from_secs(30), || {
        okta.to("POST", "/oauth2/v1/global-token-revocation")
            .into_iter()
            .find(|r| r["status"] == 204)
    });
    assert_eq!(
        revoked["body"],
        serde_json::json!({"sub_id": {"format": "opaque", "id": "00ualice"}})
    );
    assert_eq!(revoked["auth"], "Bearer");
    // The first token was refused (revoked at Okta); decoyd dropped it and asked for another.
    let lookups = okta.to("GET", "/api/v1/users");
    assert_eq!(lookups[0]["status"], 401, "{lookups:#?}");
    assert_eq!(lookups[0]["revoked"], true);
    assert!(lookups.iter().any(|r| r["status"] == 200));
    let read_tokens = okta
        .to("POST", "/oauth2/v1/token")
        .into_iter()
        .filter(|r| r["status"] == 200 && r["form"]["scope"] == "okta.users.read")
        .count();
    assert_eq!(read_tokens, 2);
    let done = wait_for("the response delivered", Duration::from_secs(10), || {
        signals(&s, &[])
            .into_iter()
            .find(|x| x["action"] == "revoke_tokens" && x["state"] == "delivered")
    });
    assert_eq!(done["okta_user"]["id"], "00ualice");
}
