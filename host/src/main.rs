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
    if let Err(e) = cli::init_tracing(args.debug, args.log_format, args.otlp_endpoint.as_deref()) {
        eprintln!("error: {e:#}");
        return ExitCode::FAILURE;
    }
    let code = match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    };
    cli::finish_tracing();
    code
}
