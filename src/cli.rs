//! Command-line definitions (clap). Nothing here does work; `main` dispatches.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// decoyd: decoy SSH and HTTP services and lure files that tell you which identity is
/// compromised.
#[derive(Debug, Parser)]
#[command(name = "decoyd", version, about, long_about = None)]
pub struct Cli {
    /// Main config file. Default: $DECOYD_CONFIG, else /etc/decoyd/decoyd.yaml if it exists,
    /// else the built-in default (a login page on 127.0.0.1:8080, data in ./decoyd-data).
    #[arg(
        short = 'c',
        long,
        global = true,
        env = "DECOYD_CONFIG",
        value_name = "FILE"
    )]
    pub config: Option<PathBuf>,

    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// More log detail (-v debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Less log detail (-q warnings, -qq errors only).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub quiet: u8,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Log output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the sensor.
    Run,
    /// Validate the main config and every decoy file; print `ok` or every error.
    Check,
    /// Show recorded touches (through the running daemon, or from the store when stopped).
    Events(EventsArgs),
    /// Planted lure files: list them, plant this sensor's, verify they are intact.
    Lures(LuresArgs),
    /// Who is compromised: identity levels, scores and reasons; clear a false positive.
    Identities(IdentitiesArgs),
    /// The signal outbox: pending, delivered, dead, with the receivers' answers.
    Signals {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// A local SSF push receiver that verifies tokens against a JWKS as Okta does and prints
    /// each accepted one: for trying the chain without an Okta org.
    Receiver {
        /// Address to listen on.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9480")]
        listen: std::net::SocketAddr,
        /// The transmitter's JWKS: a URL (fetched at every request) or a file.
        #[arg(long, value_name = "URL|FILE")]
        jwks: String,
        /// Expected `iss`.
        #[arg(long)]
        issuer: Option<String>,
        /// Expected `aud`.
        #[arg(long)]
        audience: Option<String>,
    },
    /// Okta's Management API.
    Okta {
        /// What to do.
        #[command(subcommand)]
        command: OktaCommand,
    },
    /// The token signing keys.
    Keys {
        /// What to do.
        #[command(subcommand)]
        command: KeysCommand,
    },
}

/// `decoyd okta` subcommands.
#[derive(Debug, Subcommand, Clone)]
pub enum OktaCommand {
    /// Create, or update when it exists, this sensor's Security Events Provider in Okta, with
    /// the credentials of an okta receiver's `api:`.
    Register(OktaRegisterArgs),
}

/// `decoyd okta register`.
#[derive(Debug, Args, Clone)]
pub struct OktaRegisterArgs {
    /// The okta receiver whose org and credentials are used; needed when there are several.
    #[arg(long, value_name = "NAME")]
    pub receiver: Option<String>,
    /// The provider's name in Okta. Default: `decoyd <sensor id>`.
    #[arg(long)]
    pub name: Option<String>,
    /// Register the issuer and the JWKS URL instead of the well-known URL (for a JWKS
    /// published as a static file).
    #[arg(long)]
    pub issuer_and_jwks: bool,
}

/// `decoyd keys` subcommands.
#[derive(Debug, Subcommand, Clone)]
pub enum KeysCommand {
    /// Print the public JWKS.
    Jwks,
    /// Sign with a new key from now on; the old one stays published for `signals.key_overlap`
    /// and while any pending token carries its kid.
    Rotate,
}

/// `decoyd identities`.
#[derive(Debug, Args, Clone)]
pub struct IdentitiesArgs {
    /// One JSON object per line.
    #[arg(long)]
    pub json: bool,
    /// What to do; without one, list every identity (people first, then sources).
    #[command(subcommand)]
    pub command: Option<IdentitiesCommand>,
}

/// `decoyd identities` subcommands.
#[derive(Debug, Subcommand, Clone)]
pub enum IdentitiesCommand {
    /// Mark a false positive: the level goes back to low, with who and why recorded, and the
    /// evidence so far no longer counts.
    Clear {
        /// The identity's email address.
        email: String,
        /// Why (recorded with the clear).
        #[arg(long)]
        reason: String,
    },
}

/// `decoyd lures`.
#[derive(Debug, Args, Clone)]
pub struct LuresArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: LuresCommand,
}

/// `decoyd lures` subcommands.
#[derive(Debug, Subcommand, Clone)]
pub enum LuresCommand {
    /// Every lure of the catalogue, and whether and where it is planted.
    List {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Plant this sensor's lures that are not planted yet (or were deleted); may need root.
    Plant,
    /// Compare each of this sensor's planted lures with what was planted; exit 1 unless
    /// every one is intact.
    Verify {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
}

/// Options of `decoyd events`.
#[derive(Debug, Args, Clone)]
pub struct EventsArgs {
    /// One JSON object per line.
    #[arg(long)]
    pub json: bool,
    /// Keep printing new touches as they are recorded.
    #[arg(short, long)]
    pub follow: bool,
    /// Show the newest N touches (records; folded touches count once).
    #[arg(short = 'n', long, default_value_t = 100, value_name = "N")]
    pub limit: usize,
    /// Only this decoy's touches.
    #[arg(long, value_name = "NAME")]
    pub decoy: Option<String>,
    /// Only touches from this source address.
    #[arg(long, value_name = "IP")]
    pub source: Option<IpAddr>,
}
