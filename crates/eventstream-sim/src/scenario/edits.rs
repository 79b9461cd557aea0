//! One API call of the background: its CloudTrail name and parameters, and the edit it
//! makes to the asset's configuration (applied in time order by the timeline).

use serde_json::{Value, json};

use crate::cloud::ChangeType;

/// A configuration change, applied to the asset's current configuration.
#[derive(Debug, Clone)]
pub(crate) enum Edit {
    Create(Value),
    Delete,
    /// Add or overwrite one tag in `Tags`/`TagSet` (list or object).
    SetTag(&'static str, String),
    RemoveTag(&'static str),
    /// Set a value at a path of object keys, creating objects on the way.
    Set(&'static [&'static str], Value),
    /// Append an ingress rule to a security group.
    AddIngress(Value),
    /// Remove a source security group from every ingress rule.
    RemoveGroupPair(&'static str),
    /// Set the description of the first ingress grant of a security group.
    DescribeFirstRule(String),
    /// Append an action to the first statement of a role's first inline policy.
    AddPolicyAction(&'static str),
}

impl Edit {
    pub fn change_type(&self) -> ChangeType {
        match self {
            Self::Create(_) => ChangeType::Create,
            Self::Delete => ChangeType::Delete,
            _ => ChangeType::Update,
        }
    }

    /// The configuration after the edit (`None` once deleted).
    pub fn apply(&self, current: Option<&Value>) -> Option<Value> {
        let mut config = match self {
            Self::Create(config) => return Some(config.clone()),
            Self::Delete => return None,
            _ => current.cloned().unwrap_or_else(|| json!({})),
        };
        match self {
            Self::SetTag(key, value) => set_tag(&mut config, key, Some(value)),
            Self::RemoveTag(key) => set_tag(&mut config, key, None),
            Self::Set(path, value) => set_path(&mut config, path, value.clone()),
            Self::AddIngress(rule) => push(&mut config, "IpPermissions", rule.clone()),
            Self::RemoveGroupPair(group) => {
                for rule in items_mut(&mut config, "IpPermissions") {
                    if let Some(Value::Array(pairs)) = rule.get_mut("UserIdGroupPairs") {
                        pairs.retain(|p| p.get("GroupId").and_then(Value::as_str) != Some(group));
                    }
                }
            }
            Self::DescribeFirstRule(text) => {
                if let Some(rule) = items_mut(&mut config, "IpPermissions").next() {
                    let grant = ["IpRanges", "UserIdGroupPairs"].into_iter().find(|k| {
                        rule.get(*k)
                            .and_then(Value::as_array)
                            .is_some_and(|a| !a.is_empty())
                    });
                    if let Some(k) = grant {
                        rule[k][0]["Description"] = json!(text);
                    }
                }
            }
            Self::AddPolicyAction(action) => {
                let actions =
                    &mut config["RolePolicyList"][0]["PolicyDocument"]["Statement"][0]["Action"];
                if let Value::Array(list) = actions {
                    list.push(json!(action));
                }
            }
            Self::Create(_) | Self::Delete => unreachable!("handled above"),
        }
        Some(config)
    }
}

fn items_mut<'a>(config: &'a mut Value, key: &str) -> impl Iterator<Item = &'a mut Value> {
    config
        .get_mut(key)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
}

fn push(config: &mut Value, key: &str, item: Value) {
    match config.get_mut(key) {
        Some(Value::Array(list)) => list.push(item),
        _ => config[key] = json!([item]),
    }
}

fn set_path(config: &mut Value, path: &[&str], value: Value) {
    let mut node = config;
    for key in &path[..path.len() - 1] {
        if !node.get(*key).is_some_and(Value::is_object) {
            node[*key] = json!({});
        }
        node = &mut node[*key];
    }
    node[path[path.len() - 1]] = value;
}

fn set_tag(config: &mut Value, key: &str, value: Option<&String>) {
    let field = if config.get("TagSet").is_some() {
        "TagSet"
    } else {
        "Tags"
    };
    match config.get_mut(field) {
        Some(Value::Object(map)) => match value {
            Some(v) => {
                map.insert(key.to_owned(), json!(v));
            }
            None => {
                map.remove(key);
            }
        },
        Some(Value::Array(list)) => {
            let pos = list
                .iter()
                .position(|t| t.get("Key").and_then(Value::as_str) == Some(key));
            match (pos, value) {
                (Some(i), Some(v)) => list[i]["Value"] = json!(v),
                (None, Some(v)) => list.push(json!({ "Key": key, "Value": v })),
                (Some(i), None) => {
                    list.remove(i);
                }
                (None, None) => {}
            }
        }
        _ => {
            if let Some(v) = value {
                config[field] = json!([{ "Key": key, "Value": v }]);
            }
        }
    }
}

/// One planned API call.
#[derive(Debug, Clone)]
pub(crate) struct Op {
    pub action: &'static str,
    pub edit: Edit,
    pub request: Value,
    pub response: Value,
}

impl Op {
    pub fn new(action: &'static str, edit: Edit, request: Value, response: Value) -> Self {
        Self {
            action,
            edit,
            request,
            response,
        }
    }

    /// EC2 `CreateTags` on one resource.
    pub fn ec2_tag(resource: &str, key: &'static str, value: String) -> Self {
        let request = json!({
            "resourcesSet": { "items": [{ "resourceId": resource }] },
            "tagSet": { "items": [{ "key": key, "value": value }] },
        });
        Self::new(
            "CreateTags",
            Edit::SetTag(key, value),
            request,
            json!({ "_return": true }),
        )
    }

    /// EC2 `DeleteTags` of one key.
    pub fn ec2_untag(resource: &str, key: &'static str) -> Self {
        let request = json!({
            "resourcesSet": { "items": [{ "resourceId": resource }] },
            "tagSet": { "items": [{ "key": key }] },
        });
        Self::new(
            "DeleteTags",
            Edit::RemoveTag(key),
            request,
            json!({ "_return": true }),
        )
    }

    /// S3 `PutBucketTagging` adding or changing one tag.
    pub fn bucket_tag(bucket: &str, key: &'static str, value: String) -> Self {
        let request = json!({
            "bucketName": bucket,
            "Tagging": { "TagSet": { "Tag": [{ "Key": key, "Value": value }] } },
        });
        Self::new(
            "PutBucketTagging",
            Edit::SetTag(key, value),
            request,
            Value::Null,
        )
    }

    /// S3 `PutBucketLifecycle` expiring objects after `days`.
    pub fn bucket_lifecycle(bucket: &str, days: u32) -> Self {
        let lifecycle = json!({ "Rules": [{
            "ID": "expire-old-objects",
            "Status": "Enabled",
            "Filter": { "Prefix": "" },
            "Expiration": { "Days": days },
        }]});
        let request = json!({ "bucketName": bucket, "LifecycleConfiguration": lifecycle });
        let edit = Edit::Set(&["LifecycleConfiguration"], lifecycle);
        Self::new("PutBucketLifecycle", edit, request, Value::Null)
    }
}

/// CloudTrail's spelling of a security-group rule (`ipProtocol`, `ipRanges.items`...).
pub(crate) fn trail_rule(rule: &Value) -> Value {
    let ranges: Vec<Value> = rule["IpRanges"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| json!({ "cidrIp": r["CidrIp"], "description": r["Description"] }))
        .collect();
    let groups: Vec<Value> = rule["UserIdGroupPairs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| json!({ "groupId": g["GroupId"], "description": g["Description"] }))
        .collect();
    json!({
        "ipProtocol": rule["IpProtocol"],
        "fromPort": rule["FromPort"],
        "toPort": rule["ToPort"],
        "ipRanges": { "items": ranges },
        "groups": { "items": groups },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_set_and_removed_in_lists_and_objects() {
        let list = json!({ "Tags": [{ "Key": "a", "Value": "1" }] });
        let set = Edit::SetTag("b", "2".into()).apply(Some(&list)).unwrap();
        assert_eq!(set["Tags"][1], json!({ "Key": "b", "Value": "2" }));
        let removed = Edit::RemoveTag("b").apply(Some(&set)).unwrap();
        assert_eq!(removed, list);
        let object = json!({ "Tags": { "a": "1" } });
        let set = Edit::SetTag("a", "3".into()).apply(Some(&object)).unwrap();
        assert_eq!(set["Tags"]["a"], "3");
    }

    #[test]
    fn set_creates_missing_objects() {
        let out = Edit::Set(&["Environment", "Variables", "RELEASE"], json!("r2"))
            .apply(Some(&json!({})))
            .unwrap();
        assert_eq!(out["Environment"]["Variables"]["RELEASE"], "r2");
    }
}
