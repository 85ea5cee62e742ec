//! The `decoyd` binary: parse the command line, load the config, dispatch, map the result to
//! an exit code (64 for an invalid configuration).

use std::process::ExitCode;

use clap::Parser;

use decoyd::cli::{Cli, Command};
use decoyd::{EXIT_BAD_CONFIG, app, config, events, identities, logging, lures, signals};

fn main() -> ExitCode {
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
