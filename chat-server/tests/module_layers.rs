//! The core's layers point one way: the use cases (`chat`) and the HTTP surface (`api`) use
//! the modules below them, never the reverse. A two-way loop (as `auth::oidc` once reached into
//! `chat::validate` for the email rule) means neither side can be read, tested or changed alone.
//! Checked on the source text, as the compiler allows any path inside one crate.

use std::path::{Path, PathBuf};

/// Modules that must not name `crate::chat` or `crate::api`.
const BELOW_THE_USE_CASES: &[&str] = &[
    "auth", "bus", "delivery", "error", "fields", "limits", "mail", "metrics", "model", "store",
    "uploads", "webhooks",
];

fn src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// `module.rs` and every `.rs` file below `module/`.
fn files_of(module: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let file = src().join(format!("{module}.rs"));
    if file.is_file() {
        found.push(file);
    }
    let mut dirs = vec![src().join(module)];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    found
}

/// Whether `item` (a path inside `crate::` or a `crate::{…}` group) starts at an upper layer.
fn is_upper(item: &str) -> bool {
    let first = item
        .trim_start_matches(|c: char| c == '{' || c.is_whitespace())
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .next()
        .unwrap_or_default();
    first == "chat" || first == "api"
}

/// Where the group that `text` starts inside of ends: its matching `}`.
fn closing_brace(text: &str) -> usize {
    let mut depth = 0;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return i,
            '}' => depth -= 1,
            _ => {}
        }
    }
    text.len()
}

/// The paths of `path` that name an upper layer, comments aside.
fn upward_paths(path: &Path) -> Vec<String> {
    let code: String = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let mut upward = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        let items: Vec<&str> = match rest.strip_prefix('{') {
            // A group: its items up to the closing brace (nested groups split on commas too).
            Some(group) => group[..closing_brace(group)].split(',').collect(),
            None => vec![rest],
        };
        if items.into_iter().any(is_upper) {
            let line = code[..at].matches('\n').count() + 1;
            upward.push(format!("{}:{line}", path.display()));
        }
    }
    upward
}

#[test]
fn modules_below_the_use_cases_never_name_chat_or_api() {
    let mut checked = 0;
    let mut upward = Vec::new();
    for module in BELOW_THE_USE_CASES {
        let files = files_of(module);
        assert!(!files.is_empty(), "no source for module {module}");
        for file in files {
            upward.extend(upward_paths(&file));
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} files read");
    assert!(upward.is_empty(), "upward paths:\n{}", upward.join("\n"));
}
