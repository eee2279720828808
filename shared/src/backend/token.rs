//! The token store's paths (`auth/token/`): create (a child, or an orphan), lookup,
//! renew and revoke, of oneself or of another token (rules: [`crate::token`],
//! [`crate::token_create`]).

use secrecy::SecretString;

use crate::error::ApiError;
use crate::http::envelope::{Envelope, Reply};
use crate::http::params::BodyExt;
use crate::mounts::Table;
use crate::op;
use crate::policy::Capability;
use crate::revocation;
use crate::token::{self, TokenEntry};
use crate::token_create::CreateRequest;
use crate::token_role::{self, TokenRole};

use super::ctx::Ctx;
use super::reply::keys_reply;
use super::spec::PathSpec;

/// The token store's paths.
pub static PATHS: &[PathSpec] = &[
    PathSpec::new("create", &[op!(Update, Login, create)]),
    PathSpec::new("create-orphan", &[op!(Update, Login, create_orphan)]),
    PathSpec::new("create/{role}", &[op!(Update, Login, create_with_role)]),
    PathSpec::new("roles", &[op!(List, Admin, list_roles)]),
    PathSpec::new("accessors", &[op!(List, Admin, list_accessors)]).sudo(),
    PathSpec::new(
        "roles/{name}",
        &[
            op!(Read, Admin, read_role),
            op!(Update, Admin, write_role),
            op!(Delete, Admin, delete_role),
        ],
    )
    .existence_check(),
    PathSpec::new(
        "lookup-self",
        &[
            op!(Read, Issue, lookup_self),
            op!(Update, Issue, lookup_self),
        ],
    ),
    PathSpec::new(
        "lookup",
        &[op!(Read, Issue, lookup), op!(Update, Issue, lookup)],
    ),
    PathSpec::new("lookup-accessor", &[op!(Update, Admin, lookup_accessor)]),
    PathSpec::new("renew-self", &[op!(Update, Renew, renew_self)]),
    PathSpec::new("renew", &[op!(Update, Renew, renew_other)]),
    PathSpec::new("revoke-self", &[op!(Update, Revoke, revoke_self)]),
    PathSpec::new("revoke", &[op!(Update, Revoke, revoke_other)]),
    PathSpec::new("revoke-accessor", &[op!(Update, Revoke, revoke_accessor)]),
    // Vault checks sudo in the handler (400), not as a root-protected path (403).
    PathSpec::new("revoke-orphan", &[op!(Update, Revoke, revoke_orphan)]),
];

async fn create(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    create_token(c, false, "auth/token/create").await
}

async fn create_orphan(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    create_token(c, true, "auth/token/create-orphan").await
}

async fn create_with_role(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let name = c.param("role");
    let role = token_role::read(c.store(), name)
        .await?
        .ok_or_else(|| ApiError::bad(format!("unknown role {name}")))?;
    create_token_with(c, false, "", Some((name, &role))).await
}

/// Creates a token for the caller (Vault's rules: [`crate::token_create`]); a child
/// is filed under its parent in the same transaction, only while the parent is not
/// being revoked (403 then).
async fn create_token(c: &Ctx<'_>, orphan: bool, path: &str) -> Result<Reply, ApiError> {
    create_token_with(c, orphan, path, None).await
}

async fn create_token_with(
    c: &Ctx<'_>,
    orphan: bool,
    path: &str,
    role: Option<(&str, &TokenRole)>,
) -> Result<Reply, ApiError> {
    let mut parent = c.caller()?.entry.clone();
    let sudo = c.grant.caps.contains(Capability::Sudo);
    let request = CreateRequest::from_body(c.body)?;
    let mut attempts = 0;
    let (minted, mut warnings) = loop {
        let (params, warnings) = request.params_with(&parent, sudo, orphan, path, role)?;
        let minted = token::mint(&params, c.limits(), c.now)?;
        match c.store().transact(minted.writes()).await {
            Ok(()) => break (minted, warnings),
            // The parent's revocation started (403), or a revoke-orphan above it
            // rewrote its ancestors meanwhile: read it again and retry.
            Err(e) if e.is_condition() && attempts < 3 => {
                attempts += 1;
                parent = token::find_by_hash(c.store(), &parent.hash, c.now)
                    .await?
                    .ok_or(ApiError::PermissionDenied)?;
            }
            Err(e) if e.is_condition() => return Err(ApiError::PermissionDenied),
            Err(e) => return Err(e.into()),
        }
    };
    warnings.extend(minted.warnings.iter().cloned());
    // Vault warns of policies that do not exist (the token gets them all the same).
    for p in crate::policies::missing(c.store(), &minted.entry.policies).await? {
        warnings.push(format!("Policy {p:?} does not exist"));
    }
    let ttl = minted.entry.expire_at - c.now;
    let mut auth = token::auth_json(&minted.entry, Some(&minted.token), ttl);
    // Vault's token creation answers no `identity_policies` (logins do), and
    // `metadata: null` when none was given.
    if let serde_json::Value::Object(m) = &mut auth {
        m.remove("identity_policies");
        if minted.entry.meta.is_empty() {
            m.insert("metadata".into(), serde_json::Value::Null);
        }
    }
    Ok(Envelope {
        auth: Some(auth),
        warnings,
        ..Envelope::default()
    }
    .mount("token")
    .ok())
}

/// Most accessors one LIST answers (about 300 KB of JSON, far below Lambda's 6 MB
/// response limit); past it the answer says so in a warning.
pub const ACCESSORS_MAX: usize = 10_000;

async fn list_accessors(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let mounts: Vec<String> = c
        .table
        .entries
        .iter()
        .filter(|e| e.table == Table::Auth)
        .map(|e| e.full_path())
        .collect();
    let (keys, more) = token::list_accessors(c.store(), &mounts, ACCESSORS_MAX, c.now).await?;
    let mut reply = keys_reply(keys)?;
    if more && let Reply::Envelope(_, env) = &mut reply {
        env.warnings.push(format!(
            "only the first {ACCESSORS_MAX} accessors are listed"
        ));
    }
    Ok(reply)
}

async fn list_roles(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    keys_reply(token_role::list(c.store()).await?)
}

async fn read_role(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let name = c.param("name");
    let role = token_role::read(c.store(), name)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Envelope::data(role.to_json(name)).mount("token").ok())
}

async fn write_role(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let name = c.param("name");
    // Vault's existence check: creating a role needs `create`, changing one `update`.
    c.grant
        .require_write(token_role::read(c.store(), name).await?.is_some())?;
    token_role::write(c.store(), name, c.body).await?;
    Ok(Reply::NoContent)
}

async fn delete_role(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    token_role::delete(c.store(), c.param("name")).await?;
    Ok(Reply::NoContent)
}

async fn lookup_self(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let caller = c.caller()?;
    let mut data = token::lookup_json(&caller.entry, Some(&caller.token), c.now);
    // As OpenBao: the policies the token's entity and its groups add, when any (the
    // identity the request was judged with).
    let added = c
        .identity
        .as_ref()
        .map(|i| i.policies())
        .unwrap_or_default();
    if !added.is_empty()
        && let serde_json::Value::Object(m) = &mut data
    {
        m.insert("identity_policies".into(), serde_json::json!(added));
    }
    Ok(Envelope::data(data).mount("token").ok())
}

async fn lookup(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    // Vault looks up the caller's own token when none is named.
    if c.body.string("token")?.is_none_or(|t| t.is_empty()) {
        return lookup_self(c).await;
    }
    let (entry, tok) = by_token(c, || ApiError::Denied("bad token".into())).await?;
    Ok(
        Envelope::data(token::lookup_json(&entry, Some(&tok), c.now))
            .mount("token")
            .ok(),
    )
}

async fn lookup_accessor(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let acc = c
        .body
        .string("accessor")?
        .ok_or_else(|| ApiError::bad("missing accessor"))?;
    let entry = token::find_by_accessor(c.store(), &acc, c.now)
        .await?
        .filter(|e| c.token_usable(e))
        .ok_or_else(|| ApiError::bad("invalid accessor"))?;
    Ok(Envelope::data(token::lookup_json(&entry, None, c.now))
        .mount("token")
        .ok())
}

async fn renew_self(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let caller = c.caller()?;
    renew(c, &caller.entry, &caller.token).await
}

/// Vault's answers to renewing or revoking a batch token (400).
const BATCH_NOT_RENEWED: &str = "batch tokens cannot be renewed";
const BATCH_NOT_REVOKED: &str = "batch tokens cannot be revoked";

async fn renew_other(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let (entry, tok) = by_token(c, || ApiError::bad("token not found")).await?;
    renew(c, &entry, &tok).await
}

async fn revoke_self(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    revoke(c, &c.caller()?.entry).await
}

fn refuse_batch_revocation(entry: &TokenEntry) -> Result<(), ApiError> {
    if entry.batch {
        Err(ApiError::bad(BATCH_NOT_REVOKED))
    } else {
        Ok(())
    }
}

async fn revoke_other(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    // Revoking an unknown or expired token succeeds, as in Vault; a missing or
    // malformed `token` parameter does not.
    let tok = token_param(c)?;
    if let Some(entry) = c.find_token(&tok).await? {
        revoke(c, &entry).await?;
    }
    Ok(Reply::NoContent)
}

async fn revoke_accessor(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let acc = c
        .body
        .string("accessor")?
        .ok_or_else(|| ApiError::bad("missing accessor"))?;
    if let Some(entry) = token::find_by_accessor(c.store(), &acc, c.now).await? {
        revoke(c, &entry).await?;
    }
    Ok(Reply::NoContent)
}

/// `auth/token/revoke-orphan` (Vault's rules and texts): revokes the token and its
/// leases; its children live on as orphans (lookups show `orphan: true` once the
/// revocation's reroot of them is done, and they authenticate throughout). Needs
/// `sudo` on the path: 400 `root or sudo privileges required to revoke and orphan`
/// otherwise; 400 `token to revoke not found` for an unknown token. The rest of a large
/// subtree's rewrite is left to the sweeper, as a revocation's.
async fn revoke_orphan(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    let tok = c
        .body
        .string("token")?
        .filter(|t| !t.is_empty())
        .map(SecretString::from)
        .ok_or_else(|| ApiError::bad("missing token ID"))?;
    if !c.grant.caps.contains(Capability::Sudo) {
        return Err(ApiError::bad(
            "root or sudo privileges required to revoke and orphan",
        ));
    }
    let not_found = || ApiError::bad("token to revoke not found");
    if crate::batch_token::is_batch(&tok) {
        return match c.find_token(&tok).await? {
            Some(_) => Err(ApiError::bad(BATCH_NOT_REVOKED)),
            None => Err(not_found()),
        };
    }
    let hash = token::hash_presented(&tok).ok_or_else(not_found)?;
    for _ in 0..5 {
        let Some((entry, live)) = token::find_counted(c.store(), &hash, c.now)
            .await?
            .filter(|(e, _)| c.token_usable(e))
        else {
            return Err(not_found());
        };
        let Some(mut job) = revocation::start_orphan(c.store(), &entry, live, c.now).await? else {
            // Revoked, or an ancestor changed, meanwhile: read it again.
            continue;
        };
        revocation::step_inline(c.store(), c.svc.revokers, &mut job, c.now).await;
        return Ok(Reply::NoContent);
    }
    Err(ApiError::Unavailable)
}

/// Revokes a token: one transaction marks it (from then on it authenticates nothing and
/// no new lease can be filed under it) and records the revocation's job; the job is
/// then worked here for [`revocation::INLINE_BUDGET`] leases and finished by the
/// sweeper if it holds more (a token with 1,000 leases is refused at once all the
/// same). 204 once the mark is written: the rest is durable. A token whose revocation
/// already began is left to that revocation.
async fn revoke(c: &Ctx<'_>, entry: &TokenEntry) -> Result<Reply, ApiError> {
    refuse_batch_revocation(entry)?;
    let Some(mut job) = revocation::start_token(c.store(), &entry.hash, c.now).await? else {
        return Ok(Reply::NoContent);
    };
    revocation::step_inline(c.store(), c.svc.revokers, &mut job, c.now).await;
    Ok(Reply::NoContent)
}

async fn renew(c: &Ctx<'_>, entry: &TokenEntry, tok: &SecretString) -> Result<Reply, ApiError> {
    if entry.batch {
        return Err(ApiError::bad(BATCH_NOT_RENEWED));
    }
    let increment = c.body.duration("increment")?.unwrap_or(0);
    let r = token::renew(c.store(), entry, increment, c.now).await?;
    let mut renewed = entry.clone();
    renewed.expire_at = c.now + r.ttl;
    Ok(Envelope {
        auth: Some(token::auth_json(&renewed, Some(tok), r.ttl)),
        warnings: r.warnings,
        ..Envelope::default()
    }
    .mount("token")
    .ok())
}

fn token_param(c: &Ctx<'_>) -> Result<SecretString, ApiError> {
    c.body
        .string("token")?
        .filter(|t| !t.is_empty())
        .map(SecretString::from)
        .ok_or_else(|| ApiError::bad("missing token"))
}

/// The live token the body's (or query's) `token` names; `unknown` when there is none
/// (Vault answers a lookup 403 `bad token`, a renewal 400 `token not found`).
async fn by_token(
    c: &Ctx<'_>,
    unknown: fn() -> ApiError,
) -> Result<(TokenEntry, SecretString), ApiError> {
    let tok = token_param(c)?;
    let entry = c
        .find_token(&tok)
        .await?
        .filter(|e| c.token_usable(e))
        .ok_or_else(unknown)?;
    Ok((entry, tok))
}
