//! The engine's root configuration (`aws/config/root`, Vault's parameter names): the
//! region, IAM and STS endpoints and retry count of the clients the engine calls AWS
//! with ([`super::clients`] builds them). Unset fields (and no configuration at all)
//! mean the function's own SDK configuration.
//!
//! Sigil always calls AWS as the function's own role: Vault's static `access_key` and
//! `secret_key` are refused, so no AWS secret is ever stored (docs/aws.md).

use serde_json::{Value as Json, json};

use super::Mount;
use crate::error::ApiError;
use crate::http::params::{Body, BodyExt};
use crate::store::{ItemExt, Key, Store, Value, Write, new_item};

/// Most retries `max_retries` may ask for: each waits with the SDK's backoff (up to
/// 20 s), and a request must finish well within the function's timeout.
pub const MAX_RETRIES: i64 = 10;
/// Longest accepted endpoint URL, in bytes.
pub const MAX_ENDPOINT_LEN: usize = 512;

const A_REGION: &str = "region";
const A_IAM_ENDPOINT: &str = "iam_endpoint";
const A_STS_ENDPOINT: &str = "sts_endpoint";
const A_MAX_RETRIES: &str = "max_retries";

/// Vault fields Sigil refuses when they hold a value: static credentials (Sigil uses
/// the function's role), and features it does not have.
const REFUSED: &[(&str, &str)] = &[
    (
        "access_key",
        "Sigil calls AWS as its function's own role and stores no AWS keys: \"access_key\" and \"secret_key\" are not accepted (grant the role the permissions in docs/aws.md)",
    ),
    (
        "secret_key",
        "Sigil calls AWS as its function's own role and stores no AWS keys: \"access_key\" and \"secret_key\" are not accepted (grant the role the permissions in docs/aws.md)",
    ),
    (
        "username_template",
        "\"username_template\" is not supported: IAM user names are sigil-{display}-{role}-{random}",
    ),
    (
        "identity_token_role_arn",
        "plugin workload identity federation (\"identity_token_*\") is not supported: Sigil uses its function's role",
    ),
    (
        "identity_token_audience",
        "plugin workload identity federation (\"identity_token_*\") is not supported: Sigil uses its function's role",
    ),
];

/// The root configuration. Empty strings and `max_retries = -1` mean "the function's
/// own": its region, the SDK's endpoints, the SDK's retry policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootConfig {
    /// AWS region of the IAM and STS clients, e.g. `eu-west-1` (`""`: the function's).
    pub region: String,
    /// IAM endpoint URL (`""`: the SDK's, from the region or `AWS_ENDPOINT_URL*`).
    pub iam_endpoint: String,
    /// STS endpoint URL (`""`: the SDK's).
    pub sts_endpoint: String,
    /// Retries after a recoverable error, 0 to [`MAX_RETRIES`]; -1: the SDK's default
    /// (Vault's default and meaning).
    pub max_retries: i64,
}

impl Default for RootConfig {
    fn default() -> Self {
        Self {
            region: String::new(),
            iam_endpoint: String::new(),
            sts_endpoint: String::new(),
            max_retries: -1,
        }
    }
}

fn root_key(m: Mount<'_>) -> Key {
    Key::new(m.config_partition(), "root")
}

/// Whether `s` has the shape of an AWS region name: two lowercase letters, one or more
/// lowercase words, a number, joined by `-` (`us-east-1`, `us-gov-west-1`,
/// `ap-southeast-3`, `eu-isoe-west-1`), at most 32 characters.
pub fn valid_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
        return false;
    };
    let word = |p: &&str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase());
    s.len() <= 32
        && parts.len() >= 3
        && first.len() == 2
        && word(first)
        && parts[1..parts.len() - 1].iter().all(word)
        && (1..=2).contains(&last.len())
        && last.bytes().all(|b| b.is_ascii_digit())
}

/// Checks an endpoint URL: absolute `http` or `https`, with a host, without
/// credentials (`user:pass@`), query or fragment, at most [`MAX_ENDPOINT_LEN`] bytes.
/// The message names the field, never the value.
pub fn check_endpoint(value: &str, field: &str) -> Result<(), ApiError> {
    let bad = |why: &str| Err(ApiError::bad(format!("invalid \"{field}\": {why}")));
    if value.len() > MAX_ENDPOINT_LEN {
        return bad("longer than 512 bytes");
    }
    // The URL parser silently drops tabs and line breaks (WHATWG), so a value with them
    // would pass here and fail at every later SDK call: refuse them instead.
    if value
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return bad("control characters, whitespace and backslashes are not accepted");
    }
    let Ok(url) = url::Url::parse(value) else {
        return bad("not an absolute URL");
    };
    if !matches!(url.scheme(), "http" | "https") {
        return bad("the scheme must be https or http");
    }
    // The URL parser repairs `http:///host` and `http:host`; require the literal form.
    let lower = value.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    if rest.is_none_or(|r| r.is_empty() || r.starts_with('/')) {
        return bad("not an absolute URL (http:// or https:// and a host)");
    }
    if url.host_str().is_none_or(str::is_empty) {
        return bad("no host");
    }
    if url.port() == Some(0) {
        return bad("port 0 is not a port");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return bad("credentials in the URL are not accepted");
    }
    if url.query().is_some() || url.fragment().is_some() {
        return bad("a query or fragment is not accepted");
    }
    Ok(())
}

fn max_retries(body: &Body) -> Result<i64, ApiError> {
    let bad = || {
        ApiError::bad(format!(
            "invalid value for \"max_retries\": must be -1 (the SDK's default) or 0 to {MAX_RETRIES}"
        ))
    };
    let n = match body.get("max_retries") {
        None | Some(Json::Null) => return Ok(-1),
        Some(Json::Number(n)) => n.as_i64().ok_or_else(bad)?,
        Some(Json::String(s)) => s.trim().parse::<i64>().map_err(|_| bad())?,
        Some(_) => return Err(bad()),
    };
    if n == -1 || (0..=MAX_RETRIES).contains(&n) {
        Ok(n)
    } else {
        Err(bad())
    }
}

impl RootConfig {
    /// The configuration a write sets. As in Vault, a write replaces the whole
    /// configuration (an absent field returns to its default). 400 for a malformed
    /// region, endpoint or `max_retries`, and for `access_key`, `secret_key` and the
    /// other Vault fields Sigil does not support when they hold a value; other unknown
    /// fields are ignored, as everywhere (docs/api.md).
    pub fn from_body(body: &Body) -> Result<RootConfig, ApiError> {
        for (field, why) in REFUSED {
            if body.string(field)?.is_some_and(|v| !v.is_empty()) {
                return Err(ApiError::bad(*why));
            }
        }
        // Taken as given: whitespace anywhere (edges included) is refused below, not trimmed.
        let text =
            |name: &str| -> Result<String, ApiError> { Ok(body.string(name)?.unwrap_or_default()) };
        let config = RootConfig {
            region: text("region")?,
            iam_endpoint: text("iam_endpoint")?,
            sts_endpoint: text("sts_endpoint")?,
            max_retries: max_retries(body)?,
        };
        if !config.region.is_empty() && !valid_region(&config.region) {
            return Err(ApiError::bad(
                "invalid \"region\": expected an AWS region name such as us-east-1",
            ));
        }
        for (value, field) in [
            (&config.iam_endpoint, "iam_endpoint"),
            (&config.sts_endpoint, "sts_endpoint"),
        ] {
            if !value.is_empty() {
                check_endpoint(value, field)?;
            }
        }
        Ok(config)
    }

    /// The configuration as a read returns it (Vault's field names; never a key).
    pub fn to_json(&self) -> Json {
        json!({
            "region": self.region,
            "iam_endpoint": self.iam_endpoint,
            "sts_endpoint": self.sts_endpoint,
            "max_retries": self.max_retries,
        })
    }
}

/// Reads the stored configuration; the defaults when none was written. One `GetItem`.
pub async fn read(store: &dyn Store, m: Mount<'_>) -> Result<RootConfig, crate::store::StoreError> {
    let Some(item) = store.get(&root_key(m)).await? else {
        return Ok(RootConfig::default());
    };
    Ok(RootConfig {
        region: item.s(A_REGION)?.to_owned(),
        iam_endpoint: item.s(A_IAM_ENDPOINT)?.to_owned(),
        sts_endpoint: item.s(A_STS_ENDPOINT)?.to_owned(),
        max_retries: item.n(A_MAX_RETRIES)?,
    })
}

/// Validates a write's body ([`RootConfig::from_body`]) and stores it as the one
/// configuration item, replacing the previous one. Nothing is stored on a 400.
pub async fn write(store: &dyn Store, m: Mount<'_>, body: &Body) -> Result<(), ApiError> {
    let config = RootConfig::from_body(body)?;
    let mut item = new_item(&root_key(m));
    item.insert(A_REGION.into(), Value::S(config.region));
    item.insert(A_IAM_ENDPOINT.into(), Value::S(config.iam_endpoint));
    item.insert(A_STS_ENDPOINT.into(), Value::S(config.sts_endpoint));
    item.insert(A_MAX_RETRIES.into(), Value::N(config.max_retries));
    store.write(Write::Put { item, cond: None }).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;

    fn body(v: Json) -> Body {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn regions() {
        for ok in [
            "us-east-1",
            "eu-west-2",
            "us-gov-west-1",
            "ap-southeast-3",
            "cn-north-1",
            "eu-isoe-west-1",
            "il-central-1",
        ] {
            assert!(valid_region(ok), "{ok}");
        }
        for bad in [
            "",
            "us",
            "us-east",
            "US-EAST-1",
            "us-east-100",
            "useast1",
            "us--1",
            "us-east-1 ",
            "u-east-1",
            "us-east-x",
        ] {
            assert!(!valid_region(bad), "{bad:?}");
        }
    }

    #[test]
    fn endpoints() {
        for ok in [
            "https://iam.amazonaws.com",
            "https://sts.eu-west-1.amazonaws.com/",
            "http://127.0.0.1:8211",
            "https://vpce-123.sts.eu-west-1.vpce.amazonaws.com",
        ] {
            assert!(check_endpoint(ok, "iam_endpoint").is_ok(), "{ok}");
        }
        for bad in [
            "iam.amazonaws.com",
            "/relative",
            "ftp://iam.amazonaws.com",
            "file:///etc/passwd",
            "https://user:pass@iam.amazonaws.com",
            "https://user@iam.amazonaws.com",
            "https://iam.amazonaws.com/?x=1",
            "https://iam.amazonaws.com/#f",
            "https://",
            "https://x\r\n.com",
            "https://iam.amazonaws.com\n",
            "https://iam.\tamazonaws.com",
            " https://iam.amazonaws.com",
            "https://iam.amazonaws.com/a b",
            "https://iam.amazonaws.com/\u{0}",
            "http://example.com\t",
            "\thttp://example.com",
            "http://example.com\u{a0}",
            "http://example.com\u{2028}",
            "http:///path",
            "http:\\\\example.com",
            "http:example.com",
            "http://example.com:0",
        ] {
            let e = check_endpoint(bad, "iam_endpoint").unwrap_err();
            assert!(!e.to_string().contains("pass"), "{e}");
        }
        let long = format!("https://{}.com", "a".repeat(MAX_ENDPOINT_LEN));
        assert!(check_endpoint(&long, "sts_endpoint").is_err());
    }

    #[test]
    fn body_rules() {
        let c = RootConfig::from_body(&body(json!({
            "region": "eu-west-1",
            "iam_endpoint": "https://iam.amazonaws.com",
            "max_retries": "3",
            "unknown": 1,
            "access_key": "",
        })))
        .unwrap();
        assert_eq!(
            c,
            RootConfig {
                region: "eu-west-1".into(),
                iam_endpoint: "https://iam.amazonaws.com".into(),
                sts_endpoint: String::new(),
                max_retries: 3,
            }
        );
        assert_eq!(
            RootConfig::from_body(&Body::new()).unwrap(),
            RootConfig::default()
        );
        for bad in [
            json!({"secret_key": "wJalrXUtnFEMI/K7MDENG"}),
            json!({"access_key": "AKIAEXAMPLE"}),
            json!({"username_template": "{{.DisplayName}}"}),
            json!({"max_retries": -2}),
            json!({"max_retries": 11}),
            json!({"max_retries": "many"}),
            json!({"region": "mars-1"}),
            json!({"sts_endpoint": "sts"}),
        ] {
            let e = RootConfig::from_body(&body(bad.clone())).unwrap_err();
            assert_eq!(e.status(), 400, "{bad}");
            assert!(
                !e.to_string().contains("wJalr") && !e.to_string().contains("AKIAEXAMPLE"),
                "{e}"
            );
        }
    }

    const M: Mount<'static> = Mount::DEFAULT;

    #[tokio::test]
    async fn write_replaces_and_read_defaults() {
        let store = MemoryStore::new();
        assert_eq!(read(&store, M).await.unwrap(), RootConfig::default());
        write(
            &store,
            M,
            &body(json!({"region": "eu-west-1", "sts_endpoint": "https://sts.example.com"})),
        )
        .await
        .unwrap();
        assert_eq!(read(&store, M).await.unwrap().region, "eu-west-1");
        assert!(
            write(&store, M, &body(json!({"region": "nowhere"})))
                .await
                .is_err()
        );
        assert_eq!(
            read(&store, M).await.unwrap().sts_endpoint,
            "https://sts.example.com",
            "a refused write changes nothing"
        );
        write(&store, M, &body(json!({"max_retries": 0})))
            .await
            .unwrap();
        assert_eq!(
            read(&store, M).await.unwrap(),
            RootConfig {
                max_retries: 0,
                ..RootConfig::default()
            },
            "a write replaces the whole configuration, as Vault's"
        );
        let other = Mount {
            prefix: "aws/0000",
            name: "team-aws",
        };
        assert_eq!(
            read(&store, other).await.unwrap(),
            RootConfig::default(),
            "each mount has its own configuration"
        );
    }
}
