//! The method's stored documents (client configuration, roles): one item each, the
//! document as a JSON-shaped map under `doc`, and a revision number under `rev` that
//! every write checks, so concurrent updates of one document cannot lose each other
//! (a race is settled by the condition, not by read-then-write).

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::store::{Cond, Item, ItemExt, Key, Store, StoreError, Value, Write, new_item};

const A_DOC: &str = "doc";
const A_REV: &str = "rev";

/// A document read from the table, with its revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored<T> {
    /// The document.
    pub doc: T,
    /// Its revision: 1 for the first write, +1 for each update.
    pub rev: i64,
}

/// Reads a document from its item. `what` names it in the error for a malformed item.
pub fn decode<T: DeserializeOwned>(item: &Item, what: &str) -> Result<Stored<T>, StoreError> {
    let doc = crate::store::decode::from_value(item.get(A_DOC).unwrap_or(&Value::Null))
        .map_err(|_| StoreError::Malformed(what.into()))?;
    Ok(Stored {
        doc,
        rev: item.n(A_REV)?,
    })
}

/// The write that stores `doc` at `key` as the revision after `old` (`None`: the
/// document must not exist yet; `Some(rev)`: it must still be at `rev`).
pub fn put<T: Serialize>(key: &Key, doc: &T, old: Option<i64>) -> Result<Write, ApiError> {
    let mut item = new_item(key);
    let json = serde_json::to_value(doc).map_err(|_| ApiError::Internal)?;
    item.insert(A_DOC.into(), Value::from_json(&json));
    item.insert(A_REV.into(), Value::N(old.unwrap_or(0) + 1));
    Ok(Write::Put {
        item,
        cond: Some(match old {
            None => Cond::NotExists,
            Some(rev) => Cond::Eq(A_REV, Value::N(rev)),
        }),
    })
}

/// Reads the document at `key` (`what` names it in the error for a malformed item),
/// applies `change` to it (to the default when there is none) and writes it back on
/// the condition of the revision read: one read, one conditional write; a concurrent
/// update makes it 400 ([`concurrent`]); a refusal of `change` writes nothing.
pub async fn update<T, R>(
    store: &dyn Store,
    key: &Key,
    what: &str,
    change: impl FnOnce(&mut T) -> Result<R, ApiError>,
) -> Result<R, ApiError>
where
    T: Default + Serialize + DeserializeOwned,
{
    let old: Option<Stored<T>> = match store.get(key).await? {
        Some(item) => Some(decode(&item, what)?),
        None => None,
    };
    let rev = old.as_ref().map(|s| s.rev);
    let mut doc = old.map(|s| s.doc).unwrap_or_default();
    let out = change(&mut doc)?;
    store
        .write(put(key, &doc, rev)?)
        .await
        .map_err(concurrent)?;
    Ok(out)
}

/// Maps a failed conditional write to a 400 that asks for a retry.
pub fn concurrent(e: StoreError) -> ApiError {
    if e.is_condition() {
        ApiError::bad("changed concurrently by another request; retry")
    } else {
        e.into()
    }
}
