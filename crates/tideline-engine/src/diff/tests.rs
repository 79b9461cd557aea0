use std::collections::HashMap;
use std::path::PathBuf;

use serde_json_lenient::{Map, Value, json};

use super::canonical::canonical_compact;
use super::deep::{clone_flat, same};
use super::fields::MAX_DEPTH;
use super::*;

// ---- helpers ----

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// The events of an SSE capture by id: `data:` lines joined with `\n`, any line ending.
fn sse_events(text: &str) -> HashMap<String, Value> {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut events = HashMap::new();
    for frame in text.split("\n\n") {
        let data: Vec<&str> = frame
            .lines()
            .filter_map(|line| line.strip_prefix("data:"))
            .map(|data| data.strip_prefix(' ').unwrap_or(data))
            .collect();
        if data.is_empty() {
            continue;
        }
        let event = crate::json::parse(&data.join("\n")).expect("frame data is JSON");
        if let Some(id) = event["id"].as_str() {
            events.insert(id.to_owned(), event);
        }
    }
    events
}

fn short(value: Option<&Value>) -> String {
    value.map_or_else(|| "(none)".to_owned(), canonical_compact)
}

/// One line per change: `+ path = new`, `- path = old`, `~ path: old -> new`.
fn render(changes: &[FieldChange]) -> String {
    let lines: Vec<String> = changes
        .iter()
        .map(|change| match change.op {
            ChangeOp::Added => format!("+ {} = {}", change.path, short(change.new.as_ref())),
            ChangeOp::Removed => format!("- {} = {}", change.path, short(change.old.as_ref())),
            ChangeOp::Changed => format!(
                "~ {}: {} -> {}",
                change.path,
                short(change.old.as_ref()),
                short(change.new.as_ref())
            ),
        })
        .collect();
    lines.join("\n")
}

fn check(previous: Value, current: Value, expected: &str) {
    let expected: Vec<&str> = expected
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    let actual = render(&field_changes(&previous, &current));
    assert_eq!(
        actual,
        expected.join("\n"),
        "\nprevious: {previous}\ncurrent:  {current}"
    );
}

/// `-2 text` per side: the kind's mark, the line number, the line; blank when absent.
fn render_row(row: &SideBySideRow) -> String {
    let side = |kind: LineKind, no: Option<u32>, text: Option<&str>| {
        let mark = match kind {
            LineKind::Equal => ' ',
            LineKind::Added => '+',
            LineKind::Removed => '-',
        };
        match (no, text) {
            (Some(no), Some(text)) => format!("{mark}{no} {text}"),
            _ => format!("{mark}"),
        }
    };
    let left = side(row.left_kind, row.left_no, row.left.as_deref());
    let right = side(row.right_kind, row.right_no, row.right.as_deref());
    format!("{left:<12} | {right}")
}

fn nested(depth: usize, leaf: Value) -> Value {
    let mut value = leaf;
    for _ in 0..depth {
        let mut map = Map::new();
        map.insert("a".to_owned(), value);
        value = Value::Object(map);
    }
    value
}

/// serde_json drops recursively; take deep test values apart level by level instead.
fn drop_flat(value: Value) {
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(map) => stack.extend(map.into_iter().map(|(_, child)| child)),
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
}

fn added_range() -> Value {
    json!({"CidrIp": "203.0.113.66/32", "Description": "temp vendor access"})
}

const ADDED_RANGE_PATH: &str = "IpPermissions[0].IpRanges[CidrIp=203.0.113.66/32]";

// ---- the fixtures ----

#[test]
fn firewall_update_fixture_is_exactly_one_added_ip_range() {
    let event = crate::json::parse(&fixture("update.json")).unwrap();
    let diff = diff_configs(
        Some(&event["data"]["previous_config"]),
        Some(&event["data"]["config"]),
    );
    assert_eq!(
        diff.changes,
        vec![FieldChange {
            path: ADDED_RANGE_PATH.to_owned(),
            op: ChangeOp::Added,
            old: None,
            new: Some(added_range()),
        }]
    );
}

#[test]
fn seed_incident_revert_is_exactly_one_removed_ip_range() {
    let events = sse_events(&fixture("seed-incident.sse"));
    assert_eq!(events.len(), 11, "events in the capture");
    let opened = &events["01HX0000000000000000000007"]["data"];
    let reverted = &events["01HX0000000000000000000008"]["data"];
    let expected = vec![FieldChange {
        path: ADDED_RANGE_PATH.to_owned(),
        op: ChangeOp::Removed,
        old: Some(added_range()),
        new: None,
    }];
    // The revert as its own event tells it, and as seen across the two events.
    assert_eq!(
        field_changes(&reverted["previous_config"], &reverted["config"]),
        expected
    );
    assert_eq!(
        field_changes(&opened["config"], &reverted["config"]),
        expected
    );
    // The multi-line event parsed too: the access key delete.
    let deleted = &events["01HX0000000000000000000009"]["data"];
    let diff = diff_configs(deleted.get("previous_config"), deleted.get("config"));
    assert_eq!(render(&diff.changes).lines().count(), 1);
    assert!(render(&diff.changes).starts_with(r#"-  = {"AccessKeyId":"AKIA4EXAMPLEBKUP0001""#));
}

#[test]
fn unified_diff_marks_the_added_range_line() {
    let event = crate::json::parse(&fixture("update.json")).unwrap();
    let diff = diff_configs(
        Some(&event["data"]["previous_config"]),
        Some(&event["data"]["config"]),
    );
    assert!(
        diff.unified.starts_with("--- previous\n+++ current\n@@ "),
        "{}",
        diff.unified
    );
    let added: Vec<&str> = diff
        .unified
        .lines()
        .filter(|line| line.starts_with('+') && !line.starts_with("+++"))
        .collect();
    assert!(
        added
            .iter()
            .any(|line| line.contains("\"CidrIp\": \"203.0.113.66/32\"")),
        "{added:?}"
    );
    assert!(
        !diff.unified.contains("0.0.0.0/0"),
        "more than 3 lines of context:\n{}",
        diff.unified
    );
    let marked: Vec<&str> = diff
        .side_by_side
        .iter()
        .filter(|row| row.right_kind == LineKind::Added)
        .filter_map(|row| row.right.as_deref())
        .collect();
    assert!(
        marked.iter().any(|line| line.contains("203.0.113.66/32")),
        "{marked:?}"
    );
}

// ---- structural rules, data-driven ----

#[test]
fn changed_scalar_is_one_changed_with_both_values() {
    check(
        json!({"Description": "a", "GroupId": "sg-1"}),
        json!({"Description": "b", "GroupId": "sg-1"}),
        r#"~ Description: "a" -> "b""#,
    );
    check(json!({"a": null}), json!({"a": 0}), "~ a: null -> 0");
    check(json!(1), json!(2), "~ : 1 -> 2");
    check(json!({"a": 1.5}), json!({"a": 1.5}), "");
}

#[test]
fn type_change_is_one_changed_not_a_walk_into_the_new_object() {
    check(
        json!({"Policy": "{\"Version\":\"2012-10-17\"}"}),
        json!({"Policy": {"Version": "2012-10-17"}}),
        r#"~ Policy: "{\"Version\":\"2012-10-17\"}" -> {"Version":"2012-10-17"}"#,
    );
    check(
        json!({"Ports": [80]}),
        json!({"Ports": {"0": 80}}),
        r#"~ Ports: [80] -> {"0":80}"#,
    );
}

#[test]
fn keys_only_on_one_side_are_added_or_removed_in_sorted_order() {
    check(
        json!({"b": {"x": 1, "y": 2}, "a": 1}),
        json!({"c": true, "b": {"z": null, "x": 1}}),
        "- a = 1
         - b.y = 2
         + b.z = null
         + c = true",
    );
}

#[test]
fn keys_that_are_not_plain_identifiers_are_quoted() {
    check(
        json!({"9lives": 1, "a.b": 1, "br[0]": 1, "new\nline": 1, "ok_key-2": {"x y": 1}, "q\"uote": 1, "": 1}),
        json!({"9lives": 2, "a.b": 2, "br[0]": 2, "new\nline": 2, "ok_key-2": {"x y": 2}, "q\"uote": 2, "": 2}),
        r#"~ [""]: 1 -> 2
           ~ ["9lives"]: 1 -> 2
           ~ ["a.b"]: 1 -> 2
           ~ ["br[0]"]: 1 -> 2
           ~ ["new\nline"]: 1 -> 2
           ~ ok_key-2["x y"]: 1 -> 2
           ~ ["q\"uote"]: 1 -> 2"#,
    );
}

#[test]
fn keyed_array_elements_are_matched_by_identifying_field() {
    check(
        json!({"Tags": [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "a"}]}),
        json!({"Tags": [{"Key": "team", "Value": "b"}, {"Key": "owner", "Value": "x"}]}),
        r#"~ Tags[Key=team].Value: "a" -> "b"
           + Tags[Key=owner] = {"Key":"owner","Value":"x"}
           - Tags[Key=env] = {"Key":"env","Value":"prod"}"#,
    );
    // Numbers identify too; GroupId is preferred over Name.
    check(
        json!({"Items": [{"Id": 1, "v": "a"}, {"Id": 2, "v": "b"}]}),
        json!({"Items": [{"Id": 2, "v": "c"}, {"Id": 1, "v": "a"}]}),
        r#"~ Items[Id=2].v: "b" -> "c""#,
    );
    check(
        json!({"Groups": [{"GroupId": "sg-1", "Name": "same"}, {"GroupId": "sg-2", "Name": "same"}]}),
        json!({"Groups": [{"GroupId": "sg-2", "Name": "same"}]}),
        r#"- Groups[GroupId=sg-1] = {"GroupId":"sg-1","Name":"same"}"#,
    );
    // An id that could be misread is quoted.
    check(
        json!({"Tags": []}),
        json!({"Tags": [{"Key": "a]b", "Value": ""}]}),
        r#"+ Tags[Key="a]b"] = {"Key":"a]b","Value":""}"#,
    );
}

#[test]
fn one_added_rule_in_a_reordered_keyed_array_is_one_added() {
    let ranges: Vec<Value> = (0..40)
        .map(|i| json!({"CidrIp": format!("10.0.{i}.0/24"), "Description": format!("office {i}")}))
        .collect();
    let mut reordered: Vec<Value> = ranges.iter().rev().cloned().collect();
    reordered.insert(17, json!({"CidrIp": "0.0.0.0/0"}));
    check(
        json!({"IpPermissions": [{"FromPort": 22, "IpRanges": ranges}]}),
        json!({"IpPermissions": [{"FromPort": 22, "IpRanges": reordered}]}),
        r#"+ IpPermissions[0].IpRanges[CidrIp=0.0.0.0/0] = {"CidrIp":"0.0.0.0/0"}"#,
    );
}

#[test]
fn arrays_without_a_usable_key_are_aligned_by_content() {
    check(
        json!({"Ports": [22, 80, 443]}),
        json!({"Ports": [22, 80, 8080, 443]}),
        "+ Ports[2] = 8080",
    );
    // Removed elements are named by their index in the previous array.
    check(
        json!({"Ports": [1, 2, 3, 4]}),
        json!({"Ports": [1, 3, 4]}),
        "- Ports[1] = 2",
    );
    check(json!(["a", "b"]), json!(["a", "c"]), r#"~ [1]: "b" -> "c""#);
    // A replaced run is paired index by index and walked into; the extra is added.
    check(
        json!({"Rules": [{"p": "tcp", "port": 22}, {"p": "tcp", "port": 443}]}),
        json!({"Rules": [{"p": "tcp", "port": 22}, {"p": "udp", "port": 443}, {"p": "udp", "port": 53}]}),
        r#"~ Rules[1].p: "tcp" -> "udp"
           + Rules[2] = {"p":"udp","port":53}"#,
    );
    // A repeated id disqualifies the field.
    check(
        json!({"Tags": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]}),
        json!({"Tags": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "3"}]}),
        r#"~ Tags[1].Value: "2" -> "3""#,
    );
    // So does an element lacking it.
    check(
        json!({"Tags": [{"Key": "a"}, {"Value": "x"}]}),
        json!({"Tags": [{"Value": "x"}]}),
        r#"- Tags[0] = {"Key":"a"}"#,
    );
}

// ---- diff_configs ----

#[test]
fn create_delete_and_nothing_at_all() {
    let config = json!({"UserName": "svc-backup-tmp", "Tags": []});

    let created = diff_configs(None, Some(&config));
    assert_eq!(
        render(&created.changes),
        r#"+  = {"Tags":[],"UserName":"svc-backup-tmp"}"#
    );
    assert!(
        created
            .unified
            .starts_with("--- previous\n+++ current\n@@ -0,0 +1,4 @@\n+{\n"),
        "{}",
        created.unified
    );
    assert_eq!(created.side_by_side.len(), 4);
    assert!(
        created
            .side_by_side
            .iter()
            .all(|row| row.left.is_none() && row.right_kind == LineKind::Added)
    );

    let deleted = diff_configs(Some(&config), None);
    assert_eq!(
        render(&deleted.changes),
        r#"-  = {"Tags":[],"UserName":"svc-backup-tmp"}"#
    );
    assert!(
        deleted.unified.contains("@@ -1,4 +0,0 @@\n-{\n"),
        "{}",
        deleted.unified
    );
    assert!(
        deleted
            .side_by_side
            .iter()
            .all(|row| row.right.is_none() && row.left_kind == LineKind::Removed)
    );

    // JSON null, as the wire sends on create and delete, is the same as missing.
    assert_eq!(diff_configs(Some(&Value::Null), Some(&config)), created);
    let nothing = ConfigDiff {
        changes: vec![],
        unified: String::new(),
        side_by_side: vec![],
        side_by_side_folds: vec![],
    };
    assert_eq!(diff_configs(None, None), nothing);
    assert_eq!(diff_configs(Some(&Value::Null), None), nothing);
}

#[test]
fn equal_configs_have_no_changes_and_only_equal_rows() {
    let event = crate::json::parse(&fixture("update.json")).unwrap();
    let config = &event["data"]["config"];
    let diff = diff_configs(Some(config), Some(&config.clone()));
    assert_eq!(diff.changes, vec![]);
    assert_eq!(diff.unified, "");
    assert_eq!(
        diff.side_by_side.len(),
        canonical_pretty(config).lines().count()
    );
    assert!(diff.side_by_side.iter().all(|row| {
        row.left_kind == LineKind::Equal
            && row.right_kind == LineKind::Equal
            && row.left == row.right
            && row.left_no == row.right_no
    }));
}

#[test]
fn side_by_side_pairs_replaced_lines_and_numbers_from_one() {
    let diff = diff_configs(
        Some(&json!({"a": 1, "b": 2, "c": 3})),
        Some(&json!({"a": 1, "b": 20, "c": 3})),
    );
    let row = &diff.side_by_side[2];
    assert_eq!(
        row,
        &SideBySideRow {
            left_no: Some(3),
            left: Some("  \"b\": 2,".to_owned()),
            right_no: Some(3),
            right: Some("  \"b\": 20,".to_owned()),
            left_kind: LineKind::Removed,
            right_kind: LineKind::Added,
        }
    );
    assert_eq!(diff.side_by_side.len(), 5);

    // The longer side of a replaced run continues alone.
    let diff = diff_configs(Some(&json!({"a": 1})), Some(&json!({"a": 1, "b": 2})));
    let rows: Vec<String> = diff.side_by_side.iter().map(render_row).collect();
    assert_eq!(
        rows,
        [
            r#" 1 {         |  1 {"#,
            r#"-2   "a": 1  | +2   "a": 1,"#,
            r#"             | +3   "b": 2"#,
            r#" 3 }         |  4 }"#,
        ]
    );
}

#[test]
fn side_by_side_shows_every_line_once_in_order() {
    let events = sse_events(&fixture("seed-incident.sse"));
    for (id, event) in &events {
        let (previous, current) = (&event["data"]["previous_config"], &event["data"]["config"]);
        let diff = diff_configs(Some(previous), Some(current));
        let left: Vec<u32> = diff
            .side_by_side
            .iter()
            .filter_map(|row| row.left_no)
            .collect();
        let right: Vec<u32> = diff
            .side_by_side
            .iter()
            .filter_map(|row| row.right_no)
            .collect();
        let lines = |value: &Value| {
            if value.is_null() {
                0
            } else {
                canonical_pretty(value).lines().count() as u32
            }
        };
        assert_eq!(left, (1..=lines(previous)).collect::<Vec<_>>(), "{id}");
        assert_eq!(right, (1..=lines(current)).collect::<Vec<_>>(), "{id}");
    }
}

#[test]
fn changes_serialize_with_snake_case_ops() {
    let change = FieldChange {
        path: "a".to_owned(),
        op: ChangeOp::Added,
        old: None,
        new: Some(json!(1)),
    };
    assert_eq!(
        serde_json::to_value(&change).unwrap(),
        serde_json::json!({"path": "a", "op": "added", "old": null, "new": 1})
    );
    assert_eq!(
        serde_json::to_value(LineKind::Removed).unwrap(),
        serde_json::json!("removed")
    );
}

// ---- canonical_pretty ----

#[test]
fn canonical_pretty_sorts_nested_keys() {
    let value =
        json!({"b": {"z": 1, "a": [{"y": true, "x": null}, "s\n"]}, "a": -1.5, "e": {}, "d": []});
    let expected = r#"{
  "a": -1.5,
  "b": {
    "a": [
      {
        "x": null,
        "y": true
      },
      "s\n"
    ],
    "z": 1
  },
  "d": [],
  "e": {}
}
"#;
    assert_eq!(canonical_pretty(&value), expected);
    assert_eq!(
        canonical_compact(&value),
        r#"{"a":-1.5,"b":{"a":[{"x":null,"y":true},"s\n"],"z":1},"d":[],"e":{}}"#
    );
    assert_eq!(canonical_pretty(&json!("x")), "\"x\"\n");
}

#[test]
fn canonical_pretty_round_trips_the_fixture() {
    let event = crate::json::parse(&fixture("update.json")).unwrap();
    let text = canonical_pretty(&event);
    assert_eq!(crate::json::parse(&text).unwrap(), event);
    assert!(text.ends_with("}\n") && !text.ends_with("\n\n"));
}

// ---- summarize ----

#[test]
fn summarize_formats_each_op_and_truncates() {
    let changes = vec![
        FieldChange {
            path: ADDED_RANGE_PATH.to_owned(),
            op: ChangeOp::Added,
            old: None,
            new: Some(added_range()),
        },
        FieldChange {
            path: "Description".to_owned(),
            op: ChangeOp::Changed,
            old: Some(json!("a")),
            new: Some(json!("b")),
        },
        FieldChange {
            path: "Tags[Key=env]".to_owned(),
            op: ChangeOp::Removed,
            old: Some(json!({"Key": "env", "Value": "prod"})),
            new: None,
        },
        FieldChange {
            path: "DisableApiTermination".to_owned(),
            op: ChangeOp::Added,
            old: None,
            new: Some(json!(true)),
        },
    ];
    assert_eq!(
        summarize(&changes[..3], 10),
        r#"added IpPermissions[0].IpRanges[CidrIp=203.0.113.66/32]; changed Description: "a" → "b"; removed Tags[Key=env]"#
    );
    assert_eq!(
        summarize(&changes, 2),
        r#"added IpPermissions[0].IpRanges[CidrIp=203.0.113.66/32]; changed Description: "a" → "b"; … (+2 more)"#
    );
    assert_eq!(
        summarize(&changes[3..], 1),
        "added DisableApiTermination: true"
    );
    assert_eq!(summarize(&changes, 0), "… (+4 more)");
    assert_eq!(summarize(&[], 5), "");
    assert_eq!(
        summarize(&diff_configs(None, Some(&json!({"a": 1}))).changes, 5),
        "added (root)"
    );
}

#[test]
fn summarize_shortens_values_and_never_breaks_a_line() {
    let long = "x".repeat(500);
    let changes = field_changes(
        &json!({"note": "a\r\nb", "long": "short", "k\u{2028}ey\u{85}": 1, "bidi": "\u{202E}gnp.exe"}),
        &json!({"note": "c\nd", "long": long, "k\u{2028}ey\u{85}": 2, "bidi": "x"}),
    );
    let summary = summarize(&changes, 10);
    assert!(
        !summary
            .chars()
            .any(|c| c.is_control() || c == '\u{2028}' || c == '\u{202E}'),
        "{summary:?}"
    );
    assert!(
        summary.contains(r#"changed note: "a\r\nb" → "c\nd""#),
        "{summary}"
    );
    let long_entry = summary
        .split("; ")
        .find(|entry| entry.starts_with("changed long"))
        .unwrap();
    assert!(
        long_entry.chars().count() < 90 && long_entry.ends_with('…'),
        "{long_entry}"
    );
}

// ---- hostile input ----

#[test]
fn deep_nesting_is_cut_at_the_depth_cap_without_overflowing_the_stack() {
    // Far deeper than serde_json parses (128), and run on a small stack so that an uncapped
    // walk would overflow.
    let worker = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let depth = 4000;
            let (previous, current) = (nested(depth, json!(1)), nested(depth, json!(2)));
            let changes = field_changes(&previous, &current);
            let text = canonical_pretty(&current);
            drop_flat(previous);
            drop_flat(current);
            let summary = summarize(&changes, 3);
            let rendered: Vec<(String, ChangeOp)> =
                changes.iter().map(|c| (c.path.clone(), c.op)).collect();
            changes
                .into_iter()
                .flat_map(|c| [c.old, c.new])
                .flatten()
                .for_each(drop_flat);
            (rendered, text.lines().count(), summary)
        });
    let (changes, lines, summary) = worker.unwrap().join().expect("no stack overflow");
    assert_eq!(
        changes,
        vec![(vec!["a"; MAX_DEPTH].join("."), ChangeOp::Changed)]
    );
    assert_eq!(lines, 2 * 4000 + 1);
    assert!(summary.starts_with("changed a.a.a."), "{summary}");
}

#[test]
fn huge_arrays_are_diffed_within_similars_deadline() {
    let long: Vec<Value> = (0..20_000).map(|i| json!(format!("item-{i}"))).collect();
    let mut inserted = long.clone();
    inserted.insert(10_000, json!("new"));
    check(json!(long), json!(inserted), r#"+ [10000] = "new""#);

    // Nothing in common: the worst case for Myers, bounded by the deadline.
    let other: Vec<Value> = (0..20_000).map(|i| json!(format!("other-{i}"))).collect();
    assert_eq!(field_changes(&json!(long), &json!(other)).len(), 20_000);

    // Alternating runs, to trip any quadratic clean-up.
    let zigzag: Vec<Value> = (0..20_000).map(|i| json!(i % 2)).collect();
    let zagzig: Vec<Value> = (0..20_000).map(|i| json!((i / 3) % 2)).collect();
    field_changes(&json!(zigzag), &json!(zagzig));
    let text_diff = diff_configs(Some(&json!(long)), Some(&json!(other)));
    assert_eq!(text_diff.side_by_side.len(), 20_002);
}

#[test]
fn flat_equality_and_copy_agree_with_serde_json() {
    let event = crate::json::parse(&fixture("update.json")).unwrap();
    let values = [
        event.clone(),
        event["data"]["config"].clone(),
        event["data"]["previous_config"].clone(),
        json!(null),
        json!({}),
        json!([]),
        json!({"a": null}),
        json!({"b": 1}),
        json!({"a": [1, {"b": []}]}),
        json!({"a": [1, {"b": [null]}]}),
        json!([1, 2]),
        json!([2, 1]),
        json!(1),
        json!(1.0),
        json!("1"),
    ];
    for a in &values {
        assert_eq!(&clone_flat(a), a);
        for b in &values {
            assert_eq!(same(a, b), a == b, "{a} vs {b}");
        }
    }
}

// ---- the one JSON policy (crate::json) ----

fn parsed(text: &str) -> Value {
    crate::json::parse(text).unwrap()
}

#[test]
fn an_integer_above_2_pow_64_that_changes_is_a_change() {
    let previous = parsed(r#"{"Quota": 18446744073709551617}"#);
    let current = parsed(r#"{"Quota": 18446744073709551618}"#);
    check(
        previous.clone(),
        current.clone(),
        "~ Quota: 18446744073709551617 -> 18446744073709551618",
    );
    let diff = diff_configs(Some(&previous), Some(&current));
    assert!(
        diff.unified.contains("-  \"Quota\": 18446744073709551617")
            && diff.unified.contains("+  \"Quota\": 18446744073709551618"),
        "{}",
        diff.unified
    );
}

#[test]
fn numbers_compare_and_print_by_their_exact_text() {
    check(
        parsed(r#"{"a": 1}"#),
        parsed(r#"{"a": 1.0}"#),
        "~ a: 1 -> 1.0",
    );
    check(parsed(r#"{"a": 1e2}"#), parsed(r#"{"a": 1e2}"#), "");
    assert_eq!(
        canonical_compact(&parsed("[0.1000000000000000000000001, 1E+2]")),
        "[0.1000000000000000000000001,1E+2]"
    );
}

#[test]
fn duplicate_keys_last_wins_in_the_diff() {
    let previous = parsed(r#"{"Port": 22}"#);
    let current = parsed(r#"{"Port": 22, "Port": 443}"#);
    check(previous, current, "~ Port: 22 -> 443");
}

#[test]
fn field_changes_serialize_numbers_exactly() {
    let change = FieldChange {
        path: "Quota".to_owned(),
        op: ChangeOp::Changed,
        old: Some(parsed("18446744073709551617")),
        new: Some(parsed(r#"{"b": 1.0, "a": "x"}"#)),
    };
    assert_eq!(
        serde_json::to_string(&change).unwrap(),
        r#"{"path":"Quota","op":"changed","old":18446744073709551617,"new":{"a":"x","b":1.0}}"#
    );
}

#[test]
fn unchanged_runs_beyond_three_lines_of_context_fold_and_nothing_else_does() {
    // 30 keys, the 15th changed: rows 0..=30 (brace lines included); the change at row 15.
    let mut before = Map::new();
    for n in 0..30 {
        before.insert(format!("k{n:02}"), json!(n));
    }
    let mut after = before.clone();
    after.insert("k14".into(), json!("changed"));
    let (before, after) = (Value::Object(before), Value::Object(after));
    let diff = diff_configs(Some(&before), Some(&after));
    let changed: Vec<usize> = diff
        .side_by_side
        .iter()
        .enumerate()
        .filter(|(_, row)| row.left_kind != LineKind::Equal || row.right_kind != LineKind::Equal)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(changed, vec![15]);
    // Before it: rows 0..12 fold (12, 13, 14 are context); after it: 16, 17, 18 are context.
    assert_eq!(
        diff.side_by_side_folds,
        vec![
            Fold { start: 0, rows: 12 },
            Fold {
                start: 19,
                rows: diff.side_by_side.len() as u32 - 19
            },
        ]
    );
    // Nothing changed, or a create (all added): nothing to fold.
    assert!(
        diff_configs(Some(&before), Some(&before))
            .side_by_side_folds
            .is_empty()
    );
    assert!(
        diff_configs(None, Some(&before))
            .side_by_side_folds
            .is_empty()
    );
}
