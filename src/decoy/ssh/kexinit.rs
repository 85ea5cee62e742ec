//! The client's first words, read from a copy of the bytes russh reads: its identification
//! line and its KEXINIT packet (always sent in the clear), from which the HASSH fingerprint
//! of the client software is computed. Pure functions over bounded input.

use md5::{Digest, Md5};

/// Longest identification line OpenSSH reads, CRs and LF not counted (`SSH_MAX_BANNER_LEN`).
pub const MAX_ID_LINE: usize = 8192;
/// Longest identification kept in the record (RFC 4253's limit for the whole line).
pub const RECORDED_ID: usize = 255;
/// Largest KEXINIT packet parsed; larger ones are not fingerprinted.
pub const MAX_KEXINIT: usize = 16 * 1024;

/// What the client's first line is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ident {
    /// Not a whole line yet.
    Incomplete,
    /// A protocol 2 identification (`SSH-2.0-...` or `SSH-1.99-...`), without CR LF.
    Ssh2(String),
    /// An identification naming another protocol version (OpenSSH: "Protocol major
    /// versions differ.").
    OtherVersion,
    /// Anything else (OpenSSH: "Invalid SSH identification string.").
    Invalid,
}

/// Classifies the first line of `bytes` as OpenSSH's server does: the client's first line
/// must be `SSH-<major>.<minor>-<software>`; no other lines may come before it. As sshd reads
/// it byte by byte, a CR is dropped, and a NUL, anything but CR or LF after a CR, or a line
/// longer than [`MAX_ID_LINE`] is refused as soon as it arrives.
pub fn ident(bytes: &[u8]) -> Ident {
    // Only CRs may follow a CR, so the line is the bytes before the first CR or LF.
    let (mut len, mut after_cr) = (0, false);
    let mut ended = false;
    for &b in bytes {
        match b {
            b'\r' => after_cr = true,
            b'\n' => {
                ended = true;
                break;
            }
            0 => return Ident::Invalid,
            _ if after_cr => return Ident::Invalid,
            _ => {
                len += 1;
                if len > MAX_ID_LINE {
                    return Ident::Invalid;
                }
            }
        }
    }
    if !ended {
        return Ident::Incomplete;
    }
    let line = &bytes[..len];
    let Some(rest) = line.strip_prefix(b"SSH-") else {
        return Ident::Invalid;
    };
    let Some(dash) = rest.iter().position(|&b| b == b'-') else {
        return Ident::Invalid;
    };
    let (version, software) = (&rest[..dash], &rest[dash + 1..]);
    let Some(dot) = version.iter().position(|&b| b == b'.') else {
        return Ident::Invalid;
    };
    let (major, minor) = (&version[..dot], &version[dot + 1..]);
    let number = |s: &[u8]| !s.is_empty() && s.len() < 6 && s.iter().all(u8::is_ascii_digit);
    if !number(major) || !number(minor) || software.is_empty() {
        return Ident::Invalid;
    }
    match (major, minor) {
        (b"2", _) | (b"1", b"99") => Ident::Ssh2(crate::touch::preview_text(line, RECORDED_ID)),
        _ => Ident::OtherVersion,
    }
}

/// The name-lists of a KEXINIT that HASSH uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KexLists {
    /// Key exchange methods.
    pub kex: String,
    /// Ciphers, client to server.
    pub ciphers: String,
    /// MACs, client to server.
    pub macs: String,
    /// Compression, client to server.
    pub compression: String,
}

impl KexLists {
    /// The HASSH string: `kex;ciphers;macs;compression`.
    pub fn hassh_algorithms(&self) -> String {
        format!(
            "{};{};{};{}",
            self.kex, self.ciphers, self.macs, self.compression
        )
    }

    /// HASSH: the md5 of [`KexLists::hassh_algorithms`], in hex.
    pub fn hassh(&self) -> String {
        crate::store::files::hex(&Md5::digest(self.hassh_algorithms().as_bytes()))
    }
}

/// Parses the first binary packet in `bytes` (what follows the identification line) as a
/// KEXINIT. `None` when it is incomplete, too large, or not a KEXINIT.
pub fn kexinit(bytes: &[u8]) -> Option<KexLists> {
    let len = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    if !(5..=MAX_KEXINIT).contains(&len) {
        return None;
    }
    let packet = bytes.get(4..4 + len)?;
    let padding = usize::from(*packet.first()?);
    let payload = packet.get(1..len.checked_sub(padding)?)?;
    // SSH_MSG_KEXINIT, then a 16-byte cookie.
    if payload.first() != Some(&20) {
        return None;
    }
    let mut r = payload.get(17..)?;
    let mut lists = Vec::with_capacity(10);
    for _ in 0..10 {
        let n = u32::from_be_bytes(r.get(..4)?.try_into().ok()?) as usize;
        let s = r.get(4..4 + n)?;
        lists.push(String::from_utf8_lossy(s).into_owned());
        r = &r[4 + n..];
    }
    // kex, host keys, ciphers c2s, ciphers s2c, macs c2s, macs s2c, compression c2s, ...
    Some(KexLists {
        kex: lists[0].clone(),
        ciphers: lists[2].clone(),
        macs: lists[4].clone(),
        compression: lists[6].clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identification_lines_are_judged_as_openssh_judges_them() {
        assert_eq!(
            ident(b"SSH-2.0-OpenSSH_9.6\r\n"),
            Ident::Ssh2("SSH-2.0-OpenSSH_9.6".into())
        );
        assert_eq!(
            ident(b"SSH-2.0-paramiko_3.4.0\n\0\0"),
            Ident::Ssh2("SSH-2.0-paramiko_3.4.0".into())
        );
        assert_eq!(
            ident(b"SSH-1.99-old\r\n"),
            Ident::Ssh2("SSH-1.99-old".into())
        );
        assert_eq!(ident(b"SSH-2.0-Op"), Ident::Incomplete);
        assert_eq!(ident(b"SS"), Ident::Incomplete);
        assert_eq!(ident(b"SSH-1.5-Test\r\n"), Ident::OtherVersion);
        assert_eq!(ident(b"SSH-1337\r\n"), Ident::Invalid);
        assert_eq!(ident(b"SSH-2.0\r\n"), Ident::Invalid);
        assert_eq!(ident(b"SSH-2.0-\r\n"), Ident::Invalid);
        assert_eq!(ident(b"GET / HTTP/1.1\r\n"), Ident::Invalid);
        assert_eq!(
            ident(b"GET / HT"),
            Ident::Incomplete,
            "judged at the end of the line"
        );
        assert_eq!(ident(b"\r\nSSH-2.0-x\r\n"), Ident::Invalid);
        // OpenSSH reads up to 8192 bytes before the line end, and refuses the next at once.
        assert_eq!(ident(&[b'S'; MAX_ID_LINE]), Ident::Incomplete);
        assert_eq!(ident(&[b'S'; MAX_ID_LINE + 1]), Ident::Invalid);
        let long = |n: usize| format!("SSH-2.0-{}\r\n", "a".repeat(n - 8));
        let Ident::Ssh2(kept) = ident(long(MAX_ID_LINE).as_bytes()) else {
            panic!("a line of 8192 bytes is an identification");
        };
        assert_eq!(
            kept.len(),
            RECORDED_ID + '…'.len_utf8(),
            "the record is bounded"
        );
        assert_eq!(ident(long(MAX_ID_LINE + 1).as_bytes()), Ident::Invalid);
        // A NUL, or anything but a line end after a CR, is refused before the line ends;
        // CRs before the LF are dropped.
        assert_eq!(ident(b"SSH-2.0-a\0"), Ident::Invalid);
        assert_eq!(ident(b"SSH-2.0-a\rb"), Ident::Invalid);
        assert_eq!(ident(b"SSH-2.0-a\r"), Ident::Incomplete);
        assert_eq!(ident(b"SSH-2.0-a\r\r\n"), Ident::Ssh2("SSH-2.0-a".into()));
        // Control bytes are kept escaped, never raw.
        assert_eq!(
            ident(b"SSH-2.0-a\x1b[31m\r\n"),
            Ident::Ssh2("SSH-2.0-a\\x1b[31m".into())
        );
    }

    fn packet(payload: &[u8]) -> Vec<u8> {
        let padding = 8 - (payload.len() + 5) % 8 + 4;
        let mut p = Vec::new();
        p.extend_from_slice(&((payload.len() + padding + 1) as u32).to_be_bytes());
        p.push(padding as u8);
        p.extend_from_slice(payload);
        p.extend(std::iter::repeat_n(0, padding));
        p
    }

    fn kexinit_payload(lists: [&str; 10]) -> Vec<u8> {
        let mut p = vec![20];
        p.extend_from_slice(&[7; 16]);
        for l in lists {
            p.extend_from_slice(&(l.len() as u32).to_be_bytes());
            p.extend_from_slice(l.as_bytes());
        }
        p.extend_from_slice(&[0, 0, 0, 0, 0]);
        p
    }

    #[test]
    fn hassh_of_a_known_client() {
        // The lists of OpenSSH 7.6's client and the HASSH published for it by the HASSH authors.
        let lists = [
            "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha1,diffie-hellman-group14-sha256,diffie-hellman-group14-sha1,ext-info-c",
            "ecdsa-sha2-nistp256",
            "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com",
            "chacha20-poly1305@openssh.com",
            "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1",
            "x",
            "none,zlib@openssh.com,zlib",
            "none",
            "",
            "",
        ];
        let p = packet(&kexinit_payload(lists));
        let k = kexinit(&p).unwrap();
        assert_eq!(k.hassh(), "06046964c022c6407d15a27b12a6a4fb");
        // Truncated, oversized or other packets are not fingerprinted.
        assert_eq!(kexinit(&p[..p.len() - 10]), None);
        let mut big = p.clone();
        big[..4].copy_from_slice(&(1u32 << 30).to_be_bytes());
        assert_eq!(kexinit(&big), None);
        assert_eq!(kexinit(&packet(&[21])), None);
        assert_eq!(kexinit(&[0xff; 3]), None);
    }
}
