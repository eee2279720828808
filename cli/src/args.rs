//! The command line: every command, flag and argument of `sigil`, as clap types.
//!
//! Flags are written with two dashes here; Vault's single-dash spelling
//! (`-format=json`) is rewritten before parsing (see [`crate::flags`]).

use clap::{ArgGroup, Args, Parser, Subcommand};

use crate::output::Format;

const AFTER_HELP: &str = "\
Environment:
  SIGIL_ADDR (or VAULT_ADDR)    server address [default: http://127.0.0.1:8200]
  SIGIL_TOKEN (or VAULT_TOKEN)  token, sent as X-Vault-Token
  AWS_* and SIGIL_TABLE, SIGIL_KMS_KEY_ID, SIGIL_DEFAULT_TTL, SIGIL_MAX_TTL  (admin only)

Flags may be written Vault-style with one dash: -format=json, -field=token.
Exit codes: 0 success, 1 local or usage error, 2 API or connection error.";

/// `sigil`: a client of Sigil's Vault-compatible API, and its bootstrap tool.
#[derive(Debug, Parser)]
#[command(
    name = "sigil",
    version,
    about = "Sigil: serverless secrets for workloads (a Vault-compatible API)",
    after_help = AFTER_HELP
)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Output format: table (Key/Value) or json (the response, pretty).
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t = Format::Table,
        hide_possible_values = true
    )]
    pub format: Format,
    /// Print only this field's raw value (searched in `data`, then `auth`: `token` is
    /// the auth block's client_token).
    #[arg(long, global = true, value_name = "NAME")]
    pub field: Option<String>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read a path: GET /v1/PATH.
    Read(PathArg),
    /// Write data to a path: PUT /v1/PATH with KEY=VALUE pairs (KEY=@file reads a
    /// file; a lone `-` reads a JSON object from stdin).
    Write(WriteArgs),
    /// Delete a path: DELETE /v1/PATH.
    Delete(PathArg),
    /// List the keys under a path: LIST /v1/PATH/.
    List(PathArg),
    /// Log in with an auth method and print the token.
    #[command(subcommand)]
    Login(LoginMethod),
    /// Configure auth methods (JWT/OIDC, Kubernetes): config and roles.
    #[command(subcommand)]
    Auth(AuthCommand),
    /// Key/value secrets (KV version 2).
    #[command(subcommand)]
    Kv(KvCommand),
    /// Look up, renew and revoke tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Renew and revoke leases.
    #[command(subcommand)]
    Lease(LeaseCommand),
    /// Write, read, list and delete ACL policies (sys/policies/acl).
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Dynamic AWS credentials (aws/).
    #[command(subcommand)]
    Aws(AwsCommand),
    /// Set up and maintain a deployment, directly against AWS (DynamoDB, KMS).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Print the version.
    Version,
}

/// A path below /v1/.
#[derive(Debug, Args)]
pub struct PathArg {
    /// Path, relative to /v1/ (e.g. auth/approle/role/ci/role-id).
    pub path: String,
}

/// `sigil write`.
#[derive(Debug, Args)]
pub struct WriteArgs {
    /// Write even without data.
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Path, relative to /v1/.
    pub path: String,
    /// KEY=VALUE pairs (KEY=@file, KEY=\@literal), or `-` for a JSON object on stdin.
    #[arg(value_name = "KEY=VALUE")]
    pub data: Vec<String>,
}

/// Auth methods of `sigil login`. Each is one variant here and one request builder in
/// `commands::login`.
#[derive(Debug, Subcommand)]
pub enum LoginMethod {
    /// AppRole: POST /v1/auth/approle/login with a role ID and a secret ID.
    Approle(ApproleLogin),
    /// AWS IAM: POST /v1/auth/aws/login with an sts:GetCallerIdentity request signed
    /// with your AWS credentials (the SDK's default chain), as Vault's CLI sends it.
    Aws(AwsLogin),
    /// JWT/OIDC: POST /v1/auth/jwt/login with a role and a JWT (in GitHub Actions,
    /// the job's OIDC token is fetched when no JWT is given).
    Jwt(JwtLogin),
    /// Kubernetes: POST /v1/auth/kubernetes/login with a role and the pod's
    /// service-account token.
    Kubernetes(KubernetesLogin),
}

/// `sigil login jwt`.
#[derive(Debug, Args)]
pub struct JwtLogin {
    /// The role (or role=NAME; without one the mount's default_role is used).
    #[arg(long, value_name = "NAME")]
    pub role: Option<String>,
    /// The JWT (or jwt=TOKEN, jwt=@file). In GitHub Actions, left out: the job's OIDC
    /// token is requested for --audience (needs `permissions: id-token: write`).
    #[arg(long, value_name = "TOKEN")]
    pub jwt: Option<String>,
    /// The audience to request the GitHub Actions OIDC token for.
    #[arg(long, value_name = "AUD")]
    pub audience: Option<String>,
    /// Where the JWT method is mounted (e.g. jwt, github).
    #[arg(long, default_value = "jwt")]
    pub path: String,
    /// Login parameters as KEY=VALUE pairs (role=..., jwt=@file).
    #[arg(value_name = "KEY=VALUE")]
    pub params: Vec<String>,
}

/// `sigil login kubernetes`.
#[derive(Debug, Args)]
pub struct KubernetesLogin {
    /// The role (or role=NAME).
    #[arg(long, value_name = "NAME")]
    pub role: Option<String>,
    /// The service-account token file.
    #[arg(
        long,
        value_name = "FILE",
        default_value = "/var/run/secrets/kubernetes.io/serviceaccount/token"
    )]
    pub jwt_file: String,
    /// Where the Kubernetes method is mounted.
    #[arg(long, default_value = "kubernetes")]
    pub path: String,
    /// Login parameters as KEY=VALUE pairs (role=..., jwt=@file).
    #[arg(value_name = "KEY=VALUE")]
    pub params: Vec<String>,
}

/// `sigil auth ...`: configure the JWT/OIDC and Kubernetes auth methods.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// JWT/OIDC mounts (auth/jwt, auth/github, ...).
    #[command(subcommand)]
    Jwt(AuthMethodCommand),
    /// Kubernetes mounts (auth/kubernetes).
    #[command(subcommand)]
    Kubernetes(AuthMethodCommand),
}

/// `sigil auth jwt|kubernetes config|role ...`.
#[derive(Debug, Subcommand)]
pub enum AuthMethodCommand {
    /// Write the mount's config with KEY=VALUE pairs (POST auth/PATH/config), or read
    /// it when none are given.
    Config(AuthConfigArgs),
    /// Write a role with KEY=VALUE pairs (POST auth/PATH/role/NAME), or read it when
    /// none are given.
    Role(AuthRoleArgs),
    /// List the mount's roles (LIST auth/PATH/role).
    Roles(AuthMountArg),
    /// Delete a role (DELETE auth/PATH/role/NAME).
    DeleteRole(AuthRoleArgs),
}

/// The mount of an `auth` subcommand.
#[derive(Debug, Args)]
pub struct AuthMountArg {
    /// Where the method is mounted [default: jwt or kubernetes].
    #[arg(long)]
    pub path: Option<String>,
}

/// `sigil auth ... config`.
#[derive(Debug, Args)]
pub struct AuthConfigArgs {
    /// The mount.
    #[command(flatten)]
    pub mount: AuthMountArg,
    /// KEY=VALUE pairs (KEY=@file reads a file, e.g. oidc_discovery_ca_pem=@ca.pem).
    #[arg(value_name = "KEY=VALUE")]
    pub data: Vec<String>,
}

/// `sigil auth ... role NAME`.
#[derive(Debug, Args)]
pub struct AuthRoleArgs {
    /// The mount.
    #[command(flatten)]
    pub mount: AuthMountArg,
    /// Role name.
    pub name: String,
    /// KEY=VALUE pairs (e.g. user_claim=repository bound_audiences=...).
    #[arg(value_name = "KEY=VALUE")]
    pub data: Vec<String>,
}

/// `sigil login aws`.
#[derive(Debug, Args)]
pub struct AwsLogin {
    /// The role to log in through (or give role=NAME); without it, the server uses
    /// your IAM user or role name.
    #[arg(long, value_name = "NAME")]
    pub role: Option<String>,
    /// The X-Vault-AWS-IAM-Server-ID value the server requires (or header_value=V);
    /// it is signed with the request.
    #[arg(long, value_name = "VALUE")]
    pub header_value: Option<String>,
    /// The region to sign for (or region=R) [default: us-east-1, as Vault's CLI].
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// The STS endpoint to sign for; it must be the server's sts_endpoint [default:
    /// AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL, else https://sts.amazonaws.com].
    #[arg(long, value_name = "URL")]
    pub sts_endpoint: Option<String>,
    /// Where the AWS method is mounted.
    #[arg(long, default_value = "aws")]
    pub path: String,
    /// Login parameters as KEY=VALUE pairs, Vault's names: role, header_value, region.
    #[arg(value_name = "KEY=VALUE")]
    pub params: Vec<String>,
}

/// `sigil login approle`.
#[derive(Debug, Args)]
pub struct ApproleLogin {
    /// The role ID (or give role_id=ID).
    #[arg(long, value_name = "ID")]
    pub role_id: Option<String>,
    /// The secret ID (or give secret_id=ID, or secret_id=@file to keep it off the
    /// command line).
    #[arg(long, value_name = "ID")]
    pub secret_id: Option<String>,
    /// Where the AppRole method is mounted.
    #[arg(long, default_value = "approle")]
    pub path: String,
    /// Login parameters as KEY=VALUE pairs (role_id=..., secret_id=...).
    #[arg(value_name = "KEY=VALUE")]
    pub params: Vec<String>,
}

/// `sigil kv ...`.
#[derive(Debug, Subcommand)]
pub enum KvCommand {
    /// Write a new version: POST /v1/MOUNT/data/PATH.
    Put(KvPut),
    /// Read a version (the newest by default): GET /v1/MOUNT/data/PATH.
    Get(KvGet),
    /// A key's metadata and versions.
    #[command(subcommand)]
    Metadata(KvMetadataCommand),
    /// Delete the newest version: DELETE /v1/MOUNT/data/PATH.
    Delete(KvPath),
    /// List keys: LIST /v1/MOUNT/metadata/PATH/.
    List(KvPath),
}

/// `sigil kv metadata ...`.
#[derive(Debug, Subcommand)]
pub enum KvMetadataCommand {
    /// Read a key's metadata: GET /v1/MOUNT/metadata/PATH.
    Get(KvPath),
}

/// A KV path, with or without `-mount`.
#[derive(Debug, Args)]
pub struct KvPath {
    /// The KV mount; without it, PATH's first segment is the mount (secret/app/db).
    #[arg(long)]
    pub mount: Option<String>,
    /// MOUNT/PATH, or PATH with -mount.
    pub path: String,
}

/// `sigil kv put`.
#[derive(Debug, Args)]
pub struct KvPut {
    /// Check-and-set: write only if the current version is N (0: only if the key does
    /// not exist). A negative N is the same as leaving it out.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub cas: Option<i64>,
    /// The KV path.
    #[command(flatten)]
    pub target: KvPath,
    /// KEY=VALUE pairs (KEY=@file), or `-` for a JSON object on stdin.
    #[arg(value_name = "KEY=VALUE", required = true)]
    pub data: Vec<String>,
}

/// `sigil kv get`.
#[derive(Debug, Args)]
pub struct KvGet {
    /// The version to read (default: the newest).
    #[arg(long, value_name = "N")]
    pub version: Option<u64>,
    /// The KV path.
    #[command(flatten)]
    pub target: KvPath,
}

/// `sigil token ...`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Look up a token: your own (GET auth/token/lookup-self), TOKEN's, or by accessor.
    Lookup(TokenLookup),
    /// Renew a token: your own (POST auth/token/renew-self) or TOKEN.
    Renew(TokenRenew),
    /// Revoke a token: your own (-self), by accessor, or TOKEN.
    Revoke(TokenRevoke),
    /// A token's capabilities on paths: `capabilities [TOKEN] PATH...` (default: your
    /// own token), through POST sys/capabilities-self.
    Capabilities(TokenCapabilities),
}

/// `sigil token capabilities`.
#[derive(Debug, Args)]
pub struct TokenCapabilities {
    /// `[TOKEN] PATH...`: when the first argument is a Sigil token (`sgl.`), it is the
    /// token to ask about; the rest are paths relative to /v1/.
    #[arg(required = true, value_name = "[TOKEN] PATH")]
    pub args: Vec<String>,
}

/// `sigil policy ...`.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Write a policy from a file (HCL or JSON), or `-` for stdin: PUT sys/policies/acl/NAME.
    Write {
        /// Policy name.
        name: String,
        /// File with the policy, or `-` for stdin.
        file: String,
    },
    /// Print a policy's text: GET sys/policies/acl/NAME.
    Read {
        /// Policy name.
        name: String,
    },
    /// List policy names: LIST sys/policies/acl.
    List,
    /// Delete a policy: DELETE sys/policies/acl/NAME.
    Delete {
        /// Policy name.
        name: String,
    },
}

/// `sigil token lookup`.
#[derive(Debug, Args)]
pub struct TokenLookup {
    /// Look up the token with this accessor.
    #[arg(long, value_name = "ACCESSOR", conflicts_with = "token")]
    pub accessor: Option<String>,
    /// The token to look up (default: your own).
    pub token: Option<String>,
}

/// `sigil token renew`.
#[derive(Debug, Args)]
pub struct TokenRenew {
    /// Requested extension from now (seconds or a duration like 1h); the server caps it.
    #[arg(long, value_name = "DURATION")]
    pub increment: Option<String>,
    /// The token to renew (default: your own).
    pub token: Option<String>,
}

/// `sigil token revoke`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("target").required(true).args(["revoke_self", "accessor", "token"])))]
pub struct TokenRevoke {
    /// Revoke your own token.
    #[arg(long = "self")]
    pub revoke_self: bool,
    /// Revoke the token with this accessor.
    #[arg(long, value_name = "ACCESSOR")]
    pub accessor: Option<String>,
    /// The token to revoke.
    pub token: Option<String>,
}

/// `sigil lease ...`.
#[derive(Debug, Subcommand)]
pub enum LeaseCommand {
    /// Renew a lease: PUT /v1/sys/leases/renew.
    Renew(LeaseRenew),
    /// Revoke a lease: PUT /v1/sys/leases/revoke (or every lease under a prefix).
    Revoke(LeaseRevoke),
    /// Revoke every lease under a prefix: PUT /v1/sys/leases/revoke-prefix/PREFIX (sudo).
    RevokePrefix {
        /// Lease ID prefix, e.g. aws/creds/deploy.
        prefix: String,
    },
    /// List leases under a prefix (LIST /v1/sys/leases/lookup/PREFIX/), or the
    /// irrevocable ones (-irrevocable: LIST /v1/sys/leases?type=irrevocable). Sudo.
    List(LeaseList),
}

/// `sigil lease list`.
#[derive(Debug, Args)]
pub struct LeaseList {
    /// List irrevocable leases instead.
    #[arg(long, conflicts_with = "prefix")]
    pub irrevocable: bool,
    /// Lease ID prefix, e.g. aws/creds/deploy.
    #[arg(required_unless_present = "irrevocable")]
    pub prefix: Option<String>,
}

/// `sigil aws ...`.
#[derive(Debug, Subcommand)]
pub enum AwsCommand {
    /// IAM user (or, for assumed_role roles, STS) credentials: GET /v1/aws/creds/ROLE.
    Creds(AwsCredsArgs),
    /// STS credentials of an assumed_role role: POST /v1/aws/sts/ROLE.
    Sts(AwsCredsArgs),
}

/// `sigil aws creds|sts`.
#[derive(Debug, Args)]
pub struct AwsCredsArgs {
    /// Session TTL (STS), e.g. 1h.
    #[arg(long, value_name = "DURATION")]
    pub ttl: Option<String>,
    /// Which of the role's role_arns to assume (STS).
    #[arg(long, value_name = "ARN")]
    pub role_arn: Option<String>,
    /// Role name.
    pub role: String,
}

/// `sigil lease renew`.
#[derive(Debug, Args)]
pub struct LeaseRenew {
    /// Requested extension from now (seconds or a duration like 1h); the server caps it.
    #[arg(long, value_name = "DURATION")]
    pub increment: Option<String>,
    /// The lease ID.
    pub lease_id: String,
}

/// `sigil lease revoke`.
#[derive(Debug, Args)]
pub struct LeaseRevoke {
    /// Treat LEASE_ID as a prefix and revoke every lease under it
    /// (PUT /v1/sys/leases/revoke-prefix/PREFIX; needs sudo).
    #[arg(long)]
    pub prefix: bool,
    /// Revoke every lease under the prefix even when its engine fails
    /// (PUT /v1/sys/leases/revoke-force/PREFIX; needs sudo; implies -prefix).
    #[arg(long)]
    pub force: bool,
    /// The lease ID (or prefix).
    pub lease_id: String,
}

/// `sigil admin ...`.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Initialize a deployment (idempotent): optionally create the table and the KMS
    /// key, then the first keyring version and the sweeper cursor.
    Init(AdminInit),
    /// Mint an admin (root policy) token and print it once.
    BootstrapToken(AdminBootstrapToken),
    /// Run one sweep: revoke expired leases, remove expired tokens and secret IDs.
    Sweep,
}

/// `sigil admin init`.
#[derive(Debug, Args)]
pub struct AdminInit {
    /// Create the DynamoDB table (SIGIL_TABLE) unless it exists.
    #[arg(long)]
    pub create_table: bool,
    /// Create the KMS key and its alias (SIGIL_KMS_KEY_ID, alias/NAME) unless it exists.
    #[arg(long)]
    pub create_key: bool,
}

/// `sigil admin bootstrap-token`.
#[derive(Debug, Args)]
pub struct AdminBootstrapToken {
    /// The token's TTL (seconds or a duration like 24h; capped by SIGIL_MAX_TTL).
    #[arg(long, default_value = "24h", value_name = "DURATION")]
    pub ttl: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    use crate::flags::rewrite_single_dash;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(rewrite_single_dash(
            args.iter().map(std::ffi::OsString::from),
        ))
    }

    #[test]
    fn definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn vault_style_flags_parse() {
        let cli = parse(&[
            "sigil",
            "kv",
            "get",
            "-format=json",
            "-version=2",
            "-mount=secret",
            "app/db",
        ])
        .unwrap();
        assert_eq!(cli.global.format, Format::Json);
        let Command::Kv(KvCommand::Get(g)) = cli.command else {
            panic!("kv get")
        };
        assert_eq!(
            (g.version, g.target.mount.as_deref(), g.target.path.as_str()),
            (Some(2), Some("secret"), "app/db")
        );

        let cli = parse(&[
            "sigil",
            "read",
            "auth/approle/role/ci/role-id",
            "-field=role_id",
        ])
        .unwrap();
        assert_eq!(cli.global.field.as_deref(), Some("role_id"));

        let cli = parse(&["sigil", "kv", "put", "-cas=0", "secret/app", "a=b"]).unwrap();
        let Command::Kv(KvCommand::Put(p)) = cli.command else {
            panic!("kv put")
        };
        assert_eq!(p.cas, Some(0));

        let cli = parse(&["sigil", "token", "revoke", "-self"]).unwrap();
        let Command::Token(TokenCommand::Revoke(r)) = cli.command else {
            panic!("revoke")
        };
        assert!(r.revoke_self);

        let cli = parse(&["sigil", "token", "renew", "-increment=1h"]).unwrap();
        let Command::Token(TokenCommand::Renew(r)) = cli.command else {
            panic!("renew")
        };
        assert_eq!(r.increment.as_deref(), Some("1h"));

        let cli = parse(&["sigil", "token", "lookup", "-accessor=abc"]).unwrap();
        let Command::Token(TokenCommand::Lookup(l)) = cli.command else {
            panic!("lookup")
        };
        assert_eq!(l.accessor.as_deref(), Some("abc"));

        let cli = parse(&["sigil", "write", "-f", "sys/x"]).unwrap();
        let Command::Write(w) = cli.command else {
            panic!("write")
        };
        assert!(w.force);

        let cli = parse(&["sigil", "login", "approle", "-role-id=r", "-secret-id=s"]).unwrap();
        let Command::Login(LoginMethod::Approle(a)) = cli.command else {
            panic!("login")
        };
        assert_eq!(
            (a.role_id.as_deref(), a.secret_id.as_deref()),
            (Some("r"), Some("s"))
        );
    }

    #[test]
    fn double_dash_flags_parse_too() {
        let cli = parse(&["sigil", "--format", "json", "token", "lookup"]).unwrap();
        assert_eq!(cli.global.format, Format::Json);
        assert!(parse(&["sigil", "admin", "init", "--create-table", "--create-key"]).is_ok());
        assert!(parse(&["sigil", "admin", "bootstrap-token", "-ttl", "1h"]).is_ok());
    }

    #[test]
    fn usage_errors() {
        assert!(
            parse(&["sigil", "token", "revoke"]).is_err(),
            "revoke needs a target"
        );
        assert!(parse(&["sigil", "token", "lookup", "-accessor=a", "tok"]).is_err());
        assert!(parse(&["sigil", "-format=yaml", "read", "x"]).is_err());
        assert!(
            parse(&["sigil", "kv", "put", "secret/a"]).is_err(),
            "kv put needs data"
        );
    }
}
