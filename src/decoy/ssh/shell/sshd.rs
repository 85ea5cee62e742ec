//! `/etc/ssh` of the fake host, consistent with the server the intruder logged in through:
//! its public host keys are the keys the decoy presents (an intruder can compare them with
//! `known_hosts`), its `sshd_config` the settings the decoy behaves by (the port it listens
//! on, no forwarding, no sftp subsystem, root logins only if `accept:` lists root). The
//! private keys are root's alone and read as root they are random text in the key format:
//! the decoy's own keys never leave the data directory.

use std::fmt::Write as _;

use super::Host;

/// What the fake host's sshd is.
#[derive(Clone, Debug, Default)]
pub struct Sshd {
    /// The port the decoy listens on.
    pub port: u16,
    /// The decoy's host keys: (type as in `ssh_host_TYPE_key`, public key in OpenSSH's
    /// one-line form).
    pub host_keys: Vec<(&'static str, String)>,
}

/// Folders under `/etc/ssh`.
const DIRS: &[&str] = &["/etc/ssh/ssh_config.d", "/etc/ssh/sshd_config.d"];

impl Host {
    /// The host with `/etc/ssh` filled in for `sshd`. Configured files keep precedence.
    pub fn with_sshd(mut self, sshd: &Sshd) -> Host {
        let mut files: Vec<(String, String)> = vec![
            ("/etc/ssh/sshd_config".into(), self.sshd_config(sshd.port)),
            ("/etc/ssh/ssh_config".into(), SSH_CONFIG.into()),
        ];
        for (kind, public) in &sshd.host_keys {
            let path = format!("/etc/ssh/ssh_host_{kind}_key");
            files.push((
                format!("{path}.pub"),
                format!("{public} root@{}\n", self.hostname),
            ));
            files.push((path.clone(), self.private_key_text(&path, kind)));
        }
        for (path, content) in files {
            // A file the operator configured is left as configured.
            self.files.entry(path).or_insert(content);
        }
        self.ssh_port = sshd.port;
        self.dirs.insert("/etc/ssh".into());
        self.dirs.extend(DIRS.iter().map(|d| d.to_string()));
        self
    }

    fn sshd_config(&self, port: u16) -> String {
        let mut c = String::from(
            "# sshd(8) settings; see sshd_config(5).\n\nInclude /etc/ssh/sshd_config.d/*.conf\n\n",
        );
        if port == 22 {
            c.push_str("#Port 22\n");
        } else {
            let _ = writeln!(c, "Port {port}");
        }
        c.push_str("#AddressFamily any\n#ListenAddress 0.0.0.0\n\n");
        if self.users.iter().any(|u| u.uid == 0) {
            c.push_str("PermitRootLogin yes\n");
        } else {
            c.push_str("#PermitRootLogin prohibit-password\n");
        }
        c.push_str(
            "#MaxAuthTries 6\n#PubkeyAuthentication yes\n#PasswordAuthentication yes\nKbdInteractiveAuthentication no\n\nUsePAM yes\n\nAllowTcpForwarding no\nX11Forwarding no\nPrintMotd no\n\n# locale variables from the client\nAcceptEnv LANG LC_*\n",
        );
        c
    }

    /// Text the size and shape of an OpenSSH private key of `kind`, fixed per host and path.
    fn private_key_text(&self, path: &str, kind: &str) -> String {
        const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        // Base64 characters of the body of a key of each type with a `root@host` comment.
        let body = match kind {
            "ed25519" => 320,
            "ecdsa" => 420,
            _ => 2480,
        } + 4 * self.hostname.len() / 3;
        let mut seed = self.seed(path);
        let mut text = String::from("-----BEGIN OPENSSH PRIVATE KEY-----\n");
        // Every OpenSSH key starts with the same magic: "openssh-key-v1\0" and no cipher.
        let mut chars = String::from("b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAAB");
        while chars.len() < body {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            chars.push(char::from(B64[(seed >> 58) as usize]));
        }
        for line in chars.as_bytes().chunks(70) {
            text.push_str(std::str::from_utf8(line).unwrap_or_default());
            text.push('\n');
        }
        text.push_str("-----END OPENSSH PRIVATE KEY-----\n");
        text
    }
}

const SSH_CONFIG: &str = "# ssh(1) client settings for all users; see ssh_config(5).\n# Per-user settings go in ~/.ssh/config, which ssh reads first.\n\nInclude /etc/ssh/ssh_config.d/*.conf\n\nHost *\n#   ForwardAgent no\n#   ForwardX11 no\n#   PasswordAuthentication yes\n#   IdentityFile ~/.ssh/id_ed25519\n#   Port 22\n    SendEnv LANG LC_*\n    HashKnownHosts yes\n    GSSAPIAuthentication yes\n";
