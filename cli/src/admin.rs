//! `sigil admin ...`: bootstrap and maintenance run directly against AWS (DynamoDB,
//! KMS) through the shared library, not through the HTTP API: `init`,
//! `bootstrap-token`, `sweep`. Configuration comes from the environment
//! (`SIGIL_TABLE`, `SIGIL_KMS_KEY_ID`, TTL limits, and the AWS SDK's own variables).

use std::sync::Arc;

use aws_config::SdkConfig;

use secrecy::ExposeSecret;
use serde_json::{Value, json};
use sigil::aws::dynamo::DynamoStore;
use sigil::aws::{AwsKms, dynamodb_client, kms_client};
use sigil::clock::{Clock, SystemClock};
use sigil::config::Config;
use sigil::keyring::Keyring;
use sigil::token::Limits;

use crate::args::{AdminBootstrapToken, AdminCommand, AdminInit};
use crate::error::CliError;
use crate::output::Output;

/// Runs an `admin` subcommand.
pub async fn run(cmd: AdminCommand, out: &Output) -> Result<(), CliError> {
    let config = Config::from_env().map_err(|e| CliError::usage(format!("configuration: {e}")))?;
    let sdk = sigil::aws::sdk_config().await;
    let now = SystemClock.now();
    match cmd {
        AdminCommand::Init(args) => init(&args, &config, &sdk, out, now).await,
        AdminCommand::BootstrapToken(args) => bootstrap_token(&args, &config, &sdk, out, now).await,
        AdminCommand::Sweep => sweep(&config, &sdk, out, now).await,
    }
}

fn outcome(created: bool) -> &'static str {
    if created { "created" } else { "existed" }
}

/// `admin init`: table and key (when asked), then the first keyring version and the
/// sweeper cursor. Every step is idempotent; each prints what it found or did.
async fn init(
    args: &AdminInit,
    config: &Config,
    sdk: &SdkConfig,
    out: &Output,
    now: i64,
) -> Result<(), CliError> {
    let progress = |line: String| {
        if out.is_table() {
            println!("{line}");
        }
    };
    let mut report: Vec<(&str, Value)> = Vec::new();

    if args.create_table {
        let created = sigil::aws::create_table(&dynamodb_client(sdk, None), &config.table)
            .await
            .map_err(|e| CliError::Aws(format!("creating table {:?}: {e}", config.table)))?;
        progress(format!("Table {:?}: {}", config.table, outcome(created)));
        report.push(("table", json!({ "name": config.table, "created": created })));
    } else {
        progress(format!(
            "Table {:?}: not checked (--create-table creates it)",
            config.table
        ));
        report.push(("table", json!({ "name": config.table })));
    }

    if args.create_key {
        let (arn, created) = sigil::aws::ensure_kms_key(&kms_client(sdk, None), &config.kms_key_id)
            .await
            .map_err(|e| CliError::Aws(format!("creating KMS key {:?}: {e}", config.kms_key_id)))?;
        progress(format!(
            "KMS key {:?}: {} ({arn})",
            config.kms_key_id,
            outcome(created)
        ));
        report.push((
            "kms_key",
            json!({ "id": config.kms_key_id, "arn": arn, "created": created }),
        ));
    } else {
        progress(format!(
            "KMS key {:?}: not checked (--create-key creates it)",
            config.kms_key_id
        ));
        report.push(("kms_key", json!({ "id": config.kms_key_id })));
    }

    let store = Arc::new(DynamoStore::new(
        dynamodb_client(sdk, None),
        config.table.clone(),
    ));
    let kms = Arc::new(AwsKms::new(kms_client(sdk, None)));
    let keyring = Keyring::new(store.clone(), kms, config.table.clone());
    let done = sigil::bootstrap::init(store.as_ref(), &keyring, &config.kms_key_id, now)
        .await
        .map_err(|e| {
            let hint = if args.create_table && args.create_key {
                ""
            } else {
                " (if the table or the KMS key does not exist yet, pass --create-table / --create-key)"
            };
            CliError::Aws(format!("initializing the keyring in table {:?}: {e}{hint}", config.table))
        })?;
    progress(format!(
        "Keyring version {}: {}",
        done.key_version,
        outcome(done.created_key)
    ));
    progress("Sweeper cursor: ready".to_owned());
    report.push((
        "keyring",
        json!({ "version": done.key_version, "created": done.created_key }),
    ));
    // The environment's mounts become the stored mount table (once; later runs and
    // later changes to SIGIL_*_MOUNTS leave a stored table alone).
    let initial = sigil::mounts::initial_table(config);
    let stored = sigil::mounts::store::ensure_stored(store.as_ref(), &initial, now)
        .await
        .map_err(|e| CliError::Aws(format!("storing the mount table: {e}")))?;
    progress(format!("Mount table: {}", outcome(stored)));
    report.push(("mounts", json!({ "created": stored })));

    if !out.is_table() {
        out.emit_rows(&report)?;
    }
    Ok(())
}

/// `admin bootstrap-token`: mints a root-policy token and prints it once.
async fn bootstrap_token(
    args: &AdminBootstrapToken,
    config: &Config,
    sdk: &SdkConfig,
    out: &Output,
    now: i64,
) -> Result<(), CliError> {
    let ttl = sigil::http::params::parse_duration(&Value::String(args.ttl.clone()))
        .map_err(|e| CliError::usage(format!("invalid -ttl: {e}")))?;
    let store = DynamoStore::new(dynamodb_client(sdk, None), config.table.clone());
    let limits = Limits {
        default_ttl: config.default_ttl,
        max_ttl: config.max_ttl,
        batch: None,
    };
    let minted = sigil::bootstrap::admin_token(&store, limits, ttl, now)
        .await
        .map_err(|e| {
            CliError::Aws(format!(
                "minting the admin token in table {:?}: {e}",
                config.table
            ))
        })?;
    let granted = minted.entry.expire_at - minted.entry.issued_at;
    if out.is_table() {
        eprintln!("This admin token (root policy) is shown once: store it now.");
    }
    out.emit_rows(&[
        (
            "token",
            Value::String(minted.token.expose_secret().to_owned()),
        ),
        ("accessor", Value::String(minted.entry.accessor.clone())),
        ("ttl", json!(granted)),
    ])
}

/// `admin sweep`: one sweeper run; prints its report.
async fn sweep(config: &Config, sdk: &SdkConfig, out: &Output, now: i64) -> Result<(), CliError> {
    // The same ports as the sweeper function, so every engine can revoke its leases.
    let app = sigil::aws::app_with(sigil::Function::Sweeper, config.clone(), sdk, None);
    let report = sigil::sweeper::sweep(app.store.as_ref(), &app.revokers, now)
        .await
        .map_err(|e| CliError::Aws(format!("sweeping table {:?}: {e}", config.table)))?;
    out.emit_rows(&[
        ("tokens", json!(report.tokens)),
        ("secret_ids", json!(report.secret_ids)),
        ("leases", json!(report.leases)),
        ("skipped", json!(report.skipped)),
        ("failed", json!(report.failed)),
        ("irrevocable", json!(report.irrevocable)),
        ("queries", json!(report.queries)),
        ("cursor_hour", json!(report.cursor_hour)),
        // Disabled mounts: items deleted (tokens and leases revoked) this run, and
        // mounts whose cleanup goes on.
        ("mount_items", json!(report.mount_items)),
        ("mounts_pending", json!(report.mounts_pending)),
        // Token and revoke-prefix revocations: leases gone through this run, and
        // revocations that go on.
        ("revocation_leases", json!(report.revocation_leases)),
        ("revocations_pending", json!(report.revocations_pending)),
    ])
}
