//! Generated database user names: OpenBao's `username_template` (a Go text/template,
//! OpenBao `sdk/helper/template`), of which Sigil evaluates the part user-name templates
//! use: literal text and `{{ ... }}` actions holding pipelines (`a | b`) of the fields
//! `.DisplayName` and `.RoleName`, string and integer literals, parentheses and the
//! functions `printf` (`%s`, `%v`, `%d`), `truncate N`, `truncate_sha256 N`,
//! `lowercase`, `uppercase`, `replace OLD NEW`, `random N` (letters and digits),
//! `unix_time`, `unix_time_millis`, `uuid`, `sha256` and `base64`. Anything else is
//! refused when the connection is written (OpenBao's rule: the template must generate).
//!
//! The default is OpenBao's PostgreSQL plugin's:
//! `{{ printf "v-%s-%s-%s-%s" (.DisplayName | truncate 8) (.RoleName | truncate 8) (random 20) (unix_time) | truncate 63 }}`.

use crate::error::ApiError;

/// OpenBao's PostgreSQL default user name template.
pub const DEFAULT_TEMPLATE: &str = r#"{{ printf "v-%s-%s-%s-%s" (.DisplayName | truncate 8) (.RoleName | truncate 8) (random 20) (unix_time) | truncate 63 }}"#;

/// What a template is evaluated with.
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    /// The caller's token display name (`.DisplayName`).
    pub display_name: &'a str,
    /// The role's name (`.RoleName`).
    pub role_name: &'a str,
    /// Now, Unix seconds (`unix_time`).
    pub now: i64,
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    LParen,
    RParen,
    Pipe,
    Str(String),
    Int(i64),
    Field(String),
    Ident(String),
}

#[derive(Clone, Debug)]
enum Arg {
    Str(String),
    Int(i64),
    Field(String),
    Ident(String),
    Sub(Vec<Vec<Arg>>),
}

fn bad(why: impl std::fmt::Display) -> ApiError {
    ApiError::bad(format!("invalid username template: {why}"))
}

fn lex(s: &str) -> Result<Vec<Tok>, ApiError> {
    let cs: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        match c {
            ' ' | '\t' => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            '|' => {
                out.push(Tok::Pipe);
                i += 1;
            }
            '"' => {
                let mut v = String::new();
                i += 1;
                loop {
                    match cs.get(i) {
                        None => return Err(bad("unterminated string")),
                        Some('"') => break,
                        Some('\\') => {
                            match cs.get(i + 1) {
                                Some('n') => v.push('\n'),
                                Some(x) => v.push(*x),
                                None => return Err(bad("unterminated string")),
                            }
                            i += 2;
                            continue;
                        }
                        Some(x) => v.push(*x),
                    }
                    i += 1;
                }
                out.push(Tok::Str(v));
                i += 1;
            }
            '.' | 'a'..='z' | 'A'..='Z' | '_' | '0'..='9' | '-' => {
                let word: String = cs[i..]
                    .iter()
                    .take_while(|c| c.is_alphanumeric() || **c == '_' || **c == '.' || **c == '-')
                    .collect();
                i += word.chars().count();
                out.push(if let Some(f) = word.strip_prefix('.') {
                    Tok::Field(f.to_owned())
                } else if let Ok(n) = word.parse() {
                    Tok::Int(n)
                } else {
                    Tok::Ident(word)
                });
            }
            other => return Err(bad(format!("unexpected {other:?}"))),
        }
    }
    Ok(out)
}

fn parse_pipeline(toks: &[Tok], i: &mut usize) -> Result<Vec<Vec<Arg>>, ApiError> {
    let mut cmds = vec![Vec::new()];
    while let Some(t) = toks.get(*i) {
        *i += 1;
        let last = cmds.last_mut().ok_or_else(|| bad("empty"))?;
        match t {
            Tok::RParen => {
                *i -= 1;
                break;
            }
            Tok::Pipe => cmds.push(Vec::new()),
            Tok::LParen => {
                let sub = parse_pipeline(toks, i)?;
                if toks.get(*i) != Some(&Tok::RParen) {
                    return Err(bad("unbalanced parentheses"));
                }
                *i += 1;
                last.push(Arg::Sub(sub));
            }
            Tok::Str(s) => last.push(Arg::Str(s.clone())),
            Tok::Int(n) => last.push(Arg::Int(*n)),
            Tok::Field(f) => last.push(Arg::Field(f.clone())),
            Tok::Ident(f) => last.push(Arg::Ident(f.clone())),
        }
    }
    if cmds.iter().any(Vec::is_empty) {
        return Err(bad("empty command"));
    }
    Ok(cmds)
}

fn eval_pipeline(cmds: &[Vec<Arg>], input: &Input<'_>) -> Result<String, ApiError> {
    let mut piped: Option<String> = None;
    for cmd in cmds {
        piped = Some(eval_cmd(cmd, piped, input)?);
    }
    piped.ok_or_else(|| bad("empty pipeline"))
}

fn eval_arg(a: &Arg, input: &Input<'_>) -> Result<String, ApiError> {
    match a {
        Arg::Str(s) => Ok(s.clone()),
        Arg::Int(n) => Ok(n.to_string()),
        Arg::Field(f) => match f.as_str() {
            "DisplayName" => Ok(input.display_name.to_owned()),
            "RoleName" => Ok(input.role_name.to_owned()),
            other => Err(bad(format!("unknown field .{other}"))),
        },
        Arg::Ident(f) => call(f, &[], input),
        Arg::Sub(p) => eval_pipeline(p, input),
    }
}

fn eval_cmd(cmd: &[Arg], piped: Option<String>, input: &Input<'_>) -> Result<String, ApiError> {
    match cmd {
        [Arg::Ident(f), rest @ ..] => {
            let mut args = rest
                .iter()
                .map(|a| eval_arg(a, input))
                .collect::<Result<Vec<_>, _>>()?;
            args.extend(piped);
            call(f, &args, input)
        }
        [single] if piped.is_none() => eval_arg(single, input),
        _ => Err(bad("a value cannot take arguments")),
    }
}

fn int(s: &str) -> Result<usize, ApiError> {
    s.parse()
        .map_err(|_| bad("expected a non-negative integer"))
}

fn call(f: &str, args: &[String], input: &Input<'_>) -> Result<String, ApiError> {
    let want = |n: usize| {
        if args.len() == n {
            Ok(())
        } else {
            Err(bad(format!("{f} takes {n} argument(s)")))
        }
    };
    match f {
        "printf" => {
            let (fmt, rest) = args
                .split_first()
                .ok_or_else(|| bad("printf needs a format"))?;
            let mut out = String::new();
            let mut it = rest.iter();
            let mut cs = fmt.chars();
            while let Some(c) = cs.next() {
                if c != '%' {
                    out.push(c);
                    continue;
                }
                match cs.next() {
                    Some('%') => out.push('%'),
                    Some('s' | 'v' | 'd') => {
                        out.push_str(it.next().ok_or_else(|| bad("printf: too few arguments"))?)
                    }
                    _ => return Err(bad("printf: only %s, %v and %d")),
                }
            }
            Ok(out)
        }
        "truncate" => {
            want(2)?;
            Ok(args[1].chars().take(int(&args[0])?).collect())
        }
        "truncate_sha256" => {
            want(2)?;
            let n = int(&args[0])?;
            let s = &args[1];
            if s.chars().count() <= n {
                return Ok(s.clone());
            }
            let keep: String = s.chars().take(n.saturating_sub(8)).collect();
            Ok(format!(
                "{keep}{}",
                &crate::crypto::sha256_hex(s.as_bytes())[..8]
            ))
        }
        "lowercase" => {
            want(1)?;
            Ok(args[0].to_lowercase())
        }
        "uppercase" => {
            want(1)?;
            Ok(args[0].to_uppercase())
        }
        "replace" => {
            want(3)?;
            Ok(args[2].replace(&args[0], &args[1]))
        }
        "random" => {
            want(1)?;
            let n = int(&args[0])?;
            if n > 256 {
                return Err(bad("random: at most 256"));
            }
            random_alnum(n).map_err(|_| ApiError::Internal)
        }
        "unix_time" => {
            want(0)?;
            Ok(input.now.to_string())
        }
        "unix_time_millis" => {
            want(0)?;
            Ok((input.now * 1000).to_string())
        }
        "uuid" => {
            want(0)?;
            crate::crypto::random_uuid().map_err(|_| ApiError::Internal)
        }
        "sha256" => {
            want(1)?;
            Ok(crate::crypto::sha256_hex(args[0].as_bytes()))
        }
        "base64" => {
            want(1)?;
            use base64::Engine;
            Ok(base64::engine::general_purpose::STANDARD.encode(&args[0]))
        }
        other => Err(bad(format!("unknown function {other:?}"))),
    }
}

/// `n` random letters and digits (OpenBao's `random`, and generated passwords).
pub fn random_alnum(n: usize) -> Result<String, crate::crypto::CryptoError> {
    const SET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    // 248 = 4 * 62: rejection sampling keeps the choice uniform.
    let mut out = String::with_capacity(n);
    while out.len() < n {
        for b in crate::crypto::random_bytes(n.max(16))? {
            if b < 248 && out.len() < n {
                out.push(char::from(SET[usize::from(b) % 62]));
            }
        }
    }
    Ok(out)
}

/// Where the action starting `s` ends (its `}}`, outside string literals).
fn action_end(s: &str) -> Option<usize> {
    let mut in_str = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if in_str {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_str = false,
                _ => {}
            }
        } else if c == '"' {
            in_str = true;
        } else if s[i..].starts_with("}}") {
            return Some(i);
        }
    }
    None
}

/// Evaluates `template` (at most 1,024 bytes) for `input`. The result must be 1 to 63
/// bytes (PostgreSQL's identifier limit) without control characters.
pub fn generate(template: &str, input: &Input<'_>) -> Result<String, ApiError> {
    if template.len() > 1024 {
        return Err(bad("longer than 1024 bytes"));
    }
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = action_end(after).ok_or_else(|| bad("unterminated action"))?;
        let body = after[..end].trim_matches('-').trim();
        let toks = lex(body)?;
        let mut i = 0;
        let p = parse_pipeline(&toks, &mut i)?;
        if i != toks.len() {
            return Err(bad("unbalanced parentheses"));
        }
        out.push_str(&eval_pipeline(&p, input)?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    if out.is_empty() || out.len() > 63 || out.chars().any(char::is_control) {
        return Err(bad(
            "the generated name must be 1 to 63 bytes without control characters",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const IN: Input<'static> = Input {
        display_name: "approle-deployer",
        role_name: "readonly-role",
        now: 1_700_000_000,
    };

    #[test]
    fn the_default_template_makes_openbaos_shape() {
        let u = generate(DEFAULT_TEMPLATE, &IN).unwrap();
        let parts: Vec<&str> = u.split('-').collect();
        assert_eq!(parts[0], "v");
        assert!(u.starts_with("v-approle--readonly-"), "{u}");
        assert!(u.ends_with("-1700000000"), "{u}");
        assert_eq!(u.len(), 2 + 9 + 9 + 21 + 10);
    }

    #[test]
    fn functions_and_literals() {
        let t = r#"app_{{.RoleName | replace "-" "_" | uppercase | truncate 8}}_{{ unix_time }}"#;
        assert_eq!(generate(t, &IN).unwrap(), "app_READONLY_1700000000");
        assert_eq!(
            generate(r#"{{ printf "%s\"{{x}}" .RoleName }}"#, &IN).unwrap(),
            "readonly-role\"{{x}}",
            "braces inside a string literal do not end the action"
        );
        assert_eq!(
            generate(r#"{{ printf "%s.%d" (.DisplayName | lowercase) 5 }}"#, &IN).unwrap(),
            "approle-deployer.5"
        );
    }

    #[test]
    fn unknown_fields_and_functions_are_refused() {
        for t in [
            "{{.Password}}",
            "{{ exec \"rm\" }}",
            "{{ .RoleName",
            "{{ (random 3 }}",
            "{{ random 300 }}",
            "",
            "{{ printf \"%x\" 1 }}",
        ] {
            assert!(generate(t, &IN).is_err(), "{t}");
        }
    }
}
