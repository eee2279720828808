//! What a backend declares about each of its paths (OpenBao's `framework.Path`): the
//! pattern, the operations it takes with the function that serves each and its
//! handler, whether it is public, needs `sudo`, tells creating from updating, and how
//! its body is normalized before policies judge it.

use std::future::Future;
use std::pin::Pin;

use crate::error::ApiError;
use crate::http::envelope::Reply;
use crate::http::params::Body;

use super::ctx::{Ctx, Params};

pub use super::operation::{Function, Operation};

/// The future a handler returns.
pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = Result<Reply, ApiError>> + Send + 'a>>;

/// A handler: serves one operation on one path.
pub type Handler = for<'a> fn(&'a Ctx<'a>) -> HandlerFuture<'a>;

/// One operation a path takes.
#[derive(Clone, Copy)]
pub struct OpSpec {
    /// The operation.
    pub op: Operation,
    /// The function that serves it (API Gateway routes the request there).
    pub function: Function,
    /// What serves it.
    pub handler: Handler,
    /// The items the handler reads first, when they can be named before the caller
    /// is authenticated: the pipeline reads them in the same round trip as a service
    /// token and the handler's store answers its first read of them from memory
    /// ([`crate::store::prefetch`]). Nothing prefetched is used unless the request is
    /// authorized; an item read for a refused request is dropped unread.
    pub prefetch: Option<Prefetch>,
}

/// Names the items an operation's handler reads first ([`OpSpec::prefetch`]); empty
/// when they cannot be named (the handler then reads as usual).
pub type Prefetch = fn(&PrefetchArgs<'_>) -> Vec<crate::store::Key>;

/// What a [`Prefetch`] sees: the request as routed, before authentication.
pub struct PrefetchArgs<'a> {
    /// The mount serving the request.
    pub mount: &'a crate::mounts::MountEntry,
    /// Parameters captured from the path.
    pub params: &'a Params,
    /// The request.
    pub req: &'a crate::http::ApiRequest,
    /// The newest KV versions this process has read.
    pub kv_latest: &'a crate::kv::LatestVersions,
}

impl PrefetchArgs<'_> {
    /// The path parameter `name` (empty when absent).
    pub fn param(&self, name: &str) -> &str {
        self.params.get(name)
    }
}

/// One path of a backend, relative to its mount.
///
/// Patterns are `/`-separated segments: a literal, `{name}` (one segment) or, last,
/// `{*name}` (one or more segments; a trailing `/` of a LIST path is kept).
#[derive(Clone, Copy)]
pub struct PathSpec {
    /// The pattern, e.g. `role/{name}/secret-id`.
    pub pattern: &'static str,
    /// The operations the path takes; any other answers 405.
    pub ops: &'static [OpSpec],
    /// No token needed (logins, `sys/health`).
    pub public: bool,
    /// A valid token is needed, but policies are not checked on the path: the
    /// handler decides what the token may see (`sys/internal/ui/mounts`).
    pub token_only: bool,
    /// `sudo` needed on the path besides the operation's capability (Vault's
    /// root-protected paths).
    pub sudo: bool,
    /// A write here tells creating from updating (Vault's existence check): policies
    /// may grant `create` or `update`, and the handler requires the one that applies.
    pub existence_check: bool,
    /// Policies' parameter constraints apply to reads and writes (Vault exempts KV v2
    /// data).
    pub parameter_checks: bool,
    /// Normalizes the body before policies judge it and the handler reads it (list
    /// parameters split, legacy aliases resolved), so constraints see what takes
    /// effect.
    pub normalize: fn(&mut Body),
    /// The request names a wrapping token (`sys/wrapping/unwrap`, `rewrap`): as in
    /// Vault, the token is checked before the caller is authenticated, so an invalid
    /// one answers 400 `wrapping token is not valid or does not exist`
    /// ([`crate::wrapping::validate`]).
    pub wrapping_token: bool,
}

fn keep(_: &mut Body) {}

impl PathSpec {
    /// A path taking `ops`: token needed, no `sudo`, no existence check, parameter
    /// constraints applied, body as given.
    pub const fn new(pattern: &'static str, ops: &'static [OpSpec]) -> Self {
        Self {
            pattern,
            ops,
            public: false,
            token_only: false,
            sudo: false,
            existence_check: false,
            parameter_checks: true,
            normalize: keep,
            wrapping_token: false,
        }
    }

    /// The request names a wrapping token, checked before authentication.
    pub const fn wrapping_token(mut self) -> Self {
        self.wrapping_token = true;
        self
    }

    /// No token needed.
    pub const fn public(mut self) -> Self {
        self.public = true;
        self
    }

    /// A token needed, policies not checked on the path.
    pub const fn token_only(mut self) -> Self {
        self.token_only = true;
        self
    }

    /// `sudo` needed.
    pub const fn sudo(mut self) -> Self {
        self.sudo = true;
        self
    }

    /// Writes tell creating from updating.
    pub const fn existence_check(mut self) -> Self {
        self.existence_check = true;
        self
    }

    /// Parameter constraints do not apply.
    pub const fn no_parameter_checks(mut self) -> Self {
        self.parameter_checks = false;
        self
    }

    /// Normalizes the body with `f`.
    pub const fn normalize(mut self, f: fn(&mut Body)) -> Self {
        self.normalize = f;
        self
    }

    /// The operation spec for `op`, if the path takes it.
    pub fn op(&self, op: Operation) -> Option<&OpSpec> {
        self.ops.iter().find(|o| o.op == op)
    }

    /// Matches `rest` (a path relative to the mount, without a trailing `/`) against
    /// the pattern; `folder` says the request path ended in `/`. Returns the captured
    /// parameters.
    pub fn matches(&self, rest: &str, folder: bool) -> Option<Params> {
        let mut params = Params::default();
        let mut segs = if rest.is_empty() {
            "".split('/').take(0)
        } else {
            rest.split('/').take(usize::MAX)
        };
        let mut pattern = self.pattern.split('/').filter(|p| !p.is_empty()).peekable();
        while let Some(p) = pattern.next() {
            if let Some(name) = p.strip_prefix("{*").and_then(|p| p.strip_suffix('}')) {
                let first = segs.next()?;
                let mut value = first.to_owned();
                for s in segs.by_ref() {
                    value.push('/');
                    value.push_str(s);
                }
                if folder {
                    value.push('/');
                }
                params.0.push((name, value));
                return pattern.peek().is_none().then_some(params);
            }
            let seg = segs.next()?;
            if let Some(name) = p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                params.0.push((name, seg.to_owned()));
            } else if p != seg {
                return None;
            }
        }
        segs.next().is_none().then_some(params)
    }
}

/// Builds an [`OpSpec`] from an `async fn(&Ctx<'_>) -> Result<Reply, ApiError>`:
/// `op!(Read, Issue, read)`.
#[macro_export]
#[doc(hidden)]
macro_rules! op {
    ($op:ident, $function:ident, $handler:path) => {
        $crate::backend::spec::OpSpec {
            op: $crate::backend::spec::Operation::$op,
            function: $crate::backend::spec::Function::$function,
            handler: |c| Box::pin($handler(c)),
            prefetch: None,
        }
    };
    ($op:ident, $function:ident, $handler:path, prefetch = $prefetch:path) => {
        $crate::backend::spec::OpSpec {
            op: $crate::backend::spec::Operation::$op,
            function: $crate::backend::spec::Function::$function,
            handler: |c| Box::pin($handler(c)),
            prefetch: Some($prefetch),
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: &[OpSpec] = &[];

    fn m(pattern: &'static str, rest: &str, folder: bool) -> Option<Vec<(&'static str, String)>> {
        PathSpec::new(pattern, NONE)
            .matches(rest, folder)
            .map(|p| p.0)
    }

    #[test]
    fn patterns_match_literals_parameters_and_rests() {
        assert_eq!(m("login", "login", false), Some(vec![]));
        assert_eq!(m("login", "login/x", false), None);
        assert_eq!(m("login", "", false), None);
        assert_eq!(m("role", "role", true), Some(vec![]));
        assert_eq!(
            m("role/{name}/secret-id", "role/web/secret-id", false),
            Some(vec![("name", "web".into())])
        );
        assert_eq!(m("role/{name}/secret-id", "role/web", false), None);
        assert_eq!(
            m("data/{*path}", "data/a/b/c", false),
            Some(vec![("path", "a/b/c".into())])
        );
        assert_eq!(
            m("metadata/{*path}", "metadata/a", true),
            Some(vec![("path", "a/".into())])
        );
        assert_eq!(m("data/{*path}", "data", false), None);
        assert_eq!(m("", "", false), Some(vec![]));
        assert_eq!(m("", "x", false), None);
    }
}
