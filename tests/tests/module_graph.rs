//! The shared crate's module graph: no cycle among its files, and every AWS SDK import
//! in the adapters module.
//!
//! Each `.rs` file under `shared/src` is a node (`backend/sys/mounts.rs` is
//! `backend::sys::mounts`, a `mod.rs` its folder). A file depends on another when its
//! non-test code names it: `crate::a::b::Item`, `super::x`, or a child module
//! declared in it (`kv::PATHS`). Each path resolves to the longest module prefix that
//! is a file, so an item re-exported by a parent counts as the parent's: import items
//! from the module that defines them.
//!
//! `cargo test -p sigil-tests --test module_graph -- --nocapture` prints the graph.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/src")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read shared/src") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `a/b/mod.rs` → `a::b`; `a/b.rs` → `a::b`; `lib.rs` → `` (the root).
fn module_of(rel: &Path) -> String {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_owned());
    }
    parts.join("::")
}

/// The code outside `#[cfg(test)]` items (test modules may use anything).
fn non_test(text: &str) -> String {
    let mut out = String::new();
    let mut skip_depth: Option<i64> = None;
    let mut depth: i64 = 0;
    let mut pending_cfg_test = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if skip_depth.is_none() && trimmed.starts_with("#[cfg(test)]") {
            pending_cfg_test = true;
            continue;
        }
        let opens = line.matches('{').count() as i64;
        let closes = line.matches('}').count() as i64;
        if pending_cfg_test {
            pending_cfg_test = false;
            if opens > closes {
                skip_depth = Some(depth);
                depth += opens - closes;
                continue;
            } else if trimmed.ends_with(';') {
                continue;
            }
        }
        depth += opens - closes;
        if let Some(d) = skip_depth {
            if depth <= d {
                skip_depth = None;
            }
            continue;
        }
        // Comments name modules without depending on them.
        let code = line.split("//").next().unwrap_or("");
        out.push_str(code);
        out.push('\n');
    }
    out
}

/// Paths like `crate::a::b`, `super::super::x`, `child::y` in `code`, as segment lists
/// (`crate::{a, b::c}` groups expanded one level).
fn paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let starts = (c.is_ascii_alphabetic() || c == '_')
            && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == '_'));
        if !starts {
            i += 1;
            continue;
        }
        let mut segs = Vec::new();
        let mut j = i;
        loop {
            let s = j;
            while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == '_') {
                j += 1;
            }
            segs.push(bytes[s..j].iter().collect::<String>());
            if j + 2 < bytes.len() && bytes[j] == ':' && bytes[j + 1] == ':' {
                j += 2;
                if bytes[j] == '{' {
                    // A group: each item joined to the prefix.
                    let end = bytes[j..]
                        .iter()
                        .position(|c| *c == '}')
                        .map_or(bytes.len(), |p| j + p);
                    let inner: String = bytes[j + 1..end].iter().collect();
                    for item in inner.split(',') {
                        let item = item.trim().split(" as ").next().unwrap_or("").trim();
                        if item.is_empty() {
                            continue;
                        }
                        let mut p = segs.clone();
                        p.extend(item.split("::").map(|s| s.trim().to_owned()));
                        out.push(p);
                    }
                    j = end;
                    segs.clear();
                    break;
                }
                if bytes[j].is_ascii_alphabetic() || bytes[j] == '_' {
                    continue;
                }
            }
            break;
        }
        if segs.len() > 1 {
            out.push(segs);
        }
        i = j.max(i + 1);
    }
    out
}

struct Graph {
    modules: BTreeSet<String>,
    edges: BTreeMap<String, BTreeSet<String>>,
    sdk_importers: BTreeSet<String>,
}

/// Splits `code` into its `pub use` statements and the rest.
fn split_reexports(code: &str) -> (Vec<String>, String) {
    let mut reexports = Vec::new();
    let mut rest = String::new();
    let mut i = 0;
    while i < code.len() {
        let tail = &code[i..];
        let start = ["pub use ", "pub(crate) use ", "pub(super) use "]
            .iter()
            .filter_map(|k| tail.find(k))
            .min();
        match start {
            Some(s) => {
                rest.push_str(&tail[..s]);
                let end = tail[s..].find(';').map_or(tail.len(), |e| s + e + 1);
                reexports.push(tail[s..end].to_owned());
                i += end;
            }
            None => {
                rest.push_str(tail);
                break;
            }
        }
    }
    (reexports, rest)
}

/// `p` (relative to module `here`) as an absolute segment list, if it names a module
/// path (`crate::`, `super::`, `self::` or a child module of `here`).
fn absolute(p: &[String], here: &[String], modules: &BTreeSet<String>) -> Option<Vec<String>> {
    Some(match p[0].as_str() {
        "crate" => p[1..].to_vec(),
        "super" => {
            let ups = p.iter().take_while(|s| *s == "super").count();
            if ups > here.len() {
                return None;
            }
            let mut base = here[..here.len() - ups].to_vec();
            base.extend(p[ups..].iter().cloned());
            base
        }
        "self" => {
            let mut base = here.to_vec();
            base.extend(p[1..].iter().cloned());
            base
        }
        first => {
            let mut base = here.to_vec();
            base.push(first.to_owned());
            if !modules.contains(&base.join("::")) {
                return None;
            }
            base.extend(p[1..].iter().cloned());
            base
        }
    })
}

fn graph() -> Graph {
    let root = src();
    let mut all = Vec::new();
    files(&root, &mut all);
    let mut texts = BTreeMap::new();
    for f in &all {
        let rel = f.strip_prefix(&root).expect("under src");
        texts.insert(module_of(rel), std::fs::read_to_string(f).expect("read"));
    }
    let modules: BTreeSet<String> = texts.keys().cloned().collect();
    let segments = |m: &str| -> Vec<String> {
        if m.is_empty() {
            Vec::new()
        } else {
            m.split("::").map(str::to_owned).collect()
        }
    };
    // Re-exports: (module, name) -> the absolute path it re-exports.
    let mut aliases: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut codes = BTreeMap::new();
    for (module, text) in &texts {
        let (reexports, code) = split_reexports(&non_test(text));
        let here = segments(module);
        for r in &reexports {
            let body = r.split_once(" use ").map_or("", |(_, b)| b);
            for p in paths(body) {
                if let Some(abs) = absolute(&p, &here, &modules)
                    && let Some(name) = abs.last()
                {
                    aliases.insert((module.clone(), name.clone()), abs.clone());
                }
            }
        }
        codes.insert(module.clone(), code);
    }
    let resolve = |segs: &[String]| -> Option<String> {
        let mut segs = segs.to_vec();
        for _ in 0..8 {
            let n = (1..=segs.len())
                .rev()
                .find(|n| modules.contains(&segs[..*n].join("::")))?;
            let m = segs[..n].join("::");
            match segs
                .get(n)
                .and_then(|name| aliases.get(&(m.clone(), name.clone())))
            {
                Some(target) if *target != segs[..=n] => {
                    let mut next = target.clone();
                    next.extend(segs[n + 1..].iter().cloned());
                    segs = next;
                }
                _ => return Some(m),
            }
        }
        None
    };
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut sdk_importers = BTreeSet::new();
    for (module, code) in &codes {
        if code.contains("aws_sdk_") || code.contains("aws_config::") {
            sdk_importers.insert(module.clone());
        }
        let here = segments(module);
        for p in paths(code) {
            let absolute: Vec<String> = match absolute(&p, &here, &modules) {
                Some(a) => a,
                None => continue,
            };
            if let Some(target) = resolve(&absolute)
                && &target != module
                && !target.is_empty()
            {
                edges.entry(module.clone()).or_default().insert(target);
            }
        }
    }
    Graph {
        modules,
        edges,
        sdk_importers,
    }
}

/// Strongly connected components with more than one module (Tarjan).
fn cycles(g: &Graph) -> Vec<Vec<String>> {
    struct T<'a> {
        g: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        t.index.insert(v, t.next);
        t.low.insert(v, t.next);
        t.next += 1;
        t.stack.push(v);
        t.on.insert(v);
        if let Some(ws) = t.g.edges.get(v) {
            for w in ws {
                let w = w.as_str();
                if !t.index.contains_key(w) {
                    visit(t, w);
                    let lw = t.low[w];
                    let lv = t.low[v];
                    t.low.insert(v, lv.min(lw));
                } else if t.on.contains(w) {
                    let iw = t.index[w];
                    let lv = t.low[v];
                    t.low.insert(v, lv.min(iw));
                }
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for m in &g.modules {
        if !t.index.contains_key(m.as_str()) {
            visit(&mut t, m.as_str());
        }
    }
    t.out
}

#[test]
fn shared_has_no_module_cycle() {
    let g = graph();
    for (from, to) in &g.edges {
        println!(
            "{from} -> {}",
            to.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    assert!(g.modules.len() > 50, "found {} modules", g.modules.len());
    assert!(
        g.edges
            .get("backend")
            .is_some_and(|e| e.contains("backend::kv")),
        "the graph sees child references: {:?}",
        g.edges.get("backend")
    );
    let found = cycles(&g);
    assert!(found.is_empty(), "module cycles: {found:#?}");
}

#[test]
fn only_the_adapters_import_the_aws_sdk() {
    let g = graph();
    let outside: Vec<&String> = g
        .sdk_importers
        .iter()
        .filter(|m| !m.starts_with("adapters::aws"))
        .collect();
    assert!(!g.sdk_importers.is_empty(), "the check sees the adapters");
    assert!(
        outside.is_empty(),
        "aws_sdk_* / aws_config imported outside adapters::aws: {outside:?}"
    );
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let mut g = Graph {
        modules: ["a", "b", "c", "d"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        edges: BTreeMap::new(),
        sdk_importers: BTreeSet::new(),
    };
    let mut edge = |f: &str, t: &str| {
        g.edges.entry(f.into()).or_default().insert(t.into());
    };
    edge("a", "b");
    edge("b", "c");
    edge("c", "a");
    edge("c", "d");
    assert_eq!(
        cycles(&g),
        vec![vec!["a".to_owned(), "b".into(), "c".into()]]
    );
    assert_eq!(
        paths("use crate::{a::B, c};\nlet x = super::d::e(kv::PATHS);"),
        vec![
            vec!["crate".to_owned(), "a".into(), "B".into()],
            vec!["crate".into(), "c".into()],
            vec!["super".into(), "d".into(), "e".into()],
            vec!["kv".into(), "PATHS".into()],
        ]
    );
}
