//! Checks that the seed-incident background keeps every promise the detection rules
//! rely on (see the module docs), for several seeds.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Datelike, Duration, Timelike, Utc, Weekday};
use serde_json::Value;

use super::{CAPTURE, events};
use crate::replay;

struct Row {
    id: String,
    source: String,
    kind: String,
    time: DateTime<Utc>,
    asset: String,
    account: String,
    region: String,
    principal: String,
    ip: String,
    method: String,
    config: Value,
    previous: Value,
    captured: bool,
}

fn rows(seed: u64) -> Vec<Row> {
    events(seed)
        .iter()
        .map(|e| {
            let v: Value = serde_json::from_str(&e.json).expect("valid JSON");
            let d = &v["data"];
            let text = |x: &Value| x.as_str().unwrap_or_default().to_owned();
            Row {
                id: text(&v["id"]),
                source: text(&v["source"]),
                kind: text(&v["type"]),
                time: e.time.expect("time"),
                asset: text(&d["asset"]["name"]),
                account: text(&d["asset"]["account"]),
                region: text(&d["asset"]["region"]),
                principal: text(&d["attribution"]["principal"]),
                ip: text(&d["attribution"]["source_ip"]),
                method: text(&d["attribution"]["method"]),
                config: d["config"].clone(),
                previous: d["previous_config"].clone(),
                captured: text(&v["id"]).starts_with("01HX"),
            }
        })
        .collect()
}

fn background(rows: &[Row]) -> impl Iterator<Item = &Row> {
    rows.iter().filter(|r| !r.captured)
}

/// Principals are compared by identity: Terraform's session names change per run.
fn who(row: &Row) -> String {
    match row.principal.split_once(":assumed-role/terraform-ci/") {
        Some((account, _)) => format!("{account}:terraform-ci"),
        None => row.principal.clone(),
    }
}

#[test]
fn contains_the_captured_events_verbatim_in_order_among_150_to_400() {
    let all = events(1);
    assert!((150..=400).contains(&all.len()), "{} events", all.len());
    let captured: Vec<String> = replay::from_sse(CAPTURE)
        .into_iter()
        .map(|e| e.json)
        .collect();
    let found: Vec<String> = all
        .iter()
        .filter(|e| e.sse_id.starts_with("01HX"))
        .map(|e| e.json.clone())
        .collect();
    assert_eq!(found, captured);
    assert!(
        all.windows(2).all(|w| w[0].time <= w[1].time),
        "ordered by time"
    );
}

#[test]
fn is_the_same_for_the_same_seed_and_differs_for_another() {
    let json = |seed| events(seed).into_iter().map(|e| e.json).collect::<Vec<_>>();
    assert_eq!(json(1), json(1));
    assert_ne!(json(1), json(2));
}

#[test]
fn background_ids_are_unique_prefixed_and_sources_match_accounts() {
    for seed in [1, 2, 3] {
        let rows = rows(seed);
        let mut ids = HashSet::new();
        let mut sources: HashMap<&str, &str> = HashMap::new();
        for r in background(&rows) {
            assert!(r.id.starts_with("01HY") && r.id.len() == 26, "{}", r.id);
            assert!(ids.insert(r.id.clone()), "duplicate id {}", r.id);
            assert_eq!(
                *sources.entry(&r.account).or_insert(&r.source),
                r.source.as_str()
            );
        }
        assert_eq!(sources.len(), 2, "two accounts");
        let values: HashSet<&&str> = sources.values().collect();
        assert_eq!(values.len(), 2, "each account has its own source");
    }
}

#[test]
fn background_covers_accounts_regions_and_the_week_on_weekday_hours_only() {
    for seed in [1, 2, 3] {
        let rows = rows(seed);
        let mut days = HashSet::new();
        let mut regions = HashSet::new();
        for r in background(&rows) {
            let weekday = r.time.weekday();
            assert!(
                !matches!(weekday, Weekday::Sat | Weekday::Sun),
                "{} on {weekday}",
                r.id
            );
            assert!((8..19).contains(&r.time.hour()), "{} at {}", r.id, r.time);
            days.insert(r.time.date_naive());
            regions.insert(r.region.clone());
        }
        assert_eq!(days.len(), 6, "Mon 04-29 .. Fri 05-03 and Mon 05-06");
        assert!(regions.contains("us-east-1") && regions.contains("eu-west-1"));
    }
}

#[test]
fn every_principal_keeps_one_address_and_jdoes_attack_address_is_new() {
    for seed in [1, 2, 3] {
        let rows = rows(seed);
        let mut ips: HashMap<String, HashSet<&str>> = HashMap::new();
        for r in background(&rows) {
            ips.entry(who(r)).or_default().insert(&r.ip);
        }
        for (principal, set) in &ips {
            assert_eq!(set.len(), 1, "{principal} uses {set:?}");
        }
        let jdoe: Vec<&Row> = background(&rows)
            .filter(|r| r.principal.ends_with(":user/jdoe"))
            .collect();
        assert!(jdoe.len() >= 3 && jdoe.iter().all(|r| r.ip == "192.0.2.77"));
        assert!(jdoe.iter().all(|r| {
            r.time
                < rows
                    .iter()
                    .find(|r| r.captured && r.ip == "198.51.100.23")
                    .unwrap()
                    .time
        }));
    }
}

#[test]
fn only_autoscaling_creates_and_deletes_within_a_day() {
    for seed in [1, 2, 3] {
        let rows = rows(seed);
        let mut created: HashMap<&str, &Row> = HashMap::new();
        for r in background(&rows) {
            match r.kind.as_str() {
                "com.opshelm.asset.create" => {
                    created.insert(&r.asset, r);
                }
                "com.opshelm.asset.delete" => {
                    if let Some(c) = created.get(r.asset.as_str()) {
                        let quick = r.time - c.time < Duration::hours(24);
                        let provider = r.principal == "autoscaling.amazonaws.com"
                            && c.principal == r.principal;
                        assert!(
                            !quick || provider,
                            "{} created and deleted within a day",
                            r.asset
                        );
                    }
                }
                _ => {}
            }
        }
    }
}

#[test]
fn no_background_configuration_returns_to_a_state_of_the_last_day() {
    for seed in [1, 2, 3] {
        let rows = rows(seed);
        let mut history: BTreeMap<&str, Vec<(DateTime<Utc>, &Value)>> = BTreeMap::new();
        for r in &rows {
            let states = history.entry(&r.asset).or_default();
            if !r.captured && r.kind == "com.opshelm.asset.update" {
                let recent = states
                    .iter()
                    .filter(|(t, _)| r.time - *t < Duration::hours(24));
                for (t, old) in recent {
                    assert_ne!(*old, &r.config, "{} returns to its state of {t}", r.id);
                }
                assert_ne!(r.previous, r.config, "{} changes nothing", r.id);
            }
            states.push((r.time, &r.previous));
            states.push((r.time, &r.config));
        }
    }
}

#[test]
fn previous_config_is_the_last_config_of_the_asset() {
    let rows = rows(1);
    let mut last: HashMap<&str, &Value> = HashMap::new();
    let mut checked = 0;
    for r in &rows {
        if let Some(before) = last.get(r.asset.as_str())
            && !r.captured
            && !before.is_null()
            && r.kind != "com.opshelm.asset.create"
        {
            let mut settled = (*before).clone();
            if settled["State"]["Name"] == "pending" {
                settled["State"]["Name"] = "running".into();
            }
            if settled["State"] == "pending" {
                settled["State"] = "completed".into();
            }
            assert_eq!(r.previous, settled, "{}", r.id);
            checked += 1;
        }
        last.insert(&r.asset, &r.config);
    }
    assert!(checked > 50);
}

#[test]
fn console_never_touches_terraform_assets_in_the_background() {
    for seed in [1, 2, 3] {
        let rows = rows(seed);
        let terraform: HashSet<&str> = rows
            .iter()
            .filter(|r| r.method == "terraform")
            .map(|r| r.asset.as_str())
            .collect();
        for r in background(&rows).filter(|r| r.method == "console") {
            assert!(
                !terraform.contains(r.asset.as_str()),
                "{} console-edits {}",
                r.id,
                r.asset
            );
        }
    }
}

#[test]
fn nothing_is_created_in_a_region_before_the_account_has_history_there() {
    for seed in [1, 2, 3] {
        let rows = rows(seed);
        let mut seen: HashSet<(&str, &str)> = HashSet::new();
        for r in &rows {
            if !r.captured && r.kind == "com.opshelm.asset.create" {
                assert!(
                    seen.contains(&(r.account.as_str(), r.region.as_str())),
                    "{} creates in a new region",
                    r.id
                );
            }
            seen.insert((&r.account, &r.region));
        }
    }
}

#[test]
fn background_has_terraform_engineers_jdoe_and_autoscaling() {
    let rows = rows(1);
    let count = |f: &dyn Fn(&Row) -> bool| background(&rows).filter(|r| f(r)).count();
    assert!(count(&|r| r.method == "terraform" && r.asset.ends_with("sg-0db5e1c2a3b4c5d6e")) >= 3);
    assert!(count(&|r| r.method == "terraform") >= 40);
    assert!(count(&|r| r.principal.contains("ops-engineer/asmith")) >= 6);
    assert!(count(&|r| r.principal.contains("ops-engineer/bwong")) >= 4);
    assert!(count(&|r| r.method == "provider" && r.kind.ends_with("create")) >= 10);
    assert!(count(&|r| r.method == "provider" && r.kind.ends_with("delete")) >= 10);
}
