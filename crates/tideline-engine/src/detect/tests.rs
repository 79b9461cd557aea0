//! Rule tests on real session files: crafted events (each rule with a benign look-alike that
//! must not fire) and the announcement's captured attack.

use chrono::Utc;
use serde_json::{Value, json};
use tempfile::TempDir;

use super::settings::DetectionSettings;
use super::{DetectionRunner, Finding, Opened, RebuildReason, RuleId, Severity};
use crate::model::PositionedFrame;
use crate::store::Session;
use crate::wire;

fn fixture(name: &str) -> String {
    format!("{}/../../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// One crafted event.
struct Ev {
    id: String,
    time: String,
    change: &'static str,
    asset: &'static str,
    principal: String,
    assumed_role: Option<&'static str>,
    method: &'static str,
    ip: &'static str,
    region: &'static str,
    config: Value,
    previous: Value,
}

impl Ev {
    fn new(id: impl Into<String>, time: impl Into<String>) -> Ev {
        let id = id.into();
        Ev {
            config: json!({"v": id}),
            id,
            time: time.into(),
            change: "update",
            asset: "sg-1",
            principal: "arn:aws:iam::111:user/alice".into(),
            assumed_role: None,
            method: "cli",
            ip: "192.0.2.1",
            region: "us-east-1",
            previous: Value::Null,
        }
    }

    fn json(&self) -> String {
        json!({
            "specversion": "1.0", "id": self.id, "source": "/cloudAccounts/T",
            "type": format!("com.opshelm.asset.{}", self.change), "time": self.time,
            "data": {
                "asset": {"name": format!("ohn:aws:111:{}:x:{}", self.region, self.asset), "type": "network.firewall",
                          "display_name": self.asset, "account": "111", "region": self.region, "provider": "aws"},
                "attribution": {"principal": self.principal, "assumed_role": self.assumed_role, "method": self.method, "source_ip": self.ip, "action": "Act"},
                "config": self.config, "previous_config": self.previous
            }
        })
        .to_string()
    }
}

/// Stores `events` in `session`, in one batch.
fn store(session: &mut Session, events: &[Ev]) {
    let frames: Vec<PositionedFrame> = events
        .iter()
        .map(|e| PositionedFrame {
            frame: wire::decode_frame(e.json()),
            sse_id: None,
            received_at: Utc::now(),
        })
        .collect();
    session.write_batch(&frames).unwrap();
}

fn session_with(dir: &TempDir, events: &[Ev]) -> Session {
    let mut session = Session::open_or_create(&dir.path().join("d.tideline")).unwrap();
    store(&mut session, events);
    session
}

fn findings(events: &[Ev], settings: DetectionSettings) -> Vec<Finding> {
    let dir = TempDir::new().unwrap();
    let mut session = session_with(&dir, events);
    DetectionRunner::rebuild(&mut session, settings).unwrap();
    session.findings().unwrap()
}

fn of(findings: &[Finding], rule: RuleId) -> Vec<&Finding> {
    findings.iter().filter(|f| f.rule == rule).collect()
}

fn ids(finding: &Finding) -> Vec<&str> {
    finding.events.iter().map(|e| e.event_id.as_str()).collect()
}

/// Alice works from 192.0.2.1 on Monday (learning), then on Wednesday.
fn alice_week() -> Vec<Ev> {
    vec![
        Ev::new("a1", "2024-04-29T09:00:00Z"),
        Ev::new("a2", "2024-05-01T10:00:00Z"),
    ]
}

#[test]
fn settings_the_rules_cannot_use_are_refused_with_the_field_named() {
    assert!(DetectionSettings::default().validate().is_ok());
    let mut bad = DetectionSettings::default();
    bad.off_hours.timezone = "Mars/Olympus".into();
    assert_eq!(bad.validate().unwrap_err().field, "off_hours.timezone");
    let mut bad = DetectionSettings::default();
    bad.off_hours.start = "25:99".into();
    let error = bad.validate().unwrap_err();
    assert_eq!(error.field, "off_hours.start");
    assert!(
        error.to_string().starts_with("off_hours.start: \"25:99\""),
        "{error}"
    );
    let mut bad = DetectionSettings::default();
    bad.reverted_change.window_hours = -1.0;
    assert_eq!(
        bad.validate().unwrap_err().field,
        "reverted_change.window_hours"
    );
    let partial: DetectionSettings =
        serde_json::from_str(r#"{"off_hours": {"timezone": "Europe/London"}}"#).unwrap();
    assert_eq!(
        (
            partial.off_hours.start.as_str(),
            partial.learning_period_hours
        ),
        ("08:00", 48.0)
    );
}

#[test]
fn new_source_ip_fires_for_a_known_principal_at_a_new_address_only() {
    let mut events = alice_week();
    events.push(Ev {
        ip: "192.0.2.1",
        ..Ev::new("same-ip", "2024-05-01T11:00:00Z")
    });
    events.push(Ev {
        ip: "203.0.113.50",
        ..Ev::new("new-ip", "2024-05-01T12:00:00Z")
    });
    events.push(Ev {
        principal: "arn:aws:iam::111:user/bob".into(),
        ip: "198.51.100.9",
        ..Ev::new("bob-first", "2024-05-01T13:00:00Z")
    });
    let found = findings(&events, DetectionSettings::default());
    let new_ip = of(&found, RuleId::NewSourceIp);
    assert_eq!(new_ip.len(), 1, "{found:#?}");
    assert_eq!(ids(new_ip[0]), ["new-ip"]);
    // The summary names the new address; the known ones are not listed (a list that late
    // events could change is not kept per principal).
    assert!(
        new_ip[0]
            .summary
            .contains("from 203.0.113.50, an address not seen"),
        "{}",
        new_ip[0].summary
    );
}

#[test]
fn nothing_fires_for_addresses_first_seen_while_learning() {
    let events = vec![
        Ev::new("l1", "2024-04-29T09:00:00Z"),
        Ev {
            ip: "203.0.113.50",
            ..Ev::new("l2", "2024-04-29T10:00:00Z")
        },
    ];
    assert!(
        of(
            &findings(&events, DetectionSettings::default()),
            RuleId::NewSourceIp
        )
        .is_empty()
    );
}

#[test]
fn console_where_iac_fires_on_console_changes_to_terraform_assets_only() {
    let events = vec![
        Ev {
            method: "terraform",
            ..Ev::new("tf", "2024-04-29T09:00:00Z")
        },
        Ev {
            method: "console",
            ..Ev::new("console-managed", "2024-04-30T09:00:00Z")
        },
        Ev {
            method: "console",
            asset: "sg-hand-made",
            ..Ev::new("console-unmanaged", "2024-04-30T10:00:00Z")
        },
        Ev {
            method: "cli",
            ..Ev::new("cli-managed", "2024-04-30T11:00:00Z")
        },
    ];
    let found = findings(&events, DetectionSettings::default());
    let iac = of(&found, RuleId::ConsoleWhereIac);
    assert_eq!(
        iac.iter().map(|f| ids(f)[0]).collect::<Vec<_>>(),
        ["console-managed"],
        "{found:#?}"
    );
    let mut listed = DetectionSettings::default();
    listed.console_where_iac.managed_accounts = vec!["111".into()];
    let found = findings(&events, listed);
    assert_eq!(
        of(&found, RuleId::ConsoleWhereIac).len(),
        2,
        "a listed account counts as managed"
    );
}

#[test]
fn unexpected_principal_fires_for_first_seen_and_not_allowed_principals() {
    let mut events = alice_week();
    // Terraform runs under one role with a new session name each run: one identity, seen Monday.
    for (id, time) in [
        ("run-1", "2024-04-29T10:00:00Z"),
        ("run-2", "2024-05-01T10:00:00Z"),
    ] {
        events.push(Ev {
            principal: format!("arn:aws:sts::111:assumed-role/terraform-ci/{id}"),
            assumed_role: Some("arn:aws:iam::111:role/terraform-ci"),
            method: "terraform",
            ..Ev::new(id, time)
        });
    }
    events.push(Ev {
        principal: "arn:aws:iam::111:user/mallory".into(),
        ..Ev::new("mallory", "2024-05-01T14:00:00Z")
    });
    let found = findings(&events, DetectionSettings::default());
    let unexpected = of(&found, RuleId::UnexpectedPrincipal);
    assert_eq!(
        unexpected.iter().map(|f| ids(f)[0]).collect::<Vec<_>>(),
        ["mallory"],
        "{found:#?}"
    );

    let mut allow = DetectionSettings::default();
    allow
        .unexpected_principal
        .allowed
        .insert("network.firewall".into(), vec!["alice".into()]);
    allow.unexpected_principal.flag_first_seen = false;
    let found = findings(&alice_week(), allow.clone());
    assert!(
        of(&found, RuleId::UnexpectedPrincipal).is_empty(),
        "alice is allowed by short name"
    );
    let eve = Ev {
        principal: "arn:aws:iam::111:user/eve".into(),
        ..Ev::new("eve", "2024-04-29T09:00:00Z")
    };
    let found = findings(&[eve], allow);
    assert_eq!(
        of(&found, RuleId::UnexpectedPrincipal).len(),
        1,
        "eve is not on the list, even while learning"
    );
}

#[test]
fn unexpected_region_fires_for_a_create_in_a_new_region_after_learning() {
    let events = vec![
        Ev {
            change: "create",
            ..Ev::new("home", "2024-04-29T09:00:00Z")
        },
        Ev {
            change: "create",
            asset: "sg-2",
            ..Ev::new("home-again", "2024-05-01T09:00:00Z")
        },
        Ev {
            change: "create",
            asset: "sg-3",
            region: "ap-southeast-3",
            ..Ev::new("far-away", "2024-05-01T10:00:00Z")
        },
        Ev {
            change: "update",
            asset: "sg-4",
            region: "eu-north-1",
            ..Ev::new("update-elsewhere", "2024-05-01T11:00:00Z")
        },
        Ev {
            change: "create",
            asset: "user",
            region: "global",
            ..Ev::new("iam", "2024-05-01T12:00:00Z")
        },
    ];
    let found = findings(&events, DetectionSettings::default());
    let region = of(&found, RuleId::UnexpectedRegion);
    assert_eq!(
        region.iter().map(|f| ids(f)[0]).collect::<Vec<_>>(),
        ["far-away"],
        "{found:#?}"
    );
    let mut allowed = DetectionSettings::default();
    allowed.unexpected_region.allowed.insert(
        "111".into(),
        vec!["us-east-1".into(), "ap-southeast-3".into()],
    );
    assert!(of(&findings(&events, allowed), RuleId::UnexpectedRegion).is_empty());
}

#[test]
fn off_hours_groups_weekend_and_night_work_and_ignores_the_provider() {
    let events = vec![
        Ev::new("weekday", "2024-05-01T10:00:00Z"),
        Ev::new("saturday-1", "2024-05-04T15:00:00Z"),
        Ev::new("saturday-2", "2024-05-04T15:30:00Z"),
        Ev::new("late", "2024-05-01T22:15:00Z"),
        Ev {
            method: "provider",
            principal: "autoscaling.amazonaws.com".into(),
            ..Ev::new("autoscale", "2024-05-04T03:00:00Z")
        },
    ];
    let found = findings(&events, DetectionSettings::default());
    let off = of(&found, RuleId::OffHours);
    let mut groups: Vec<Vec<&str>> = off.iter().map(|f| ids(f)).collect();
    groups.sort();
    assert_eq!(
        groups,
        vec![vec!["late"], vec!["saturday-1", "saturday-2"]],
        "{found:#?}"
    );
    let saturday = off.iter().find(|f| f.events.len() == 2).unwrap();
    assert!(
        saturday
            .summary
            .contains("2 changes on Sat 2024-05-04 between 15:00 and 15:30 UTC"),
        "{}",
        saturday.summary
    );

    let mut london = DetectionSettings::default();
    london.off_hours.timezone = "Europe/London".into();
    // 07:30 UTC is 08:30 in London in May: working hours there.
    let found = findings(&[Ev::new("early", "2024-05-01T07:30:00Z")], london);
    assert!(of(&found, RuleId::OffHours).is_empty());
    let found = findings(
        &[Ev::new("early", "2024-05-01T07:30:00Z")],
        DetectionSettings::default(),
    );
    assert_eq!(
        of(&found, RuleId::OffHours).len(),
        1,
        "07:30 UTC is before 08:00 UTC"
    );
}

#[test]
fn an_hour_an_order_of_magnitude_above_its_usual_level_is_a_burst() {
    let mut events: Vec<Ev> = Vec::new();
    for day in 0..3 {
        events.push(Ev::new(
            format!("usual-{day}"),
            format!("2024-04-{:02}T10:05:00Z", 29 + day),
        ));
    }
    for minute in 0..25 {
        events.push(Ev::new(
            format!("burst-{minute}"),
            format!("2024-05-02T10:{minute:02}:00Z"),
        ));
    }
    let found = findings(&events, DetectionSettings::default());
    let bursts: Vec<_> = of(&found, RuleId::OffHours)
        .into_iter()
        .filter(|f| f.key.contains("burst"))
        .collect();
    assert_eq!(bursts.len(), 1, "{found:#?}");
    assert_eq!(bursts[0].events.len(), 25);
    assert!(
        bursts[0]
            .summary
            .contains("25 changes between 10:00 and 11:00"),
        "{}",
        bursts[0].summary
    );
}

#[test]
fn impossible_travel_needs_a_geoip_database_and_a_real_journey() {
    let london_then_changchun = vec![
        Ev {
            ip: "81.2.69.142",
            ..Ev::new("london", "2024-05-01T10:00:00Z")
        },
        Ev {
            ip: "2.125.160.217",
            ..Ev::new("boxford", "2024-05-01T10:30:00Z")
        },
        Ev {
            ip: "175.16.199.1",
            ..Ev::new("changchun", "2024-05-01T11:30:00Z")
        },
    ];
    let off = findings(&london_then_changchun, DetectionSettings::default());
    assert!(of(&off, RuleId::ImpossibleTravel).is_empty());
    let detector = super::detector::Detector::new(DetectionSettings::default(), 0, 1, true);
    let status = detector
        .statuses()
        .iter()
        .find(|s| s.rule == RuleId::ImpossibleTravel)
        .unwrap();
    assert!(
        !status.active
            && status
                .note
                .as_deref()
                .unwrap()
                .contains("no GeoIP database"),
        "{status:?}"
    );

    let with_geoip = DetectionSettings {
        geoip_database: Some(fixture("GeoLite2-City-Test.mmdb")),
        ..DetectionSettings::default()
    };
    let found = findings(&london_then_changchun, with_geoip);
    let travel = of(&found, RuleId::ImpossibleTravel);
    assert_eq!(
        travel.len(),
        1,
        "London → Boxford by car is fine; Boxford → Changchun in an hour is not: {found:#?}"
    );
    assert_eq!(ids(travel[0]), ["boxford", "changchun"]);
    assert!(
        travel[0].summary.contains("Changchun, CN"),
        "{}",
        travel[0].summary
    );
}

fn firewall(ranges: Value) -> Value {
    json!({"GroupId": "sg-1", "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": ranges}]})
}

#[test]
fn reverted_change_links_both_events_and_says_what_was_open_and_for_how_long() {
    let closed = firewall(json!([]));
    let open = firewall(json!([{"CidrIp": "203.0.113.66/32"}]));
    let events = vec![
        Ev {
            config: closed.clone(),
            previous: Value::Null,
            change: "create",
            ..Ev::new("made", "2024-05-01T09:00:00Z")
        },
        Ev {
            config: open.clone(),
            previous: closed.clone(),
            ..Ev::new("opened", "2024-05-01T10:00:03.712Z")
        },
        Ev {
            config: closed.clone(),
            previous: open.clone(),
            ..Ev::new("closed", "2024-05-01T10:16:48.090Z")
        },
    ];
    let found = findings(&events, DetectionSettings::default());
    let reverted = of(&found, RuleId::RevertedChange);
    assert_eq!(reverted.len(), 1, "{found:#?}");
    assert_eq!(ids(reverted[0]), ["opened", "closed"]);
    assert!(
        reverted[0]
            .summary
            .starts_with("sg-1 allowed 203.0.113.66/32 on 5432 for 16m45s"),
        "{}",
        reverted[0].summary
    );

    // Look-alikes: a second, different change is not a revert; nor is a return after the window.
    let other = firewall(json!([{"CidrIp": "10.0.0.0/8"}]));
    let not_back = vec![
        Ev {
            config: closed.clone(),
            change: "create",
            ..Ev::new("made", "2024-05-01T09:00:00Z")
        },
        Ev {
            config: open.clone(),
            previous: closed.clone(),
            ..Ev::new("opened", "2024-05-01T10:00:00Z")
        },
        Ev {
            config: other,
            previous: open.clone(),
            ..Ev::new("changed", "2024-05-01T11:00:00Z")
        },
    ];
    assert!(
        of(
            &findings(&not_back, DetectionSettings::default()),
            RuleId::RevertedChange
        )
        .is_empty()
    );
    let too_late = vec![
        Ev {
            config: closed.clone(),
            change: "create",
            ..Ev::new("made", "2024-05-01T09:00:00Z")
        },
        Ev {
            config: open.clone(),
            previous: closed.clone(),
            ..Ev::new("opened", "2024-05-01T10:00:00Z")
        },
        Ev {
            config: closed,
            previous: open,
            ..Ev::new("closed", "2024-05-03T10:00:00Z")
        },
    ];
    assert!(
        of(
            &findings(&too_late, DetectionSettings::default()),
            RuleId::RevertedChange
        )
        .is_empty()
    );
}

#[test]
fn short_lived_assets_fire_unless_the_provider_ran_their_whole_life() {
    let events = vec![
        Ev {
            change: "create",
            asset: "tmp-user",
            method: "console",
            ..Ev::new("u+", "2024-05-01T10:00:00Z")
        },
        Ev {
            change: "delete",
            asset: "tmp-user",
            method: "console",
            config: Value::Null,
            ..Ev::new("u-", "2024-05-01T10:21:18Z")
        },
        Ev {
            change: "create",
            asset: "i-1",
            method: "provider",
            principal: "autoscaling.amazonaws.com".into(),
            ..Ev::new("i+", "2024-05-01T10:00:00Z")
        },
        Ev {
            change: "delete",
            asset: "i-1",
            method: "provider",
            principal: "autoscaling.amazonaws.com".into(),
            config: Value::Null,
            ..Ev::new("i-", "2024-05-01T11:00:00Z")
        },
        Ev {
            change: "create",
            asset: "keeper",
            ..Ev::new("k+", "2024-05-01T10:00:00Z")
        },
        Ev {
            change: "delete",
            asset: "keeper",
            config: Value::Null,
            ..Ev::new("k-", "2024-05-03T10:00:00Z")
        },
    ];
    let found = findings(&events, DetectionSettings::default());
    let short = of(&found, RuleId::ShortLivedAsset);
    assert_eq!(short.len(), 1, "{found:#?}");
    assert_eq!(ids(short[0]), ["u+", "u-"]);
    assert!(
        short[0]
            .summary
            .contains("tmp-user (network.firewall) existed for 21m18s"),
        "{}",
        short[0].summary
    );
}

/// The seed capture's 11 events, imported.
fn seed_session(dir: &TempDir) -> Session {
    let mut session = Session::open_or_create(&dir.path().join("seed.tideline")).unwrap();
    crate::import::import_file(
        &mut session,
        std::path::Path::new(&fixture("seed-incident.sse")),
        &mut |_, _| true,
    )
    .unwrap();
    session
}

/// Every stored finding in review order, sorted here from the whole list: what the overview's
/// index ranges must agree with.
fn all_in_review_order(session: &Session) -> Vec<Finding> {
    let mut all = session.findings().unwrap();
    all.sort_by(crate::detect::runner::review_order);
    all
}

#[test]
fn the_findings_overview_lists_a_page_in_review_order_with_the_counts_of_all() {
    use crate::detect::FindingsQuery;
    let dir = TempDir::new().unwrap();
    let mut session = seed_session(&dir);
    DetectionRunner::rebuild(&mut session, DetectionSettings::default()).unwrap();
    let all = all_in_review_order(&session);
    let severities: Vec<Severity> = all.iter().map(|f| f.severity).collect();
    assert!(
        severities.contains(&Severity::High) && severities.contains(&Severity::Low),
        "the seed incident has findings of several severities: {severities:?}"
    );
    // Every page is the head of the whole list, whatever the limit.
    for limit in [1, 3, all.len() as u32, all.len() as u32 + 5] {
        let overview = session
            .findings_overview(&FindingsQuery {
                limit,
                ..FindingsQuery::default()
            })
            .unwrap();
        let keys: Vec<&str> = overview.findings.iter().map(|f| f.key.as_str()).collect();
        let expected: Vec<&str> = all
            .iter()
            .take(limit as usize)
            .map(|f| f.key.as_str())
            .collect();
        assert_eq!(keys, expected, "limit {limit}");
        assert_eq!(overview.total, all.len() as u64);
        assert_eq!(overview.matching, all.len() as u64);
        assert_eq!(overview.unseen, 0, "no look given, nothing counted unseen");
    }

    // Counts per rule and severity are those of the whole list; a filter selects its part.
    let overview = session
        .findings_overview(&FindingsQuery {
            limit: 1_000,
            ..FindingsQuery::default()
        })
        .unwrap();
    // Review order: most severe first, then newest first.
    for pair in overview.findings.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert!(
            a.severity > b.severity || (a.severity == b.severity && a.time_us >= b.time_us),
            "{} ({:?}, {}) before {} ({:?}, {})",
            a.key,
            a.severity,
            a.time,
            b.key,
            b.severity,
            b.time
        );
    }
    for count in &overview.by_rule {
        let expected = all.iter().filter(|f| f.rule == count.rule).count() as u64;
        assert_eq!(count.count, expected, "{:?}", count.rule);
        let only = session
            .findings_overview(&FindingsQuery {
                rule: Some(count.rule),
                limit: 1_000,
                ..FindingsQuery::default()
            })
            .unwrap();
        assert_eq!(only.matching, expected);
        let keys: Vec<&str> = only.findings.iter().map(|f| f.key.as_str()).collect();
        let wanted: Vec<&str> = all
            .iter()
            .filter(|f| f.rule == count.rule)
            .map(|f| f.key.as_str())
            .collect();
        assert_eq!(keys, wanted, "{:?}", count.rule);
    }
    for count in &overview.by_severity {
        let expected = all.iter().filter(|f| f.severity == count.severity).count() as u64;
        assert_eq!(count.count, expected, "{:?}", count.severity);
    }

    // Unseen: the findings made after a look. A look at everything leaves none.
    let seen = overview.newest_id;
    let after = session
        .findings_overview(&FindingsQuery {
            limit: 1,
            seen_up_to: Some(seen),
            ..FindingsQuery::default()
        })
        .unwrap();
    assert_eq!(after.unseen, 0);
    let before_any = session
        .findings_overview(&FindingsQuery {
            limit: 1,
            seen_up_to: Some(0),
            ..FindingsQuery::default()
        })
        .unwrap();
    assert_eq!(before_any.unseen, all.len() as u64);

    // An event's findings are exactly those that list it (every seed finding lists all of its
    // events), in review order.
    assert!(all.iter().all(|f| f.events.len() as u64 == f.count));
    let finding = all
        .iter()
        .find(|f| f.rule == RuleId::RevertedChange)
        .unwrap();
    for event in &finding.events {
        let of_event: Vec<&str> = session
            .findings_of_event(event.seq)
            .unwrap()
            .into_iter()
            .map(|f| all.iter().find(|g| g.key == f.key).unwrap().key.as_str())
            .collect();
        let expected: Vec<&str> = all
            .iter()
            .filter(|f| f.events.iter().any(|e| e.seq == event.seq))
            .map(|f| f.key.as_str())
            .collect();
        assert_eq!(of_event, expected, "event {}", event.seq);
    }
}

#[test]
fn a_rebuild_gives_its_findings_ids_above_every_earlier_one_so_they_count_as_unseen() {
    use crate::detect::FindingsQuery;
    let dir = TempDir::new().unwrap();
    let mut session = seed_session(&dir);
    DetectionRunner::rebuild(&mut session, DetectionSettings::default()).unwrap();
    let look = |session: &Session, seen: Option<i64>| {
        session
            .findings_overview(&FindingsQuery {
                limit: 1,
                seen_up_to: seen,
                ..FindingsQuery::default()
            })
            .unwrap()
    };
    let before = look(&session, None);
    assert!(before.total > 0);
    DetectionRunner::rebuild(&mut session, DetectionSettings::default()).unwrap();
    let ids_after: Vec<i64> = session
        .findings()
        .unwrap()
        .iter()
        .map(|f| f.key.clone())
        .map(|key| session.finding_row(&key).unwrap().unwrap().id)
        .collect();
    assert!(
        ids_after.iter().all(|id| *id > before.newest_id),
        "{ids_after:?} after {}",
        before.newest_id
    );
    let after = look(&session, Some(before.newest_id));
    assert_eq!(after.unseen, after.total);
}

#[test]
fn the_captured_attack_raises_the_announcements_findings() {
    let dir = TempDir::new().unwrap();
    let mut session = seed_session(&dir);
    DetectionRunner::rebuild(&mut session, DetectionSettings::default()).unwrap();
    let found = session.findings().unwrap();
    let summaries: Vec<String> = found
        .iter()
        .map(|f| format!("{}: {}", f.rule.as_str(), f.summary))
        .collect();
    let has = |rule: RuleId, text: &str| {
        found
            .iter()
            .any(|f| f.rule == rule && f.summary.contains(text))
    };
    assert!(
        has(
            RuleId::RevertedChange,
            "prod-db-sg allowed 203.0.113.66/32 on 5432 for 16m45s"
        ),
        "{summaries:#?}"
    );
    assert!(
        has(RuleId::RevertedChange, "svc-backup-tmp"),
        "{summaries:#?}"
    );
    assert!(
        has(RuleId::ShortLivedAsset, "svc-backup-tmp (iam.user)"),
        "{summaries:#?}"
    );
    assert!(
        has(RuleId::ShortLivedAsset, "(iam.access_key)"),
        "{summaries:#?}"
    );
    assert!(
        has(
            RuleId::ConsoleWhereIac,
            "jdoe changed prod-db-sg from the console (AuthorizeSecurityGroupIngress)"
        ),
        "{summaries:#?}"
    );
    assert!(
        has(RuleId::OffHours, "jdoe made 8 changes on Sun 2024-05-05"),
        "{summaries:#?}"
    );
    let reverted = found
        .iter()
        .find(|f| f.rule == RuleId::RevertedChange && f.summary.contains("prod-db-sg"))
        .unwrap();
    assert_eq!(
        ids(reverted),
        ["01HX0000000000000000000007", "01HX0000000000000000000008"]
    );
}

#[test]
fn findings_are_rebuilt_identically_and_incremental_runs_match_a_rebuild() {
    let dir = TempDir::new().unwrap();
    let mut session = seed_session(&dir);
    DetectionRunner::rebuild(&mut session, DetectionSettings::default()).unwrap();
    let once = session.findings().unwrap();
    DetectionRunner::rebuild(&mut session, DetectionSettings::default()).unwrap();
    let twice = session.findings().unwrap();
    assert_eq!(once, twice);

    // The same events arriving in two batches, the second partly older than the first.
    let other = TempDir::new().unwrap();
    let mut live = Session::open_or_create(&other.path().join("live.tideline")).unwrap();
    let mut runner = DetectionRunner::rebuild(&mut live, DetectionSettings::default()).unwrap();
    let mut all = Vec::new();
    session
        .for_each_event(None, |e| {
            all.push(e.body);
            Ok::<(), crate::store::StoreError>(())
        })
        .unwrap();
    let frame = |body: &String| PositionedFrame {
        frame: wire::decode_frame(body.clone()),
        sse_id: None,
        received_at: Utc::now(),
    };
    let (late, early): (Vec<_>, Vec<_>) = all.iter().enumerate().partition(|(i, _)| i % 2 == 0);
    live.write_batch(&early.iter().map(|(_, b)| frame(b)).collect::<Vec<_>>())
        .unwrap();
    runner.catch_up(&mut live).unwrap();
    live.write_batch(&late.iter().map(|(_, b)| frame(b)).collect::<Vec<_>>())
        .unwrap();
    runner.catch_up(&mut live).unwrap();
    let strip = |findings: Vec<Finding>| -> Vec<(String, String)> {
        findings
            .into_iter()
            .map(|f| (f.key.split(':').next().unwrap().to_owned(), f.summary))
            .collect()
    };
    let mut incremental = strip(live.findings().unwrap());
    let mut rebuilt = strip(once);
    incremental.sort();
    rebuilt.sort();
    assert_eq!(incremental, rebuilt);
}

/// Findings of the case file `14-source-ip-forms.ndjson`, its text passed through `edit`.
fn source_ip_forms_findings(edit: impl Fn(String) -> String) -> Vec<Finding> {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("case.ndjson");
    let text = std::fs::read_to_string(fixture("cases/14-source-ip-forms.ndjson")).unwrap();
    std::fs::write(&path, edit(text)).unwrap();
    let mut session = Session::open_or_create(&dir.path().join("d.tideline")).unwrap();
    let outcome = crate::import::import_file(&mut session, &path, &mut |_, _| true).unwrap();
    assert_eq!((outcome.stored, outcome.quarantined), (7, 0));
    DetectionRunner::rebuild(&mut session, DetectionSettings::default()).unwrap();
    session.findings().unwrap()
}

#[test]
fn one_address_spelled_differently_is_not_a_new_source_ip() {
    // jdoe works from 198.51.100.7 and 2001:db8::1 while the rules learn, then from the same
    // two addresses spelled `198.051.100.007`, `2001:DB8:0:0:0:0:0:1` and
    // `::ffff:198.51.100.7`, and from `AWS Internal` and a service host (not addresses).
    // Nothing here is new: no finding of any rule.
    let findings = source_ip_forms_findings(|text| text);
    assert!(findings.is_empty(), "{findings:#?}");

    // The same file with one address that really is new raises exactly that one.
    let findings =
        source_ip_forms_findings(|text| text.replacen("198.051.100.007", "203.0.113.9", 1));
    let new_ip = of(&findings, RuleId::NewSourceIp);
    assert_eq!(new_ip.len(), 1, "{findings:#?}");
    assert_eq!(ids(new_ip[0]), ["01HXTEST000000000000000003"]);
    assert!(
        new_ip[0].summary.contains("from 203.0.113.9"),
        "{}",
        new_ip[0].summary
    );
}

#[test]
fn a_runner_whose_findings_another_replaced_rebuilds_instead_of_adding_to_them() {
    let dir = TempDir::new().unwrap();
    let mut session = seed_session(&dir);
    let mut runner = DetectionRunner::rebuild(&mut session, DetectionSettings::default()).unwrap();
    let expected = session.findings().unwrap().len();
    assert!(expected > 0);
    // Another runner's late rebuild over an older view of the session (here: none of it).
    session.replace_stored_findings(&[]).unwrap();
    runner.catch_up(&mut session).unwrap();
    assert_eq!(
        session.findings().unwrap().len(),
        expected,
        "the findings another runner removed were not restored"
    );
}

/// Writes `events` into `session` as one batch.
fn write(session: &mut Session, events: &[&Ev]) {
    let frames: Vec<PositionedFrame> = events
        .iter()
        .map(|e| PositionedFrame {
            frame: wire::decode_frame(e.json()),
            sse_id: None,
            received_at: Utc::now(),
        })
        .collect();
    session.write_batch(&frames).unwrap();
}

#[test]
fn a_principals_repeated_new_address_is_one_finding_with_its_count_and_first_and_last_times() {
    let mut events = alice_week();
    for (id, time) in [
        ("new-1", "2024-05-01T12:00:00Z"),
        ("new-2", "2024-05-01T12:30:00Z"),
        ("new-3", "2024-05-02T09:15:00Z"),
    ] {
        events.push(Ev {
            ip: "203.0.113.50",
            ..Ev::new(id, time)
        });
    }
    events.push(Ev {
        ip: "203.0.113.51",
        ..Ev::new("other", "2024-05-01T13:00:00Z")
    });
    let found = findings(&events, DetectionSettings::default());
    let new_ip = of(&found, RuleId::NewSourceIp);
    assert_eq!(new_ip.len(), 2, "{found:#?}");
    let repeated = new_ip
        .iter()
        .find(|f| f.count == 3)
        .expect("one finding of 3 events");
    assert_eq!(ids(repeated), ["new-1", "new-2", "new-3"]);
    assert_eq!(
        (repeated.first_time.as_str(), repeated.last_time.as_str()),
        ("2024-05-01T12:00:00Z", "2024-05-02T09:15:00Z")
    );
    assert_eq!(repeated.time, repeated.first_time);
    assert!(
        repeated.summary.contains("from 203.0.113.50"),
        "{}",
        repeated.summary
    );

    // Console changes to a Terraform-managed asset: one finding per asset and principal.
    let console = |id: &str, time: &str| Ev {
        method: "console",
        ..Ev::new(id, time)
    };
    let events = vec![
        Ev {
            method: "terraform",
            ..Ev::new("tf", "2024-04-29T09:00:00Z")
        },
        console("c1", "2024-04-30T09:00:00Z"),
        console("c2", "2024-04-30T10:00:00Z"),
        console("c3", "2024-04-30T11:00:00Z"),
    ];
    let found = findings(&events, DetectionSettings::default());
    let iac = of(&found, RuleId::ConsoleWhereIac);
    assert_eq!(iac.len(), 1, "{found:#?}");
    assert_eq!((iac[0].count, ids(iac[0])), (3, vec!["c1", "c2", "c3"]));
}

/// Events in which every rule fires, many of them minutes apart: the first day learns; the
/// third has new addresses, a new principal, console changes, a reverted firewall, a
/// short-lived user, a create in a new region; a Saturday has off-hours work; and the sixth
/// day's 10 o'clock hour is a burst.
fn busy_week() -> Vec<Ev> {
    let closed = firewall(json!([]));
    let open = firewall(json!([{"CidrIp": "203.0.113.66/32"}]));
    let bob = "arn:aws:iam::111:user/bob".to_owned();
    let mallory = "arn:aws:iam::111:user/mallory".to_owned();
    let mut events = vec![
        Ev::new("a-learn", "2024-04-29T09:00:00Z"),
        Ev {
            principal: bob.clone(),
            ip: "198.51.100.1",
            ..Ev::new("b-learn", "2024-04-29T09:05:00Z")
        },
        Ev {
            method: "terraform",
            asset: "sg-tf",
            ..Ev::new("tf", "2024-04-29T09:10:00Z")
        },
        Ev {
            change: "create",
            asset: "sg-home",
            ..Ev::new("home", "2024-04-29T09:20:00Z")
        },
        Ev {
            config: closed.clone(),
            change: "create",
            asset: "sg-fw",
            ..Ev::new("fw-made", "2024-04-29T09:30:00Z")
        },
    ];
    // Day 3, 10:00–10:20 UTC: everything at once.
    let at = |minute: u32, second: u32| format!("2024-05-01T10:{minute:02}:{second:02}Z");
    for (n, ip) in ["203.0.113.5", "203.0.113.5", "203.0.113.6", "203.0.113.5"]
        .into_iter()
        .enumerate()
    {
        events.push(Ev {
            ip,
            ..Ev::new(format!("a-new-{n}"), at(n as u32 * 3, 0))
        });
    }
    events.push(Ev {
        principal: mallory.clone(),
        ip: "192.0.2.66",
        ..Ev::new("m-1", at(1, 10))
    });
    events.push(Ev {
        principal: mallory.clone(),
        ip: "192.0.2.67",
        ..Ev::new("m-2", at(1, 40))
    });
    events.push(Ev {
        principal: mallory,
        ip: "192.0.2.66",
        ..Ev::new("m-3", at(4, 0))
    });
    for (n, minute) in [2, 5, 9].into_iter().enumerate() {
        events.push(Ev {
            method: "console",
            asset: "sg-tf",
            ..Ev::new(format!("console-tf-{n}"), at(minute, 30))
        });
    }
    // A console change on sg-x, and Terraform's first change of it, a minute before.
    events.push(Ev {
        method: "terraform",
        asset: "sg-x",
        ..Ev::new("tf-x", at(6, 0))
    });
    for (n, minute) in [7, 8].into_iter().enumerate() {
        events.push(Ev {
            method: "console",
            asset: "sg-x",
            principal: bob.clone(),
            ..Ev::new(format!("console-x-{n}"), at(minute, 0))
        });
    }
    events.push(Ev {
        config: open.clone(),
        previous: closed.clone(),
        asset: "sg-fw",
        ..Ev::new("fw-opened", at(10, 3))
    });
    events.push(Ev {
        config: closed.clone(),
        previous: open,
        asset: "sg-fw",
        ..Ev::new("fw-closed", at(14, 48))
    });
    events.push(Ev {
        change: "create",
        asset: "tmp-user",
        method: "console",
        ..Ev::new("u+", at(11, 0))
    });
    events.push(Ev {
        change: "delete",
        asset: "tmp-user",
        method: "console",
        config: Value::Null,
        ..Ev::new("u-", at(13, 0))
    });
    events.push(Ev {
        change: "create",
        asset: "sg-far",
        region: "ap-southeast-3",
        ..Ev::new("far", at(12, 0))
    });
    events.push(Ev {
        change: "create",
        asset: "sg-far-2",
        region: "ap-southeast-3",
        ..Ev::new("far-2", at(11, 30))
    });
    // Saturday: work outside hours.
    for (n, minute) in [0, 4, 8].into_iter().enumerate() {
        events.push(Ev::new(
            format!("sat-{n}"),
            format!("2024-05-04T15:{minute:02}:00Z"),
        ));
    }
    // The usual 10 o'clock hour, then a burst.
    for day in 2..5 {
        events.push(Ev::new(
            format!("usual-{day}"),
            format!("2024-05-0{day}T10:30:00Z"),
        ));
    }
    for n in 0..25 {
        events.push(Ev::new(
            format!("burst-{n}"),
            format!("2024-05-06T10:{:02}:{:02}Z", n * 2 / 3, n * 7 % 60),
        ));
    }
    events
}

/// `events` in an order a stream might deliver them: each arrives up to ten minutes after its
/// own time (a pseudo-random delay, or the one `late` gives its id), the first one first.
fn delivered_late<'a>(events: &'a [Ev], late: &[(&str, i64)]) -> Vec<&'a Ev> {
    let mut by_time: Vec<&Ev> = events.iter().collect();
    by_time.sort_by(|a, b| a.time.cmp(&b.time));
    let mut arrival: Vec<(i64, &Ev)> = by_time
        .iter()
        .enumerate()
        .map(|(n, e)| {
            let time = chrono::DateTime::parse_from_rfc3339(&e.time)
                .unwrap()
                .timestamp();
            let delay = match late.iter().find(|(id, _)| *id == e.id) {
                Some((_, delay)) => *delay,
                None if n == 0 => 0,
                None => (n as i64 * 7919) % 600,
            };
            (time + delay, *e)
        })
        .collect();
    arrival.sort_by_key(|(at, _)| *at);
    arrival.into_iter().map(|(_, e)| e).collect()
}

fn catch_up_in_batches(events: &[&Ev], batch: usize) -> (TempDir, Session, Vec<Finding>, u64) {
    let dir = TempDir::new().unwrap();
    let mut session = Session::open_or_create(&dir.path().join("late.tideline")).unwrap();
    let (mut runner, _) =
        DetectionRunner::open(&mut session, DetectionSettings::default()).unwrap();
    let epoch = session.findings_epoch().unwrap();
    for chunk in events.chunks(batch) {
        write(&mut session, chunk);
        runner.catch_up(&mut session).unwrap();
    }
    let found = session.findings().unwrap();
    (dir, session, found, epoch)
}

#[test]
fn findings_caught_up_from_late_events_equal_a_rebuild_and_never_rebuild() {
    let events = busy_week();
    // Mallory's first change after her second (her first address moves), Terraform's first
    // change of sg-x after the console changes it makes managed, the firewall's opening after
    // its closing, the short-lived user's creation after its deletion.
    let arriving = delivered_late(
        &events,
        &[
            ("m-1", 120),
            ("m-2", 0),
            ("tf-x", 590),
            ("console-x-1", 0),
            ("fw-opened", 400),
            ("fw-closed", 0),
            ("u+", 300),
            ("u-", 0),
        ],
    );
    let position = |id: &str| arriving.iter().position(|e| e.id == id).unwrap();
    for (later, earlier) in [
        ("m-1", "m-2"),
        ("tf-x", "console-x-1"),
        ("fw-opened", "fw-closed"),
        ("u+", "u-"),
    ] {
        assert!(
            position(later) > position(earlier),
            "{later} arrives after {earlier}"
        );
    }
    let in_order: Vec<&Ev> = {
        let mut sorted: Vec<&Ev> = events.iter().collect();
        sorted.sort_by(|a, b| a.time.cmp(&b.time));
        sorted
    };
    assert_ne!(
        arriving.iter().map(|e| &e.id).collect::<Vec<_>>(),
        in_order.iter().map(|e| &e.id).collect::<Vec<_>>(),
        "some events arrive out of time order"
    );
    for batch in [1, 3, 7] {
        let (_dir, mut session, caught_up, epoch) = catch_up_in_batches(&arriving, batch);
        assert_eq!(
            session.findings_epoch().unwrap(),
            epoch,
            "late events (batches of {batch}) rebuilt the findings"
        );
        DetectionRunner::rebuild(&mut session, DetectionSettings::default()).unwrap();
        let rebuilt = session.findings().unwrap();
        for rule in RuleId::ALL {
            if rule != RuleId::ImpossibleTravel {
                assert!(
                    !of(&rebuilt, rule).is_empty(),
                    "no {rule:?} in {rebuilt:#?}"
                );
            }
        }
        assert_eq!(caught_up, rebuilt, "batches of {batch}");
    }
}

#[test]
fn opening_current_findings_resumes_from_the_watermark_and_catches_up_without_a_rebuild() {
    let events = busy_week();
    let mut in_order: Vec<&Ev> = events.iter().collect();
    in_order.sort_by(|a, b| a.time.cmp(&b.time));
    let (first, rest) = in_order.split_at(in_order.len() / 2);
    let dir = TempDir::new().unwrap();
    let mut session = Session::open_or_create(&dir.path().join("w.tideline")).unwrap();
    write(&mut session, first);
    let (_, opened) = DetectionRunner::open(&mut session, DetectionSettings::default()).unwrap();
    assert_eq!(opened, Opened::Rebuilt(RebuildReason::Missing));
    let epoch = session.findings_epoch().unwrap();

    let (_, opened) = DetectionRunner::open(&mut session, DetectionSettings::default()).unwrap();
    assert_eq!(opened, Opened::Resumed { caught_up: 0 });
    write(&mut session, rest);
    let (_, opened) = DetectionRunner::open(&mut session, DetectionSettings::default()).unwrap();
    assert_eq!(
        opened,
        Opened::Resumed {
            caught_up: rest.len() as u64
        }
    );
    assert_eq!(session.findings_epoch().unwrap(), epoch, "nothing rebuilt");
    let resumed = session.findings().unwrap();
    DetectionRunner::rebuild(&mut session, DetectionSettings::default()).unwrap();
    assert_eq!(resumed, session.findings().unwrap());
}

/// Alice at her first address, at a second while the rules learn (48 h), at a third after;
/// then (the second half) at the second and the third again, and twice at a fourth. Told
/// apart, the pairs give two `new_source_ip` findings of two events each: the third address
/// and the fourth (its second event caught up with the first, or after it was stored).
fn alice_at_addresses() -> (Vec<Ev>, Vec<Ev>) {
    let at = |id: &str, time: &str, ip: &'static str| Ev {
        ip,
        ..Ev::new(id, time)
    };
    (
        vec![
            at("a-1", "2024-05-01T10:00:00Z", "192.0.2.1"),
            at("a-2", "2024-05-01T11:00:00Z", "192.0.2.2"),
            at("a-3", "2024-05-04T10:00:00Z", "198.51.100.9"),
        ],
        vec![
            at("a-4", "2024-05-04T11:00:00Z", "192.0.2.2"),
            at("a-5", "2024-05-04T12:00:00Z", "198.51.100.9"),
            at("a-6", "2024-05-04T13:00:00Z", "203.0.113.5"),
            at("a-7", "2024-05-04T14:00:00Z", "203.0.113.5"),
        ],
    )
}

/// A new session holding [`alice_at_addresses`]'s first half; and its second half.
fn alice_session(dir: &TempDir) -> (Session, Vec<Ev>) {
    let (first, rest) = alice_at_addresses();
    let mut session = Session::open_or_create(&dir.path().join("alice.tideline")).unwrap();
    write(&mut session, &first.iter().collect::<Vec<_>>());
    (session, rest)
}

/// A connection of its own to `session`'s notes database (a file: the tests' notes folder).
fn notes_connection(session: &Session) -> rusqlite::Connection {
    match session.notes() {
        crate::store::NotesLocation::File(file) => rusqlite::Connection::open(file).unwrap(),
        other => panic!("notes in a file: {other:?}"),
    }
}

/// The `new_source_ip` findings of `session`: each one's address (its summary's) and count.
fn new_addresses(session: &Session) -> Vec<(String, u64)> {
    let found = session.findings().unwrap();
    let mut addresses: Vec<(String, u64)> = of(&found, RuleId::NewSourceIp)
        .into_iter()
        .map(|f| {
            let address = ["198.51.100.9", "203.0.113.5", "192.0.2.2", "192.0.2.1"]
                .into_iter()
                .find(|a| f.summary.contains(a))
                .unwrap_or_else(|| panic!("an address in {}", f.summary));
            (address.to_owned(), f.count)
        })
        .collect();
    addresses.sort();
    addresses
}

#[test]
fn a_resumed_runner_looks_its_pairs_up_in_the_store_and_lets_them_go_once_stored() {
    // A run resumed from stored findings lives as long as the session is open (the app's
    // keeper): holding every (principal, address) pair, nearly one per event in a busy
    // session, it grew with the session.
    let dir = TempDir::new().unwrap();
    let (mut session, rest) = alice_session(&dir);
    let (rebuilt, opened) =
        DetectionRunner::open(&mut session, DetectionSettings::default()).unwrap();
    assert_eq!(opened, Opened::Rebuilt(RebuildReason::Missing));
    assert_eq!(rebuilt.pairs_held(), 3, "a rebuild holds its pairs");
    drop(rebuilt);

    let (mut resumed, opened) =
        DetectionRunner::open(&mut session, DetectionSettings::default()).unwrap();
    assert_eq!(opened, Opened::Resumed { caught_up: 0 });
    assert_eq!(resumed.pairs_held(), 0, "resumed with no pair in memory");
    // A pair set is held until the store has the commit that carries it: the catch-up's own.
    for event in &rest {
        write(&mut session, &[event]);
        resumed.catch_up(&mut session).unwrap();
        assert_eq!(
            resumed.pairs_held(),
            0,
            "the pairs set are stored and let go"
        );
    }
    let expected = vec![
        ("198.51.100.9".to_owned(), 2),
        ("203.0.113.5".to_owned(), 2),
    ];
    assert_eq!(new_addresses(&session), expected);
    let caught_up = session.findings().unwrap();
    DetectionRunner::rebuild(&mut session, DetectionSettings::default()).unwrap();
    assert_eq!(caught_up, session.findings().unwrap());
}

#[test]
fn notes_whose_pairs_have_no_index_gain_it_when_a_run_resumes() {
    let dir = TempDir::new().unwrap();
    let (mut session, rest) = alice_session(&dir);
    DetectionRunner::open(&mut session, DetectionSettings::default()).unwrap();
    let notes = notes_connection(&session);
    let indexed = || -> bool {
        notes
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'detect_pairs_by_hash'",
                [],
                |row| row.get::<_, i64>(0),
            )
            .unwrap()
            == 1
    };
    assert!(indexed(), "a completed rebuild indexes its pairs");
    // As notes written before the index was made.
    notes
        .execute_batch("DROP INDEX detect_pairs_by_hash")
        .unwrap();
    write(&mut session, &rest.iter().collect::<Vec<_>>());

    let (resumed, opened) =
        DetectionRunner::open(&mut session, DetectionSettings::default()).unwrap();
    assert_eq!(
        opened,
        Opened::Resumed {
            caught_up: rest.len() as u64
        }
    );
    assert!(indexed(), "the resumed run made the index");
    assert_eq!(resumed.pairs_held(), 0, "loading the pairs would hold 4");
    assert_eq!(
        new_addresses(&session),
        vec![
            ("198.51.100.9".to_owned(), 2),
            ("203.0.113.5".to_owned(), 2)
        ]
    );
}

#[test]
fn a_pass_writes_again_only_the_rule_state_that_changed() {
    // Each rule state row of a subject holds its steps of the last LATENESS_TOLERANCE_US (an
    // asset's configurations): while recording at 1,000 events/s a pass (every ~0.3 s) wrote
    // every such subject again, changed or not.
    let asset = |name: &'static str, id: &str, time: &str| Ev {
        asset: name,
        ..Ev::new(id, time)
    };
    let dir = TempDir::new().unwrap();
    let mut session = Session::open_or_create(&dir.path().join("state.tideline")).unwrap();
    write(
        &mut session,
        &[&asset("sg-a", "a-1", "2024-05-01T10:00:00Z")],
    );
    let (mut runner, _) =
        DetectionRunner::open(&mut session, DetectionSettings::default()).unwrap();
    let key = "asset:ohn:aws:111:us-east-1:x:sg-a";
    let stored = |session: &Session| {
        session
            .detect_state()
            .unwrap()
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, value)| value)
            .unwrap_or_else(|| panic!("{key} is stored"))
    };
    let recent_steps = |value: &str| {
        serde_json::from_str::<Value>(value).unwrap()["life"]["recent"]
            .as_array()
            .unwrap_or_else(|| panic!("life.recent in {value}"))
            .len()
    };
    assert_eq!(recent_steps(&stored(&session)), 1, "{}", stored(&session));
    // Marks the stored row, to see whether a pass writes it again.
    let notes = notes_connection(&session);
    let mark = |value: &str| {
        notes
            .execute(
                "UPDATE detect_state SET value = ?1 WHERE key = ?2",
                [value, key],
            )
            .unwrap()
    };
    mark("as it was");

    // Another asset, 5 minutes later: sg-a's step is still within the tolerance.
    write(
        &mut session,
        &[&asset("sg-b", "b-1", "2024-05-01T10:05:00Z")],
    );
    runner.catch_up(&mut session).unwrap();
    assert_eq!(stored(&session), "as it was", "sg-a's state did not change");

    // 20 minutes later sg-a's step settles: its state changed and is written.
    write(
        &mut session,
        &[&asset("sg-b", "b-2", "2024-05-01T10:20:00Z")],
    );
    runner.catch_up(&mut session).unwrap();
    let settled = stored(&session);
    assert_ne!(settled, "as it was");
    assert_eq!(recent_steps(&settled), 0, "{settled}");
    let settled_to = serde_json::from_str::<Value>(&settled).unwrap()["life"]["settled_to"].clone();
    assert!(settled_to.is_array(), "a step settled: {settled}");
}

#[test]
fn other_settings_or_findings_another_runner_left_unfinished_are_rebuilt() {
    let dir = TempDir::new().unwrap();
    let mut session = seed_session(&dir);
    DetectionRunner::open(&mut session, DetectionSettings::default()).unwrap();
    let epoch = session.findings_epoch().unwrap();
    let mut quieter = DetectionSettings::default();
    quieter.off_hours.rule.enabled = false;
    let (_, opened) = DetectionRunner::open(&mut session, quieter.clone()).unwrap();
    assert_eq!(opened, Opened::Rebuilt(RebuildReason::Settings));
    assert_ne!(session.findings_epoch().unwrap(), epoch);
    assert!(of(&session.findings().unwrap(), RuleId::OffHours).is_empty());

    // A rebuild that stopped half way (a process killed) is waited for once, then redone.
    session
        .begin_findings_rebuild(&quieter.fingerprint())
        .unwrap();
    let (mut runner, opened) = DetectionRunner::open(&mut session, quieter).unwrap();
    assert_eq!(opened, Opened::Waiting);
    runner.catch_up(&mut session).unwrap();
    assert!(!runner.is_waiting());
    assert!(!session.findings().unwrap().is_empty());
}

/// Waits (up to 20 s) until the keeper's state satisfies `done`; returns it.
async fn keeper_state_when(
    state: &mut tokio::sync::watch::Receiver<crate::detect::keeper::FindingsState>,
    done: impl Fn(&crate::detect::keeper::FindingsState) -> bool,
) -> crate::detect::keeper::FindingsState {
    tokio::time::timeout(std::time::Duration::from_secs(20), async {
        loop {
            if done(&state.borrow_and_update()) {
                return state.borrow().clone();
            }
            state.changed().await.unwrap();
        }
    })
    .await
    .expect("the keeper's state within 20 s")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keeper_lets_a_rebuilt_runner_go_and_resumes_for_what_is_stored_later() {
    use crate::detect::keeper::FindingsKeeper;
    let dir = TempDir::new().unwrap();
    let short_lived = |id: &str, asset: &'static str, minute: u32| {
        vec![
            Ev {
                change: "create",
                asset,
                method: "console",
                ..Ev::new(format!("{id}+"), format!("2024-05-01T10:{minute:02}:00Z"))
            },
            Ev {
                change: "delete",
                asset,
                method: "console",
                config: Value::Null,
                ..Ev::new(
                    format!("{id}-"),
                    format!("2024-05-01T10:{:02}:30Z", minute + 1),
                )
            },
        ]
    };
    let path = session_with(&dir, &short_lived("a", "tmp-a", 0))
        .path()
        .to_path_buf();
    let (_settings, settings_rx) = tokio::sync::watch::channel(DetectionSettings::default());
    let keeper = FindingsKeeper::start(path.clone(), settings_rx);
    let mut state = keeper.state();
    // The first pass rebuilds (the notes have no findings yet), then lets its runner go.
    let rebuilt = keeper_state_when(&mut state, |s| s.count > 0).await;

    // Events stored later are caught up by a runner resumed from what the rebuild stored.
    store(
        &mut Session::open_or_create(&path).unwrap(),
        &short_lived("b", "tmp-b", 5),
    );
    keeper.session_changed();
    let caught_up = keeper_state_when(&mut state, |s| s.count > rebuilt.count).await;
    assert!(caught_up.version > rebuilt.version);
    assert!(caught_up.problem.is_none(), "{:?}", caught_up.problem);
    keeper.stop();

    // What the keeper stored equals a rebuild of the whole session from scratch.
    let mut session = Session::open(&path).unwrap();
    let keys = |session: &Session| -> Vec<String> {
        let findings = session.findings().unwrap();
        findings.into_iter().map(|f| f.key).collect()
    };
    let kept = keys(&session);
    DetectionRunner::rebuild(&mut session, DetectionSettings::default()).unwrap();
    assert_eq!(kept, keys(&session));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keeper_says_it_is_reading_until_its_findings_cover_the_session() {
    use crate::detect::keeper::FindingsKeeper;
    let dir = TempDir::new().unwrap();
    let path = seed_session(&dir).path().to_path_buf();
    let settings = DetectionSettings::default();
    // Another process began a rebuild and has not finished it (or died in it).
    Session::open(&path)
        .unwrap()
        .begin_findings_rebuild(&settings.fingerprint())
        .unwrap();
    let (settings_tx, settings_rx) = tokio::sync::watch::channel(settings);
    let keeper = FindingsKeeper::start(path.clone(), settings_rx);
    let mut state = keeper.state();
    assert!(state.borrow().reading, "before the first pass ends");

    // The first pass only looks: the findings are that other rebuild's, still being made.
    let looked = keeper_state_when(&mut state, |s| !s.statuses.is_empty()).await;
    assert!(looked.reading, "{looked:?}");
    assert_eq!(looked.count, 0);
    // Not moved on when looked at again: redone here, and then they cover the session.
    let done = keeper_state_when(&mut state, |s| !s.reading).await;
    assert!(done.count > 0, "{done:?}");

    // Other settings, whose rebuild another process has begun: reading again until it is done.
    let mut quieter = DetectionSettings::default();
    quieter.off_hours.rule.enabled = false;
    Session::open(&path)
        .unwrap()
        .begin_findings_rebuild(&quieter.fingerprint())
        .unwrap();
    settings_tx.send_replace(quieter);
    let again = keeper_state_when(&mut state, |s| s.reading).await;
    assert!(again.problem.is_none(), "{:?}", again.problem);
    let redone = keeper_state_when(&mut state, |s| !s.reading).await;
    assert!(redone.count > 0, "{redone:?}");
    keeper.stop();
}

#[test]
fn a_rebuild_reports_how_far_it_has_read_and_so_does_one_a_catch_up_runs() {
    use crate::detect::RebuildProgress;
    let dir = TempDir::new().unwrap();
    let mut session = seed_session(&dir);
    let events = session.count_events(None).unwrap();
    assert!(events > 0);
    let progress = std::sync::Arc::new(RebuildProgress::default());
    assert_eq!(progress.get(), (0, 0), "before any rebuild");
    let settings = DetectionSettings::default();
    let (mut runner, opened) =
        DetectionRunner::open_reporting(&mut session, settings.clone(), progress.clone()).unwrap();
    assert_eq!(opened, Opened::Rebuilt(RebuildReason::Missing));
    assert_eq!(progress.get(), (events, events));

    // Another runner's rebuild that stalled: this runner's catch-up waits once, then redoes it,
    // and reports that rebuild where it reported its own.
    progress.reset();
    session
        .begin_findings_rebuild(&settings.fingerprint())
        .unwrap();
    runner.catch_up(&mut session).unwrap();
    assert!(runner.is_waiting());
    assert_eq!(progress.get(), (0, 0), "waiting reads nothing");
    runner.catch_up(&mut session).unwrap();
    assert!(!runner.is_waiting());
    assert_eq!(progress.get(), (events, events));
}
