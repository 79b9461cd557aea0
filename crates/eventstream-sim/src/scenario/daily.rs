//! The background's daily routines besides Terraform: autoscaling, asmith's snapshot
//! rotation, bwong's instance work, and jdoe's own changes from his office address.

use chrono::{Duration, NaiveDate};
use rand::RngExt;
use serde_json::{Value, json};

use super::edits::{Edit, Op};
use super::inventory as inv;
use super::people::{self, Account, PROD, STAGING};
use super::week::Planner;

/// An Auto Scaling group and how many instances a day's scale-out adds.
struct ScalingGroup {
    account: Account,
    region: &'static str,
    name: &'static str,
    security_group: (&'static str, &'static str),
    instance_type: &'static str,
    adds: (u32, u32),
}

const GROUPS: [ScalingGroup; 3] = [
    ScalingGroup {
        account: PROD,
        region: "us-east-1",
        name: "web-asg",
        security_group: (inv::APP_SG, "app-sg"),
        instance_type: "m6i.large",
        adds: (3, 5),
    },
    ScalingGroup {
        account: PROD,
        region: "eu-west-1",
        name: "eu-web-asg",
        security_group: ("sg-0e9d8c7b6a5f40312", "eu-web-sg"),
        instance_type: "m6i.large",
        adds: (1, 2),
    },
    ScalingGroup {
        account: STAGING,
        region: "us-east-1",
        name: "staging-web-asg",
        security_group: (inv::STAGING_APP_SG, "staging-app-sg"),
        instance_type: "t3.medium",
        adds: (1, 1),
    },
];

fn instance_state(id: &str, from: (u32, &str), to: (u32, &str)) -> Value {
    json!({ "instancesSet": { "items": [{
        "instanceId": id,
        "previousState": { "code": from.0, "name": from.1 },
        "currentState": { "code": to.0, "name": to.1 },
    }]}})
}

fn instance_ids(id: &str) -> Value {
    json!({ "instancesSet": { "items": [{ "instanceId": id }] } })
}

impl Planner {
    /// Morning scale-out, evening scale-in of the same instances, by the provider.
    pub(super) fn autoscaling(&mut self, day: NaiveDate) {
        for ScalingGroup {
            account,
            region,
            name: group,
            security_group: sg,
            instance_type,
            adds: (low, high),
        } in GROUPS
        {
            let mut up = self.between(day, (9, 0), (9, 40));
            let mut down = self.between(day, (17, 30), (17, 50));
            for _ in 0..self.rng.random_range(low..=high) {
                up += Duration::milliseconds(self.rng.random_range(30_000..420_000));
                down += Duration::milliseconds(self.rng.random_range(30_000..420_000));
                let id = format!("i-0{}", self.hex(16));
                let launched = up.format("%Y-%m-%dT%H:%M:%SZ").to_string();
                let name = format!("{group}-node");
                let (entry, config) = inv::instance(
                    account,
                    region,
                    &id,
                    &name,
                    instance_type,
                    sg,
                    Some(group),
                    &launched,
                    false,
                );
                let asset = self.add(entry);
                let request = json!({
                    "instanceType": instance_type, "imageId": "ami-0c0ffee1234567890",
                    "minCount": 1, "maxCount": 1, "subnetId": config["SubnetId"],
                });
                let run = Op::new(
                    "RunInstances",
                    Edit::Create(config),
                    request,
                    instance_ids(&id),
                );
                self.push(up, people::autoscaling(up), asset, run);
                let response = instance_state(&id, (16, "running"), (32, "shutting-down"));
                let terminate = Op::new(
                    "TerminateInstances",
                    Edit::Delete,
                    instance_ids(&id),
                    response,
                );
                self.push(down, people::autoscaling(down), asset, terminate);
            }
        }
    }

    /// asmith and bwong, each on the CLI from their own office address.
    pub(super) fn engineers(&mut self, index: usize, day: NaiveDate) {
        let date = day.format("%Y-%m-%d").to_string();
        // asmith: a daily snapshot of the batch volume, and the one from two weekdays ago goes.
        let time = self.between(day, (8, 40), (9, 50));
        let asmith = people::asmith(PROD, time - Duration::minutes(12));
        let id = format!("snap-0{}", self.hex(16));
        let started = time.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let (entry, config) = inv::snapshot(PROD, &id, inv::BATCH_VOLUME, &started, false);
        let snapshot = self.add(entry);
        let request =
            json!({ "volumeId": inv::BATCH_VOLUME, "description": config["Description"] });
        let response = json!({ "snapshotId": id, "volumeId": inv::BATCH_VOLUME, "status": "pending", "startTime": started });
        self.push(
            time,
            asmith.clone(),
            snapshot,
            Op::new("CreateSnapshot", Edit::Create(config), request, response),
        );
        let old = self.snapshots.remove(0);
        self.snapshots.push(snapshot);
        let old_id = self.inv.get(old).asset.provider_id.clone();
        let later = time + Duration::milliseconds(self.rng.random_range(40_000..240_000));
        let delete = Op::new(
            "DeleteSnapshot",
            Edit::Delete,
            json!({ "snapshotId": old_id }),
            json!({ "_return": true }),
        );
        self.push(later, asmith, old, delete);

        if index == 1 || index == 3 {
            let time = self.between(day, (13, 0), (16, 0));
            let id = self
                .inv
                .get(self.named.staging_batch)
                .asset
                .provider_id
                .clone();
            let actor = people::asmith(STAGING, time - Duration::minutes(20));
            self.push(
                time,
                actor,
                self.named.staging_batch,
                Op::ec2_tag(&id, "patched", date.clone()),
            );
        }

        // bwong: patch tags on a production worker (Monday's is the week's first change).
        let window = match index {
            0 => Some(((8, 10), (8, 15))),
            2 => Some(((13, 0), (14, 0))),
            4 => Some(((11, 0), (12, 0))),
            _ => None,
        };
        if let Some((from, to)) = window {
            let time = self.between(day, from, to);
            let worker = self.named.batch_worker_2;
            let id = self.inv.get(worker).asset.provider_id.clone();
            let actor = people::bwong(PROD, time - Duration::minutes(8));
            self.push(
                time,
                actor,
                worker,
                Op::ec2_tag(&id, "patch-level", date.clone()),
            );
        }
        self.loadtest(index, day);
    }

    /// bwong's staging load-test box: launched Tuesday, retagged, stopped Friday,
    /// terminated the next Monday.
    fn loadtest(&mut self, index: usize, day: NaiveDate) {
        let id = "i-05a1b2c3d4e5f6a7b";
        let time = match index {
            1 => self.between(day, (10, 0), (10, 30)),
            2 | 3 => self.between(day, (15, 0), (16, 0)),
            4 => self.between(day, (16, 0), (16, 30)),
            5 => self.between(day, (11, 0), (11, 30)),
            _ => return,
        };
        let actor = people::bwong(STAGING, time - Duration::minutes(15));
        let op = match index {
            1 => {
                let launched = time.format("%Y-%m-%dT%H:%M:%SZ").to_string();
                let sg = (inv::STAGING_APP_SG, "staging-app-sg");
                let (entry, config) = inv::instance(
                    STAGING,
                    "us-east-1",
                    id,
                    "bwong-loadtest",
                    "m6i.xlarge",
                    sg,
                    None,
                    &launched,
                    false,
                );
                self.loadtest = Some(self.add(entry));
                let request = json!({ "instanceType": "m6i.xlarge", "imageId": "ami-0c0ffee1234567890", "minCount": 1, "maxCount": 1 });
                Op::new(
                    "RunInstances",
                    Edit::Create(config),
                    request,
                    instance_ids(id),
                )
            }
            2 | 3 => Op::ec2_tag(id, "loadtest-run", format!("run-{}", index - 1)),
            4 => {
                let edit = Edit::Set(&["State", "Name"], json!("stopped"));
                Op::new(
                    "StopInstances",
                    edit,
                    instance_ids(id),
                    instance_state(id, (16, "running"), (64, "stopping")),
                )
            }
            _ => {
                let response = instance_state(id, (80, "stopped"), (48, "terminated"));
                Op::new(
                    "TerminateInstances",
                    Edit::Delete,
                    instance_ids(id),
                    response,
                )
            }
        };
        let asset = self.loadtest.expect("launched on Tuesday");
        self.push(time, actor, asset, op);
    }

    /// jdoe's ordinary week: a few console and CLI changes to his team's own
    /// (not Terraform-managed) function and bucket, always from 192.0.2.77.
    pub(super) fn jdoe(&mut self, index: usize, day: NaiveDate) {
        let (function, bucket) = (self.named.report_fn, self.named.scratch_bucket);
        let bucket_name = self.inv.get(bucket).asset.provider_id.clone();
        let config_op = |path: &'static [&'static str], key: &str, value: u32| {
            let request = json!({ "functionName": "finance-report-builder", key: value });
            let edit = Edit::Set(path, json!(value));
            Op::new(
                "UpdateFunctionConfiguration20150331v2",
                edit,
                request,
                json!({ "functionName": "finance-report-builder" }),
            )
        };
        let (time, actor, asset, op) = match index {
            1 => {
                let time = self.between(day, (10, 40), (11, 0));
                (
                    time,
                    people::jdoe_console(time - Duration::minutes(6)),
                    function,
                    config_op(&["Timeout"], "timeout", 60),
                )
            }
            2 => {
                let time = self.between(day, (14, 20), (14, 40));
                (
                    time,
                    people::jdoe_cli(time),
                    bucket,
                    Op::bucket_tag(&bucket_name, "owner", "jdoe".into()),
                )
            }
            3 => {
                let time = self.between(day, (11, 10), (11, 30));
                (
                    time,
                    people::jdoe_console(time - Duration::minutes(4)),
                    function,
                    config_op(&["MemorySize"], "memorySize", 1024),
                )
            }
            4 => {
                let time = self.between(day, (9, 30), (9, 50));
                (
                    time,
                    people::jdoe_cli(time),
                    bucket,
                    Op::bucket_lifecycle(&bucket_name, 30),
                )
            }
            _ => return,
        };
        self.push(time, actor, asset, op);
    }
}
