//! The background week (Mon 2024-04-29 .. Mon 2024-05-06, weekdays 08:00-19:00 UTC):
//! who changes what and when. Terraform applies from CI, engineers on the CLI, jdoe's
//! usual changes, and autoscaling. Configurations are filled in later, in time order.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

use super::edits::{Edit, Op, trail_rule};
use super::inventory::{self as inv, Entry, Inventory};
use super::people::{self, Account, PROD, STAGING};
use crate::cloud::AssetKind;
use crate::cloud::actors::Actor;

/// One background API call, before its configuration is known.
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    pub time: DateTime<Utc>,
    pub actor: Actor,
    pub asset: usize,
    pub op: Op,
}

/// The week's assets and calls.
pub(crate) struct Week {
    pub inventory: Inventory,
    pub planned: Vec<Planned>,
}

const DAYS: [(i32, u32, u32); 6] = [
    (2024, 4, 29),
    (2024, 4, 30),
    (2024, 5, 1),
    (2024, 5, 2),
    (2024, 5, 3),
    (2024, 5, 6),
];

/// Actions Terraform adds to roles' inline policies, one per change.
const POLICY_ACTIONS: [&str; 8] = [
    "s3:ListBucket",
    "kms:Decrypt",
    "sqs:SendMessage",
    "logs:PutLogEvents",
    "secretsmanager:GetSecretValue",
    "dynamodb:GetItem",
    "sns:Publish",
    "xray:PutTraceSegments",
];

/// A Terraform apply step: a scripted call, or "some change" chosen when expanded.
pub(super) enum Step {
    Fixed(usize, Op),
    Any(usize),
}

pub(super) struct Apply {
    pub(super) time: DateTime<Utc>,
    pub(super) account: Account,
    pub(super) steps: Vec<Step>,
}

/// Named assets the script refers to.
pub(super) struct Named {
    pub(super) prod_db_sg: usize,
    pub(super) bastion_sg: usize,
    pub(super) prod_db: usize,
    pub(super) batch_worker_2: usize,
    pub(super) staging_batch: usize,
    pub(super) report_fn: usize,
    pub(super) scratch_bucket: usize,
}

/// Builds the plan day by day; `daily.rs` holds the non-Terraform routines.
pub(super) struct Planner {
    pub(super) rng: StdRng,
    pub(super) inv: Inventory,
    planned: Vec<Planned>,
    pub(super) named: Named,
    /// Terraform-managed assets open to routine changes, with the first day they exist.
    pub(super) pool: Vec<(Account, usize, usize)>,
    revisions: HashMap<usize, u32>,
    run: u32,
    ticket: u32,
    cidr: u32,
    /// Snapshots awaiting deletion, oldest first (a two-weekday rotation).
    pub(super) snapshots: Vec<usize>,
    pub(super) loadtest: Option<usize>,
}

/// Plans the week. `prod_db_sg_before_capture` is the captured event 1's
/// `previous_config`, which Terraform's changes to `prod-db-sg` must arrive at.
pub(crate) fn plan(seed: u64, prod_db_sg_before_capture: &Value) -> Week {
    let mut planner = Planner::new(seed, prod_db_sg_before_capture);
    for (day_index, (y, m, d)) in DAYS.into_iter().enumerate() {
        let day = NaiveDate::from_ymd_opt(y, m, d).expect("valid date");
        planner.plan_day(day_index, day);
    }
    Week {
        inventory: planner.inv,
        planned: planner.planned,
    }
}

pub(super) fn at(day: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    day.and_hms_opt(hour, minute, 0)
        .expect("valid time")
        .and_utc()
}

impl Planner {
    fn new(seed: u64, prod_db_before: &Value) -> Self {
        let mut inv = Inventory::default();
        let (prod_db_entry, _) = inv::security_group(
            PROD,
            "us-east-1",
            inv::PROD_DB_SG,
            "prod-db-sg",
            "Postgres for prod app tier",
            Vec::new(),
            &[],
            true,
        );
        let prod_db_sg = inv.add(Entry {
            initial: Some(inv::prod_db_sg_monday(prod_db_before)),
            ..prod_db_entry
        });
        let mut pool = Vec::new();
        for entry in inv::terraform_managed() {
            let account = entry.account;
            pool.push((account, inv.add(entry), 0));
        }
        let bastion = inv::security_group(
            PROD,
            "us-east-1",
            inv::LEGACY_BASTION_SG,
            "legacy-bastion-sg",
            "Old bastion hosts",
            vec![inv::cidr_rule(22, "192.0.2.0/24", "office ssh")],
            &[("Name", "legacy-bastion-sg")],
            true,
        );
        let bastion_sg = inv.add(bastion.0);
        let prod_db = inv.add(inv::database(PROD, "prod-payments-db", inv::PROD_DB_SG));
        let worker = |id: &str, name: &str, account: Account, sg: (&str, &str)| {
            inv::instance(
                account,
                "us-east-1",
                id,
                name,
                "c6i.xlarge",
                sg,
                None,
                "2024-03-11T10:02:44Z",
                true,
            )
            .0
        };
        inv.add(worker(
            "i-0b7c8d9e0f1a2b3c4",
            "batch-worker-1",
            PROD,
            (inv::APP_SG, "app-sg"),
        ));
        let batch_worker_2 = inv.add(worker(
            "i-0c8d9e0f1a2b3c4d5",
            "batch-worker-2",
            PROD,
            (inv::APP_SG, "app-sg"),
        ));
        let staging_batch = inv.add(worker(
            "i-05e6f7a8b9c0d1e2f",
            "staging-batch-1",
            STAGING,
            (inv::STAGING_APP_SG, "staging-app-sg"),
        ));
        let report_fn = inv.add(inv::function(
            PROD,
            "us-east-1",
            "finance-report-builder",
            "finance-reports-role",
            "finance",
        ));
        let scratch = inv::bucket(
            PROD,
            "us-east-1",
            "finance-reports-scratch-123456789012",
            &[("team", "finance")],
            true,
        );
        let scratch_bucket = inv.add(scratch.0);
        let snapshots = ["2024-04-25T09:01:13Z", "2024-04-26T09:12:40Z"]
            .iter()
            .enumerate()
            .map(|(n, started)| {
                let id = format!("snap-0a1b2c3d4e5f6a7b{n}");
                inv.add(inv::snapshot(PROD, &id, inv::BATCH_VOLUME, started, true).0)
            })
            .collect();
        Self {
            rng: StdRng::seed_from_u64(seed),
            inv,
            planned: Vec::new(),
            named: Named {
                prod_db_sg,
                bastion_sg,
                prod_db,
                batch_worker_2,
                staging_batch,
                report_fn,
                scratch_bucket,
            },
            pool,
            revisions: HashMap::new(),
            run: 8781,
            ticket: 4810,
            cidr: 0,
            snapshots,
            loadtest: None,
        }
    }

    /// A random instant in `[from, to)` hours:minutes of `day`, to the millisecond.
    pub(super) fn between(
        &mut self,
        day: NaiveDate,
        from: (u32, u32),
        to: (u32, u32),
    ) -> DateTime<Utc> {
        let start = at(day, from.0, from.1);
        let span = (at(day, to.0, to.1) - start).num_milliseconds();
        start + Duration::milliseconds(self.rng.random_range(0..span))
    }

    pub(super) fn push(&mut self, time: DateTime<Utc>, actor: Actor, asset: usize, op: Op) {
        self.planned.push(Planned {
            time,
            actor,
            asset,
            op,
        });
    }

    pub(super) fn add(&mut self, entry: Entry) -> usize {
        self.inv.add(entry)
    }

    pub(super) fn hex(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| char::from_digit(self.rng.random_range(0..16), 16).expect("hex digit"))
            .collect()
    }

    fn plan_day(&mut self, index: usize, day: NaiveDate) {
        let mut applies = self.scripted_applies(index, day);
        for (account, range) in [(PROD, 3..=5), (STAGING, 1..=3)] {
            for _ in 0..self.rng.random_range(range) {
                let time = self.between(day, (9, 0), (17, 30));
                applies.push(Apply {
                    time,
                    account,
                    steps: Vec::new(),
                });
            }
        }
        applies.sort_by_key(|a| a.time);
        for apply in applies {
            self.expand_apply(index, apply);
        }
        self.autoscaling(day);
        self.engineers(index, day);
        self.jdoe(index, day);
    }

    fn expand_apply(&mut self, day_index: usize, apply: Apply) {
        self.run += if self.run + 1 == 8812 { 2 } else { 1 };
        self.ticket += 1;
        let lead = Duration::seconds(self.rng.random_range(40..150));
        let actor = people::terraform(apply.account, self.run, apply.time - lead);
        let mut steps = apply.steps;
        if steps.is_empty() {
            let mut candidates: Vec<usize> = (self.pool.iter())
                .filter(|(account, _, from)| *account == apply.account && *from <= day_index)
                .map(|p| p.1)
                .collect();
            for _ in 0..self.rng.random_range(1..=3) {
                let pick = candidates.swap_remove(self.rng.random_range(0..candidates.len()));
                steps.push(Step::Any(pick));
            }
        }
        let mut time = apply.time;
        for step in steps {
            time += Duration::milliseconds(self.rng.random_range(2_000..25_000));
            let (asset, op) = match step {
                Step::Fixed(asset, op) => (asset, op),
                Step::Any(asset) => (asset, self.routine_change(asset, time)),
            };
            self.push(time, actor.clone(), asset, op);
        }
    }

    /// A routine Terraform change whose result differs from every earlier state
    /// (fresh ticket numbers, revisions and addresses), so nothing ever flips back.
    fn routine_change(&mut self, asset: usize, time: DateTime<Utc>) -> Op {
        let revision = *self
            .revisions
            .entry(asset)
            .and_modify(|r| *r += 1)
            .or_insert(1);
        let ticket = format!("CHG-{}", self.ticket);
        let choice = self.rng.random_range(0..3u32);
        let entry = self.inv.get(asset);
        let id = entry.asset.provider_id.clone();
        let first_rule = entry
            .initial
            .as_ref()
            .map(|c| c["IpPermissions"][0].clone());
        match entry.asset.kind {
            AssetKind::SecurityGroup => match (choice, first_rule) {
                (0, Some(mut rule)) if rule.is_object() => {
                    let text = format!("reviewed in {ticket}");
                    let grant = if rule["IpRanges"].as_array().is_some_and(|a| !a.is_empty()) {
                        "IpRanges"
                    } else {
                        "UserIdGroupPairs"
                    };
                    rule[grant][0]["Description"] = json!(text);
                    let request =
                        json!({ "groupId": id, "ipPermissions": { "items": [trail_rule(&rule)] } });
                    Op::new(
                        "UpdateSecurityGroupRuleDescriptionsIngress",
                        Edit::DescribeFirstRule(text),
                        request,
                        json!({ "_return": true }),
                    )
                }
                (1, _) => {
                    self.cidr += 1;
                    let port = [443, 8443, 9090, 6379, 5672][self.cidr as usize % 5];
                    let cidr = format!("10.{}.{}.0/24", 100 + self.cidr / 200, self.cidr % 200);
                    authorize(&id, inv::cidr_rule(port, &cidr, &ticket))
                }
                _ => Op::ec2_tag(&id, "last-change", ticket),
            },
            AssetKind::Bucket if choice == 0 => Op::bucket_lifecycle(&id, 30 + 15 * revision),
            AssetKind::Bucket => Op::bucket_tag(&id, "last-change", ticket),
            AssetKind::Function if choice == 0 => {
                let sha = format!("{}=", self.hex(43));
                let modified = time.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string();
                let request = json!({ "functionName": id, "s3Bucket": "acme-lambda-artifacts", "s3Key": format!("{id}/{}.zip", &sha[..12]) });
                let response =
                    json!({ "functionName": id, "codeSha256": sha, "lastModified": modified });
                let edit = Edit::Set(&["CodeSha256"], json!(sha));
                Op::new("UpdateFunctionCode20150331v2", edit, request, response)
            }
            AssetKind::Function => {
                let release = format!("{}-{revision}", time.format("%Y.%m.%d"));
                let request = json!({ "functionName": id, "environment": { "variables": { "RELEASE": release } } });
                let edit = Edit::Set(&["Environment", "Variables", "RELEASE"], json!(release));
                Op::new(
                    "UpdateFunctionConfiguration20150331v2",
                    edit,
                    request,
                    json!({ "functionName": id }),
                )
            }
            AssetKind::Role if choice < 2 && (revision as usize) <= POLICY_ACTIONS.len() => {
                let action = POLICY_ACTIONS[revision as usize - 1];
                let name = entry.asset.display_name.clone().unwrap_or_default();
                let request = json!({ "roleName": name, "policyName": format!("{name}-inline"), "policyDocument": format!("{{\"Statement\":[{{\"Action\":[\"{action}\"]}}]}}") });
                Op::new(
                    "PutRolePolicy",
                    Edit::AddPolicyAction(action),
                    request,
                    Value::Null,
                )
            }
            _ => {
                let name = entry.asset.display_name.clone().unwrap_or_default();
                let request = json!({ "roleName": name, "tags": [{ "key": "last-change", "value": ticket }] });
                Op::new(
                    "TagRole",
                    Edit::SetTag("last-change", ticket),
                    request,
                    Value::Null,
                )
            }
        }
    }
}

pub(super) fn authorize(group: &str, rule: Value) -> Op {
    let request = json!({ "groupId": group, "ipPermissions": { "items": [trail_rule(&rule)] } });
    Op::new(
        "AuthorizeSecurityGroupIngress",
        Edit::AddIngress(rule),
        request,
        json!({ "_return": true }),
    )
}
