//! interop: the exports for a data lake (OCSF JSON, OCSF Parquet) and for Timesketch, read by
//! the receiving projects' own readers — Apache Spark (pyspark, local mode), DuckDB, the OCSF
//! 1.1.0 schema (JSON Schema generated from the official repository) and Timesketch's own
//! import code — through the checks in `tests/interop/`, run in the Python environment that
//! `scripts/install-interop` makes (`make test` runs it). And OCSF JSON read back by `import`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{Duration, TimeZone, Utc};
use tempfile::TempDir;
use tideline_engine::json::{self, Value};
use tideline_engine::store::Session;

use crate::{cli, fixture};

/// The interop environment's Python: `TIDELINE_INTEROP_PYTHON`, else the venv
/// `scripts/install-interop` makes in `target/interop-venv`.
fn python() -> PathBuf {
    let python = std::env::var_os("TIDELINE_INTEROP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/interop-venv/bin/python"));
    assert!(
        python.exists(),
        "{} is missing: run scripts/install-interop (make test does)",
        python.display()
    );
    python
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `tests/interop/SCRIPT ARGS` and asserts it passed; returns what it printed.
fn check(script: &str, args: &[&Path]) -> String {
    let output = Command::new(python())
        .arg(repo().join("tests/interop").join(script))
        .args(args)
        .output()
        .expect("run the interop check");
    let printed = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{script} failed:\n{printed}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    printed
}

/// Runs `tideline-cli ARGS PATHS…` and asserts it succeeded; returns its standard output.
fn run(args: &[&str], paths: &[&Path]) -> Vec<u8> {
    let output = cli()
        .args(args)
        .args(paths)
        .output()
        .expect("run tideline-cli");
    assert!(
        output.status.success(),
        "tideline-cli {args:?} {paths:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

fn export(session: &Path, format: &str, out: &Path) {
    run(
        &["export", "--format", format, "--session"],
        &[session, Path::new("--out"), out],
    );
}

/// `info --json` of `session`, written beside it for the checks.
fn info(session: &Path) -> PathBuf {
    let path = session.with_extension("info.json");
    std::fs::write(&path, run(&["info", "--json", "--session"], &[session])).unwrap();
    path
}

/// Each exported OCSF event's `raw_data` (its exact text) and Tideline's event (parsed under the
/// one JSON policy: what it means, whatever its key order) by (source, id): `metadata`'s
/// `log_provider` and `uid`.
fn ocsf_by_id(path: &Path) -> BTreeMap<(String, String), (Option<String>, Value)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| {
            let event = json::parse(line).unwrap();
            let kept = event["unmapped"]["tideline_event"].as_str().unwrap();
            (
                (
                    event["metadata"]["log_provider"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                    event["metadata"]["uid"].as_str().unwrap().to_owned(),
                ),
                (
                    event["raw_data"].as_str().map(str::to_owned),
                    json::parse(kept).unwrap(),
                ),
            )
        })
        .collect()
}

#[test]
fn the_demo_exports_pass_spark_duckdb_the_ocsf_schema_and_timesketchs_importer_and_read_back() {
    let dir = TempDir::new().unwrap();
    let session = dir.path().join("demo.tideline");
    for input in ["seed-incident.sse", "auditlog/cloudtrail/seed-story"] {
        run(
            &["import", "--input"],
            &[&fixture(input), Path::new("--session"), &session],
        );
    }
    run(&["findings", "--session"], &[&session]);
    // The analyst's notes travel: a star, a tag and a comment on the firewall change.
    let firewall = {
        let opened = Session::open(&session).unwrap();
        let mut firewall = None;
        opened
            .for_each_event(None, |event| {
                if event.action.as_deref() == Some("AuthorizeSecurityGroupIngress")
                    && firewall.is_none()
                {
                    firewall = Some((event.seq, event.event_id));
                }
                Ok::<(), tideline_engine::store::StoreError>(())
            })
            .unwrap();
        let (seq, id) = firewall.expect("the demo has the firewall change");
        opened.set_starred(seq, true, Utc::now()).unwrap();
        opened.add_tag(seq, "vendor-access").unwrap();
        opened
            .add_comment(seq, "who approved this?", Utc::now())
            .unwrap();
        id
    };

    let ocsf = dir.path().join("demo.ocsf.json");
    export(&session, "ocsf-json", &ocsf);
    let said = check("check_ocsf.py", &[&ocsf]);
    assert!(said.contains("valid against OCSF 1.1.0"), "{said}");

    let lake = dir.path().join("lake");
    export(&session, "ocsf-parquet", &lake);
    let expected = info(&session);
    for engine in ["duckdb", "spark"] {
        let said = check(
            "check_parquet.py",
            &[Path::new("--engine"), Path::new(engine), &lake, &expected],
        );
        assert!(
            said.contains("match (by_change, by_account, by_date)"),
            "{said}"
        );
    }

    let jsonl = dir.path().join("demo.timesketch.jsonl");
    export(&session, "timesketch-jsonl", &jsonl);
    let csv = dir.path().join("demo.timesketch.csv");
    export(&session, "timesketch", &csv);
    for file in [&jsonl, &csv] {
        let said = check("check_timesketch.py", &[file]);
        assert!(
            said.contains("server:") && said.contains("accepted"),
            "{said}"
        );
    }
    // The analyst's notes are Timesketch tags (and comments) on the firewall change's row;
    // each finding is a `finding:<rule id>` tag on its events.
    let rows: Vec<Value> = std::fs::read_to_string(&jsonl)
        .unwrap()
        .lines()
        .map(|line| json::parse(line).unwrap())
        .collect();
    let tags_of = |row: &Value| -> Vec<String> {
        row["tag"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|tag| tag.as_str().map(str::to_owned))
            .collect()
    };
    let row = rows
        .iter()
        .find(|row| row["event_id"] == firewall.as_str())
        .unwrap();
    let tags = tags_of(row);
    assert!(
        tags.contains(&"starred".into()) && tags.contains(&"vendor-access".into()),
        "{tags:?}"
    );
    assert_eq!(row["comments"][0], "who approved this?");
    let finding_tags: Vec<String> = rows
        .iter()
        .flat_map(tags_of)
        .filter(|tag| tag.starts_with("finding:"))
        .collect();
    for rule in ["finding:reverted_change", "finding:short_lived_asset"] {
        assert!(
            finding_tags.iter().any(|tag| tag == rule),
            "{rule} in {finding_tags:?}"
        );
    }

    // Tideline's own OCSF reads back into the same events: same ids, records byte for byte.
    let again = dir.path().join("again.tideline");
    run(
        &["import", "--input"],
        &[&ocsf, Path::new("--session"), &again],
    );
    let again_ocsf = dir.path().join("again.ocsf.json");
    export(&again, "ocsf-json", &again_ocsf);
    let (before, after) = (ocsf_by_id(&ocsf), ocsf_by_id(&again_ocsf));
    assert_eq!(before.len(), 92);
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    for (id, (raw, unmapped)) in &before {
        let (raw_after, unmapped_after) = &after[id];
        assert_eq!(raw, raw_after, "{id:?}");
        assert_eq!(unmapped, unmapped_after, "{id:?}");
    }
}

/// A session of `count` contract events from the fixtures' three kinds: three accounts (one
/// with leading zeros, which a partition value must keep), 30 days.
fn generated_session(dir: &Path, count: u64) -> PathBuf {
    let templates: Vec<Value> = ["create.json", "update.json", "delete.json"]
        .iter()
        .map(|name| json::parse(&std::fs::read_to_string(fixture(name)).unwrap()).unwrap())
        .collect();
    let accounts = ["123456789012", "210987654321", "000011112222"];
    let start = Utc.with_ymd_and_hms(2024, 6, 1, 0, 0, 0).unwrap();
    let input = dir.join("generated.ndjson");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
    for i in 0..count {
        let mut event = templates[[0, 1, 1, 2][(i % 4) as usize]].clone();
        event["id"] = Value::from(format!("gen-{i:08}"));
        let at = start + Duration::seconds((i * 30 * 86_400 / count) as i64);
        event["time"] = Value::from(at.to_rfc3339());
        event["data"]["asset"]["account"] = Value::from(accounts[(i % 3) as usize]);
        writeln!(out, "{event}").unwrap();
    }
    out.flush().unwrap();
    drop(out);
    let session = dir.join("generated.tideline");
    run(
        &["import", "--input"],
        &[&input, Path::new("--session"), &session],
    );
    std::fs::remove_file(&input).unwrap();
    session
}

#[test]
fn a_generated_100000_event_session_reads_in_spark_and_duckdb_with_the_sessions_counts() {
    let dir = TempDir::new().unwrap();
    let session = generated_session(dir.path(), 100_000);
    let lake = dir.path().join("lake");
    export(&session, "ocsf-parquet", &lake);
    let expected = info(&session);
    let counts: Value = json::parse(&std::fs::read_to_string(&expected).unwrap()).unwrap();
    assert_eq!(counts["events"], 100_000);
    assert_eq!(counts["by_account"]["000011112222"], 33_333);
    assert_eq!(counts["by_date"].as_object().unwrap().len(), 30);
    for engine in ["duckdb", "spark"] {
        let said = check(
            "check_parquet.py",
            &[Path::new("--engine"), Path::new(engine), &lake, &expected],
        );
        assert!(said.contains("100000 rows"), "{said}");
    }
}

#[test]
fn hostile_events_export_as_valid_ocsf_and_read_back_whole() {
    let dir = TempDir::new().unwrap();
    // One id from two sources: two events (CloudEvents identity is source + id).
    let update = std::fs::read_to_string(fixture("update.json")).unwrap();
    let one_line = json::parse(&update).unwrap().to_string();
    let two_sources = dir.path().join("two-sources.ndjson");
    std::fs::write(
        &two_sources,
        format!(
            "{one_line}\n{}\n",
            one_line.replace(
                "/cloudAccounts/01HQ7M2W4K9D8E5R3T1Y6U0P2A",
                "/cloudAccounts/OTHER"
            )
        ),
    )
    .unwrap();
    // A name written twice, a lone surrogate hiding a diff, addresses in every form; each in a
    // session of its own, so no case hides another as a duplicate.
    for (name, input, events) in [
        (
            "duplicate-names",
            fixture("cases/10-duplicate-keys.ndjson"),
            2,
        ),
        (
            "surrogate",
            fixture("cases/09b-surrogate-in-ua-hides-diff.ndjson"),
            1,
        ),
        ("source-ips", fixture("cases/14-source-ip-forms.ndjson"), 7),
        ("two-sources", two_sources.clone(), 2),
    ] {
        let session = dir.path().join(format!("{name}.tideline"));
        run(
            &["import", "--input"],
            &[&input, Path::new("--session"), &session],
        );
        let expected = info(&session);
        let counts = json::parse(&std::fs::read_to_string(&expected).unwrap()).unwrap();
        assert_eq!(counts["events"], events, "{name}");
        let ocsf = dir.path().join(format!("{name}.ocsf.json"));
        export(&session, "ocsf-json", &ocsf);
        let said = check("check_ocsf.py", &[&ocsf]);
        assert!(
            said.contains(&format!("{events} events valid")),
            "{name}: {said}"
        );
        let lake = dir.path().join(format!("{name}-lake"));
        export(&session, "ocsf-parquet", &lake);
        check(
            "check_parquet.py",
            &[Path::new("--engine"), Path::new("duckdb"), &lake, &expected],
        );
        let again = dir.path().join(format!("{name}-again.tideline"));
        run(
            &["import", "--input"],
            &[&ocsf, Path::new("--session"), &again],
        );
        let again_ocsf = dir.path().join(format!("{name}-again.ocsf.json"));
        export(&again, "ocsf-json", &again_ocsf);
        let before = ocsf_by_id(&ocsf);
        assert_eq!(before.len(), events as usize, "{name}");
        assert_eq!(before, ocsf_by_id(&again_ocsf), "{name}");
    }
    // The surrogate's event keeps its hidden change: the added /32.
    let surrogate = std::fs::read_to_string(dir.path().join("surrogate.ocsf.json")).unwrap();
    assert!(surrogate.contains("203.0.113.66/32"), "{surrogate}");
}
