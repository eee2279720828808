//! The operations on a key (`encrypt`, `decrypt`, `rewrap`, `datakey`, `hmac`,
//! `sign`, `verify`), single or over `batch_input`, as OpenBao's `path_*.go` run them:
//! whole-request errors first (missing input, inconsistent contexts), then each item
//! on its own, its error reported in its place (`batch_results[i].error`) with
//! Vault's text.
//!
//! Each operation is parsed from the body ([`Op::parse`]), tells which key versions
//! it needs ([`Op::versions`], so only those are opened), and runs on the loaded key
//! ([`Op::run`]). No I/O here.

use serde_json::{Map, Value as Json, json};
use zeroize::Zeroizing;

use super::aead::{self, Mode};
use super::b64;
use super::ciphertext::{self, Kind};
use super::digest::HashAlgorithm;
use super::error::{Result, TransitError};
use super::oaep;
use super::policy::KeyPolicy;
use super::request;
use super::sign::{self, Marshaling, Options, RsaScheme, Salt};
use super::storage::Loaded;
use crate::http::params::Body;

/// One item's answer: its fields, or its error.
#[derive(Debug)]
pub struct Outcome {
    /// The item's fields (`ciphertext`, `key_version`, ...).
    pub fields: Map<String, Json>,
    /// Its error, if it failed.
    pub error: Option<TransitError>,
    /// Whether the error sets the batch's status (Vault does not count some).
    pub counted: bool,
}

impl Outcome {
    fn ok(fields: Json) -> Self {
        Self {
            fields: fields.as_object().cloned().unwrap_or_default(),
            error: None,
            counted: true,
        }
    }

    fn failed(e: TransitError, fields: Json) -> Self {
        Self {
            fields: fields.as_object().cloned().unwrap_or_default(),
            error: Some(e),
            counted: true,
        }
    }
}

/// How a batch with failed items answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchStatus {
    /// 400 when an item failed by the caller's fault, else 500 when one failed inside;
    /// `partial_failure_response_code` replaces it when some items succeeded
    /// (`encrypt`, `decrypt`).
    ByErrors,
    /// 200 whatever the items (`rewrap`, `sign`, `verify`, `hmac`).
    Always200,
}

/// An operation's answer, before it becomes a reply.
#[derive(Debug)]
pub struct Answer {
    /// The request used `batch_input`.
    pub batch: bool,
    /// One outcome per item.
    pub outcomes: Vec<Outcome>,
    /// Each item's `reference`, echoed.
    pub references: Vec<String>,
    /// The batch status rule.
    pub status: BatchStatus,
    /// `partial_failure_response_code`, if given.
    pub partial_code: Option<i64>,
}

impl Answer {
    /// The status and `data` of the reply; a single operation's failure is its error.
    pub fn finish(self) -> Result<(u16, Json)> {
        if !self.batch {
            let Some(first) = self.outcomes.into_iter().next() else {
                return Err(TransitError::Internal("no outcome"));
            };
            return match first.error {
                Some(e) => Err(e),
                None => Ok((200, Json::Object(first.fields))),
            };
        }
        let mut user = false;
        let mut internal = false;
        let mut success = false;
        let mut results = Vec::with_capacity(self.outcomes.len());
        for (o, reference) in self.outcomes.into_iter().zip(self.references) {
            let mut fields = o.fields;
            match &o.error {
                Some(e) => {
                    if o.counted {
                        if e.is_user() {
                            user = true;
                        } else {
                            internal = true;
                        }
                    }
                    fields.insert("error".into(), json!(error_text(e)));
                }
                None => success = true,
            }
            fields.insert("reference".into(), json!(reference));
            results.push(Json::Object(fields));
        }
        let mut status = 200;
        if self.status == BatchStatus::ByErrors && (user || internal) {
            status = if user { 400 } else { 500 };
            // OpenBao takes 1 to 599; an informational code (below 200) is no final
            // answer HTTP can give (API Gateway refuses it), so Sigil keeps its own.
            if let Some(code) = self.partial_code.filter(|_| success)
                && (200..=599).contains(&code)
            {
                status = u16::try_from(code).unwrap_or(status);
            }
        }
        Ok((status, json!({ "batch_results": results })))
    }
}

/// The text of an item's error (an internal one says only `internal error`).
fn error_text(e: &TransitError) -> String {
    crate::error::ApiError::from(e.clone()).to_string()
}

/// What every operation shares.
pub trait Op: Sized {
    /// Parses the request body (whole-request errors: Vault's texts).
    fn parse(body: &Body) -> Result<Self>;
    /// The key versions the operation needs opened.
    fn versions(&self, policy: &KeyPolicy) -> Vec<u32>;
    /// Runs on the loaded key.
    fn run(&self, key: &Loaded) -> Answer;
}

/// A batch item's base64 field decoded, or the item's error.
fn decode_field(v: &str) -> Result<Vec<u8>> {
    b64::decode(v).map_err(|e| TransitError::invalid(e.to_string()))
}

fn decode_context(v: &str, text: Option<&'static str>) -> Result<Vec<u8>> {
    if v.is_empty() {
        return Ok(Vec::new());
    }
    b64::decode(v)
        .map_err(|e| TransitError::invalid(text.map_or_else(|| e.to_string(), str::to_owned)))
}

fn mode(p: &KeyPolicy) -> Mode {
    Mode {
        derived: p.derived,
        convergent: p.convergent_encryption,
    }
}

/// Vault's check that either every item has a context or none has.
fn same_context(contexts: impl Iterator<Item = bool>) -> Result<bool> {
    let mut first = None;
    for set in contexts {
        match first {
            None => first = Some(set),
            Some(f) if f != set => {
                return Err(TransitError::invalid(
                    "context should be set either in all the request blocks or in none",
                ));
            }
            _ => {}
        }
    }
    Ok(first.unwrap_or(false))
}

fn references(items: &[Map<String, Json>]) -> Vec<String> {
    items
        .iter()
        .map(|i| match i.get("reference") {
            Some(Json::String(s)) => s.clone(),
            _ => String::new(),
        })
        .collect()
}

/// Encrypts `plaintext` with the version `requested` names (0: the latest), as
/// OpenBao's `EncryptWithFactory` checks it: `{"ciphertext": "vault:vN:...",
/// "key_version": N}`.
fn encrypt_one(
    key: &Loaded,
    requested: i64,
    context: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Json> {
    let p = &key.policy;
    if !p.key_type.encryption_supported() {
        return Err(TransitError::invalid(format!(
            "message encryption not supported for key type {}",
            p.key_type
        )));
    }
    let ver = p.encryption_version(requested)?;
    let m = key.material(ver)?;
    let bytes = if p.key_type.is_rsa() {
        oaep::encrypt(m, plaintext)?
    } else {
        aead::encrypt(m, mode(p), context, aad, plaintext)?
    };
    Ok(json!({
        "ciphertext": ciphertext::format(ver, &b64::encode(&bytes)),
        "key_version": ver,
    }))
}

/// An item's outcome: its fields, or its error with `on_error`'s fields.
fn outcome(r: Result<Json>, on_error: Json) -> Outcome {
    match r {
        Ok(f) => Outcome::ok(f),
        Err(e) => Outcome::failed(e, on_error),
    }
}

/// Decrypts a `vault:vN:...` ciphertext with `key` (OpenBao's `DecryptWithFactory`).
fn decrypt_one(key: &Loaded, context: &[u8], aad: &[u8], text: &str) -> Result<Zeroizing<Vec<u8>>> {
    let p = &key.policy;
    if text.is_empty() {
        return Err(TransitError::invalid("missing ciphertext to decrypt"));
    }
    if !p.key_type.encryption_supported() {
        return Err(TransitError::invalid(format!(
            "message decryption not supported for key type {}",
            p.key_type
        )));
    }
    let parsed = ciphertext::parse(text, Kind::Ciphertext)?;
    let ver = p.decryption_version(parsed.version, false)?;
    let data = b64::decode(parsed.body)
        .map_err(|_| TransitError::invalid("invalid ciphertext: could not decode base64"))?;
    let m = key.material(ver)?;
    if p.key_type.is_rsa() {
        oaep::decrypt(m, &data)
    } else {
        aead::decrypt(m, mode(p), context, aad, &data)
    }
}

fn decryption_version(p: &KeyPolicy, text: &str) -> Option<u32> {
    let parsed = ciphertext::parse(text, Kind::Ciphertext).ok()?;
    p.decryption_version(parsed.version, false).ok()
}

fn aad_of(key: &Loaded, i: usize, aad: &str) -> std::result::Result<Vec<u8>, Outcome> {
    if aad.is_empty() {
        return Ok(Vec::new());
    }
    if !key.policy.key_type.associated_data_supported() {
        // Vault reports it without counting it towards the batch's status.
        return Err(Outcome {
            fields: Map::new(),
            error: Some(TransitError::invalid(format!(
                "'[{i}].associated_data' provided for non-AEAD cipher suite {}",
                key.policy.key_type
            ))),
            counted: false,
        });
    }
    b64::decode(aad).map_err(|e| {
        Outcome::failed(
            TransitError::invalid(format!(
                "unable to get associated_data/additional_data from factory[0]: {e}"
            )),
            json!({}),
        )
    })
}

// --- encrypt ----------------------------------------------------------------------------

struct EncryptItem {
    plaintext: Result<Vec<u8>>,
    context: Result<Vec<u8>>,
    key_version: i64,
    aad: String,
}

/// `encrypt/:name`.
pub struct Encrypt {
    items: Vec<EncryptItem>,
    batch: bool,
    references: Vec<String>,
    /// Every item has a context (a key created by this request is derived).
    pub context_set: bool,
    partial_code: Option<i64>,
    /// The `type` of a key this request creates.
    pub create_type: String,
    /// `convergent_encryption` of a key this request creates.
    pub create_convergent: bool,
}

impl Op for Encrypt {
    fn parse(body: &Body) -> Result<Self> {
        let Raw {
            items: raw,
            batch,
            references,
        } = Raw::parse(body, "plaintext", "missing plaintext to encrypt", true)?;
        let context_set = same_context(raw.iter().map(|r| !r.context.is_empty()))?;
        let items = raw
            .into_iter()
            .map(|r| EncryptItem {
                plaintext: decode_field(&r.text),
                context: decode_context(&r.context, None),
                key_version: r.key_version,
                aad: r.aad,
            })
            .collect();
        Ok(Self {
            items,
            batch,
            references,
            context_set,
            partial_code: request::int(body, "partial_failure_response_code")?,
            create_type: request::string(body, "type")?.unwrap_or_else(|| "aes256-gcm96".into()),
            create_convergent: request::flag(body, "convergent_encryption")?,
        })
    }

    fn versions(&self, p: &KeyPolicy) -> Vec<u32> {
        self.items
            .iter()
            .filter_map(|i| p.encryption_version(i.key_version).ok())
            .collect()
    }

    fn run(&self, key: &Loaded) -> Answer {
        let outcomes = self
            .items
            .iter()
            .enumerate()
            .map(|(i, it)| {
                let (plaintext, context) = match (&it.plaintext, &it.context) {
                    (Err(e), _) | (_, Err(e)) => return Outcome::failed(e.clone(), json!({})),
                    (Ok(p), Ok(c)) => (p, c),
                };
                let aad = match aad_of(key, i, &it.aad) {
                    Ok(a) => a,
                    Err(o) => return o,
                };
                outcome(
                    encrypt_one(key, it.key_version, context, &aad, plaintext),
                    json!({}),
                )
            })
            .collect();
        Answer {
            batch: self.batch,
            outcomes,
            references: self.references.clone(),
            status: BatchStatus::ByErrors,
            partial_code: self.partial_code,
        }
    }
}

// --- decrypt ----------------------------------------------------------------------------

struct DecryptItem {
    ciphertext: String,
    context: Result<Vec<u8>>,
    aad: String,
    /// The version a rewrap encrypts with.
    key_version: i64,
}

/// The fields of one encrypt, decrypt or rewrap item.
struct RawItem {
    /// `plaintext` or `ciphertext`.
    text: String,
    context: String,
    key_version: i64,
    aad: String,
}

/// The items of an encrypt, decrypt or rewrap request.
struct Raw {
    items: Vec<RawItem>,
    batch: bool,
    references: Vec<String>,
}

impl Raw {
    /// Reads `batch_input`, or the body as one item. `field` is the item's text
    /// (`plaintext`, `ciphertext`), `missing` Vault's text when it is absent;
    /// `empty_ok`: an empty single text is accepted (encrypt) or missing (decrypt).
    fn parse(body: &Body, field: &str, missing: &str, empty_ok: bool) -> Result<Self> {
        if let Some(items) = request::batch(body)? {
            let mut raw = Vec::new();
            for (i, it) in items.iter().enumerate() {
                // `reference` is a string field of OpenBao's batch items: another type
                // is refused as its decoder refuses it.
                request::item_string(it, i, "reference")?;
                let text = request::item_string(it, i, field)?.ok_or_else(|| {
                    TransitError::invalid(format!(
                        "failed to parse batch input: '[{i}].{field}' {missing}"
                    ))
                })?;
                raw.push(RawItem {
                    text,
                    context: request::item_string(it, i, "context")?.unwrap_or_default(),
                    key_version: request::item_int(it, i, "key_version")?,
                    aad: request::item_string(it, i, "associated_data")?.unwrap_or_default(),
                });
            }
            return Ok(Self {
                references: references(&items),
                items: raw,
                batch: true,
            });
        }
        let text = request::string(body, field)?
            .filter(|t| empty_ok || !t.is_empty())
            .ok_or_else(|| TransitError::invalid(missing))?;
        Ok(Self {
            items: vec![RawItem {
                text,
                context: request::text(body, "context")?,
                key_version: request::int(body, "key_version")?.unwrap_or(0),
                aad: request::text(body, "associated_data")?,
            }],
            batch: false,
            references: vec![String::new()],
        })
    }
}

/// `decrypt/:name`.
pub struct Decrypt {
    items: Vec<DecryptItem>,
    batch: bool,
    references: Vec<String>,
    partial_code: Option<i64>,
}

impl Op for Decrypt {
    fn parse(body: &Body) -> Result<Self> {
        let Raw {
            items: raw,
            batch,
            references,
        } = Raw::parse(body, "ciphertext", "missing ciphertext to decrypt", false)?;
        same_context(raw.iter().map(|r| !r.context.is_empty()))?;
        Ok(Self {
            items: raw
                .into_iter()
                .map(|r| DecryptItem {
                    ciphertext: r.text,
                    context: decode_context(&r.context, None),
                    aad: r.aad,
                    key_version: r.key_version,
                })
                .collect(),
            batch,
            references,
            partial_code: request::int(body, "partial_failure_response_code")?,
        })
    }

    fn versions(&self, p: &KeyPolicy) -> Vec<u32> {
        self.items
            .iter()
            .filter_map(|i| decryption_version(p, &i.ciphertext))
            .collect()
    }

    fn run(&self, key: &Loaded) -> Answer {
        let outcomes = self
            .items
            .iter()
            .enumerate()
            .map(|(i, it)| {
                let failed = |e| Outcome::failed(e, json!({ "plaintext": "" }));
                let context = match &it.context {
                    Err(e) => return failed(e.clone()),
                    Ok(c) => c,
                };
                let aad = match aad_of(key, i, &it.aad) {
                    Ok(a) => a,
                    Err(mut o) => {
                        o.fields.insert("plaintext".into(), json!(""));
                        return o;
                    }
                };
                let plain = decrypt_one(key, context, &aad, &it.ciphertext);
                outcome(
                    plain.map(|p| json!({ "plaintext": b64::encode(&p) })),
                    json!({ "plaintext": "" }),
                )
            })
            .collect();
        Answer {
            batch: self.batch,
            outcomes,
            references: self.references.clone(),
            status: BatchStatus::ByErrors,
            partial_code: self.partial_code,
        }
    }
}

// --- rewrap -----------------------------------------------------------------------------

/// `rewrap/:name`: decrypts with the version a ciphertext names and encrypts again
/// with `key_version` (default: the latest). Vault's rewrap takes no associated data.
pub struct Rewrap(Decrypt);

impl Op for Rewrap {
    fn parse(body: &Body) -> Result<Self> {
        let mut d = Decrypt::parse(body)?;
        for it in &mut d.items {
            it.aad.clear();
        }
        Ok(Self(d))
    }

    fn versions(&self, p: &KeyPolicy) -> Vec<u32> {
        self.0
            .items
            .iter()
            .flat_map(|i| {
                [
                    decryption_version(p, &i.ciphertext),
                    p.encryption_version(i.key_version).ok(),
                ]
            })
            .flatten()
            .collect()
    }

    fn run(&self, key: &Loaded) -> Answer {
        let outcomes = self
            .0
            .items
            .iter()
            .map(|it| {
                let run = || -> Result<Json> {
                    let context = it.context.clone()?;
                    let plain = decrypt_one(key, &context, &[], &it.ciphertext)?;
                    encrypt_one(key, it.key_version, &context, &[], &plain)
                };
                outcome(run(), json!({}))
            })
            .collect();
        Answer {
            batch: self.0.batch,
            outcomes,
            references: self.0.references.clone(),
            status: BatchStatus::Always200,
            partial_code: None,
        }
    }
}

// --- datakey ----------------------------------------------------------------------------

/// `datakey/:plaintext|wrapped/:name`: a random key of `bits` (128, 256 or 512)
/// encrypted under the named key, and in plaintext unless `wrapped`.
pub struct Datakey {
    context: Vec<u8>,
    key_version: i64,
    bits: i64,
    aad: String,
    /// Whether the plaintext key is returned (`plaintext`) or not (`wrapped`).
    pub with_plaintext: bool,
}

impl Datakey {
    /// Checks the path's kind (Vault: `Invalid path, must be 'plaintext' or 'wrapped'`).
    pub fn kind(kind: &str) -> Result<bool> {
        match kind {
            "plaintext" => Ok(true),
            "wrapped" => Ok(false),
            _ => Err(TransitError::invalid(
                "Invalid path, must be 'plaintext' or 'wrapped'",
            )),
        }
    }
}

impl Op for Datakey {
    fn parse(body: &Body) -> Result<Self> {
        Ok(Self {
            context: decode_context(
                &request::text(body, "context")?,
                Some("failed to base64-decode context"),
            )?,
            key_version: request::int(body, "key_version")?.unwrap_or(0),
            bits: request::int(body, "bits")?.unwrap_or(256),
            aad: request::text(body, "associated_data")?,
            with_plaintext: true,
        })
    }

    fn versions(&self, p: &KeyPolicy) -> Vec<u32> {
        p.encryption_version(self.key_version).into_iter().collect()
    }

    fn run(&self, key: &Loaded) -> Answer {
        let p = &key.policy;
        let run = || -> Result<Json> {
            let len = match self.bits {
                128 => 16,
                256 => 32,
                512 => 64,
                _ => return Err(TransitError::invalid("invalid bit length")),
            };
            let new_key = Zeroizing::new(
                crate::crypto::random_bytes(len)
                    .map_err(|_| TransitError::Internal("random generator failed"))?,
            );
            let aad = if self.aad.is_empty() {
                Vec::new()
            } else if !p.key_type.associated_data_supported() {
                return Err(TransitError::invalid(format!(
                    "'associated_data' provided for non-AEAD cipher suite {}",
                    p.key_type
                )));
            } else {
                b64::decode(&self.aad).map_err(|e| {
                    TransitError::invalid(format!(
                        "unable to get associated_data/additional_data from factory[0]: {e}"
                    ))
                })?
            };
            let mut out = encrypt_one(key, self.key_version, &self.context, &aad, &new_key)?;
            if self.with_plaintext {
                out["plaintext"] = json!(b64::encode(&new_key));
            }
            Ok(out)
        };
        single(run())
    }
}

fn single(r: Result<Json>) -> Answer {
    Answer {
        batch: false,
        outcomes: vec![outcome(r, json!({}))],
        references: vec![String::new()],
        status: BatchStatus::Always200,
        partial_code: None,
    }
}

// --- hmac -------------------------------------------------------------------------------

/// Items of `hmac`, `sign` and `verify`: Vault reads them as maps of strings.
struct Items {
    items: Vec<Map<String, Json>>,
    batch: bool,
}

impl Items {
    fn parse(body: &Body, single: &[&str]) -> Result<Self> {
        match request::batch(body)? {
            Some(mut items) => {
                for (i, it) in items.iter_mut().enumerate() {
                    // A JSON number is Go's `json.Number`, a string kind, so
                    // mapstructure takes it as its text (`"key_version": 1`).
                    for v in it.values_mut() {
                        if let Json::Number(n) = v {
                            *v = Json::String(n.to_string());
                        }
                    }
                    for k in it.keys() {
                        request::item_string(it, i, k)?;
                    }
                }
                Ok(Self { items, batch: true })
            }
            None => {
                let mut m = Map::new();
                for f in single {
                    if let Some(v) = request::string(body, f)? {
                        m.insert((*f).to_owned(), json!(v));
                    }
                }
                Ok(Self {
                    items: vec![m],
                    batch: false,
                })
            }
        }
    }

    fn get<'a>(item: &'a Map<String, Json>, name: &str) -> Option<&'a str> {
        item.get(name).and_then(Json::as_str)
    }

    fn references(&self) -> Vec<String> {
        if self.batch {
            references(&self.items)
        } else {
            vec![String::new()]
        }
    }
}

/// `hmac/:name(/:algorithm)`.
pub struct Hmac {
    items: Items,
    key_version: i64,
    algorithm: String,
}

impl Hmac {
    /// Sets the algorithm named in the URL (it wins over the body's).
    pub fn with_url_algorithm(mut self, url: &str) -> Self {
        if !url.is_empty() {
            url.clone_into(&mut self.algorithm);
        }
        self
    }

    fn hash(&self) -> Result<HashAlgorithm> {
        // OpenBao formats the zero HashType here, not the name (`%q` of 0).
        HashAlgorithm::parse(&self.algorithm)
            .ok_or_else(|| TransitError::invalid("unsupported algorithm '\\x00'"))
    }
}

impl Op for Hmac {
    fn parse(body: &Body) -> Result<Self> {
        let items = Items::parse(body, &["input"])?;
        if !items.batch && items.items[0].get("input").is_none() {
            return Err(TransitError::invalid("missing input for HMAC"));
        }
        Ok(Self {
            items,
            key_version: request::int(body, "key_version")?.unwrap_or(0),
            algorithm: request::string(body, "algorithm")?.unwrap_or_else(|| "sha2-256".into()),
        })
    }

    fn versions(&self, p: &KeyPolicy) -> Vec<u32> {
        p.hmac_version(self.key_version).into_iter().collect()
    }

    fn run(&self, key: &Loaded) -> Answer {
        let whole = (|| -> Result<(u32, HashAlgorithm)> {
            let ver = key.policy.hmac_version(self.key_version)?;
            Ok((ver, self.hash()?))
        })();
        let outcomes = match whole {
            Err(e) => vec![Outcome::failed(e, json!({}))],
            Ok((ver, hash)) => self
                .items
                .items
                .iter()
                .map(|it| {
                    let run = || -> Result<Json> {
                        let input = Items::get(it, "input")
                            .ok_or_else(|| TransitError::invalid("missing input for HMAC"))?;
                        let input = b64::decode(input).map_err(|e| {
                            TransitError::invalid(format!("unable to decode input as base64: {e}"))
                        })?;
                        let mac = hash
                            .hmac(key.material(ver)?.hmac_key(), &input)
                            .ok_or_else(|| unsupported(hash))?;
                        Ok(json!({ "hmac": ciphertext::format(ver, &b64::encode(&mac)) }))
                    };
                    outcome(run(), json!({}))
                })
                .collect(),
        };
        Answer {
            batch: self.items.batch && outcomes.len() == self.items.items.len(),
            outcomes,
            references: self.items.references(),
            status: BatchStatus::Always200,
            partial_code: None,
        }
    }
}

fn unsupported(h: HashAlgorithm) -> TransitError {
    TransitError::invalid(format!("algorithm {} is not supported by Sigil", h.name()))
}

// --- sign and verify --------------------------------------------------------------------

fn sign_options(body: &Body, url_algorithm: &str) -> Result<Options> {
    let name = [
        url_algorithm.to_owned(),
        request::text(body, "hash_algorithm")?,
        request::text(body, "algorithm")?,
    ]
    .into_iter()
    .find(|s| !s.is_empty())
    .unwrap_or_else(|| "sha2-256".into());
    let hash = HashAlgorithm::parse(&name)
        .ok_or_else(|| TransitError::invalid(format!("invalid hash algorithm {name:?}")))?;
    let m = request::string(body, "marshaling_algorithm")?.unwrap_or_else(|| "asn1".into());
    let marshaling = Marshaling::parse(&m)
        .ok_or_else(|| TransitError::invalid(format!("invalid marshaling type {m:?}")))?;
    let prehashed = request::flag(body, "prehashed")?;
    let scheme = match request::text(body, "signature_algorithm")?.as_str() {
        "" | "pss" => RsaScheme::Pss,
        "pkcs1v15" => RsaScheme::Pkcs1v15,
        other => {
            return Err(TransitError::invalid(format!(
                "unsupported rsa signature algorithm {other}"
            )));
        }
    };
    let salt_raw = request::string(body, "salt_length")?.unwrap_or_else(|| "auto".into());
    let salt = match salt_raw.to_lowercase().as_str() {
        "auto" => Salt::Auto,
        "hash" => Salt::Hash,
        s if s.parse::<i64>().is_ok() => {
            return Err(TransitError::invalid(
                "salt_length other than \"auto\" or \"hash\" is not supported by Sigil",
            ));
        }
        _ => {
            return Err(TransitError::invalid(format!(
                "salt length neither 'auto', 'hash', nor an int: {salt_raw}"
            )));
        }
    };
    if hash == HashAlgorithm::None && (!prehashed || scheme != RsaScheme::Pkcs1v15) {
        return Err(TransitError::invalid(
            "hash_algorithm=none requires both prehashed=true and signature_algorithm=pkcs1v15",
        ));
    }
    Ok(Options {
        hash,
        prehashed,
        scheme,
        salt,
        marshaling,
    })
}

fn item_context(it: &Map<String, Json>) -> Result<Vec<u8>> {
    decode_context(
        Items::get(it, "context").unwrap_or(""),
        Some("failed to base64-decode context"),
    )
}

fn item_input(it: &Map<String, Json>, batch: bool) -> Result<Vec<u8>> {
    let input = match Items::get(it, "input") {
        Some(i) => i,
        None if batch => return Err(TransitError::invalid("missing input")),
        None => "",
    };
    b64::decode(input)
        .map_err(|e| TransitError::invalid(format!("unable to decode input as base64: {e}")))
}

/// `sign/:name(/:algorithm)`.
pub struct Sign {
    items: Items,
    key_version: i64,
    options: Result<Options>,
    body: Body,
}

impl Sign {
    /// Sets the hash algorithm named in the URL.
    pub fn with_url_algorithm(mut self, url: &str) -> Self {
        self.options = sign_options(&self.body, url);
        self
    }

    /// Whether the key can sign (Vault: `key type X does not support signing`),
    /// checked before the options, as Vault does.
    pub fn check(&self, p: &KeyPolicy) -> Result<Options> {
        let options = self.options.clone()?;
        if !p.key_type.signing_supported() {
            return Err(TransitError::invalid(format!(
                "key type {} does not support signing",
                p.key_type
            )));
        }
        Ok(options)
    }
}

impl Op for Sign {
    fn parse(body: &Body) -> Result<Self> {
        let options = sign_options(body, "");
        if let Err(e) = &options
            && !matches!(e, TransitError::Invalid(m) if m.starts_with("hash_algorithm=none"))
        {
            return Err(e.clone());
        }
        Ok(Self {
            items: Items::parse(body, &["input", "context"])?,
            key_version: request::int(body, "key_version")?.unwrap_or(0),
            options,
            body: body.clone(),
        })
    }

    fn versions(&self, p: &KeyPolicy) -> Vec<u32> {
        p.signing_version(self.key_version).into_iter().collect()
    }

    fn run(&self, key: &Loaded) -> Answer {
        let p = &key.policy;
        let outcomes = match self.check(p) {
            Err(e) => vec![Outcome::failed(e, json!({}))],
            Ok(opts) => self
                .items
                .items
                .iter()
                .map(|it| {
                    let run = || -> Result<Json> {
                        let input = item_input(it, self.items.batch)?;
                        let context = item_context(it)?;
                        let ver = p.signing_version(self.key_version)?;
                        let s = sign::sign(key.material(ver)?, p.derived, &context, &input, &opts)?;
                        let mut out = json!({
                            "signature": ciphertext::format(ver, &sign::encode(&s.signature, opts.marshaling)),
                            "key_version": ver,
                        });
                        if let Some(pk) = s.public_key {
                            let field = if self.items.batch { "publickey" } else { "public_key" };
                            out[field] = json!(b64::encode(&pk));
                        }
                        Ok(out)
                    };
                    outcome(run(), json!({ "key_version": 0 }))
                })
                .collect(),
        };
        Answer {
            batch: self.items.batch && outcomes.len() == self.items.items.len(),
            outcomes,
            references: self.items.references(),
            status: BatchStatus::Always200,
            partial_code: None,
        }
    }
}

/// `verify/:name(/:algorithm)`: a signature, or an HMAC.
pub struct Verify {
    items: Items,
    hmac: bool,
    options: Result<Options>,
    body: Body,
    url_algorithm: String,
}

impl Verify {
    /// Sets the hash algorithm named in the URL.
    pub fn with_url_algorithm(mut self, url: &str) -> Self {
        url.clone_into(&mut self.url_algorithm);
        self.options = sign_options(&self.body, url);
        self
    }

    /// Whether the key can verify: an HMAC any key can; a signature needs a signing
    /// key (Vault: `key type X does not support verification`).
    pub fn check(&self, p: &KeyPolicy) -> Result<()> {
        if self.hmac {
            self.hmac_hash()?;
            return Ok(());
        }
        if !p.key_type.signing_supported() {
            return Err(TransitError::invalid(format!(
                "key type {} does not support verification",
                p.key_type
            )));
        }
        self.options.clone().map(|_| ())
    }

    fn hmac_hash(&self) -> Result<HashAlgorithm> {
        let name = [
            self.url_algorithm.clone(),
            request::text(&self.body, "hash_algorithm")?,
            request::text(&self.body, "algorithm")?,
        ]
        .into_iter()
        .find(|s| !s.is_empty())
        .unwrap_or_else(|| "sha2-256".into());
        HashAlgorithm::parse(&name)
            .ok_or_else(|| TransitError::invalid(format!("invalid hash algorithm {name:?}")))
    }

    fn verify_hmac(&self, key: &Loaded, it: &Map<String, Json>) -> Result<Json> {
        let p = &key.policy;
        let input =
            Items::get(it, "input").ok_or_else(|| TransitError::invalid("missing input"))?;
        let input = b64::decode(input)
            .map_err(|e| TransitError::invalid(format!("unable to decode input as base64: {e}")))?;
        let mac = Items::get(it, "hmac").ok_or_else(|| TransitError::invalid("missing hmac"))?;
        let parsed = ciphertext::parse(mac, Kind::Hmac)?;
        let given = b64::decode(parsed.body).map_err(|e| {
            TransitError::invalid(format!("unable to decode verification HMAC as base64: {e}"))
        })?;
        let ver = p.hmac_verify_version(parsed.version)?;
        let hash = self.hmac_hash()?;
        let want = hash
            .hmac(key.material(ver)?.hmac_key(), &input)
            .ok_or_else(|| unsupported(hash))?;
        let valid = aws_lc_rs::constant_time::verify_slices_are_equal(&want, &given).is_ok();
        // `valid` is omitted when false in batch answers (Go's omitempty).
        Ok(if valid || !self.items.batch {
            json!({ "valid": valid })
        } else {
            json!({})
        })
    }

    fn verify_signature(
        &self,
        key: &Loaded,
        it: &Map<String, Json>,
        opts: &Options,
    ) -> Result<Json> {
        let p = &key.policy;
        let input = item_input(it, self.items.batch)?;
        let sig = Items::get(it, "signature")
            .ok_or_else(|| TransitError::invalid("missing signature"))?;
        let context = item_context(it)?;
        let parsed = ciphertext::parse(sig, Kind::Signature)?;
        let ver = p.decryption_version(parsed.version, true)?;
        let bytes = sign::decode(parsed.body, opts.marshaling)?;
        let valid = sign::verify(
            key.material(ver)?,
            p.derived,
            &context,
            &input,
            &bytes,
            opts,
        )?;
        Ok(json!({ "valid": valid }))
    }
}

impl Op for Verify {
    fn parse(body: &Body) -> Result<Self> {
        let items = Items::parse(body, &["input", "signature", "hmac", "context"])?;
        let (mut sig, mut hmac, mut missing) = (false, false, false);
        for it in &items.items {
            if it.contains_key("signature") {
                sig = true;
            } else if it.contains_key("hmac") {
                hmac = true;
            } else {
                missing = true;
            }
        }
        let msg = match () {
            // OpenBao's `sig && hmac` check on a single item never fires (an item with
            // both counts as a signature), so neither does Sigil's.
            _ if !items.batch && !sig && !hmac => {
                "neither a 'signature' nor an 'hmac' were given to verify"
            }
            _ if sig && hmac => {
                "elements of batch_input must all provide 'signature' or all provide 'hmac'"
            }
            _ if missing && sig => "some elements of batch_input are missing 'signature'",
            _ if missing && hmac => "some elements of batch_input are missing 'hmac'",
            _ if missing => "no batch_input elements have 'signature' or 'hmac'",
            _ => "",
        };
        if !msg.is_empty() {
            return Err(TransitError::invalid(msg));
        }
        let options = if hmac {
            Ok(sign_options_lenient(body))
        } else {
            sign_options(body, "")
        };
        if let Err(e) = &options
            && !matches!(e, TransitError::Invalid(m) if m.starts_with("hash_algorithm=none"))
        {
            return Err(e.clone());
        }
        Ok(Self {
            items,
            hmac,
            options,
            body: body.clone(),
            url_algorithm: String::new(),
        })
    }

    fn versions(&self, p: &KeyPolicy) -> Vec<u32> {
        self.items
            .items
            .iter()
            .filter_map(|it| {
                let text = Items::get(it, if self.hmac { "hmac" } else { "signature" })?;
                let kind = if self.hmac {
                    Kind::Hmac
                } else {
                    Kind::Signature
                };
                let parsed = ciphertext::parse(text, kind).ok()?;
                if self.hmac {
                    p.hmac_verify_version(parsed.version).ok()
                } else {
                    p.decryption_version(parsed.version, true).ok()
                }
            })
            .collect()
    }

    fn run(&self, key: &Loaded) -> Answer {
        let outcomes = match self.check(&key.policy) {
            Err(e) => vec![Outcome::failed(e, json!({}))],
            Ok(()) => self
                .items
                .items
                .iter()
                .map(|it| {
                    let r = match (&self.options, self.hmac) {
                        (_, true) => self.verify_hmac(key, it),
                        (Ok(o), false) => self.verify_signature(key, it, o),
                        (Err(e), false) => Err(e.clone()),
                    };
                    outcome(
                        r,
                        if self.hmac {
                            json!({})
                        } else {
                            json!({ "valid": false })
                        },
                    )
                })
                .collect(),
        };
        Answer {
            batch: self.items.batch && outcomes.len() == self.items.items.len(),
            outcomes,
            references: self.items.references(),
            status: BatchStatus::Always200,
            partial_code: None,
        }
    }
}

/// HMAC verification takes no signature options; defaults stand in.
fn sign_options_lenient(_: &Body) -> Options {
    Options::default()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;
    use crate::transit::key_type::KeyType;
    use crate::transit::material::Material;
    use crate::transit::policy::{CreateOptions, VersionMeta};

    fn key(kt: KeyType, derived: bool) -> Loaded {
        let opts = CreateOptions::check(kt.name(), derived, false, false, false, 0, 0).unwrap();
        let meta = VersionMeta {
            created: 0,
            public_key: None,
        };
        let mut policy = KeyPolicy::new("k", &opts, meta.clone());
        policy.push_version(meta);
        let materials = (1..=2u8)
            .map(|v| {
                let m = Material::from_parts(kt, Zeroizing::new(vec![v; 32]), &[v; 32]).unwrap();
                (u32::from(v), Arc::new(m))
            })
            .collect::<BTreeMap<_, _>>();
        Loaded::from_parts(policy, materials)
    }

    fn body(v: Json) -> Body {
        v.as_object().cloned().unwrap()
    }

    fn answer<O: Op>(key: &Loaded, b: Json) -> Result<(u16, Json)> {
        O::parse(&body(b))?.run(key).finish()
    }

    #[test]
    fn encrypt_then_decrypt_single_and_batch() {
        for (kt, derived) in [
            (KeyType::Aes256Gcm96, false),
            (KeyType::ChaCha20Poly1305, true),
        ] {
            let k = key(kt, derived);
            let ctx = if derived { "eA==" } else { "" };
            let (s, d) =
                answer::<Encrypt>(&k, json!({"plaintext": "aGVsbG8=", "context": ctx})).unwrap();
            assert_eq!((s, &d["key_version"]), (200, &json!(2)));
            let (_, p) =
                answer::<Decrypt>(&k, json!({"ciphertext": d["ciphertext"], "context": ctx}))
                    .unwrap();
            assert_eq!(p["plaintext"], "aGVsbG8=");
            let (s, b) = answer::<Decrypt>(
                &k,
                json!({"batch_input": [{"ciphertext": d["ciphertext"], "context": ctx, "reference": "r"},
                                       {"ciphertext": "vault:v1", "context": ctx}]}),
            )
            .unwrap();
            assert_eq!(s, 400);
            assert_eq!(b["batch_results"][0]["reference"], "r");
            assert_eq!(
                b["batch_results"][1]["error"],
                "invalid ciphertext: wrong number of fields"
            );
            assert_eq!(b["batch_results"][1]["plaintext"], "");
        }
    }

    #[test]
    fn batch_items_take_numbers_as_text_and_refuse_other_references() {
        // Every key type HMACs with its version's HMAC key.
        let k = key(KeyType::Aes256Gcm96, false);
        // OpenBao's hmac/sign/verify items are maps of strings; a JSON number is its
        // text (Go's json.Number), as OpenBao answers 200.
        let (s, b) = answer::<Hmac>(
            &k,
            json!({"batch_input": [{"input": "aGk=", "key_version": 1, "reference": 7}]}),
        )
        .unwrap();
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["batch_results"][0]["reference"], "7");
        assert!(
            b["batch_results"][0]["hmac"]
                .as_str()
                .unwrap()
                .starts_with("vault:v")
        );
        for bad in [json!({}), json!([1]), json!(true)] {
            let e = answer::<Hmac>(
                &k,
                json!({"batch_input": [{"input": "aGk=", "reference": bad}]}),
            )
            .unwrap_err();
            assert!(
                e.to_string()
                    .contains("'[0].reference' expected type 'string'"),
                "{e}"
            );
            let aes = key(KeyType::Aes256Gcm96, false);
            let e = answer::<Encrypt>(
                &aes,
                json!({"batch_input": [{"plaintext": "aGk=", "reference": bad}]}),
            )
            .unwrap_err();
            assert!(
                e.to_string()
                    .contains("'[0].reference' expected type 'string'"),
                "{e}"
            );
        }
    }

    #[test]
    fn partial_failure_code_applies_only_with_successes() {
        let k = key(KeyType::Aes256Gcm96, false);
        let b = |items: Json| json!({"batch_input": items, "partial_failure_response_code": 207});
        let (s, _) = answer::<Encrypt>(
            &k,
            b(json!([{"plaintext": "aGVsbG8="}, {"plaintext": "!"}])),
        )
        .unwrap();
        assert_eq!(s, 207);
        let (s, _) = answer::<Encrypt>(&k, b(json!([{"plaintext": "!"}]))).unwrap();
        assert_eq!(s, 400);
        // No informational status: HTTP has no final answer below 200.
        for code in [99, 101, 150, 199, 600] {
            let body = json!({"batch_input": [{"plaintext": "aGVsbG8="}, {"plaintext": "!"}],
                "partial_failure_response_code": code});
            let (s, _) = answer::<Encrypt>(&k, body).unwrap();
            assert_eq!(s, 400, "{code}");
        }
    }

    proptest::proptest! {
        /// Any text as a ciphertext, signature or HMAC is answered or refused, never a
        /// panic (the fuzz target `transit_decrypt` explores further).
        #[test]
        fn arbitrary_ciphertexts_never_panic(text in ".{0,80}", version in 0u8..5, body in "[A-Za-z0-9+/=]{0,60}") {
            let aes = key(KeyType::Aes256Gcm96, false);
            let ed = key(KeyType::Ed25519, false);
            for t in [text.clone(), format!("vault:v{version}:{body}")] {
                let _ = answer::<Decrypt>(&aes, json!({"ciphertext": t}));
                let _ = answer::<Rewrap>(&aes, json!({"batch_input": [{"ciphertext": t}]}));
                let _ = answer::<Verify>(&ed, json!({"input": "aGVsbG8=", "signature": t}));
                let _ = answer::<Verify>(&aes, json!({"input": "aGVsbG8=", "hmac": t}));
            }
        }
    }
}
