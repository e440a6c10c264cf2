//! The `jwtapp` binary: serve (the default), manage users, or check the configuration and keys.

use std::process::ExitCode;

use clap::Parser;
use jwtapp::cli::{Cli, CliError, Command, check_config, run_user_command, show_keys};

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
        Command::Config => report(check_config(&figment)),
        Command::Keys => report(show_keys(&figment)),
        Command::User(command) => report(run_user_command(command, &figment)),
    }
}

fn report(result: Result<String, CliError>) -> ExitCode {
    match result {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("jwtapp: {e}");
            ExitCode::FAILURE
        }
    }
}
