//! The `decoyd` binary: parse the command line, load the config, dispatch, map the result to
//! an exit code (64 for an invalid configuration).

use std::process::ExitCode;

use clap::Parser;

use decoyd::cli::{Cli, Command};
use decoyd::{EXIT_BAD_CONFIG, app, config, events, identities, logging, lures, signals};

fn main() -> ExitCode {
    fix_malloc_threshold();
    forgo_memory_locking();
    let cli = Cli::parse();
    logging::init(cli.log_format, cli.verbose, cli.quiet);
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("decoyd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// glibc raises its mmap threshold to the size of any large block freed, and its trim threshold
/// to twice that. The store's recovery reads each log segment into one 8 MiB buffer and frees
/// it; with the dynamic thresholds every later buffer of that size came from the heap and the
/// freed memory stayed resident: idle RSS after a restart was 19.7 MB against 11.7 MB. Fixing
/// the threshold at glibc's own starting value (128 KiB) keeps large buffers in their own
/// mappings, returned to the system when freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn fix_malloc_threshold() {
    // SAFETY: mallopt only sets an allocator parameter; it runs first in main, before any
    // other thread exists or any allocation it could affect is live.
    let ok = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024) };
    debug_assert_eq!(ok, 1, "glibc accepts a 128 KiB mmap threshold");
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn fix_malloc_threshold() {}

/// russh locks every session's packet buffers in memory (mlock) and unlocks them when they are
/// freed. A decoy's sessions hold nothing worth keeping out of swap, and each lock splits a heap
/// mapping that the unlock joins again: measured, about a tenth of the server CPU of every SSH
/// connection (0.375 against 0.338 ms), and as root (CAP_IPC_LOCK) locked memory with no limit.
/// With RLIMIT_MEMLOCK at zero and without CAP_IPC_LOCK every such call fails at once, before
/// it touches a mapping, and russh carries on without the lock. Nothing else in decoyd locks
/// memory. Capabilities are per thread: this runs first in main, so every thread inherits it.
#[cfg(target_os = "linux")]
fn forgo_memory_locking() {
    /// `struct __user_cap_header_struct` and `__user_cap_data_struct` of linux/capability.h.
    #[repr(C)]
    struct CapHeader {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct CapData {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
    const CAP_IPC_LOCK: u32 = 14;
    let none = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // Lowering a limit always succeeds; if it ever failed, russh would lock as before.
    // SAFETY: setrlimit reads the struct it is given and nothing else.
    unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &none) };
    let mut header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    // Version 3 takes two data structs: capabilities 0-31, then 32-63.
    let mut data = [CapData::default(); 2];
    let lock = 1u32 << CAP_IPC_LOCK;
    // SAFETY: capget writes the two structs version 3 defines, both in `data`; capset reads
    // them. Both act on this thread alone, before any other thread exists.
    unsafe {
        if libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) == 0
            && (data[0].effective | data[0].permitted | data[0].inheritable) & lock != 0
        {
            for set in [
                &mut data[0].effective,
                &mut data[0].permitted,
                &mut data[0].inheritable,
            ] {
                *set &= !lock;
            }
            libc::syscall(libc::SYS_capset, &mut header, data.as_ptr());
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn forgo_memory_locking() {}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let path = config::locate(cli.config.as_deref());
    // Only the commands that call Okta read its credentials.
    let secrets = match cli.command {
        Command::Run | Command::Check | Command::Okta { .. } => config::Secrets::Read,
        _ => config::Secrets::Skip,
    };
    let config = match config::load_for(path.as_deref(), secrets) {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("{errors}");
            let n = errors.0.len();
            eprintln!(
                "decoyd: {n} error{} in the configuration",
                if n == 1 { "" } else { "s" }
            );
            return Ok(ExitCode::from(EXIT_BAD_CONFIG));
        }
    };
    match cli.command {
        Command::Check => {
            print!("{}", app::summary(&config));
            Ok(ExitCode::SUCCESS)
        }
        Command::Run => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(app::run(config))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Signals { json } => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(signals::list(&config, json))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Receiver {
            listen,
            jwks,
            issuer,
            audience,
        } => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(decoyd::signal::receiver::run(
                listen,
                decoyd::signal::receiver::JwksSource::parse(&jwks),
                decoyd::signal::receiver::Expect { issuer, audience },
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Okta { command } => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(signals::okta(&config, command))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Keys { command } => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(signals::keys(&config, command))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Identities(args) => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(identities::run(&config, args))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Lures(args) => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let ok = rt.block_on(lures::run(&config, args))?;
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Events(args) => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(events::run(&config, args))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
