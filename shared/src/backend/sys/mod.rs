//! The system backend (`sys/`): health and seal status, mounts, leases, policies,
//! capabilities, quotas, the audit device.

mod audit_hash;
mod leases;
mod mounts;
mod policies;
mod quotas;
mod status;
mod wrapping;

use serde_json::json;

use crate::error::ApiError;
use crate::http::envelope::Reply;
use crate::http::params::{Body, normalize_list};
use crate::op;

use super::ctx::Ctx;
use super::spec::PathSpec;

/// The system backend's paths. Lookups go to issue, renewals to renew, revocations to
/// revoke, the rest to admin.
pub static PATHS: &[PathSpec] = &[
    PathSpec::new("health", &[op!(Read, Admin, health)]).public(),
    PathSpec::new("seal-status", &[op!(Read, Admin, status::seal_status)]).public(),
    PathSpec::new("leader", &[op!(Read, Admin, status::leader)]).public(),
    PathSpec::new("mounts", &[op!(Read, Admin, mounts::list)]),
    PathSpec::new(
        "mounts/{path}/tune",
        &[
            op!(Read, Admin, mounts::read_tune),
            op!(Update, Admin, mounts::write_tune),
        ],
    ),
    PathSpec::new(
        "mounts/auth/{path}/tune",
        &[
            op!(Read, Admin, mounts::read_tune),
            op!(Update, Admin, mounts::write_tune),
        ],
    )
    .sudo(),
    PathSpec::new(
        "mounts/{*path}",
        &[
            op!(Read, Admin, mounts::read),
            op!(Update, Admin, mounts::enable),
            op!(Delete, Admin, mounts::disable),
        ],
    ),
    PathSpec::new("auth", &[op!(Read, Admin, mounts::list)]),
    PathSpec::new(
        "auth/{path}/tune",
        &[
            op!(Read, Admin, mounts::read_tune),
            op!(Update, Admin, mounts::write_tune),
        ],
    )
    .sudo(),
    PathSpec::new(
        "auth/{*path}",
        &[
            op!(Read, Admin, mounts::read),
            op!(Update, Admin, mounts::enable),
            op!(Delete, Admin, mounts::disable),
        ],
    )
    .sudo(),
    // Any token may ask; the handlers show only mounts its policies reach (Vault's
    // unauthenticated-but-token-aware UI paths).
    PathSpec::new("internal/ui/mounts", &[op!(Read, Admin, mounts::ui_list)]).token_only(),
    PathSpec::new(
        "internal/ui/mounts/{*path}",
        &[op!(Read, Admin, mounts::ui_mount)],
    )
    .token_only(),
    PathSpec::new("audit", &[op!(Read, Admin, status::list)]).sudo(),
    PathSpec::new(
        "audit/{*path}",
        &[
            op!(Update, Admin, status::enable),
            op!(Delete, Admin, status::disable),
        ],
    )
    .sudo(),
    PathSpec::new("leases/lookup", &[op!(Update, Issue, leases::lookup)]),
    PathSpec::new("leases/lookup/{*prefix}", &[op!(List, Admin, leases::list)]).sudo(),
    PathSpec::new(
        "leases",
        &[
            op!(List, Admin, leases::list_irrevocable),
            op!(Read, Admin, leases::list_irrevocable),
        ],
    )
    .sudo(),
    PathSpec::new("leases/renew", &[op!(Update, Renew, leases::renew)]),
    PathSpec::new(
        "leases/renew/{*lease_id}",
        &[op!(Update, Renew, leases::renew)],
    ),
    PathSpec::new("leases/revoke", &[op!(Update, Revoke, leases::revoke)]),
    PathSpec::new(
        "leases/revoke/{*lease_id}",
        &[op!(Update, Revoke, leases::revoke)],
    ),
    PathSpec::new(
        "leases/revoke-prefix/{*prefix}",
        &[op!(Update, Revoke, leases::revoke_prefix)],
    )
    .sudo(),
    PathSpec::new(
        "leases/revoke-force/{*prefix}",
        &[op!(Update, Revoke, leases::revoke_force)],
    )
    .sudo(),
    PathSpec::new("policies/acl", &[op!(List, Admin, policies::list)]),
    PathSpec::new(
        "policy",
        &[
            op!(Read, Admin, policies::legacy_list),
            op!(List, Admin, policies::legacy_list),
        ],
    ),
    PathSpec::new(
        "policy/{name}",
        &[
            op!(Read, Admin, policies::legacy_read),
            op!(Update, Admin, policies::legacy_write),
            op!(Delete, Admin, policies::delete),
        ],
    ),
    PathSpec::new(
        "policies/acl/{name}",
        &[
            op!(Read, Admin, policies::read),
            op!(Update, Admin, policies::write),
            op!(Delete, Admin, policies::delete),
        ],
    ),
    PathSpec::new(
        "capabilities-self",
        &[op!(Update, Issue, policies::capabilities_self)],
    )
    .normalize(normalize_paths),
    PathSpec::new(
        "capabilities",
        &[op!(Update, Admin, policies::capabilities_token)],
    )
    .normalize(normalize_paths),
    PathSpec::new(
        "capabilities-accessor",
        &[op!(Update, Admin, policies::capabilities_accessor)],
    )
    .normalize(normalize_paths),
    PathSpec::new(
        "audit-hash/{device}",
        &[op!(Update, Admin, audit_hash::hash)],
    ),
    // Response wrapping: served by issue, the workload-facing function that already
    // holds the keyring and writes tokens. `lookup` needs no token (as in Vault).
    PathSpec::new("wrapping/wrap", &[op!(Update, Issue, wrapping::wrap)]),
    PathSpec::new("wrapping/unwrap", &[op!(Update, Issue, wrapping::unwrap)]).wrapping_token(),
    PathSpec::new(
        "wrapping/lookup",
        &[
            op!(Read, Issue, wrapping::lookup),
            op!(Update, Issue, wrapping::lookup),
        ],
    )
    .public(),
    PathSpec::new("wrapping/rewrap", &[op!(Update, Issue, wrapping::rewrap)]).wrapping_token(),
    PathSpec::new("quotas/rate-limit", &[op!(List, Admin, quotas::list)]),
    PathSpec::new(
        "quotas/rate-limit/{name}",
        &[
            op!(Read, Admin, quotas::read),
            op!(Update, Admin, quotas::write),
            op!(Delete, Admin, quotas::delete),
        ],
    ),
];

fn normalize_paths(body: &mut Body) {
    normalize_list(body, "paths", false);
}

/// `sys/health`: Vault's health body (Sigil is always initialized and unsealed).
async fn health(c: &Ctx<'_>) -> Result<Reply, ApiError> {
    // Vault answers sys/health with a bare object, not the envelope.
    Ok(Reply::Raw(
        200,
        json!({
            "initialized": true,
            "sealed": false,
            "standby": false,
            "performance_standby": false,
            "replication_performance_mode": "disabled",
            "replication_dr_mode": "disabled",
            "server_time_utc": c.now,
            "version": concat!("sigil-", env!("CARGO_PKG_VERSION")),
            "cluster_name": "sigil",
            "cluster_id": status::cluster_id(c),
        }),
    ))
}
