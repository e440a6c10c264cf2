//! The layout is the architecture, checked: `src/` is read as text and every import is
//! resolved to the file it reaches.
//!
//! - Layers: `store` imports nothing from `auth` or `web`; `auth` nothing from `web`; neither
//!   lower layer imports `config`, `startup` or `cli` (they sit on top). Leaf modules
//!   (`sample`, `metrics`, `error_chain`) import nothing of the crate and may be used by all.
//! - `auth` has no Rocket types at all: no `rocket` path appears in it.
//! - No two files import each other, directly or around a loop. A folder's `mod.rs` declares
//!   and re-exports its files; the files import their siblings directly, never the folder's
//!   re-exports, so the re-exports make no loop.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module, as its path from the crate root: `["auth", "login"]`; the root is `[]`.
type Module = Vec<String>;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every module of the library and the file it lives in (`main.rs` is another crate).
fn modules() -> BTreeMap<Module, PathBuf> {
    fn walk(dir: &Path, prefix: &Module, found: &mut BTreeMap<Module, PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("read src")
            .map(|e| e.expect("entry").path())
            .collect();
        entries.sort();
        for path in entries {
            let name = path
                .file_stem()
                .and_then(|n| n.to_str())
                .expect("a UTF-8 file name")
                .to_owned();
            if path.is_dir() {
                let mut module = prefix.clone();
                module.push(name);
                walk(&path, &module, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let module = match name.as_str() {
                    "mod" => prefix.clone(),
                    "lib" if prefix.is_empty() => Vec::new(),
                    "main" if prefix.is_empty() => continue,
                    _ => {
                        let mut module = prefix.clone();
                        module.push(name);
                        module
                    }
                };
                found.insert(module, path);
            }
        }
    }
    let mut found = BTreeMap::new();
    walk(&src(), &Vec::new(), &mut found);
    found
}

/// The code of a file without comments (doc links name modules without importing them) and
/// without its unit tests (the `#[cfg(test)]` module at its end, whose `super` is the file).
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("read a source file");
    let text = match text.find("#[cfg(test)]") {
        Some(at) => &text[..at],
        None => &text,
    };
    text.lines()
        .map(|line| match line.find("//") {
            // `//` inside a string literal is rare in this crate; URLs are in comments.
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path the code names that starts with `crate::`, `super::` or `self::`, with `use`
/// trees expanded: `use crate::a::{b, c::d}` gives `crate::a::b` and `crate::a::c::d`.
fn paths(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &code[i..];
        let at_word = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        let starts = ["crate::", "super::", "self::"]
            .iter()
            .find(|start| rest.starts_with(**start));
        match starts {
            Some(start) if at_word => {
                let end = path_end(rest);
                expand(&rest[..end], &mut found);
                i += end.max(start.len());
            }
            _ => i += rest.chars().next().map_or(1, char::len_utf8),
        }
    }
    found
}

/// Where a path (possibly with a `{...}` tree) ends.
fn path_end(text: &str) -> usize {
    let mut depth = 0;
    for (at, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth > 0 => depth -= 1,
            c if depth == 0 && !(c.is_alphanumeric() || c == '_' || c == ':') => return at,
            _ => {}
        }
    }
    text.len()
}

fn expand(path: &str, found: &mut Vec<String>) {
    let path: String = path.chars().filter(|c| !c.is_whitespace()).collect();
    match path.find('{') {
        None => found.push(path.trim_end_matches(':').to_owned()),
        Some(open) => {
            let prefix = &path[..open];
            let inner = &path[open + 1..path.rfind('}').unwrap_or(path.len())];
            let mut depth = 0;
            let mut start = 0;
            for (at, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        expand(&format!("{prefix}{}", &inner[start..at]), found);
                        start = at + 1;
                    }
                    _ => {}
                }
            }
            if start < inner.len() {
                expand(&format!("{prefix}{}", &inner[start..]), found);
            }
        }
    }
}

/// The module a path reaches, from `module` (the importing file's module): the deepest module
/// the path names (items after it are ignored).
fn target(path: &str, module: &Module, modules: &BTreeMap<Module, PathBuf>) -> Option<Module> {
    let mut segments = path.split("::").filter(|s| !s.is_empty());
    let mut current: Module = match segments.next()? {
        "crate" => Vec::new(),
        "self" => module.clone(),
        "super" => {
            let mut parent = module.clone();
            parent.pop()?;
            parent
        }
        _ => return None,
    };
    for segment in segments {
        match segment {
            "super" => {
                current.pop()?;
            }
            "self" => {}
            name => {
                let mut next = current.clone();
                next.push(name.to_owned());
                if !modules.contains_key(&next) {
                    break;
                }
                current = next;
            }
        }
    }
    Some(current)
}

/// Paths that start with a child module's name, in `use` declarations (`pub use
/// login::Login;` in a folder's `mod.rs`) and in code (`users::find(conn, name)`), made
/// explicit as `self::login::Login`.
fn child_paths(code: &str, module: &Module, modules: &BTreeMap<Module, PathBuf>) -> Vec<String> {
    let children: Vec<&str> = modules
        .keys()
        .filter(|m| m.len() == module.len() + 1 && m.starts_with(module))
        .filter_map(|m| m.last().map(String::as_str))
        .collect();
    let mut found = Vec::new();
    for child in children {
        let pattern = format!("{child}::");
        let mut from = 0;
        while let Some(at) = code[from..].find(&pattern).map(|i| i + from) {
            let before = code[..at].chars().next_back();
            let part_of_longer =
                before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
            if !part_of_longer {
                let end = at + path_end(&code[at..]);
                expand(&format!("self::{}", &code[at..end]), &mut found);
            }
            from = at + pattern.len();
        }
    }
    found
}

/// Every file's imports, as modules.
fn imports() -> BTreeMap<Module, BTreeSet<Module>> {
    let modules = modules();
    modules
        .iter()
        .map(|(module, path)| {
            let code = code(path);
            let mut found = paths(&code);
            found.extend(child_paths(&code, module, &modules));
            let targets = found
                .iter()
                .filter_map(|p| target(p, module, &modules))
                .filter(|t| t != module)
                .collect();
            (module.clone(), targets)
        })
        .collect()
}

/// A module's layer: 0 for leaves, 1 store, 2 auth, 3 web, 4 the top (config, startup, cli and
/// the crate root).
fn layer(module: &Module) -> u8 {
    match module.first().map(String::as_str) {
        Some("sample" | "error_chain" | "metrics") => 0,
        Some("store") => 1,
        Some("auth") => 2,
        Some("web") => 3,
        _ => 4,
    }
}

fn name(module: &Module) -> String {
    if module.is_empty() {
        "crate".into()
    } else {
        module.join("::")
    }
}

#[test]
fn no_module_imports_from_a_layer_above_it() {
    let mut upward = Vec::new();
    for (module, targets) in imports() {
        for target in targets {
            // A leaf imports nothing of the crate at all.
            let allowed = if layer(&module) == 0 {
                false
            } else {
                layer(&target) <= layer(&module)
            };
            if !allowed {
                upward.push(format!("{} imports {}", name(&module), name(&target)));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that run upward:\n{}",
        upward.join("\n")
    );
}

#[test]
fn auth_has_no_rocket_types() {
    let offending: Vec<String> = modules()
        .into_iter()
        .filter(|(module, _)| layer(module) == 2)
        .filter(|(_, path)| code(path).contains("rocket"))
        .map(|(module, _)| name(&module))
        .collect();
    assert!(offending.is_empty(), "Rocket in auth: {offending:?}");
}

#[test]
fn no_two_modules_import_each_other() {
    let graph = imports();
    // Depth-first search for a back edge; report the first loop found.
    fn visit(
        module: &Module,
        graph: &BTreeMap<Module, BTreeSet<Module>>,
        stack: &mut Vec<Module>,
        done: &mut BTreeSet<Module>,
    ) -> Option<Vec<Module>> {
        if let Some(at) = stack.iter().position(|m| m == module) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(module.clone());
            return Some(cycle);
        }
        if done.contains(module) {
            return None;
        }
        stack.push(module.clone());
        for next in graph.get(module).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(module.clone());
        None
    }
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        if let Some(cycle) = visit(module, &graph, &mut Vec::new(), &mut done) {
            let path: Vec<String> = cycle.iter().map(name).collect();
            panic!("an import loop: {}", path.join(" -> "));
        }
    }
}

#[test]
fn the_checker_sees_imports() {
    // The checker itself: trees, relative paths and inline paths all count.
    let found = paths("use crate::a::{b, c::{d, e}};\nlet x = super::f::g(1);\nself::h::I;");
    assert_eq!(
        found,
        [
            "crate::a::b",
            "crate::a::c::d",
            "crate::a::c::e",
            "super::f::g",
            "self::h::I"
        ]
    );
    let graph = imports();
    assert!(graph[&vec!["web".to_owned(), "guards".to_owned()]].contains(&vec!["auth".to_owned()]));
}
