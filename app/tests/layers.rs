//! Guards the app's layering: `pages` → `ui` → `api` → `backend` → `model`, only the root
//! imports `pages`, and no module of the crate imports, directly or around a loop, itself.
//! Reads the sources (every `use` tree and inline `crate::`/`super::` path outside tests).

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::Path,
};

/// Which layers each layer may import (besides itself). `root` is `lib.rs`, the router.
const ALLOWED: &[(&str, &[&str])] = &[
    ("root", &["pages", "ui", "api", "backend", "model"]),
    ("pages", &["ui", "api", "model"]),
    ("ui", &["api", "model"]),
    ("api", &["backend", "model"]),
    ("backend", &["model"]),
    ("model", &[]),
];

/// A module of the crate, as a `::`-joined path (`""` is the crate root).
type Module = String;

#[test]
fn the_app_keeps_its_layers_and_has_no_import_cycle() {
    let sources = read_sources(Path::new(env!("CARGO_MANIFEST_DIR")).join("src").as_path());
    assert!(
        sources.len() > 20,
        "expected the app's modules, found {}",
        sources.len()
    );
    let problems = check(&sources);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_check_finds_a_cycle_a_facade_import_and_a_layer_breach() {
    let files = |list: &[(&str, &str)]| -> BTreeMap<Module, String> {
        list.iter()
            .map(|(m, s)| (m.to_string(), s.to_string()))
            .collect()
    };
    let ok = files(&[
        ("", "mod pages; use crate::pages::Home;"),
        ("pages", "mod home; pub use home::Home;"),
        ("pages::home", "use crate::{ui::Button, model::User};"),
        ("ui", "use crate::model::User;"),
        ("model", ""),
    ]);
    assert_eq!(check(&ok), Vec::<String>::new());

    let cycle = files(&[
        ("backend", "pub mod a; pub mod b;"),
        ("backend::a", "use super::b::B;"),
        ("backend::b", "fn f() { crate::backend::a::A::new(); }"),
    ]);
    assert!(
        check(&cycle).iter().any(|p| p.contains("cycle")),
        "{:?}",
        check(&cycle)
    );

    let facade = files(&[
        ("ui", "mod header; mod forms; pub use forms::SignInForm;"),
        ("ui::header", "use super::SignInForm;"),
        ("ui::forms", ""),
    ]);
    assert!(
        check(&facade).iter().any(|p| p.contains("facade")),
        "{:?}",
        check(&facade)
    );

    let breach = files(&[
        ("backend", "use crate::ui::{Header as H, self};"),
        ("ui", ""),
    ]);
    assert!(
        check(&breach).iter().any(|p| p.contains("may not import")),
        "{:?}",
        check(&breach)
    );
}

/// Every `.rs` file under `src`, by module path, with comments and test modules removed.
fn read_sources(src: &Path) -> BTreeMap<Module, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
                parts.pop();
            }
            out.insert(parts.join("::"), strip(&fs::read_to_string(&path).unwrap()));
        }
    }
    out
}

/// The code without `//` comments and without the trailing `#[cfg(test)] mod tests`.
fn strip(source: &str) -> String {
    let mut code = String::new();
    let mut lines = source.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        if trimmed == "#[cfg(test)]"
            && lines
                .peek()
                .is_some_and(|l| l.trim_start().starts_with("mod tests"))
        {
            break;
        }
        let without_comment = match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        };
        code.push_str(without_comment);
        code.push('\n');
    }
    code
}

fn layer(module: &str) -> &str {
    match module.split("::").next() {
        Some("") | None => "root",
        Some(first) => first,
    }
}

/// All problems: layer breaches, imports through a module's own facade, and cycles.
fn check(sources: &BTreeMap<Module, String>) -> Vec<String> {
    let mut problems = Vec::new();
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (module, code) in sources {
        for path in referenced_paths(module, code) {
            let Some(target) = resolve(sources, &path) else {
                continue;
            };
            if &target == module {
                continue;
            }
            let (from, to) = (layer(module), layer(&target));
            let allowed = from == to
                || ALLOWED
                    .iter()
                    .any(|(l, to_list)| *l == from && to_list.contains(&to));
            if !allowed {
                problems.push(format!(
                    "`{module}` ({from}) may not import `{path}` ({to})"
                ));
            }
            if to == "pages"
                && from == "pages"
                && !is_ancestor(module, &target)
                && module != "pages"
            {
                problems.push(format!("`{module}` imports another page, `{target}`"));
            }
            if is_ancestor(&target, module) {
                problems.push(format!(
                    "`{module}` imports `{path}` through its parent's facade `{target}`: name the sibling module"
                ));
                continue;
            }
            edges.entry(module.clone()).or_default().insert(target);
        }
    }
    problems.extend(cycles(&edges));
    problems
}

fn is_ancestor(ancestor: &str, module: &str) -> bool {
    ancestor.is_empty() && !module.is_empty() || module.starts_with(&format!("{ancestor}::"))
}

/// The longest prefix of `path` that is a module of the crate.
fn resolve(sources: &BTreeMap<Module, String>, path: &str) -> Option<Module> {
    let parts: Vec<&str> = path.split("::").collect();
    (0..=parts.len())
        .rev()
        .map(|n| parts[..n].join("::"))
        .find(|candidate| sources.contains_key(candidate))
}

/// The crate paths `code` (of `module`) names, made absolute (without the `crate::`).
fn referenced_paths(module: &str, code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let (uses, rest) = split_use_statements(code);
    for tree in uses {
        let tree: String = remove_aliases(&tree)
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        expand(&tree, "", &mut paths);
    }
    // Inline paths such as `crate::backend::request::portal()`.
    for prefix in ["crate::", "super::"] {
        let mut at = 0;
        while let Some(i) = rest[at..].find(prefix) {
            let start = at + i;
            let before = rest[..start].chars().next_back();
            let end = rest[start..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .map_or(rest.len(), |e| start + e);
            if !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                paths.push(rest[start..end].trim_end_matches(':').to_string());
            }
            at = end.max(start + prefix.len());
        }
    }
    paths
        .into_iter()
        .filter_map(|p| absolute(module, &p))
        .collect()
}

/// The `use` trees of `code` (statements starting a line, maybe `pub`), and the code
/// without them.
fn split_use_statements(code: &str) -> (Vec<String>, String) {
    let mut trees = Vec::new();
    let mut rest = String::new();
    let mut current: Option<String> = None;
    for line in code.lines() {
        if current.is_none() {
            let trimmed = line.trim_start();
            let visibility_end = if trimmed.starts_with("pub(") {
                trimmed.find(')').map(|i| i + 1)
            } else if trimmed.starts_with("pub ") {
                Some(3)
            } else {
                Some(0)
            };
            let after = visibility_end.map(|i| trimmed[i..].trim_start());
            match after.and_then(|a| a.strip_prefix("use ")) {
                Some(tree) => current = Some(tree.to_string()),
                None => {
                    rest.push_str(line);
                    rest.push('\n');
                    continue;
                }
            }
        } else if let Some(tree) = current.as_mut() {
            tree.push(' ');
            tree.push_str(line);
        }
        if let Some(tree) = current.take() {
            match tree.find(';') {
                Some(end) => trees.push(tree[..end].to_string()),
                None => current = Some(tree),
            }
        }
    }
    (trees, rest)
}

fn remove_aliases(tree: &str) -> String {
    let mut out = String::new();
    let mut words = tree.split_whitespace().peekable();
    while let Some(w) = words.next() {
        if w == "as" {
            // Drop the alias but keep what follows it (`,` or `}`).
            if let Some(alias) = words.next() {
                out.push_str(alias.trim_start_matches(|c: char| c.is_alphanumeric() || c == '_'));
            }
            continue;
        }
        out.push(' ');
        out.push_str(w);
    }
    out
}

/// Expands a `use` tree (`a::{b, c::{d, self}}`) into its paths.
fn expand(tree: &str, prefix: &str, out: &mut Vec<String>) {
    let join = |p: &str, s: &str| {
        if p.is_empty() {
            s.to_string()
        } else if s == "self" {
            p.to_string()
        } else {
            format!("{p}::{s}")
        }
    };
    match tree.find('{') {
        None => {
            if !tree.is_empty() {
                out.push(join(prefix, tree.trim_end_matches("::*")));
            }
        }
        Some(open) => {
            let head = tree[..open].trim_end_matches("::");
            let close = tree.rfind('}').filter(|c| *c > open).unwrap_or(tree.len());
            let inner = &tree[open + 1..close];
            let base = if head.is_empty() {
                prefix.to_string()
            } else {
                join(prefix, head)
            };
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        expand(&inner[start..i], &base, out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            expand(&inner[start..], &base, out);
        }
    }
}

/// `crate::a::b` → `a::b`; `super::c` from `a::b` → `a::c`; a local path (`leptos::…`, or a
/// child module) → `None` or the child.
fn absolute(module: &str, path: &str) -> Option<String> {
    let mut parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
    let mut base: Vec<&str> = module.split("::").filter(|p| !p.is_empty()).collect();
    match parts.first() {
        Some(&"crate") => {
            parts.remove(0);
            Some(parts.join("::"))
        }
        Some(&"super") => {
            while parts.first() == Some(&"super") {
                parts.remove(0);
                base.pop()?;
            }
            base.extend(parts);
            Some(base.join("::"))
        }
        Some(&"self") => {
            parts.remove(0);
            base.extend(parts);
            Some(base.join("::"))
        }
        _ => None,
    }
}

/// Every cycle in the import graph, each named once.
fn cycles(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<String> {
    let mut found = BTreeSet::new();
    for start in edges.keys() {
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        while let Some((node, path)) = stack.pop() {
            for next in edges.get(&node).into_iter().flatten() {
                if next == start {
                    let mut cycle = path.clone();
                    let min = cycle.iter().min().unwrap().clone();
                    let pos = cycle.iter().position(|m| *m == min).unwrap();
                    cycle.rotate_left(pos);
                    found.insert(cycle.join(" → "));
                } else if !path.contains(next) && next > start {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
    found
        .into_iter()
        .map(|c| format!("import cycle: {c} → back"))
        .collect()
}
