//! Logging to stderr with tracing. Attacker-supplied strings are only ever logged as fields
//! (tracing-subscriber escapes control characters in them), never formatted into messages.

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// Installs the global subscriber. `DECOYD_LOG` (an env-filter directive) overrides -v/-q.
pub fn init(format: LogFormat, verbose: u8, quiet: u8) {
    let level = match i16::from(verbose) - i16::from(quiet) {
        i16::MIN..=-2 => "error",
        -1 => "warn",
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    // sled and hyper are chatty at debug; keep them at warn unless asked for explicitly.
    // russh logs what attackers send, at levels up to error; the SSH decoy records those
    // connections itself, so russh stays silent unless asked for.
    let default = format!("{level},sled=warn,hyper=warn,hyper_util=warn,russh=off");
    let filter = EnvFilter::try_from_env("DECOYD_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let result = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
    };
    let _ = result;
}
