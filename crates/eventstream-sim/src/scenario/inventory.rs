//! The seed-incident scenario's assets: what exists before the week starts, with its
//! configuration, and builders for what gets created during it.

use serde_json::{Value, json};

use super::people::{Account, PROD, STAGING};
use crate::cloud::{Asset, AssetKind, Association};

/// One asset the background may change.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub asset: Asset,
    pub account: Account,
    /// Configuration before the week (`None`: created during it).
    pub initial: Option<Value>,
    pub associations: Vec<Association>,
}

/// All assets, addressed by index.
#[derive(Debug, Default)]
pub(crate) struct Inventory {
    entries: Vec<Entry>,
}

impl Inventory {
    pub fn add(&mut self, entry: Entry) -> usize {
        self.entries.push(entry);
        self.entries.len() - 1
    }

    pub fn get(&self, i: usize) -> &Entry {
        &self.entries[i]
    }
}

/// The VPC and subnet of an account's region.
pub(crate) fn network(account: Account, region: &str) -> (&'static str, &'static str) {
    match (account == PROD, region) {
        (true, "us-east-1") => ("vpc-0a11b22c33d44e55f", "subnet-0aa11bb22cc33dd44"),
        (true, _) => ("vpc-0e1f2a3b4c5d6e7f0", "subnet-0e2f3a4b5c6d7e8f9"),
        (false, "us-east-1") => ("vpc-05a6b7c8d9e0f1a2b", "subnet-05b6c7d8e9f0a1b2c"),
        (false, _) => ("vpc-07c8d9e0f1a2b3c4d", "subnet-07d8e9f0a1b2c3d4e"),
    }
}

fn asset(
    account: Account,
    region: &'static str,
    kind: AssetKind,
    id: &str,
    name: Option<&str>,
) -> Asset {
    Asset {
        account: account.id,
        region,
        kind,
        provider_id: id.to_owned(),
        display_name: name.map(str::to_owned),
    }
}

fn tag_list(tags: &[(&str, &str)]) -> Value {
    Value::Array(
        tags.iter()
            .map(|(k, v)| json!({ "Key": k, "Value": v }))
            .collect(),
    )
}

/// An ingress rule from a CIDR block.
pub(crate) fn cidr_rule(port: u16, cidr: &str, description: &str) -> Value {
    json!({
        "IpProtocol": "tcp", "FromPort": port, "ToPort": port,
        "IpRanges": [{ "CidrIp": cidr, "Description": description }],
        "UserIdGroupPairs": [],
    })
}

fn group_rule(account: Account, port: u16, group: &str, description: &str) -> Value {
    json!({
        "IpProtocol": "tcp", "FromPort": port, "ToPort": port,
        "IpRanges": [],
        "UserIdGroupPairs": [{ "GroupId": group, "UserId": account.id, "Description": description }],
    })
}

/// A security group, pre-existing or (with `exists = false`) about to be created.
#[allow(clippy::too_many_arguments)]
pub(crate) fn security_group(
    account: Account,
    region: &'static str,
    id: &str,
    name: &str,
    description: &str,
    ingress: Vec<Value>,
    tags: &[(&str, &str)],
    exists: bool,
) -> (Entry, Value) {
    let (vpc, _) = network(account, region);
    let config = json!({
        "GroupId": id, "GroupName": name, "Description": description,
        "VpcId": vpc, "OwnerId": account.id,
        "IpPermissions": ingress,
        "IpPermissionsEgress": [{ "IpProtocol": "-1", "IpRanges": [{ "CidrIp": "0.0.0.0/0" }] }],
        "Tags": tag_list(tags),
    });
    let entry = Entry {
        asset: asset(account, region, AssetKind::SecurityGroup, id, Some(name)),
        account,
        initial: exists.then(|| config.clone()),
        associations: vec![Association::named(
            account.id,
            region,
            "network.vpc",
            vpc,
            "member_of",
        )],
    };
    (entry, config)
}

/// A bucket; `exists = false` for one created during the week.
pub(crate) fn bucket(
    account: Account,
    region: &'static str,
    name: &str,
    tags: &[(&str, &str)],
    exists: bool,
) -> (Entry, Value) {
    let config = json!({
        "Name": name, "Region": region, "CreationDate": "2023-02-14T09:30:00Z",
        "Versioning": { "Status": if exists { "Enabled" } else { "Suspended" } },
        "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": true, "IgnorePublicAcls": true,
            "BlockPublicPolicy": true, "RestrictPublicBuckets": true,
        },
        "TagSet": tag_list(tags),
    });
    let entry = Entry {
        asset: asset(account, region, AssetKind::Bucket, name, Some(name)),
        account,
        initial: exists.then(|| config.clone()),
        associations: Vec::new(),
    };
    (entry, config)
}

pub(crate) fn function(
    account: Account,
    region: &'static str,
    name: &str,
    role: &str,
    team: &str,
) -> Entry {
    let config = json!({
        "FunctionName": name,
        "FunctionArn": format!("arn:aws:lambda:{region}:{}:function:{name}", account.id),
        "Runtime": "python3.12", "Handler": "app.handler",
        "Role": format!("arn:aws:iam::{}:role/{role}", account.id),
        "MemorySize": 512, "Timeout": 30,
        "CodeSha256": "pQxR0bZ2m5Q8yVn1sT3uW6eH9kJ4cF7aD2gL5oN8rE0=",
        "Version": "$LATEST", "LastModified": "2024-04-22T15:04:11.000+0000",
        "Environment": { "Variables": { "LOG_LEVEL": "info", "RELEASE": "2024.04.22-1" } },
        "Tags": { "team": team },
    });
    Entry {
        asset: asset(account, region, AssetKind::Function, name, Some(name)),
        account,
        initial: Some(config),
        associations: vec![Association::named(
            account.id,
            "global",
            "iam.role",
            role,
            "execution_role",
        )],
    }
}

pub(crate) fn role(
    account: Account,
    name: &str,
    role_id: &str,
    actions: &[&str],
    resource: &str,
) -> Entry {
    let config = json!({
        "RoleName": name, "RoleId": role_id, "Path": "/",
        "Arn": format!("arn:aws:iam::{}:role/{name}", account.id),
        "MaxSessionDuration": 3600,
        "AssumeRolePolicyDocument": { "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": { "Service": "lambda.amazonaws.com" }, "Action": "sts:AssumeRole",
        }]},
        "RolePolicyList": [{ "PolicyName": format!("{name}-inline"), "PolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [{ "Effect": "Allow", "Action": actions, "Resource": resource }],
        }}],
        "Tags": tag_list(&[("managed-by", "terraform")]),
    });
    Entry {
        asset: asset(account, "global", AssetKind::Role, role_id, Some(name)),
        account,
        initial: Some(config),
        associations: Vec::new(),
    }
}

/// An instance; `group` names its Auto Scaling group, if any.
#[allow(clippy::too_many_arguments)]
pub(crate) fn instance(
    account: Account,
    region: &'static str,
    id: &str,
    name: &str,
    instance_type: &str,
    sg: (&str, &str),
    group: Option<&str>,
    launched: &str,
    exists: bool,
) -> (Entry, Value) {
    let (vpc, subnet) = network(account, region);
    let tags = match group {
        Some(g) => tag_list(&[("aws:autoscaling:groupName", g), ("Name", name)]),
        None => tag_list(&[("Name", name)]),
    };
    let config = json!({
        "InstanceId": id, "InstanceType": instance_type, "ImageId": "ami-0c0ffee1234567890",
        "SubnetId": subnet, "VpcId": vpc, "LaunchTime": launched,
        "State": { "Name": if exists { "running" } else { "pending" } },
        "SecurityGroups": [{ "GroupId": sg.0, "GroupName": sg.1 }],
        "Tags": tags,
    });
    let mut associations = vec![
        Association::named(account.id, region, "network.subnet", subnet, "in_subnet"),
        Association::named(account.id, region, "network.firewall", sg.0, "secured_by"),
    ];
    if let Some(g) = group {
        associations.push(Association::named(
            account.id,
            region,
            "compute.autoscaling_group",
            g,
            "member_of",
        ));
    }
    let entry = Entry {
        asset: asset(account, region, AssetKind::Instance, id, Some(name)),
        account,
        initial: exists.then(|| config.clone()),
        associations,
    };
    (entry, config)
}

/// A snapshot of a data volume.
pub(crate) fn snapshot(
    account: Account,
    id: &str,
    volume: &str,
    started: &str,
    exists: bool,
) -> (Entry, Value) {
    let date = &started[..10];
    let config = json!({
        "SnapshotId": id, "VolumeId": volume, "VolumeSize": 200, "Encrypted": true,
        "State": if exists { "completed" } else { "pending" },
        "StartTime": started, "OwnerId": account.id,
        "Description": format!("daily backup {date}"),
        "Tags": tag_list(&[("Name", &format!("batch-data-{date}")), ("backup", "daily")]),
    });
    let entry = Entry {
        asset: asset(account, "us-east-1", AssetKind::Snapshot, id, None),
        account,
        initial: exists.then(|| config.clone()),
        associations: vec![Association::named(
            account.id,
            "us-east-1",
            "storage.volume",
            volume,
            "snapshot_of",
        )],
    };
    (entry, config)
}

pub(crate) fn database(account: Account, id: &str, sg: &str) -> Entry {
    let config = json!({
        "DBInstanceIdentifier": id, "DBInstanceClass": "db.r6g.large",
        "Engine": "postgres", "EngineVersion": "15.5", "MultiAZ": true,
        "AllocatedStorage": 500, "StorageEncrypted": true, "DeletionProtection": true,
        "BackupRetentionPeriod": 7, "PreferredBackupWindow": "03:00-04:00",
        "VpcSecurityGroups": [{ "VpcSecurityGroupId": sg, "Status": "active" }],
    });
    Entry {
        asset: asset(account, "us-east-1", AssetKind::DbInstance, id, Some(id)),
        account,
        initial: Some(config),
        associations: vec![Association::named(
            account.id,
            "us-east-1",
            "network.firewall",
            sg,
            "secured_by",
        )],
    }
}

/// `prod-db-sg` as it was on Monday: the captured event 1's `previous_config` plus a
/// legacy bastion rule and a cost-center tag that Terraform removes during the week.
pub(crate) fn prod_db_sg_monday(before_capture: &Value) -> Value {
    let mut config = before_capture.clone();
    if let Some(pairs) = config["IpPermissions"][0]["UserIdGroupPairs"].as_array_mut() {
        pairs.push(json!({ "GroupId": LEGACY_BASTION_SG, "UserId": PROD.id, "Description": "legacy bastion" }));
    }
    if let Some(tags) = config["Tags"].as_array_mut() {
        tags.push(json!({ "Key": "cost-center", "Value": "cc-1042" }));
    }
    config
}

pub(crate) const PROD_DB_SG: &str = "sg-0db5e1c2a3b4c5d6e";
pub(crate) const APP_SG: &str = "sg-0app1c2a3b4c5d6ee";
pub(crate) const LEGACY_BASTION_SG: &str = "sg-0b1a2c3d4e5f60789";
pub(crate) const STAGING_APP_SG: &str = "sg-05c6d7e8f9a0b1c2d";
pub(crate) const BATCH_VOLUME: &str = "vol-0e1f2a3b4c5d6e7f8";

/// The other pre-existing, Terraform-managed assets.
#[rustfmt::skip]
pub(crate) fn terraform_managed() -> Vec<Entry> {
    let sg = |account, region, id, name, desc, ingress, tags: &[(&str, &str)]| {
        security_group(account, region, id, name, desc, ingress, tags, true).0
    };
    let managed = |team| [("team", team), ("managed-by", "terraform")];
    vec![
        sg(PROD, "us-east-1", APP_SG, "app-sg", "App tier",
           vec![group_rule(PROD, 8080, "sg-0a4b5c6d7e8f90123", "from alb")], &[("Name", "app-sg"), ("team", "payments")]),
        sg(PROD, "us-east-1", "sg-0a4b5c6d7e8f90123", "web-alb-sg", "Public ALB",
           vec![cidr_rule(443, "0.0.0.0/0", "https")], &[("Name", "web-alb-sg"), ("team", "web")]),
        sg(PROD, "eu-west-1", "sg-0e9d8c7b6a5f40312", "eu-web-sg", "EU web tier",
           vec![cidr_rule(443, "10.20.0.0/16", "from eu alb")], &[("Name", "eu-web-sg"), ("team", "web")]),
        sg(STAGING, "us-east-1", STAGING_APP_SG, "staging-app-sg", "Staging app tier",
           vec![cidr_rule(8080, "10.50.0.0/16", "vpc")], &[("Name", "staging-app-sg"), ("env", "staging")]),
        sg(STAGING, "us-east-1", "sg-05d6e7f8a9b0c1d2e", "staging-db-sg", "Staging Postgres",
           vec![group_rule(STAGING, 5432, STAGING_APP_SG, "app tier")], &[("Name", "staging-db-sg"), ("env", "staging")]),
        sg(STAGING, "eu-west-1", "sg-07e8f9a0b1c2d3e4f", "staging-eu-sg", "Staging EU workers",
           vec![cidr_rule(8443, "10.60.0.0/16", "vpc")], &[("Name", "staging-eu-sg"), ("env", "staging")]),
        bucket(PROD, "us-east-1", "payments-exports-123456789012", &managed("payments"), true).0,
        bucket(PROD, "us-east-1", "acme-cloudtrail-logs-123456789012", &managed("security"), true).0,
        bucket(STAGING, "us-east-1", "staging-artifacts-345678901234", &managed("platform"), true).0,
        function(PROD, "us-east-1", "payments-webhook", "payments-app-role", "payments"),
        function(PROD, "eu-west-1", "eu-payments-relay", "payments-app-role", "payments"),
        function(STAGING, "eu-west-1", "staging-eu-ingest", "staging-deployer", "platform"),
        role(PROD, "payments-app-role", "AROA4EXAMPLEPAYAPP01", &["s3:GetObject", "s3:PutObject"],
             "arn:aws:s3:::payments-exports-123456789012/*"),
        role(PROD, "ci-deployer", "AROA4EXAMPLECIDEPL01", &["lambda:UpdateFunctionCode"], "*"),
        role(STAGING, "staging-deployer", "AROA4EXAMPLESTGDEP01", &["lambda:UpdateFunctionCode"], "*"),
    ]
}
