//! decoyd: a deception sensor. Decoys (fake SSH and HTTP services, lure files) record every
//! touch durably, touches are scored into verdicts about compromised identities, and verdicts
//! become signed Security Event Tokens for the identity provider.
//!
//! The pipeline, one module per stage:
//! [`decoy`] → [`touch`] → [`store`] → [`score`] → [`signal`].
//! [`app`] builds and runs it from a validated [`config`]; [`admin`] serves the operator API;
//! [`cli`] is the command line.

#![forbid(unsafe_code)]

pub mod admin;
pub mod app;
pub mod cli;
pub mod client;
pub mod config;
pub mod decoy;
pub mod events;
pub mod honeytoken;
pub mod identities;
pub mod logging;
pub mod lures;
pub mod metrics;
pub mod score;
pub mod signal;
pub mod signals;
pub mod store;
pub mod touch;

/// Exit code for an invalid configuration (EX_USAGE from sysexits.h).
pub const EXIT_BAD_CONFIG: u8 = 64;
