//! `ser`: speech emotion recognition from RAVDESS-style corpora.
//!
//! A thin layer: [`cli`] parses the command line, each command's module
//! under [`cmd`] holds its flags and its `run` (build a validated config,
//! call the `pipeline` library, print what it reports), and this file
//! dispatches and maps errors to exit codes (0 ok, 1 error, 2 usage, 3
//! finished but skipped inputs, 4 store locked, 5 verification failed or
//! store damaged).

use std::process::ExitCode;

use anyhow::Result;
use clap::{CommandFactory, Parser};
use pipeline::{PipelineError, EXIT_LOCKED};
use store::StoreError;

mod cli;
mod cmd;
mod flags;

use cli::{Cli, Command};
use flags::{Env, UsageError};

fn run(command: Command, env: &Env) -> Result<i32> {
    let progress = env.progress;
    match command {
        Command::Synth(a) => cmd::synth::run(&a),
        Command::Download(a) => cmd::download::run(&a, progress),
        Command::Verify(a) => cmd::verify::run(&a, progress),
        Command::Metadata(a) => cmd::metadata::run(&a, env),
        Command::Features(a) => cmd::features::run(&a, env),
        Command::Train(a) => cmd::train::run(&a, env),
        Command::Predict(a) => cmd::predict::run(&a, env),
        Command::Listen(a) => cmd::listen::run(&a, env),
        Command::Serve(a) => cmd::serve::run(&a, env),
        Command::Report(a) => cmd::report::run(&a, env),
        Command::Query(a) => cmd::query::run(&a, env),
        Command::Reproduce(a) => cmd::reproduce::run(&a, env),
        Command::Check(a) => cmd::check::run(&a, env),
        Command::Robustness(a) => cmd::robustness::run(&a, env),
        Command::Model(a) => cmd::model::run(&a, env),
        Command::Export(a) => cmd::export::run(&a),
        Command::Help(a) => cmd::help::run(&a, Cli::command()),
    }
}

/// The exit status of an error: 2 for a usage error, 4 for a locked
/// store, 1 otherwise.
fn exit_code(err: &anyhow::Error) -> u8 {
    if err
        .chain()
        .any(|e| e.downcast_ref::<UsageError>().is_some())
    {
        return 2;
    }
    let locked = err.chain().any(|e| {
        matches!(
            e.downcast_ref::<StoreError>(),
            Some(StoreError::Locked { .. })
        ) || matches!(
            e.downcast_ref::<PipelineError>(),
            Some(PipelineError::Store(StoreError::Locked { .. }))
        )
    });
    if locked {
        EXIT_LOCKED as u8
    } else {
        1
    }
}

/// The error and its causes on one line, each cause once (library errors
/// already name their source).
fn one_line(err: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if !msg.contains(&text) {
            if !msg.is_empty() {
                msg.push_str(": ");
            }
            msg.push_str(&text);
        }
    }
    msg
}

/// Writing into a closed pipe (`ser query … | head -1`) ends `ser`
/// quietly, as it ends other Unix tools, instead of a panic in `println!`.
/// (Sockets are unaffected: the standard library sends with MSG_NOSIGNAL.)
fn exit_quietly_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in `main`, before any other thread runs;
    // SIG_DFL is a valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    exit_quietly_on_closed_pipe();
    let cli = Cli::parse();
    let env = match cli.env() {
        Ok(env) => env,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    models::tune_allocator();
    match run(cli.command, &env) {
        Ok(code) => ExitCode::from(code as u8),
        Err(err) => {
            eprintln!("error: {}", one_line(&err));
            ExitCode::from(exit_code(&err))
        }
    }
}
