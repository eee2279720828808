//! Capabilities: what a policy rule grants on a path (Vault's capability list).
//!
//! A [`Capabilities`] value is a bit set of [`Capability`]; `deny` is a bit like the
//! others, and a rule holding it grants nothing (Vault: "deny always takes precedence
//! regardless of any other defined capabilities, including sudo").

use std::fmt;
use std::str::FromStr;

/// One capability a policy rule can grant (Vault's capability names).
///
/// `create`, `read`, `update`, `patch`, `delete` and `list` map to request operations;
/// `sudo` unlocks root-protected paths (in addition to the operation's own capability);
/// `deny` disallows everything on the path and wins over every other capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Capability {
    /// `create`: create data at a path (POST/PUT where the engine distinguishes create).
    Create,
    /// `read`: read data at a path (GET).
    Read,
    /// `update`: change data at a path (POST/PUT); also renew and revoke operations.
    Update,
    /// `patch`: partially update data at a path (PATCH).
    Patch,
    /// `delete`: delete data at a path (DELETE).
    Delete,
    /// `list`: list keys under a path (LIST).
    List,
    /// `sudo`: access root-protected paths.
    Sudo,
    /// `deny`: disallow access; overrides every other capability.
    Deny,
}

impl Capability {
    /// Every capability, in Vault's display order (`deny` last).
    pub const ALL: [Capability; 8] = [
        Capability::Create,
        Capability::Read,
        Capability::Update,
        Capability::Patch,
        Capability::Delete,
        Capability::List,
        Capability::Sudo,
        Capability::Deny,
    ];

    /// The capability's name as written in policies (`"read"`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            Capability::Create => "create",
            Capability::Read => "read",
            Capability::Update => "update",
            Capability::Patch => "patch",
            Capability::Delete => "delete",
            Capability::List => "list",
            Capability::Sudo => "sudo",
            Capability::Deny => "deny",
        }
    }

    const fn bit(self) -> u16 {
        match self {
            Capability::Create => 1,
            Capability::Read => 1 << 1,
            Capability::Update => 1 << 2,
            Capability::Patch => 1 << 3,
            Capability::Delete => 1 << 4,
            Capability::List => 1 << 5,
            Capability::Sudo => 1 << 6,
            Capability::Deny => 1 << 7,
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error from [`Capability::from_str`]: the name is not one of Vault's capabilities.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown capability {0:?}")]
pub struct UnknownCapability(pub String);

impl FromStr for Capability {
    type Err = UnknownCapability;

    /// Parses a capability name exactly as Vault spells it (lower case: `"read"`, ...).
    ///
    /// # Errors
    /// [`UnknownCapability`] for any other string (Vault rejects unknown capabilities
    /// when a policy is written).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Capability::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownCapability(s.to_owned()))
    }
}

/// A set of [`Capability`] values, stored as a bit set (copying it is free).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub struct Capabilities(u16);

impl Capabilities {
    /// The empty set: grants nothing (what an unmatched path gets: deny by default).
    pub const NONE: Capabilities = Capabilities(0);

    /// What the `root` policy holds on every path: every capability except `deny`,
    /// `sudo` included.
    pub const fn all_root() -> Self {
        Capabilities(
            Capability::Create.bit()
                | Capability::Read.bit()
                | Capability::Update.bit()
                | Capability::Patch.bit()
                | Capability::Delete.bit()
                | Capability::List.bit()
                | Capability::Sudo.bit(),
        )
    }

    /// Whether `c` is in the set.
    pub fn contains(self, c: Capability) -> bool {
        self.0 & c.bit() != 0
    }

    /// Adds `c` to the set.
    pub fn insert(&mut self, c: Capability) {
        self.0 |= c.bit();
    }

    /// The union of both sets (how identical paths in several policies combine).
    #[must_use]
    pub fn union(self, o: Self) -> Self {
        Capabilities(self.0 | o.0)
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether the set holds `deny` (such a rule grants nothing).
    pub fn is_deny(self) -> bool {
        self.contains(Capability::Deny)
    }

    /// The capabilities in the set, in order (`create`, `read`, `update`, `patch`,
    /// `delete`, `list`, `sudo`).
    pub fn iter(self) -> impl Iterator<Item = Capability> {
        Capability::ALL
            .into_iter()
            .filter(move |c| self.contains(*c))
    }

    /// Names for display, as Vault's `sys/capabilities*` endpoints report them: the
    /// granted capabilities in the order `create, read, update, patch, delete, list,
    /// sudo`, or `["deny"]` when the set holds `deny` or is empty (Vault's rule).
    pub fn names(self) -> Vec<&'static str> {
        if self.is_deny() || self.is_empty() {
            return vec![Capability::Deny.as_str()];
        }
        self.iter().map(Capability::as_str).collect()
    }
}

impl From<Capability> for Capabilities {
    fn from(c: Capability) -> Self {
        Capabilities(c.bit())
    }
}

impl FromIterator<Capability> for Capabilities {
    fn from_iter<I: IntoIterator<Item = Capability>>(iter: I) -> Self {
        let mut set = Capabilities::NONE;
        for c in iter {
            set.insert(c);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in Capability::ALL {
            assert_eq!(c.as_str().parse::<Capability>(), Ok(c));
        }
        assert_eq!(
            "reed".parse::<Capability>(),
            Err(UnknownCapability("reed".into()))
        );
        assert_eq!(
            "READ".parse::<Capability>().map_err(|e| e.to_string()),
            Err("unknown capability \"READ\"".to_owned())
        );
    }

    #[test]
    fn set_operations() {
        let mut set = Capabilities::NONE;
        assert!(set.is_empty());
        set.insert(Capability::List);
        set.insert(Capability::Read);
        assert!(set.contains(Capability::Read) && !set.contains(Capability::Update));
        assert_eq!(set.names(), ["read", "list"]);
        let more = set.union(Capabilities::from(Capability::Sudo));
        assert_eq!(more.names(), ["read", "list", "sudo"]);
        assert_eq!(Capabilities::NONE.names(), ["deny"]);
        let denied: Capabilities = [Capability::Read, Capability::Deny].into_iter().collect();
        assert_eq!(denied.names(), ["deny"]);
    }

    #[test]
    fn root_has_everything_but_deny() {
        let root = Capabilities::all_root();
        assert_eq!(
            root.names(),
            [
                "create", "read", "update", "patch", "delete", "list", "sudo"
            ]
        );
        assert!(!root.is_deny());
    }
}
