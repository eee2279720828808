//! The primary key of an item.

/// The primary key of an item: partition key `pk` and sort key `sk`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    /// Partition key, e.g. `token/3f9a...`.
    pub pk: String,
    /// Sort key, e.g. `token`.
    pub sk: String,
}

impl Key {
    /// A key from its two parts.
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
        }
    }
}
