//! Identity templating in policy paths (Vault's ACL templating; OpenBao's
//! `sdk/helper/identitytpl` in its ACL mode and `policy_store.go`'s substitution
//! rules are the reference).
//!
//! A path such as
//! `secret/data/ci/{{identity.entity.aliases.auth_jwt_1a2b3c4d.metadata.repository}}/*`
//! is resolved against the identity of the token a request carries ([`Identity`]:
//! its entity, the entity's aliases and its groups) before the policy is compiled.
//! Directives, between `{{` and `}}` (spaces inside ignored):
//!
//! - `identity.entity.id`, `.name`, `.metadata.<key>`;
//! - `identity.entity.aliases.<mount accessor>.id`, `.name`, `.metadata.<key>`,
//!   `.custom_metadata.<key>`;
//! - `identity.groups.ids.<group id>.id|name|metadata.<key>` and
//!   `identity.groups.names.<group name>.id|name|metadata.<key>` (groups the entity is
//!   a member of, directly or through a parent group; names compared exactly).
//!
//! A rule whose template cannot be resolved matches nothing, never everything: no
//! entity, no such alias, group or metadata key, an empty value, a directive Sigil
//! does not resolve (`time.*`, lists such as `identity.entity.groups.names`). A value
//! is inserted as literal text and must not change the rule's shape, or the rule
//! matches nothing ([`check_value`]): no `*` or `+` (OpenBao's default blocked
//! substitutions), no `/` unless the policy allows slashes
//! (`allow_slashes_in_identity_templates`, OpenBao's flag), and, with slashes, no
//! empty, `.` or `..` segment (Sigil's addition: a claim of `A/../B` or `A//B` does
//! not resolve). A claim of `*`, `A/*` or `A/../B` therefore widens nothing.

use std::collections::BTreeMap;

/// The error text of a path whose `{{` and `}}` do not pair (OpenBao's
/// `ErrUnbalancedTemplatingCharacter`, prefixed as its policy parser does).
pub const UNBALANCED: &str =
    "failed to validate policy templating: unbalanced templating characters";

/// What templates can read of the identity behind a token (an entity with its aliases
/// and groups). Built per entity by the identity store; the policy module only reads it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    /// The entity's ID (a UUID).
    pub entity_id: String,
    /// The entity's name.
    pub entity_name: String,
    /// The entity's metadata.
    pub entity_metadata: BTreeMap<String, String>,
    /// The entity's aliases, one per auth mount.
    pub aliases: Vec<IdentityAlias>,
    /// The groups the entity belongs to, directly or through parent groups.
    pub groups: Vec<IdentityGroup>,
}

/// One alias of an [`Identity`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IdentityAlias {
    /// The accessor of the auth mount the alias belongs to (`auth_jwt_1a2b3c4d`).
    pub mount_accessor: String,
    /// The alias's ID.
    pub id: String,
    /// The alias's name (AppRole: the role ID; JWT: the `user_claim` value; ...).
    pub name: String,
    /// Metadata the login set (JWT `claim_mappings`, ...).
    pub metadata: BTreeMap<String, String>,
    /// Metadata an operator set on the alias.
    pub custom_metadata: BTreeMap<String, String>,
}

/// One group of an [`Identity`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IdentityGroup {
    /// The group's ID.
    pub id: String,
    /// The group's name.
    pub name: String,
    /// The group's metadata.
    pub metadata: BTreeMap<String, String>,
}

/// What templates read of an identity: implemented by the identity store's
/// per-request view ([`crate::identity::request::RequestIdentity`]) and by
/// [`Identity`] (tests, benchmarks). Lookups borrow; nothing is copied per request.
pub trait TemplateSource: Sync {
    /// The entity's ID.
    fn entity_id(&self) -> &str;
    /// The entity's name.
    fn entity_name(&self) -> &str;
    /// The entity's metadata.
    fn entity_metadata(&self) -> &BTreeMap<String, String>;
    /// The entity's alias on the auth mount with accessor `mount_accessor`.
    fn alias(&self, mount_accessor: &str) -> Option<AliasView<'_>>;
    /// The group with ID `id` the entity belongs to (directly or inherited).
    fn group_by_id(&self, id: &str) -> Option<GroupView<'_>>;
    /// The group named exactly `name` the entity belongs to.
    fn group_by_name(&self, name: &str) -> Option<GroupView<'_>>;
}

/// An alias as templates see it.
#[derive(Clone, Copy, Debug)]
pub struct AliasView<'a> {
    /// The alias's ID.
    pub id: &'a str,
    /// Its name.
    pub name: &'a str,
    /// Metadata its login set.
    pub metadata: &'a BTreeMap<String, String>,
    /// Metadata set through the API.
    pub custom_metadata: &'a BTreeMap<String, String>,
}

/// A group as templates see it.
#[derive(Clone, Copy, Debug)]
pub struct GroupView<'a> {
    /// The group's ID.
    pub id: &'a str,
    /// Its name.
    pub name: &'a str,
    /// Its metadata.
    pub metadata: &'a BTreeMap<String, String>,
}

impl TemplateSource for Identity {
    fn entity_id(&self) -> &str {
        &self.entity_id
    }
    fn entity_name(&self) -> &str {
        &self.entity_name
    }
    fn entity_metadata(&self) -> &BTreeMap<String, String> {
        &self.entity_metadata
    }
    fn alias(&self, mount_accessor: &str) -> Option<AliasView<'_>> {
        self.aliases
            .iter()
            .find(|a| a.mount_accessor == mount_accessor)
            .map(|a| AliasView {
                id: &a.id,
                name: &a.name,
                metadata: &a.metadata,
                custom_metadata: &a.custom_metadata,
            })
    }
    fn group_by_id(&self, id: &str) -> Option<GroupView<'_>> {
        self.groups
            .iter()
            .find(|g| g.id == id)
            .map(IdentityGroup::view)
    }
    fn group_by_name(&self, name: &str) -> Option<GroupView<'_>> {
        self.groups
            .iter()
            .find(|g| g.name == name)
            .map(IdentityGroup::view)
    }
}

impl IdentityGroup {
    fn view(&self) -> GroupView<'_> {
        GroupView {
            id: &self.id,
            name: &self.name,
            metadata: &self.metadata,
        }
    }
}

/// Whether `path` holds template directives; `Err(`[`UNBALANCED`]`)` when its `{{` and
/// `}}` do not pair (OpenBao's validity check at policy write). The directives
/// themselves are not checked here: one Sigil cannot resolve makes its rule match
/// nothing, as in OpenBao.
pub fn is_templated(path: &str) -> Result<bool, &'static str> {
    Ok(pieces(path)?.len() > 1)
}

/// `path` with each directive replaced by `x`: the shape the rule has once resolved
/// (resolved values can add no `*` or `+`), for the parser's path checks.
pub fn skeleton(path: &str) -> Result<String, &'static str> {
    let mut out = String::with_capacity(path.len());
    for (i, piece) in pieces(path)?.into_iter().enumerate() {
        if i > 0 {
            out.push('x');
        }
        out.push_str(piece.1);
    }
    Ok(out)
}

/// `path` resolved against `identity` (`None`: the token has no entity). `None` when
/// any directive cannot be resolved or a value fails [`check_value`]: the rule then
/// matches nothing.
pub fn resolve(
    path: &str,
    identity: Option<&dyn TemplateSource>,
    allow_slashes: bool,
) -> Option<String> {
    let pieces = pieces(path).ok()?;
    let mut out = String::with_capacity(path.len() + 32);
    for (directive, text) in pieces {
        if let Some(d) = directive {
            let value = lookup(d.trim(), identity?)?;
            if !check_value(value, allow_slashes) {
                return None;
            }
            out.push_str(value);
        }
        out.push_str(text);
    }
    Some(out)
}

/// Whether a resolved `value` may be inserted into a path: not empty, no `*` or `+`,
/// no `/` unless `allow_slashes`, and then no empty, `.` or `..` segment.
pub fn check_value(value: &str, allow_slashes: bool) -> bool {
    if value.is_empty() || value.contains(['*', '+']) || value.chars().any(char::is_control) {
        return false;
    }
    if !value.contains('/') {
        return value != "." && value != "..";
    }
    allow_slashes
        && value
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..")
}

/// The path cut at its directives: the text before the first, then each directive
/// with the text after it.
fn pieces(path: &str) -> Result<Vec<(Option<&str>, &str)>, &'static str> {
    let mut parts = path.split("{{");
    let first = parts.next().unwrap_or_default();
    if first.contains("}}") {
        return Err(UNBALANCED);
    }
    let mut out = vec![(None, first)];
    for part in parts {
        let mut halves = part.split("}}");
        match (halves.next(), halves.next(), halves.next()) {
            (Some(directive), Some(text), None) => out.push((Some(directive), text)),
            _ => return Err(UNBALANCED),
        }
    }
    Ok(out)
}

/// One directive's value (OpenBao's `performTemplating` in ACL mode, without `time.*`).
fn lookup<'a>(directive: &str, identity: &'a dyn TemplateSource) -> Option<&'a str> {
    if let Some(rest) = directive.strip_prefix("identity.entity.") {
        return entity_field(rest, identity);
    }
    if let Some(rest) = directive.strip_prefix("identity.groups.") {
        return group_field(rest, identity);
    }
    None
}

fn entity_field<'a>(rest: &str, identity: &'a dyn TemplateSource) -> Option<&'a str> {
    match rest {
        "id" => Some(identity.entity_id()),
        "name" => Some(identity.entity_name()),
        _ => {
            if let Some(key) = rest.strip_prefix("metadata.") {
                return identity.entity_metadata().get(key).map(String::as_str);
            }
            let (accessor, field) = rest.strip_prefix("aliases.")?.split_once('.')?;
            let alias = identity.alias(accessor)?;
            match field {
                "id" => Some(alias.id),
                "name" => Some(alias.name),
                _ => {
                    if let Some(key) = field.strip_prefix("metadata.") {
                        alias.metadata.get(key).map(String::as_str)
                    } else {
                        let key = field.strip_prefix("custom_metadata.")?;
                        alias.custom_metadata.get(key).map(String::as_str)
                    }
                }
            }
        }
    }
}

fn group_field<'a>(rest: &str, identity: &'a dyn TemplateSource) -> Option<&'a str> {
    let (by, rest) = rest.split_once('.')?;
    let (selector, field) = rest.split_once('.')?;
    let group = match by {
        "ids" => identity.group_by_id(selector),
        "names" => identity.group_by_name(selector),
        _ => None,
    }?;
    match field {
        "id" => Some(group.id),
        "name" => Some(group.name),
        _ => group
            .metadata
            .get(field.strip_prefix("metadata.")?)
            .map(String::as_str),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> Identity {
        Identity {
            entity_id: "e-1".into(),
            entity_name: "ci-octo".into(),
            entity_metadata: BTreeMap::from([("team".into(), "blue".into())]),
            aliases: vec![IdentityAlias {
                mount_accessor: "auth_jwt_1a2b".into(),
                id: "a-1".into(),
                name: "repo:octo/app:ref:main".into(),
                metadata: BTreeMap::from([
                    ("repository".into(), "octo/app".into()),
                    ("repo_name".into(), "app".into()),
                    ("empty".into(), String::new()),
                ]),
                custom_metadata: BTreeMap::from([("tier".into(), "gold".into())]),
            }],
            groups: vec![IdentityGroup {
                id: "g-1".into(),
                name: "builders".into(),
                metadata: BTreeMap::from([("env".into(), "prod".into())]),
            }],
        }
    }

    fn r(path: &str) -> Option<String> {
        resolve(path, Some(&identity()), false)
    }

    #[test]
    fn every_directive_resolves_as_openbao() {
        assert_eq!(r("a/{{identity.entity.id}}/b").as_deref(), Some("a/e-1/b"));
        assert_eq!(
            r("a/{{ identity.entity.name }}").as_deref(),
            Some("a/ci-octo")
        );
        assert_eq!(
            r("a/{{identity.entity.metadata.team}}/*").as_deref(),
            Some("a/blue/*")
        );
        let alias = "identity.entity.aliases.auth_jwt_1a2b";
        assert_eq!(
            r(&format!("k/{{{{{alias}.id}}}}")).as_deref(),
            Some("k/a-1")
        );
        assert_eq!(
            r(&format!("k/{{{{{alias}.metadata.repo_name}}}}/*")).as_deref(),
            Some("k/app/*")
        );
        assert_eq!(
            r(&format!("k/{{{{{alias}.custom_metadata.tier}}}}")).as_deref(),
            Some("k/gold")
        );
        assert_eq!(
            r("g/{{identity.groups.ids.g-1.name}}").as_deref(),
            Some("g/builders")
        );
        assert_eq!(
            r("g/{{identity.groups.names.builders.id}}").as_deref(),
            Some("g/g-1")
        );
        assert_eq!(
            r("g/{{identity.groups.names.builders.metadata.env}}/{{identity.entity.id}}")
                .as_deref(),
            Some("g/prod/e-1")
        );
        assert_eq!(r("plain/*").as_deref(), Some("plain/*"));
    }

    #[test]
    fn unresolvable_templates_resolve_to_nothing() {
        for path in [
            "a/{{identity.entity.metadata.none}}",
            "a/{{identity.entity.aliases.auth_other.name}}",
            "a/{{identity.entity.aliases.auth_jwt_1a2b.metadata.empty}}",
            "a/{{identity.entity.aliases.auth_jwt_1a2b}}",
            "a/{{identity.entity.groups.names}}",
            "a/{{identity.entity.metadata}}",
            "a/{{identity.groups.names.Builders.id}}",
            "a/{{identity.groups.ids.g-1}}",
            "a/{{time.now}}",
            "a/{{entity.id}}",
        ] {
            assert_eq!(r(path), None, "{path}");
        }
        assert_eq!(
            resolve("a/{{identity.entity.id}}", None, true),
            None,
            "no entity"
        );
        assert_eq!(
            resolve("plain", None, false).as_deref(),
            Some("plain"),
            "no template, no identity needed"
        );
    }

    #[test]
    fn hostile_values_widen_nothing() {
        let tpl = "secret/data/ci/{{identity.entity.aliases.auth_jwt_1a2b.metadata.repository}}/*";
        for (value, slashes, expect) in [
            ("octo/app", false, None),
            ("octo/app", true, Some("secret/data/ci/octo/app/*")),
            ("*", true, None),
            ("A/*", true, None),
            ("A*", true, None),
            ("+", true, None),
            ("A/+/B", true, None),
            ("A/../B", true, None),
            ("..", true, None),
            (".", false, None),
            ("A//B", true, None),
            ("/A", true, None),
            ("A/", true, None),
            ("A\nB", true, None),
            ("a+b@example.com", true, None),
            ("A", false, Some("secret/data/ci/A/*")),
        ] {
            let mut id = identity();
            id.aliases[0]
                .metadata
                .insert("repository".into(), value.into());
            assert_eq!(
                resolve(tpl, Some(&id), slashes).as_deref(),
                expect,
                "{value:?} slashes={slashes}"
            );
        }
    }

    #[test]
    fn unbalanced_templates_are_refused_and_skeletons_keep_the_shape() {
        for path in ["a/{{x", "a/x}}", "a/{{x}}}}", "a/{{x}}/{{y", "}}{{x}}"] {
            assert_eq!(is_templated(path), Err(UNBALANCED), "{path}");
        }
        assert_eq!(is_templated("a/{{identity.entity.id}}/*"), Ok(true));
        assert_eq!(is_templated("a/b/*"), Ok(false));
        assert_eq!(
            skeleton("a/{{identity.entity.id}}/+/{{identity.entity.name}}*").as_deref(),
            Ok("a/x/+/x*")
        );
    }
}
