//! The DynamoDB adapter of the [`Store`] port.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, KeysAndAttributes, Put, TransactWriteItem,
    Update as DUpdate,
};

use crate::store::{
    Cond, Index, Item, Key, Page, Query, SortCond, Store, StoreError, Update, Value, Write, schema,
};

/// The DynamoDB store: one table, named at construction.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    /// A store on `table` through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }
}

type Attrs = HashMap<String, AttributeValue>;

fn to_av(v: &Value) -> AttributeValue {
    match v {
        Value::S(s) => AttributeValue::S(s.clone()),
        Value::N(n) => AttributeValue::N(n.to_string()),
        Value::B(b) => AttributeValue::B(Blob::new(b.clone())),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::L(l) => AttributeValue::L(l.iter().map(to_av).collect()),
        Value::M(m) => AttributeValue::M(m.iter().map(|(k, v)| (k.clone(), to_av(v))).collect()),
        Value::Null => AttributeValue::Null(true),
    }
}

fn from_av(av: &AttributeValue) -> Result<Value, StoreError> {
    Ok(match av {
        AttributeValue::S(s) => Value::S(s.clone()),
        AttributeValue::N(n) => Value::N(
            n.parse()
                .map_err(|_| StoreError::Malformed("non-integer number".into()))?,
        ),
        AttributeValue::B(b) => Value::B(b.as_ref().to_vec()),
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::L(l) => Value::L(l.iter().map(from_av).collect::<Result<_, _>>()?),
        AttributeValue::M(m) => Value::M(
            m.iter()
                .map(|(k, v)| Ok((k.clone(), from_av(v)?)))
                .collect::<Result<_, StoreError>>()?,
        ),
        AttributeValue::Null(_) => Value::Null,
        _ => return Err(StoreError::Malformed("unsupported attribute type".into())),
    })
}

/// The DynamoDB attributes of an item, exactly as [`Store::write`] puts it (for bulk
/// loaders outside the port, such as the tests' `BatchWriteItem` loader).
pub fn to_attrs(item: &Item) -> HashMap<String, AttributeValue> {
    item.iter().map(|(k, v)| (k.clone(), to_av(v))).collect()
}

fn from_attrs(attrs: &Attrs) -> Result<Item, StoreError> {
    attrs
        .iter()
        .map(|(k, v)| Ok((k.clone(), from_av(v)?)))
        .collect()
}

fn key_attrs(key: &Key) -> Attrs {
    HashMap::from([
        (schema::PK.to_owned(), AttributeValue::S(key.pk.clone())),
        (schema::SK.to_owned(), AttributeValue::S(key.sk.clone())),
    ])
}

/// Builds expression strings with `#nN` / `:vN` placeholders.
#[derive(Default)]
struct Expr {
    names: HashMap<String, String>,
    values: Attrs,
}

impl Expr {
    fn name(&mut self, attr: &str) -> String {
        if let Some((p, _)) = self.names.iter().find(|(_, a)| a.as_str() == attr) {
            return p.clone();
        }
        let p = format!("#n{}", self.names.len());
        self.names.insert(p.clone(), attr.to_owned());
        p
    }

    fn value(&mut self, v: AttributeValue) -> String {
        let p = format!(":v{}", self.values.len());
        self.values.insert(p.clone(), v);
        p
    }

    fn cond(&mut self, c: &Cond) -> String {
        match c {
            Cond::Exists => format!("attribute_exists({})", self.name(schema::PK)),
            Cond::NotExists => format!("attribute_not_exists({})", self.name(schema::PK)),
            Cond::Eq(a, v) => {
                let n = self.name(a);
                format!("{n} = {}", self.value(to_av(v)))
            }
            Cond::Ge(a, x) => {
                let n = self.name(a);
                format!("{n} >= {}", self.value(AttributeValue::N(x.to_string())))
            }
            Cond::Le(a, x) => {
                let n = self.name(a);
                format!("{n} <= {}", self.value(AttributeValue::N(x.to_string())))
            }
            Cond::AttrAbsent(a) => format!("attribute_not_exists({})", self.name(a)),
            Cond::And(cs) => {
                if cs.is_empty() {
                    return format!(
                        "attribute_exists({0}) OR attribute_not_exists({0})",
                        self.name(schema::PK)
                    );
                }
                cs.iter()
                    .map(|c| format!("({})", self.cond(c)))
                    .collect::<Vec<_>>()
                    .join(" AND ")
            }
            Cond::Or(cs) => {
                if cs.is_empty() {
                    return format!(
                        "attribute_exists({0}) AND attribute_not_exists({0})",
                        self.name(schema::PK)
                    );
                }
                cs.iter()
                    .map(|c| format!("({})", self.cond(c)))
                    .collect::<Vec<_>>()
                    .join(" OR ")
            }
        }
    }

    fn update(&mut self, updates: &[Update]) -> String {
        let (mut set, mut add, mut remove) = (Vec::new(), Vec::new(), Vec::new());
        for u in updates {
            match u {
                Update::Set(a, v) => {
                    let n = self.name(a);
                    set.push(format!("{n} = {}", self.value(to_av(v))));
                }
                Update::Add(a, d) => {
                    let n = self.name(a);
                    add.push(format!(
                        "{n} {}",
                        self.value(AttributeValue::N(d.to_string()))
                    ));
                }
                Update::Remove(a) => remove.push(self.name(a)),
            }
        }
        let mut parts = Vec::new();
        if !set.is_empty() {
            parts.push(format!("SET {}", set.join(", ")));
        }
        if !add.is_empty() {
            parts.push(format!("ADD {}", add.join(", ")));
        }
        if !remove.is_empty() {
            parts.push(format!("REMOVE {}", remove.join(", ")));
        }
        parts.join(" ")
    }

    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    fn values(&self) -> Option<Attrs> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

fn unavailable<
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
>(
    op: &str,
    err: &SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> StoreError {
    // The error's Display is the SDK's short description; it never holds item data.
    let detail = match err {
        SdkError::ServiceError(s) => {
            let code = aws_smithy_types::error::metadata::ProvideErrorMetadata::code(s.err())
                .unwrap_or("unknown");
            return classify(code, op);
        }
        SdkError::TimeoutError(_) => "timeout",
        SdkError::DispatchFailure(_) => "dispatch failure",
        SdkError::ResponseError(_) => "response error",
        SdkError::ConstructionFailure(_) => "request construction failure",
        _ => "unknown error",
    };
    StoreError::Unavailable(format!("DynamoDB {op}: {detail}"))
}

fn classify(code: &str, op: &str) -> StoreError {
    match code {
        "ConditionalCheckFailedException" => StoreError::ConditionFailed,
        "ProvisionedThroughputExceededException"
        | "ThrottlingException"
        | "RequestLimitExceeded" => StoreError::Throttled,
        "TransactionConflictException" => StoreError::Conflict,
        "ValidationException" => StoreError::Rejected(format!("DynamoDB {op}: {code}")),
        other => StoreError::Unavailable(format!("DynamoDB {op}: {other}")),
    }
}

fn build_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("DynamoDB request: {e}"))
}

impl DynamoStore {
    fn transact_item(&self, w: Write) -> Result<TransactWriteItem, StoreError> {
        let mut ex = Expr::default();
        Ok(match w {
            Write::Put { item, cond } => {
                let c = cond.as_ref().map(|c| ex.cond(c));
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(&self.table)
                            .set_item(Some(to_attrs(&item)))
                            .set_condition_expression(c)
                            .set_expression_attribute_names(ex.names())
                            .set_expression_attribute_values(ex.values())
                            .build()
                            .map_err(build_err)?,
                    )
                    .build()
            }
            Write::Update { key, updates, cond } => {
                let u = ex.update(&updates);
                let c = cond.as_ref().map(|c| ex.cond(c));
                TransactWriteItem::builder()
                    .update(
                        DUpdate::builder()
                            .table_name(&self.table)
                            .set_key(Some(key_attrs(&key)))
                            .update_expression(u)
                            .set_condition_expression(c)
                            .set_expression_attribute_names(ex.names())
                            .set_expression_attribute_values(ex.values())
                            .build()
                            .map_err(build_err)?,
                    )
                    .build()
            }
            Write::Delete { key, cond } => {
                let c = cond.as_ref().map(|c| ex.cond(c));
                TransactWriteItem::builder()
                    .delete(
                        Delete::builder()
                            .table_name(&self.table)
                            .set_key(Some(key_attrs(&key)))
                            .set_condition_expression(c)
                            .set_expression_attribute_names(ex.names())
                            .set_expression_attribute_values(ex.values())
                            .build()
                            .map_err(build_err)?,
                    )
                    .build()
            }
            Write::Check { key, cond } => {
                let c = ex.cond(&cond);
                TransactWriteItem::builder()
                    .condition_check(
                        ConditionCheck::builder()
                            .table_name(&self.table)
                            .set_key(Some(key_attrs(&key)))
                            .condition_expression(c)
                            .set_expression_attribute_names(ex.names())
                            .set_expression_attribute_values(ex.values())
                            .build()
                            .map_err(build_err)?,
                    )
                    .build()
            }
        })
    }
}

#[async_trait]
impl Store for DynamoStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", &e))?;
        out.item().map(from_attrs).transpose()
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut found: HashMap<Key, Item> = HashMap::new();
        let mut pending: Vec<Attrs> = keys.iter().map(key_attrs).collect();
        pending.dedup();
        let mut attempts = 0u32;
        while !pending.is_empty() {
            attempts += 1;
            if attempts > 5 {
                return Err(StoreError::Throttled);
            }
            let ka = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(build_err)?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, ka)
                .send()
                .await
                .map_err(|e| unavailable("BatchGetItem", &e))?;
            if let Some(items) = out.responses().and_then(|r| r.get(&self.table)) {
                for attrs in items {
                    let item = from_attrs(attrs)?;
                    found.insert(crate::store::ItemExt::key(&item), item);
                }
            }
            if let Some(un) = out.unprocessed_keys().and_then(|u| u.get(&self.table)) {
                pending = un.keys().to_vec();
                tokio::time::sleep(std::time::Duration::from_millis(20 << attempts)).await;
            }
        }
        Ok(keys.iter().map(|k| found.get(k).cloned()).collect())
    }

    async fn write(&self, write: Write) -> Result<(), StoreError> {
        let mut ex = Expr::default();

        match write {
            Write::Put { item, cond } => {
                let c = cond.as_ref().map(|c| ex.cond(c));
                self.client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(to_attrs(&item)))
                    .set_condition_expression(c)
                    .set_expression_attribute_names(ex.names())
                    .set_expression_attribute_values(ex.values())
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| unavailable("PutItem", &e))
            }
            Write::Update { key, updates, cond } => {
                let u = ex.update(&updates);
                let c = cond.as_ref().map(|c| ex.cond(c));
                self.client
                    .update_item()
                    .table_name(&self.table)
                    .set_key(Some(key_attrs(&key)))
                    .update_expression(u)
                    .set_condition_expression(c)
                    .set_expression_attribute_names(ex.names())
                    .set_expression_attribute_values(ex.values())
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| unavailable("UpdateItem", &e))
            }
            Write::Delete { key, cond } => {
                let c = cond.as_ref().map(|c| ex.cond(c));
                self.client
                    .delete_item()
                    .table_name(&self.table)
                    .set_key(Some(key_attrs(&key)))
                    .set_condition_expression(c)
                    .set_expression_attribute_names(ex.names())
                    .set_expression_attribute_values(ex.values())
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| unavailable("DeleteItem", &e))
            }
            Write::Check { key, cond } => {
                return self.transact(vec![Write::Check { key, cond }]).await;
            }
        }
    }

    async fn take(&self, key: &Key, cond: Cond) -> Result<Item, StoreError> {
        let mut ex = Expr::default();
        let c = ex.cond(&cond);
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(key)))
            .condition_expression(c)
            .set_expression_attribute_names(ex.names())
            .set_expression_attribute_values(ex.values())
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| unavailable("DeleteItem", &e))?;
        // A condition that held on an existing item returns it; an absent item can
        // only pass a condition that does not need it (`NotExists`, `AttrAbsent`).
        match out.attributes() {
            Some(attrs) if !attrs.is_empty() => from_attrs(attrs),
            _ => Err(StoreError::ConditionFailed),
        }
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        // Nothing to write (a batch token's creation): no call, as the in-memory store.
        if writes.is_empty() {
            return Ok(());
        }
        let n = writes.len();
        let items = writes
            .into_iter()
            .map(|w| self.transact_item(w))
            .collect::<Result<Vec<_>, _>>()?;
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError as E;
                if let SdkError::ServiceError(s) = &e
                    && let E::TransactionCanceledException(c) = s.err()
                {
                    let codes: Vec<&str> = c
                        .cancellation_reasons()
                        .iter()
                        .map(|r| r.code().unwrap_or("None"))
                        .collect();
                    let conditions: Vec<bool> = (0..n)
                        .map(|i| codes.get(i) == Some(&"ConditionalCheckFailed"))
                        .collect();
                    if conditions.iter().any(|c| *c) {
                        return Err(StoreError::TransactionCancelled { conditions });
                    }
                    if codes.contains(&"ValidationError") {
                        return Err(StoreError::Rejected(
                            "DynamoDB TransactWriteItems: ValidationError".into(),
                        ));
                    }
                    if codes.contains(&"TransactionConflict") {
                        return Err(StoreError::Conflict);
                    }
                    if codes
                        .iter()
                        .any(|c| *c == "ThrottlingError" || *c == "ProvisionedThroughputExceeded")
                    {
                        return Err(StoreError::Throttled);
                    }
                    return Err(StoreError::Unavailable(format!(
                        "DynamoDB TransactWriteItems cancelled: {}",
                        codes.join(",")
                    )));
                }
                Err(unavailable("TransactWriteItems", &e))
            }
        }
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        let mut ex = Expr::default();
        let (part_attr, index_name) = match query.index {
            Index::Table => (schema::PK, None),
            Index::Expiry => (schema::EXP_BUCKET, Some(schema::EXPIRY_INDEX)),
        };
        let pn = ex.name(part_attr);
        let pv = ex.value(AttributeValue::S(query.partition.clone()));
        let mut kce = format!("{pn} = {pv}");
        match &query.sort {
            // DynamoDB refuses `begins_with` with an empty string: an empty prefix is
            // every item, as in the in-memory store.
            SortCond::All => {}
            SortCond::Prefix(p) if p.is_empty() => {}
            SortCond::Prefix(p) => {
                let sn = ex.name(schema::SK);
                let sv = ex.value(AttributeValue::S(p.clone()));
                kce.push_str(&format!(" AND begins_with({sn}, {sv})"));
            }
            SortCond::NumLe(x) => {
                let sn = ex.name(schema::EXP_AT);
                let sv = ex.value(AttributeValue::N(x.to_string()));
                kce.push_str(&format!(" AND {sn} <= {sv}"));
            }
        }
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(index_name.map(str::to_owned))
            .key_condition_expression(kce)
            .set_expression_attribute_names(ex.names())
            .set_expression_attribute_values(ex.values())
            .scan_index_forward(query.forward)
            .consistent_read(query.index == Index::Table)
            .set_limit(query.limit.map(|l| l as i32))
            .set_exclusive_start_key(query.start.as_ref().map(|s| {
                let mut keys = to_attrs(s);
                keys.retain(|k, _| {
                    [schema::PK, schema::SK, schema::EXP_BUCKET, schema::EXP_AT]
                        .contains(&k.as_str())
                        && (query.index == Index::Expiry || k == schema::PK || k == schema::SK)
                });
                keys
            }))
            .send()
            .await
            .map_err(|e| unavailable("Query", &e))?;
        let items = out
            .items()
            .iter()
            .map(from_attrs)
            .collect::<Result<Vec<_>, _>>()?;
        let next = out.last_evaluated_key().map(from_attrs).transpose()?;
        Ok(Page { items, next })
    }
}
