//! Evidence: reviewing a session never changes it (read-only files, folders and mounts, as a
//! non-root user), one recorder per session (the lock survives nothing but its process), a full
//! disk is named and recoverable, and a closed pipe ends a command quietly.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use eventstream_sim::{Scenario, StreamSource};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

use crate::record::{spawn_record, stored_count, wait_until_stored};
use crate::*;

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Every name in `folder` with the SHA-256 of its bytes.
fn listing(folder: &Path) -> Vec<(String, String)> {
    let mut entries: Vec<_> = std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let digest = Sha256::digest(std::fs::read(entry.path()).unwrap());
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            (entry.file_name().to_string_lossy().into_owned(), hex)
        })
        .collect();
    entries.sort();
    entries
}

/// `tideline-cli import` of the seed-incident capture into `session`.
fn import_seed(session: &Path) -> Output {
    cli()
        .args(["import", "--session"])
        .arg(session)
        .arg("--input")
        .arg(fixture("seed-incident.sse"))
        .output()
        .unwrap()
}

/// A recorded session (the seed incident, imported) in a folder of its own, closed cleanly.
fn seed_session(folder: &Path) -> PathBuf {
    let session = folder.join("evidence.tideline");
    assert_success(&import_seed(&session));
    std::fs::remove_file(tideline_engine::store::lock_path(&session)).unwrap();
    session
}

/// Runs every review command on `session` (as `nobody` when this test runs as root) and
/// returns their outputs.
fn review_all(session: &Path, notes: &Path, as_nobody: bool) -> Vec<(String, Output)> {
    let out_dir = TempDir::new().unwrap();
    std::fs::set_permissions(out_dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let csv = out_dir.path().join("timeline.csv");
    let runs: Vec<Vec<String>> = vec![
        vec!["info".into(), "--json".into()],
        vec!["verify".into()],
        vec!["findings".into(), "--json".into()],
        vec![
            "export".into(),
            "--format".into(),
            "ndjson".into(),
            "--out".into(),
            "-".into(),
        ],
        vec![
            "export".into(),
            "--format".into(),
            "csv".into(),
            "--out".into(),
            csv.display().to_string(),
        ],
    ];
    runs.into_iter()
        .map(|args| {
            let mut command = if as_nobody {
                let mut command = Command::new("setpriv");
                command
                    .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
                    .arg(env!("CARGO_BIN_EXE_tideline-cli"));
                command
            } else {
                Command::new(env!("CARGO_BIN_EXE_tideline-cli"))
            };
            command
                .args(&args)
                .arg("--session")
                .arg(session)
                .env("TIDELINE_NOTES_DIR", notes)
                .env("HOME", notes);
            (args.join(" "), command.output().unwrap())
        })
        .collect()
}

fn assert_reviews_succeeded(outputs: &[(String, Output)]) {
    for (what, output) in outputs {
        assert!(
            output.status.success(),
            "`{what}` failed on read-only evidence: {}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let info: serde_json::Value = serde_json::from_slice(&outputs[0].1.stdout).unwrap();
    assert_eq!(info["asset_events"], 11, "{info}");
    assert!(String::from_utf8_lossy(&outputs[1].1.stdout).starts_with("intact"));
    let findings: serde_json::Value = serde_json::from_slice(&outputs[2].1.stdout).unwrap();
    assert!(
        !findings.as_array().unwrap().is_empty(),
        "the rules ran: {findings}"
    );
}

#[test]
fn review_commands_work_on_a_0444_file_in_a_0555_folder_as_a_non_root_user_and_change_nothing() {
    let dir = TempDir::new().unwrap();
    let folder = dir.path().join("evidence");
    std::fs::create_dir(&folder).unwrap();
    let session = seed_session(&folder);
    std::fs::set_permissions(&session, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o555)).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let notes = TempDir::new().unwrap();
    std::fs::set_permissions(notes.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let before = listing(&folder);

    let outputs = review_all(&session, notes.path(), is_root());
    assert_reviews_succeeded(&outputs);
    assert_eq!(
        listing(&folder),
        before,
        "reviewing changed the evidence folder"
    );
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Runs `mount` (root only); panics with its message when it fails.
fn mount(args: &[&str], target: &Path) {
    let output = Command::new("mount")
        .args(args)
        .arg(target)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "mount {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Unmounts when dropped, so a failed assertion leaves no mount behind.
struct Mounted(PathBuf);

/// A tmpfs of `size` (mount's syntax: `4m`) at `dir/name`; `None` when not root (these tests
/// then say they skipped: CI runs as root).
fn small_disk(dir: &TempDir, name: &str, size: &str) -> Option<(PathBuf, Mounted)> {
    if !is_root() {
        eprintln!("skipped: mounting a small tmpfs needs root (CI runs as root)");
        return None;
    }
    let disk = dir.path().join(name);
    std::fs::create_dir(&disk).unwrap();
    mount(
        &["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"],
        &disk,
    );
    let mounted = Mounted(disk.clone());
    Some((disk, mounted))
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn review_commands_work_on_a_read_only_mount_and_change_nothing() {
    let dir = TempDir::new().unwrap();
    let Some((media, _mounted)) = small_disk(&dir, "media", "16m") else {
        return;
    };
    let source = seed_session(dir.path());
    let session = media.join("evidence.tideline");
    std::fs::copy(&source, &session).unwrap();
    mount(&["-o", "remount,ro"], &media);
    let before = listing(&media);
    let notes = TempDir::new().unwrap();

    let outputs = review_all(&session, notes.path(), false);
    assert_reviews_succeeded(&outputs);
    assert_eq!(listing(&media), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_recorder_is_refused_at_once_naming_the_process_and_a_kill_9_frees_the_session() {
    let dir = TempDir::new().unwrap();
    let sim = serve(StreamSource::Scenario(Scenario::Load), |config| {
        config.count = Some(3_000);
        config.size = 512;
        config.rate = Some(1_000.0);
    })
    .await;
    let session = dir.path().join("locked.tideline");
    let mut first = spawn_record(&sim.url(), &session);
    wait_until_stored(&session, 1).await;

    let started = Instant::now();
    let second = record(&sim.url(), &session, "1", &[]).await;
    assert!(!second.status.success(), "a second recorder was let in");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "not refused at once"
    );
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(
        said.contains(&format!("being recorded by process {}", first.id())),
        "{said}"
    );

    first.kill().unwrap(); // SIGKILL: the lock must go with the process
    first.wait().unwrap();
    assert_success(&record(&sim.url(), &session, "2", &[]).await);
    let manifest = sim.manifest();
    assert_eq!(manifest.valid.len(), 3_000, "the whole stream was read");
    assert_stored_exactly(&session, &manifest.valid);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_stops_recording_naming_it_and_the_session_resumes_once_space_is_freed() {
    let dir = TempDir::new().unwrap();
    let Some((disk, _mounted)) = small_disk(&dir, "disk", "4m") else {
        return;
    };
    let sim = serve(StreamSource::Scenario(Scenario::Load), |config| {
        config.count = Some(8_000);
        config.size = 1_024;
    })
    .await;
    let session = disk.join("full.tideline");

    let full = record(&sim.url(), &session, "2", &[]).await;
    assert!(
        !full.status.success(),
        "recording into a full disk succeeded"
    );
    let said = String::from_utf8_lossy(&full.stderr);
    assert!(said.contains("disk full"), "{said}");
    assert!(!said.contains("the session writer stopped"), "{said}");
    let stored_when_full = stored_count(&session);
    assert!(
        stored_when_full > 0,
        "nothing was stored before the disk filled"
    );

    mount(&["-o", "remount,size=256m"], &disk);
    let verify = cli()
        .args(["verify", "--session"])
        .arg(&session)
        .output()
        .unwrap();
    assert_success(&verify);
    assert_success(&record(&sim.url(), &session, "2", &[]).await);
    let manifest = sim.manifest();
    assert_eq!(manifest.valid.len(), 8_000, "the whole stream was read");
    assert_stored_exactly(&session, &manifest.valid);
    sim.shutdown().await;
}

#[test]
fn a_session_that_could_not_be_created_leaves_no_file_behind() {
    let dir = TempDir::new().unwrap();
    let Some((disk, _mounted)) = small_disk(&dir, "tiny", "8k") else {
        return;
    };
    let session = disk.join("new.tideline");
    let output = import_seed(&session);
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("disk full"), "{said}");
    let left: Vec<_> = std::fs::read_dir(&disk).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn piping_any_output_into_head_exits_quietly() {
    let dir = TempDir::new().unwrap();
    let events: Vec<String> = (0..4_000)
        .map(|n| {
            event(
                &format!("pipe-{n:05}"),
                "arn:aws:iam::1:user/a",
                "ua",
                1_024,
            )
        })
        .collect();
    let input = ndjson(&dir, "many.ndjson", &events);
    let session = dir.path().join("pipe.tideline");
    assert_success(
        &cli()
            .args(["import", "--session"])
            .arg(&session)
            .arg("--input")
            .arg(&input)
            .output()
            .unwrap(),
    );
    for command in [
        "info --json",
        "export --format ndjson --out -",
        "export --format csv --out -",
        "verify --json",
        "findings --json",
    ] {
        let script = format!(
            "set -o pipefail; \"$CLI\" {command} --session \"$SESSION\" | head -c 1 >/dev/null"
        );
        let output = Command::new("bash")
            .args(["-c", &script])
            .env("CLI", env!("CARGO_BIN_EXE_tideline-cli"))
            .env("SESSION", &session)
            .env("TIDELINE_NOTES_DIR", test_notes_dir())
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "`{command} | head`: {}\n{said}",
            output.status
        );
        assert!(said.trim().is_empty(), "`{command} | head` said: {said}");
    }
}

#[test]
fn an_export_is_never_written_over_the_session_itself() {
    let dir = TempDir::new().unwrap();
    let session = seed_session(dir.path());
    let before = std::fs::read(&session).unwrap();
    for target in [session.clone(), tideline_engine::store::lock_path(&session)] {
        std::fs::write(tideline_engine::store::lock_path(&session), b"").unwrap();
        let output = cli()
            .args(["export", "--format", "csv", "--session"])
            .arg(&session)
            .arg("--out")
            .arg(&target)
            .output()
            .unwrap();
        assert!(
            !output.status.success(),
            "exported over {}",
            target.display()
        );
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(said.contains("is the session itself"), "{said}");
    }
    assert_eq!(std::fs::read(&session).unwrap(), before);
}
