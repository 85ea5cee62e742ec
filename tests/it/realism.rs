//! What attackers' tools make of the decoys: nmap must name the product the skin imitates,
//! hydra must find nothing and lose no attempt, and the Jenkins skin must walk a browser
//! through Jenkins's own login flow.

use std::process::Command;

use crate::harness::*;

const JENKINS: &str = "kind: http\nlisten: 127.0.0.1:0\nskin: jenkins\nanswer_delay: 0s\n";

#[test]
fn nmap_names_the_product_each_skin_imitates() {
    let sensor = Sensor::new().decoy("web", WEB).decoy("ci", JENKINS);
    let d = sensor.start();
    let (web, ci) = (d.addr("web").port(), d.addr("ci").port());
    let out = Command::new("nmap")
        .args([
            "-sV",
            "-Pn",
            "-n",
            "--host-timeout",
            "120s",
            "-p",
            &format!("{web},{ci}"),
            "127.0.0.1",
        ])
        .output()
        .expect("nmap is installed");
    let report = String::from_utf8_lossy(&out.stdout);
    let line = |port: u16| {
        report
            .lines()
            .find(|l| l.starts_with(&format!("{port}/tcp")))
            .unwrap_or("")
            .to_string()
    };
    assert!(
        line(web).contains("http") && line(web).contains("nginx 1.24.0 (Ubuntu)"),
        "{report}"
    );
    assert!(
        line(ci).contains("http") && line(ci).contains("Jetty 12.0.16"),
        "{report}"
    );
    assert!(!report.to_lowercase().contains("honeypot"), "{report}");
    // nmap's probes are touches too.
    assert!(sensor.events().len() > 2);
}

#[test]
fn jenkins_login_flow_as_a_browser_sees_it() {
    let sensor = Sensor::new().decoy("ci", JENKINS);
    let d = sensor.start();
    let base = format!("http://{}", d.addr("ci"));
    let (_, head) = curl(&["-D", "-", "-o", "/dev/null", &format!("{base}/")]);
    assert!(head.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{head}");
    assert!(
        head.contains("\r\nX-Jenkins: 2.479.3\r\n")
            && head.contains("\r\nServer: Jetty(12.0.16)\r\n"),
        "{head}"
    );
    // Following the redirect the 403 page asks for lands on the login page.
    let (_, page) = curl(&[&format!("{base}/login?from=%2F")]);
    assert!(
        page.contains("<title>Sign in [Jenkins]</title>") && page.contains("name=\"j_username\""),
        "{page}"
    );
    // Submitting the form: redirected to the error page, which says the password was wrong.
    let (_, page) = curl(&[
        "-L",
        "-d",
        "j_username=admin&j_password=Zq-jenkins-secret&from=%2F&Submit=Sign+in",
        &format!("{base}/j_spring_security_check"),
    ]);
    assert!(page.contains("Invalid username or password"), "{page}");
    let (_, head) = curl(&[
        "-D",
        "-",
        "-o",
        "/dev/null",
        "-d",
        "j_username=a&j_password=b",
        &format!("{base}/j_spring_security_check"),
    ]);
    assert!(
        head.starts_with("HTTP/1.1 302 Found\r\n")
            && head.contains("\r\nLocation: /loginError\r\n"),
        "{head}"
    );
    let (_, css) = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &format!("{base}/static/abcdef12/jsbundles/simple-page.css"),
    ]);
    assert_eq!(css, "200");
    let (_, missing) = curl(&[&format!("{base}/static/abcdef12/nope.js")]);
    assert!(
        missing.contains("<h2>HTTP ERROR 404 Not Found</h2>"),
        "{missing}"
    );
    let (_, robots) = curl(&[&format!("{base}/robots.txt")]);
    assert_eq!(
        robots,
        "# we don't want robots to click \"build\" links\nUser-agent: *\nDisallow: /"
    );

    // Before any parsing, Jetty's own answers.
    let limit = std::time::Duration::from_secs(10);
    let answer = String::from_utf8_lossy(&raw(d.addr("ci"), b"\x16\x03\x01\x00\xa5\x01", limit))
        .into_owned();
    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\nServer: Jetty(12.0.16)\r\n"),
        "{answer}"
    );
    assert!(
        answer.contains("<h2>HTTP ERROR 400 Illegal character CNTL=0x16</h2>"),
        "{answer}"
    );
    let answer = String::from_utf8_lossy(&raw(
        d.addr("ci"),
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        limit,
    ))
    .into_owned();
    assert!(
        answer.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
        "{answer}"
    );

    let events = sensor.events();
    let login = of_type(&events, "http_request")
        .into_iter()
        .find(|e| e["event"]["path"] == "/j_spring_security_check")
        .unwrap();
    assert_eq!(login["event"]["status"], 302);
    assert_eq!(login["event"]["credentials"][0]["username"], "admin");
    assert!(
        !serde_json::to_string(&events)
            .unwrap()
            .contains("Zq-jenkins-secret")
    );
}

#[test]
fn hydra_finds_nothing_and_every_attempt_is_recorded() {
    let sensor = Sensor::new().decoy("web", WEB);
    let d = sensor.start();
    let words = sensor.dir.path().join("words.txt");
    let list: Vec<String> = (0..150).map(|i| format!("Guess{i:03}!")).collect();
    std::fs::write(&words, list.join("\n") + "\n").unwrap();
    let out = Command::new("hydra")
        .args(["-l", "admin", "-P"])
        .arg(&words)
        .args([
            "-t",
            "16",
            "-I",
            "-s",
            &d.addr("web").port().to_string(),
            "127.0.0.1",
        ])
        .arg("http-post-form")
        .arg("/login:username=^USER^&password=^PASS^:F=Invalid username or password")
        .output()
        .expect("hydra is installed");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("0 valid password"),
        "hydra claims a success:\n{report}"
    );
    let attempts: u64 = of_type(&sensor.events(), "http_request")
        .into_iter()
        .filter(|e| {
            e["event"]["method"] == "POST" && e["event"]["credentials"][0]["username"] == "admin"
        })
        .map(|e| e["count"].as_u64().unwrap())
        .sum();
    // hydra tries every word once; none may be missing (it may retry some, never fewer).
    assert!(
        attempts >= 150,
        "{attempts} of 150 attempts recorded\n{report}"
    );
    let distinct: std::collections::HashSet<String> = of_type(&sensor.events(), "http_request")
        .into_iter()
        .filter_map(|e| {
            e["event"]["credentials"][0]["password"]["hmac"]
                .as_str()
                .map(String::from)
        })
        .collect();
    assert_eq!(distinct.len(), 150, "every word of the list arrived");
}

#[test]
fn nginx_connection_handling_for_http_1_0_and_close() {
    let sensor = Sensor::new().decoy("web", WEB);
    let d = sensor.start();
    let limit = std::time::Duration::from_secs(10);
    // nginx answers HTTP/1.0 in HTTP/1.1 and closes, unless asked to keep the connection.
    let answer =
        String::from_utf8_lossy(&raw(d.addr("web"), b"GET / HTTP/1.0\r\n\r\n", limit)).into_owned();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert_eq!(answer.matches("\r\nConnection: ").count(), 1, "{answer}");
    assert!(answer.contains("\r\nConnection: close\r\n"), "{answer}");
    // An HTTP/1.1 client asking to close gets exactly one `Connection: close`.
    let answer = String::from_utf8_lossy(&raw(
        d.addr("web"),
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        limit,
    ))
    .into_owned();
    assert_eq!(answer.matches("\r\nConnection: ").count(), 1, "{answer}");
    assert!(answer.contains("\r\nConnection: close\r\n"), "{answer}");
    // Keep-alive by default, announced as nginx does.
    let (_, head) = curl(&[
        "-D",
        "-",
        "-o",
        "/dev/null",
        &format!("http://{}/", d.addr("web")),
    ]);
    assert!(head.contains("\r\nConnection: keep-alive\r\n"), "{head}");
}
