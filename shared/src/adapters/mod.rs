//! Adapters: the ports' implementations over real services (AWS, PostgreSQL). Only this module imports
//! the AWS SDK (a test, `tests/tests/module_graph.rs`, keeps it so).

pub mod aws;
pub mod postgres;
