//! The `cargo lambda watch` router in Cargo.toml sends every request to the function that
//! `sigil::route` says serves it. Uses matchit, the matcher cargo-lambda itself uses.

use std::collections::HashMap;

use sigil::route;

fn router() -> matchit::Router<HashMap<String, String>> {
    let manifest =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml")).unwrap();
    let doc: toml::Table = manifest.parse().unwrap();
    let routes = doc["workspace"]["metadata"]["lambda"]["watch"]["router"]
        .as_table()
        .unwrap();
    let mut r = matchit::Router::new();
    for (path, target) in routes {
        let by_method: HashMap<String, String> = match target {
            toml::Value::String(f) => [
                "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "LIST",
            ]
            .iter()
            .map(|m| ((*m).to_owned(), f.clone()))
            .collect(),
            toml::Value::Array(list) => list
                .iter()
                .map(|e| {
                    (
                        e["method"].as_str().unwrap().to_owned(),
                        e["function"].as_str().unwrap().to_owned(),
                    )
                })
                .collect(),
            other => panic!("unexpected router entry {other:?}"),
        };
        r.insert(path.as_str(), by_method).unwrap();
    }
    r
}

#[test]
fn router_agrees_with_the_route_table() {
    let r = router();
    let cfg = sigil_tests::routes::routing_table();
    let cases = [
        ("POST", "/v1/auth/approle/login"),
        ("GET", "/v1/secret/data/a/b"),
        ("HEAD", "/v1/secret/data/a"),
        ("POST", "/v1/secret/data/a/b"),
        ("PUT", "/v1/secret/data/a"),
        ("DELETE", "/v1/secret/data/a"),
        ("GET", "/v1/secret/metadata/a"),
        ("LIST", "/v1/secret/metadata/a/"),
        ("LIST", "/v1/secret/metadata/"),
        ("POST", "/v1/secret/metadata/a"),
        ("DELETE", "/v1/secret/metadata/a"),
        ("POST", "/v1/secret/delete/a"),
        ("POST", "/v1/secret/undelete/a"),
        ("POST", "/v1/secret/destroy/a"),
        ("GET", "/v1/secret/config"),
        ("POST", "/v1/secret/config"),
        ("GET", "/v1/auth/token/lookup-self"),
        ("POST", "/v1/auth/token/lookup"),
        ("POST", "/v1/auth/token/lookup-accessor"),
        ("POST", "/v1/auth/token/renew-self"),
        ("PUT", "/v1/auth/token/renew"),
        ("POST", "/v1/auth/token/revoke-self"),
        ("POST", "/v1/auth/token/revoke"),
        ("POST", "/v1/auth/token/revoke-accessor"),
        ("PUT", "/v1/sys/leases/lookup"),
        ("PUT", "/v1/sys/leases/renew"),
        ("PUT", "/v1/sys/leases/revoke"),
        ("PUT", "/v1/sys/leases/revoke-prefix/aws/creds/x"),
        ("GET", "/v1/sys/health"),
        ("POST", "/v1/auth/approle/role/web"),
        ("GET", "/v1/auth/approle/role/web/role-id"),
        ("POST", "/v1/auth/approle/role/web/secret-id"),
        ("LIST", "/v1/auth/approle/role/web/secret-id"),
        ("LIST", "/v1/auth/approle/role"),
        (
            "POST",
            "/v1/auth/approle/role/web/secret-id-accessor/destroy",
        ),
        ("GET", "/v1/aws/creds/deploy"),
        ("POST", "/v1/aws/creds/deploy"),
        ("POST", "/v1/aws/sts/deploy"),
        ("PUT", "/v1/aws/sts/deploy"),
        ("LIST", "/v1/aws/roles"),
        ("POST", "/v1/aws/roles/deploy"),
        ("GET", "/v1/aws/config/lease"),
        ("GET", "/v1/aws/config/root"),
        ("POST", "/v1/aws/config/root"),
        ("PUT", "/v1/aws/config/root"),
        ("LIST", "/v1/sys/policies/acl"),
        ("PUT", "/v1/sys/policies/acl/app"),
        ("POST", "/v1/sys/capabilities-self"),
        ("PUT", "/v1/sys/leases/revoke-force/aws/creds/x"),
        ("LIST", "/v1/sys/leases/lookup/aws/creds/x/"),
        ("LIST", "/v1/sys/leases"),
        ("POST", "/v1/auth/aws/login"),
        ("PUT", "/v1/auth/aws/login"),
        ("GET", "/v1/auth/aws/config/client"),
        ("POST", "/v1/auth/aws/config/client"),
        ("DELETE", "/v1/auth/aws/config/client"),
        ("LIST", "/v1/auth/aws/role"),
        ("GET", "/v1/auth/aws/role/deploy"),
        ("POST", "/v1/auth/aws/role/deploy"),
        ("DELETE", "/v1/auth/aws/role/deploy"),
    ];
    // Every sample request of every backend route too (tests/src/routes.rs).
    let samples = sigil_tests::routes::samples();
    let runtime = sigil_tests::routes::runtime_mount_samples();
    let all = cases
        .iter()
        .map(|(m, p)| (*m, *p, false))
        .chain(samples.iter().copied())
        .chain(runtime.iter().copied());
    for (method, path, list) in all {
        let want = route::resolve(&cfg, method, path, list)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
            .function()
            .name();
        let m = r
            .at(path)
            .unwrap_or_else(|_| panic!("{method} {path}: no router entry"));
        let got = m
            .value
            .get(method)
            .unwrap_or_else(|| panic!("{method} {path}: method not routed"));
        assert_eq!(got, want, "{method} {path}");
    }
}
