//! Caller ARNs and the role bindings they are matched against.
//!
//! STS (and API Gateway's IAM context) name the caller by ARN. Following Vault's aws
//! auth method with `resolve_aws_unique_ids=false` (its `parseIamArn` and
//! `canonicalArn`), a session of an assumed role,
//! `arn:PART:sts::ACCT:assumed-role/ROLE/SESSION`, is matched as the role,
//! `arn:PART:iam::ACCT:role/ROLE`: the role's path is not part of a session ARN, so it
//! cannot be matched. An IAM user, `arn:PART:iam::ACCT:user/PATH/NAME`, is matched by
//! its ARN as STS reports it (path included; Vault drops the path from its
//! `canonical_arn`). Other principals (the account root, federated users) cannot log in.

/// Longest ARN accepted, in bytes.
pub const MAX_ARN_BYTES: usize = 2048;

/// What kind of principal called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrincipalKind {
    /// An IAM user (`arn:PART:iam::ACCT:user/...`).
    User,
    /// A session of an assumed IAM role (`arn:PART:sts::ACCT:assumed-role/ROLE/SESSION`).
    AssumedRole,
}

/// A caller, parsed from its ARN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The ARN as reported (Vault's `client_arn`).
    pub client_arn: String,
    /// The ARN bindings are matched against (Vault's `canonical_arn`): the role's ARN
    /// for an assumed-role session, the user's ARN for a user.
    pub canonical_arn: String,
    /// The partition (`aws`, `aws-cn`, `aws-us-gov`, ...).
    pub partition: String,
    /// The 12-digit account ID.
    pub account_id: String,
    /// User or assumed role.
    pub kind: PrincipalKind,
    /// The user's or the role's name (Vault's `FriendlyName`).
    pub friendly_name: String,
    /// The session name of an assumed role.
    pub session: Option<String>,
}

fn account_ok(a: &str) -> bool {
    a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit())
}

fn partition_ok(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 32
        && p.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn name_ok(n: &str) -> bool {
    !n.is_empty() && n.len() <= 128
}

/// Parses a caller ARN; `None` when it is not an IAM user or an assumed-role session
/// (or is malformed: over [`MAX_ARN_BYTES`], whitespace or control characters, not
/// six `:`-separated parts, an account ID that is not 12 digits).
pub fn parse_caller(arn: &str) -> Option<Principal> {
    if arn.len() > MAX_ARN_BYTES || arn.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let parts: Vec<&str> = arn.split(':').collect();
    let ["arn", partition, service, "", account, resource] = parts.as_slice() else {
        return None;
    };
    if !partition_ok(partition) || !account_ok(account) {
        return None;
    }
    let segs: Vec<&str> = resource.split('/').collect();
    let (kind, friendly, session, canonical) = match (*service, segs.as_slice()) {
        ("iam", ["user", .., name]) if segs.len() >= 2 && segs.iter().all(|s| name_ok(s)) => {
            (PrincipalKind::User, *name, None, arn.to_owned())
        }
        ("sts", ["assumed-role", role, session]) if name_ok(role) && name_ok(session) => (
            PrincipalKind::AssumedRole,
            *role,
            Some((*session).to_owned()),
            format!("arn:{partition}:iam::{account}:role/{role}"),
        ),
        _ => return None,
    };
    Some(Principal {
        client_arn: arn.to_owned(),
        canonical_arn: canonical,
        partition: (*partition).to_owned(),
        account_id: (*account).to_owned(),
        kind,
        friendly_name: friendly.to_owned(),
        session,
    })
}

/// Checks a `bound_iam_principal_arn` entry: an ARN of six `:`-separated parts
/// starting `arn:`, at most [`MAX_ARN_BYTES`], without whitespace, whose account ID is
/// literal (12 digits, no `*`), so that a binding never reaches into other accounts.
/// `*` may appear anywhere else. Returns a client message on failure.
pub fn check_binding(pattern: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("invalid \"bound_iam_principal_arn\" entry: {why}"));
    if pattern.len() > MAX_ARN_BYTES {
        return bad("too long");
    }
    if pattern.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("contains whitespace");
    }
    let parts: Vec<&str> = pattern.split(':').collect();
    if parts.len() != 6 || parts[0] != "arn" {
        return bad("not an ARN (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE)");
    }
    if !account_ok(parts[4]) {
        return bad("the account ID must be 12 literal digits");
    }
    if parts[5].is_empty() {
        return bad("the resource is empty");
    }
    Ok(())
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters
/// (including none) and everything else matches itself, case-sensitively. Linear
/// backtracking (one saved star), so a pattern cannot make matching explode.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Whether the principal matches one of the role's bindings (by its canonical ARN).
pub fn bound(bindings: &[String], principal: &Principal) -> bool {
    bindings
        .iter()
        .any(|b| glob_match(b, &principal.canonical_arn))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assumed_role_sessions_are_matched_as_their_role() {
        let p = parse_caller("arn:aws:sts::123456789012:assumed-role/deploy/ci-job-17").unwrap();
        assert_eq!(p.kind, PrincipalKind::AssumedRole);
        assert_eq!(p.canonical_arn, "arn:aws:iam::123456789012:role/deploy");
        assert_eq!(p.friendly_name, "deploy");
        assert_eq!(p.session.as_deref(), Some("ci-job-17"));
        assert_eq!(p.account_id, "123456789012");
        let cn = parse_caller("arn:aws-cn:sts::123456789012:assumed-role/r/s").unwrap();
        assert_eq!(cn.canonical_arn, "arn:aws-cn:iam::123456789012:role/r");
    }

    #[test]
    fn users_are_matched_as_they_are() {
        let p = parse_caller("arn:aws:iam::123456789012:user/team/alice").unwrap();
        assert_eq!(p.kind, PrincipalKind::User);
        assert_eq!(p.canonical_arn, "arn:aws:iam::123456789012:user/team/alice");
        assert_eq!(p.friendly_name, "alice");
    }

    #[test]
    fn other_principals_and_malformed_arns_are_refused() {
        for bad in [
            "arn:aws:iam::123456789012:root",
            "arn:aws:sts::123456789012:federated-user/bob",
            "arn:aws:iam::123456789012:role/deploy",
            "arn:aws:sts::123456789012:assumed-role/deploy",
            "arn:aws:sts::123456789012:assumed-role/a/b/c",
            "arn:aws:iam::12345:user/alice",
            "arn:aws:iam:us-east-1:123456789012:user/alice",
            "arn:aws:sts::123456789012:user/moto",
            "arn:aws:iam::123456789012:user/",
            "arn:aws:iam::123456789012:user/a b",
            "arn:aws:iam::123456789012:user/a:b",
            "xrn:aws:iam::123456789012:user/alice",
            "",
        ] {
            assert!(parse_caller(bad).is_none(), "{bad}");
        }
        assert!(
            parse_caller(&format!(
                "arn:aws:iam::123456789012:user/{}",
                "a".repeat(3000)
            ))
            .is_none()
        );
    }

    #[test]
    fn globs() {
        assert!(glob_match("abc", "abc"));
        assert!(!glob_match("abc", "abcd"));
        assert!(glob_match("a*", "a"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*c*e", "abcde"));
        assert!(glob_match("a*c*e", "ace"));
        assert!(!glob_match("a*c*e", "abcd"));
        assert!(glob_match(
            "arn:aws:iam::123456789012:role/ci-*",
            "arn:aws:iam::123456789012:role/ci-deploy"
        ));
        assert!(!glob_match(
            "arn:aws:iam::123456789012:role/ci-*",
            "arn:aws:iam::123456789012:user/ci-deploy"
        ));
        // Backtracking stays linear in practice: a pathological pattern answers at once.
        let text = "a".repeat(2000);
        let pattern = format!("{}b", "*a".repeat(500));
        assert!(!glob_match(&pattern, &text));
    }

    #[test]
    fn bindings_keep_the_account_literal() {
        assert!(check_binding("arn:aws:iam::123456789012:role/x").is_ok());
        assert!(check_binding("arn:aws:iam::123456789012:*").is_ok());
        assert!(check_binding("arn:*:iam::123456789012:role/*").is_ok());
        for bad in [
            "*",
            "arn:*",
            "arn:aws:iam::*:role/x",
            "arn:aws:iam::12345678901*:role/x",
            "arn:aws:iam::123456789012:",
            "arn:aws:iam::123456789012:role/x y",
            "role/x",
        ] {
            assert!(check_binding(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_session_binds_through_its_role() {
        let p = parse_caller("arn:aws:sts::123456789012:assumed-role/ci-deploy/s1").unwrap();
        assert!(bound(&["arn:aws:iam::123456789012:role/ci-*".into()], &p));
        assert!(!bound(&["arn:aws:iam::123456789012:role/other".into()], &p));
        assert!(!bound(
            &["arn:aws:sts::123456789012:assumed-role/ci-deploy/*".into()],
            &p
        ));
    }
}
