//! The request pipeline: resolve, authenticate, authorize, audit, then run the path's
//! handler, in that order.

use secrecy::ExposeSecret;
use tracing::Instrument;

use crate::app::App;
use crate::audit::Exchange;
use crate::authz;
use crate::backend::{Caller, Ctx, Services};
use crate::error::ApiError;
use crate::http::envelope::Reply;
use crate::http::{ApiRequest, ApiResponse};
use crate::route::{self, Operation};

impl App {
    /// Handles one request: resolves the route, refuses routes of other functions
    /// (404), authenticates and authorizes, then runs the handler. Never panics on
    /// input; every error becomes Vault's error body.
    pub async fn handle(&self, req: ApiRequest) -> ApiResponse {
        let span = tracing::info_span!(
            "request",
            function = self.function.name(),
            request_id = %req.request_id,
            method = %req.method,
        );
        async {
            // Fail closed: without the audit key no line can be written, so nothing runs.
            let key = match self.keyring.audit_key().await {
                Ok(key) => key,
                Err(e) => {
                    tracing::error!(error = %e, "audit key unavailable; request refused");
                    return ApiResponse::error(&ApiError::from(e));
                }
            };
            let mut audit = crate::audit::Exchange::start(
                self.audit.clone(),
                key,
                &req,
                self.function.name(),
                self.clock.now(),
            );
            let result = dispatch(self, &req, &mut audit).await;
            let (resp, error) = match result {
                Ok(reply) => (reply.into_response(&req.request_id), None),
                Err(e) => {
                    if e.status() >= 500 {
                        tracing::error!(code = e.code(), "request failed");
                    } else {
                        tracing::info!(code = e.code(), status = e.status(), "request refused");
                    }
                    (ApiResponse::error(&e), Some(e))
                }
            };
            let audited = audit
                .write_request(error.as_ref())
                .and_then(|()| audit.write_response(&resp, error.as_ref()));
            if audited.is_err() {
                tracing::error!("audit line not written; response withheld");
                return ApiResponse::error(&ApiError::Internal);
            }
            resp
        }
        .instrument(span)
        .await
    }
}

/// Authenticates a batch token ([`crate::batch_token`]): opened with the keyring's key,
/// no read for an orphan; a child's ancestors are read as a service token's (one batch
/// read). 403 as for an unknown token when it does not open, has expired, or an
/// ancestor no longer authenticates. `None`: no mount table generation was read.
#[allow(clippy::type_complexity)]
async fn batch_lookup(
    app: &App,
    key: &crate::crypto::SealingKey,
    token: &secrecy::SecretString,
    now: i64,
) -> Result<(crate::token::TokenEntry, Option<Option<crate::store::Item>>), ApiError> {
    let entry = crate::token::find_batch(app.store.as_ref(), key, token, now)
        .await?
        .ok_or(ApiError::PermissionDenied)?;
    Ok((entry, None))
}

/// A request that reached a function that does not serve its route.
fn wrong_function(path: &str) -> ApiError {
    ApiError::no_route(path)
}

/// Resolves, authenticates, authorizes, audits and runs the handler for `req`, in that
/// order: the request's audit line is written after authorization and before anything
/// is written (a limited-use token's use included), so a failing audit device stops
/// the request with nothing changed (fail closed).
pub(crate) async fn dispatch(
    app: &App,
    req: &ApiRequest,
    audit: &mut Exchange,
) -> Result<Reply, ApiError> {
    // Go's strconv.ParseBool, as Vault parses `list`.
    let list = matches!(
        req.query_param("list"),
        Some("1" | "t" | "T" | "true" | "TRUE" | "True")
    );
    req.check_limits()?;
    // A repeated query parameter: handlers read the first value, so policies would
    // judge one value and the handler use another. Vault refuses a repeated string
    // field with this text.
    if let Some(k) = repeated_query_param(req) {
        return Err(ApiError::bad(format!(
            "error converting input for field \"{k}\": '' expected type 'string', got unconvertible type '[]string'"
        )));
    }
    let now = app.clock.now();
    let ttl = app.config.policy_cache_ttl;
    let mut table = app.mounts.get(app.store.as_ref(), now, ttl).await?;
    let mut resolved = route::resolve(&table, &req.method, &req.path, list);
    let mut wrap_ttl = 0;
    // The request authenticates with the wrapping token it names (no `token` in the
    // body): a refusal of that token means it was used meanwhile. A caller's own
    // token refused is the caller's 403, not the wrapping token's fault.
    let mut wrapping_self = false;
    if let Ok(r) = &resolved {
        wrap_ttl = admit_route(app, req, audit, r)?;
        // Routes naming a wrapping token check it first, as Vault does.
        if r.spec.wrapping_token {
            wrapping_self = crate::wrapping::validate(app.store.as_ref(), req, now)
                .await
                .inspect_err(|_| audit.decide(false))?;
        }
    }
    let public = resolved.as_ref().is_ok_and(|r| r.spec.public);
    let token = req.token();
    // Loaded with the audit key: a memory read.
    let batch_key = app.keyring.batch_token_key().await?;
    let mut caller = None;
    // Items the route's handler reads first, read with a service token (one round
    // trip) and kept only while the route stands ([`crate::store::prefetch`]).
    let mut prefetched = Vec::new();
    if !public && (resolved.is_ok() || token.is_some()) {
        // A request with a service token reads the mount table's generation with the
        // token (one round trip): a mount changed since the cached table was read is
        // routed by the new table, so a disabled mount serves nothing from then on. A
        // batch token is read from itself: its request is routed by the cached table
        // (refreshed every policy cache TTL), with no read.
        let looked = match token.as_ref() {
            Some(t) if crate::batch_token::is_batch(t) => {
                batch_lookup(app, &batch_key, t, now).await
            }
            _ => {
                let mut keys = vec![crate::mounts::store::generation_key()];
                if let Ok(r) = &resolved {
                    keys.extend(prefetch_keys(app, req, r));
                }
                crate::token::lookup_with(app.store.as_ref(), token.as_ref(), &keys, now)
                    .await
                    .map(|(entry, items)| {
                        let mut items = items.into_iter();
                        let generation = items.next().flatten();
                        prefetched = keys.into_iter().skip(1).zip(items).collect();
                        (entry, Some(generation))
                    })
            }
        };
        let (entry, generation) = match (looked, &resolved) {
            (Ok(found), _) => found,
            // An unknown path stays a 404, whatever the token.
            (Err(_), Err(e)) => return Err(e.clone()),
            (Err(e), Ok(r)) => {
                audit.decide(false);
                return Err(match e {
                    // A wrapping token used up by a concurrent unwrap since it was
                    // checked: Vault's answer for a used one.
                    ApiError::PermissionDenied if r.spec.wrapping_token && wrapping_self => {
                        crate::wrapping::invalid()
                    }
                    e => e,
                });
            }
        };
        let generation = match generation {
            Some(item) => crate::mounts::store::generation_of(item.as_ref())?,
            None => table.generation,
        };
        if generation != table.generation {
            // Routed again by the new table: what was read for the old route goes.
            prefetched.clear();
            table = app
                .mounts
                .at_generation(app.store.as_ref(), generation, now, ttl)
                .await?;
            resolved = route::resolve(&table, &req.method, &req.path, list);
            if let Ok(r) = &resolved {
                wrap_ttl = admit_route(app, req, audit, r)?;
            }
        }
        // A token issued through an auth mount that is gone (disabled since) is
        // refused at once; the sweeper revokes it with the mount's other items.
        // So is one under a revoke-prefix of an auth path still under way.
        if !table.token_usable(&entry.path, &entry.mount_accessor, entry.issued_at) {
            if resolved.is_ok() {
                audit.decide(false);
            }
            return Err(ApiError::PermissionDenied);
        }
        caller = token.map(|token| Caller { entry, token });
    }
    let resolved = resolved?;
    if resolved.spec.public {
        caller = None;
    }
    if let Some(c) = &caller {
        audit.caller(c.token.expose_secret(), &c.entry);
    } else if !resolved.spec.public {
        return Err(ApiError::PermissionDenied);
    }
    // Vault takes a GET's, LIST's or DELETE's parameters from the query string only
    // (a body sent with them is ignored), a write's from its body. Policies judge the
    // very map the handler reads, so no parameter can reach a handler unjudged.
    let mut body = if matches!(
        resolved.op,
        Operation::Read | Operation::List | Operation::Delete
    ) {
        req.query
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect()
    } else {
        req.json()?
    };
    (resolved.spec.normalize)(&mut body);
    let params = &body;
    audit.data(params);
    // The identity the token acts for: its entity's and groups' policies are judged
    // with the token's; a disabled or deleted entity's token is refused (OpenBao).
    let identity = match caller.as_ref().filter(|c| !c.entry.entity_id.is_empty()) {
        Some(c) => Some(
            app.identity
                .entities
                .for_token(app.store.as_ref(), &c.entry.entity_id, now, ttl)
                .await
                .inspect_err(|e| {
                    if matches!(e, ApiError::PermissionDenied) {
                        audit.decide(false);
                    }
                })?,
        ),
        None => None,
    };
    let grant = authz::authorize(
        &app.acl_cache,
        app.store.as_ref(),
        ttl,
        &resolved,
        caller.as_ref().map(|c| &c.entry),
        identity.as_deref(),
        params,
        wrap_ttl,
        now,
    )
    .await
    .inspect_err(|e| {
        if matches!(e, ApiError::PermissionDenied) {
            audit.decide(false);
        }
    })?;
    // Rate-limit quotas govern logins: the routes the login function serves. Checked
    // before the request line, so a refusal is logged as `rate_limited`.
    if resolved.function() == route::Function::Login {
        crate::quota::admit(
            app.store.as_ref(),
            &app.quotas,
            ttl,
            &resolved.mount,
            &resolved.path,
            &body,
            now,
        )
        .await
        .inspect_err(|_| audit.rate_limited())?;
    }
    audit.decide(true);
    audit.write_request(None).map_err(|_| ApiError::Internal)?;
    let (caller, last_use) = match caller {
        Some(c) => {
            let (entry, job) = crate::revocation::consume_use(app.store.as_ref(), c.entry, now)
                .await
                .map_err(|e| match e {
                    // A wrapping token whose one use went to a concurrent unwrap.
                    ApiError::PermissionDenied if resolved.spec.wrapping_token && wrapping_self => {
                        crate::wrapping::invalid()
                    }
                    e => e,
                })?;
            let caller = Caller {
                entry,
                token: c.token,
            };
            (Some(caller), job)
        }
        None => (None, None),
    };
    let overlay;
    let store: &dyn crate::store::Store = if prefetched.is_empty() {
        app.store.as_ref()
    } else {
        overlay = crate::store::prefetch::Prefetched::new(app.store.as_ref(), prefetched);
        &overlay
    };
    let ctx = Ctx {
        svc: Services {
            config: &app.config,
            store,
            keyring: &app.keyring,
            acl_cache: &app.acl_cache,
            revokers: &app.revokers,
            aws: &app.aws,
            jwt_keys: &app.jwt_keys,
            caller_identity: app.caller_identity.as_ref(),
            failpoints: app.failpoints.as_ref(),
            mounts: &app.mounts,
            audit_key: audit.key(),
            batch_key: &batch_key,
            kv_latest: &app.kv_latest,
            transit: &app.transit,
            identity: &app.identity,
            database: &app.database,
        },
        table: &table,
        mount: &resolved.mount,
        params: &resolved.params,
        op: resolved.op,
        path: &resolved.path,
        req,
        body: &body,
        caller: caller.as_ref(),
        grant,
        identity,
        now,
    };
    let reply = (resolved.op_spec.handler)(&ctx).await;
    // A request that asked for response wrapping gets a wrapping token instead.
    let reply = crate::wrapping::respond(&ctx, wrap_ttl, reply).await;
    if let Some(mut job) = last_use {
        // The token's last use: its revocation started before the request ran; its
        // leases go now, or with the sweeper.
        crate::revocation::step_inline(app.store.as_ref(), &app.revokers, &mut job, now).await;
    }
    reply
}

/// The name of a query parameter given more than once, if any.
fn repeated_query_param(req: &ApiRequest) -> Option<&str> {
    req.query
        .iter()
        .enumerate()
        .find(|(i, (k, _))| req.query[..*i].iter().any(|(p, _)| p == k))
        .map(|(_, (k, _))| k.as_str())
}

/// The keys `r`'s operation prefetches ([`crate::backend::spec::OpSpec::prefetch`]).
/// Only asked for a route [`admit_route`] admitted (this function serves it).
fn prefetch_keys(app: &App, req: &ApiRequest, r: &route::Resolved) -> Vec<crate::store::Key> {
    r.op_spec.prefetch.map_or_else(Vec::new, |prefetch| {
        prefetch(&crate::backend::spec::PrefetchArgs {
            mount: &r.mount,
            params: &r.params,
            req,
            kv_latest: &app.kv_latest,
        })
    })
}

/// Records the resolved route in the audit exchange, then refuses requests this
/// function does not serve (404) and malformed `X-Vault-Wrap-TTL` headers (400);
/// returns the wrap TTL asked for (seconds, 0: none).
fn admit_route(
    app: &App,
    req: &ApiRequest,
    audit: &mut Exchange,
    r: &route::Resolved,
) -> Result<i64, ApiError> {
    audit.resolved(&r.path, r.op, &r.mount.full_path());
    if r.function() != app.function {
        return Err(wrong_function(&r.path));
    }
    crate::wrapping::requested_ttl(req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wrapping::requested_ttl;

    /// The cases that once refused wrapping now ask for it: a zero or empty TTL still
    /// means no wrapping; a TTL that does not parse is refused before anything
    /// happens.
    #[test]
    fn wrap_ttl_zero_or_empty_means_no_wrapping() {
        let with = |ttl: &str| ApiRequest {
            headers: vec![("x-vault-wrap-ttl".into(), ttl.into())],
            ..ApiRequest::default()
        };
        assert_eq!(requested_ttl(&ApiRequest::default()).unwrap(), 0);
        for zero in ["", " ", "0", "0s"] {
            assert_eq!(requested_ttl(&with(zero)).unwrap(), 0, "{zero:?}");
        }
        for (asked, secs) in [("5m", 300), ("300", 300), ("1h30m", 5400), ("60s", 60)] {
            assert_eq!(requested_ttl(&with(asked)).unwrap(), secs, "{asked}");
        }
        for bad in ["soon", "-1", "-5m", "5m\u{0}"] {
            let err = requested_ttl(&with(bad)).expect_err(bad);
            assert_eq!(err.status(), 400);
            assert!(
                err.to_string()
                    .starts_with("error parsing X-Vault-Wrap-TTL header"),
                "{err}"
            );
        }
        // A repeated header: any non-zero copy asks for wrapping, whatever its place;
        // copies asking for different TTLs are refused.
        for (pair, secs) in [
            (["0", "60"], 60),
            (["60", "0"], 60),
            (["", "5m"], 300),
            (["60", "1m"], 60),
        ] {
            let req = ApiRequest {
                headers: pair
                    .iter()
                    .map(|v| ("x-vault-wrap-ttl".to_owned(), (*v).to_owned()))
                    .collect(),
                ..ApiRequest::default()
            };
            assert_eq!(requested_ttl(&req).unwrap(), secs, "{pair:?}");
        }
        let conflicting = ApiRequest {
            headers: vec![
                ("x-vault-wrap-ttl".to_owned(), "60".to_owned()),
                ("x-vault-wrap-ttl".to_owned(), "120".to_owned()),
            ],
            ..ApiRequest::default()
        };
        assert_eq!(requested_ttl(&conflicting).unwrap_err().status(), 400);
        assert!(requested_ttl(&with("0,60")).is_err(), "joined by a proxy");
    }
}
