//! The transit engine's paths (engine: [`crate::transit`]), at any path the engine is
//! mounted at. Operations on keys (encrypt, decrypt, rewrap, datakey, hmac, sign,
//! verify) and the key-less tools (random, hash) go to the issue function; key
//! management (create, read, list, config, rotate, trim, delete) to admin.
//!
//! BYOK: `wrapping_key` (the mount's RSA-4096 wrapping key, kept apart from the
//! mount's keys: [`wrapping_keys`]), `keys/:name/import`, `keys/:name/import_version`
//! and `export/:type/:name` (admin); `backup/:name`, `restore(/:name)` (admin,
//! OpenBao's backup format: [`crate::transit::backup`]).
//!
//! Every path goes through the same policy checks as any other: `transit/encrypt/k`
//! needs `update` (or `create` when the request creates the key, Vault's existence
//! check), `transit/keys/k` needs `read` to read and `update` to create.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::error::ApiError;
use crate::http::envelope::{Envelope, Reply};
use crate::op;
use crate::transit::export::{self, ExportType};
use crate::transit::import::{self as byok, WRAPPING_KEY_NAME};
use crate::transit::key_type::{KeyType, UNSUPPORTED};
use crate::transit::ops::{Datakey, Decrypt, Encrypt, Hmac, Op, Rewrap, Sign, Verify};
use crate::transit::policy::{ConfigChange, CreateOptions};
use crate::transit::{Keys, Record, backup, request, tools};

use super::ctx::Ctx;
use super::reply::keys_reply;
use super::spec::{OpSpec, PathSpec, PrefetchArgs};

const HMAC: &[OpSpec] = &[op!(Update, Issue, hmac, prefetch = key_item)];
const SIGN: &[OpSpec] = &[op!(Update, Issue, sign, prefetch = key_item)];
const VERIFY: &[OpSpec] = &[op!(Update, Issue, verify, prefetch = key_item)];
const RANDOM: &[OpSpec] = &[op!(Update, Issue, random)];
const HASH: &[OpSpec] = &[op!(Update, Issue, hash)];
const EXPORT: &[OpSpec] = &[op!(Read, Admin, export_key)];
const RESTORE: &[OpSpec] = &[op!(Update, Admin, restore_key)];

/// The named key's item, read with the caller's token ([`crate::store::prefetch`]):
/// an operation on a warm key is one DynamoDB round trip.
fn key_item(a: &PrefetchArgs<'_>) -> Vec<crate::store::Key> {
    vec![crate::transit::storage::key(
        &a.mount.storage,
        a.param("name"),
    )]
}

/// The transit engine's paths.
pub static PATHS: &[PathSpec] = &[
    PathSpec::new("keys", &[op!(List, Admin, list_keys)]),
    PathSpec::new(
        "keys/{name}",
        &[
            op!(Read, Admin, read_key),
            op!(Update, Admin, create_key),
            op!(Delete, Admin, delete_key),
        ],
    ),
    PathSpec::new("keys/{name}/config", &[op!(Update, Admin, config_key)]),
    PathSpec::new("keys/{name}/rotate", &[op!(Update, Admin, rotate_key)]),
    PathSpec::new("keys/{name}/trim", &[op!(Update, Admin, trim_key)]),
    PathSpec::new("keys/{name}/import", &[op!(Update, Admin, import_key)]),
    PathSpec::new(
        "keys/{name}/import_version",
        &[op!(Update, Admin, import_version)],
    ),
    PathSpec::new("wrapping_key", &[op!(Read, Admin, read_wrapping_key)]),
    PathSpec::new("backup/{name}", &[op!(Read, Admin, backup_key)]),
    PathSpec::new("restore", RESTORE),
    PathSpec::new("restore/{name}", RESTORE),
    PathSpec::new("export/{type}/{name}", EXPORT),
    PathSpec::new("export/{type}/{name}/{version}", EXPORT),
    PathSpec::new(
        "encrypt/{name}",
        &[op!(Update, Issue, encrypt, prefetch = key_item)],
    )
    .existence_check(),
    PathSpec::new(
        "decrypt/{name}",
        &[op!(Update, Issue, decrypt, prefetch = key_item)],
    ),
    PathSpec::new(
        "rewrap/{name}",
        &[op!(Update, Issue, rewrap, prefetch = key_item)],
    ),
    PathSpec::new(
        "datakey/{kind}/{name}",
        &[op!(Update, Issue, datakey, prefetch = key_item)],
    ),
    PathSpec::new("hmac/{name}", HMAC),
    PathSpec::new("hmac/{name}/{algorithm}", HMAC),
    PathSpec::new("sign/{name}", SIGN),
    PathSpec::new("sign/{name}/{algorithm}", SIGN),
    PathSpec::new("verify/{name}", VERIFY),
    PathSpec::new("verify/{name}/{algorithm}", VERIFY),
    PathSpec::new("random", RANDOM),
    PathSpec::new("random/{source}", RANDOM),
    PathSpec::new("random/{source}/{bytes}", RANDOM),
    PathSpec::new("hash", HASH),
    PathSpec::new("hash/{algorithm}", HASH),
];

fn keys<'a>(c: &'a Ctx<'a>) -> Keys<'a> {
    Keys {
        store: c.svc.store,
        keyring: c.svc.keyring,
        cache: c.svc.transit,
        storage: &c.mount.storage,
    }
}

/// Vault's key names (`framework.GenericNameRegex`): word characters, `-`, `.` and
/// `@`, starting and ending with a word character.
fn valid_name(n: &str) -> bool {
    let word = |ch: char| ch.is_ascii_alphanumeric() || ch == '_';
    n.chars().next().is_some_and(word)
        && n.chars().last().is_some_and(word)
        && n.chars()
            .all(|ch| word(ch) || matches!(ch, '-' | '.' | '@'))
}

/// The path's key name ([`valid_name`]); others match no path (404).
fn name<'a>(c: &'a Ctx<'a>) -> Result<&'a str, ApiError> {
    let n = c.param("name");
    if valid_name(n) {
        Ok(n)
    } else {
        Err(ApiError::no_route(c.path))
    }
}

fn envelope(status: u16, data: Json, warnings: Vec<String>) -> Reply {
    let mut env = Envelope::data(data).mount("transit");
    env.warnings = warnings;
    Reply::Envelope(status, env)
}

fn key_reply(rec: &Record, warnings: Vec<String>) -> Reply {
    envelope(200, rec.policy.to_json(&BTreeMap::new()), warnings)
}

/// Opens the versions `op` needs and runs it.
async fn run<O: Op>(
    keys: &Keys<'_>,
    rec: &Record,
    op: &O,
    warnings: Vec<String>,
) -> Result<Reply, ApiError> {
    let loaded = keys.open(rec, &op.versions(&rec.policy)).await?;
    let (status, data) = op.run(&loaded).finish()?;
    Ok(envelope(status, data, warnings))
}

/// The key `name`, or Vault's 400 `missing` text.
async fn existing(keys: &Keys<'_>, name: &str, missing: &str) -> Result<Record, ApiError> {
    keys.read(name).await?.ok_or_else(|| ApiError::bad(missing))
}

async fn list_keys(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    keys_reply(keys(c).list().await?)
}

async fn read_key(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let keys = keys(c);
    let rec = keys.read(name(c)?).await?.ok_or(ApiError::NotFound)?;
    let context = c.req.query_param("context").unwrap_or("");
    let mut derived = BTreeMap::new();
    let p = &rec.policy;
    if !context.is_empty() && p.derived && p.key_type.signing_supported() {
        let context = crate::transit::b64::decode(context)
            .map_err(|_| ApiError::bad("failed to base64-decode context"))?;
        let versions: Vec<u32> = p
            .versions
            .range(p.min_decryption_version..)
            .map(|(v, _)| *v)
            .collect();
        let loaded = keys.open(&rec, &versions).await?;
        for v in versions {
            let public = crate::transit::sign::derived_public_key(loaded.material(v)?, &context)
                .map_err(ApiError::from)?;
            derived.insert(v, public);
        }
    }
    Ok(envelope(200, p.to_json(&derived), Vec::new()))
}

async fn create_key(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let name = name(c)?;
    let b = c.body;
    let opts = CreateOptions::check(
        &request::string(b, "type")?.unwrap_or_else(|| "aes256-gcm96".into()),
        request::flag(b, "derived")?,
        request::flag(b, "convergent_encryption")?,
        request::flag(b, "exportable")?,
        request::flag(b, "allow_plaintext_backup")?,
        request::seconds(b, "auto_rotate_period")?,
        request::int(b, "key_size")?.unwrap_or(0),
    )?;
    let (rec, _) = keys(c).create(name, &opts, c.now).await?;
    Ok(key_reply(&rec, Vec::new()))
}

async fn delete_key(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let name = name(c)?;
    let keys = keys(c);
    let err = |why: &str| ApiError::bad(format!("error deleting policy {name}: {why}"));
    let rec = keys
        .read(name)
        .await?
        .ok_or_else(|| err("could not delete key; not found"))?;
    if !rec.policy.deletion_allowed {
        return Err(err("deletion is not allowed for this key"));
    }
    keys.delete(&rec).await?;
    Ok(Reply::NoContent)
}

async fn config_key(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let name = name(c)?;
    let b = c.body;
    let change = ConfigChange {
        min_decryption_version: request::int(b, "min_decryption_version")?,
        min_encryption_version: request::int(b, "min_encryption_version")?,
        deletion_allowed: b
            .get("deletion_allowed")
            .map(|_| request::flag(b, "deletion_allowed"))
            .transpose()?,
        exportable: b
            .get("exportable")
            .map(|_| request::flag(b, "exportable"))
            .transpose()?,
        allow_plaintext_backup: b
            .get("allow_plaintext_backup")
            .map(|_| request::flag(b, "allow_plaintext_backup"))
            .transpose()?,
        auto_rotate_period: b
            .get("auto_rotate_period")
            .map(|_| request::seconds(b, "auto_rotate_period"))
            .transpose()?,
    };
    let (rec, done) = keys(c)
        .update(name, c.now, |p| {
            let done = p.configure(&change)?;
            Ok((done.changed, done))
        })
        .await?
        .ok_or_else(|| ApiError::bad(format!("no existing key named {name} could be found")))?;
    Ok(key_reply(&rec, done.warning.into_iter().collect()))
}

async fn rotate_key(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let rec = keys(c)
        .rotate(name(c)?, c.now)
        .await?
        .ok_or_else(|| ApiError::bad("key not found"))?;
    Ok(key_reply(&rec, Vec::new()))
}

async fn trim_key(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let min = request::int(c.body, "min_available_version")?;
    let (rec, _) = keys(c)
        .update(name(c)?, c.now, |p| Ok((true, p.trim(min)?)))
        .await?
        .ok_or_else(|| ApiError::bad("invalid key name"))?;
    Ok(key_reply(&rec, Vec::new()))
}

/// `encrypt/:name`: creates the key when it does not exist (Vault's upsert; the
/// caller needs `create` then, `update` otherwise).
async fn encrypt(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let name = name(c)?;
    let op = Encrypt::parse(c.body)?;
    let keys = keys(c);
    let mut warnings = Vec::new();
    let rec = match keys.read(name).await? {
        Some(rec) => {
            c.grant.require_write(true)?;
            rec
        }
        None => {
            c.grant.require_write(false)?;
            if op.create_convergent && !op.context_set {
                return Err(ApiError::bad(
                    "convergent encryption requires derivation to be enabled, so context is required",
                ));
            }
            let t = op.create_type.as_str();
            match crate::transit::key_type::KeyType::parse(t) {
                Some(k) if k.is_aead() => {}
                Some(k) if k.is_ecdsa() => {
                    return Err(ApiError::bad(format!(
                        "key type {t} not supported for this operation"
                    )));
                }
                _ => return Err(ApiError::bad(format!("unknown key type {t}"))),
            }
            let opts =
                CreateOptions::check(t, op.context_set, op.create_convergent, false, false, 0, 0)?;
            let (rec, created) = keys.create(name, &opts, c.now).await?;
            if !created {
                warnings.push(
                    "Attempted creation of the key during the encrypt operation, but it was created beforehand"
                        .to_owned(),
                );
            }
            rec
        }
    };
    run(&keys, &rec, &op, warnings).await
}

async fn decrypt(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let op = Decrypt::parse(c.body)?;
    let keys = keys(c);
    let rec = existing(&keys, name(c)?, "encryption key not found").await?;
    run(&keys, &rec, &op, Vec::new()).await
}

async fn rewrap(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let op = Rewrap::parse(c.body)?;
    let keys = keys(c);
    let rec = existing(&keys, name(c)?, "encryption key not found").await?;
    run(&keys, &rec, &op, Vec::new()).await
}

async fn datakey(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let with_plaintext = Datakey::kind(c.param("kind"))?;
    let mut op = Datakey::parse(c.body)?;
    op.with_plaintext = with_plaintext;
    let keys = keys(c);
    let rec = existing(&keys, name(c)?, "encryption key not found").await?;
    run(&keys, &rec, &op, Vec::new()).await
}

async fn hmac(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let keys = keys(c);
    let rec = existing(&keys, name(c)?, "encryption key not found").await?;
    let op = Hmac::parse(c.body)?.with_url_algorithm(c.param("algorithm"));
    run(&keys, &rec, &op, Vec::new()).await
}

async fn sign(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let op = Sign::parse(c.body)?.with_url_algorithm(c.param("algorithm"));
    let keys = keys(c);
    let rec = existing(&keys, name(c)?, "signing key not found").await?;
    op.check(&rec.policy)?;
    run(&keys, &rec, &op, Vec::new()).await
}

async fn verify(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let op = Verify::parse(c.body)?.with_url_algorithm(c.param("algorithm"));
    let keys = keys(c);
    let missing = if c.body.contains_key("hmac") || batch_has(c, "hmac") {
        "encryption key not found"
    } else {
        "signature verification key not found"
    };
    let rec = existing(&keys, name(c)?, missing).await?;
    op.check(&rec.policy)?;
    run(&keys, &rec, &op, Vec::new()).await
}

fn batch_has(c: &Ctx<'_>, field: &str) -> bool {
    matches!(c.body.get("batch_input"), Some(Json::Array(a))
        if a.iter().any(|i| i.get(field).is_some()))
}

async fn random(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let (data, warning) = tools::random(c.param("source"), c.param("bytes"), c.body)?;
    Ok(envelope(200, data, warning.into_iter().collect()))
}

async fn hash(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    Ok(envelope(
        200,
        tools::hash(c.param("algorithm"), c.body)?,
        Vec::new(),
    ))
}

/// The storage prefix of the mount's wrapping key
/// ([`crate::transit::storage::wrapping_storage`]).
fn wrapping_storage(c: &Ctx<'_>) -> String {
    crate::transit::storage::wrapping_storage(&c.mount.storage)
}

/// The mount's wrapping key, generated on first use. Concurrent first uses each
/// generate one, and the conditional create keeps exactly one: every caller gets
/// the stored key.
async fn wrapping_key(keys: &Keys<'_>, now: i64) -> Result<Record, ApiError> {
    if let Some(rec) = keys.read(WRAPPING_KEY_NAME).await? {
        return Ok(rec);
    }
    let opts = CreateOptions::check("rsa-4096", false, false, false, false, 0, 0)?;
    Ok(keys.create(WRAPPING_KEY_NAME, &opts, now).await?.0)
}

/// `GET wrapping_key`: `{"public_key": PEM "PUBLIC KEY" (PKIX) of the RSA-4096 key}`.
async fn read_wrapping_key(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let storage = wrapping_storage(c);
    let keys = Keys {
        storage: &storage,
        ..keys(c)
    };
    let rec = wrapping_key(&keys, c.now).await?;
    let public = rec
        .policy
        .versions
        .get(&rec.policy.latest_version)
        .and_then(|m| m.public_key.clone())
        .ok_or(ApiError::Internal)?;
    Ok(envelope(
        200,
        serde_json::json!({ "public_key": public }),
        Vec::new(),
    ))
}

/// `POST keys/:name/import` (OpenBao's `pathImportWrite`): creates key `name` from
/// wrapped material ([`crate::transit::import`]) or, without `ciphertext`, from a
/// `public_key` only (PEM; asymmetric types); 204. Refused, with nothing written: an
/// existing key, `convergent_encryption`, a bad ciphertext, material or public key.
async fn import_key(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let name = name(c)?;
    let b = c.body;
    if b.contains_key("convergent_encryption") {
        return Err(ApiError::bad(
            "import cannot be used on keys with convergent encryption enabled",
        ));
    }
    let allow_rotation = request::flag(b, "allow_rotation")?;
    let period = request::seconds(b, "auto_rotate_period")?;
    if period > 0 && !allow_rotation {
        return Err(ApiError::bad(
            "allow_rotation must be set to true if auto-rotation is enabled",
        ));
    }
    let type_name = request::string(b, "type")?
        .unwrap_or_else(|| "aes256-gcm96".into())
        .to_ascii_lowercase();
    let kt = KeyType::parse(&type_name).ok_or_else(|| {
        if UNSUPPORTED.contains(&type_name.as_str()) {
            ApiError::bad(format!("key type {type_name} is not supported by Sigil"))
        } else {
            ApiError::bad(format!("unknown key type: {type_name}"))
        }
    })?;
    let keys = keys(c);
    let existing = || {
        ApiError::bad(
            "the import path cannot be used with an existing key; use import-version to rotate an existing imported key",
        )
    };
    if keys.read(name).await?.is_some() {
        return Err(existing());
    }
    let derived = request::flag(b, "derived")?;
    let (key, public) = match request::string(b, "ciphertext")? {
        Some(ct) => (
            byok::material_key(kt, &unwrap_import(c, &keys, &ct).await?)?,
            false,
        ),
        None => {
            let spki = public_import(kt, b, derived)?
                .map_err(|e| ApiError::bad(format!("error importing key: {e}")))?;
            (zeroize::Zeroizing::new(spki), true)
        }
    };
    let key_size = if kt == KeyType::Hmac { 32 } else { 0 };
    let opts = CreateOptions::check(
        kt.name(),
        derived,
        false,
        request::flag(b, "exportable")?,
        request::flag(b, "allow_plaintext_backup")?,
        period,
        key_size,
    )?;
    if !keys
        .import(name, &opts, allow_rotation, &key, public, c.now)
        .await?
    {
        return Err(existing());
    }
    Ok(Reply::NoContent)
}

/// Opens an import `ciphertext` (base64, as given) with the mount's wrapping key
/// (`hash_function` of the body, default `SHA256`): the key material, not yet
/// checked against a type.
async fn unwrap_import(
    c: &Ctx<'_>,
    keys: &Keys<'_>,
    ciphertext: &str,
) -> Result<zeroize::Zeroizing<Vec<u8>>, ApiError> {
    let hash = byok::oaep_hash(
        &request::string(c.body, "hash_function")?.unwrap_or_else(|| "SHA256".into()),
    )?;
    let ciphertext =
        crate::transit::b64::decode(ciphertext).map_err(|e| ApiError::bad(e.to_string()))?;
    let storage = wrapping_storage(c);
    let wrapping = Keys {
        storage: &storage,
        ..*keys
    };
    let wrec = wrapping_key(&wrapping, c.now).await?;
    let loaded = wrapping.open(&wrec, &[wrec.policy.latest_version]).await?;
    Ok(byok::unwrap(
        loaded.material(wrec.policy.latest_version)?,
        hash,
        &ciphertext,
    )?)
}

/// The `public_key` of an import without `ciphertext` (OpenBao's
/// `extractKeyFromFields` and `ImportPublicOrPrivate`): SPKI DER of a key of type
/// `kt`. The outer error is the request's (no public-key import for the type); the
/// inner one is the material's, which `import` prefixes with `error importing key: `.
fn public_import(
    kt: KeyType,
    b: &crate::http::params::Body,
    derived: bool,
) -> Result<Result<Vec<u8>, crate::transit::TransitError>, ApiError> {
    if !kt.signing_supported() {
        return Err(ApiError::bad(
            "provided type does not support public_key import",
        ));
    }
    let text = request::string(b, "public_key")?.unwrap_or_default();
    if kt == KeyType::Ed25519 && derived {
        return Ok(Err(crate::transit::TransitError::invalid(
            "unable to import only public key for derived Ed25519 key: imported key should not be an Ed25519 key pair but is instead an HKDF key",
        )));
    }
    Ok(byok::public_material(kt, &text))
}

/// `POST keys/:name/import_version` (OpenBao's `pathImportVersionWrite`): adds a
/// version to an imported key, whether or not it allows rotation, from wrapped
/// material (`ciphertext`, `hash_function`, as at import) or a public key only
/// (`public_key`, PEM, for Ed25519, ECDSA, RSA); 204. A private key whose public key
/// is the latest version's, when that version holds only its public key, completes
/// that version instead (as OpenBao); `version` names the version to complete.
/// Refused with OpenBao's texts and nothing written: a missing key (`no key found
/// with name k; to import a new key, use the import/ endpoint`), a key not imported
/// (`the import_version endpoint can only be used with an imported key`), a
/// convergent key, a bad ciphertext or material (`invalid key size 16 bytes for key
/// type aes256-gcm96`), and for `version`: `no such key version`, `provided type
/// does not support importing key versions`, `cannot add a public key to a key
/// version that already has a public key set`, `private key imported, key version
/// cannot be updated`, `cannot import key, key pair does not match`.
async fn import_version(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let name = name(c)?;
    let keys = keys(c);
    let rec = keys.read(name).await?.ok_or_else(|| {
        ApiError::bad(format!(
            "no key found with name {name}; to import a new key, use the import/ endpoint"
        ))
    })?;
    let p = &rec.policy;
    if !p.imported {
        return Err(ApiError::bad(
            "the import_version endpoint can only be used with an imported key",
        ));
    }
    if p.convergent_encryption {
        return Err(ApiError::bad(
            "import_version cannot be used on keys with convergent encryption enabled",
        ));
    }
    let kt = p.key_type;
    let (key, private) = match request::string(c.body, "ciphertext")? {
        Some(ct) => (
            byok::version_material_key(kt, &unwrap_import(c, &keys, &ct).await?)?,
            true,
        ),
        None => (
            zeroize::Zeroizing::new(public_import(kt, c.body, p.derived)??),
            false,
        ),
    };
    let rec = &rec;
    let public_only = |v: u32| async move {
        let loaded = keys.open(rec, &[v]).await?;
        Ok::<bool, ApiError>(loaded.material(v)?.is_public_only())
    };
    let mismatch = || ApiError::bad("cannot import key, key pair does not match");
    if let Some(v) = request::int(c.body, "version")? {
        let v = u32::try_from(v)
            .ok()
            .filter(|v| p.versions.contains_key(v))
            .ok_or_else(|| ApiError::bad("no such key version"))?;
        if !kt.signing_supported() {
            return Err(ApiError::bad(
                "provided type does not support importing key versions",
            ));
        }
        let missing = public_only(v).await?;
        if missing && !private {
            return Err(ApiError::bad(
                "cannot add a public key to a key version that already has a public key set",
            ));
        }
        if !missing {
            return Err(ApiError::bad(
                "private key imported, key version cannot be updated",
            ));
        }
        return match keys.complete_version(name, v, &key, c.now).await? {
            Some(true) => Ok(Reply::NoContent),
            Some(false) => Err(mismatch()),
            None => Err(ApiError::bad("no such key version")),
        };
    }
    let latest = p.latest_version;
    if private && kt.signing_supported() && public_only(latest).await? {
        // OpenBao first tries to complete the latest version, then adds one.
        if keys.complete_version(name, latest, &key, c.now).await? == Some(true) {
            return Ok(Reply::NoContent);
        }
    }
    keys.import_version(name, &key, !private, c.now)
        .await?
        .ok_or_else(|| ApiError::bad(format!("no key found with name {name}")))?;
    Ok(Reply::NoContent)
}

/// `GET export/:type/:name(/:version)` (OpenBao's `pathPolicyExportRead`):
/// `{"name", "type", "keys": {version: value}}` with the encodings of
/// [`crate::transit::export`]; all versions from `min_decryption_version` without a
/// version, else `latest`, `N` or `vN`.
async fn export_key(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let t = ExportType::parse(c.param("type"))?;
    let format = c.req.query_param("format").unwrap_or("");
    export::check_format(format)?;
    let keys = keys(c);
    let rec = keys.read(name(c)?).await?.ok_or(ApiError::NotFound)?;
    let p = &rec.policy;
    t.check(p.key_type, p.exportable)?;
    let versions: Vec<u32> = match c.param("version") {
        "" => p
            .versions
            .range(p.min_decryption_version..)
            .map(|(v, _)| *v)
            .collect(),
        v => {
            let n = if v == "latest" {
                i64::from(p.latest_version)
            } else {
                v.strip_prefix('v')
                    .unwrap_or(v)
                    .parse::<i64>()
                    .map_err(|_| ApiError::bad("invalid key version"))?
            };
            if n < i64::from(p.min_decryption_version) {
                return Err(ApiError::bad(
                    "version for export is below minimum decryption version",
                ));
            }
            let n = u32::try_from(n)
                .ok()
                .filter(|n| p.versions.contains_key(n))
                .ok_or_else(|| ApiError::bad("version does not exist or cannot be found"))?;
            vec![n]
        }
    };
    let loaded = keys.open(&rec, &versions).await?;
    let mut out = serde_json::Map::new();
    for v in versions {
        let value = export::export(p.key_type, loaded.material(v)?, t, format)?;
        out.insert(v.to_string(), Json::String(value));
    }
    Ok(envelope(
        200,
        serde_json::json!({ "name": p.name, "type": p.key_type.name(), "keys": out }),
        Vec::new(),
    ))
}

/// `GET backup/:name` (OpenBao's `pathBackupRead`, `Policy.Backup`):
/// `{"backup": base64 of OpenBao's JSON}` ([`crate::transit::backup`]), for keys with
/// both `exportable` and `allow_plaintext_backup`; records `backup_info` (time,
/// latest version) on the key first, as OpenBao. Refused with OpenBao's texts:
/// `key "k" not found`, `exporting is disallowed on the policy`, `plaintext backup
/// is disallowed on the policy`. The answer is key material (audited as any
/// response: HMAC'd).
async fn backup_key(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let name = name(c)?;
    let keys = keys(c);
    let time = crate::clock::rfc3339(c.now);
    // What Sigil cannot back up (public-key-only versions) is refused before the key
    // is stamped with backup_info: a refused backup writes nothing.
    if let Some(rec) = keys.read(name).await?
        && rec.policy.exportable
        && rec.policy.allow_plaintext_backup
    {
        let versions: Vec<u32> = rec.policy.versions.keys().copied().collect();
        let loaded = keys.open(&rec, &versions).await?;
        backup::encode(&loaded.policy, |v| loaded.material(v))?;
    }
    let (rec, ()) = keys
        .update(name, c.now, |p| {
            if !p.exportable {
                return Err(crate::transit::TransitError::invalid(
                    "exporting is disallowed on the policy",
                ));
            }
            if !p.allow_plaintext_backup {
                return Err(crate::transit::TransitError::invalid(
                    "plaintext backup is disallowed on the policy",
                ));
            }
            p.backup_info = Some(crate::transit::policy::Stamp {
                time: time.clone(),
                version: p.latest_version,
            });
            Ok((true, ()))
        })
        .await?
        .ok_or_else(|| ApiError::bad(format!("key {name:?} not found")))?;
    let versions: Vec<u32> = rec.policy.versions.keys().copied().collect();
    let loaded = keys.open(&rec, &versions).await?;
    let encoded = backup::encode(&loaded.policy, |v| loaded.material(v))?;
    Ok(envelope(
        200,
        serde_json::json!({ "backup": encoded.as_str() }),
        Vec::new(),
    ))
}

/// `POST restore` and `restore/:name` (OpenBao's `pathRestoreUpdate`,
/// `LockManager.RestorePolicy`): `backup` (required: `'backup' must be supplied`),
/// `force` (replace an existing key); the key is named `:name`, else as in the
/// backup. 204. Refused, with nothing written: an existing key without `force`
/// (`key "k" already exists`), a malformed backup or one Sigil cannot hold
/// ([`backup::parse`]), a name that is not a key name.
async fn restore_key(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let b = c.body;
    let text = request::string(b, "backup")?.unwrap_or_default();
    if text.is_empty() {
        return Err(ApiError::bad("'backup' must be supplied"));
    }
    let force = request::flag(b, "force")?;
    let mut restored = backup::parse(&text)?;
    match c.param("name") {
        "" => {}
        n => restored.policy.name = name(c).map(|_| n.to_owned())?,
    }
    let key_name = restored.policy.name.clone();
    if !valid_name(&key_name) {
        return Err(ApiError::bad(format!(
            "invalid backup: {key_name:?} is not a valid key name"
        )));
    }
    if !keys(c).restore(restored, force, c.now).await? {
        return Err(ApiError::bad(format!("key {key_name:?} already exists")));
    }
    Ok(Reply::NoContent)
}
