//! Output of responses, as Vault's CLI prints them: `table` (a Key/Value table with the
//! lease, the auth block and the flattened `data`), `json` (the response, pretty), or
//! one field's raw value (`-field=NAME`).
//!
//! Rendering functions are pure (they return text); [`Output::emit`] and
//! [`Output::success`] print it.

use std::io::{IsTerminal, Write};

use serde_json::{Map, Value};

use crate::error::CliError;

/// Output format (`-format`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Key/Value table (the default).
    #[default]
    Table,
    /// The response JSON, pretty-printed.
    Json,
}

/// How a response is laid out in table form, and where `-field` looks first.
#[derive(Clone, Copy, Debug)]
pub enum Shape<'a> {
    /// A generic response: lease, auth and `data` rows.
    Secret,
    /// A list (`data.keys`), read from `path`.
    List {
        /// The path listed (for "No value found").
        path: &'a str,
    },
    /// A KV v2 read of `path` (`mount/data/...`): metadata and data sections.
    KvRead {
        /// The API path read.
        path: &'a str,
    },
    /// A KV v2 write to `path`: the new version's metadata.
    KvWrite {
        /// The API path written.
        path: &'a str,
    },
    /// KV v2 metadata at `path`: the key's metadata and one section per version.
    KvMetadata {
        /// The API path read.
        path: &'a str,
    },
}

/// Output settings shared by every command (`-format`, `-field`).
#[derive(Clone, Debug, Default)]
pub struct Output {
    /// Format.
    pub format: Format,
    /// Print only this field's value.
    pub field: Option<String>,
}

impl Output {
    /// Prints a response in `shape`. Returns false when there was nothing to print in
    /// table form (the caller may print a success line instead).
    pub fn emit(&self, resp: &Value, shape: Shape<'_>) -> Result<bool, CliError> {
        if let Some(name) = &self.field {
            let value = find_field(resp, shape, name)
                .ok_or_else(|| CliError::usage(format!("Field {name:?} not present in secret")))?;
            self.print_field(&value);
            return Ok(true);
        }
        match self.format {
            Format::Json => {
                print_stdout(&pretty(resp));
                Ok(true)
            }
            Format::Table => {
                let text = render_table(resp, shape)?;
                if let Some(w) = warnings(resp) {
                    eprint!("{w}");
                }
                print_stdout(&text);
                Ok(!text.is_empty())
            }
        }
    }

    /// Prints named values (admin reports): a table in the given order, a JSON object,
    /// or one field.
    pub fn emit_rows(&self, rows: &[(&str, Value)]) -> Result<(), CliError> {
        if let Some(name) = &self.field {
            let value = rows
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v)
                .ok_or_else(|| CliError::usage(format!("Field {name:?} not present in output")))?;
            self.print_field(value);
            return Ok(());
        }
        match self.format {
            Format::Json => {
                let map: Map<String, Value> = rows
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.clone()))
                    .collect();
                print_stdout(&pretty(&Value::Object(map)));
            }
            Format::Table => {
                let cells: Vec<(String, String)> = rows
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), data_cell(k, v)))
                    .collect();
                print_stdout(&table(&cells));
            }
        }
        Ok(())
    }

    /// Prints a one-line success message (table format only, as Vault does).
    pub fn success(&self, message: &str) {
        if self.format == Format::Table && self.field.is_none() {
            print_stdout(&format!("{message}\n"));
        }
    }

    /// Whether output is a table (for commands that print progress).
    pub fn is_table(&self) -> bool {
        self.format == Format::Table && self.field.is_none()
    }

    fn print_field(&self, value: &Value) {
        let text = match self.format {
            Format::Json => pretty(value),
            Format::Table => raw(value),
        };
        // Raw, with no newline added when piped (`$(sigil read -field=x ...)`); a
        // terminal gets one so the prompt starts on its own line, as in Vault.
        if std::io::stdout().is_terminal() && !text.ends_with('\n') {
            print_stdout(&format!("{text}\n"));
        } else {
            print_stdout(&text);
        }
    }
}

fn print_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth reporting.
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// Pretty JSON with a final newline.
pub fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string());
    s.push('\n');
    s
}

/// A field's raw value: strings as they are, anything else as compact JSON.
pub fn raw(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Finds `-field=NAME`: in the data (for KV reads, the secret's own data first, then
/// its metadata), then in the auth block (`token` is `auth.client_token`, as in
/// Vault), then among the lease fields.
pub fn find_field(resp: &Value, shape: Shape<'_>, name: &str) -> Option<Value> {
    let data = resp.get("data");
    let views: Vec<Option<&Value>> = match shape {
        Shape::KvRead { .. } => vec![
            data.and_then(|d| d.get("data")),
            data.and_then(|d| d.get("metadata")),
        ],
        _ => vec![data],
    };
    for view in views.into_iter().flatten() {
        if let Some(v) = view.get(name) {
            return Some(v.clone());
        }
    }
    if let Some(auth) = resp.get("auth").filter(|a| a.is_object()) {
        let key = match name {
            "token" => "client_token",
            "token_accessor" => "accessor",
            "token_duration" => "lease_duration",
            "token_renewable" => "renewable",
            "token_meta" => "metadata",
            other => other,
        };
        if let Some(v) = auth.get(key) {
            return Some(v.clone());
        }
    }
    let top = match name {
        "lease_renewable" => "renewable",
        other => other,
    };
    match top {
        "lease_id" | "lease_duration" | "renewable" | "request_id" => resp.get(top).cloned(),
        _ => None,
    }
}

/// Go-style duration text as Vault prints it: `0s`, `90s` -> `1m30s`, `3600` -> `1h`,
/// `5400` -> `1h30m`, `2764800` -> `768h`.
pub fn human_duration(secs: i64) -> String {
    if secs < 0 {
        return format!("-{}", human_duration(secs.saturating_neg()));
    }
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

/// Whether Vault prints a field of this name as a duration.
fn looks_like_duration(key: &str) -> bool {
    key == "ttl" || key.ends_with("_ttl") || key == "period" || key.ends_with("_period")
}

/// One table cell: strings as they are (empty ones as `n/a`), null as `<nil>`,
/// numbers and booleans as text, lists and objects as compact JSON.
pub fn cell(v: &Value) -> String {
    match v {
        Value::String(s) if s.is_empty() => "n/a".to_owned(),
        Value::Null => "<nil>".to_owned(),
        other => raw(other),
    }
}

/// A cell for field `key`: TTL-like fields with a number of seconds print as durations.
pub fn data_cell(key: &str, v: &Value) -> String {
    if looks_like_duration(key) {
        let secs = match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.parse::<i64>().ok(),
            _ => None,
        };
        if let Some(secs) = secs {
            return human_duration(secs);
        }
    }
    cell(v)
}

/// Rows of an object, sorted by key.
pub fn data_rows(map: &Map<String, Value>) -> Vec<(String, String)> {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    keys.into_iter()
        .map(|k| (k.clone(), data_cell(k, &map[k])))
        .collect()
}

/// A Key/Value table, columns separated by four spaces, as Vault prints it. Empty
/// when there are no rows.
pub fn table(rows: &[(String, String)]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let rows: Vec<(String, String)> = rows
        .iter()
        .map(|(k, v)| (printable(k), printable(v)))
        .collect();
    let width = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0)
        .max(3);
    let mut out = format!("{:<width$}    Value\n{:<width$}    -----\n", "Key", "---");
    for (k, v) in &rows {
        out.push_str(&format!("{k:<width$}    {v}\n"));
    }
    out
}

/// Text for a terminal: control characters other than newline (escape sequences,
/// carriage returns, backspaces) shown escaped (`\u{1b}`), so a value someone else
/// chose (a JWT claim in token metadata, a secret) cannot recolor or rewrite the
/// screen. Newlines stay, so multi-line values (PEM blocks) read as Vault prints them.
/// `-field` and `-format=json` output is unchanged.
pub fn printable(text: &str) -> String {
    if !text.chars().any(|c| c.is_control() && c != '\n') {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A section title centred in `=` signs, about as wide as what follows (Vault's
/// `padEqualSigns`).
pub fn section_header(title: &str, width: usize) -> String {
    let mut signs = width.saturating_sub(title.chars().count() + 2);
    if signs == 0 {
        signs = 4;
    }
    if !signs.is_multiple_of(2) {
        signs += 1;
    }
    let side = "=".repeat(signs / 2);
    format!("{side} {title} {side}")
}

/// A titled path line (`== Secret Path ==`), the header as wide as the path.
fn path_section(title: &str, path: &str) -> String {
    format!("{}\n{path}\n", section_header(title, path.chars().count()))
}

/// A titled Key/Value table; the header is as wide as the widest key, the column gap
/// and `Value` (as Vault sizes it).
fn table_section(title: &str, rows: &[(String, String)]) -> String {
    let key_width = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0)
        .max(3);
    format!(
        "{}\n{}",
        section_header(title, key_width + 4 + 5),
        table(rows)
    )
}

/// The rows of a generic response: lease, auth block, then `data` (Vault's order).
pub fn secret_rows(resp: &Value) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    let mut row = |k: &str, v: String| rows.push((k.to_owned(), v));
    let lease_duration = resp
        .get("lease_duration")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if lease_duration > 0 {
        match resp
            .get("lease_id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            Some(id) => {
                row("lease_id", id.to_owned());
                row("lease_duration", human_duration(lease_duration));
                row(
                    "lease_renewable",
                    cell(resp.get("renewable").unwrap_or(&Value::Bool(false))),
                );
            }
            None => row("refresh_interval", human_duration(lease_duration)),
        }
    }
    if let Some(auth) = resp.get("auth").filter(|a| a.is_object()) {
        let get = |k: &str| auth.get(k).cloned().unwrap_or(Value::Null);
        row("token", cell(&get("client_token")));
        row("token_accessor", cell(&get("accessor")));
        let duration = get("lease_duration").as_i64().unwrap_or(0);
        row(
            "token_duration",
            if duration == 0 {
                "∞".to_owned()
            } else {
                human_duration(duration)
            },
        );
        row("token_renewable", cell(&get("renewable")));
        row("token_policies", cell(&get("token_policies")));
        if let Some(ip) = auth.get("identity_policies").filter(|v| !v.is_null()) {
            row("identity_policies", cell(ip));
        }
        row("policies", cell(&get("policies")));
        if let Some(meta) = auth.get("metadata").and_then(Value::as_object) {
            for (k, v) in data_rows(meta) {
                row(&format!("token_meta_{k}"), v);
            }
        }
    }
    if let Some(data) = resp.get("data").and_then(Value::as_object) {
        rows.extend(data_rows(data));
    }
    rows
}

/// Warnings of a response, as Vault prints them (for stderr).
pub fn warnings(resp: &Value) -> Option<String> {
    let list: Vec<&str> = resp
        .get("warnings")?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    if list.is_empty() {
        return None;
    }
    let mut out = String::from("WARNING! The following warnings were returned from Sigil:\n\n");
    for w in list {
        out.push_str(&format!("  * {w}\n"));
    }
    out.push('\n');
    Some(out)
}

/// The table text of a response in `shape` (empty when there is nothing to show).
pub fn render_table(resp: &Value, shape: Shape<'_>) -> Result<String, CliError> {
    let data = resp.get("data").and_then(Value::as_object);
    Ok(match shape {
        Shape::Secret => table(&secret_rows(resp)),
        Shape::List { path } => {
            let keys: Vec<String> = data
                .and_then(|d| d.get("keys"))
                .and_then(Value::as_array)
                .map(|ks| ks.iter().map(raw).collect())
                .unwrap_or_default();
            if keys.is_empty() {
                return Err(CliError::NotFound(path.to_owned()));
            }
            let mut out = String::from("Keys\n----\n");
            for k in keys {
                out.push_str(&k);
                out.push('\n');
            }
            out
        }
        Shape::KvRead { path } => {
            let mut out = path_section("Secret Path", path);
            if let Some(meta) = data
                .and_then(|d| d.get("metadata"))
                .and_then(Value::as_object)
            {
                out.push('\n');
                out.push_str(&table_section("Metadata", &data_rows(meta)));
            }
            if let Some(secret) = data.and_then(|d| d.get("data")).and_then(Value::as_object) {
                out.push('\n');
                out.push_str(&table_section("Data", &data_rows(secret)));
            }
            out
        }
        Shape::KvWrite { path } => {
            let mut out = path_section("Secret Path", path);
            out.push('\n');
            out.push_str(&table_section("Metadata", &secret_rows(resp)));
            out
        }
        Shape::KvMetadata { path } => {
            let mut out = path_section("Metadata Path", path);
            let Some(meta) = data else { return Ok(out) };
            let mut top = meta.clone();
            let versions = top.remove("versions");
            out.push('\n');
            out.push_str(&table_section("Metadata", &data_rows(&top)));
            if let Some(Value::Object(versions)) = versions {
                let mut numbered: Vec<(i64, &Value)> = versions
                    .iter()
                    .map(|(k, v)| (k.parse::<i64>().unwrap_or(0), v))
                    .collect();
                numbered.sort_by_key(|(n, _)| std::cmp::Reverse(*n));
                for (n, v) in numbered {
                    if let Some(v) = v.as_object() {
                        out.push('\n');
                        out.push_str(&table_section(&format!("Version {n}"), &data_rows(v)));
                    }
                }
            }
            out
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TOKEN: &str = "sgl.tokentokentoken";

    fn login_response() -> Value {
        json!({
            "request_id": "r1", "lease_id": "", "lease_duration": 0, "renewable": false,
            "data": null, "warnings": null,
            "auth": {
                "client_token": TOKEN, "accessor": "acc1", "policies": ["default", "app"],
                "token_policies": ["default", "app"], "identity_policies": null,
                "metadata": {"role_name": "ci"}, "lease_duration": 3600, "renewable": true
            }
        })
    }

    #[test]
    fn table_cells_escape_control_characters_but_keep_newlines() {
        let rows = vec![(
            "token_meta_email".to_owned(),
            "line1\nfake_key    fake\u{1b}[31m\r\u{8}".to_owned(),
        )];
        let text = table(&rows);
        assert!(!text.contains('\u{1b}') && !text.contains('\r'), "{text:?}");
        assert!(
            text.contains("line1\nfake_key    fake\\u{1b}[31m\\r\\u{8}"),
            "{text}"
        );
        assert_eq!(printable("plain"), "plain");
        assert_eq!(
            printable("-----BEGIN X-----\nAA==\n"),
            "-----BEGIN X-----\nAA==\n"
        );
    }

    #[test]
    fn durations_like_vault() {
        assert_eq!(human_duration(0), "0s");
        assert_eq!(human_duration(45), "45s");
        assert_eq!(human_duration(90), "1m30s");
        assert_eq!(human_duration(60), "1m");
        assert_eq!(human_duration(3600), "1h");
        assert_eq!(human_duration(3601), "1h1s");
        assert_eq!(human_duration(5400), "1h30m");
        assert_eq!(human_duration(768 * 3600), "768h");
        assert_eq!(human_duration(-60), "-1m");
    }

    #[test]
    fn secret_table_flattens_data() {
        let resp = json!({
            "lease_id": "", "lease_duration": 2764800, "renewable": false,
            "data": {"password": "p=w", "ttl": 90, "empty": "", "list": ["a", "b"], "nothing": null}
        });
        assert_eq!(
            render_table(&resp, Shape::Secret).unwrap(),
            "Key                 Value\n\
             ---                 -----\n\
             refresh_interval    768h\n\
             empty               n/a\n\
             list                [\"a\",\"b\"]\n\
             nothing             <nil>\n\
             password            p=w\n\
             ttl                 1m30s\n"
        );
    }

    #[test]
    fn auth_table_shows_token_fields() {
        let text = render_table(&login_response(), Shape::Secret).unwrap();
        let rows: Vec<(&str, &str)> = text
            .lines()
            .map(|l| l.split_once(' ').map(|(k, v)| (k, v.trim_start())).unwrap())
            .collect();
        assert_eq!(
            rows,
            [
                ("Key", "Value"),
                ("---", "-----"),
                ("token", TOKEN),
                ("token_accessor", "acc1"),
                ("token_duration", "1h"),
                ("token_renewable", "true"),
                ("token_policies", "[\"default\",\"app\"]"),
                ("policies", "[\"default\",\"app\"]"),
                ("token_meta_role_name", "ci"),
            ]
        );
        // Every value starts in the same column: after the widest key and four spaces.
        assert!(
            text.contains(&format!("\ntoken{}{TOKEN}\n", " ".repeat(19))),
            "{text}"
        );
        assert!(text.contains("\ntoken_meta_role_name    ci\n"), "{text}");
    }

    #[test]
    fn lease_rows() {
        let resp = json!({"lease_id": "aws/creds/x/abc", "lease_duration": 900, "renewable": true, "data": {"access_key": "AK"}});
        let rows = secret_rows(&resp);
        assert_eq!(
            rows[..3],
            [
                ("lease_id".to_owned(), "aws/creds/x/abc".to_owned()),
                ("lease_duration".to_owned(), "15m".to_owned()),
                ("lease_renewable".to_owned(), "true".to_owned())
            ]
        );
    }

    #[test]
    fn fields() {
        let login = login_response();
        assert_eq!(
            find_field(&login, Shape::Secret, "token"),
            Some(json!(TOKEN))
        );
        assert_eq!(
            find_field(&login, Shape::Secret, "token_accessor"),
            Some(json!("acc1"))
        );
        assert_eq!(
            find_field(&login, Shape::Secret, "token_duration"),
            Some(json!(3600))
        );
        assert_eq!(find_field(&login, Shape::Secret, "missing"), None);
        let role = json!({"data": {"role_id": "rid", "token": "data wins"}, "auth": {"client_token": "t"}});
        assert_eq!(
            find_field(&role, Shape::Secret, "role_id"),
            Some(json!("rid"))
        );
        assert_eq!(
            find_field(&role, Shape::Secret, "token"),
            Some(json!("data wins"))
        );
        let kv = json!({"data": {"data": {"password": "pw"}, "metadata": {"version": 3}}});
        let shape = Shape::KvRead {
            path: "secret/data/app",
        };
        assert_eq!(find_field(&kv, shape, "password"), Some(json!("pw")));
        assert_eq!(find_field(&kv, shape, "version"), Some(json!(3)));
        assert_eq!(raw(&json!("pw")), "pw");
        assert_eq!(raw(&json!(["a"])), "[\"a\"]");
        let lease = json!({"lease_id": "l/1", "renewable": true, "data": {}});
        assert_eq!(
            find_field(&lease, Shape::Secret, "lease_id"),
            Some(json!("l/1"))
        );
        assert_eq!(
            find_field(&lease, Shape::Secret, "lease_renewable"),
            Some(json!(true))
        );
    }

    #[test]
    fn kv_read_sections() {
        let resp = json!({"data": {
            "data": {"user": "u"},
            "metadata": {"created_time": "2024-01-01T00:00:00Z", "deletion_time": "", "destroyed": false, "version": 2, "custom_metadata": null}
        }});
        let text = render_table(
            &resp,
            Shape::KvRead {
                path: "secret/data/app",
            },
        )
        .unwrap();
        assert!(
            text.starts_with("= Secret Path =\nsecret/data/app\n\n"),
            "{text}"
        );
        assert!(text.contains("\n======= Metadata =======\nKey"), "{text}");
        assert!(text.contains("deletion_time      n/a\n"), "{text}");
        assert!(text.contains("custom_metadata    <nil>\n"), "{text}");
        assert!(
            text.contains("\n==== Data ====\nKey     Value\n---     -----\nuser    u\n"),
            "{text}"
        );
    }

    #[test]
    fn kv_metadata_sections_newest_first() {
        let resp = json!({"data": {"current_version": 2, "max_versions": 0,
            "versions": {"1": {"destroyed": false}, "2": {"destroyed": false}, "10": {"destroyed": true}}}});
        let text = render_table(
            &resp,
            Shape::KvMetadata {
                path: "secret/metadata/app",
            },
        )
        .unwrap();
        let v10 = text.find("Version 10").unwrap();
        let v2 = text.find("Version 2").unwrap();
        let v1 = text.find("Version 1 ").unwrap();
        assert!(v10 < v2 && v2 < v1, "{text}");
        assert!(!text.lines().any(|l| l.starts_with("versions")), "{text}");
    }

    #[test]
    fn list_table_and_empty_list() {
        let resp = json!({"data": {"keys": ["a", "b/"]}});
        assert_eq!(
            render_table(&resp, Shape::List { path: "p/" }).unwrap(),
            "Keys\n----\na\nb/\n"
        );
        let empty = json!({"data": {"keys": []}});
        assert!(
            matches!(render_table(&empty, Shape::List { path: "p/" }), Err(CliError::NotFound(p)) if p == "p/")
        );
    }

    #[test]
    fn headers_and_warnings() {
        assert_eq!(section_header("Data", 20), "======= Data =======");
        assert_eq!(section_header("Secret Path", 5), "== Secret Path ==");
        assert_eq!(table(&[]), "");
        let w = warnings(&json!({"warnings": ["capped at max TTL"]})).unwrap();
        assert!(w.contains("  * capped at max TTL\n"));
        assert!(warnings(&json!({"warnings": null})).is_none());
    }
}
