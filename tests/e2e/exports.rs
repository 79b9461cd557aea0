//! The app's File ▸ Export for a data lake: the header's Export menu lists the OCSF and
//! Timesketch formats, the native save dialog names a new folder, and the OCSF Parquet export
//! writes its Hive partitions with the outcome said in the task dialog — the same files the
//! CLI writes (`tideline-cli info --json` counts them).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::Desktop;

fn cli(args: &[&str], paths: &[&Path]) -> Vec<u8> {
    let cli = PathBuf::from(env!("CARGO_BIN_EXE_tideline")).with_file_name("tideline-cli");
    let output = Command::new(cli)
        .args(args)
        .args(paths)
        .output()
        .expect("tideline-cli runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// The Parquet files under `folder`, relative to it.
fn parquet_files(folder: &Path, under: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(folder).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(parquet_files(&path, under));
        } else if path.extension().is_some_and(|ext| ext == "parquet") {
            found.push(path.strip_prefix(under).unwrap().to_owned());
        }
    }
    found.sort();
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn the_export_menu_writes_ocsf_parquet_partitions_into_the_folder_named_in_the_dialog() {
    let dir = tempfile::TempDir::new().unwrap();
    let session = dir.path().join("drift.tideline");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for input in ["seed-incident.sse", "auditlog/cloudtrail/seed-story"] {
        cli(
            &["import", "--input"],
            &[&fixtures.join(input), Path::new("--session"), &session],
        );
    }
    let info: serde_json::Value =
        serde_json::from_slice(&cli(&["info", "--json", "--session"], &[&session])).unwrap();

    let mut desktop = Desktop::launch("exports", &["--open", session.to_str().unwrap()]).await;
    desktop.find(r#"[data-testid="change-row"]"#).await;
    desktop.click(r#"[data-testid="export-menu"]"#).await;
    for kind in ["timesketch-jsonl", "ocsf-json", "ocsf-parquet"] {
        desktop
            .find(&format!(r#"[data-testid="export-{kind}"]"#))
            .await;
    }
    desktop.screenshot("export-menu").await;
    desktop
        .click(r#"[data-testid="export-ocsf-parquet"]"#)
        .await;

    let lake = dir.path().join("lake");
    desktop.answer_file_dialog("OCSF Parquet", &lake);
    let said = desktop
        .text_when(
            r#"[data-testid="task-result"][data-outcome="done"]"#,
            |text| text.contains("Exported"),
        )
        .await;
    let events = info["events"].as_u64().unwrap();
    assert!(
        said.contains(&format!("Exported {events} events")),
        "{said}"
    );
    desktop.screenshot("exported").await;

    // One folder per account and UTC date the session holds, as `info --json` counts them.
    let files = parquet_files(&lake, &lake);
    let mut expected = Vec::new();
    for (account, _) in info["by_account"].as_object().unwrap() {
        for (date, _) in info["by_date"].as_object().unwrap() {
            let account = if account.is_empty() {
                "__HIVE_DEFAULT_PARTITION__"
            } else {
                account
            };
            expected.push(format!("account={account}/date={date}"));
        }
    }
    let folders: Vec<String> = files
        .iter()
        .map(|file| file.parent().unwrap().display().to_string())
        .collect();
    for folder in &folders {
        assert!(expected.contains(folder), "{folder} not in {expected:?}");
    }
    assert!(!files.is_empty());
    assert!(!dir.path().join("lake.partial").exists());
    desktop.close().await;
}
