//! `POST auth/aws/login`: establishes the caller's ARN (a signed `GetCallerIdentity`
//! forwarded to STS, or API Gateway's IAM request context), matches it against the
//! role's bindings and mints a token.
//!
//! Budget (as AppRole's): the configuration and the role in one read, the token in one
//! transaction: two DynamoDB round trips, plus the STS call for a signed request. A
//! login without `role` (Vault then uses the caller's user or role name as the role
//! name) reads the role after STS has answered: three round trips.

use std::collections::BTreeMap;

use super::arn::{self, Principal};
use super::caller_identity::{CallerIdentity, CallerIdentityError};
use super::config::{self, ClientConfig};
use super::iam_request::IamLogin;
use super::identity::{self, IdentityConfig};
use super::role::{self, AwsAuthRole};
use super::stored::{self, Stored};
use super::{MOUNT, Mount, refuse};
use crate::error::ApiError;
use crate::store::Store;
use crate::token::{Limits, Minted};

/// How the caller proves who it is.
#[derive(Debug)]
pub enum Proof<'a> {
    /// Vault's `iam` method: a signed `GetCallerIdentity` request.
    SignedRequest(IamLogin),
    /// The caller ARN API Gateway verified ([`crate::http::ApiRequest::iam_caller_arn`]).
    RequestContext(&'a str),
}

/// A login's result: the token, and who it was minted for.
#[derive(Debug)]
pub struct Login {
    /// The new token.
    pub minted: Minted,
    /// The caller.
    pub principal: Principal,
    /// The role it logged in through.
    pub role: String,
}

/// Vault's token display name for an aws login: `aws-` and the user's or role's name,
/// with characters other than letters, digits and `-` replaced by `-`.
pub fn display_name(principal: &Principal) -> String {
    let name: String = principal
        .friendly_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{MOUNT}-{name}")
}

/// The token metadata Vault's aws auth method sets for an `iam` login.
fn metadata(
    principal: &Principal,
    user_id: &str,
    role_name: &str,
    role: &AwsAuthRole,
) -> BTreeMap<String, String> {
    [
        ("account_id", principal.account_id.as_str()),
        ("auth_type", "iam"),
        ("canonical_arn", principal.canonical_arn.as_str()),
        ("client_arn", principal.client_arn.as_str()),
        // The unique ID without its session part, as Vault records it.
        (
            "client_user_id",
            user_id.split(':').next().unwrap_or_default(),
        ),
        ("inferred_aws_region", ""),
        ("inferred_entity_id", ""),
        ("inferred_entity_type", ""),
        ("role", role_name),
        ("role_id", role.role_id.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

async fn identify(
    sts: &dyn CallerIdentity,
    cfg: &ClientConfig,
    proof: &Proof<'_>,
) -> Result<(String, String), ApiError> {
    match proof {
        Proof::RequestContext(arn) => Ok(((*arn).to_owned(), String::new())),
        Proof::SignedRequest(iam) => {
            let req = iam.verify(cfg).map_err(refuse)?;
            match sts.get_caller_identity(&req).await {
                Ok(id) => Ok((id.arn, id.user_id)),
                Err(CallerIdentityError::Refused(code)) => {
                    tracing::info!(sts_code = %code, "STS refused a forwarded GetCallerIdentity");
                    Err(refuse("STS refused the signed request"))
                }
                Err(CallerIdentityError::Unavailable(why)) => {
                    tracing::warn!(reason = %why, "STS unavailable for an aws login");
                    Err(ApiError::Unavailable)
                }
            }
        }
    }
}

/// Logs in through role `role_name` (empty: the caller's user or role name) with
/// `proof`. Every failure that depends on the caller's credentials, the role or the
/// configuration is 400 [`super::INVALID_CREDENTIALS`]; STS being unavailable is 503;
/// malformed `iam_*` fields were refused before (by [`IamLogin::from_body`]); 404 when
/// the mount was disabled since the function read its table (`at`'s guard,
/// [`crate::mounts::guard`]). The token acts for the entity of the alias named as the
/// mount's `config/identity` says (default: the role's `role_id`;
/// [`super::identity`], [`crate::identity::login`]); 400 when `iam_alias` is
/// `unique_id` and the proof carries no unique ID (API Gateway's request context).
#[allow(clippy::too_many_arguments)]
pub async fn login(
    store: &dyn Store,
    m: Mount<'_>,
    sts: &dyn CallerIdentity,
    role_name: &str,
    proof: Proof<'_>,
    limits: Limits,
    at: &crate::identity::login::LoginAt,
    now: i64,
) -> Result<Login, ApiError> {
    let named = (!role_name.is_empty()).then_some(role_name);
    if named.is_some_and(|n| !role::valid_name(n)) {
        return Err(refuse("unknown role"));
    }
    let mut keys = vec![config::key(m), identity::key(m)];
    if let Some(n) = named {
        keys.push(role::key(m, n));
    }
    let mut found = store.get_many(&keys).await?;
    let cfg: ClientConfig = match found.first().and_then(Option::as_ref) {
        Some(item) => stored::decode(item, "aws auth config")?.doc,
        None => ClientConfig::default(),
    };
    let ident: IdentityConfig = match found.get(1).and_then(Option::as_ref) {
        Some(item) => stored::decode(item, identity::WHAT)?.doc,
        None => IdentityConfig::default(),
    };
    let mut role: Option<Stored<AwsAuthRole>> = match found.get_mut(2).and_then(Option::take) {
        Some(item) => Some(stored::decode(&item, "aws auth role")?),
        None if named.is_some() => return Err(refuse("unknown role")),
        None => None,
    };
    let (caller_arn, user_id) = identify(sts, &cfg, &proof).await?;
    let principal = arn::parse_caller(&caller_arn)
        .ok_or_else(|| refuse("the caller is not an IAM user or an assumed-role session"))?;
    let name = named.unwrap_or(&principal.friendly_name).to_owned();
    if role.is_none() {
        role = role::read(store, m, &name).await?;
    }
    let role = role.ok_or_else(|| refuse("unknown role"))?.doc;
    if !arn::bound(&role.bound_iam_principal_arn, &principal) {
        return Err(refuse("the caller is not bound by the role"));
    }
    let meta = metadata(&principal, &user_id, &name, &role);
    // The alias: named as `config/identity`'s `iam_alias` says, with its
    // `iam_metadata` fields (Vault's defaults: `role_id`; `account_id`, `auth_type`).
    let alias_name = match ident.iam_alias.as_str() {
        "unique_id" => meta["client_user_id"].clone(),
        "full_arn" => caller_arn.clone(),
        "canonical_arn" => principal.canonical_arn.clone(),
        _ => role.role_id.clone(),
    };
    if alias_name.is_empty() {
        // API Gateway's request context carries the caller's ARN, not its unique ID.
        return Err(ApiError::bad(
            "iam_alias \"unique_id\" needs the caller's unique ID: log in with a signed GetCallerIdentity request",
        ));
    }
    let alias_meta = ident
        .iam_fields()
        .into_iter()
        .filter_map(|f| {
            let v = meta.get(f)?;
            (!v.is_empty()).then(|| (f.to_owned(), v.clone()))
        })
        .collect();
    let params = role.token_params(m, &display_name(&principal), meta);
    let alias = at.alias(&alias_name, alias_meta);
    let minted = crate::identity::login::issue(store, at, &alias, &params, limits, now).await?;
    Ok(Login {
        minted,
        principal,
        role: name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth_aws::INVALID_CREDENTIALS;
    use crate::auth_aws::caller_identity::{FakeCallerIdentity, Identity};
    use crate::auth_aws::sign::{self, SignSpec};
    use crate::http::params::Body;
    use crate::store::memory::MemoryStore;
    use aws_credential_types::Credentials;
    use serde_json::json;

    const LIMITS: Limits = Limits {
        default_ttl: 3600,
        max_ttl: 7200,
        batch: None,
    };
    const ENDPOINT: &str = "https://sts.amazonaws.com";
    const USER: &str = "arn:aws:iam::123456789012:user/ci/alice";

    fn body(v: serde_json::Value) -> Body {
        serde_json::from_value(v).unwrap()
    }

    async fn setup(server_id: &str) -> (MemoryStore, FakeCallerIdentity) {
        let store = MemoryStore::new();
        config::write(
            &store,
            crate::auth_aws::Mount::DEFAULT,
            &body(json!({"sts_endpoint": ENDPOINT, "iam_server_id_header_value": server_id})),
        )
        .await
        .unwrap();
        role::write(&store, crate::auth_aws::Mount::DEFAULT,
            "ci",
            None,
            &body(json!({"bound_iam_principal_arn": [USER, "arn:aws:iam::123456789012:role/deploy-*"], "token_policies": "ci"})),
        )
        .await
        .unwrap();
        let sts = FakeCallerIdentity::new();
        sts.answer(
            "AKIDALICE",
            Ok(Identity {
                arn: USER.into(),
                user_id: "AIDAALICE".into(),
                account: "123456789012".into(),
            }),
        );
        sts.answer(
            "ASIADEPLOY",
            Ok(Identity {
                arn: "arn:aws:sts::123456789012:assumed-role/deploy-prod/job-1".into(),
                user_id: "AROADEPLOY:job-1".into(),
                account: "123456789012".into(),
            }),
        );
        sts.answer(
            "AKIDBOB",
            Ok(Identity {
                arn: "arn:aws:iam::123456789012:user/bob".into(),
                user_id: "AIDABOB".into(),
                account: "123456789012".into(),
            }),
        );
        (store, sts)
    }

    fn signed(key: &str, server_id: Option<&str>) -> IamLogin {
        let creds = Credentials::new(key, "secret", None, None, "test");
        let data = sign::login_data(
            &creds,
            ENDPOINT,
            "us-east-1",
            server_id,
            std::time::SystemTime::now(),
        )
        .unwrap();
        IamLogin::from_body(&data).unwrap()
    }

    fn tokens(store: &MemoryStore) -> usize {
        store
            .dump()
            .iter()
            .filter(|i| i.get("sk").and_then(crate::store::Value::as_str) == Some("token"))
            .count()
    }

    #[tokio::test]
    async fn a_bound_user_logs_in_in_two_round_trips() {
        let (store, sts) = setup("sigil.example").await;
        let at = crate::identity::login::LoginAt::unstored("auth_aws_0");
        let go = || {
            login(
                &store,
                crate::auth_aws::Mount::DEFAULT,
                &sts,
                "ci",
                Proof::SignedRequest(signed("AKIDALICE", Some("sigil.example"))),
                LIMITS,
                &at,
                10,
            )
        };
        let before = store.calls();
        let first = go().await.unwrap();
        assert_eq!(
            store.calls() - before,
            3,
            "one read, the alias's index, one transaction creating the entity"
        );
        let before = store.calls();
        let l = go().await.unwrap();
        assert_eq!(store.calls() - before, 2, "one read, one transaction");
        assert_eq!(sts.calls(), 2);
        assert!(!l.minted.entry.entity_id.is_empty());
        assert_eq!(l.minted.entry.entity_id, first.minted.entry.entity_id);
        let e = &l.minted.entry;
        assert_eq!(e.policies, ["ci", "default"]);
        assert_eq!(e.display_name, "aws-alice");
        assert_eq!(e.path, "auth/aws/login");
        assert_eq!(e.meta["client_arn"], USER);
        assert_eq!(e.meta["canonical_arn"], USER);
        assert_eq!(e.meta["account_id"], "123456789012");
        assert_eq!(e.meta["auth_type"], "iam");
        assert_eq!(e.meta["client_user_id"], "AIDAALICE");
        assert_eq!(e.meta["role"], "ci");
        assert_eq!(tokens(&store), 2);
    }

    #[tokio::test]
    async fn a_role_session_logs_in_through_a_wildcard_binding() {
        let (store, sts) = setup("").await;
        let l = login(
            &store,
            crate::auth_aws::Mount::DEFAULT,
            &sts,
            "ci",
            Proof::SignedRequest(signed("ASIADEPLOY", None)),
            LIMITS,
            &crate::identity::login::LoginAt::unstored("auth_aws_0"),
            10,
        )
        .await
        .unwrap();
        assert_eq!(
            l.principal.canonical_arn,
            "arn:aws:iam::123456789012:role/deploy-prod"
        );
        assert_eq!(l.minted.entry.meta["client_user_id"], "AROADEPLOY");
        assert_eq!(l.minted.entry.display_name, "aws-deploy-prod");
    }

    #[tokio::test]
    async fn refusals_are_uniform_and_write_nothing() {
        let (store, sts) = setup("sigil.example").await;
        let cases: Vec<(&str, IamLogin)> = vec![
            ("ci", signed("AKIDBOB", Some("sigil.example"))),
            ("ci", signed("AKIDUNKNOWN", Some("sigil.example"))),
            ("nope", signed("AKIDALICE", Some("sigil.example"))),
            ("ci", signed("AKIDALICE", Some("other.example"))),
            ("ci", signed("AKIDALICE", None)),
            ("bad/name", signed("AKIDALICE", Some("sigil.example"))),
        ];
        for (role_name, iam) in cases {
            let e = login(
                &store,
                crate::auth_aws::Mount::DEFAULT,
                &sts,
                role_name,
                Proof::SignedRequest(iam),
                LIMITS,
                &crate::identity::login::LoginAt::unstored("auth_aws_0"),
                10,
            )
            .await
            .unwrap_err();
            assert_eq!(e, ApiError::bad(INVALID_CREDENTIALS), "{role_name}");
        }
        // Signed for another host: refused before anything is sent to STS.
        let calls = sts.calls();
        let creds = Credentials::new("AKIDALICE", "secret", None, None, "test");
        let other = sign::login_data(
            &creds,
            "https://sts.example.com",
            "us-east-1",
            Some("sigil.example"),
            std::time::SystemTime::now(),
        )
        .unwrap();
        let e = login(
            &store,
            crate::auth_aws::Mount::DEFAULT,
            &sts,
            "ci",
            Proof::SignedRequest(IamLogin::from_body(&other).unwrap()),
            LIMITS,
            &crate::identity::login::LoginAt::unstored("auth_aws_0"),
            10,
        )
        .await
        .unwrap_err();
        assert_eq!(e, ApiError::bad(INVALID_CREDENTIALS));
        // Another action, signed for the right host.
        let spec = SignSpec::get_caller_identity(ENDPOINT, "us-east-1", Some("sigil.example"))
            .with_body("Action=GetSessionToken&Version=2011-06-15");
        let data = sign::sign(&creds, &spec, std::time::SystemTime::now()).unwrap();
        let e = login(
            &store,
            crate::auth_aws::Mount::DEFAULT,
            &sts,
            "ci",
            Proof::SignedRequest(IamLogin::from_body(&data).unwrap()),
            LIMITS,
            &crate::identity::login::LoginAt::unstored("auth_aws_0"),
            10,
        )
        .await
        .unwrap_err();
        assert_eq!(e, ApiError::bad(INVALID_CREDENTIALS));
        assert_eq!(sts.calls(), calls, "nothing forwarded");
        assert_eq!(tokens(&store), 0);
    }

    #[test]
    fn debug_of_a_proof_shows_no_credentials() {
        let creds = Credentials::new(
            "AKIDALICE",
            "SECRETKEY",
            Some("SESSIONTOKEN".into()),
            None,
            "t",
        );
        let data = sign::login_data(
            &creds,
            ENDPOINT,
            "us-east-1",
            None,
            std::time::SystemTime::now(),
        )
        .unwrap();
        let shown = format!(
            "{:?}",
            Proof::SignedRequest(IamLogin::from_body(&data).unwrap())
        );
        for secret in ["SECRETKEY", "SESSIONTOKEN", "Signature=", "AKIDALICE"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }

    #[tokio::test]
    async fn sts_outages_are_503() {
        let (store, sts) = setup("").await;
        sts.answer(
            "AKIDDOWN",
            Err(CallerIdentityError::Unavailable("HTTP 500".into())),
        );
        let e = login(
            &store,
            crate::auth_aws::Mount::DEFAULT,
            &sts,
            "ci",
            Proof::SignedRequest(signed("AKIDDOWN", None)),
            LIMITS,
            &crate::identity::login::LoginAt::unstored("auth_aws_0"),
            10,
        )
        .await
        .unwrap_err();
        assert_eq!(e, ApiError::Unavailable);
    }

    #[tokio::test]
    async fn request_context_and_role_by_caller_name() {
        let (store, sts) = setup("").await;
        role::write(
            &store,
            crate::auth_aws::Mount::DEFAULT,
            "alice",
            None,
            &body(json!({"bound_iam_principal_arn": USER})),
        )
        .await
        .unwrap();
        let l = login(
            &store,
            crate::auth_aws::Mount::DEFAULT,
            &sts,
            "",
            Proof::RequestContext(USER),
            LIMITS,
            &crate::identity::login::LoginAt::unstored("auth_aws_0"),
            10,
        )
        .await
        .unwrap();
        assert_eq!(l.role, "alice", "no role: the caller's name");
        assert_eq!(l.minted.entry.meta["client_user_id"], "");
        assert_eq!(sts.calls(), 0, "the context needs no STS call");
        let e = login(
            &store,
            crate::auth_aws::Mount::DEFAULT,
            &sts,
            "ci",
            Proof::RequestContext("arn:aws:iam::123456789012:user/bob"),
            LIMITS,
            &crate::identity::login::LoginAt::unstored("auth_aws_0"),
            10,
        )
        .await
        .unwrap_err();
        assert_eq!(e, ApiError::bad(INVALID_CREDENTIALS));
    }

    /// `config/identity` names the alias (each `iam_alias`) and picks its metadata;
    /// `unique_id` without one (the request context) is refused, writing nothing.
    #[tokio::test]
    async fn config_identity_names_the_alias() {
        let (store, sts) = setup("").await;
        let m = crate::auth_aws::Mount::DEFAULT;
        let at = crate::identity::login::LoginAt::unstored("auth_aws_0");
        let session = "arn:aws:sts::123456789012:assumed-role/deploy-prod/job-1";
        let canonical = "arn:aws:iam::123456789012:role/deploy-prod";
        for (choice, want) in [
            ("unique_id", "AROADEPLOY"),
            ("full_arn", session),
            ("canonical_arn", canonical),
        ] {
            let b = json!({"iam_alias": choice, "iam_metadata": "client_arn,inferred_hostname"});
            identity::write(&store, m, &body(b)).await.unwrap();
            let proof = Proof::SignedRequest(signed("ASIADEPLOY", None));
            let l = login(&store, m, &sts, "ci", proof, LIMITS, &at, 10)
                .await
                .unwrap();
            let r = crate::identity::store::entity(&store, &l.minted.entry.entity_id)
                .await
                .unwrap()
                .unwrap();
            let a = &r.aliases[0].rec;
            assert_eq!(a.name, want, "{choice}");
            assert_eq!(
                a.metadata,
                BTreeMap::from([("client_arn".to_owned(), session.to_owned())]),
                "chosen fields, empty ones left out"
            );
        }
        let before = store.dump();
        identity::write(&store, m, &body(json!({"iam_alias": "unique_id"})))
            .await
            .unwrap();
        let before_login = store.dump();
        let e = login(
            &store,
            m,
            &sts,
            "ci",
            Proof::RequestContext(USER),
            LIMITS,
            &at,
            10,
        )
        .await
        .unwrap_err();
        assert!(e.to_string().contains("unique ID"), "{e}");
        assert_eq!(store.dump(), before_login);
        assert_ne!(before, before_login);
    }
}
