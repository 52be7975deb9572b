//! What clients see through the real HAProxy, configured by the bundled
//! plugin (scenarios in `sluice_tests::scenarios`).

sluice_tests::behaviour_tests!(sluice_tests::proxy::Kind::Haproxy);
