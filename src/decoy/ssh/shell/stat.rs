//! What `ls -l` shows of the fake host: each entry's type, mode, link count, owner, size and
//! time, as a real install of the profile's distribution has them. A listing where every
//! file has the same date, `/tmp` lacks its sticky bit or `/bin` is a folder reads as a
//! honeypot, so the times come from the host's story: programs from their packages,
//! `base-files` from the point release, the accounts from the install (some weeks after the
//! release, fixed per host name), configured files between the install and the last boot,
//! the kernel's files from the boot.

use std::time::{SystemTime, UNIX_EPOCH};

use super::{Host, PROGRAMS, Program, ctime, program_at};

/// One entry as `stat` sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Stat {
    /// `-`, `d` or `l`.
    pub kind: char,
    /// The permission bits as `ls` writes them (`rwxr-xr-x`).
    pub mode: &'static str,
    pub links: usize,
    pub owner: String,
    pub group: String,
    /// Bytes; a link's is its target's length.
    pub size: u64,
    /// Unix seconds.
    pub mtime: u64,
    /// A link's target.
    pub target: Option<String>,
    /// The 1 KiB blocks `ls` adds into its `total`.
    pub blocks: u64,
}

/// Links at `/` of a merged-`/usr` install, by name.
const ROOT_LINKS: &[&str] = &["bin", "lib", "lib32", "lib64", "libx32", "sbin"];

impl Host {
    /// When the host was installed: weeks after its point release, fixed per host name.
    pub(super) fn installed(&self) -> u64 {
        const SPAN: u64 = 120 * 86_400;
        let boot = unix(self.booted());
        (self.distro.released + 3 * 86_400 + self.seed("installed") % SPAN).min(boot)
    }

    /// A number fixed by the host name and `what`.
    pub(super) fn seed(&self, what: &str) -> u64 {
        self.hostname
            .bytes()
            .chain(what.bytes())
            .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            })
    }

    /// Where the link at `path` points, if `path` is one.
    pub(super) fn link_target(&self, path: &str) -> Option<String> {
        if let Some((_, target)) = self.distro.links.iter().find(|(p, _)| *p == path) {
            return Some(target.to_string());
        }
        if let Some(p) = program_at(path, "").filter(|_| !path.starts_with("/proc/")) {
            return p.link.map(str::to_string);
        }
        let name = path.strip_prefix('/').filter(|n| !n.contains('/'))?;
        if !self.distro.root_dirs.contains(&name) {
            return None;
        }
        let kernel = self.distro.kernel_release;
        match name {
            n if ROOT_LINKS.contains(&n) => Some(format!("usr/{n}")),
            "initrd.img" | "initrd.img.old" => Some(format!("boot/initrd.img-{kernel}")),
            "vmlinuz" | "vmlinuz.old" => Some(format!("boot/vmlinuz-{kernel}")),
            _ => None,
        }
    }

    /// The entry at `path` (links not followed), if the host has one.
    pub(super) fn stat(&self, path: &str) -> Option<Stat> {
        match self.written.get(path) {
            Some(w) => self.stat_written(path, w),
            None => self.stat_of_install(path),
        }
    }

    /// The entry at `path` as the install left it.
    pub(super) fn stat_of_install(&self, path: &str) -> Option<Stat> {
        let installed = self.installed();
        let boot = unix(self.booted());
        let mut st = Stat {
            kind: '-',
            mode: "rw-r--r--",
            links: 1,
            owner: "root".into(),
            group: "root".into(),
            size: 0,
            mtime: installed,
            target: None,
            blocks: 0,
        };
        if let Some(target) = self.link_target(path) {
            st.kind = 'l';
            st.mode = "rwxrwxrwx";
            st.size = target.len() as u64;
            st.mtime = match program_at(path, "") {
                Some(p) => self.program_time(p),
                None if path.starts_with("/etc/") => self.distro.released,
                None => installed,
            };
            st.target = Some(target);
            return Some(st);
        }
        if let Some(p) = program_at(path, "").filter(|_| !path.starts_with("/proc/")) {
            st.mode = "rwxr-xr-x";
            st.size = p.size as u64;
            st.mtime = self.program_time(p);
            if p.name == "passwd" || p.name == "sudo" {
                // Set-uid root: passwd writes /etc/shadow for its user, sudo runs as root.
                st.mode = "rwsr-xr-x";
            }
            if p.name == "crontab" {
                // cron's postinst makes it setgid crontab, to write the spool.
                st.mode = "rwxr-sr-x";
                st.group = "crontab".into();
            }
            st.blocks = blocks(st.size);
            return Some(st);
        }
        let owner = self
            .users
            .iter()
            .find(|u| {
                u.uid != 0 && (path == u.home() || path.starts_with(&format!("{}/", u.home())))
            })
            .map(|u| u.name.clone());
        if let Some(o) = &owner {
            st.owner.clone_from(o);
            st.group.clone_from(o);
        }
        if let Some(content) = self.files.get(path) {
            st.size = content.len() as u64;
            match path {
                // The kernel's files are read-only, list as empty, and date from the boot.
                p if p.starts_with("/proc/") => {
                    (st.mode, st.size, st.mtime) = ("r--r--r--", 0, boot);
                }
                "/etc/shadow" => {
                    st.mode = "rw-r-----";
                    st.group = "shadow".into();
                    st.mtime = installed;
                }
                // Host keys are made on the first boot, private ones for root alone.
                p if p.starts_with("/etc/ssh/") => {
                    if p.starts_with("/etc/ssh/ssh_host_") && p.ends_with("_key") {
                        st.mode = "rw-------";
                    }
                }
                "/usr/lib/os-release" | "/etc/issue" | "/etc/issue.net" | "/etc/debian_version" => {
                    st.mtime = self.distro.released;
                }
                p if p.starts_with("/etc/skel/") => st.mtime = self.distro.released,
                // Written by the installer, or copied from /etc/skel with the account.
                "/etc/passwd" | "/etc/group" | "/etc/hostname" | "/etc/hosts" => {}
                p if self.dotfile(p) => {}
                // Anything else was put there after the install, before the last boot.
                p => st.mtime = installed + self.seed(p) % boot.saturating_sub(installed).max(1),
            }
            st.blocks = blocks(st.size);
            return Some(st);
        }
        if !self.dirs.contains(path) {
            return None;
        }
        st.kind = 'd';
        st.mode = "rwxr-xr-x";
        st.size = 4096;
        st.blocks = 4;
        let children = self.children(path);
        let subdirs = children
            .iter()
            .filter(|c| {
                let p = super::normalize(path, c);
                self.dirs.contains(&p) && self.link_target(&p).is_none()
            })
            .count();
        st.links = 2 + subdirs;
        // Folders that hold files take the newest one's time.
        let newest = children
            .iter()
            .filter_map(|c| {
                let p = super::normalize(path, c);
                self.files.contains_key(&p).then(|| self.stat(&p)).flatten()
            })
            .map(|s| s.mtime)
            .max();
        st.mtime = newest.map_or(installed, |n| n.max(installed));
        match path {
            // Kernel file systems: no size, dated from the boot.
            "/proc" | "/sys" => {
                st.mode = "r-xr-xr-x";
                (st.size, st.blocks, st.mtime) = (0, 0, boot);
                st.links = if path == "/proc" { 137 } else { 13 };
            }
            // A process's folder belongs to its user; the kernel's are read-only.
            p if p.starts_with("/proc/") => {
                st.mode = "r-xr-xr-x";
                (st.size, st.blocks, st.mtime) = (0, 0, boot);
                st.links = if p[6..].bytes().all(|b| b.is_ascii_digit()) {
                    9
                } else {
                    2
                };
                let owner = match &p[6..] {
                    "598" => "systemd-network",
                    "611" => "systemd-resolve",
                    "703" => "messagebus",
                    _ => "root",
                };
                (st.owner, st.group) = (owner.into(), owner.into());
            }
            "/dev" => {
                (st.size, st.blocks, st.mtime, st.links) = (3_260, 0, boot, 18);
            }
            "/run" => {
                (st.size, st.blocks, st.mtime, st.links) = (940, 0, boot, 27);
            }
            "/tmp" => {
                st.mode = "rwxrwxrwt";
                st.mtime = boot;
            }
            "/root" => st.mode = "rwx------",
            "/lost+found" => {
                st.mode = "rwx------";
                (st.size, st.blocks) = (16_384, 16);
            }
            "/usr/bin" => {
                (st.size, st.blocks) = (36_864, 36);
                st.mtime = PROGRAMS
                    .iter()
                    .map(|p| self.program_time(p))
                    .max()
                    .unwrap_or(installed)
                    .max(installed);
            }
            _ if owner.is_some() && self.users.iter().any(|u| u.home() == path) => {
                st.mode = self.distro.home_mode;
            }
            _ => {}
        }
        Some(st)
    }

    /// Whether `path` is one of the dotfiles a home starts with.
    fn dotfile(&self, path: &str) -> bool {
        let Some((home, name)) = path.rsplit_once('/') else {
            return false;
        };
        let homes =
            || std::iter::once("/root".to_string()).chain(self.users.iter().map(|u| u.home()));
        homes().any(|h| h == home)
            && self
                .distro
                .skel
                .iter()
                .chain(self.distro.root_dotfiles)
                .any(|(n, _)| *n == name)
    }

    /// A program's time: its package's build on Debian 12, somewhere in the span the
    /// release's packages were built in on the others (the same for every host).
    fn program_time(&self, p: &Program) -> u64 {
        match self.distro.packages_built {
            None => p.mtime,
            Some((from, to)) => {
                let h = p.name.bytes().fold(0x811c_9dc5_u64, |h, b| {
                    (h ^ u64::from(b)).wrapping_mul(0x0100_0193)
                });
                from + h % to.saturating_sub(from).max(1)
            }
        }
    }
}

/// 1 KiB blocks a file of `size` bytes takes on ext4 (4 KiB allocation units).
fn blocks(size: u64) -> u64 {
    size.div_ceil(4096) * 4
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// An entry's time as `ls -l` writes it in the C locale: hours and minutes within the six
/// months before `now`, the year otherwise (and for a time in the future).
pub(super) fn ls_time(mtime: u64, now: u64) -> String {
    const SIX_MONTHS: u64 = 31_556_952 / 2;
    let c = ctime(UNIX_EPOCH + std::time::Duration::from_secs(mtime)); // "Thu Dec  5 13:09:44 2024"
    let recent = mtime + SIX_MONTHS > now && mtime <= now;
    if recent {
        format!("{} {} {}", &c[4..7], &c[8..10], &c[11..16])
    } else {
        format!("{} {}  {}", &c[4..7], &c[8..10], &c[20..24])
    }
}
