//! auditlog::cloudtrail::operations: which assets a successful write call changed, by one table
//! keyed on (service, operation), and the generic rule for calls not in it.
//!
//! Identity comes from `resources[]`, then the response elements, then the request parameters
//! (CloudTrail User Guide, "CloudTrail record contents"; the parameters follow each service's
//! API reference). One record can change several assets (`RunInstances` of three instances is
//! three creates; `CreateTags` on a VPC and two subnets is three updates). IAM assets live in
//! region `global`. An IAM user, role, group or policy is named by its name (what every IAM
//! call carries; the unique id is only in create responses).

use super::rebuild::{self, Edit};
use super::{Call, Target};
use crate::auditlog::Inventory;
use crate::auditlog::event::{AssetFields, Association};
use crate::json::{self, Value};
use crate::model::ChangeKind::{self, Create, Delete, Update};

/// The assets `call` changed; `None` when it is a call that changes no asset Tideline tracks
/// (running a command, opening a session, invoking a model).
pub(super) fn targets(call: &Call<'_>, inventory: &mut Inventory<'_>) -> Option<Vec<Target>> {
    let req = call.request;
    let resp = call.response;
    let one = |target: Target| Some(vec![target]);
    match (call.service, call.name) {
        // Calls that act without changing a tracked asset.
        ("ssm", "SendCommand" | "StartSession" | "ResumeSession" | "TerminateSession")
        | ("ec2-instance-connect", _)
        | ("ec2", "SendSerialConsoleSSHPublicKey")
        | ("bedrock" | "bedrock-runtime", "InvokeModel" | "InvokeModelWithResponseStream")
        | (
            "s3",
            "PutObject"
            | "DeleteObject"
            | "DeleteObjects"
            | "CopyObject"
            | "UploadPart"
            | "CreateMultipartUpload"
            | "CompleteMultipartUpload",
        ) => None,

        // EC2 instances.
        ("ec2", "RunInstances") => Some(rebuild::run_instances(call)),
        ("ec2", "TerminateInstances") => Some(
            instance_ids(call)
                .into_iter()
                .map(|id| plain(Delete, ec2_asset(call, &id)))
                .collect(),
        ),
        ("ec2", "ModifyInstanceAttribute") => {
            let id = text(&req["instanceId"])?;
            one(rebuild::apply(
                Update,
                ec2_asset(call, id),
                inventory,
                Edit::InstanceAttribute(req),
            ))
        }
        ("ec2", name)
            if name.ends_with("Instances")
                || name.contains("InstanceMetadata")
                || name.contains("IamInstanceProfile") =>
        {
            let ids = instance_ids(call);
            (!ids.is_empty()).then(|| {
                ids.into_iter()
                    .map(|id| plain(Update, ec2_asset(call, &id)))
                    .collect()
            })
        }

        // Security groups.
        ("ec2", "CreateSecurityGroup") => one(rebuild::create_security_group(call)),
        ("ec2", "DeleteSecurityGroup") => {
            let id = text(&req["groupId"]).or_else(|| text(&req["groupName"]))?;
            one(plain(Delete, ec2_typed(call, "network.firewall", id)))
        }
        (
            "ec2",
            name @ ("AuthorizeSecurityGroupIngress"
            | "AuthorizeSecurityGroupEgress"
            | "RevokeSecurityGroupIngress"
            | "RevokeSecurityGroupEgress"),
        ) => {
            let id = text(&req["groupId"]).or_else(|| text(&req["groupName"]))?;
            let edit = Edit::SecurityGroupRules {
                egress: name.ends_with("Egress"),
                authorize: name.starts_with("Authorize"),
                request: req,
                response: resp,
            };
            one(rebuild::apply(
                Update,
                ec2_typed(call, "network.firewall", id),
                inventory,
                edit,
            ))
        }

        // Tags on any EC2 resource.
        ("ec2", name @ ("CreateTags" | "DeleteTags")) => Some(
            items(&req["resourcesSet"])
                .filter_map(|item| text(&item["resourceId"]))
                .map(|id| {
                    let edit = Edit::Tags {
                        tags: &req["tagSet"],
                        delete: name == "DeleteTags",
                    };
                    rebuild::apply(Update, ec2_asset(call, id), inventory, edit)
                })
                .collect(),
        ),

        ("ec2", "CreateFlowLogs" | "DeleteFlowLogs") => {
            let kind = verb_kind(call.name);
            let ids: Vec<&str> = identifiers(resp, &["flowLogId", "FlowLogId"], 4)
                .into_iter()
                .chain(identifiers(req, &["flowLogId", "FlowLogId"], 4))
                .collect();
            let ids = if ids.is_empty() {
                vec![text(&req["resourceId"])?]
            } else {
                ids
            };
            Some(
                ids.into_iter()
                    .map(|id| plain(kind, typed(call, "log.flow_log", id, "AWS::EC2::FlowLog")))
                    .collect(),
            )
        }

        // Sharing snapshots and images.
        ("ec2", "ModifySnapshotAttribute") => {
            let id = text(&req["snapshotId"])?;
            let edit = Edit::Sharing {
                key: "CreateVolumePermissions",
                change: &req["createVolumePermission"],
            };
            one(rebuild::apply(Update, ec2_asset(call, id), inventory, edit))
        }
        ("ec2", "ModifyImageAttribute") => {
            let id = text(&req["imageId"])?;
            let edit = Edit::Sharing {
                key: "LaunchPermissions",
                change: &req["launchPermission"],
            };
            one(rebuild::apply(Update, ec2_asset(call, id), inventory, edit))
        }
        ("rds", "ModifyDBSnapshotAttribute") => {
            let id = text(&req["dBSnapshotIdentifier"])?;
            let asset = typed(call, "storage.snapshot", id, "AWS::RDS::DBSnapshot");
            let edit = Edit::RdsSharing { request: req };
            one(rebuild::apply(Update, asset, inventory, edit))
        }

        // IAM users, their keys, policies and login profiles.
        ("iam", "CreateUser") => one(rebuild::create_user(call)),
        ("iam", "DeleteUser") => one(plain(Delete, iam(call, "iam.user", user_name(call)?))),
        (
            "iam",
            "AttachUserPolicy" | "DetachUserPolicy" | "AttachRolePolicy" | "DetachRolePolicy"
            | "AttachGroupPolicy" | "DetachGroupPolicy",
        ) => {
            let (asset, _) = iam_principal(call)?;
            let policy_arn = text(&req["policyArn"])?;
            let edit = Edit::ManagedPolicy {
                arn: policy_arn,
                attach: call.name.starts_with("Attach"),
            };
            let mut target = rebuild::apply(Update, asset, inventory, edit);
            let policy = policy_arn.rsplit('/').next().unwrap_or(policy_arn);
            target.associations.push(association(
                iam(call, "iam.policy", policy),
                "attached_policy",
            ));
            one(target)
        }
        (
            "iam",
            "PutUserPolicy" | "DeleteUserPolicy" | "PutRolePolicy" | "DeleteRolePolicy"
            | "PutGroupPolicy" | "DeleteGroupPolicy",
        ) => {
            let (asset, _) = iam_principal(call)?;
            let edit = Edit::InlinePolicy {
                name: text(&req["policyName"])?,
                document: (!call.name.starts_with("Delete")).then_some(&req["policyDocument"]),
            };
            one(rebuild::apply(Update, asset, inventory, edit))
        }
        ("iam", "CreateLoginProfile" | "UpdateLoginProfile" | "DeleteLoginProfile") => {
            let asset = iam(call, "iam.user", user_name(call)?);
            let edit = Edit::LoginProfile {
                name: call.name,
                request: req,
                time: json::text(&call.record["eventTime"]).unwrap_or_default(),
            };
            one(rebuild::apply(Update, asset, inventory, edit))
        }
        ("iam", "AddUserToGroup" | "RemoveUserFromGroup") => {
            let group = text(&req["groupName"])?;
            let edit = Edit::Group {
                group,
                add: call.name == "AddUserToGroup",
            };
            let mut target = rebuild::apply(
                Update,
                iam(call, "iam.user", user_name(call)?),
                inventory,
                edit,
            );
            target
                .associations
                .push(association(iam(call, "iam.group", group), "member_of"));
            one(target)
        }
        ("iam", "CreateAccessKey") => one(rebuild::create_access_key(call)),
        ("iam", "UpdateAccessKey" | "DeleteAccessKey") => {
            let id = text(&req["accessKeyId"])?;
            let user = user_name(call)?;
            let asset = iam(call, "iam.access_key", id);
            let mut target = if call.name == "DeleteAccessKey" {
                plain(Delete, asset)
            } else {
                let edit = Edit::Set {
                    key: "Status",
                    value: req["status"].clone(),
                };
                rebuild::apply(Update, asset, inventory, edit)
            };
            target
                .associations
                .push(association(iam(call, "iam.user", user), "belongs_to"));
            one(target)
        }
        ("iam", "CreateRole") => one(rebuild::create_role(call)),
        ("iam", "DeleteRole") => one(plain(
            Delete,
            iam(call, "iam.role", text(&req["roleName"])?),
        )),
        ("iam", "UpdateAssumeRolePolicy") => {
            let asset = iam(call, "iam.role", text(&req["roleName"])?);
            let edit = Edit::Set {
                key: "AssumeRolePolicyDocument",
                value: rebuild::policy_document(&req["policyDocument"]),
            };
            one(rebuild::apply(Update, asset, inventory, edit))
        }
        ("iam", name) if name.ends_with("Group") => {
            let kind = verb_kind(name);
            one(plain(
                kind,
                iam(call, "iam.group", text(&req["groupName"])?),
            ))
        }
        ("iam", name) if name.ends_with("Policy") || name.ends_with("PolicyVersion") => {
            let arn = text(&req["policyArn"]).or_else(|| text(&resp["policy"]["arn"]));
            let name_part = text(&req["policyName"])
                .or_else(|| arn.map(|arn| arn.rsplit('/').next().unwrap_or(arn)))?;
            let kind = if name.ends_with("PolicyVersion") {
                Update
            } else {
                verb_kind(name)
            };
            one(plain(kind, iam(call, "iam.policy", name_part)))
        }
        ("iam", name)
            if name.ends_with("User")
                || name.starts_with("TagUser")
                || name.starts_with("UntagUser") =>
        {
            one(plain(
                verb_kind(name),
                iam(call, "iam.user", user_name(call)?),
            ))
        }
        ("iam", name) if name.contains("Role") && text(&req["roleName"]).is_some() => {
            let role = text(&req["roleName"])?;
            one(plain(verb_kind(name), iam(call, "iam.role", role)))
        }

        // S3 buckets.
        ("s3", "CreateBucket") => {
            let bucket = text(&req["bucketName"])?;
            let config = rebuild::object([
                ("Name", Value::String(bucket.to_owned())),
                ("Region", Value::String(call.region.to_owned())),
            ]);
            one(Target {
                config: Some(config),
                ..plain(Create, bucket_asset(call, bucket))
            })
        }
        ("s3", "DeleteBucket") => one(plain(Delete, bucket_asset(call, text(&req["bucketName"])?))),
        ("s3", name) if name.starts_with("PutBucket") || name.starts_with("DeleteBucket") => {
            let bucket = text(&req["bucketName"])?;
            let edit = Edit::BucketSetting { name, request: req };
            one(rebuild::apply(
                Update,
                bucket_asset(call, bucket),
                inventory,
                edit,
            ))
        }

        // CloudTrail trails.
        ("cloudtrail", "CreateTrail") => one(rebuild::create_trail(call)),
        ("cloudtrail", name)
            if text(&req["name"])
                .or_else(|| text(&req["trailName"]))
                .is_some() =>
        {
            let trail = text(&req["name"]).or_else(|| text(&req["trailName"]))?;
            let trail = trail.rsplit("trail/").next().unwrap_or(trail);
            let asset = typed(call, "log.trail", trail, "AWS::CloudTrail::Trail");
            if name == "DeleteTrail" {
                return one(plain(Delete, asset));
            }
            let edit = Edit::Trail { name, request: req };
            one(rebuild::apply(Update, asset, inventory, edit))
        }

        // Services whose responses describe the whole resource.
        ("rds", name) if text(&req["dBInstanceIdentifier"]).is_some() => {
            let id = text(&req["dBInstanceIdentifier"])?;
            let asset = typed(call, "database.instance", id, "AWS::RDS::DBInstance");
            let kind = verb_kind(name);
            let mut target = described(kind, asset, resp);
            for group in req["vpcSecurityGroupIds"].as_array().into_iter().flatten() {
                if let Some(group) = text(group) {
                    let sg = ec2_typed(call, "network.firewall", group);
                    target.associations.push(association(sg, "secured_by"));
                }
            }
            one(target)
        }
        ("lambda", name) if text(&req["functionName"]).is_some() => {
            let function = text(&req["functionName"])?;
            let function = function.rsplit(':').next().unwrap_or(function);
            let asset = typed(
                call,
                "serverless.function",
                function,
                "AWS::Lambda::Function",
            );
            let kind = verb_kind(name);
            // Permissions and concurrency calls answer with a statement, not the function.
            if name.contains("Function") && !name.contains("Concurrency") {
                one(described(kind, asset, resp))
            } else {
                one(plain(kind, asset))
            }
        }

        _ => generic(call),
    }
}

/// A change whose configuration is unknown.
fn plain(kind: ChangeKind, asset: AssetFields) -> Target {
    Target {
        kind,
        asset,
        config: None,
        previous: None,
        changed_part: None,
        associations: Vec::new(),
    }
}

/// A change whose response describes the resource after it (none after a delete).
fn described(kind: ChangeKind, asset: AssetFields, response: &Value) -> Target {
    let config = (kind != Delete && response.is_object()).then(|| rebuild::without_noise(response));
    Target {
        config,
        ..plain(kind, asset)
    }
}

/// Calls not in the table: the asset from `resources[]`, else the first identifier among the
/// request parameters; the change from the verb. Nothing identifiable: an `unknown` asset.
fn generic(call: &Call<'_>) -> Option<Vec<Target>> {
    let kind = verb_kind(call.name);
    let from_resources: Vec<Target> = call.record["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|resource| {
            let arn = text(&resource["ARN"]).or_else(|| text(&resource["arn"]))?;
            let provider_type = text(&resource["type"]);
            let asset_type = provider_type.and_then(normalized_type).unwrap_or("unknown");
            let id = arn_id(arn);
            let mut asset = typed(call, asset_type, id, provider_type.unwrap_or_default());
            asset.provider_name = Some(arn.to_owned());
            Some(plain(kind, asset))
        })
        .collect();
    if !from_resources.is_empty() {
        return Some(from_resources);
    }
    // A create's response names what it made; other calls name their target in the request.
    fn first_id(value: &Value) -> Option<&str> {
        ["Arn", "Id", "Identifier", "Name"]
            .iter()
            .find_map(|suffix| identifiers(value, &[suffix], 3).into_iter().next())
    }
    let (first, second) = if kind == Create {
        (call.response, call.request)
    } else {
        (call.request, call.response)
    };
    let identifier = first_id(first).or_else(|| first_id(second));
    let id = identifier.map_or_else(
        || {
            let event = json::text(&call.record["eventID"]).unwrap_or("no-event-id");
            format!("{}/{}/{event}", call.service, call.name)
        },
        |id| arn_id(id).to_owned(),
    );
    // EC2 ids say their type (`snap-`, `vol-`, `ami-`...): the same asset as the table's calls.
    let asset = if call.service == "ec2" {
        ec2_asset(call, &id)
    } else {
        typed(call, "unknown", &id, "")
    };
    Some(vec![plain(kind, asset)])
}

/// Text values of keys ending with one of `suffixes`, up to `depth` objects deep, in key order
/// (EC2's newer APIs wrap values: `{"FlowLogId": {"content": "fl-1", "tag": 1}}`).
fn identifiers<'v>(value: &'v Value, suffixes: &[&str], depth: usize) -> Vec<&'v str> {
    let mut found = Vec::new();
    let Some(map) = value.as_object() else {
        return found;
    };
    for (key, value) in map {
        // Ids of the request itself or of its caller, not of an asset.
        const NOT_ASSETS: [&str; 5] = [
            "requestId",
            "requesterId",
            "ownerId",
            "reservationId",
            "clientToken",
        ];
        if NOT_ASSETS.contains(&key.as_str()) {
            continue;
        }
        if suffixes.iter().any(|suffix| key.ends_with(suffix)) {
            if let Some(id) = text(value).or_else(|| text(&value["content"])) {
                found.push(id);
                continue;
            }
            for item in items(value) {
                if let Some(id) = text(item).or_else(|| text(&item["content"])) {
                    found.push(id);
                }
            }
        }
    }
    if found.is_empty() && depth > 1 {
        for nested in map.values().filter(|value| value.is_object()) {
            found.extend(identifiers(nested, suffixes, depth - 1));
        }
    }
    found
}

/// Create, delete or update, from the operation's verb.
pub(crate) fn verb_kind(name: &str) -> ChangeKind {
    const CREATES: [&str; 9] = [
        "Create", "Run", "Allocate", "Import", "Register", "Copy", "Publish", "Launch", "Request",
    ];
    const DELETES: [&str; 5] = ["Delete", "Terminate", "Deregister", "Release", "Destroy"];
    if CREATES.iter().any(|verb| name.starts_with(verb)) {
        Create
    } else if DELETES.iter().any(|verb| name.starts_with(verb)) {
        Delete
    } else {
        Update
    }
}

pub(super) fn text(value: &Value) -> Option<&str> {
    json::text(value).filter(|text| !text.is_empty())
}

/// The entries of an EC2-style list (`{"items": [...]}`) or a plain array.
pub(super) fn items(value: &Value) -> impl Iterator<Item = &Value> {
    let list = value["items"].as_array().or_else(|| value.as_array());
    list.into_iter().flatten()
}

fn instance_ids(call: &Call<'_>) -> Vec<String> {
    let from = |value: &Value| -> Vec<String> {
        items(&value["instancesSet"])
            .filter_map(|item| text(&item["instanceId"]).map(str::to_owned))
            .collect()
    };
    let mut ids = from(call.response);
    if ids.is_empty() {
        ids = from(call.request);
    }
    if ids.is_empty()
        && let Some(id) = text(&call.request["instanceId"])
    {
        ids.push(id.to_owned());
    }
    ids
}

/// The user a call is about: `userName`, else the caller itself (IAM acts on the caller's own
/// user when the name is left out).
fn user_name<'r>(call: &Call<'r>) -> Option<&'r str> {
    text(&call.request["userName"]).or_else(|| text(&call.record["userIdentity"]["userName"]))
}

/// The user, role or group an IAM policy call names.
fn iam_principal(call: &Call<'_>) -> Option<(AssetFields, &'static str)> {
    let req = call.request;
    if let Some(role) = text(&req["roleName"]) {
        return Some((iam(call, "iam.role", role), "iam.role"));
    }
    if let Some(group) = text(&req["groupName"]) {
        return Some((iam(call, "iam.group", group), "iam.group"));
    }
    Some((iam(call, "iam.user", user_name(call)?), "iam.user"))
}

pub(super) fn association(asset: AssetFields, relation: &'static str) -> Association {
    Association {
        name: asset.name,
        asset_type: asset.asset_type,
        relation,
    }
}

/// An asset of `asset_type` in the call's account and region (IAM: `global`).
pub(super) fn typed(
    call: &Call<'_>,
    asset_type: &str,
    id: &str,
    provider_type: &str,
) -> AssetFields {
    let region = if asset_type.starts_with("iam.") {
        "global"
    } else {
        call.region
    };
    let mut asset = AssetFields::new("aws", call.account, region, asset_type, id);
    asset.provider_type = (!provider_type.is_empty()).then(|| provider_type.to_owned());
    asset
}

pub(super) fn iam(call: &Call<'_>, asset_type: &str, name: &str) -> AssetFields {
    let (provider_type, path) = match asset_type {
        "iam.user" => ("AWS::IAM::User", "user"),
        "iam.role" => ("AWS::IAM::Role", "role"),
        "iam.group" => ("AWS::IAM::Group", "group"),
        "iam.policy" => ("AWS::IAM::ManagedPolicy", "policy"),
        _ => ("AWS::IAM::AccessKey", "accesskey"),
    };
    let mut asset = typed(call, asset_type, name, provider_type);
    if path != "accesskey" {
        asset.provider_name = Some(format!("arn:aws:iam::{}:{path}/{name}", call.account));
        asset.display_name = Some(name.to_owned());
    }
    asset
}

fn bucket_asset(call: &Call<'_>, bucket: &str) -> AssetFields {
    let mut asset = typed(call, "storage.bucket", bucket, "AWS::S3::Bucket");
    asset.provider_name = Some(format!("arn:aws:s3:::{bucket}"));
    asset.display_name = Some(bucket.to_owned());
    asset
}

/// An EC2 resource, its type from its id's prefix (`sg-`, `i-`, `vpc-`...).
pub(super) fn ec2_asset(call: &Call<'_>, id: &str) -> AssetFields {
    let prefix = id.split('-').next().unwrap_or_default();
    let asset_type = match prefix {
        "i" => "compute.instance",
        "sg" => "network.firewall",
        "vpc" => "network.vpc",
        "subnet" => "network.subnet",
        "vol" => "storage.volume",
        "snap" => "storage.snapshot",
        "ami" => "compute.image",
        "eni" => "network.interface",
        "igw" | "nat" | "vgw" | "tgw" | "eigw" => "network.gateway",
        "rtb" => "network.route_table",
        _ => "unknown",
    };
    ec2_typed(call, asset_type, id)
}

pub(super) fn ec2_typed(call: &Call<'_>, asset_type: &str, id: &str) -> AssetFields {
    let (provider_type, kind) = match asset_type {
        "compute.instance" => ("AWS::EC2::Instance", "instance"),
        "network.firewall" => ("AWS::EC2::SecurityGroup", "security-group"),
        "network.vpc" => ("AWS::EC2::VPC", "vpc"),
        "network.subnet" => ("AWS::EC2::Subnet", "subnet"),
        "storage.volume" => ("AWS::EC2::Volume", "volume"),
        "storage.snapshot" => ("AWS::EC2::Snapshot", "snapshot"),
        "compute.image" => ("AWS::EC2::Image", "image"),
        "network.interface" => ("AWS::EC2::NetworkInterface", "network-interface"),
        "network.gateway" => ("AWS::EC2::Gateway", "gateway"),
        "network.route_table" => ("AWS::EC2::RouteTable", "route-table"),
        _ => ("", ""),
    };
    let mut asset = typed(call, asset_type, id, provider_type);
    if !kind.is_empty() {
        asset.provider_name = Some(format!(
            "arn:aws:ec2:{}:{}:{kind}/{id}",
            call.region, call.account
        ));
    }
    asset
}

/// The last part of an ARN (`arn:aws:lambda:r:a:function:f` → `f`, `.../user/bob` → `bob`).
fn arn_id(arn: &str) -> &str {
    if !arn.starts_with("arn:") {
        return arn;
    }
    arn.rsplit(['/', ':'])
        .next()
        .filter(|id| !id.is_empty())
        .unwrap_or(arn)
}

/// The contract's normalized type for a CloudFormation-style resource type.
fn normalized_type(provider_type: &str) -> Option<&'static str> {
    Some(match provider_type {
        "AWS::EC2::Instance" => "compute.instance",
        "AWS::EC2::Image" => "compute.image",
        "AWS::AutoScaling::AutoScalingGroup" => "compute.autoscaling_group",
        "AWS::S3::Bucket" => "storage.bucket",
        "AWS::EC2::Volume" => "storage.volume",
        "AWS::EC2::Snapshot" | "AWS::RDS::DBSnapshot" => "storage.snapshot",
        "AWS::EC2::VPC" => "network.vpc",
        "AWS::EC2::Subnet" => "network.subnet",
        "AWS::EC2::SecurityGroup" => "network.firewall",
        "AWS::EC2::NetworkInterface" => "network.interface",
        "AWS::ElasticLoadBalancingV2::LoadBalancer" | "AWS::ElasticLoadBalancing::LoadBalancer" => {
            "network.load_balancer"
        }
        "AWS::EC2::InternetGateway" | "AWS::EC2::NatGateway" => "network.gateway",
        "AWS::EC2::RouteTable" => "network.route_table",
        "AWS::Route53::HostedZone" => "dns.zone",
        "AWS::RDS::DBInstance" => "database.instance",
        "AWS::RDS::DBCluster" => "database.cluster",
        "AWS::IAM::User" => "iam.user",
        "AWS::IAM::Group" => "iam.group",
        "AWS::IAM::Role" => "iam.role",
        "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" => "iam.policy",
        "AWS::IAM::AccessKey" => "iam.access_key",
        "AWS::KMS::Key" => "kms.key",
        "AWS::SecretsManager::Secret" => "secret",
        "AWS::Lambda::Function" => "serverless.function",
        "AWS::EKS::Cluster" | "AWS::ECS::Cluster" => "container.cluster",
        "AWS::SQS::Queue" => "queue",
        "AWS::SNS::Topic" => "topic",
        "AWS::CloudTrail::Trail" => "log.trail",
        _ => return None,
    })
}
