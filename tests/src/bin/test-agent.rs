//! The agent (crate `sluice-agent`) as a binary of this package, so that
//! tests can run it as a child process and put it into the agent images
//! (Cargo gives a package's tests the paths of that package's binaries
//! only). It links the agent crate and nothing else of Sluice.

fn main() -> std::process::ExitCode {
    sluice_agent::main_from_env()
}
