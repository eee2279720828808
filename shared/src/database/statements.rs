//! Statement templates: a role's `creation_statements`, `renew_statements`,
//! `revocation_statements` and a connection's `root_rotation_statements`, with
//! OpenBao's placeholders `{{name}}`, `{{username}}`, `{{password}}` and
//! `{{expiration}}` (OpenBao `sdk/database/helper/dbutil`, `dbtxn`).
//!
//! Unlike OpenBao, which pastes values into the text, a value is escaped for the place
//! it is pasted into, found by reading the statement as PostgreSQL's lexer does:
//! inside `"..."` its `"` are doubled, inside `'...'` its `'` are doubled, outside
//! any quotes it becomes a quoted identifier (`name`, `username`) or literal
//! (`password`, `expiration`); inside `E'...'` strings, dollar-quoted bodies and
//! comments, where no escaping is safe, only plain values (letters, digits,
//! `_.-@+:` and space) are pasted and anything else is refused. A statement is split
//! into queries at `;` outside quotes, dollar quotes and comments (OpenBao splits at
//! every `;` unless the text holds `END`). Unknown or misplaced placeholders, and
//! unterminated quotes, are refused when the role is written.

use crate::error::ApiError;

/// The placeholders a kind of statement may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `creation_statements`: name, username, password, expiration.
    Creation,
    /// `renew_statements`: name, username, expiration.
    Renew,
    /// `revocation_statements`: name, username.
    Revocation,
    /// `root_rotation_statements` and password changes: username, password (and name).
    Rotation,
}

impl Kind {
    fn allows(self, field: &str) -> bool {
        match field {
            "name" | "username" => true,
            "password" => matches!(self, Kind::Creation | Kind::Rotation),
            "expiration" => matches!(self, Kind::Creation | Kind::Renew),
            _ => false,
        }
    }

    fn field(self) -> &'static str {
        match self {
            Kind::Creation => "creation_statements",
            Kind::Renew => "renew_statements",
            Kind::Revocation => "revocation_statements",
            Kind::Rotation => "root_rotation_statements",
        }
    }
}

/// The values pasted into a statement. `Debug` never prints the password.
#[derive(Clone, Default)]
pub struct Values<'a> {
    /// `{{name}}` and `{{username}}`.
    pub username: &'a str,
    /// `{{password}}`.
    pub password: &'a str,
    /// `{{expiration}}`, OpenBao's format `2006-01-02 15:04:05-0700` ([`expiration`]).
    pub expiration: &'a str,
}

impl std::fmt::Debug for Values<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Values")
            .field("username", &self.username)
            .field("password", &"redacted")
            .field("expiration", &self.expiration)
            .finish()
    }
}

/// `{{expiration}}` of Unix time `secs`: `YYYY-MM-DD HH:MM:SS+0000` (UTC; OpenBao's
/// `2006-01-02 15:04:05-0700`).
pub fn expiration(secs: i64) -> String {
    let fmt =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]+0000");
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_else(|| "infinity".into())
}

/// Whether `v` may be pasted where no escaping is safe.
fn plain(v: &str) -> bool {
    v.chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.-@+: ".contains(c))
}

#[derive(Clone, PartialEq, Eq)]
enum State {
    Normal,
    Single,
    ESingle,
    Double,
    Dollar(String),
    Line,
    /// Inside `/* ... */`, nested this deep (PostgreSQL nests block comments).
    Block(u32),
}

/// Renders `statements` (each may hold several queries) with `values` into the queries
/// to run, in order. Errors name the field and the problem, never a value.
pub fn render(
    kind: Kind,
    statements: &[String],
    values: &Values<'_>,
) -> Result<Vec<String>, ApiError> {
    let mut out = Vec::new();
    for s in statements {
        render_one(kind, s, values, &mut out)?;
    }
    Ok(out)
}

/// Checks `statements` of `kind` as a role write does: every placeholder known and
/// allowed, quotes terminated.
pub fn check(kind: Kind, statements: &[String]) -> Result<(), ApiError> {
    let dummy = Values {
        username: "u",
        password: "p",
        expiration: "2000-01-01 00:00:00+0000",
    };
    render(kind, statements, &dummy).map(drop)
}

fn render_one(
    kind: Kind,
    s: &str,
    values: &Values<'_>,
    out: &mut Vec<String>,
) -> Result<(), ApiError> {
    let bad = |why: &str| ApiError::bad(format!("invalid \"{}\": {why}", kind.field()));
    let chars: Vec<char> = s.chars().collect();
    let mut state = State::Normal;
    let mut cur = String::new();
    let mut i = 0;
    let at = |i: usize, p: &str| {
        p.chars()
            .enumerate()
            .all(|(k, c)| chars.get(i + k) == Some(&c))
    };
    while i < chars.len() {
        let c = chars[i];
        if at(i, "{{") {
            let rest: String = chars[i + 2..].iter().collect();
            let end = rest.find("}}").ok_or_else(|| bad("unterminated \"{{\""))?;
            let field = &rest[..end];
            if !kind.allows(field) {
                let shown: String = field.chars().take(32).collect();
                return Err(bad(&format!(
                    "unknown or unusable placeholder {{{{{shown}}}}}"
                )));
            }
            let (value, ident) = match field {
                "password" => (values.password, false),
                "expiration" => (values.expiration, false),
                _ => (values.username, true),
            };
            if value.chars().any(char::is_control) {
                return Err(bad("a value holds control characters"));
            }
            match &state {
                State::Normal if ident => {
                    cur.push('"');
                    cur.push_str(&value.replace('"', "\"\""));
                    cur.push('"');
                }
                State::Normal => {
                    cur.push('\'');
                    cur.push_str(&value.replace('\'', "''"));
                    cur.push('\'');
                }
                State::Double => cur.push_str(&value.replace('"', "\"\"")),
                State::Single => cur.push_str(&value.replace('\'', "''")),
                _ if plain(value) => cur.push_str(value),
                _ => {
                    return Err(bad(
                        "a value with quotes or other special characters cannot be placed in an E'' string, a dollar-quoted body or a comment",
                    ));
                }
            }
            i += 2 + field.chars().count() + 2;
            continue;
        }
        match &state {
            State::Normal => {
                if c == ';' {
                    let q = cur.trim();
                    if !q.is_empty() {
                        out.push(q.to_owned());
                    }
                    cur.clear();
                    i += 1;
                    continue;
                }
                if c == '\'' {
                    let e = cur.chars().last().is_some_and(|p| p == 'E' || p == 'e')
                        && !cur
                            .chars()
                            .rev()
                            .nth(1)
                            .is_some_and(|p| p.is_alphanumeric() || p == '_');
                    state = if e { State::ESingle } else { State::Single };
                } else if c == '"' {
                    state = State::Double;
                } else if at(i, "--") {
                    state = State::Line;
                } else if at(i, "/*") {
                    cur.push_str("/*");
                    i += 2;
                    state = State::Block(1);
                    continue;
                } else if c == '$' {
                    // A dollar quote: `$tag$` with tag letters, digits, `_` (not a
                    // positional parameter `$1`).
                    let tag: String = chars[i + 1..]
                        .iter()
                        .take_while(|t| t.is_alphanumeric() || **t == '_')
                        .collect();
                    let starts_ok = !tag.starts_with(|t: char| t.is_ascii_digit());
                    if starts_ok && chars.get(i + 1 + tag.chars().count()) == Some(&'$') {
                        let opener = format!("${tag}$");
                        cur.push_str(&opener);
                        i += opener.chars().count();
                        state = State::Dollar(opener);
                        continue;
                    }
                }
            }
            State::Single | State::Double => {
                let q = if state == State::Single { '\'' } else { '"' };
                if c == q {
                    // A doubled quote stays inside; a single one closes.
                    if chars.get(i + 1) == Some(&q) {
                        cur.push(q);
                        cur.push(q);
                        i += 2;
                        continue;
                    }
                    state = State::Normal;
                }
            }
            State::ESingle => {
                if c == '\\' {
                    cur.push(c);
                    if let Some(n) = chars.get(i + 1) {
                        cur.push(*n);
                    }
                    i += 2;
                    continue;
                }
                if c == '\'' {
                    if chars.get(i + 1) == Some(&'\'') {
                        cur.push_str("''");
                        i += 2;
                        continue;
                    }
                    // PostgreSQL continues a string across whitespace holding a
                    // newline (and `--` comments): `E'a'` newline `'b'` is one escape
                    // string. Any quote after whitespace and comments is taken as such
                    // a continuation (stricter than the lexer, never laxer).
                    if let Some(next) = continuation(&chars, i + 1) {
                        cur.extend(&chars[i..next]);
                        i = next;
                        continue;
                    }
                    state = State::Normal;
                }
            }
            State::Dollar(tag) => {
                if at(i, tag) {
                    cur.push_str(tag);
                    i += tag.chars().count();
                    state = State::Normal;
                    continue;
                }
            }
            State::Line => {
                if c == '\n' {
                    state = State::Normal;
                }
            }
            State::Block(depth) => {
                if at(i, "*/") {
                    cur.push_str("*/");
                    i += 2;
                    state = if *depth == 1 {
                        State::Normal
                    } else {
                        State::Block(depth - 1)
                    };
                    continue;
                }
                if at(i, "/*") {
                    cur.push_str("/*");
                    i += 2;
                    state = State::Block(depth + 1);
                    continue;
                }
            }
        }
        cur.push(c);
        i += 1;
    }
    match state {
        State::Normal | State::Line => {}
        _ => return Err(bad("unterminated quote, dollar quote or comment")),
    }
    let q = cur.trim();
    if !q.is_empty() {
        out.push(q.to_owned());
    }
    Ok(())
}

/// Where a string closed just before `from` continues: the index just past the
/// opening quote of its next segment, when only whitespace and `--` comments lie
/// between (PostgreSQL's `quotecontinue` asks for a newline among them too; taking
/// more as continuation only makes the escape string's stricter rule apply longer).
fn continuation(chars: &[char], from: usize) -> Option<usize> {
    let mut j = from;
    while let Some(&c) = chars.get(j) {
        if c.is_whitespace() {
            j += 1;
        } else if c == '-' && chars.get(j + 1) == Some(&'-') {
            while chars.get(j).is_some_and(|c| *c != '\n') {
                j += 1;
            }
        } else if c == '\'' {
            return Some(j + 1);
        } else {
            return None;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v<'a>(user: &'a str) -> Values<'a> {
        Values {
            username: user,
            password: "pw-1",
            expiration: "2030-01-01 00:00:00+0000",
        }
    }

    #[test]
    fn openbaos_example_statements_render_as_openbao_renders_them() {
        let s = vec![
            "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO \"{{name}}\";".to_owned(),
        ];
        assert_eq!(
            render(Kind::Creation, &s, &v("v-tok-r-1")).unwrap(),
            [
                "CREATE ROLE \"v-tok-r-1\" WITH LOGIN PASSWORD 'pw-1' VALID UNTIL '2030-01-01 00:00:00+0000'",
                "GRANT SELECT ON ALL TABLES IN SCHEMA public TO \"v-tok-r-1\"",
            ]
        );
    }

    #[test]
    fn values_are_escaped_for_where_they_land() {
        let s = vec!["CREATE ROLE \"{{name}}\"; COMMENT ON ROLE {{name}} IS '{{name}}'".to_owned()];
        let hostile = "x\";DROP TABLE t;--'";
        assert_eq!(
            render(Kind::Creation, &s, &v(hostile)).unwrap(),
            [
                "CREATE ROLE \"x\"\";DROP TABLE t;--'\"",
                "COMMENT ON ROLE \"x\"\";DROP TABLE t;--'\" IS 'x\";DROP TABLE t;--'''",
            ]
        );
    }

    #[test]
    fn semicolons_inside_quotes_and_dollar_bodies_do_not_split() {
        let s = vec![
            "DO $$ BEGIN CREATE ROLE \"{{name}}\"; END $$; SELECT 'a;b'; SELECT \"c;d\" FROM t -- x;y\n; SELECT 1"
                .to_owned(),
        ];
        assert_eq!(
            render(Kind::Creation, &s, &v("plain-1")).unwrap(),
            [
                "DO $$ BEGIN CREATE ROLE \"plain-1\"; END $$",
                "SELECT 'a;b'",
                "SELECT \"c;d\" FROM t -- x;y",
                "SELECT 1",
            ]
        );
        let err = render(Kind::Creation, &s, &v("evil\"$$")).unwrap_err();
        assert!(err.to_string().contains("dollar-quoted"), "{err}");
    }

    #[test]
    fn nested_comments_and_continued_escape_strings_are_read_as_postgresql_does() {
        // Found by a hostile check: both let a name close the quote it sat in.
        let evil = "x\\'; CREATE ROLE inj SUPERUSER; --*/; CREATE ROLE inj2; /*";
        for s in [
            // `/* /* */ '...' */` is still a comment: the name is inside it.
            "CREATE ROLE \"{{name}}\" LOGIN /* /* */ '{{name}}' */",
            // `E'a'` newline `'...'` is one escape string (and with a comment between).
            "COMMENT ON ROLE \"{{name}}\" IS E'a'\n'{{name}}'",
            "COMMENT ON ROLE \"{{name}}\" IS E'a' -- c\n  '{{name}}'",
        ] {
            let err = render(Kind::Creation, &[s.to_owned()], &v(evil)).unwrap_err();
            assert!(err.to_string().contains("E'' string"), "{s}: {err}");
            // A plain name still fits, and the statement stays one query.
            let q = render(Kind::Creation, &[s.to_owned()], &v("svc_1")).unwrap();
            assert_eq!(q.len(), 1, "{q:?}");
        }
        // Comment depth comes back to zero: what follows is outside again.
        let q = render(
            Kind::Creation,
            &["/* a /* b */ c */ CREATE ROLE {{name}}; SELECT 1".to_owned()],
            &v("we'ird\""),
        )
        .unwrap();
        assert_eq!(
            q,
            ["/* a /* b */ c */ CREATE ROLE \"we'ird\"\"\"", "SELECT 1"]
        );
        assert!(check(Kind::Creation, &["/* /* */ {{name}}".to_owned()]).is_err());
    }

    #[test]
    fn unknown_misplaced_and_unterminated_are_refused() {
        for (kind, s) in [
            (Kind::Creation, "CREATE ROLE {{name}} {{nope}}"),
            (Kind::Creation, "CREATE ROLE {{ name }}"),
            (
                Kind::Revocation,
                "ALTER ROLE {{name}} PASSWORD '{{password}}'",
            ),
            (Kind::Renew, "ALTER ROLE {{name}} PASSWORD '{{password}}'"),
            (Kind::Creation, "CREATE ROLE {{name"),
            (Kind::Creation, "CREATE ROLE '{{name}}"),
            (Kind::Creation, "CREATE ROLE \"{{name}}"),
            (Kind::Creation, "SELECT $a$ {{name}}"),
            (Kind::Creation, "/* {{name}}"),
        ] {
            assert!(check(kind, &[s.to_owned()]).is_err(), "{s}");
        }
        assert!(check(Kind::Revocation, &["DROP ROLE \"{{name}}\"".to_owned()]).is_ok());
        let err = render(Kind::Creation, &["SELECT '{{name}}'".into()], &v("a\nb")).unwrap_err();
        assert!(err.to_string().contains("control"), "{err}");
    }

    #[test]
    fn expiration_uses_openbaos_format() {
        assert_eq!(expiration(0), "1970-01-01 00:00:00+0000");
        assert_eq!(expiration(1_893_456_000), "2030-01-01 00:00:00+0000");
    }
}
