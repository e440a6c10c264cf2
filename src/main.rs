//! The `jwtapp` binary: serve (the default), manage users, or check the configuration and keys.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use jwtapp::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let figment = rocket::Config::figment();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => match rocket::execute(jwtapp::rocket(figment).launch()) {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("jwtapp: {e}");
                ExitCode::FAILURE
            }
        },
        command => match jwtapp::run_command(command, &figment) {
            Ok(message) => {
                println!("{message}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("jwtapp: {}", e.describe());
                ExitCode::FAILURE
            }
        },
    }
}
