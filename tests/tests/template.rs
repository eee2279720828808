//! The deployment template (`infra/template.yaml`) agrees with the code:
//!
//! - its DynamoDB table with `sigil::store::schema::TABLE` (attributes, key schema, the
//!   expiry index, TTL attribute, billing mode);
//! - its HTTP API routes with `sigil::route`: every request Sigil serves reaches, through
//!   API Gateway's route selection, the function `Resolved::function` names; no route is
//!   dead; every function has its routes (the sweeper its schedule) and every route a
//!   function built from `functions/`;
//! - its IAM authorization: the main API has none (Sigil checks its own tokens), and a
//!   second API serves the AWS IAM login, and nothing else, with AWS_IAM; every API has
//!   throttling and an access log;
//! - its irrevocable-lease metric filter with the line `sigil::sweeper` logs;
//! - its database VPC: exactly the functions `Function::reaches_databases` names join
//!   it (under `HasDatabaseVpc`), with the VPC access policy on their roles.
//!
//! It only parses files: no AWS, no local stack. Each comparison is a function returning
//! the differences it found, and each is also run on a template or code changed on one
//! side only, to show that it reports the change.

use std::collections::{BTreeMap, BTreeSet};

use sigil::route::Function;
use sigil::store::schema::{self, TableDef};
use sigil_tests::routes::{every_route, resolve, samples};
use yaml_rust2::{Yaml, YamlLoader};

fn template_text() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../infra/template.yaml"
    ))
    .expect("infra/template.yaml")
}

fn parse(text: &str) -> Yaml {
    YamlLoader::load_from_str(text)
        .expect("the template parses as YAML")
        .into_iter()
        .next()
        .expect("one YAML document")
}

fn str_of(y: &Yaml) -> &str {
    y.as_str().unwrap_or("")
}

/// The resources of `doc` of CloudFormation type `kind`, by logical ID.
fn resources<'a>(doc: &'a Yaml, kind: &str) -> Vec<(&'a str, &'a Yaml)> {
    doc["Resources"]
        .as_hash()
        .into_iter()
        .flatten()
        .filter(|(_, r)| str_of(&r["Type"]) == kind)
        .map(|(id, r)| (str_of(id), r))
        .collect()
}

fn type_name(t: schema::AttrType) -> &'static str {
    t.dynamo_name()
}

// --- table -------------------------------------------------------------------------------

/// How the template's table differs from `want` (empty: it does not).
fn table_differences(doc: &Yaml, want: &TableDef) -> Vec<String> {
    let mut diffs = Vec::new();
    let tables = resources(doc, "AWS::DynamoDB::Table");
    let [(id, table)] = tables.as_slice() else {
        return vec![format!(
            "expected one AWS::DynamoDB::Table, found {}",
            tables.len()
        )];
    };
    let p = &table["Properties"];

    let have: BTreeMap<&str, &str> = p["AttributeDefinitions"]
        .as_vec()
        .into_iter()
        .flatten()
        .map(|a| (str_of(&a["AttributeName"]), str_of(&a["AttributeType"])))
        .collect();
    let wanted: BTreeMap<&str, &str> = want
        .attribute_definitions()
        .into_iter()
        .map(|(n, t)| (n, type_name(t)))
        .collect();
    for (name, t) in &wanted {
        match have.get(name) {
            None => diffs.push(format!("{id}: attribute {name} ({t}) is not defined")),
            Some(h) if h != t => diffs.push(format!(
                "{id}: attribute {name} is of type {h}, the schema says {t}"
            )),
            Some(_) => {}
        }
    }
    for name in have.keys().filter(|n| !wanted.contains_key(*n)) {
        diffs.push(format!(
            "{id}: attribute {name} is defined but is no key in the schema"
        ));
    }

    let keys = |schema: &Yaml| -> (String, String) {
        let of = |kind: &str| {
            schema
                .as_vec()
                .into_iter()
                .flatten()
                .find(|k| str_of(&k["KeyType"]) == kind)
                .map(|k| str_of(&k["AttributeName"]).to_owned())
                .unwrap_or_default()
        };
        (of("HASH"), of("RANGE"))
    };
    let (hash, range) = keys(&p["KeySchema"]);
    if (hash.as_str(), range.as_str()) != (want.partition.0, want.sort.0) {
        diffs.push(format!(
            "{id}: key schema is ({hash}, {range}), the schema says ({}, {})",
            want.partition.0, want.sort.0
        ));
    }

    let have_ix: BTreeMap<&str, (String, String, &str)> = p["GlobalSecondaryIndexes"]
        .as_vec()
        .into_iter()
        .flatten()
        .map(|ix| {
            let (h, r) = keys(&ix["KeySchema"]);
            (
                str_of(&ix["IndexName"]),
                (h, r, str_of(&ix["Projection"]["ProjectionType"])),
            )
        })
        .collect();
    for ix in want.indexes {
        match have_ix.get(ix.name) {
            None => diffs.push(format!("{id}: index {} is missing", ix.name)),
            Some((h, r, proj)) => {
                if (h.as_str(), r.as_str()) != (ix.partition.0, ix.sort.0) {
                    diffs.push(format!(
                        "{id}: index {} is keyed ({h}, {r}), the schema says ({}, {})",
                        ix.name, ix.partition.0, ix.sort.0
                    ));
                }
                if *proj != ix.projection {
                    diffs.push(format!(
                        "{id}: index {} projects {proj}, the schema says {}",
                        ix.name, ix.projection
                    ));
                }
            }
        }
    }
    for name in have_ix
        .keys()
        .filter(|n| !want.indexes.iter().any(|ix| ix.name == **n))
    {
        diffs.push(format!("{id}: index {name} is not in the schema"));
    }

    let ttl = &p["TimeToLiveSpecification"];
    if str_of(&ttl["AttributeName"]) != want.ttl_attribute || ttl["Enabled"].as_bool() != Some(true)
    {
        diffs.push(format!(
            "{id}: TTL is {:?} (enabled: {:?}), the schema says {} (enabled)",
            str_of(&ttl["AttributeName"]),
            ttl["Enabled"].as_bool(),
            want.ttl_attribute
        ));
    }
    if str_of(&p["BillingMode"]) != want.billing_mode {
        diffs.push(format!(
            "{id}: billing mode {:?}, the schema says {}",
            str_of(&p["BillingMode"]),
            want.billing_mode
        ));
    }

    // Policies name indexes in ARNs (".../index/expiry"): only the schema's.
    let mut strings = Vec::new();
    collect_strings(doc, &mut strings);
    for s in strings {
        if let Some((_, ix)) = s.split_once("/index/")
            && !want.indexes.iter().any(|i| i.name == ix)
        {
            diffs.push(format!("an ARN names index {ix:?}, not in the schema: {s}"));
        }
    }
    diffs
}

fn collect_strings<'a>(y: &'a Yaml, out: &mut Vec<&'a str>) {
    match y {
        Yaml::String(s) => out.push(s),
        Yaml::Array(v) => v.iter().for_each(|e| collect_strings(e, out)),
        Yaml::Hash(h) => h.iter().for_each(|(k, v)| {
            collect_strings(k, out);
            collect_strings(v, out);
        }),
        _ => {}
    }
}

// --- functions and routes ----------------------------------------------------------------

const FUNCTIONS: [Function; 6] = Function::ALL;

/// A function resource of the template.
struct FunctionResource {
    id: String,
    /// The function's name: the last segment of its `CodeUri` (`../functions/<name>`).
    name: String,
    has_schedule: bool,
}

/// One HTTP API route of the template.
#[derive(Clone, Debug)]
struct TemplateRoute {
    /// The logical ID of its API (`ApiId: !Ref ...`).
    api: String,
    method: String,
    path: String,
    function: String,
    /// The route's authorizer, or else its API's default (`None`: no authorization).
    authorizer: Option<String>,
}

impl TemplateRoute {
    fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    fn is_iam(&self) -> bool {
        self.authorizer.as_deref() == Some("AWS_IAM")
    }
}

/// The `NONE` authorizer is none.
fn authorizer(y: &Yaml) -> Option<String> {
    y.as_str().filter(|a| *a != "NONE").map(str::to_owned)
}

fn functions_and_routes(doc: &Yaml) -> (Vec<FunctionResource>, Vec<TemplateRoute>, Vec<String>) {
    let default_authorizers: BTreeMap<&str, Option<String>> =
        resources(doc, "AWS::Serverless::HttpApi")
            .into_iter()
            .map(|(id, api)| {
                (
                    id,
                    authorizer(&api["Properties"]["Auth"]["DefaultAuthorizer"]),
                )
            })
            .collect();
    let mut functions = Vec::new();
    let mut routes = Vec::new();
    let mut diffs = Vec::new();
    for (id, f) in resources(doc, "AWS::Serverless::Function") {
        let p = &f["Properties"];
        let name = str_of(&p["CodeUri"])
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or("")
            .to_owned();
        if str_of(&f["Metadata"]["BuildMethod"]) != "rust-cargolambda" {
            diffs.push(format!("{id}: BuildMethod is not rust-cargolambda"));
        }
        let mut has_schedule = false;
        for (event_id, e) in p["Events"].as_hash().into_iter().flatten() {
            let ep = &e["Properties"];
            match str_of(&e["Type"]) {
                "HttpApi" => {
                    if str_of(&ep["PayloadFormatVersion"]) != "2.0" {
                        diffs.push(format!(
                            "{id}.{}: payload format is not 2.0",
                            str_of(event_id)
                        ));
                    }
                    let api = str_of(&ep["ApiId"]).to_owned();
                    let Some(default_authorizer) = default_authorizers.get(api.as_str()) else {
                        diffs.push(format!(
                            "{id}.{}: ApiId {api:?} is not an AWS::Serverless::HttpApi of the template",
                            str_of(event_id)
                        ));
                        continue;
                    };
                    let auth = &ep["Auth"]["Authorizer"];
                    routes.push(TemplateRoute {
                        method: str_of(&ep["Method"]).to_ascii_uppercase(),
                        path: str_of(&ep["Path"]).to_owned(),
                        function: name.clone(),
                        authorizer: if auth.is_badvalue() {
                            default_authorizer.clone()
                        } else {
                            authorizer(auth)
                        },
                        api,
                    });
                }
                "Schedule" | "ScheduleV2" => has_schedule = true,
                other => diffs.push(format!(
                    "{id}.{}: unexpected event type {other:?}",
                    str_of(event_id)
                )),
            }
        }
        functions.push(FunctionResource {
            id: id.to_owned(),
            name,
            has_schedule,
        });
    }
    (functions, routes, diffs)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Seg {
    Greedy,
    Var,
    Literal,
}

/// Matches `path` (already split) against a route path; returns the route's segment
/// kinds (its specificity) on a match.
fn matches(route_path: &str, segs: &[&str]) -> Option<Vec<Seg>> {
    let pattern: Vec<&str> = route_path.split('/').skip(1).collect();
    let mut kinds = Vec::new();
    for (i, p) in pattern.iter().enumerate() {
        if p.starts_with('{') && p.ends_with("+}") {
            // A greedy variable takes the rest: at least one non-empty segment.
            return (i == pattern.len() - 1 && segs.len() > i && !segs[i].is_empty()).then(|| {
                kinds.push(Seg::Greedy);
                kinds
            });
        }
        let s = segs.get(i)?;
        if p.starts_with('{') && p.ends_with('}') {
            if s.is_empty() {
                return None;
            }
            kinds.push(Seg::Var);
        } else if p == s {
            kinds.push(Seg::Literal);
        } else {
            return None;
        }
    }
    (pattern.len() == segs.len()).then_some(kinds)
}

/// API Gateway's route selection for HTTP APIs, as documented ("Routing API requests"):
/// a full match of route and method first, then a route with a greedy path variable,
/// most specific first; `ANY` matches methods a path has no route of its own for. Where
/// the documentation leaves an order open (a more specific `ANY` route against a less
/// specific route of the request's own method), the template must not depend on it:
/// that is reported as an error. One trailing `/` is ignored, as API Gateway matches
/// `/a/` to the route `/a` (reported by users, not documented).
fn select<'a>(
    routes: &'a [TemplateRoute],
    method: &str,
    path: &str,
) -> Result<Option<&'a TemplateRoute>, String> {
    let path = path.split('?').next().unwrap_or(path);
    let path = if path.len() > 1 {
        path.strip_suffix('/').unwrap_or(path)
    } else {
        path
    };
    let segs: Vec<&str> = path.split('/').skip(1).collect();
    let mut candidates: Vec<(bool, Vec<Seg>, bool, &TemplateRoute)> = routes
        .iter()
        .filter(|r| r.method == method || r.method == "ANY")
        .filter_map(|r| {
            matches(&r.path, &segs).map(|kinds| {
                let full = !kinds.contains(&Seg::Greedy);
                (full, kinds, r.method == method, r)
            })
        })
        .collect();
    // Best first: full matches, then the most specific segments left to right, then the
    // request's own method over ANY.
    candidates.sort_by(|a, b| (&b.0, &b.1, &b.2).cmp(&(&a.0, &a.1, &a.2)));
    let Some(best) = candidates.first() else {
        return Ok(None);
    };
    if let Some(second) = candidates.get(1)
        && (second.0, &second.1, second.2) == (best.0, &best.1, best.2)
    {
        return Err(format!(
            "{method} {path}: routes {} and {} are equally specific",
            best.3.key(),
            second.3.key()
        ));
    }
    if !best.2
        && let Some(own) = candidates.iter().find(|c| c.2)
    {
        return Err(format!(
            "{method} {path}: selection between {} (more specific) and {} (its own method) \
             is not documented",
            best.3.key(),
            own.3.key()
        ));
    }
    Ok(Some(best.3))
}

/// Which function serves a request: `sigil::route` (tests swap it for a changed one).
type Oracle = dyn Fn(&str, &str, bool) -> Function;

fn sigil_routes(method: &str, path: &str, list: bool) -> Function {
    resolve(method, path, list).function()
}

/// Whether a request is the AWS IAM login, the one route IAM authorization may serve
/// (by `sigil::route` itself, whatever function an oracle names).
fn is_aws_iam_login(method: &str, path: &str, list: bool) -> bool {
    sigil::route::resolve(&sigil_tests::routes::default_table(), method, path, list)
        .is_ok_and(|r| r.route_name() == "aws-auth:login")
}

/// How the template's routes and functions differ from what `oracle` says serves each
/// sample request (empty: they do not).
fn route_differences(doc: &Yaml, samples: &[(&str, &str, bool)], oracle: &Oracle) -> Vec<String> {
    let (functions, routes, mut diffs) = functions_and_routes(doc);
    let known: BTreeMap<&str, Function> = FUNCTIONS.iter().map(|f| (f.name(), *f)).collect();

    // Each API on its own (API Gateway selects a route within the API called). An API
    // without authorization serves every sample, each from the function that serves it;
    // an API whose routes take AWS_IAM serves the AWS IAM login and nothing else.
    let apis: BTreeSet<&str> = routes.iter().map(|r| r.api.as_str()).collect();
    let mut used: BTreeSet<(String, String)> = BTreeSet::new();
    for &api in &apis {
        let mine: Vec<TemplateRoute> = routes.iter().filter(|r| r.api == api).cloned().collect();
        let iam_api = mine.iter().all(TemplateRoute::is_iam);
        if !iam_api && mine.iter().any(TemplateRoute::is_iam) {
            diffs.push(format!(
                "{api}: mixes AWS_IAM routes with routes open to Vault clients"
            ));
        }
        for &(method, path, list) in samples {
            let want = oracle(method, path, list).name();
            let shown = if list {
                format!("{method} {path}?list=true")
            } else {
                format!("{method} {path}")
            };
            let serves = !iam_api || is_aws_iam_login(method, path, list);
            match select(&mine, method, path) {
                Err(e) => diffs.push(format!("{api}: {e}")),
                Ok(None) if serves => diffs.push(format!(
                    "{api}: {shown}: no route in the template ({want} serves it)"
                )),
                Ok(None) => {}
                Ok(Some(r)) => {
                    used.insert((api.to_owned(), r.key()));
                    if !serves {
                        diffs.push(format!(
                            "{api}: {shown}: routed ({}) with IAM authorization, which only \
                             the AWS IAM login takes",
                            r.key()
                        ));
                    } else if r.function != want {
                        diffs.push(format!(
                            "{api}: {shown}: the template routes it ({}) to {}, sigil::route to {want}",
                            r.key(),
                            r.function
                        ));
                    }
                }
            }
        }
    }
    if !routes.iter().any(TemplateRoute::is_iam) {
        diffs.push(
            "no route takes AWS_IAM authorization: the AWS IAM login (POST \
             /v1/auth/aws/login) needs an API that does"
                .into(),
        );
    }
    if routes.iter().all(TemplateRoute::is_iam) {
        diffs.push("no API serves Vault clients without IAM authorization".into());
    }
    let mut seen = BTreeSet::new();
    for r in &routes {
        let api_key = (r.api.clone(), r.key());
        if !seen.insert(api_key.clone()) {
            diffs.push(format!("{}: route {} is defined twice", r.api, r.key()));
        }
        if !used.contains(&api_key) {
            diffs.push(format!(
                "{}: route {} ({}) serves none of Sigil's routes",
                r.api,
                r.key(),
                r.function
            ));
        }
        match known.get(r.function.as_str()) {
            None => diffs.push(format!(
                "route {}: no handler: {:?} is not one of Sigil's functions",
                r.key(),
                r.function
            )),
            Some(Function::Sweeper) => diffs.push(format!(
                "route {}: the sweeper serves no HTTP route",
                r.key()
            )),
            Some(_) => {}
        }
        // AWS_IAM is the only authorizer: Sigil checks its own tokens everywhere else.
        if let Some(a) = r.authorizer.as_deref().filter(|a| *a != "AWS_IAM") {
            diffs.push(format!(
                "{}: route {} has authorizer {a}; Sigil checks tokens itself",
                r.api,
                r.key()
            ));
        }
    }

    // Every function has exactly one resource, built from its own crate, with routes
    // (the sweeper: its schedule and none).
    for f in FUNCTIONS {
        let mine: Vec<&FunctionResource> =
            functions.iter().filter(|r| r.name == f.name()).collect();
        match mine.as_slice() {
            [] => diffs.push(format!(
                "function {} has no resource in the template",
                f.name()
            )),
            [one] => {
                let has_routes = routes.iter().any(|r| r.function == f.name());
                if f == Function::Sweeper && !one.has_schedule {
                    diffs.push(format!("{}: the sweeper has no schedule", one.id));
                }
                if f != Function::Sweeper && !has_routes {
                    diffs.push(format!(
                        "function {} has no route in the template",
                        f.name()
                    ));
                }
            }
            _ => diffs.push(format!("function {} has several resources", f.name())),
        }
    }
    for r in functions
        .iter()
        .filter(|r| !known.contains_key(r.name.as_str()))
    {
        diffs.push(format!(
            "{}: CodeUri names {:?}, which is not one of Sigil's functions",
            r.id, r.name
        ));
    }
    for r in &functions {
        let manifest = format!(
            "{}/../functions/{}/Cargo.toml",
            env!("CARGO_MANIFEST_DIR"),
            r.name
        );
        if !std::path::Path::new(&manifest).exists() {
            diffs.push(format!(
                "{}: functions/{}/Cargo.toml does not exist",
                r.id, r.name
            ));
        }
    }

    // Every API has routes, throttling and an access log; per-route settings name its
    // own routes.
    for (id, api) in resources(doc, "AWS::Serverless::HttpApi") {
        let p = &api["Properties"];
        if !apis.contains(id) {
            diffs.push(format!("{id}: an HTTP API without routes"));
        }
        for setting in ["ThrottlingRateLimit", "ThrottlingBurstLimit"] {
            if p["DefaultRouteSettings"][setting].is_badvalue() {
                diffs.push(format!("{id}: no DefaultRouteSettings.{setting}"));
            }
        }
        for setting in ["DestinationArn", "Format"] {
            if p["AccessLogSettings"][setting].is_badvalue() {
                diffs.push(format!("{id}: no AccessLogSettings.{setting}"));
            }
        }
        for (key, _) in p["RouteSettings"].as_hash().into_iter().flatten() {
            if !routes.iter().any(|r| r.api == id && r.key() == str_of(key)) {
                diffs.push(format!(
                    "{id}: RouteSettings names {:?}, which is no route of it",
                    str_of(key)
                ));
            }
        }
    }
    diffs
}

// --- the sweeper's metric ----------------------------------------------------------------

/// How the template's irrevocable-lease metric filter differs from the sweeper's log line.
fn metric_differences(doc: &Yaml) -> Vec<String> {
    let mut diffs = Vec::new();
    let filters = resources(doc, "AWS::Logs::MetricFilter");
    let found = filters.iter().find(|(_, f)| {
        str_of(&f["Properties"]["MetricTransformations"][0]["MetricName"]) == "IrrevocableLeases"
    });
    let Some((id, f)) = found else {
        return vec!["no metric filter makes the IrrevocableLeases metric".into()];
    };
    let p = &f["Properties"];
    let pattern = str_of(&p["FilterPattern"]);
    let want = format!("$.fields.message = \"{}\"", sigil::sweeper::FINISHED);
    if !pattern.contains(&want) {
        diffs.push(format!("{id}: filter {pattern:?} does not select {want}"));
    }
    let report = serde_json::to_value(sigil::sweeper::SweepReport::default()).unwrap();
    let value = str_of(&p["MetricTransformations"][0]["MetricValue"]);
    match value.strip_prefix("$.fields.") {
        Some(field) if field == "irrevocable" && report.get(field).is_some() => {}
        _ => diffs.push(format!(
            "{id}: metric value {value:?} is not the report's irrevocable field"
        )),
    }
    let group = str_of(&p["LogGroupName"]);
    let sweeper_group = resources(doc, "AWS::Serverless::Function")
        .into_iter()
        .find(|(_, r)| str_of(&r["Properties"]["CodeUri"]).ends_with("/sweeper"))
        .map(|(_, r)| str_of(&r["Properties"]["LoggingConfig"]["LogGroup"]).to_owned());
    if sweeper_group.as_deref() != Some(group) {
        diffs.push(format!(
            "{id}: filters log group {group:?}, the sweeper logs to {sweeper_group:?}"
        ));
    }
    diffs
}

// --- the database VPC --------------------------------------------------------------------

/// The managed policy a function in a VPC needs (its network interfaces).
const VPC_POLICY: &str = "service-role/AWSLambdaVPCAccessExecutionRole";

/// How the template's VPC placement differs from `Function::reaches_databases`: a
/// function that reaches databases has `VpcConfig: !If [HasDatabaseVpc, {SubnetIds,
/// SecurityGroupIds}, !Ref AWS::NoValue]` and its role the VPC policy under the same
/// condition; any other function neither.
fn vpc_differences(doc: &Yaml) -> Vec<String> {
    let mut diffs = Vec::new();
    let roles = resources(doc, "AWS::IAM::Role");
    let conditional = |y: &Yaml| -> Option<Yaml> {
        // `!If [cond, then, else]` loads as the list (tags are not kept).
        let v = y.as_vec()?;
        (v.len() == 3 && str_of(&v[0]) == "HasDatabaseVpc" && str_of(&v[2]) == "AWS::NoValue")
            .then(|| v[1].clone())
    };
    for (id, f) in resources(doc, "AWS::Serverless::Function") {
        let p = &f["Properties"];
        let name = str_of(&p["CodeUri"]).rsplit('/').next().unwrap_or("");
        let Some(function) = Function::ALL.into_iter().find(|f| f.name() == name) else {
            diffs.push(format!("{id}: no function named {name:?}"));
            continue;
        };
        let want = function.reaches_databases();
        let vpc = &p["VpcConfig"];
        let in_vpc = !vpc.is_badvalue();
        if in_vpc != want {
            diffs.push(format!("{id}: in a VPC {in_vpc}, reaches databases {want}"));
        }
        if in_vpc {
            match conditional(vpc) {
                Some(c)
                    if !c["SubnetIds"].is_badvalue() && !c["SecurityGroupIds"].is_badvalue() => {}
                _ => diffs.push(format!(
                    "{id}: VpcConfig is not !If [HasDatabaseVpc, {{SubnetIds, SecurityGroupIds}}, NoValue]"
                )),
            }
        }
        let role_id = str_of(&p["Role"]).trim_end_matches(".Arn");
        let Some((_, role)) = roles.iter().find(|(r, _)| *r == role_id) else {
            diffs.push(format!(
                "{id}: role {role_id:?} is not a role of the template"
            ));
            continue;
        };
        let managed = &role["Properties"]["ManagedPolicyArns"];
        let has_policy = conditional(managed).is_some_and(|c| {
            let mut all = Vec::new();
            collect_strings(&c, &mut all);
            all.iter().any(|s| s.ends_with(VPC_POLICY))
        });
        if has_policy != want || (!want && !managed.is_badvalue()) {
            diffs.push(format!(
                "{role_id}: the VPC access policy under HasDatabaseVpc {has_policy}, its function reaches databases {want}"
            ));
        }
    }
    diffs
}

// --- tests -------------------------------------------------------------------------------

#[test]
fn template_table_matches_the_schema() {
    let diffs = table_differences(&parse(&template_text()), &schema::TABLE);
    assert!(diffs.is_empty(), "{diffs:#?}");
}

#[test]
fn template_routes_match_the_route_table() {
    let mut all = samples();
    all.extend(sigil_tests::routes::runtime_mount_samples());
    let diffs = route_differences(&parse(&template_text()), &all, &sigil_routes);
    assert!(diffs.is_empty(), "{diffs:#?}");
}

#[test]
fn template_metric_filter_matches_the_sweeper_log_line() {
    let diffs = metric_differences(&parse(&template_text()));
    assert!(diffs.is_empty(), "{diffs:#?}");
}

#[test]
fn the_functions_that_reach_databases_are_the_ones_in_the_vpc() {
    let diffs = vpc_differences(&parse(&template_text()));
    assert!(diffs.is_empty(), "{diffs:#?}");
    // And the code's side: every database route is served by one of them.
    let mut database_routes = 0;
    for (m, p, l) in samples() {
        if p.starts_with("/v1/database/") {
            database_routes += 1;
            let f = resolve(m, p, l).function();
            assert!(f.reaches_databases(), "{m} {p} is served by {}", f.name());
        }
    }
    assert!(database_routes > 10, "the samples hold the database routes");
}

#[test]
fn a_vpc_placement_changed_on_one_side_is_reported() {
    let text = template_text();
    // The admin function leaves the VPC.
    let admin = "      CodeUri: ../functions/admin\n      Role: !GetAtt AdminRole.Arn\n      VpcConfig: !If\n        - HasDatabaseVpc\n        - SubnetIds: !Split [\",\", !Ref DatabaseSubnetIds]\n          SecurityGroupIds: !Split [\",\", !Ref DatabaseSecurityGroupIds]\n        - !Ref AWS::NoValue\n";
    let doc = parse(&changed(
        &text,
        admin,
        "      CodeUri: ../functions/admin\n      Role: !GetAtt AdminRole.Arn\n",
    ));
    let diffs = vpc_differences(&doc);
    assert!(
        diffs.iter().any(|d| d.starts_with("AdminFunction")),
        "{diffs:#?}"
    );
    // The login function joins it.
    let doc = parse(&changed(
        &text,
        "      CodeUri: ../functions/login\n",
        "      CodeUri: ../functions/login\n      VpcConfig: !If\n        - HasDatabaseVpc\n        - SubnetIds: !Split [\",\", !Ref DatabaseSubnetIds]\n          SecurityGroupIds: !Split [\",\", !Ref DatabaseSecurityGroupIds]\n        - !Ref AWS::NoValue\n",
    ));
    assert!(!vpc_differences(&doc).is_empty());
    // A role loses the policy its function needs in the VPC.
    let doc = parse(&changed(
        &text,
        "AWSLambdaVPCAccessExecutionRole",
        "AWSLambdaBasicExecutionRole",
    ));
    assert_eq!(
        vpc_differences(&doc).len(),
        5,
        "every database function's role"
    );
}

#[test]
fn samples_cover_every_route() {
    let covered: BTreeSet<(String, String)> = samples()
        .iter()
        .map(|(m, p, l)| {
            let r = resolve(m, p, *l);
            (r.route_name(), r.op.name().to_owned())
        })
        .collect();
    // Every operation of every backend path, to compare with what the samples reach.
    let all: BTreeSet<(String, String)> = every_route()
        .into_iter()
        .map(|(name, op)| (name, op.name().to_owned()))
        .collect();
    let missing: Vec<_> = all.difference(&covered).collect();
    assert!(missing.is_empty(), "routes without a sample: {missing:?}");
}

/// `sigil::route`, but with requests for `path` served by the issue function.
fn moved_to_issue(path: &'static str) -> impl Fn(&str, &str, bool) -> Function {
    move |m, p, l| {
        if p == path {
            Function::Issue
        } else {
            sigil_routes(m, p, l)
        }
    }
}

/// Replaces `from` (which must occur) by `to` in the template text.
fn changed(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "the template has no {from:?}");
    text.replace(from, to)
}

#[test]
fn a_table_changed_on_one_side_is_reported() {
    let text = template_text();
    // The template renames the expiry index's sort key.
    let doc = parse(&changed(
        &text,
        "AttributeName: exp_at",
        "AttributeName: expires_at",
    ));
    let diffs = table_differences(&doc, &schema::TABLE);
    println!("template renames exp_at: {diffs:#?}");
    assert!(
        diffs
            .iter()
            .any(|d| d.contains("attribute exp_at (N) is not defined")),
        "{diffs:#?}"
    );
    assert!(
        diffs
            .iter()
            .any(|d| d.contains("index expiry is keyed (exp_bucket, expires_at)")),
        "{diffs:#?}"
    );
    // The template projects every attribute into the index.
    let doc = parse(&changed(
        &text,
        "ProjectionType: KEYS_ONLY",
        "ProjectionType: ALL",
    ));
    let diffs = table_differences(&doc, &schema::TABLE);
    assert!(
        diffs.iter().any(|d| d.contains("projects ALL")),
        "{diffs:#?}"
    );
    // The code moves the TTL to another attribute, and makes the sort key a number.
    let code = TableDef {
        ttl_attribute: "expires",
        sort: (schema::SK, schema::AttrType::Number),
        ..schema::TABLE
    };
    let diffs = table_differences(&parse(&text), &code);
    println!("code moves the TTL, retypes sk: {diffs:#?}");
    assert!(
        diffs.iter().any(|d| d.contains("TTL is \"ttl\"")),
        "{diffs:#?}"
    );
    assert!(
        diffs
            .iter()
            .any(|d| d.contains("attribute sk is of type S, the schema says N")),
        "{diffs:#?}"
    );
}

#[test]
fn a_route_changed_on_one_side_is_reported() {
    let text = template_text();
    let routes_of = |t: &str| route_differences(&parse(t), &samples(), &sigil_routes);

    // The template loses the renew function's token/renew route: the request falls
    // through to admin's route of auth methods' paths.
    let diffs = routes_of(&changed(
        &text,
        "Path: /v1/auth/token/renew\n",
        "Path: /v1/auth/token/extend\n",
    ));
    println!("template loses a route: {diffs:#?}");
    assert!(
        diffs.iter().any(|d| d.starts_with(
            "HttpApi: PUT /v1/auth/token/renew: the template routes it (ANY /v1/auth/{mount}/{path}) to admin, sigil::route to renew"
        )),
        "{diffs:#?}"
    );
    assert!(
        diffs
            .iter()
            .any(|d| d.contains("route ANY /v1/auth/token/extend (renew) serves none")),
        "{diffs:#?}"
    );
    // A route whose function has no handler (no crate, not a Sigil function).
    let diffs = routes_of(&changed(
        &text,
        "CodeUri: ../functions/renew",
        "CodeUri: ../functions/refresh",
    ));
    println!("template names a function with no handler: {diffs:#?}");
    assert!(
        diffs.iter().any(|d| d.contains("no handler: \"refresh\"")),
        "{diffs:#?}"
    );
    assert!(
        diffs
            .iter()
            .any(|d| d.contains("function renew has no resource")),
        "{diffs:#?}"
    );
    // The code moves token renewal to the issue function: the template now disagrees.
    let diffs = route_differences(
        &parse(&text),
        &samples(),
        &moved_to_issue("/v1/auth/token/renew"),
    );
    assert_eq!(
        diffs,
        vec![
            "HttpApi: PUT /v1/auth/token/renew: the template routes it (ANY /v1/auth/token/renew) to renew, sigil::route to issue"
        ]
    );
    // The code adds a route the template does not know (here: one outside /v1/).
    let mut more = samples();
    more.push(("GET", "/v2/sys/health", false));
    let added = |m: &str, p: &str, l: bool| {
        if p.starts_with("/v2/") {
            Function::Admin
        } else {
            sigil_routes(m, p, l)
        }
    };
    let diffs = route_differences(&parse(&text), &more, &added);
    assert_eq!(
        diffs,
        vec!["HttpApi: GET /v2/sys/health: no route in the template (admin serves it)"]
    );
}

#[test]
fn iam_authorization_changed_on_one_side_is_reported() {
    let text = template_text();
    let routes_of = |t: &str| route_differences(&parse(t), &samples(), &sigil_routes);
    let iam_route =
        "ApiId: !Ref IamApi\n            Method: POST\n            Path: /v1/auth/aws/login\n";

    // The login route's own Authorizer may go: IamApi's default authorizer still holds.
    let diffs = routes_of(&changed(
        &text,
        "            Auth:\n              Authorizer: AWS_IAM\n",
        "",
    ));
    assert!(diffs.is_empty(), "{diffs:#?}");
    // Without either, the AWS IAM login has no IAM authorization anywhere.
    let open = changed(
        &changed(
            &text,
            "            Auth:\n              Authorizer: AWS_IAM\n",
            "",
        ),
        "        DefaultAuthorizer: AWS_IAM\n",
        "",
    );
    let diffs = routes_of(&open);
    assert!(
        diffs
            .iter()
            .any(|d| d.starts_with("no route takes AWS_IAM authorization")),
        "{diffs:#?}"
    );
    // IamApi widened to every mount's login: it would serve JWT logins too.
    let diffs = routes_of(&changed(
        &text,
        iam_route,
        &iam_route.replace("/v1/auth/aws/login", "/v1/auth/{mount}/login"),
    ));
    println!("IamApi serves every login: {diffs:#?}");
    assert!(
        diffs.iter().any(|d| d
            == "IamApi: POST /v1/auth/jwt/login: routed (POST /v1/auth/{mount}/login) with IAM \
                authorization, which only the AWS IAM login takes"),
        "{diffs:#?}"
    );
    // IAM authorization on the main API's login route: Vault clients would be refused.
    let diffs = routes_of(&changed(
        &text,
        "            Path: /v1/auth/{mount}/login\n            PayloadFormatVersion: \"2.0\"\n",
        "            Path: /v1/auth/{mount}/login\n            PayloadFormatVersion: \"2.0\"\n            \
         Auth:\n              Authorizer: AWS_IAM\n",
    ));
    assert!(
        diffs
            .iter()
            .any(|d| d.starts_with("HttpApi: mixes AWS_IAM routes")),
        "{diffs:#?}"
    );
    // IamApi without throttling.
    let diffs = routes_of(&changed(
        &text,
        "      DefaultRouteSettings:\n        ThrottlingRateLimit: !Ref LoginRateLimit\n        \
         ThrottlingBurstLimit: !Ref LoginRateLimit\n",
        "",
    ));
    assert!(
        diffs
            .iter()
            .any(|d| d == "IamApi: no DefaultRouteSettings.ThrottlingRateLimit"),
        "{diffs:#?}"
    );
    // The code moves the AWS IAM login to another function: both APIs disagree.
    let diffs = route_differences(
        &parse(&text),
        &samples(),
        &moved_to_issue("/v1/auth/aws/login"),
    );
    assert_eq!(
        diffs,
        vec![
            "HttpApi: POST /v1/auth/aws/login: the template routes it (ANY /v1/auth/{mount}/login) to login, sigil::route to issue",
            "IamApi: POST /v1/auth/aws/login: the template routes it (POST /v1/auth/aws/login) to login, sigil::route to issue",
        ]
    );
}

#[test]
fn a_metric_filter_changed_on_one_side_is_reported() {
    let text = template_text();
    let doc = parse(&changed(
        &text,
        "$.fields.irrevocable",
        "$.fields.irrevocables",
    ));
    let diffs = metric_differences(&doc);
    assert!(
        diffs.iter().any(|d| d.contains("irrevocables")),
        "{diffs:#?}"
    );
    let doc = parse(&changed(&text, "\"sweep finished\"", "\"sweep done\""));
    assert!(!metric_differences(&doc).is_empty());
}

#[test]
fn route_selection_follows_api_gateway() {
    let r = |m: &str, p: &str, f: &str| TemplateRoute {
        api: "HttpApi".into(),
        method: m.into(),
        path: p.into(),
        function: f.into(),
        authorizer: None,
    };
    // Routes in the style of the documentation's example ("Routing API requests").
    let routes = vec![
        r("GET", "/pets/dog/1", "a"),
        r("GET", "/pets/dog/{id}", "b"),
        r("GET", "/pets/{proxy+}", "c"),
        r("ANY", "/{proxy+}", "d"),
    ];
    let f = |m, p| select(&routes, m, p).unwrap().map(|r| r.function.clone());
    assert_eq!(f("GET", "/pets/dog/1").as_deref(), Some("a"));
    assert_eq!(f("GET", "/pets/dog/2").as_deref(), Some("b"));
    assert_eq!(f("GET", "/pets/cat/1").as_deref(), Some("c"));
    assert_eq!(f("POST", "/pets/dog/1").as_deref(), Some("d"));
    assert_eq!(
        f("GET", "/pets/dog/1/").as_deref(),
        Some("a"),
        "trailing slash"
    );
    assert_eq!(
        select(&routes[..3], "POST", "/pets/dog/1")
            .unwrap()
            .map(|r| r.key()),
        None
    );
    // An order the documentation leaves open is refused, not guessed.
    let open = vec![r("ANY", "/a/b/{proxy+}", "x"), r("GET", "/a/{proxy+}", "y")];
    assert!(select(&open, "GET", "/a/b/c").is_err());
}
