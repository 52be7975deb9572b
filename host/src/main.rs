//! The `sluice` command.

mod cli;

use std::process::ExitCode;

use clap::Parser;

// Planning a large cluster is thousands of small allocations; mimalloc does
// them in half glibc's time (benches/render).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    cli::init_tracing(args.debug, args.log_format);
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
