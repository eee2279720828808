//! The engine's ports, as a function holds them: the database and failure injection.

use std::sync::Arc;

use super::failpoints::{Failpoints, NoFailpoints};
use super::port::DatabaseApi;

/// The engine's ports: the database, and failure injection for crash tests.
pub struct Engine {
    /// The database calls.
    pub db: Arc<dyn DatabaseApi>,
    /// Where an issue or revocation stops as if the process died (production: never).
    pub failpoints: Arc<dyn Failpoints>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("database::Engine")
    }
}

impl Engine {
    /// An engine over `db` without failpoints.
    pub fn new(db: Arc<dyn DatabaseApi>) -> Self {
        Self {
            db,
            failpoints: Arc::new(NoFailpoints),
        }
    }
}
