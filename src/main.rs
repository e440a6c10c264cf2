//! The `jwtapp` binary: serve (the default) or manage users.

use std::process::ExitCode;

use clap::Parser;
use jwtapp::cli::{Cli, Command, run_user_command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => match rocket::execute(jwtapp::rocket(rocket::Config::figment()).launch())
        {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("jwtapp: {e}");
                ExitCode::FAILURE
            }
        },
        Command::User(command) => match run_user_command(command, &rocket::Config::figment()) {
            Ok(message) => {
                println!("{message}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("jwtapp: {e}");
                ExitCode::FAILURE
            }
        },
    }
}
