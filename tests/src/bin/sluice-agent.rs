//! The agent as a binary of this package, so that tests can run it as a
//! child process (Cargo gives them its path; `sluice-agent` of the agent's
//! own package is not visible to them). It links the agent crate only.

fn main() -> std::process::ExitCode {
    sluice_agent::main_from_env()
}
