//! The page's commands are named in four places that must agree: build.rs (a permission per
//! command), lib.rs (`generate_handler!`), the capability files (what the page may call) and
//! the UI's api module (`call('…')`). This test reads each as text and names any command one of
//! them lacks, so adding a command in one place and forgetting another fails here, not at run
//! time with "command not found" or "not allowed".

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn read(relative: &str) -> String {
    read_path(&root().join(relative))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The text after `start` up to the first `end` that follows it.
fn between<'a>(text: &'a str, start: &str, end: &str, file: &str) -> &'a str {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("{file}: no `{start}`"))
        + start.len();
    let len = text[from..]
        .find(end)
        .unwrap_or_else(|| panic!("{file}: no `{end}` after `{start}`"));
    &text[from..from + len]
}

fn without_line_comments(text: &str) -> String {
    text.lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// build.rs: `let commands = &["start_demo", …];`
fn build_rs() -> BTreeSet<String> {
    let text = without_line_comments(&read("build.rs"));
    between(&text, "let commands = &[", "];", "build.rs")
        .split(',')
        .map(|item| item.trim().trim_matches('"').to_owned())
        .filter(|name| !name.is_empty())
        .collect()
}

/// lib.rs: `generate_handler![session::start_demo, …]`
fn lib_rs() -> BTreeSet<String> {
    let text = without_line_comments(&read("src/lib.rs"));
    between(&text, "generate_handler![", "]", "src/lib.rs")
        .split(',')
        .filter_map(|item| item.trim().rsplit("::").next())
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect()
}

/// capabilities/*.json: the app's own `allow-start-demo` permissions (a plugin's, `core:…` or
/// `dialog:…`, are not app commands), over every capability file.
fn capabilities() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let dir = root().join("capabilities");
    for entry in std::fs::read_dir(&dir).expect("src-tauri/capabilities") {
        let path = entry.expect("a capability file").path();
        if path.extension().is_none_or(|ext| ext != "json") {
            continue;
        }
        let json: serde_json::Value = serde_json::from_str(&read_path(&path))
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        for permission in json["permissions"].as_array().into_iter().flatten() {
            let id = permission
                .as_str()
                .or_else(|| permission["identifier"].as_str())
                .unwrap_or_default();
            if let Some(command) = id.strip_prefix("allow-").filter(|_| !id.contains(':')) {
                names.insert(command.replace('-', "_"));
            }
        }
    }
    names
}

fn read_path(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// ui/src/api/tideline.ts: every `call('name'` or `call<T>('name'`.
fn ui_api() -> BTreeSet<String> {
    scan_calls(&read("../ui/src/api/tideline.ts"))
}

fn scan_calls(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("call") {
        let before = rest[..at].chars().next_back();
        let mut after = &rest[at + "call".len()..];
        rest = after;
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
            continue;
        }
        if let Some(generic) = after.strip_prefix('<') {
            match generic.find(">(") {
                Some(end) => after = &generic[end + 1..],
                None => continue,
            }
        }
        let Some(args) = after.strip_prefix('(').map(str::trim_start) else {
            continue;
        };
        let Some(quote) = args.chars().next().filter(|c| *c == '\'' || *c == '"') else {
            continue;
        };
        if let Some(end) = args[1..].find(quote) {
            names.insert(args[1..1 + end].to_owned());
        }
    }
    names
}

#[test]
fn every_copy_of_the_command_list_names_the_same_commands() {
    let copies = [
        ("src-tauri/build.rs (tauri_build commands)", build_rs()),
        ("src-tauri/src/lib.rs (generate_handler!)", lib_rs()),
        ("src-tauri/capabilities/*.json (allow-…)", capabilities()),
        ("ui/src/api/tideline.ts (call('…'))", ui_api()),
    ];
    for (copy, names) in &copies {
        assert!(
            !names.is_empty(),
            "{copy}: found no commands (format changed?)"
        );
    }
    let every: BTreeSet<&String> = copies.iter().flat_map(|(_, names)| names).collect();
    let missing: Vec<String> = copies
        .iter()
        .filter_map(|(copy, names)| {
            let lacks: Vec<&str> = every
                .iter()
                .filter(|name| !names.contains(**name))
                .map(|name| name.as_str())
                .collect();
            (!lacks.is_empty()).then(|| format!("{copy} lacks {lacks:?}"))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "the command list differs between its copies:\n  {}",
        missing.join("\n  ")
    );
}

#[test]
fn the_ui_scan_finds_plain_and_typed_calls_only() {
    // The scanner itself, on the forms tideline.ts uses.
    let sample = "return call('start_demo');\nawait call<null>(\"watch_live\", { a });\n\
                  async function call<T>(cmd: string) {}\nx.call('not_a_command');\nrecall('no');";
    assert_eq!(
        scan_calls(sample),
        BTreeSet::from(["start_demo".to_owned(), "watch_live".to_owned()])
    );
}
