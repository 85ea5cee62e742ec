//! Who opened a lure, where the kernel will say: fanotify, which needs CAP_SYS_ADMIN.
//!
//! Each lure file gets an open-permission mark. The opener waits until decoyd has read its
//! pid, uid, login uid, executable and command line from /proc, and is then always allowed:
//! with a plain notification the reader (a `cat`) is usually gone before /proc can be read.
//! Only opens of the lure files themselves wait, never anything else in their folders; if
//! decoyd dies, the kernel allows what was waiting. A mark sits on an inode, so a lure that
//! was replaced (an editor's save, `sed -i`) is marked again by the watcher's next check.
//!
//! decoyd's own opens (the integrity check) are recognised by pid and never recorded.

use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nix::errno::Errno;
use nix::fcntl::AT_FDCWD;
use nix::sys::fanotify::{
    EventFFlags, Fanotify, FanotifyResponse, InitFlags, MarkFlags, MaskFlags, Response,
};
use tokio::sync::mpsc;
use tracing::warn;

use crate::touch::{LureProcess, MAX_FIELD, clip};

/// An open of a marked file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    /// The file opened.
    pub path: PathBuf,
    /// Who opened it.
    pub process: LureProcess,
    /// Whether it was decoyd itself.
    pub own: bool,
}

/// A fanotify group with a mark on each lure, answered by a thread of its own.
pub struct Attribution {
    group: Arc<Fanotify>,
    /// Opens, in order; the thread never waits for room (see `QUEUE`).
    pub opened: mpsc::Receiver<Opened>,
}

/// Opens waiting for the watcher. The answering thread must never wait on the watcher: the
/// watcher's own check may be the opener waiting for the answer.
const QUEUE: usize = 4096;

impl Attribution {
    /// A new group and its answering thread; `Err` says why attribution is not available
    /// (most often: no CAP_SYS_ADMIN).
    pub fn start() -> Result<Attribution, String> {
        let group = Fanotify::init(
            InitFlags::FAN_CLASS_CONTENT | InitFlags::FAN_CLOEXEC,
            EventFFlags::O_RDONLY | EventFFlags::O_LARGEFILE | EventFFlags::O_CLOEXEC,
        )
        .map_err(|e| match e {
            Errno::EPERM => "fanotify needs CAP_SYS_ADMIN".to_string(),
            e => format!("fanotify is not available: {e}"),
        })?;
        let group = Arc::new(group);
        let (tx, opened) = mpsc::channel(QUEUE);
        let g = group.clone();
        std::thread::Builder::new()
            .name("decoyd-fanotify".into())
            .spawn(move || answer(&g, &tx))
            .map_err(|e| format!("cannot start the fanotify thread: {e}"))?;
        Ok(Attribution { group, opened })
    }

    /// Marks the file now at `path` (again, if it was marked: marks are idempotent).
    pub fn mark(&self, path: &Path) -> Result<(), Errno> {
        self.group.mark(
            MarkFlags::FAN_MARK_ADD | MarkFlags::FAN_MARK_DONT_FOLLOW,
            MaskFlags::FAN_OPEN_PERM,
            AT_FDCWD,
            Some(path),
        )
    }
}

/// Reads opens, answers each (always: allow) once the opener is read, and hands them on.
/// Ends when the watcher is gone.
fn answer(group: &Fanotify, tx: &mpsc::Sender<Opened>) {
    let own = std::process::id() as i32;
    loop {
        let events = match group.read_events() {
            Ok(e) => e,
            Err(Errno::EINTR) => continue,
            Err(e) => {
                warn!(error = %e, "fanotify read failed; lure attribution stops");
                return;
            }
        };
        for ev in events {
            let Some(fd) = ev.fd() else {
                warn!("fanotify queue overflowed: some lure opens are not attributed");
                continue;
            };
            let path = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()));
            let pid = ev.pid();
            // Read the opener while it waits, then let it go.
            let process = process(pid);
            if let Err(e) =
                group.write_response(FanotifyResponse::new(fd.as_fd(), Response::FAN_ALLOW))
            {
                warn!(error = %e, pid, "cannot answer a lure open");
            }
            let Ok(path) = path else { continue };
            let opened = Opened {
                path,
                process,
                own: pid == own,
            };
            match tx.try_send(opened) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    warn!(pid, "too many lure opens waiting; this one is not recorded");
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return,
            }
        }
    }
}

/// What /proc says of `pid`; what it no longer says is left out.
fn process(pid: i32) -> LureProcess {
    let dir = format!("/proc/{pid}");
    let status = std::fs::read_to_string(format!("{dir}/status")).unwrap_or_default();
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok());
    let login_uid = std::fs::read_to_string(format!("{dir}/loginuid"))
        .ok()
        .and_then(|v| v.trim().parse::<u32>().ok())
        // (uid_t)-1: nobody logged in (a daemon's process).
        .filter(|&u| u != u32::MAX);
    let exe = std::fs::read_link(format!("{dir}/exe"))
        .ok()
        .map(|p| clip(&p.to_string_lossy(), MAX_FIELD));
    let cmdline = std::fs::read(format!("{dir}/cmdline")).ok().map(|b| {
        let text: String = String::from_utf8_lossy(&b)
            .trim_end_matches('\0')
            .replace('\0', " ");
        clip(&text, MAX_FIELD)
    });
    LureProcess {
        pid: pid.max(0) as u32,
        uid,
        login_uid,
        exe,
        cmdline: cmdline.filter(|c| !c.is_empty()),
    }
}

/// Whether an `ignore_processes` entry names this process: its executable's full path or
/// its file name.
pub fn ignored(process: &LureProcess, ignore: &[String]) -> bool {
    let Some(exe) = process.exe.as_deref() else {
        return false;
    };
    let name = Path::new(exe).file_name().and_then(|n| n.to_str());
    ignore.iter().any(|i| i == exe || Some(i.as_str()) == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_read_from_proc() {
        let p = process(std::process::id() as i32);
        assert_eq!(p.pid, std::process::id());
        assert!(p.uid.is_some());
        assert!(p.exe.is_some());
        assert!(p.cmdline.is_some());
    }

    #[test]
    fn ignore_entries_match_the_path_or_the_file_name() {
        let p = LureProcess {
            pid: 1,
            uid: None,
            login_uid: None,
            exe: Some("/usr/bin/restic".into()),
            cmdline: None,
        };
        assert!(ignored(&p, &["restic".into()]));
        assert!(ignored(&p, &["/usr/bin/restic".into()]));
        assert!(!ignored(&p, &["/bin/restic".into(), "cat".into()]));
        let unknown = LureProcess { exe: None, ..p };
        assert!(!ignored(&unknown, &["restic".into()]));
    }
}
