//! The compiled union of a token's policies, and path evaluation by Vault's rules.
//!
//! Follows Vault's `vault/acl.go`: `NewACL` (identical paths across policies merge;
//! `deny` absorbs), `AllowOperation` (an exact rule wins outright; otherwise the
//! highest-priority matching glob or `+` rule; the `list` trailing-slash fallback) and
//! `CheckAllowedFromNonExactPaths` (Vault's policy priority rules).
//!
//! Index: exact rules in a `HashMap`; prefix (`*`) rules and `+` rules in one radix
//! trie, the `+` rules keyed by their literal text before the first `+`. One walk
//! of the request path visits every candidate; no allocation per evaluation.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde_json::{Map, Value};

use super::capability::{Capabilities, Capability};
use super::params::ParamRules;
use super::parse::{PathRule, Policy, ROOT_POLICY_NAME};
use super::trie::Trie;

/// A token's policies compiled for evaluation. Cheap to share (`Send + Sync`, no
/// interior mutability); build it once per token (or per policy set) and keep it.
#[derive(Clone, Debug, Default)]
pub struct Acl {
    root: bool,
    /// Merged rules, one per distinct written path.
    perms: Vec<Perm>,
    exact: HashMap<Box<str>, usize>,
    trie: Trie<Slot>,
    segments: Vec<SegmentRule>,
}

/// The merged rule of one distinct path.
#[derive(Clone, Debug)]
struct Perm {
    /// Written path, leading `/` removed (trailing `*` kept).
    path: Box<str>,
    capabilities: Capabilities,
    params: ParamRules,
    /// `min_wrapping_ttl` / `max_wrapping_ttl`, seconds (0: none).
    min_wrapping_ttl: i64,
    max_wrapping_ttl: i64,
}

/// The lesser of two wrapping TTL bounds, 0 meaning none (Vault's `NewACL` prefers
/// the shorter lifetime for both the minimum and the maximum).
fn lesser_bound(a: i64, b: i64) -> i64 {
    match (a, b) {
        (0, x) | (x, 0) => x,
        (a, b) => a.min(b),
    }
}

/// What the trie holds at a key: the prefix rule `key*`, and the `+` rules whose text
/// before the first `+` is `key`.
#[derive(Clone, Debug, Default)]
struct Slot {
    prefix: Option<usize>,
    segments: SegmentIndex,
}

/// The `+` rules of one trie slot. They all share the literal text before their first
/// `+`, so many teams' rules like `secret/data/+/team-N/config` would land in one slot;
/// to avoid trying each, a rule is filed under its first literal segment after the
/// first `+` (position, text) and only rules filed under the request path's segment at
/// that position are tried.
#[derive(Clone, Debug, Default)]
struct SegmentIndex {
    /// (segment position, segment text → rules), one entry per distinct position.
    keyed: Vec<(usize, RulesBySegment)>,
    /// Rules with no such literal segment: tried one by one.
    other: Vec<usize>,
    /// Every rule of the slot (for paths too long to split on the stack).
    all: Vec<usize>,
}

impl SegmentIndex {
    fn insert(&mut self, rule: &SegmentRule, index: usize) {
        self.all.push(index);
        let Some((position, literal)) = rule.key() else {
            self.other.push(index);
            return;
        };
        let map = match self.keyed.iter().position(|(p, _)| *p == position) {
            Some(i) => &mut self.keyed[i].1,
            None => {
                self.keyed.push((position, HashMap::new()));
                let last = self.keyed.len() - 1;
                &mut self.keyed[last].1
            }
        };
        map.entry(literal.into()).or_default().push(index);
    }

    fn is_empty(&self) -> bool {
        self.all.is_empty()
    }
}

/// `+` rules (indexes into `Acl::segments`) by the text of one segment.
type RulesBySegment = HashMap<Box<str>, Vec<usize>>;

/// Most path segments split on the stack for `+` matching; longer paths take the slow
/// (still allocation-free) route.
const MAX_SEGMENTS: usize = 32;

#[derive(Clone, Debug)]
enum Part {
    Any,
    Literal(Box<str>),
}

/// A rule with `+` segments (and maybe a trailing `*`).
#[derive(Clone, Debug)]
struct SegmentRule {
    parts: Box<[Part]>,
    is_prefix: bool,
    /// Index of the first `+` in `parts`.
    first_segment: usize,
    /// Byte offset of the first `+` in the path (Vault's "first wildcard position").
    first_wildcard: usize,
    wildcards: usize,
    /// The path without its trailing `*`.
    pattern: Box<str>,
    perm: usize,
}

impl SegmentRule {
    fn compile(path: &str, perm: usize) -> Option<SegmentRule> {
        let (pattern, is_prefix) = match path.strip_suffix('*') {
            Some(p) => (p, true),
            None => (path, false),
        };
        let parts: Box<[Part]> = pattern
            .split('/')
            .map(|s| match s {
                "+" => Part::Any,
                s => Part::Literal(s.into()),
            })
            .collect();
        let wildcards = parts.iter().filter(|p| matches!(p, Part::Any)).count();
        let first_segment = parts.iter().position(|p| matches!(p, Part::Any))?;
        let first_wildcard = pattern
            .split('/')
            .take(first_segment)
            .map(|s| s.len() + 1)
            .sum();
        Some(SegmentRule {
            parts,
            is_prefix,
            first_segment,
            first_wildcard,
            wildcards,
            pattern: pattern.into(),
            perm,
        })
    }

    /// The first literal segment after the first `+` that must equal the request's
    /// segment at that position (the last segment of a `*` rule matches as a prefix, so
    /// it does not qualify).
    fn key(&self) -> Option<(usize, &str)> {
        let last = self.parts.len() - 1;
        self.parts
            .iter()
            .enumerate()
            .skip(self.first_segment + 1)
            .find_map(|(i, part)| match part {
                Part::Literal(l) if !(self.is_prefix && i == last) => Some((i, l.as_ref())),
                _ => None,
            })
    }

    /// [`SegmentRule::matches`] on a path already split into segments, whose text before
    /// the first `+` is known to match (the trie walk checked it).
    fn matches_split(&self, segments: &[&str]) -> bool {
        let n = self.parts.len();
        if segments.len() < n || (!self.is_prefix && segments.len() != n) {
            return false;
        }
        self.parts
            .iter()
            .zip(segments)
            .enumerate()
            .skip(self.first_segment)
            .all(|(i, (part, segment))| match part {
                Part::Any => true,
                Part::Literal(l) if self.is_prefix && i == n - 1 => segment.starts_with(l.as_ref()),
                Part::Literal(l) => *segment == l.as_ref(),
            })
    }

    /// Vault's segment matching: `+` matches any one segment; literal segments match
    /// exactly, except that the last one of a `*` rule matches as a prefix (and the
    /// rest of the path is free); a rule without `*` needs as many segments as the path.
    fn matches(&self, path: &str) -> bool {
        let mut segments = path.split('/');
        let last = self.parts.len() - 1;
        for (i, part) in self.parts.iter().enumerate() {
            let Some(segment) = segments.next() else {
                return false;
            };
            if let Part::Literal(literal) = part {
                let ok = if self.is_prefix && i == last {
                    segment.starts_with(literal.as_ref())
                } else {
                    segment == literal.as_ref()
                };
                if !ok {
                    return false;
                }
            }
        }
        self.is_prefix || segments.next().is_none()
    }

    fn rank(&self) -> Rank<'_> {
        Rank {
            first_wildcard: self.first_wildcard,
            is_prefix: self.is_prefix,
            wildcards: self.wildcards,
            pattern: &self.pattern,
        }
    }
}

/// Priority of a matching non-exact rule; greater wins (Vault's policy priority rules,
/// `CheckAllowedFromNonExactPaths`). P1 is lower than P2 when, in order: its first `+`
/// or `*` comes earlier; it ends in `*` and P2 does not; it has more `+` segments; it is
/// shorter; it sorts lower.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Rank<'a> {
    first_wildcard: usize,
    is_prefix: bool,
    wildcards: usize,
    /// The path without its trailing `*`.
    pattern: &'a str,
}

impl Ord for Rank<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.first_wildcard
            .cmp(&other.first_wildcard)
            .then_with(|| other.is_prefix.cmp(&self.is_prefix))
            .then_with(|| other.wildcards.cmp(&self.wildcards))
            .then_with(|| self.pattern.len().cmp(&other.pattern.len()))
            .then_with(|| self.pattern.cmp(other.pattern))
    }
}

impl PartialOrd for Rank<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Perm {
    fn new(path: &str, rule: &PathRule) -> Perm {
        let denied = rule.capabilities.is_deny();
        Perm {
            path: path.into(),
            // A rule listing deny holds only deny, and Vault drops its parameters.
            capabilities: if denied {
                Capability::Deny.into()
            } else {
                rule.capabilities
            },
            params: if denied {
                ParamRules::default()
            } else {
                ParamRules::new(
                    &rule.required_parameters,
                    &rule.allowed_parameters,
                    &rule.denied_parameters,
                )
            },
            min_wrapping_ttl: if denied { 0 } else { rule.min_wrapping_ttl },
            max_wrapping_ttl: if denied { 0 } else { rule.max_wrapping_ttl },
        }
    }

    /// Vault's `NewACL` merge of an identical path from another rule: an existing deny
    /// stays; a new deny replaces everything; otherwise capabilities union and parameter
    /// constraints merge ([`ParamRules::merge`]).
    fn merge(&mut self, rule: &PathRule) {
        if self.capabilities.is_deny() {
            return;
        }
        if rule.capabilities.is_deny() {
            self.capabilities = Capability::Deny.into();
            self.params = ParamRules::default();
            self.min_wrapping_ttl = 0;
            self.max_wrapping_ttl = 0;
            return;
        }
        self.capabilities = self.capabilities.union(rule.capabilities);
        self.min_wrapping_ttl = lesser_bound(self.min_wrapping_ttl, rule.min_wrapping_ttl);
        self.max_wrapping_ttl = lesser_bound(self.max_wrapping_ttl, rule.max_wrapping_ttl);
        self.params.merge(
            &rule.required_parameters,
            &rule.allowed_parameters,
            &rule.denied_parameters,
        );
    }
}

impl Acl {
    /// Compiles the union of `policies` (a token's policies, in any order: the result
    /// does not depend on it).
    ///
    /// Identical paths (as written, so `secret/x` and `secret/x*` differ) are merged as
    /// Vault's `NewACL` merges them: capabilities are unioned; a `deny` on either side
    /// leaves only `deny`; parameter constraints merge key by key (a key listed with
    /// `[]` on either side ends up `[]`, otherwise the value lists are concatenated;
    /// required names are unioned). A policy named `root` makes the whole ACL
    /// [`Acl::root`], as in Vault. Rules whose paths still hold identity templates
    /// are left out (they match nothing until [`Policy::resolve`] resolves them).
    pub fn new(policies: &[&Policy]) -> Acl {
        let mut acl = Acl::default();
        let mut by_path: HashMap<&str, usize> = HashMap::new();
        for policy in policies {
            if policy.name == ROOT_POLICY_NAME {
                acl.root = true;
            }
            for rule in &policy.rules {
                // An unresolved identity template matches nothing (resolve the policy
                // first: `Policy::resolve`).
                if rule.path.contains("{{") {
                    continue;
                }
                let path = rule.path.strip_prefix('/').unwrap_or(&rule.path);
                match by_path.get(path) {
                    Some(&i) => acl.perms[i].merge(rule),
                    None => {
                        by_path.insert(path, acl.perms.len());
                        acl.perms.push(Perm::new(path, rule));
                    }
                }
            }
        }
        for (i, perm) in acl.perms.iter().enumerate() {
            if let Some(rule) = SegmentRule::compile(&perm.path, i) {
                let key = &rule.pattern[..rule.first_wildcard];
                acl.trie
                    .entry(key.as_bytes(), Slot::default)
                    .segments
                    .insert(&rule, acl.segments.len());
                acl.segments.push(rule);
            } else if let Some(prefix) = perm.path.strip_suffix('*') {
                acl.trie.entry(prefix.as_bytes(), Slot::default).prefix = Some(i);
            } else {
                acl.exact.insert(perm.path.clone(), i);
            }
        }
        acl
    }

    /// The ACL of the `root` policy: every capability but `deny` (so `sudo` included) on
    /// every path, and no parameter constraints.
    pub fn root() -> Acl {
        Acl {
            root: true,
            ..Acl::default()
        }
    }

    /// Whether this is the root ACL.
    pub fn is_root(&self) -> bool {
        self.root
    }

    /// The capabilities the token holds on `path` (no leading `/` needed; one is
    /// ignored): those of the winning rule, or [`Capabilities::NONE`] when no rule
    /// matches or the winning rule is a `deny` (deny overrides everything, `sudo`
    /// included). The root ACL gets [`Capabilities::all_root`].
    ///
    /// The winner is an exact rule equal to the path if there is one, otherwise the
    /// highest-priority matching `*`/`+` rule (Vault's policy priority rules). Like
    /// Vault's `sys/capabilities`, this applies the `list` fallback: for a path ending in
    /// `/`, an exact rule or, failing that, a glob rule matching the path without the
    /// slash is used first.
    pub fn capabilities(&self, path: &str) -> Capabilities {
        if self.root {
            return Capabilities::all_root();
        }
        match self.find(path, true) {
            Some(perm) if !perm.capabilities.is_deny() => perm.capabilities,
            _ => Capabilities::NONE,
        }
    }

    /// The capabilities exactly as Vault's `AllowOperation` sees them for one request:
    /// like [`Acl::capabilities`], but the trailing-slash fallback applies only when
    /// `list` (the request is a list operation). Use it to decide a request with one
    /// lookup; [`Acl::capabilities`] is what `sys/capabilities*` reports.
    pub fn operation_capabilities(&self, path: &str, list: bool) -> Capabilities {
        if self.root {
            return Capabilities::all_root();
        }
        match self.find(path, list) {
            Some(perm) if !perm.capabilities.is_deny() => perm.capabilities,
            _ => Capabilities::NONE,
        }
    }

    /// Whether any rule grants a capability at `prefix` or on a path under it (Vault's
    /// `hasMountAccess`, which `sys/internal/ui/mounts` uses to show a mount only to
    /// callers that may use it): a rule counts when it could match a path under
    /// `prefix`, segment by segment (`+` any segment, a trailing `*` anything after its
    /// stem).
    pub fn grants_under(&self, prefix: &str) -> bool {
        if self.root || !self.capabilities(prefix).is_empty() {
            return true;
        }
        self.perms.iter().any(|p| {
            !p.capabilities.is_deny()
                && !p.capabilities.is_empty()
                && could_reach_under(&p.path, prefix)
        })
    }
    /// Whether the token may perform an operation needing `c` on `path`. For
    /// [`Capability::List`] the trailing-slash fallback of [`Acl::capabilities`]
    /// applies (Vault applies it to list operations only); `Capability::Deny` is never
    /// "allowed". Renew, revoke and rollback operations need `update` (Vault's mapping).
    pub fn allows(&self, path: &str, c: Capability) -> bool {
        if c == Capability::Deny {
            return false;
        }
        self.operation_capabilities(path, c == Capability::List)
            .contains(c)
    }

    /// Checks a request body against the parameter constraints of the rule that wins
    /// on `path` (`required_parameters`, `allowed_parameters`, `denied_parameters`;
    /// Vault's `AllowOperation`). `Ok` when that rule has no constraints, and always
    /// for the root ACL.
    ///
    /// Call it after the capability check, for create, update, patch and read
    /// operations (the ones Vault checks), and not on KV v2 `data/` paths (Vault does
    /// not support parameter constraints there; the body is nested under `data`).
    ///
    /// # Errors
    /// A short reason naming the parameter; also when no rule matches `path` or the
    /// winning rule is a deny (there is nothing granting the request). Answer the
    /// client 403 "permission denied", as Vault does.
    pub fn check_parameters(&self, path: &str, body: &Map<String, Value>) -> Result<(), String> {
        if self.root {
            return Ok(());
        }
        match self.find(path, false) {
            None => Err("no policy rule grants access to this path".to_owned()),
            Some(perm) if perm.capabilities.is_deny() => {
                Err("a policy rule denies access to this path".to_owned())
            }
            Some(perm) if perm.params.is_empty() => Ok(()),
            Some(perm) => perm.params.check(body),
        }
    }

    /// Checks the response wrapping a request asks for (`wrap_ttl` seconds, 0: none)
    /// against the `min_wrapping_ttl` / `max_wrapping_ttl` of the rule that wins on
    /// `path` (Vault's `AllowOperation`): with a maximum set, the request must be
    /// wrapped with at most that TTL; with a minimum set, wrapped with at least that
    /// TTL; merged bounds that cross refuse everything. `list`: the request is a list
    /// operation (the trailing-slash fallback). Always `Ok` for the root ACL and where
    /// no rule matches (the capability check refuses those).
    ///
    /// # Errors
    /// A short reason; answer the client 403 "permission denied", as Vault does.
    pub fn check_wrapping(&self, path: &str, list: bool, wrap_ttl: i64) -> Result<(), String> {
        if self.root {
            return Ok(());
        }
        let Some(perm) = self.find(path, list) else {
            return Ok(());
        };
        let (min, max) = (perm.min_wrapping_ttl, perm.max_wrapping_ttl);
        if max > 0 && (wrap_ttl == 0 || wrap_ttl > max) {
            return Err(format!(
                "the path's policy requires response wrapping with a TTL of at most {max}s"
            ));
        }
        if min > 0 && (wrap_ttl == 0 || wrap_ttl < min) {
            return Err(format!(
                "the path's policy requires response wrapping with a TTL of at least {min}s"
            ));
        }
        if min != 0 && max != 0 && max < min {
            return Err("the merged policies' wrapping TTL bounds cross".to_owned());
        }
        Ok(())
    }

    /// The winning rule for `path` (Vault's `AllowOperation` lookup order).
    fn find(&self, path: &str, list: bool) -> Option<&Perm> {
        let path = path.trim_start_matches('/');
        if let Some(&i) = self.exact.get(path) {
            return Some(&self.perms[i]);
        }
        if list && let Some(trimmed) = path.strip_suffix('/') {
            if let Some(&i) = self.exact.get(trimmed) {
                return Some(&self.perms[i]);
            }
            if let Some(perm) = self.best_non_exact(trimmed) {
                return Some(perm);
            }
        }
        self.best_non_exact(path)
    }

    /// The highest-priority `*` or `+` rule matching `path`.
    fn best_non_exact<'a>(&'a self, path: &str) -> Option<&'a Perm> {
        let mut best: Option<(Rank<'a>, usize)> = None;
        let mut consider = |rank: Rank<'a>, perm: usize| {
            if best.is_none_or(|(r, _)| rank > r) {
                best = Some((rank, perm));
            }
        };
        // The path's segments, split on first need (most lookups never need them).
        let mut split: Option<([&str; MAX_SEGMENTS], Option<usize>)> = None;
        self.trie.walk(path.as_bytes(), |len, slot: &'a Slot| {
            if let Some(i) = slot.prefix {
                let pattern = self.perms[i].path.strip_suffix('*').unwrap_or_default();
                let rank = Rank {
                    first_wildcard: len,
                    is_prefix: true,
                    wildcards: 0,
                    pattern,
                };
                consider(rank, i);
            }
            if slot.segments.is_empty() {
                return;
            }
            let (buffer, count) = split.get_or_insert_with(|| {
                let mut buffer = [""; MAX_SEGMENTS];
                let count = split_into(path, &mut buffer);
                (buffer, count)
            });
            let Some(count) = *count else {
                for &s in &slot.segments.all {
                    let rule = &self.segments[s];
                    if rule.matches(path) {
                        consider(rule.rank(), rule.perm);
                    }
                }
                return;
            };
            let segments = &buffer[..count];
            let keyed = slot.segments.keyed.iter().filter_map(|(position, map)| {
                segments
                    .get(*position)
                    .and_then(|segment| map.get(*segment))
            });
            for &s in keyed.flatten().chain(&slot.segments.other) {
                let rule = &self.segments[s];
                if rule.matches_split(segments) {
                    consider(rule.rank(), rule.perm);
                }
            }
        });
        best.map(|(_, i)| &self.perms[i])
    }
}

/// Splits `path` on `/` into `buffer`; the number of segments, or `None` when there are
/// more than the buffer holds.
fn split_into<'p>(path: &'p str, buffer: &mut [&'p str; MAX_SEGMENTS]) -> Option<usize> {
    let mut count = 0;
    for segment in path.split('/') {
        *buffer.get_mut(count)? = segment;
        count += 1;
    }
    Some(count)
}

/// Whether the rule path `rule` (`*` only at the end, `+` a whole segment) could match
/// some path at or under the mount path `prefix` (`secret/`, `auth/approle/`).
fn could_reach_under(rule: &str, prefix: &str) -> bool {
    let mut rule_segs = rule.split('/');
    for seg in prefix.trim_end_matches('/').split('/') {
        let Some(r) = rule_segs.next() else {
            return false;
        };
        if let Some(stem) = r.strip_suffix('*') {
            return seg.starts_with(stem);
        }
        if r != "+" && r != seg {
            return false;
        }
    }
    true
}
