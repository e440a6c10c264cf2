//! The `jwtapp` binary: serve (the default), manage users, or check the configuration and keys.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use jwtapp::{Cli, Command};

fn serve(figment: rocket::figment::Figment) -> ExitCode {
    match rocket::execute(jwtapp::rocket(figment).launch()) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jwtapp: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let figment = rocket::Config::figment();
    match cli.command.unwrap_or(Command::Serve) {
        // Rocket's own settings are read before jwtapp's checks run: check them first, so a bad
        // one is named rather than reported as "failed to extract configuration".
        Command::Serve => match jwtapp::check_rocket_settings(&figment) {
            Err(e) => {
                eprintln!("jwtapp: {e}");
                ExitCode::FAILURE
            }
            Ok(()) => serve(jwtapp::logging::install(figment)),
        },
        command => {
            // The security events a command records are logged too (on standard error).
            jwtapp::logging::install_for_command(&figment);
            report(jwtapp::run_command(command, &figment))
        }
    }
}

/// A command's answer on standard output, or its error on standard error.
fn report(done: Result<String, jwtapp::CliError>) -> ExitCode {
    match done {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("jwtapp: {}", e.describe());
            ExitCode::FAILURE
        }
    }
}
