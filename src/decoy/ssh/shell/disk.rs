//! `df`: the file systems of a small KVM guest, consistent with the rest of the fake host:
//! one ext4 root on the virtio disk (the only entry of `/etc/fstab`), the tmpfs mounts
//! systemd and the initramfs make, sized from the memory `free` reports, and the session
//! user's `/run/user` folder. Host-survey scripts read it (`df -h | awk 'FNR == 2 …'`).

use std::fmt::Write as _;

use super::{MEMORY_KIB, ls_human};

/// One mounted file system: sizes in KiB.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Mount {
    pub source: String,
    pub blocks: u64,
    pub used: u64,
    pub avail: u64,
    pub target: String,
}

/// The root file system: 20 GiB less ext4's overhead, with 5% kept for root.
const ROOT_BLOCKS: u64 = 20_466_256;

/// The host's mounts as `df` lists them, for a session of `uid`; `used_root` is what the
/// distribution's install takes.
pub(super) fn mounts(uid: u32, used_root: u64) -> Vec<Mount> {
    // tmpfs sizes are fractions of the memory in pages, as the kernel computes them.
    let pages = MEMORY_KIB / 4;
    let tenth = pages / 10 * 4;
    let half = pages / 2 * 4;
    let mount = |source: &str, blocks: u64, used: u64, target: &str| Mount {
        source: source.into(),
        blocks,
        used,
        avail: blocks - used,
        target: target.into(),
    };
    let reserved = ROOT_BLOCKS / 20;
    vec![
        // devtmpfs was mounted by the initramfs before its memory was freed: a little
        // under half of what the kernel has now.
        mount("udev", half - half / 72, 0, "/dev"),
        mount("tmpfs", tenth + 4, 592, "/run"),
        Mount {
            source: "/dev/vda1".into(),
            blocks: ROOT_BLOCKS,
            used: used_root,
            avail: ROOT_BLOCKS - used_root - reserved,
            target: "/".into(),
        },
        mount("tmpfs", half, 0, "/dev/shm"),
        mount("tmpfs", 5120, 0, "/run/lock"),
        mount(
            "tmpfs",
            tenth,
            if uid == 0 { 0 } else { 4 },
            &format!("/run/user/{uid}"),
        ),
    ]
}

/// `df [-h] [-k] [-T]…` over `mounts`, as coreutils 9 lays it out.
pub(super) fn df(args: &[&str], mounts: &[Mount]) -> (String, String, u32) {
    let mut human = false;
    for a in args {
        match *a {
            "-h" | "--human-readable" => human = true,
            "-k" | "-P" | "--portability" | "-l" | "--local" | "-a" | "--all" => {}
            a if a.starts_with("--") => {
                return (
                    String::new(),
                    format!(
                        "df: unrecognized option '{a}'\nTry 'df --help' for more information.\n"
                    ),
                    1,
                );
            }
            a if a.starts_with('-') => {
                if let Some(bad) = a[1..].chars().find(|c| !"hkPla".contains(*c)) {
                    return (
                        String::new(),
                        format!(
                            "df: invalid option -- '{bad}'\nTry 'df --help' for more information.\n"
                        ),
                        1,
                    );
                }
                human |= a.contains('h');
            }
            _ => {}
        }
    }
    let size = |kib: u64| {
        if human {
            ls_human(kib as usize * 1024)
        } else {
            kib.to_string()
        }
    };
    let header = if human {
        ["Filesystem", "Size", "Used", "Avail", "Use%", "Mounted on"]
    } else {
        [
            "Filesystem",
            "1K-blocks",
            "Used",
            "Available",
            "Use%",
            "Mounted on",
        ]
    };
    let mut rows: Vec<[String; 6]> = vec![header.map(str::to_string)];
    for m in mounts {
        let total = m.used + m.avail;
        let pcent = if total == 0 {
            "-".to_string()
        } else {
            format!("{}%", (m.used * 100).div_ceil(total))
        };
        rows.push([
            m.source.clone(),
            size(m.blocks),
            size(m.used),
            size(m.avail),
            pcent,
            m.target.clone(),
        ]);
    }
    // Each column as wide as its widest field, and at least coreutils' minimum.
    let minimum = [14, 5, 5, 5, 4, 0];
    let widths: Vec<usize> = (0..6)
        .map(|c| {
            rows.iter()
                .map(|r| r[c].len())
                .max()
                .unwrap_or(0)
                .max(minimum[c])
        })
        .collect();
    let mut out = String::new();
    for r in &rows {
        let _ = writeln!(
            out,
            "{:<w0$} {:>w1$} {:>w2$} {:>w3$} {:>w4$} {}",
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3],
            w4 = widths[4],
        );
    }
    (out, String::new(), 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This machine's own mounts, read with `df --output`, laid out by [`df`] and by the
    /// real `df`: the same text, with and without `-h`.
    #[test]
    fn the_layout_is_coreutils_own() {
        let o = std::process::Command::new("df")
            .args(["-B1K", "--output=source,size,used,avail,target"])
            .env("LC_ALL", "C")
            .output()
            .unwrap();
        let listed = String::from_utf8(o.stdout).unwrap();
        let mounts: Vec<Mount> = listed
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                Mount {
                    source: f[0].into(),
                    blocks: f[1].parse().unwrap(),
                    used: f[2].parse().unwrap(),
                    avail: f[3].parse().unwrap(),
                    target: f[4..].join(" "),
                }
            })
            .collect();
        assert!(!mounts.is_empty());
        for flags in [vec![], vec!["-h"], vec!["-k"]] {
            let real = std::process::Command::new("df")
                .args(&flags)
                .env("LC_ALL", "C")
                .output()
                .unwrap();
            let real = String::from_utf8(real.stdout).unwrap();
            let (ours, _, status) = df(&flags, &mounts);
            assert_eq!(status, 0);
            assert_eq!(ours, real, "df {flags:?}");
        }
    }

    #[test]
    fn the_fake_mounts_agree_with_each_other() {
        let m = mounts(1000, 2_291_456);
        let (text, _, _) = df(&[], &m);
        let root = text.lines().find(|l| l.ends_with(" /")).unwrap();
        assert_eq!(root, "/dev/vda1       20466256 2291456  17151488  12% /");
        assert!(text.starts_with("Filesystem     1K-blocks    Used Available Use% Mounted on\n"));
        assert!(text.ends_with(" /run/user/1000\n"));
        let (human, _, _) = df(&["-h"], &m);
        assert!(
            human.contains("/dev/vda1        20G  2.2G   17G  12% /\n"),
            "{human}"
        );
        assert_eq!(df(&["-x"], &m).2, 1);
    }
}
