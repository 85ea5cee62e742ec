//! The admin listener: health, metrics, and the token-protected API the CLI uses; and the
//! built-in default a newcomer runs first.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::*;

#[test]
fn health_metrics_and_an_authenticated_status() {
    let sensor = Sensor::new().decoy("web", WEB);
    let d = sensor.start();
    let (code, body) = d.admin_get("/healthz", false);
    assert_eq!((code, body.as_str()), (200, "ok\n"));

    for _ in 0..3 {
        curl(&[
            "-d",
            "username=x&password=y",
            &format!("http://{}/login", d.addr("web")),
        ]);
    }
    let m = d.metrics();
    assert!(
        m.contains("decoyd_touches_total{decoy=\"web\",kind=\"http_request\"} 3"),
        "{m}"
    );
    assert!(m.contains("decoyd_store_flushed_seq 3"), "{m}");
    assert!(m.contains("decoyd_store_write_seconds_count 3"), "{m}");
    // curl has closed its connection; the decoy notices a moment later.
    wait_for(
        "the connection to be closed",
        Duration::from_secs(10),
        || {
            d.metrics()
                .contains("decoyd_connections_open{decoy=\"web\"} 0")
                .then_some(())
        },
    );
    assert!(m.contains("decoyd_touches_folded_total 0"), "{m}");

    // The API needs the token; a wrong one is refused like none.
    assert_eq!(d.admin_get("/api/v1/status", false).0, 401);
    let mut wrong = std::net::TcpStream::connect(d.admin).unwrap();
    use std::io::{Read, Write};
    write!(wrong, "GET /api/v1/status HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {}x\r\nConnection: close\r\n\r\n", d.token).unwrap();
    let mut answer = String::new();
    wrong.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");

    let status = d.status();
    assert_eq!(status.sensor, "test-sensor");
    assert_eq!(status.store.flushed.seq, 3);
    let web = status.listening.iter().find(|l| l.name == "web").unwrap();
    assert_ne!(
        web.addr.port(),
        0,
        "port 0 is reported as the port actually bound"
    );
    assert!(
        status
            .listening
            .iter()
            .any(|l| l.kind == "admin" && l.addr == d.admin)
    );

    // The token file is private.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(sensor.data().join("admin.token"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let mode = std::fs::metadata(sensor.data())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
    assert_eq!(d.admin_get("/nothing", true).0, 404);
}

#[test]
fn the_built_in_default_runs_with_no_config_anywhere() {
    let cwd = tempfile::tempdir().unwrap();
    let child = Command::new(bin())
        .arg("run")
        .current_dir(cwd.path())
        .env_remove("DECOYD_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Whatever happens below, the daemon (on fixed ports) is ended through its handle.
    let mut guard = Ended(child);
    let child = &mut guard.0;
    let data = cwd.path().join("decoyd-data");
    wait_for(
        "the built-in default to start",
        Duration::from_secs(30),
        || {
            assert!(child.try_wait().unwrap().is_none(), "decoyd exited");
            data.join("admin.addr").exists().then_some(())
        },
    );
    let (ok, page) = curl(&["http://127.0.0.1:8080/"]);
    assert!(ok && page.contains("<form"), "{page}");
    let out = Command::new(bin())
        .args(["events", "--json"])
        .current_dir(cwd.path())
        .env_remove("DECOYD_CONFIG")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"decoy\":\"web\""));
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let status = wait_for("decoyd to stop", Duration::from_secs(20), || {
        child.try_wait().unwrap()
    });
    assert_eq!(status.code(), Some(0));
    let mut log = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(
        log.contains("listening name=web kind=http addr=127.0.0.1:8080"),
        "{log}"
    );
    assert!(log.contains("addr=127.0.0.1:9470"), "{log}");
}
