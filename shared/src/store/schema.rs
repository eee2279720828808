//! The table definition and attribute names: the one place they are spelled.
//!
//! The deployment template (`infra/`) and `sigil admin init --create-table` both build
//! the table from [`TABLE`]; a consistency test compares them.

/// Partition key attribute (string).
pub const PK: &str = "pk";
/// Sort key attribute (string).
pub const SK: &str = "sk";
/// Expiry index partition key (string): the time bucket, see [`expiry_bucket`].
pub const EXP_BUCKET: &str = "exp_bucket";
/// Expiry index sort key (number): when the item expires, Unix seconds.
pub const EXP_AT: &str = "exp_at";
/// DynamoDB TTL attribute (number, Unix seconds): last-resort deletion of dead records,
/// set well after [`EXP_AT`]; never the revocation mechanism.
pub const TTL: &str = "ttl";
/// Name of the expiry index.
pub const EXPIRY_INDEX: &str = "expiry";

/// Seconds between an item's expiry and its DynamoDB TTL deletion (7 days).
pub const TTL_GRACE_SECS: i64 = 7 * 24 * 3600;
/// Width of one expiry bucket in seconds (one hour).
pub const BUCKET_SECS: i64 = 3600;
/// Shards per bucket, spreading writes of one hour over several partitions.
pub const BUCKET_SHARDS: u32 = 4;

/// Type of a key attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttrType {
    /// `S`
    String,
    /// `N`
    Number,
}

impl AttrType {
    /// DynamoDB's name of the type (`S`, `N`).
    pub fn dynamo_name(self) -> &'static str {
        match self {
            AttrType::String => "S",
            AttrType::Number => "N",
        }
    }
}

/// A global secondary index.
#[derive(Clone, Copy, Debug)]
pub struct IndexDef {
    /// Index name.
    pub name: &'static str,
    /// Partition key attribute and type.
    pub partition: (&'static str, AttrType),
    /// Sort key attribute and type.
    pub sort: (&'static str, AttrType),
    /// Projection: `KEYS_ONLY` (the sweeper reads what it needs from the table).
    pub projection: &'static str,
}

/// The table's shape.
#[derive(Clone, Copy, Debug)]
pub struct TableDef {
    /// Partition key attribute and type.
    pub partition: (&'static str, AttrType),
    /// Sort key attribute and type.
    pub sort: (&'static str, AttrType),
    /// Global secondary indexes.
    pub indexes: &'static [IndexDef],
    /// The TTL attribute.
    pub ttl_attribute: &'static str,
    /// Billing mode.
    pub billing_mode: &'static str,
}

impl TableDef {
    /// The key attributes of the table and of its indexes, each once, in order of first
    /// use, with their types: the table's `AttributeDefinitions`.
    pub fn attribute_definitions(&self) -> Vec<(&'static str, AttrType)> {
        let mut defs: Vec<(&'static str, AttrType)> = Vec::new();
        let keys = [self.partition, self.sort]
            .into_iter()
            .chain(self.indexes.iter().flat_map(|ix| [ix.partition, ix.sort]));
        for (name, kind) in keys {
            if !defs.iter().any(|(n, _)| *n == name) {
                defs.push((name, kind));
            }
        }
        defs
    }
}

/// Sigil's single table.
pub const TABLE: TableDef = TableDef {
    partition: (PK, AttrType::String),
    sort: (SK, AttrType::String),
    indexes: &[IndexDef {
        name: EXPIRY_INDEX,
        partition: (EXP_BUCKET, AttrType::String),
        sort: (EXP_AT, AttrType::Number),
        projection: "KEYS_ONLY",
    }],
    ttl_attribute: TTL,
    billing_mode: "PAY_PER_REQUEST",
};

/// The expiry bucket of an item: `"{hour}#{shard}"`, where `hour` is `exp_at / 3600`
/// and the shard is derived from the partition key so one item always lands in the
/// same shard.
pub fn expiry_bucket(pk: &str, exp_at: i64) -> String {
    let shard = pk
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        % BUCKET_SHARDS;
    bucket_name(exp_at.div_euclid(BUCKET_SECS), shard)
}

/// The bucket name of an hour number and a shard.
pub fn bucket_name(hour: i64, shard: u32) -> String {
    format!("{hour}#{shard}")
}

pub use super::value::expiry_attrs;
