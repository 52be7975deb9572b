//! What clients see through the real nginx, configured by the bundled
//! plugin (scenarios in `sluice_tests::scenarios`).

sluice_tests::behaviour_tests!(sluice_tests::proxy::Kind::Nginx);
sluice_tests::policy_tests!(sluice_tests::proxy::Kind::Nginx);
