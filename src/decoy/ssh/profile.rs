//! Realism profiles: each copies one real OpenSSH build as its distribution ships it, so the
//! banner, the algorithm lists, the host key types, the auth methods and the host behind the
//! login all tell the same story. A decoy whose parts disagree (a 9.2 banner with 7.x
//! algorithms, a Debian banner over an Ubuntu shell) is recognised at once.
//!
//! Each profile keeps the build's own lists, in the build's order, and names the algorithms
//! russh cannot offer. What goes on the wire is the build's list minus exactly those: a unit
//! test checks that the names dropped are the names documented, so the gap can neither grow
//! silently nor be hidden.

use std::borrow::Cow;
use std::fmt;

use russh::keys::{Algorithm, EcdsaCurve, HashAlg};
use russh::{MethodKind, MethodSet, Preferred, cipher, compression, kex, mac};

use super::distro;

/// The profiles a decoy may name with `profile:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// Ubuntu 24.04 LTS with its stock openssh-server (OpenSSH 9.6p1).
    Openssh96Ubuntu,
    /// Debian 12 with its stock openssh-server (OpenSSH 9.2p1).
    Openssh92Debian,
}

/// The host key types both builds generate on installation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostKeyType {
    /// RSA, 3072 bits.
    Rsa,
    /// ECDSA on NIST P-256.
    Ecdsa,
    /// Ed25519.
    Ed25519,
}

impl HostKeyType {
    /// OpenSSH's file name for this key type (`ssh_host_<type>_key`).
    pub fn file_name(self) -> &'static str {
        match self {
            HostKeyType::Rsa => "ssh_host_rsa_key",
            HostKeyType::Ecdsa => "ssh_host_ecdsa_key",
            HostKeyType::Ed25519 => "ssh_host_ed25519_key",
        }
    }

    /// The key algorithm to generate.
    pub fn algorithm(self) -> Algorithm {
        match self {
            HostKeyType::Rsa => Algorithm::Rsa { hash: None },
            HostKeyType::Ecdsa => Algorithm::Ecdsa {
                curve: EcdsaCurve::NistP256,
            },
            HostKeyType::Ed25519 => Algorithm::Ed25519,
        }
    }

    /// Key size ssh-keygen uses for this type on these builds.
    pub const RSA_BITS: usize = 3072;
}

/// The operating system behind the login, as the fake shell shows it.
#[derive(Debug)]
pub struct Distro {
    /// The distribution.
    pub family: Family,
    /// `/etc/os-release`.
    pub os_release: &'static str,
    /// `/etc/issue`.
    pub issue: &'static str,
    /// `/etc/debian_version`.
    pub debian_version: &'static str,
    /// `uname -r`.
    pub kernel_release: &'static str,
    /// `uname -v`.
    pub kernel_version: &'static str,
    /// The message of the day; `{kernel}` and `{hostname}` are filled in.
    pub motd: &'static str,
    /// What an interactive shell prints for an unknown command (`{}` is the command).
    /// Ubuntu installs command-not-found; Debian leaves it to bash.
    pub not_found_interactive: &'static str,
    /// The system accounts of a fresh install, in `/etc/passwd` order.
    pub passwd: &'static str,
    /// `/`, as `ls /` lists it.
    pub root_dirs: &'static [&'static str],
    /// When the point release the host was installed from came out (Unix seconds): the time
    /// of `base-files`' files, such as `/etc/os-release`. The host was installed after it.
    pub released: u64,
    /// The span (Unix seconds) the release's packages were built in, for the times of the
    /// programs in `/usr/bin`; `None` keeps the times of Debian 12's packages.
    pub packages_built: Option<(u64, u64)>,
    /// The mode `adduser` gives a new home folder, as `ls -l` writes it.
    pub home_mode: &'static str,
    /// `/etc/group` without the users' own groups.
    pub group: &'static str,
    /// `/etc/hosts`; `{hostname}` is filled in.
    pub hosts: &'static str,
    /// What `/etc/skel` gives a new home: (name, content).
    pub skel: &'static [(&'static str, &'static str)],
    /// What root's home starts with.
    pub root_dotfiles: &'static [(&'static str, &'static str)],
    /// The aliases the users' `.bashrc` sets in interactive shells.
    pub aliases: &'static [(&'static str, &'static str)],
    /// Whether root's `.bashrc` sets them too.
    pub root_aliases: bool,
    /// Folders under `/etc`, `/usr` and `/var`.
    pub dirs: &'static [&'static str],
    /// Other files under `/etc` (path, content with `{root_uuid}` and `{machine_id}` to fill
    /// in).
    pub files: &'static [(&'static str, &'static str)],
    /// Links (path, target); the path is also a file or folder of the host, which reading
    /// or entering it reaches.
    pub links: &'static [(&'static str, &'static str)],
    /// Who built the kernel and with what, as `/proc/version` says between the release
    /// and the version `uname` prints.
    pub kernel_built_by: &'static str,
    /// The OpenSSH client of the same build, so that `ssh -V` on the fake host agrees with
    /// the banner its server sends.
    pub ssh_client: SshClient,
    /// The version of the distribution's sudo, as `sudo -V` prints it.
    pub sudo_version: &'static str,
}

/// What the distribution's `ssh` prints of itself.
#[derive(Debug)]
pub struct SshClient {
    /// `ssh -V`: the build and the OpenSSL it is linked with.
    pub version: &'static str,
    /// The usage text, from the build's `ssh.c`.
    pub usage: &'static str,
    /// The options, in `getopt` notation (a colon after one that takes an argument).
    pub options: &'static str,
}

/// Which distribution a profile's host runs: what its data cannot say by itself (the
/// network stack and the tools' builds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// Debian 12: ifupdown and dhclient, kernel 6.1.
    Debian,
    /// Ubuntu 24.04: netplan and systemd-networkd, kernel 6.8.
    Ubuntu,
}

/// Everything one profile fixes.
#[derive(Debug)]
pub struct ProfileData {
    /// The `profile:` name.
    pub name: &'static str,
    /// The identification string, without CR LF.
    pub id: &'static str,
    /// Key exchange methods, in the build's order, with its extension markers.
    pub kex: &'static [&'static str],
    /// Host key algorithms for the keys the build generates, in the order it sends them.
    pub host_key_algorithms: &'static [&'static str],
    /// Ciphers, in order.
    pub ciphers: &'static [&'static str],
    /// MACs, in order.
    pub macs: &'static [&'static str],
    /// Compression, in order.
    pub compression: &'static [&'static str],
    /// The `server-sig-algs` extension the build sends after key exchange: every signature
    /// algorithm it can verify a user key with, in its own order, whatever its host keys.
    pub server_sig_algs: &'static [&'static str],
    /// Whether EXT_INFO lists `ping@openssh.com` (OpenSSH 9.5 and later) and a PING is
    /// answered, before login too until 9.9p2; clients of 9.5 and later send
    /// keystroke-timing chaff as PINGs in interactive sessions. Every profile lists
    /// `publickey-hostbound@openssh.com` (8.9 and later).
    pub ping: bool,
    /// The first message type the build refuses outright ("Invalid ssh2 packet type"), as
    /// well as type 0: 192 before OpenSSH 9.5, none (256) from 9.5, which reads PING (192).
    /// Other types it has no use for are answered UNIMPLEMENTED.
    pub invalid_types_from: u16,
    /// Algorithms of the build that russh does not implement; left out on the wire.
    pub not_offered: &'static [&'static str],
    /// Host key types, in the order the build loads them.
    pub host_keys: &'static [HostKeyType],
    /// Auth methods offered, in the order the build lists them in a failure.
    pub methods: &'static [MethodKind],
    /// The host behind the login.
    pub distro: Distro,
}

const HOST_KEY_ALGORITHMS: &[&str] = &[
    "rsa-sha2-512",
    "rsa-sha2-256",
    "ecdsa-sha2-nistp256",
    "ssh-ed25519",
];
/// OpenSSH's own order (its key-type table), as the real Debian 9.2p1 sends it (a test puts it
/// beside the decoy). Taken to be the same in 9.6p1, which still builds DSA (9.8 dropped it).
const SERVER_SIG_ALGS: &[&str] = &[
    "ssh-ed25519",
    "sk-ssh-ed25519@openssh.com",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "webauthn-sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-dss",
    "ssh-rsa",
    "rsa-sha2-256",
    "rsa-sha2-512",
];
const CIPHERS: &[&str] = &[
    "chacha20-poly1305@openssh.com",
    "aes128-ctr",
    "aes192-ctr",
    "aes256-ctr",
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
];
const MACS: &[&str] = &[
    "umac-64-etm@openssh.com",
    "umac-128-etm@openssh.com",
    "hmac-sha2-256-etm@openssh.com",
    "hmac-sha2-512-etm@openssh.com",
    "hmac-sha1-etm@openssh.com",
    "umac-64@openssh.com",
    "umac-128@openssh.com",
    "hmac-sha2-256",
    "hmac-sha2-512",
    "hmac-sha1",
];
const COMPRESSION: &[&str] = &["none", "zlib@openssh.com"];
const HOST_KEYS: &[HostKeyType] = &[HostKeyType::Rsa, HostKeyType::Ecdsa, HostKeyType::Ed25519];
// Stock sshd_config of both: KbdInteractiveAuthentication no.
const METHODS: &[MethodKind] = &[MethodKind::PublicKey, MethodKind::Password];

static UBUNTU: ProfileData = ProfileData {
    name: "openssh-9.6p1-ubuntu",
    id: "SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5",
    // OpenSSH 9.6p1's server default; 9.6 added ext-info-s and kex-strict.
    kex: &[
        "sntrup761x25519-sha512@openssh.com",
        "curve25519-sha256",
        "curve25519-sha256@libssh.org",
        "ecdh-sha2-nistp256",
        "ecdh-sha2-nistp384",
        "ecdh-sha2-nistp521",
        "diffie-hellman-group-exchange-sha256",
        "diffie-hellman-group16-sha512",
        "diffie-hellman-group18-sha512",
        "diffie-hellman-group14-sha256",
        "ext-info-s",
        "kex-strict-s-v00@openssh.com",
    ],
    host_key_algorithms: HOST_KEY_ALGORITHMS,
    server_sig_algs: SERVER_SIG_ALGS,
    ping: true,
    invalid_types_from: 256,
    ciphers: CIPHERS,
    macs: MACS,
    compression: COMPRESSION,
    not_offered: &[
        "sntrup761x25519-sha512@openssh.com",
        "umac-64-etm@openssh.com",
        "umac-128-etm@openssh.com",
        "umac-64@openssh.com",
        "umac-128@openssh.com",
    ],
    host_keys: HOST_KEYS,
    methods: METHODS,
    distro: Distro {
        family: Family::Ubuntu,
        os_release: "PRETTY_NAME=\"Ubuntu 24.04.1 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"24.04\"\nVERSION=\"24.04.1 LTS (Noble Numbat)\"\nVERSION_CODENAME=noble\nID=ubuntu\nID_LIKE=debian\nHOME_URL=\"https://www.ubuntu.com/\"\nSUPPORT_URL=\"https://help.ubuntu.com/\"\nBUG_REPORT_URL=\"https://bugs.launchpad.net/ubuntu/\"\nPRIVACY_POLICY_URL=\"https://www.ubuntu.com/legal/terms-and-policies/privacy-policy\"\nUBUNTU_CODENAME=noble\nLOGO=ubuntu-logo\n",
        issue: "Ubuntu 24.04.1 LTS \\n \\l\n\n",
        debian_version: "trixie/sid\n",
        kernel_release: "6.8.0-51-generic",
        kernel_version: "#52-Ubuntu SMP PREEMPT_DYNAMIC Thu Dec  5 13:09:44 UTC 2024",
        motd: "Welcome to Ubuntu 24.04.1 LTS (GNU/Linux {kernel} x86_64)\n\n * Documentation:  https://help.ubuntu.com\n * Management:     https://landscape.canonical.com\n * Support:        https://ubuntu.com/pro\n",
        not_found_interactive: "{}: command not found",
        passwd: "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nbin:x:2:2:bin:/bin:/usr/sbin/nologin\nsys:x:3:3:sys:/dev:/usr/sbin/nologin\nsync:x:4:65534:sync:/bin:/bin/sync\ngames:x:5:60:games:/usr/games:/usr/sbin/nologin\nman:x:6:12:man:/var/cache/man:/usr/sbin/nologin\nlp:x:7:7:lp:/var/spool/lpd:/usr/sbin/nologin\nmail:x:8:8:mail:/var/mail:/usr/sbin/nologin\nnews:x:9:9:news:/var/spool/news:/usr/sbin/nologin\nuucp:x:10:10:uucp:/var/spool/uucp:/usr/sbin/nologin\nproxy:x:13:13:proxy:/bin:/usr/sbin/nologin\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\nbackup:x:34:34:backup:/var/backups:/usr/sbin/nologin\nlist:x:38:38:Mailing List Manager:/var/list:/usr/sbin/nologin\nirc:x:39:39:ircd:/run/ircd:/usr/sbin/nologin\n_apt:x:42:65534::/nonexistent:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\nsystemd-network:x:998:998:systemd Network Management:/:/usr/sbin/nologin\nsystemd-timesync:x:996:996:systemd Time Synchronization:/:/usr/sbin/nologin\ndhcpcd:x:100:65534:DHCP Client Daemon,,,:/usr/lib/dhcpcd:/bin/false\nmessagebus:x:101:101::/nonexistent:/usr/sbin/nologin\nsystemd-resolve:x:992:992:systemd Resolver:/:/usr/sbin/nologin\npollinate:x:102:1::/var/cache/pollinate:/bin/false\npolkitd:x:991:991:User for polkitd:/:/usr/sbin/nologin\nsyslog:x:103:104::/nonexistent:/usr/sbin/nologin\nuuidd:x:104:105::/run/uuidd:/usr/sbin/nologin\ntcpdump:x:105:107::/nonexistent:/usr/sbin/nologin\ntss:x:106:108:TPM software stack,,,:/var/lib/tpm:/bin/false\nlandscape:x:107:109::/var/lib/landscape:/usr/sbin/nologin\nfwupd-refresh:x:989:989:Firmware update daemon:/var/lib/fwupd:/usr/sbin/nologin\nusbmux:x:108:46:usbmux daemon,,,:/var/lib/usbmux:/usr/sbin/nologin\nsshd:x:109:65534::/run/sshd:/usr/sbin/nologin\n",
        root_dirs: &[
            "bin",
            "bin.usr-is-merged",
            "boot",
            "cdrom",
            "dev",
            "etc",
            "home",
            "lib",
            "lib64",
            "lib.usr-is-merged",
            "lost+found",
            "media",
            "mnt",
            "opt",
            "proc",
            "root",
            "run",
            "sbin",
            "sbin.usr-is-merged",
            "snap",
            "srv",
            "sys",
            "tmp",
            "usr",
            "var",
        ],
        // base-files 13ubuntu10.1 of 24.04.1; the archive was rebuilt in the weeks before
        // 24.04 (the programs' times are spread over them, not read from the packages).
        sudo_version: "1.9.15p5",
        released: 1_722_254_400,
        packages_built: Some((1_710_892_800, 1_713_398_400)),
        // Since 21.04 Ubuntu's adduser makes homes 0750.
        home_mode: "rwxr-x---",
        group: distro::UBUNTU_GROUP,
        hosts: distro::UBUNTU_HOSTS,
        skel: distro::UBUNTU_SKEL,
        root_dotfiles: distro::UBUNTU_ROOT_DOTFILES,
        aliases: distro::UBUNTU_ALIASES,
        root_aliases: true,
        dirs: distro::UBUNTU_DIRS,
        files: distro::UBUNTU_FILES,
        links: distro::UBUNTU_LINKS,
        kernel_built_by: "(buildd@lcy02-amd64-091) (x86_64-linux-gnu-gcc-13 (Ubuntu 13.3.0-6ubuntu2~24.04) 13.3.0, GNU ld (GNU Binutils for Ubuntu) 2.42)",
        ssh_client: SshClient {
            version: "OpenSSH_9.6p1 Ubuntu-3ubuntu13.5, OpenSSL 3.0.13 30 Jan 2024",
            usage: concat!(
                "usage: ssh [-46AaCfGgKkMNnqsTtVvXxYy] [-B bind_interface] [-b bind_address]\n",
                "           [-c cipher_spec] [-D [bind_address:]port] [-E log_file]\n",
                "           [-e escape_char] [-F configfile] [-I pkcs11] [-i identity_file]\n",
                "           [-J destination] [-L address] [-l login_name] [-m mac_spec]\n",
                "           [-O ctl_cmd] [-o option] [-P tag] [-p port] [-R address]\n",
                "           [-S ctl_path] [-W host:port] [-w local_tun[:remote_tun]]\n",
                "           destination [command [argument ...]]\n",
                "       ssh [-Q query_option]\n",
            ),
            options: "1246ab:c:e:fgi:kl:m:no:p:qstvxAB:CD:E:F:GI:J:KL:MNO:P:Q:R:S:TVw:W:XYy",
        },
    },
};

static DEBIAN: ProfileData = ProfileData {
    name: "openssh-9.2p1-debian",
    // deb12u4 (December 2024) and later offer sntrup761 under both names. deb12u10 is the
    // Debian 12 package the tests compare the profile with, so its patch level is current.
    id: "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10",
    kex: &[
        "sntrup761x25519-sha512",
        "sntrup761x25519-sha512@openssh.com",
        "curve25519-sha256",
        "curve25519-sha256@libssh.org",
        "ecdh-sha2-nistp256",
        "ecdh-sha2-nistp384",
        "ecdh-sha2-nistp521",
        "diffie-hellman-group-exchange-sha256",
        "diffie-hellman-group16-sha512",
        "diffie-hellman-group18-sha512",
        "diffie-hellman-group14-sha256",
        // The strict-kex fix was backported; ext-info-s was not (it arrived in 9.6).
        "kex-strict-s-v00@openssh.com",
    ],
    host_key_algorithms: HOST_KEY_ALGORITHMS,
    server_sig_algs: SERVER_SIG_ALGS,
    ping: false,
    invalid_types_from: 192,
    ciphers: CIPHERS,
    macs: MACS,
    compression: COMPRESSION,
    not_offered: &[
        "sntrup761x25519-sha512",
        "sntrup761x25519-sha512@openssh.com",
        "umac-64-etm@openssh.com",
        "umac-128-etm@openssh.com",
        "umac-64@openssh.com",
        "umac-128@openssh.com",
    ],
    host_keys: HOST_KEYS,
    methods: METHODS,
    distro: Distro {
        family: Family::Debian,
        os_release: "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\nHOME_URL=\"https://www.debian.org/\"\nSUPPORT_URL=\"https://www.debian.org/support\"\nBUG_REPORT_URL=\"https://bugs.debian.org/\"\n",
        issue: "Debian GNU/Linux 12 \\n \\l\n\n",
        debian_version: "12.8\n",
        kernel_release: "6.1.0-28-amd64",
        kernel_version: "#1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22)",
        motd: "Linux {hostname} {kernel} {kernel_version} x86_64\n\nThe programs included with the Debian GNU/Linux system are free software;\nthe exact distribution terms for each program are described in the\nindividual files in /usr/share/doc/*/copyright.\n\nDebian GNU/Linux comes with ABSOLUTELY NO WARRANTY, to the extent\npermitted by applicable law.\n",
        not_found_interactive: "-bash: {}: command not found",
        passwd: "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nbin:x:2:2:bin:/bin:/usr/sbin/nologin\nsys:x:3:3:sys:/dev:/usr/sbin/nologin\nsync:x:4:65534:sync:/bin:/bin/sync\ngames:x:5:60:games:/usr/games:/usr/sbin/nologin\nman:x:6:12:man:/var/cache/man:/usr/sbin/nologin\nlp:x:7:7:lp:/var/spool/lpd:/usr/sbin/nologin\nmail:x:8:8:mail:/var/mail:/usr/sbin/nologin\nnews:x:9:9:news:/var/spool/news:/usr/sbin/nologin\nuucp:x:10:10:uucp:/var/spool/uucp:/usr/sbin/nologin\nproxy:x:13:13:proxy:/bin:/usr/sbin/nologin\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\nbackup:x:34:34:backup:/var/backups:/usr/sbin/nologin\nlist:x:38:38:Mailing List Manager:/var/list:/usr/sbin/nologin\nirc:x:39:39:ircd:/run/ircd:/usr/sbin/nologin\n_apt:x:42:65534::/nonexistent:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\nsystemd-network:x:998:998:systemd Network Management:/:/usr/sbin/nologin\nsystemd-timesync:x:997:997:systemd Time Synchronization:/:/usr/sbin/nologin\nmessagebus:x:100:107::/nonexistent:/usr/sbin/nologin\nsshd:x:101:65534::/run/sshd:/usr/sbin/nologin\n",
        root_dirs: &[
            "bin",
            "boot",
            "dev",
            "etc",
            "home",
            "initrd.img",
            "initrd.img.old",
            "lib",
            "lib32",
            "lib64",
            "libx32",
            "lost+found",
            "media",
            "mnt",
            "opt",
            "proc",
            "root",
            "run",
            "sbin",
            "srv",
            "sys",
            "tmp",
            "usr",
            "var",
            "vmlinuz",
            "vmlinuz.old",
        ],
        // base-files 12.4+deb12u8, of 12.8.
        sudo_version: "1.9.13p3",
        released: 1_730_457_000,
        packages_built: None,
        // adduser 3.134 of Debian 12 makes homes 0700.
        home_mode: "rwx------",
        group: distro::DEBIAN_GROUP,
        hosts: distro::DEBIAN_HOSTS,
        skel: distro::DEBIAN_SKEL,
        root_dotfiles: distro::DEBIAN_ROOT_DOTFILES,
        aliases: distro::DEBIAN_ALIASES,
        root_aliases: false,
        dirs: distro::DEBIAN_DIRS,
        files: distro::DEBIAN_FILES,
        links: distro::DEBIAN_LINKS,
        kernel_built_by: "(debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40)",
        ssh_client: SshClient {
            version: "OpenSSH_9.2p1 Debian-2+deb12u10, OpenSSL 3.0.19 27 Jan 2026",
            usage: concat!(
                "usage: ssh [-46AaCfGgKkMNnqsTtVvXxYy] [-B bind_interface]\n",
                "           [-b bind_address] [-c cipher_spec] [-D [bind_address:]port]\n",
                "           [-E log_file] [-e escape_char] [-F configfile] [-I pkcs11]\n",
                "           [-i identity_file] [-J [user@]host[:port]] [-L address]\n",
                "           [-l login_name] [-m mac_spec] [-O ctl_cmd] [-o option] [-p port]\n",
                "           [-Q query_option] [-R address] [-S ctl_path] [-W host:port]\n",
                "           [-w local_tun[:remote_tun]] destination [command [argument ...]]\n",
            ),
            options: "1246ab:c:e:fgi:kl:m:no:p:qstvxAB:CD:E:F:GI:J:KL:MNO:PQ:R:S:TVw:W:XYy",
        },
    },
};

impl Profile {
    /// Every profile, for error messages and tests.
    pub const ALL: [Profile; 2] = [Profile::Openssh96Ubuntu, Profile::Openssh92Debian];

    /// The profile used when a decoy names none.
    pub const DEFAULT: Profile = Profile::Openssh96Ubuntu;

    /// Looks a profile up by its `profile:` name.
    pub fn from_name(name: &str) -> Option<Profile> {
        Self::ALL.into_iter().find(|p| p.data().name == name)
    }

    /// The names of every profile, comma-separated.
    pub fn names() -> String {
        Self::ALL.map(|p| p.data().name).join(", ")
    }

    /// What the profile fixes.
    pub fn data(self) -> &'static ProfileData {
        match self {
            Profile::Openssh96Ubuntu => &UBUNTU,
            Profile::Openssh92Debian => &DEBIAN,
        }
    }

    /// The auth methods offered, as russh takes them.
    pub fn methods(self) -> MethodSet {
        MethodSet::from(self.data().methods)
    }

    /// The algorithm lists russh sends: the build's lists without [`ProfileData::not_offered`].
    pub fn preferred(self) -> Preferred {
        let d = self.data();
        Preferred {
            kex: Cow::Owned(supported(d.kex, kex_name)),
            key: Cow::Owned(supported(d.host_key_algorithms, host_key_algorithm)),
            host_key_certificates: Cow::Borrowed(&[]),
            cipher: Cow::Owned(supported(d.ciphers, |n| cipher::Name::try_from(n).ok())),
            mac: Cow::Owned(supported(d.macs, |n| mac::Name::try_from(n).ok())),
            compression: Cow::Owned(supported(d.compression, |n| {
                compression::Name::try_from(n).ok()
            })),
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.data().name)
    }
}

fn supported<T>(names: &[&str], parse: impl Fn(&str) -> Option<T>) -> Vec<T> {
    names.iter().filter_map(|n| parse(n)).collect()
}

/// Extension markers are not key exchanges russh looks up by name, but it knows them.
fn kex_name(name: &str) -> Option<kex::Name> {
    match name {
        "ext-info-s" => Some(kex::EXTENSION_SUPPORT_AS_SERVER),
        "kex-strict-s-v00@openssh.com" => Some(kex::EXTENSION_OPENSSH_STRICT_KEX_AS_SERVER),
        n => kex::Name::try_from(n).ok(),
    }
}

fn host_key_algorithm(name: &str) -> Option<Algorithm> {
    match name {
        "rsa-sha2-512" => Some(Algorithm::Rsa {
            hash: Some(HashAlg::Sha512),
        }),
        "rsa-sha2-256" => Some(Algorithm::Rsa {
            hash: Some(HashAlg::Sha256),
        }),
        "ecdsa-sha2-nistp256" => Some(Algorithm::Ecdsa {
            curve: EcdsaCurve::NistP256,
        }),
        "ssh-ed25519" => Some(Algorithm::Ed25519),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_of(p: Profile) -> Vec<Vec<String>> {
        let pr = p.preferred();
        vec![
            pr.kex.iter().map(|n| n.as_ref().to_string()).collect(),
            pr.key.iter().map(|a| a.to_string()).collect(),
            pr.cipher.iter().map(|n| n.as_ref().to_string()).collect(),
            pr.mac.iter().map(|n| n.as_ref().to_string()).collect(),
            pr.compression
                .iter()
                .map(|n| n.as_ref().to_string())
                .collect(),
        ]
    }

    #[test]
    fn the_wire_lists_are_the_build_lists_minus_exactly_the_documented_gap() {
        for p in Profile::ALL {
            let d = p.data();
            let wire = names_of(p);
            let build = [
                d.kex,
                d.host_key_algorithms,
                d.ciphers,
                d.macs,
                d.compression,
            ];
            let mut dropped: Vec<&str> = Vec::new();
            for (wire, build) in wire.iter().zip(build) {
                let kept: Vec<&str> = build
                    .iter()
                    .copied()
                    .filter(|n| !d.not_offered.contains(n))
                    .collect();
                assert_eq!(wire, &kept, "{p}: order and content of the offered list");
                dropped.extend(
                    build
                        .iter()
                        .copied()
                        .filter(|n| !wire.contains(&n.to_string())),
                );
            }
            assert_eq!(dropped, d.not_offered.to_vec(), "{p}: documented gap");
        }
    }

    #[test]
    fn banners_are_real_openssh_package_strings() {
        for p in Profile::ALL {
            let id = p.data().id;
            assert!(id.starts_with("SSH-2.0-OpenSSH_"), "{id}");
            assert!(!id.contains("russh") && id.len() < 255 && !id.contains('\r'));
        }
        assert_eq!(
            Profile::from_name("openssh-9.2p1-debian"),
            Some(Profile::Openssh92Debian)
        );
        assert_eq!(Profile::from_name("openssh"), None);
    }

    #[test]
    fn methods_match_stock_sshd_config() {
        let names: Vec<String> = Profile::DEFAULT
            .methods()
            .iter()
            .map(|m| <&str>::from(m).to_string())
            .collect();
        assert_eq!(names, ["publickey", "password"]);
    }
}
