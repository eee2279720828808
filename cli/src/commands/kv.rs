//! `sigil kv ...`: KV version 2 commands, and how `MOUNT/PATH` (or `-mount=MOUNT PATH`)
//! maps to the API's `MOUNT/data/PATH` and `MOUNT/metadata/PATH`.

use serde_json::{Value, json};

use crate::args::{KvCommand, KvMetadataCommand, KvPath};
use crate::client::{Client, Request};
use crate::error::CliError;
use crate::output::{Output, Shape};
use crate::pairs::{parse_pairs, read_stdin};

/// A KV path split into its mount and the key's path inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvTarget {
    /// The mount (`secret`).
    pub mount: String,
    /// The key's path inside the mount (`app/db`; empty for the mount's root).
    pub path: String,
}

impl KvTarget {
    /// Splits `path`: with `mount` given, `path` is all inside it; without, the first
    /// segment of `path` is the mount (`secret/app/db` -> `secret`, `app/db`).
    pub fn split(mount: Option<&str>, path: &str) -> Result<Self, CliError> {
        let path = path.trim_matches('/');
        let (mount, rest) = match mount {
            Some(m) => (m.trim_matches('/'), path),
            None => path.split_once('/').unwrap_or((path, "")),
        };
        if mount.is_empty() {
            return Err(CliError::usage(
                "missing KV mount: use MOUNT/PATH (e.g. secret/app/db) or -mount=MOUNT PATH",
            ));
        }
        if mount.contains('/') {
            return Err(CliError::usage(format!(
                "invalid KV mount {mount:?}: it must be one path segment"
            )));
        }
        Ok(Self {
            mount: mount.to_owned(),
            path: rest.trim_matches('/').to_owned(),
        })
    }

    /// Fails when the target names the mount itself rather than a key.
    pub fn require_key(self) -> Result<Self, CliError> {
        if self.path.is_empty() {
            return Err(CliError::usage(format!(
                "missing secret path after the mount {:?}: use MOUNT/PATH (e.g. secret/app/db) or -mount=MOUNT PATH",
                self.mount
            )));
        }
        Ok(self)
    }

    /// `MOUNT/data/PATH`.
    pub fn data_path(&self) -> String {
        format!("{}/data/{}", self.mount, self.path)
    }

    /// `MOUNT/metadata/PATH` (`MOUNT/metadata/` for the root).
    pub fn metadata_path(&self) -> String {
        format!("{}/metadata/{}", self.mount, self.path)
    }
}

fn target(p: &KvPath) -> Result<KvTarget, CliError> {
    KvTarget::split(p.mount.as_deref(), &p.path)
}

/// The body of a KV v2 write: `{"data": {...}}`, with `options.cas` when `cas` is set
/// (a negative `cas` counts as not set, as in Vault's CLI).
pub fn put_body(data: serde_json::Map<String, Value>, cas: Option<i64>) -> Value {
    match cas.filter(|c| *c >= 0) {
        Some(cas) => json!({ "data": data, "options": { "cas": cas } }),
        None => json!({ "data": data }),
    }
}

/// Runs a `kv` subcommand.
pub async fn run(client: &Client, out: &Output, cmd: KvCommand) -> Result<(), CliError> {
    match cmd {
        KvCommand::Put(args) => {
            let t = target(&args.target)?.require_key()?;
            let data = parse_pairs(&args.data, read_stdin)?;
            if data.is_empty() {
                return Err(CliError::usage("Must supply data"));
            }
            let path = t.data_path();
            let message = format!("Success! Data written to: {path}");
            match client
                .send(Request::post(path.clone(), put_body(data, args.cas)))
                .await?
            {
                Some(resp) => {
                    out.emit(&resp, Shape::KvWrite { path: &path })?;
                }
                None => out.success(&message),
            }
            Ok(())
        }
        KvCommand::Get(args) => {
            let path = target(&args.target)?.require_key()?.data_path();
            let mut req = Request::get(path.clone());
            if let Some(v) = args.version {
                req = req.query("version", v.to_string());
            }
            match client.send(req).await? {
                Some(resp) => out.emit(&resp, Shape::KvRead { path: &path }).map(drop),
                None => Err(CliError::NotFound(path)),
            }
        }
        KvCommand::Metadata(KvMetadataCommand::Get(p)) => {
            let path = target(&p)?.require_key()?.metadata_path();
            match client.send(Request::get(path.clone())).await? {
                Some(resp) => out.emit(&resp, Shape::KvMetadata { path: &path }).map(drop),
                None => Err(CliError::NotFound(path)),
            }
        }
        KvCommand::Delete(p) => {
            let path = target(&p)?.require_key()?.data_path();
            let message = format!("Success! Data deleted (if it existed) at: {path}");
            match client.send(Request::delete(path)).await? {
                Some(resp) if out.emit(&resp, Shape::Secret)? => {}
                _ => out.success(&message),
            }
            Ok(())
        }
        KvCommand::List(p) => {
            let req = Request::list(target(&p)?.metadata_path())?;
            let path = req.path().to_owned();
            match client.send(req).await? {
                Some(resp) => out.emit(&resp, Shape::List { path: &path }).map(drop),
                None => Err(CliError::NotFound(path)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(mount: Option<&str>, path: &str) -> (String, String) {
        let t = KvTarget::split(mount, path).unwrap();
        (t.mount, t.path)
    }

    #[test]
    fn first_segment_is_the_mount() {
        assert_eq!(
            split(None, "secret/app/db"),
            ("secret".into(), "app/db".into())
        );
        assert_eq!(split(None, "/secret/app/"), ("secret".into(), "app".into()));
        assert_eq!(split(None, "secret"), ("secret".into(), "".into()));
        assert_eq!(split(None, "secret/"), ("secret".into(), "".into()));
    }

    #[test]
    fn mount_flag_takes_the_whole_path() {
        assert_eq!(
            split(Some("secret"), "app/db"),
            ("secret".into(), "app/db".into())
        );
        assert_eq!(split(Some("/kv/"), "/app"), ("kv".into(), "app".into()));
        assert_eq!(split(Some("kv"), ""), ("kv".into(), "".into()));
        assert!(KvTarget::split(Some("a/b"), "x").is_err());
        assert!(KvTarget::split(Some(""), "x").is_err());
        assert!(KvTarget::split(None, "/").is_err());
    }

    #[test]
    fn api_paths() {
        let t = KvTarget::split(None, "secret/app/db").unwrap();
        assert_eq!(t.data_path(), "secret/data/app/db");
        assert_eq!(t.metadata_path(), "secret/metadata/app/db");
        let root = KvTarget::split(None, "secret").unwrap();
        assert_eq!(root.metadata_path(), "secret/metadata/");
        let e = root.require_key().unwrap_err();
        assert!(e.to_string().contains("missing secret path"));
        assert_eq!(e.exit_code(), 1);
    }

    #[test]
    fn put_bodies() {
        let data: serde_json::Map<String, Value> =
            serde_json::from_value(json!({"a": "b"})).unwrap();
        assert_eq!(put_body(data.clone(), None), json!({"data": {"a": "b"}}));
        assert_eq!(
            put_body(data.clone(), Some(0)),
            json!({"data": {"a": "b"}, "options": {"cas": 0}})
        );
        assert_eq!(put_body(data, Some(-1)), json!({"data": {"a": "b"}}));
    }
}
