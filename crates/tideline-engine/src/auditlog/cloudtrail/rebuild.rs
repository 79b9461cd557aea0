//! auditlog::cloudtrail::rebuild: an asset's configuration after a call, rebuilt from the
//! configuration before it plus what the call did — for the calls an incident turns on
//! (security-group rules, tags, IAM policies, keys and login profiles, bucket policy/ACL and
//! other bucket settings, trails, snapshot and image sharing).
//!
//! Configurations use the shapes of the providers' Describe/Get APIs in PascalCase, as the
//! EventStream sends them (`IpPermissions[].IpRanges[].CidrIp`, `AttachedManagedPolicies`).
//! When the configuration before is unknown nothing is invented: the configuration after is
//! unknown too, and where the call alone proves a part of it (an authorized rule was absent
//! before and present after) that part is given as `changed_part`.

use super::operations::{association, ec2_asset, ec2_typed, iam, items, text, typed};
use super::{Call, Target};
use crate::auditlog::Inventory;
use crate::auditlog::event::{AssetFields, ChangedPart};
use crate::json::{self, Map, Value};
use crate::model::ChangeKind::{self, Create};

/// What a call did to a configuration.
pub(super) enum Edit<'r> {
    /// EC2 Authorize/RevokeSecurityGroupIngress/Egress.
    SecurityGroupRules {
        egress: bool,
        authorize: bool,
        request: &'r Value,
        response: &'r Value,
    },
    /// EC2 CreateTags/DeleteTags: `tagSet.items[{key, value}]`.
    Tags { tags: &'r Value, delete: bool },
    /// ModifySnapshotAttribute/ModifyImageAttribute: `{add: {items}, remove: {items}}` of
    /// `{userId}` or `{group: "all"}`.
    Sharing {
        key: &'static str,
        change: &'r Value,
    },
    /// RDS ModifyDBSnapshotAttribute `restore`: `valuesToAdd`, `valuesToRemove` (account ids).
    RdsSharing { request: &'r Value },
    /// EC2 ModifyInstanceAttribute.
    InstanceAttribute(&'r Value),
    /// IAM Attach/Detach{User,Role,Group}Policy.
    ManagedPolicy { arn: &'r str, attach: bool },
    /// IAM Put/Delete{User,Role,Group}Policy; `document` is `None` for a delete.
    InlinePolicy {
        name: &'r str,
        document: Option<&'r Value>,
    },
    /// IAM Create/Update/DeleteLoginProfile.
    LoginProfile {
        name: &'r str,
        request: &'r Value,
        time: &'r str,
    },
    /// IAM AddUserToGroup/RemoveUserFromGroup.
    Group { group: &'r str, add: bool },
    /// One field set to a value.
    Set { key: &'static str, value: Value },
    /// S3 PutBucket*/DeleteBucket*.
    BucketSetting { name: &'r str, request: &'r Value },
    /// CloudTrail StartLogging, StopLogging, UpdateTrail, PutEventSelectors, PutInsightSelectors.
    Trail { name: &'r str, request: &'r Value },
}

/// The target for an update: the configuration after `edit`, when the one before is known;
/// else unknown, with the part the call proves where it proves one.
pub(super) fn apply(
    kind: ChangeKind,
    asset: AssetFields,
    inventory: &mut Inventory<'_>,
    edit: Edit<'_>,
) -> Target {
    let previous = inventory.config(&asset.name);
    let (config, changed_part) = match &previous {
        Some(Value::Object(before)) => {
            let mut after = before.clone();
            if edit_config(&mut after, &edit) {
                (Some(Value::Object(after)), None)
            } else {
                (None, proven_part(&edit))
            }
        }
        _ => (None, proven_part(&edit)),
    };
    Target {
        kind,
        asset,
        config,
        previous,
        changed_part,
        associations: Vec::new(),
    }
}

/// Applies `edit`; `false` when the configuration does not hold what the call refers to (a
/// rule id it does not know), so the result cannot be known.
fn edit_config(config: &mut Map<String, Value>, edit: &Edit<'_>) -> bool {
    match edit {
        Edit::SecurityGroupRules {
            egress,
            authorize,
            request,
            response,
        } => security_group_rules(config, *egress, *authorize, request, response),
        Edit::Tags { tags, delete } => {
            let list = list_mut(config, "Tags");
            for tag in items(tags) {
                let Some(key) = text(&tag["key"]) else {
                    continue;
                };
                list.retain(|existing| existing["Key"].as_str() != Some(key));
                if !delete {
                    list.push(object([
                        ("Key", Value::String(key.to_owned())),
                        ("Value", tag["value"].clone()),
                    ]));
                }
            }
            true
        }
        Edit::Sharing { key, change } => {
            let list = list_mut(config, key);
            for (part, add) in [("remove", false), ("add", true)] {
                for grant in items(&change[part]) {
                    let entry = sharing_entry(grant);
                    list.retain(|existing| *existing != entry);
                    if add {
                        list.push(entry);
                    }
                }
            }
            true
        }
        Edit::RdsSharing { request } => {
            let list = list_mut(config, "RestoreAccounts");
            for (part, add) in [("valuesToRemove", false), ("valuesToAdd", true)] {
                for account in request[part].as_array().into_iter().flatten() {
                    list.retain(|existing| existing != account);
                    if add {
                        list.push(account.clone());
                    }
                }
            }
            true
        }
        Edit::InstanceAttribute(request) => {
            for (attribute, key) in [
                ("disableApiTermination", "DisableApiTermination"),
                ("disableApiStop", "DisableApiStop"),
                ("instanceType", "InstanceType"),
                ("sourceDestCheck", "SourceDestCheck"),
                (
                    "instanceInitiatedShutdownBehavior",
                    "InstanceInitiatedShutdownBehavior",
                ),
                ("userData", "UserData"),
            ] {
                let value = &request[attribute];
                if !value.is_null() {
                    let value = value.get("value").unwrap_or(value);
                    config.insert(key.to_owned(), value.clone());
                }
            }
            if let Some(groups) = request["groupSet"]["items"].as_array() {
                let groups = groups
                    .iter()
                    .map(|group| object([("GroupId", group["groupId"].clone())]))
                    .collect();
                config.insert("SecurityGroups".to_owned(), Value::Array(groups));
            }
            true
        }
        Edit::ManagedPolicy { arn, attach } => {
            let entry = managed_policy(arn);
            let list = list_mut(config, "AttachedManagedPolicies");
            list.retain(|existing| existing["PolicyArn"].as_str() != Some(arn));
            if *attach {
                list.push(entry);
            }
            true
        }
        Edit::InlinePolicy { name, document } => {
            let list = list_mut(config, "InlinePolicies");
            list.retain(|existing| existing["PolicyName"].as_str() != Some(name));
            if let Some(document) = document {
                list.push(object([
                    ("PolicyName", Value::String((*name).to_owned())),
                    ("PolicyDocument", policy_document(document)),
                ]));
            }
            true
        }
        Edit::LoginProfile {
            name,
            request,
            time,
        } => {
            if *name == "DeleteLoginProfile" {
                config.remove("LoginProfile");
                return true;
            }
            let profile = config
                .entry("LoginProfile".to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(profile) = profile {
                let reset = &request["passwordResetRequired"];
                if !reset.is_null() {
                    profile.insert("PasswordResetRequired".to_owned(), reset.clone());
                }
                let key = if *name == "CreateLoginProfile" {
                    "CreateDate"
                } else {
                    "PasswordLastSet"
                };
                profile.insert(key.to_owned(), Value::String((*time).to_owned()));
            }
            true
        }
        Edit::Group { group, add } => {
            let list = list_mut(config, "Groups");
            let entry = Value::String((*group).to_owned());
            list.retain(|existing| *existing != entry);
            if *add {
                list.push(entry);
            }
            true
        }
        Edit::Set { key, value } => {
            config.insert((*key).to_owned(), value.clone());
            true
        }
        Edit::BucketSetting { name, request } => {
            bucket_setting(config, name, request);
            true
        }
        Edit::Trail { name, request } => {
            match *name {
                "StartLogging" => {
                    config.insert("IsLogging".to_owned(), Value::Bool(true));
                }
                "StopLogging" => {
                    config.insert("IsLogging".to_owned(), Value::Bool(false));
                }
                "PutEventSelectors" => {
                    for (from, key) in [
                        ("eventSelectors", "EventSelectors"),
                        ("advancedEventSelectors", "AdvancedEventSelectors"),
                    ] {
                        if !request[from].is_null() {
                            config.insert(key.to_owned(), without_noise(&request[from]));
                        }
                    }
                }
                "PutInsightSelectors" => {
                    config.insert(
                        "InsightSelectors".to_owned(),
                        without_noise(&request["insightSelectors"]),
                    );
                }
                _ => {
                    // UpdateTrail and the rest: every parameter but the name is a setting.
                    for (key, value) in request.as_object().into_iter().flatten() {
                        if key != "name" {
                            config.insert(pascal(key), value.clone());
                        }
                    }
                }
            }
            true
        }
    }
}

/// What the call alone proves when the configuration before it is unknown.
fn proven_part(edit: &Edit<'_>) -> Option<ChangedPart> {
    match edit {
        Edit::SecurityGroupRules {
            egress,
            authorize,
            request,
            ..
        } => {
            // Rules named by id cannot be told without the configuration that holds them.
            let rules: Vec<Value> = requested_permissions(request)
                .iter()
                .map(permission)
                .collect();
            if rules.is_empty() {
                return None;
            }
            let key = if *egress {
                "IpPermissionsEgress"
            } else {
                "IpPermissions"
            };
            let none = object([(key, Value::Array(Vec::new()))]);
            let some = object([(key, Value::Array(rules))]);
            Some(if *authorize {
                ChangedPart {
                    before: none,
                    after: some,
                }
            } else {
                ChangedPart {
                    before: some,
                    after: none,
                }
            })
        }
        Edit::Sharing { key, change } => {
            let added: Vec<Value> = items(&change["add"]).map(sharing_entry).collect();
            (!added.is_empty()).then(|| ChangedPart {
                before: object([(*key, Value::Array(Vec::new()))]),
                after: object([(*key, Value::Array(added))]),
            })
        }
        Edit::ManagedPolicy { arn, attach } => {
            let none = object([("AttachedManagedPolicies", Value::Array(Vec::new()))]);
            let some = object([(
                "AttachedManagedPolicies",
                Value::Array(vec![managed_policy(arn)]),
            )]);
            Some(if *attach {
                ChangedPart {
                    before: none,
                    after: some,
                }
            } else {
                ChangedPart {
                    before: some,
                    after: none,
                }
            })
        }
        _ => None,
    }
}

/// Adds or removes the request's rules. A permission is one (protocol, from port, to port),
/// holding its sources; a rule added by this call carries the id the response gave it, so a
/// later revoke by `securityGroupRuleIds` finds it.
fn security_group_rules(
    config: &mut Map<String, Value>,
    egress: bool,
    authorize: bool,
    request: &Value,
    response: &Value,
) -> bool {
    let key = if egress {
        "IpPermissionsEgress"
    } else {
        "IpPermissions"
    };
    let rule_ids: Vec<&Value> = items(&response["securityGroupRuleSet"]).collect();
    let by_id: Vec<&str> = items(&request["securityGroupRuleIds"])
        .filter_map(|item| text(&item["securityGroupRuleId"]).or_else(|| text(item)))
        .collect();
    if !by_id.is_empty() {
        let list = list_mut(config, key);
        let mut found = 0;
        for permission in list.iter_mut() {
            for sources in SOURCE_LISTS {
                if let Some(entries) = list_in(permission, sources) {
                    let before = entries.len();
                    entries.retain(|entry| {
                        !entry["SecurityGroupRuleId"]
                            .as_str()
                            .is_some_and(|id| by_id.contains(&id))
                    });
                    found += before - entries.len();
                }
            }
        }
        drop_empty(list);
        return found == by_id.len();
    }
    let list = list_mut(config, key);
    for requested in items(&request["ipPermissions"]) {
        let mut wanted = permission(requested);
        if authorize {
            attach_rule_ids(&mut wanted, &rule_ids);
        }
        let same = |existing: &Value| {
            ["IpProtocol", "FromPort", "ToPort"]
                .iter()
                .all(|field| port_text(&existing[*field]) == port_text(&wanted[*field]))
        };
        let index = match list.iter().position(same) {
            Some(index) => index,
            None if authorize => {
                let mut empty = wanted.clone();
                for sources in SOURCE_LISTS {
                    if let Some(entries) = list_in(&mut empty, sources) {
                        entries.clear();
                    }
                }
                list.push(empty);
                list.len() - 1
            }
            None => continue,
        };
        let existing = &mut list[index];
        for (sources, id_key) in SOURCE_LISTS.into_iter().zip(SOURCE_KEY) {
            let Some(new_entries) = wanted[sources].as_array() else {
                continue;
            };
            if existing[sources].is_null() {
                existing[sources] = Value::Array(Vec::new());
            }
            let Some(entries) = existing[sources].as_array_mut() else {
                continue;
            };
            for entry in new_entries {
                entries.retain(|old| old[id_key] != entry[id_key]);
                if authorize {
                    entries.push(entry.clone());
                }
            }
        }
    }
    drop_empty(list);
    true
}

/// The list at `key` of an object, if there is one. (`value[key]` on a `&mut` would insert a
/// `null` for a missing key, which would then be part of the configuration.)
fn list_in<'v>(value: &'v mut Value, key: &str) -> Option<&'v mut Vec<Value>> {
    value.get_mut(key).and_then(Value::as_array_mut)
}

const SOURCE_LISTS: [&str; 4] = [
    "IpRanges",
    "Ipv6Ranges",
    "UserIdGroupPairs",
    "PrefixListIds",
];
const SOURCE_KEY: [&str; 4] = ["CidrIp", "CidrIpv6", "GroupId", "PrefixListId"];

/// The request's permissions: `ipPermissions.items`, or the older single-rule form with
/// `ipProtocol`, `fromPort`, `toPort` and `cidrIp` (or `sourceSecurityGroupName`) at the top.
fn requested_permissions(request: &Value) -> Vec<Value> {
    let listed: Vec<Value> = items(&request["ipPermissions"]).cloned().collect();
    if !listed.is_empty() || request["ipProtocol"].is_null() {
        return listed;
    }
    let mut single = Map::new();
    for key in ["ipProtocol", "fromPort", "toPort"] {
        if !request[key].is_null() {
            single.insert(key.to_owned(), request[key].clone());
        }
    }
    if let Some(cidr) = text(&request["cidrIp"]) {
        let range = object([("cidrIp", Value::String(cidr.to_owned()))]);
        single.insert(
            "ipRanges".to_owned(),
            object([("items", Value::Array(vec![range]))]),
        );
    }
    if let Some(group) = text(&request["sourceSecurityGroupName"]) {
        let pair = object([("groupId", Value::String(group.to_owned()))]);
        single.insert(
            "groups".to_owned(),
            object([("items", Value::Array(vec![pair]))]),
        );
    }
    vec![Value::Object(single)]
}

/// A permission from an EC2 request item, in DescribeSecurityGroups' shape.
fn permission(item: &Value) -> Value {
    let mut out = Map::new();
    out.insert("IpProtocol".to_owned(), item["ipProtocol"].clone());
    copy_present(
        &mut out,
        item,
        &[("fromPort", "FromPort"), ("toPort", "ToPort")],
    );
    let source = |list: &str, fields: &[(&str, &str)]| -> Vec<Value> {
        items(&item[list])
            .map(|entry| {
                let mut source = Map::new();
                for (from, to) in fields {
                    if !entry[*from].is_null() {
                        source.insert((*to).to_owned(), entry[*from].clone());
                    }
                }
                Value::Object(source)
            })
            .collect()
    };
    out.insert(
        "IpRanges".to_owned(),
        Value::Array(source(
            "ipRanges",
            &[("cidrIp", "CidrIp"), ("description", "Description")],
        )),
    );
    out.insert(
        "UserIdGroupPairs".to_owned(),
        Value::Array(source(
            "groups",
            &[
                ("groupId", "GroupId"),
                ("userId", "UserId"),
                ("description", "Description"),
            ],
        )),
    );
    for (list, key, fields) in [
        (
            "ipv6Ranges",
            "Ipv6Ranges",
            &[("cidrIpv6", "CidrIpv6"), ("description", "Description")],
        ),
        (
            "prefixListIds",
            "PrefixListIds",
            &[
                ("prefixListId", "PrefixListId"),
                ("description", "Description"),
            ],
        ),
    ] {
        let entries = source(list, fields);
        if !entries.is_empty() {
            out.insert(key.to_owned(), Value::Array(entries));
        }
    }
    Value::Object(out)
}

/// Gives each source of `permission` the rule id the authorize response reported for it.
fn attach_rule_ids(permission: &mut Value, rules: &[&Value]) {
    for rule in rules {
        let Some(id) = text(&rule["securityGroupRuleId"]) else {
            continue;
        };
        let targets = [
            ("IpRanges", "CidrIp", &rule["cidrIpv4"]),
            ("Ipv6Ranges", "CidrIpv6", &rule["cidrIpv6"]),
            (
                "UserIdGroupPairs",
                "GroupId",
                &rule["referencedGroupInfo"]["groupId"],
            ),
            ("PrefixListIds", "PrefixListId", &rule["prefixListId"]),
        ];
        for (list, key, value) in targets {
            let Some(value) = text(value) else { continue };
            for entry in list_in(permission, list).into_iter().flatten() {
                if entry[key].as_str() == Some(value) {
                    entry["SecurityGroupRuleId"] = Value::String(id.to_owned());
                }
            }
        }
    }
}

/// Permissions with no source left are gone.
fn drop_empty(list: &mut Vec<Value>) {
    list.retain(|permission| {
        SOURCE_LISTS.iter().any(|sources| {
            permission[*sources]
                .as_array()
                .is_some_and(|entries| !entries.is_empty())
        })
    });
}

/// Ports compare by their text (`22` in a request, `22` in a stored config).
fn port_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        other => Some(json::text(other).map_or_else(|| other.to_string(), str::to_owned)),
    }
}

fn sharing_entry(grant: &Value) -> Value {
    match (text(&grant["userId"]), text(&grant["group"])) {
        (Some(user), _) => object([("UserId", Value::String(user.to_owned()))]),
        (None, Some(group)) => object([("Group", Value::String(group.to_owned()))]),
        _ => without_noise(grant),
    }
}

fn managed_policy(arn: &str) -> Value {
    object([
        (
            "PolicyName",
            Value::String(arn.rsplit('/').next().unwrap_or(arn).to_owned()),
        ),
        ("PolicyArn", Value::String(arn.to_owned())),
    ])
}

/// S3 bucket settings: each Put replaces one setting whole, each Delete removes it.
fn bucket_setting(config: &mut Map<String, Value>, name: &str, request: &Value) {
    let setting = name
        .trim_start_matches("PutBucket")
        .trim_start_matches("DeleteBucket");
    let key = match setting {
        "Acl" => "Acl",
        "Tagging" => "Tags",
        "PublicAccessBlock" | "" if name.ends_with("PublicAccessBlock") => {
            "PublicAccessBlockConfiguration"
        }
        "Encryption" => "ServerSideEncryptionConfiguration",
        "Versioning" => "Versioning",
        other => other,
    };
    if name.starts_with("DeleteBucket") || name == "DeletePublicAccessBlock" {
        config.remove(key);
        return;
    }
    let value = match setting {
        "Policy" => policy_document(&request["bucketPolicy"]),
        "Acl" => {
            let acl = &request["AccessControlPolicy"];
            if acl.is_null() {
                object([("CannedAcl", request["x-amz-acl"].clone())])
            } else {
                without_noise(acl)
            }
        }
        "Tagging" => without_noise(&request["Tagging"]["TagSet"]),
        "Versioning" => without_noise(&request["VersioningConfiguration"]),
        _ => {
            // The request's one configuration element (`PublicAccessBlockConfiguration`,
            // `ServerSideEncryptionConfiguration`, `CORSConfiguration`...).
            let element = request.as_object().and_then(|params| {
                params
                    .iter()
                    .find(|(key, value)| {
                        value.is_object() && key.chars().next().is_some_and(char::is_uppercase)
                    })
                    .map(|(_, value)| value)
            });
            element.map_or(Value::Null, without_noise)
        }
    };
    config.insert(key.to_owned(), value);
}

/// Copies each `(from, to)` field of `source` into `config` as `to`, when it is there (a
/// missing or `null` field is left out, not written as `null`).
fn copy_present(config: &mut Map<String, Value>, source: &Value, fields: &[(&str, &str)]) {
    for (from, to) in fields {
        if !source[*from].is_null() {
            config.insert((*to).to_owned(), source[*from].clone());
        }
    }
}

/// RunInstances: one create per instance, configured from the response's `instancesSet`.
pub(super) fn run_instances(call: &Call<'_>) -> Vec<Target> {
    items(&call.response["instancesSet"])
        .filter_map(|item| {
            let id = text(&item["instanceId"])?;
            let mut config = Map::new();
            copy_present(
                &mut config,
                item,
                &[
                    ("instanceId", "InstanceId"),
                    ("instanceType", "InstanceType"),
                    ("imageId", "ImageId"),
                    ("subnetId", "SubnetId"),
                    ("vpcId", "VpcId"),
                    ("privateIpAddress", "PrivateIpAddress"),
                    ("keyName", "KeyName"),
                ],
            );
            if let Some(state) = text(&item["instanceState"]["name"]) {
                config.insert(
                    "State".to_owned(),
                    object([("Name", Value::String(state.to_owned()))]),
                );
            }
            let groups: Vec<Value> = items(&item["groupSet"])
                .map(|group| {
                    object([
                        ("GroupId", group["groupId"].clone()),
                        ("GroupName", group["groupName"].clone()),
                    ])
                })
                .collect();
            config.insert("SecurityGroups".to_owned(), Value::Array(groups));
            if let Some(profile) = text(&item["iamInstanceProfile"]["arn"]) {
                config.insert(
                    "IamInstanceProfile".to_owned(),
                    object([("Arn", Value::String(profile.to_owned()))]),
                );
            }
            let tags = tag_specifications(&call.request["tagSpecificationSet"], "instance");
            if !tags.is_empty() {
                config.insert("Tags".to_owned(), Value::Array(tags.clone()));
            }
            let mut associations = Vec::new();
            if let Some(subnet) = text(&item["subnetId"]) {
                associations.push(association(ec2_asset(call, subnet), "in_subnet"));
            }
            for group in items(&item["groupSet"]) {
                if let Some(group) = text(&group["groupId"]) {
                    associations.push(association(ec2_asset(call, group), "secured_by"));
                }
            }
            for device in items(&item["blockDeviceMapping"]) {
                if let Some(volume) = text(&device["ebs"]["volumeId"]) {
                    associations.push(association(ec2_asset(call, volume), "attached_volume"));
                }
            }
            let group = tags.iter().find_map(|tag| {
                (tag["Key"].as_str() == Some("aws:autoscaling:groupName"))
                    .then(|| tag["Value"].as_str())
                    .flatten()
            });
            if let Some(group) = group {
                let asg = typed(
                    call,
                    "compute.autoscaling_group",
                    group,
                    "AWS::AutoScaling::AutoScalingGroup",
                );
                associations.push(association(asg, "member_of"));
            }
            Some(Target {
                kind: Create,
                asset: ec2_asset(call, id),
                config: Some(Value::Object(config)),
                previous: None,
                changed_part: None,
                associations,
            })
        })
        .collect()
}

/// CreateSecurityGroup: a new VPC group has no ingress rule and AWS's default egress rule
/// (all traffic to 0.0.0.0/0): EC2 User Guide, "Default security groups and custom security
/// groups"; Terraform revokes that default egress when it manages the group's egress.
pub(super) fn create_security_group(call: &Call<'_>) -> Target {
    let req = call.request;
    let id =
        text(&call.response["groupId"]).unwrap_or_else(|| text(&req["groupName"]).unwrap_or("?"));
    let mut asset = ec2_typed(call, "network.firewall", id);
    asset.display_name = text(&req["groupName"]).map(str::to_owned);
    let mut config = Map::new();
    config.insert("GroupId".to_owned(), Value::String(id.to_owned()));
    copy_present(
        &mut config,
        req,
        &[
            ("groupName", "GroupName"),
            ("groupDescription", "Description"),
            ("vpcId", "VpcId"),
        ],
    );
    config.insert("OwnerId".to_owned(), Value::String(call.account.to_owned()));
    config.insert("IpPermissions".to_owned(), Value::Array(Vec::new()));
    let default_egress = if req["vpcId"].is_null() {
        Vec::new()
    } else {
        vec![object([
            ("IpProtocol", Value::String("-1".to_owned())),
            (
                "IpRanges",
                Value::Array(vec![object([(
                    "CidrIp",
                    Value::String("0.0.0.0/0".to_owned()),
                )])]),
            ),
            ("UserIdGroupPairs", Value::Array(Vec::new())),
        ])]
    };
    config.insert(
        "IpPermissionsEgress".to_owned(),
        Value::Array(default_egress),
    );
    let tags = tag_specifications(&req["tagSpecificationSet"], "security-group");
    config.insert("Tags".to_owned(), Value::Array(tags));
    let mut associations = Vec::new();
    if let Some(vpc) = text(&req["vpcId"]) {
        associations.push(association(ec2_asset(call, vpc), "member_of"));
    }
    Target {
        kind: Create,
        asset,
        config: Some(Value::Object(config)),
        previous: None,
        changed_part: None,
        associations,
    }
}

pub(super) fn create_user(call: &Call<'_>) -> Target {
    let user = &call.response["user"];
    let name = text(&user["userName"])
        .or_else(|| text(&call.request["userName"]))
        .unwrap_or("?");
    let mut config = Map::new();
    config.insert("UserName".to_owned(), Value::String(name.to_owned()));
    copy_present(
        &mut config,
        user,
        &[("userId", "UserId"), ("arn", "Arn"), ("path", "Path")],
    );
    config.insert("CreateDate".to_owned(), event_second(call));
    config.insert(
        "AttachedManagedPolicies".to_owned(),
        Value::Array(Vec::new()),
    );
    config.insert("Tags".to_owned(), iam_tags(&call.request["tags"]));
    created(iam(call, "iam.user", name), config)
}

pub(super) fn create_role(call: &Call<'_>) -> Target {
    let role = &call.response["role"];
    let req = call.request;
    let name = text(&role["roleName"])
        .or_else(|| text(&req["roleName"]))
        .unwrap_or("?");
    let mut config = Map::new();
    config.insert("RoleName".to_owned(), Value::String(name.to_owned()));
    copy_present(
        &mut config,
        role,
        &[("roleId", "RoleId"), ("arn", "Arn"), ("path", "Path")],
    );
    config.insert("CreateDate".to_owned(), event_second(call));
    let trust = if req["assumeRolePolicyDocument"].is_null() {
        &role["assumeRolePolicyDocument"]
    } else {
        &req["assumeRolePolicyDocument"]
    };
    config.insert(
        "AssumeRolePolicyDocument".to_owned(),
        policy_document(trust),
    );
    copy_present(
        &mut config,
        req,
        &[
            ("description", "Description"),
            ("maxSessionDuration", "MaxSessionDuration"),
        ],
    );
    config.insert(
        "AttachedManagedPolicies".to_owned(),
        Value::Array(Vec::new()),
    );
    config.insert("Tags".to_owned(), iam_tags(&req["tags"]));
    created(iam(call, "iam.role", name), config)
}

pub(super) fn create_access_key(call: &Call<'_>) -> Target {
    let key = &call.response["accessKey"];
    let user = text(&key["userName"])
        .or_else(|| text(&call.request["userName"]))
        .or_else(|| text(&call.record["userIdentity"]["userName"]))
        .unwrap_or("?");
    let id = text(&key["accessKeyId"]).unwrap_or("?");
    let config = [
        ("UserName", Value::String(user.to_owned())),
        ("AccessKeyId", Value::String(id.to_owned())),
        ("Status", key["status"].clone()),
        ("CreateDate", event_second(call)),
    ];
    let mut asset = iam(call, "iam.access_key", id);
    asset.provider_name = Some(format!(
        "arn:aws:iam::{}:user/{user}/accesskey/{id}",
        call.account
    ));
    let mut target = created(
        asset,
        config.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
    );
    target
        .associations
        .push(association(iam(call, "iam.user", user), "belongs_to"));
    target
}

/// CreateTrail: the response describes the trail; a new trail does not log until StartLogging.
pub(super) fn create_trail(call: &Call<'_>) -> Target {
    let name = text(&call.response["name"])
        .or_else(|| text(&call.request["name"]))
        .unwrap_or("?");
    let mut config = match without_noise(call.response) {
        Value::Object(map) => map
            .into_iter()
            .map(|(key, value)| (pascal(&key), value))
            .collect(),
        _ => Map::new(),
    };
    config.insert("IsLogging".to_owned(), Value::Bool(false));
    created(
        typed(call, "log.trail", name, "AWS::CloudTrail::Trail"),
        config,
    )
}

fn created(asset: AssetFields, config: Map<String, Value>) -> Target {
    Target {
        kind: Create,
        asset,
        config: Some(Value::Object(config)),
        previous: None,
        changed_part: None,
        associations: Vec::new(),
    }
}

/// The call's time to the second, as IAM writes dates (`2024-05-05T13:58:02Z`).
fn event_second(call: &Call<'_>) -> Value {
    let time = json::text(&call.record["eventTime"]).unwrap_or_default();
    let second = time.split('.').next().unwrap_or(time).trim_end_matches('Z');
    Value::String(format!("{second}Z"))
}

fn iam_tags(tags: &Value) -> Value {
    Value::Array(
        tags.as_array()
            .into_iter()
            .flatten()
            .map(|tag| object([("Key", tag["key"].clone()), ("Value", tag["value"].clone())]))
            .collect(),
    )
}

fn tag_specifications(specifications: &Value, resource_type: &str) -> Vec<Value> {
    items(specifications)
        .filter(|spec| {
            spec["resourceType"]
                .as_str()
                .is_none_or(|t| t == resource_type)
        })
        .flat_map(|spec| {
            let tags = spec["tags"]
                .as_array()
                .or_else(|| spec["tags"]["items"].as_array());
            tags.into_iter().flatten()
        })
        .map(|tag| object([("Key", tag["key"].clone()), ("Value", tag["value"].clone())]))
        .collect()
}

/// A policy document as JSON: CloudTrail gives it as a JSON string, URL-encoded in IAM
/// responses; an unreadable one stays the text it was.
pub(super) fn policy_document(document: &Value) -> Value {
    let Some(text) = document.as_str() else {
        return without_noise(document);
    };
    let decoded = if text.starts_with('%') {
        percent_encoding::percent_decode_str(text)
            .decode_utf8()
            .map_or_else(|_| text.to_owned(), |decoded| decoded.into_owned())
    } else {
        text.to_owned()
    };
    json::parse(&decoded).unwrap_or(Value::String(decoded))
}

/// A value without S3's XML namespace attributes and the request's `Host`.
pub(super) fn without_noise(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(key, _)| {
                    !matches!(key.as_str(), "xmlns" | "Host" | "requestId" | "_return")
                })
                .map(|(key, value)| (key.clone(), without_noise(value)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_noise).collect()),
        other => other.clone(),
    }
}

pub(super) fn object<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Object(
        entries
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect(),
    )
}

fn list_mut<'c>(config: &'c mut Map<String, Value>, key: &str) -> &'c mut Vec<Value> {
    let slot = config
        .entry(key.to_owned())
        .or_insert_with(|| Value::Array(Vec::new()));
    if !slot.is_array() {
        *slot = Value::Array(Vec::new());
    }
    match slot {
        Value::Array(list) => list,
        _ => unreachable!("made an array above"),
    }
}

/// `s3BucketName` → `S3BucketName`.
fn pascal(key: &str) -> String {
    let mut chars = key.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}
