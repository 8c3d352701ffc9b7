//! `ser help [COMMAND]`: the same text as `--help`.

use anyhow::Result;

#[derive(clap::Args)]
pub struct Args {
    /// The command.
    pub command: Option<String>,
}

/// Prints the long help of `top` (the whole command line) or of one of
/// its commands; exit 2 for a command it does not have.
pub fn run(a: &Args, mut top: clap::Command) -> Result<i32> {
    top.build();
    let cmd = match a.command.as_deref() {
        None => &mut top,
        Some(name) => match top.find_subcommand_mut(name) {
            Some(c) => c,
            None => {
                eprintln!("error: no command `{name}` (see `ser --help`)");
                return Ok(2);
            }
        },
    };
    cmd.print_long_help()?;
    Ok(0)
}
