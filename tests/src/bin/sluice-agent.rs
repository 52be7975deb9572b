//! `sluice agent` as its own binary, so that tests in this crate can run the
//! agent as a child process (Cargo gives them its path; the `sluice` binary
//! belongs to another package).

fn main() -> std::process::ExitCode {
    sluice::agent::main_from_env()
}
