//! The story's own Terraform runs: `prod-db-sg` changed as code before and after the
//! attack (ending exactly at the capture's starting state), a retired bastion group, new
//! assets, and Monday's first runs that give every region history before any create.

use chrono::NaiveDate;
use serde_json::{Value, json};

use super::edits::{Edit, Op};
use super::inventory as inv;
use super::people::{PROD, STAGING};
use super::week::{Apply, Planner, Step, at, authorize};

impl Planner {
    /// Terraform runs that carry the story's planned changes (and Monday's first runs,
    /// which make sure every region has history before anything is created in it).
    pub(super) fn scripted_applies(&mut self, index: usize, day: NaiveDate) -> Vec<Apply> {
        let n = &self.named;
        let (prod_db_sg, bastion_sg, prod_db) = (n.prod_db_sg, n.bastion_sg, n.prod_db);
        let mut applies = Vec::new();
        let mut apply = |time, account, steps| {
            applies.push(Apply {
                time,
                account,
                steps,
            })
        };
        let find = |name: &str| {
            self.pool
                .iter()
                .find(|(_, i, _)| self.inv.get(*i).asset.display_name.as_deref() == Some(name))
                .map(|p| p.1)
                .expect("named asset")
        };
        match index {
            0 => {
                apply(
                    at(day, 8, 21),
                    PROD,
                    vec![
                        Step::Any(find("eu-web-sg")),
                        Step::Any(find("payments-app-role")),
                    ],
                );
                let staging = ["staging-app-sg", "staging-eu-sg", "staging-deployer"]
                    .map(|name| Step::Any(find(name)));
                apply(at(day, 8, 34), STAGING, staging.into());
            }
            1 => {
                let revoke = revoke_bastion_rule();
                apply(at(day, 10, 7), PROD, vec![Step::Fixed(prod_db_sg, revoke)]);
                let (entry, config) = inv::security_group(
                    STAGING,
                    "us-east-1",
                    "sg-05f6a7b8c9d0e1f2a",
                    "reporting-sg",
                    "Reporting workers",
                    Vec::new(),
                    &[("Name", "reporting-sg"), ("env", "staging")],
                    false,
                );
                let sg = self.inv.add(entry);
                self.pool.push((STAGING, sg, 2));
                let rule = inv::cidr_rule(5432, "10.50.12.0/24", "reporting subnet");
                apply(
                    at(day, 11, 42),
                    STAGING,
                    vec![
                        Step::Fixed(sg, create_sg(&config)),
                        Step::Fixed(sg, authorize("sg-05f6a7b8c9d0e1f2a", rule)),
                    ],
                );
            }
            2 => {
                let delete = Op::new(
                    "DeleteSecurityGroup",
                    Edit::Delete,
                    json!({ "groupId": inv::LEGACY_BASTION_SG }),
                    json!({ "_return": true }),
                );
                apply(at(day, 11, 3), PROD, vec![Step::Fixed(bastion_sg, delete)]);
                let name = "payments-exports-eu-123456789012";
                let (entry, config) = inv::bucket(
                    PROD,
                    "eu-west-1",
                    name,
                    &[("team", "payments"), ("managed-by", "terraform")],
                    false,
                );
                let bucket = self.inv.add(entry);
                self.pool.push((PROD, bucket, 3));
                let create = Op::new(
                    "CreateBucket",
                    Edit::Create(config),
                    json!({ "bucketName": name, "CreateBucketConfiguration": { "LocationConstraint": "eu-west-1" } }),
                    Value::Null,
                );
                let versioning = Op::new(
                    "PutBucketVersioning",
                    Edit::Set(&["Versioning", "Status"], json!("Enabled")),
                    json!({ "bucketName": name, "VersioningConfiguration": { "Status": "Enabled" } }),
                    Value::Null,
                );
                apply(
                    at(day, 14, 26),
                    PROD,
                    vec![Step::Fixed(bucket, create), Step::Fixed(bucket, versioning)],
                );
            }
            3 => {
                let untag = Op::ec2_untag(inv::PROD_DB_SG, "cost-center");
                let retention = Op::new(
                    "ModifyDBInstance",
                    Edit::Set(&["BackupRetentionPeriod"], json!(14)),
                    json!({ "dBInstanceIdentifier": "prod-payments-db", "backupRetentionPeriod": 14, "applyImmediately": true }),
                    json!({ "dBInstanceIdentifier": "prod-payments-db", "backupRetentionPeriod": 14 }),
                );
                apply(
                    at(day, 14, 12),
                    PROD,
                    vec![
                        Step::Fixed(prod_db_sg, untag),
                        Step::Fixed(prod_db, retention),
                    ],
                );
            }
            5 => {
                let tag = Op::ec2_tag(inv::PROD_DB_SG, "data-classification", "restricted".into());
                apply(at(day, 10, 31), PROD, vec![Step::Fixed(prod_db_sg, tag)]);
            }
            _ => {}
        }
        applies
    }
}

fn revoke_bastion_rule() -> Op {
    let request = json!({ "groupId": inv::PROD_DB_SG, "ipPermissions": { "items": [{
        "ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432,
        "groups": { "items": [{ "groupId": inv::LEGACY_BASTION_SG }] },
    }]}});
    Op::new(
        "RevokeSecurityGroupIngress",
        Edit::RemoveGroupPair(inv::LEGACY_BASTION_SG),
        request,
        json!({ "_return": true }),
    )
}

fn create_sg(config: &Value) -> Op {
    let request = json!({ "groupName": config["GroupName"], "groupDescription": config["Description"], "vpcId": config["VpcId"] });
    Op::new(
        "CreateSecurityGroup",
        Edit::Create(config.clone()),
        request,
        json!({ "_return": true, "groupId": config["GroupId"] }),
    )
}
