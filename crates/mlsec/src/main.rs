//! `mlsec`: the command line. Parsing arguments and rendering results only; the
//! work is done by the library crates.

mod args;
mod check;
mod cli;
mod commands;
mod data;
mod error;
mod gateway;
mod keys;
mod report;
#[cfg(test)]
mod schemas;
mod sign;
mod threat;
mod validate;

use clap::Parser;
use std::process::ExitCode;

// Scanning builds many small symbolic values; mimalloc makes those allocations cheap.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("mlsec: error: {error}");
            ExitCode::from(2)
        }
    }
}
