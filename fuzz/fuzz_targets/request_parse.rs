//! Request parsing as API Gateway hands it over: an event (payload 2.0 or REST) is
//! turned into Sigil's request, its limits checked, its body parsed as JSON and its
//! path resolved to a route. Each of Sigil's steps refuses bad input with an error,
//! never a panic.
//!
//! lambda_http's own event conversion (before any Sigil code) panics on an event whose
//! path and host do not make a URL, e.g. a `rawPath` with a space
//! (`regressions/request_parse/lambda_http_space_in_path`). API Gateway never sends
//! such a path; a direct `lambda:InvokeFunction` can, and then lambda_runtime's panic
//! layer turns the panic into a failed invocation (docs/security.md, 3.10). That one
//! step runs under `catch_unwind` here, with a silent panic hook, so the target keeps
//! looking at Sigil's code.
#![no_main]

use std::panic;

use libfuzzer_sys::fuzz_target;

/// lambda_http's conversion, `None` when it refuses or panics.
fn lambda_request(event: &str) -> Option<lambda_http::Request> {
    let hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let converted = panic::catch_unwind(|| lambda_http::request::from_str(event));
    panic::set_hook(hook);
    converted.ok()?.ok()
}

fuzz_target!(|event: &str| {
    let Some(req) = lambda_request(event) else {
        return;
    };
    let req = sigil::http::lambda::to_api_request(&req);
    if req.check_limits().is_err() {
        return;
    }
    let _ = req.json();
    let list = req.query_param("list").is_some();
    let config = sigil::mounts::initial_table(&sigil::config::Config::default());
    let _ = sigil::route::resolve(&config, &req.method, &req.path, list);
});
