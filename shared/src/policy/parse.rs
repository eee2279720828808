//! Policy text (HCL or JSON, Vault's syntax) to [`Policy`].
//!
//! HCL is parsed with `hcl-rs` (its `hcl-edit` parser, for the source spans that give
//! error lines), JSON with `serde_json`; both are reduced to the same list of
//! `path` blocks and checked by one function, so the two syntaxes accept exactly the
//! same policies. Validation follows Vault's `vault/policy.go` (`parsePaths`), with the
//! stricter checks listed in `docs/policies.md`.

use std::collections::BTreeMap;
use std::fmt;

use hcl::edit::Span;
use serde_json::Value;

use super::capability::{Capabilities, Capability};
use super::params;

/// Largest policy text accepted, in bytes (64 KiB).
pub const MAX_POLICY_BYTES: usize = 64 * 1024;

/// Most `path` rules one policy may hold.
pub const MAX_PATH_RULES: usize = 1_000;

/// Name of the built-in policy that grants everything (Vault's `root`).
pub const ROOT_POLICY_NAME: &str = "root";

/// Name of the built-in policy attached to tokens by default (Vault's `default`).
pub const DEFAULT_POLICY_NAME: &str = "default";

/// Sigil's built-in `default` policy (HCL): what every token may do to itself. It is the
/// self-service part of Vault's own default policy: look the token up, renew it, revoke
/// it, ask for its capabilities on a path, look up and renew leases, wrap values and
/// look up and unwrap wrapping tokens.
pub const DEFAULT_POLICY: &str = r#"# Sigil's built-in "default" policy (the self-service part of Vault's).

# Allow tokens to look up their own properties
path "auth/token/lookup-self" {
  capabilities = ["read"]
}

# Allow tokens to renew themselves
path "auth/token/renew-self" {
  capabilities = ["update"]
}

# Allow tokens to revoke themselves
path "auth/token/revoke-self" {
  capabilities = ["update"]
}

# Allow a token to look up its own capabilities on a path
path "sys/capabilities-self" {
  capabilities = ["update"]
}

# Allow looking up lease properties. This requires knowing the lease ID ahead of
# time and does not divulge any sensitive information.
path "sys/leases/lookup" {
  capabilities = ["update"]
}

# Allow a token to renew a lease via lease_id in the request body
path "sys/leases/renew" {
  capabilities = ["update"]
}

# Allow a token to wrap arbitrary values in a response-wrapping token
path "sys/wrapping/wrap" {
  capabilities = ["update"]
}

# Allow a token to look up the creation time and TTL of a given
# response-wrapping token
path "sys/wrapping/lookup" {
  capabilities = ["update"]
}

# Allow a token to unwrap a response-wrapping token. This is a convenience to
# avoid client token swapping since this is also part of the response wrapping
# policy.
path "sys/wrapping/unwrap" {
  capabilities = ["update"]
}
"#;

/// Name of the built-in policy of wrapping tokens (Vault's `response-wrapping`): it
/// cannot be written, deleted or given to a token.
pub const RESPONSE_WRAPPING_POLICY_NAME: &str = "response-wrapping";

/// The built-in `response-wrapping` policy (HCL): a wrapping token may unwrap itself,
/// or revoke itself. (Vault's also grants `cubbyhole/response`; Sigil has no
/// cubbyhole.)
pub const RESPONSE_WRAPPING_POLICY: &str = r#"# Sigil's built-in "response-wrapping" policy.

path "sys/wrapping/unwrap" {
  capabilities = ["update"]
}

path "auth/token/revoke-self" {
  capabilities = ["update"]
}
"#;

/// One `path "..." { ... }` rule of a policy.
#[derive(Clone, Debug, PartialEq)]
pub struct PathRule {
    /// The path as written, without a leading `/`: exact (`secret/data/app`), a prefix
    /// glob ending in `*` (`secret/data/*`), and/or with `+` segments (`secret/+/app`).
    pub path: String,
    /// Granted capabilities. A rule that lists `deny` holds only `deny` (Vault drops the
    /// others when it parses the rule).
    pub capabilities: Capabilities,
    /// `required_parameters`: names that must be present in the request body.
    pub required_parameters: Vec<String>,
    /// `allowed_parameters`: name (lower case, or `"*"`) to allowed values (`[]`: any).
    pub allowed_parameters: BTreeMap<String, Vec<Value>>,
    /// `denied_parameters`: name (lower case, or `"*"`) to denied values (`[]`: any).
    pub denied_parameters: BTreeMap<String, Vec<Value>>,
    /// `min_wrapping_ttl`, seconds (0: none): a request on the path must ask for
    /// response wrapping with at least this TTL.
    pub min_wrapping_ttl: i64,
    /// `max_wrapping_ttl`, seconds (0: none): a request on the path must ask for
    /// response wrapping with at most this TTL.
    pub max_wrapping_ttl: i64,
}

/// A named, parsed policy: its path rules in the order written.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    /// The policy's name (as given to [`parse`]).
    pub name: String,
    /// The `path` rules, in source order (identical paths are merged later, by
    /// [`Acl::new`](super::Acl::new)).
    pub rules: Vec<PathRule>,
}

impl Policy {
    /// Whether any rule's path holds identity templates ([`super::template`]).
    pub fn is_templated(&self) -> bool {
        self.rules.iter().any(|r| r.path.contains("{{"))
    }

    /// The policy for a token of `identity` (`None`: no entity): each templated path
    /// resolved ([`super::template::resolve`]; `allow_slashes` is the stored policy's
    /// `allow_slashes_in_identity_templates`), a rule whose template does not resolve
    /// dropped (it matches nothing). Rules without templates are kept as they are.
    pub fn resolve(
        &self,
        identity: Option<&dyn super::template::TemplateSource>,
        allow_slashes: bool,
    ) -> Policy {
        let rules = self
            .rules
            .iter()
            .filter_map(|rule| {
                if !rule.path.contains("{{") {
                    return Some(rule.clone());
                }
                let path = super::template::resolve(&rule.path, identity, allow_slashes)?;
                Some(PathRule {
                    path,
                    ..rule.clone()
                })
            })
            .collect();
        Policy {
            name: self.name.clone(),
            rules,
        }
    }
}

/// Why a policy text was refused, with the 1-based line it concerns when known.
///
/// Displays as `line 3: unknown capability "reed" in path "secret/*"`, or just the
/// reason when there is no line.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[error("{}", render(.line, .reason))]
pub struct PolicyError {
    /// 1-based line: of the syntax error (as reported by hcl-rs or serde_json), or of
    /// the `path` block / key a semantic error is about.
    pub line: Option<usize>,
    /// What is wrong, naming the offending value.
    pub reason: String,
}

fn render(line: &Option<usize>, reason: &str) -> String {
    match line {
        Some(line) => format!("line {line}: {reason}"),
        None => reason.to_owned(),
    }
}

impl PolicyError {
    fn new(line: Option<usize>, reason: impl Into<String>) -> Self {
        PolicyError {
            line,
            reason: reason.into(),
        }
    }
}

/// Parses a policy written in HCL or JSON (Vault's policy syntax).
///
/// The text is taken as JSON when, trimmed, it starts with `{` and parses as JSON;
/// otherwise as HCL. Shapes:
///
/// ```hcl
/// path "secret/data/*" {
///   capabilities = ["read", "list"]          # or the old `policy = "read"`
///   required_parameters = ["version"]
///   allowed_parameters  = { "ttl" = ["1h", "2h"], "*" = [] }
///   denied_parameters   = { "admin" = [] }
/// }
/// ```
///
/// or `{"path": {"secret/data/*": {"capabilities": ["read", "list"]}}}`. A top-level
/// `name` is ignored; `min_wrapping_ttl` and `max_wrapping_ttl` (durations) bound the
/// response wrapping a request on the path must ask for; `mfa_methods`,
/// `control_group` and `comment` inside a path are accepted and ignored.
///
/// # Errors
/// [`PolicyError`] for: text over [`MAX_POLICY_BYTES`]; an HCL or JSON syntax error
/// (with the parser's line); no `path` rule, or more than [`MAX_PATH_RULES`]; and, with
/// the line of the `path` block, an unknown key, a value of the wrong type, an unknown
/// capability or old-style `policy`, a rule with no capabilities, a misplaced `*` or
/// `+`, unpaired template braces (`{{`, `}}`), or an invalid parameter key. Templated
/// paths are kept as written; [`Policy::resolve`] resolves them per identity. The name `root` is
/// refused: that policy is built in.
pub fn parse(name: &str, text: &str) -> Result<Policy, PolicyError> {
    if text.len() > MAX_POLICY_BYTES {
        return Err(PolicyError::new(
            None,
            format!(
                "policy is {} bytes; the limit is {MAX_POLICY_BYTES}",
                text.len()
            ),
        ));
    }
    if name == ROOT_POLICY_NAME {
        return Err(PolicyError::new(
            None,
            "the \"root\" policy is built in and cannot be defined",
        ));
    }
    let trimmed = text.trim_start();
    let blocks = if trimmed.starts_with('{') {
        // serde_json keeps the last of duplicate keys; a dropped `deny` would grant.
        if let Err(err) = serde_json::from_str::<NoDuplicateKeys>(text) {
            return Err(json_syntax_error(&err));
        }
        match serde_json::from_str::<Value>(text) {
            Ok(json) => json_blocks(text, json)?,
            // Text starting with `{` is never valid HCL, so the JSON error is the useful one.
            Err(err) => return Err(json_syntax_error(&err)),
        }
    } else {
        hcl_blocks(text)?
    };
    if blocks.is_empty() {
        return Err(PolicyError::new(None, "policy has no path rules"));
    }
    if blocks.len() > MAX_PATH_RULES {
        return Err(PolicyError::new(
            blocks[MAX_PATH_RULES].line,
            format!(
                "policy has {} path rules; the limit is {MAX_PATH_RULES}",
                blocks.len()
            ),
        ));
    }
    let rules = blocks
        .into_iter()
        .map(|b| {
            let line = b.line;
            build_rule(b).map_err(|reason| PolicyError::new(line, reason))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Policy {
        name: name.to_owned(),
        rules,
    })
}

/// A JSON document whose objects have no duplicate keys (it deserializes from any such
/// document, and fails naming the first duplicate).
struct NoDuplicateKeys;

impl<'de> serde::Deserialize<'de> for NoDuplicateKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NoDuplicateKeysVisitor)
    }
}

struct NoDuplicateKeysVisitor;

impl<'de> serde::de::Visitor<'de> for NoDuplicateKeysVisitor {
    type Value = NoDuplicateKeys;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<NoDuplicateKeys>()?.is_some() {}
        Ok(NoDuplicateKeys)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(serde::de::Error::custom(format!("duplicate key {key:?}")));
            }
            map.next_value::<NoDuplicateKeys>()?;
        }
        Ok(NoDuplicateKeys)
    }
}

/// A `path` block reduced to its label and its entries, whatever the syntax.
struct RawBlock {
    line: Option<usize>,
    path: String,
    entries: Vec<(String, Entry)>,
}

/// An entry of a path block: a literal value, or something that is not one (an HCL
/// expression using variables or functions, or a nested block), kept as a description
/// for the error message in case the key needs a value.
enum Entry {
    Value(Value),
    NotLiteral(&'static str),
}

const IGNORED_KEYS: [&str; 3] = ["comment", "mfa_methods", "control_group"];

/// A wrapping TTL of a path rule: integer seconds or a duration string (Vault's
/// `ParseDurationSecond`).
fn wrapping_ttl(key: &str, value: &Value) -> Result<i64, String> {
    crate::http::params::parse_duration(value).map_err(|e| match value {
        Value::String(s) if s.len() <= 64 => {
            format!("error parsing {key}: invalid duration {s:?}")
        }
        _ => format!("error parsing {key}: {e}"),
    })
}

fn build_rule(block: RawBlock) -> Result<PathRule, String> {
    let path = block
        .path
        .strip_prefix('/')
        .unwrap_or(&block.path)
        .to_owned();
    let at = |what: String| format!("{what} in path {path:?}");
    check_path(&path).map_err(at)?;

    let mut capabilities = Capabilities::NONE;
    let mut required = Vec::new();
    let mut allowed = BTreeMap::new();
    let mut denied = BTreeMap::new();
    let (mut min_wrapping_ttl, mut max_wrapping_ttl) = (0, 0);
    let mut seen: Vec<&str> = Vec::new();
    for (key, entry) in &block.entries {
        if seen.contains(&key.as_str()) {
            return Err(at(format!("duplicate key {key:?}")));
        }
        seen.push(key);
        if IGNORED_KEYS.contains(&key.as_str()) {
            continue;
        }
        let value = match entry {
            Entry::Value(v) => v,
            Entry::NotLiteral(what) => {
                return Err(at(format!("{key:?} must be a literal value, not {what}")));
            }
        };
        match key.as_str() {
            "capabilities" => {
                for name in string_list(key, value).map_err(at)? {
                    let c: Capability = name.parse().map_err(|e| at(format!("{e}")))?;
                    capabilities.insert(c);
                }
            }
            "policy" => {
                let Value::String(old) = value else {
                    return Err(at("\"policy\" must be a string".to_owned()));
                };
                capabilities = capabilities.union(old_policy(old).map_err(at)?);
            }
            "required_parameters" => {
                for name in string_list(key, value).map_err(at)? {
                    params::validate_key(name, false)
                        .map_err(|e| at(format!("required_parameters: {e}")))?;
                    required.push(name.to_owned());
                }
            }
            "allowed_parameters" => allowed = param_map(key, value).map_err(at)?,
            "denied_parameters" => denied = param_map(key, value).map_err(at)?,
            "min_wrapping_ttl" => min_wrapping_ttl = wrapping_ttl(key, value).map_err(at)?,
            "max_wrapping_ttl" => max_wrapping_ttl = wrapping_ttl(key, value).map_err(at)?,
            other => return Err(at(format!("unknown key {other:?}"))),
        }
    }
    if capabilities.is_empty() {
        return Err(at(
            "no capabilities (set \"capabilities\" or \"policy\")".to_owned()
        ));
    }
    if capabilities.is_deny() {
        // Vault keeps only deny when a rule lists it.
        capabilities = Capability::Deny.into();
    }
    if min_wrapping_ttl != 0 && max_wrapping_ttl != 0 && max_wrapping_ttl < min_wrapping_ttl {
        return Err(at(
            "max_wrapping_ttl cannot be less than min_wrapping_ttl".to_owned()
        ));
    }
    Ok(PathRule {
        path,
        capabilities,
        required_parameters: required,
        allowed_parameters: allowed,
        denied_parameters: denied,
        min_wrapping_ttl,
        max_wrapping_ttl,
    })
}

/// Checks a rule path (leading `/` already stripped): not empty, `{{` and `}}` paired
/// (identity templates, [`super::template`]), and, with each template taken as one
/// literal, `*` only as the last character, `+` only as a whole segment and not
/// followed by `*`.
fn check_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("empty path".to_owned());
    }
    if path.contains("{{") || path.contains("}}") {
        let skeleton = super::template::skeleton(path).map_err(str::to_owned)?;
        return check_shape(&skeleton);
    }
    check_shape(path)
}

/// The `*` and `+` rules of [`check_path`].
fn check_shape(path: &str) -> Result<(), String> {
    let body = path.strip_suffix('*').unwrap_or(path);
    if body.contains('*') {
        return Err("\"*\" is only allowed as the last character".to_owned());
    }
    if body.contains('+') {
        let segments: Vec<&str> = body.split('/').collect();
        if segments.iter().any(|s| s.contains('+') && *s != "+") {
            return Err("\"+\" must be a whole path segment".to_owned());
        }
        if path.ends_with("+*") {
            return Err("\"+*\" is not allowed (use \"+/*\" or \"+\")".to_owned());
        }
    }
    Ok(())
}

/// Vault's old-style `policy = "..."` shorthand.
fn old_policy(name: &str) -> Result<Capabilities, String> {
    use Capability::*;
    let caps: &[Capability] = match name {
        "deny" => &[Deny],
        "read" => &[Read, List],
        "write" => &[Create, Read, Update, Delete, List],
        "sudo" => &[Create, Read, Update, Delete, List, Sudo],
        other => {
            return Err(format!(
                "invalid policy {other:?} (expected deny, read, write or sudo)"
            ));
        }
    };
    Ok(caps.iter().copied().collect())
}

fn string_list<'a>(key: &str, value: &'a Value) -> Result<Vec<&'a str>, String> {
    let err = || format!("{key:?} must be a list of strings");
    let Value::Array(items) = value else {
        return Err(err());
    };
    items.iter().map(|v| v.as_str().ok_or_else(err)).collect()
}

fn param_map(key: &str, value: &Value) -> Result<BTreeMap<String, Vec<Value>>, String> {
    let Value::Object(map) = value else {
        return Err(format!(
            "{key:?} must be a map of parameter names to lists of values"
        ));
    };
    let mut out = BTreeMap::new();
    for (name, values) in map {
        params::validate_key(name, true).map_err(|e| format!("{key}: {e}"))?;
        let Value::Array(values) = values else {
            return Err(format!(
                "{key}: the value of {name:?} must be a list (use [] for any value)"
            ));
        };
        if name == "*" && !values.is_empty() {
            return Err(format!("{key}: the only value allowed for \"*\" is []"));
        }
        // Vault lowercases parameter names; two spellings of one name merge.
        let entry: &mut Vec<Value> = out.entry(name.to_lowercase()).or_default();
        entry.extend(values.iter().cloned());
    }
    Ok(out)
}

// ---- HCL ----

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(offset)
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn hcl_blocks(text: &str) -> Result<Vec<RawBlock>, PolicyError> {
    let body = hcl::edit::parser::parse_body(text).map_err(|e| {
        PolicyError::new(
            Some(e.location().line()),
            format!(
                "invalid HCL at column {}: {}",
                e.location().column(),
                e.message()
            ),
        )
    })?;
    let mut blocks = Vec::new();
    for structure in body {
        let line = structure.span().map(|s| line_of(text, s.start));
        match hcl::Structure::from(structure) {
            hcl::Structure::Attribute(attr) if attr.key.as_str() == "name" => {}
            hcl::Structure::Attribute(attr) => {
                return Err(PolicyError::new(
                    line,
                    format!("unknown top-level key {:?}", attr.key.as_str()),
                ));
            }
            hcl::Structure::Block(block) if block.identifier.as_str() == "path" => {
                blocks.push(hcl_path_block(line, block)?);
            }
            hcl::Structure::Block(block) => {
                return Err(PolicyError::new(
                    line,
                    format!(
                        "unknown top-level block {:?} (expected path)",
                        block.identifier.as_str()
                    ),
                ));
            }
        }
    }
    Ok(blocks)
}

fn hcl_path_block(line: Option<usize>, block: hcl::Block) -> Result<RawBlock, PolicyError> {
    let path = match block.labels.as_slice() {
        [label] => label.as_str().to_owned(),
        _ => {
            return Err(PolicyError::new(
                line,
                "a path block takes exactly one label: path \"secret/*\" { ... }",
            ));
        }
    };
    let entries = block
        .body
        .into_iter()
        .map(|s| match s {
            hcl::Structure::Attribute(attr) => {
                let entry = match hcl_literal(&attr.expr) {
                    Ok(v) => Entry::Value(v),
                    Err(what) => Entry::NotLiteral(what),
                };
                (attr.key.as_str().to_owned(), entry)
            }
            hcl::Structure::Block(b) => (
                b.identifier.as_str().to_owned(),
                Entry::NotLiteral("a block"),
            ),
        })
        .collect();
    Ok(RawBlock {
        line,
        path,
        entries,
    })
}

/// Converts a literal HCL expression (null, bool, number, string, list, object) to
/// JSON; anything else (variables, functions, templates with interpolation, ...) is
/// refused with a short description.
fn hcl_literal(expr: &hcl::Expression) -> Result<Value, &'static str> {
    use hcl::Expression as E;
    Ok(match expr {
        E::Null => Value::Null,
        E::Bool(b) => Value::Bool(*b),
        E::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .ok_or("a non-finite number")?
            }
        }
        E::String(s) => Value::String(s.clone()),
        E::Array(items) => Value::Array(items.iter().map(hcl_literal).collect::<Result<_, _>>()?),
        E::Object(obj) => {
            let mut map = serde_json::Map::new();
            for (key, value) in obj {
                let key = match key {
                    hcl::ObjectKey::Identifier(id) => id.as_str().to_owned(),
                    hcl::ObjectKey::Expression(E::String(s)) => s.clone(),
                    _ => return Err("an object with a computed key"),
                };
                map.insert(key, hcl_literal(value)?);
            }
            Value::Object(map)
        }
        E::Parenthesis(inner) => hcl_literal(inner)?,
        E::TemplateExpr(_) => return Err("a template"),
        E::Variable(_) | E::Traversal(_) => return Err("a variable"),
        E::FuncCall(_) => return Err("a function call"),
        _ => return Err("an expression"),
    })
}

// ---- JSON ----

fn json_syntax_error(err: &serde_json::Error) -> PolicyError {
    let full = err.to_string();
    let message = full
        .rsplit_once(" at line ")
        .map_or(full.as_str(), |(m, _)| m);
    PolicyError::new(Some(err.line()), format!("invalid JSON: {message}"))
}

/// The 1-based line of the first `"key":` in the JSON text, if it can be found.
fn json_key_line(text: &str, key: &str) -> Option<usize> {
    let needle = serde_json::to_string(key).ok()?;
    text.match_indices(&needle).find_map(|(at, _)| {
        let rest = text[at + needle.len()..].trim_start();
        rest.starts_with(':').then(|| line_of(text, at))
    })
}

fn json_blocks(text: &str, json: Value) -> Result<Vec<RawBlock>, PolicyError> {
    let Value::Object(top) = json else {
        return Err(PolicyError::new(Some(1), "a JSON policy must be an object"));
    };
    let mut blocks = Vec::new();
    for (key, value) in top {
        match key.as_str() {
            "name" => {}
            "path" => {
                let groups = match value {
                    Value::Object(map) => vec![map],
                    Value::Array(items) => items
                        .into_iter()
                        .map(|item| match item {
                            Value::Object(map) => Ok(map),
                            _ => Err(PolicyError::new(
                                json_key_line(text, "path"),
                                "\"path\" must map paths to objects",
                            )),
                        })
                        .collect::<Result<_, _>>()?,
                    _ => {
                        return Err(PolicyError::new(
                            json_key_line(text, "path"),
                            "\"path\" must map paths to objects",
                        ));
                    }
                };
                for (path, rule) in groups.into_iter().flatten() {
                    let line = json_key_line(text, &path);
                    let Value::Object(attrs) = rule else {
                        return Err(PolicyError::new(
                            line,
                            format!("the rule for path {path:?} must be an object"),
                        ));
                    };
                    let entries = attrs
                        .into_iter()
                        .map(|(k, v)| (k, Entry::Value(v)))
                        .collect();
                    blocks.push(RawBlock {
                        line,
                        path,
                        entries,
                    });
                }
            }
            other => {
                return Err(PolicyError::new(
                    json_key_line(text, other),
                    format!("unknown top-level key {other:?}"),
                ));
            }
        }
    }
    Ok(blocks)
}

impl fmt::Display for Policy {
    /// Renders the policy back to HCL (parameter constraints included), e.g. for
    /// `sys/policies/acl/:name` reads of policies built in code.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, rule) in self.rules.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            let caps: Vec<String> = rule
                .capabilities
                .iter()
                .map(|c| format!("{:?}", c.as_str()))
                .collect();
            writeln!(f, "path {:?} {{", rule.path)?;
            writeln!(f, "  capabilities = [{}]", caps.join(", "))?;
            if !rule.required_parameters.is_empty() {
                let names: Vec<String> = rule
                    .required_parameters
                    .iter()
                    .map(|n| format!("{n:?}"))
                    .collect();
                writeln!(f, "  required_parameters = [{}]", names.join(", "))?;
            }
            for (key, map) in [
                ("allowed_parameters", &rule.allowed_parameters),
                ("denied_parameters", &rule.denied_parameters),
            ] {
                if map.is_empty() {
                    continue;
                }
                writeln!(f, "  {key} = {{")?;
                for (name, values) in map {
                    let values = serde_json::to_string(values).map_err(|_| fmt::Error)?;
                    writeln!(f, "    {name:?} = {values}")?;
                }
                writeln!(f, "  }}")?;
            }
            for (key, ttl) in [
                ("min_wrapping_ttl", rule.min_wrapping_ttl),
                ("max_wrapping_ttl", rule.max_wrapping_ttl),
            ] {
                if ttl != 0 {
                    writeln!(f, "  {key} = {ttl}")?;
                }
            }
            writeln!(f, "}}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> PolicyError {
        parse("p", text).expect_err("policy should be refused")
    }

    #[test]
    fn parses_hcl_with_everything() {
        let p = parse(
            "app",
            r#"
name = "ignored"
# comment
path "/secret/data/*" {
  capabilities = ["read", "list"]
}
path "secret/restricted" {
  capabilities = ["create"]
  policy = "read"
  required_parameters = ["bar"]
  allowed_parameters = {
    "foo" = []
    "Bar" = ["zip", "zap"]
    "*" = []
  }
  denied_parameters = { "n" = [1, 2.5, true, null, { "a" = "b" }] }
  min_wrapping_ttl = "1s"
  max_wrapping_ttl = 90
  mfa_methods = ["m"]
  comment = "ignored"
}
"#,
        )
        .expect("valid policy");
        assert_eq!(p.name, "app");
        assert_eq!(p.rules.len(), 2);
        assert_eq!(p.rules[0].path, "secret/data/*");
        assert_eq!(p.rules[0].capabilities.names(), ["read", "list"]);
        let r = &p.rules[1];
        assert_eq!(r.capabilities.names(), ["create", "read", "list"]);
        assert_eq!(r.required_parameters, ["bar"]);
        assert_eq!(
            r.allowed_parameters.keys().collect::<Vec<_>>(),
            ["*", "bar", "foo"]
        );
        assert_eq!(
            r.allowed_parameters["bar"],
            [Value::from("zip"), Value::from("zap")]
        );
        assert_eq!(
            Value::Array(r.denied_parameters["n"].clone()),
            serde_json::json!([1, 2.5, true, null, {"a": "b"}])
        );
        assert_eq!((r.min_wrapping_ttl, r.max_wrapping_ttl), (1, 90));
        assert_eq!(
            (p.rules[0].min_wrapping_ttl, p.rules[0].max_wrapping_ttl),
            (0, 0)
        );
    }

    #[test]
    fn wrapping_ttls_parse_as_durations_and_must_not_cross() {
        let rule = |body: &str| {
            parse(
                "p",
                &format!("path \"x\" {{\n  capabilities = [\"read\"]\n{body}\n}}\n"),
            )
        };
        let r = rule("  min_wrapping_ttl = \"1m\"\n  max_wrapping_ttl = \"2h\"").unwrap();
        assert_eq!(
            (r.rules[0].min_wrapping_ttl, r.rules[0].max_wrapping_ttl),
            (60, 7200)
        );
        // Equal bounds are fine; a maximum under the minimum is Vault's error.
        assert!(rule("  min_wrapping_ttl = 60\n  max_wrapping_ttl = 60").is_ok());
        let e = rule("  min_wrapping_ttl = 100\n  max_wrapping_ttl = 10").unwrap_err();
        assert!(
            e.reason
                .contains("max_wrapping_ttl cannot be less than min_wrapping_ttl"),
            "{e}"
        );
        let e = rule("  min_wrapping_ttl = \"soon\"").unwrap_err();
        assert!(e.reason.contains("error parsing min_wrapping_ttl"), "{e}");
        assert!(rule("  max_wrapping_ttl = -5").is_err());
        assert!(rule("  max_wrapping_ttl = [1]").is_err());
        // Rendered back, the bounds survive a round trip.
        let text = r.to_string();
        assert_eq!(parse("p", &text).unwrap(), r, "{text}");
        let json = parse(
            "p",
            r#"{"path": {"x": {"capabilities": ["read"], "min_wrapping_ttl": "1m", "max_wrapping_ttl": 7200}}}"#,
        )
        .unwrap();
        assert_eq!(json, r);
    }

    #[test]
    fn parses_json_like_hcl() {
        let hcl = parse(
            "p",
            r#"path "secret/*" { capabilities = ["read"] allowed_parameters = { "ttl" = ["1h"] } }"#,
        );
        // One-line HCL blocks need newlines between attributes; use the block form.
        assert!(hcl.is_err());
        let hcl = parse(
            "p",
            "path \"secret/*\" {\n  capabilities = [\"read\"]\n  allowed_parameters = { \"ttl\" = [\"1h\"] }\n}\n",
        )
        .expect("hcl");
        let json = parse(
            "p",
            r#"{"name": "x", "path": {"secret/*": {"capabilities": ["read"], "allowed_parameters": {"ttl": ["1h"]}}}}"#,
        )
        .expect("json");
        assert_eq!(hcl, json);
        let array_form = parse(
            "p",
            r#"{"path": [{"secret/*": {"capabilities": ["read"], "allowed_parameters": {"ttl": ["1h"]}}}]}"#,
        )
        .expect("json array form");
        assert_eq!(array_form, json);
    }

    #[test]
    fn old_policy_shorthand() {
        let caps = |old: &str| {
            parse("p", &format!("path \"a\" {{\n policy = \"{old}\"\n}}\n"))
                .map(|p| p.rules[0].capabilities.names())
        };
        assert_eq!(caps("read"), Ok(vec!["read", "list"]));
        assert_eq!(
            caps("write"),
            Ok(vec!["create", "read", "update", "delete", "list"])
        );
        assert_eq!(
            caps("sudo"),
            Ok(vec!["create", "read", "update", "delete", "list", "sudo"])
        );
        assert_eq!(caps("deny"), Ok(vec!["deny"]));
        assert_eq!(
            caps("reed").map_err(|e| e.to_string()),
            Err("line 1: invalid policy \"reed\" (expected deny, read, write or sudo) in path \"a\"".to_owned())
        );
    }

    #[test]
    fn deny_keeps_only_deny() {
        let p = parse(
            "p",
            "path \"a\" {\n capabilities = [\"read\", \"deny\", \"sudo\"]\n}\n",
        )
        .expect("valid");
        assert_eq!(p.rules[0].capabilities, Capability::Deny.into());
    }

    #[test]
    fn unknown_capability_names_it_and_the_line() {
        let e = err("# c\n\npath \"secret/*\" {\n  capabilities = [\"reed\"]\n}\n");
        assert_eq!(e.line, Some(3));
        assert_eq!(
            e.to_string(),
            "line 3: unknown capability \"reed\" in path \"secret/*\""
        );
    }

    #[test]
    fn semantic_errors_give_the_path_block_line() {
        let ok = "path \"ok\" {\n  capabilities = [\"read\"]\n}\n";
        let cases = [
            (
                "path \"a*/b\" {\n  capabilities = [\"read\"]\n}\n",
                "\"*\" is only allowed as the last character",
            ),
            (
                "path \"a/b+/c\" {\n  capabilities = [\"read\"]\n}\n",
                "\"+\" must be a whole path segment",
            ),
            (
                "path \"a/+*\" {\n  capabilities = [\"read\"]\n}\n",
                "\"+*\" is not allowed",
            ),
            ("path \"a\" {\n  capabilities = []\n}\n", "no capabilities"),
            ("path \"a\" {\n}\n", "no capabilities"),
            (
                "path \"a\" {\n  capabilities = \"read\"\n}\n",
                "must be a list of strings",
            ),
            (
                "path \"a\" {\n  capabilities = [1]\n}\n",
                "must be a list of strings",
            ),
            (
                "path \"a\" {\n  capabilites = [\"read\"]\n}\n",
                "unknown key \"capabilites\"",
            ),
            (
                "path \"a\" {\n  capabilities = [var.x]\n}\n",
                "must be a literal value",
            ),
            (
                "path \"a\" {\n  capabilities = [\"read\"]\n  allowed_parameters = [\"x\"]\n}\n",
                "must be a map",
            ),
            (
                "path \"a\" {\n  capabilities = [\"read\"]\n  allowed_parameters = { \"x\" = \"y\" }\n}\n",
                "must be a list",
            ),
            (
                "path \"a\" {\n  capabilities = [\"read\"]\n  allowed_parameters = { \"x*\" = [] }\n}\n",
                "must be the whole key",
            ),
            (
                "path \"a\" {\n  capabilities = [\"read\"]\n  allowed_parameters = { \"*\" = [\"x\"] }\n}\n",
                "the only value allowed for \"*\" is []",
            ),
            (
                "path \"a\" {\n  capabilities = [\"read\"]\n  required_parameters = [\"*\"]\n}\n",
                "wildcard is not permitted",
            ),
            (
                "path \"a/{{identity.entity.id/*\" {\n  capabilities = [\"read\"]\n}\n",
                "unbalanced templating characters",
            ),
            (
                "path \"a/{{identity.entity.id}}*/b\" {\n  capabilities = [\"read\"]\n}\n",
                "only allowed as the last character",
            ),
            (
                "path \"/\" {\n  capabilities = [\"read\"]\n}\n",
                "empty path",
            ),
        ];
        for (bad, reason) in cases {
            // The bad block comes after a valid one, on line 4.
            let e = err(&format!("{ok}{bad}"));
            assert_eq!(e.line, Some(4), "{bad}: {e}");
            assert!(e.reason.contains(reason), "{bad}: {e}");
        }
    }

    #[test]
    fn top_level_errors() {
        let e = err("path \"a\" {\n  capabilities = [\"read\"]\n}\nfoo = 1\n");
        assert_eq!(
            (e.line, e.reason.as_str()),
            (Some(4), "unknown top-level key \"foo\"")
        );
        let e = err("\n\nbar \"x\" {\n}\n");
        assert_eq!(e.line, Some(3));
        let e = err("path {\n  capabilities = [\"read\"]\n}\n");
        assert_eq!(e.line, Some(1));
        assert!(e.reason.contains("exactly one label"));
    }

    #[test]
    fn hcl_syntax_errors_give_the_parser_line() {
        let e = err(
            "path \"a\" {\n  capabilities = [\"read\"]\n}\npath \"b\" {\n  capabilities = [\"read\"\n}\n",
        );
        assert_eq!(e.line, Some(6), "{e}");
        assert!(e.reason.starts_with("invalid HCL"), "{e}");
        let e = err("path \"a\" {\n  capabilities = [\"read\"]\n");
        assert!(
            e.line.is_some() && e.reason.starts_with("invalid HCL"),
            "{e}"
        );
        // hcl-rs refuses a repeated attribute, at its line.
        let e = err("path \"a\" {\n  capabilities = [\"read\"]\n  capabilities = [\"list\"]\n}\n");
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.reason.contains("unique attribute key"), "{e}");
    }

    #[test]
    fn json_errors() {
        let e = err("{\n  \"path\": {\n    \"a\": {\"capabilities\": [\"read\"]},\n  }\n}");
        assert_eq!(e.to_string(), "line 4: invalid JSON: trailing comma");
        assert!(!e.reason.contains(" at line "), "{e}");
        let e = err(
            "{\n  \"path\": {\n    \"a\": {\"capabilities\": [\"read\"]},\n    \"b/*\": {\"capabilities\": [\"reed\"]}\n  }\n}",
        );
        assert_eq!(
            e.to_string(),
            "line 4: unknown capability \"reed\" in path \"b/*\""
        );
        let e = err("{\"path\": {\"a\": [\"read\"]}}");
        assert!(e.reason.contains("must be an object"), "{e}");
        let e = err("{\n\"paths\": {}}");
        assert_eq!(
            (e.line, e.reason.as_str()),
            (Some(2), "unknown top-level key \"paths\"")
        );
        let e = err("{\"path\": {}}");
        assert_eq!(e.to_string(), "policy has no path rules");
    }

    #[test]
    fn empty_and_limits() {
        assert_eq!(err("").to_string(), "policy has no path rules");
        assert_eq!(
            err("# only a comment\n").to_string(),
            "policy has no path rules"
        );
        assert_eq!(
            err("name = \"x\"\n").to_string(),
            "policy has no path rules"
        );
        let big = format!("# {}\n", "x".repeat(MAX_POLICY_BYTES));
        assert!(err(&big).reason.contains("the limit is 65536"));
        let many: String = (0..=MAX_PATH_RULES)
            .map(|i| format!("path \"p/{i}\" {{\n  capabilities = [\"read\"]\n}}\n"))
            .collect();
        let e = err(&many);
        assert_eq!(e.line, Some(3 * MAX_PATH_RULES + 1));
        assert!(
            e.reason.contains("1001 path rules; the limit is 1000"),
            "{e}"
        );
        let max: String = many
            .lines()
            .take(3 * MAX_PATH_RULES)
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(parse("p", &max).map(|p| p.rules.len()), Ok(MAX_PATH_RULES));
    }

    #[test]
    fn root_cannot_be_defined() {
        let e = parse(
            ROOT_POLICY_NAME,
            "path \"a\" {\n  capabilities = [\"read\"]\n}\n",
        );
        assert!(e.is_err());
    }

    #[test]
    fn default_policy_parses() {
        let p = parse(DEFAULT_POLICY_NAME, DEFAULT_POLICY).expect("default policy");
        let rules: Vec<(&str, Vec<&str>)> = p
            .rules
            .iter()
            .map(|r| (r.path.as_str(), r.capabilities.names()))
            .collect();
        assert_eq!(
            rules,
            [
                ("auth/token/lookup-self", vec!["read"]),
                ("auth/token/renew-self", vec!["update"]),
                ("auth/token/revoke-self", vec!["update"]),
                ("sys/capabilities-self", vec!["update"]),
                ("sys/leases/lookup", vec!["update"]),
                ("sys/leases/renew", vec!["update"]),
                ("sys/wrapping/wrap", vec!["update"]),
                ("sys/wrapping/lookup", vec!["update"]),
                ("sys/wrapping/unwrap", vec!["update"]),
            ]
        );
        let w = parse(RESPONSE_WRAPPING_POLICY_NAME, RESPONSE_WRAPPING_POLICY).expect("policy");
        let rules: Vec<(&str, Vec<&str>)> = w
            .rules
            .iter()
            .map(|r| (r.path.as_str(), r.capabilities.names()))
            .collect();
        assert_eq!(
            rules,
            [
                ("sys/wrapping/unwrap", vec!["update"]),
                ("auth/token/revoke-self", vec!["update"]),
            ]
        );
    }

    #[test]
    fn display_round_trips() {
        let p = parse(
            "p",
            "path \"a/*\" {\n  capabilities = [\"read\", \"list\"]\n  required_parameters = [\"x\"]\n  allowed_parameters = { \"x\" = [\"1h\", 2] }\n  denied_parameters = { \"y\" = [] }\n}\npath \"b\" {\n  capabilities = [\"deny\"]\n}\n",
        )
        .expect("valid");
        assert_eq!(parse("p", &p.to_string()), Ok(p));
    }
}
