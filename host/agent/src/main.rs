//! `sluice-agent`: the proxy container's entrypoint under hitless delivery
//! (see the crate's documentation). A leading `agent` argument is accepted,
//! so this binary can stand in where `sluice agent` is the command.

fn main() -> std::process::ExitCode {
    sluice_agent::main_from_env()
}
