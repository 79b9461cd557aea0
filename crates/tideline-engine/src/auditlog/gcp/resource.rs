//! gcp::resource: which asset a GCP audit log entry is about, and the assets its request names.
//!
//! The asset id is the resource's own path below its project, as the API names it:
//! `global/firewalls/prod-db-allow-app`, `zones/us-central1-a/instances/vm-1`, `buckets/b`,
//! `serviceAccounts/EMAIL`, `serviceAccounts/EMAIL/keys/KEY`. It is unique within the project
//! (two instances of one name in two zones differ) and every entry about the resource carries
//! it. Service accounts are always named by e-mail (entries name them by e-mail or by numeric
//! id; `resource.labels.email_id` gives the e-mail). The region is taken from that path only
//! (`zones/Z` → Z without its last `-x`, `regions/R` and `locations/L` → R, L), else `global`,
//! so it is the same in every entry about the asset (labels such as a bucket's `location` are
//! not in every entry). A `SetIamPolicy` call is about the resource's IAM policy, an
//! `iam.policy` asset whose id is the resource's path plus `/iamPolicy`.

use super::text;
use crate::auditlog::event::{AssetFields, Association, asset_name};
use crate::json::Value;

/// A resource an entry names.
#[derive(Debug, Clone)]
pub(super) struct Resolved {
    project: String,
    region: String,
    asset_type: String,
    provider_type: Option<String>,
    id: String,
    short: String,
}

impl Resolved {
    pub(super) fn asset(&self) -> AssetFields {
        let mut asset = AssetFields::new(
            "gcp",
            &self.project,
            &self.region,
            &self.asset_type,
            &self.id,
        );
        asset.provider_type = self.provider_type.clone();
        asset.provider_name = Some(format!("projects/{}/{}", self.project, self.id));
        asset.provider_id = self.short.clone();
        asset.display_name = Some(self.short.clone());
        asset
    }
}

/// The asset of the entry, if it names one.
pub(super) fn resolve(record: &Value, project: Option<&str>, verb: &str) -> Option<Resolved> {
    let proto = &record["protoPayload"];
    let service = text(proto, "/serviceName").unwrap_or_default();
    let resource_type = text(record, "/resource/type");
    let email = service_account_email(record);
    let mut resolved = if verb.contains("ServiceAccountKey") {
        // The key is named in the response (create) or the request/resource name (delete).
        ["/response/name", "/request/name", "/resourceName"]
            .iter()
            .filter_map(|pointer| text(proto, pointer))
            .find(|path| path.contains("/keys/"))
            .and_then(|path| from_path(path, project, service, email.as_deref()))
    } else {
        text(proto, "/resourceName")
            .and_then(|path| from_path(path, project, service, email.as_deref()))
    };
    if resolved.is_none() && resource_type == Some("service_account") {
        let email = email.as_deref()?;
        resolved = Some(Resolved {
            project: project?.to_owned(),
            region: "global".to_owned(),
            asset_type: "iam.service_account".to_owned(),
            provider_type: None,
            id: format!("serviceAccounts/{email}"),
            short: email.to_owned(),
        });
    }
    if resolved.is_none()
        && resource_type == Some("gcs_bucket")
        && let Some(bucket) = text(record, "/resource/labels/bucket_name")
    {
        resolved = Some(Resolved {
            project: project?.to_owned(),
            region: "global".to_owned(),
            asset_type: "storage.bucket".to_owned(),
            provider_type: None,
            id: format!("buckets/{bucket}"),
            short: bucket.to_owned(),
        });
    }
    let mut resolved = resolved?;
    if resolved.provider_type.is_none() {
        resolved.provider_type = resource_type.map(str::to_owned);
    }
    if matches!(verb, "SetIamPolicy" | "setIamPolicy") {
        resolved.asset_type = "iam.policy".to_owned();
        resolved.id = if resolved.id.is_empty() {
            "iamPolicy".to_owned()
        } else {
            format!("{}/iamPolicy", resolved.id)
        };
    }
    (!resolved.id.is_empty()).then_some(resolved)
}

/// An asset for a change whose resource cannot be identified: the provider's type (or
/// `unknown`) and the resource name as logged (or `unknown`), so it is kept, never dropped.
pub(super) fn unknown_asset(record: &Value, project: Option<&str>) -> AssetFields {
    let asset_type = text(record, "/resource/type")
        .filter(|kind| !matches!(*kind, "api" | "audited_resource" | "project"))
        .unwrap_or("unknown");
    let id = text(record, "/protoPayload/resourceName").unwrap_or("unknown");
    let mut asset = AssetFields::new(
        "gcp",
        project.unwrap_or("unknown"),
        "global",
        asset_type,
        id,
    );
    asset.provider_type = text(record, "/resource/type").map(str::to_owned);
    asset.provider_name = Some(id.to_owned());
    asset
}

/// Related assets the request names: an instance's networks, subnetworks, disks and service
/// accounts; a firewall's network and target service accounts; a key's service account.
pub(super) fn associations(
    record: &Value,
    asset: &AssetFields,
    request: Option<&Value>,
    project: Option<&str>,
) -> Vec<Association> {
    let service = text(record, "/protoPayload/serviceName").unwrap_or_default();
    let mut out = Vec::new();
    let mut link = |path: &str, relation: &'static str| {
        if let Some(found) = from_path(path, project, service, None) {
            let name = asset_name(
                "gcp",
                &found.project,
                &found.region,
                &found.asset_type,
                &found.id,
            );
            if !out
                .iter()
                .any(|known: &Association| known.name == name && known.relation == relation)
            {
                out.push(Association {
                    name,
                    asset_type: found.asset_type,
                    relation,
                });
            }
        }
    };
    let sa = |email: &str| format!("projects/-/serviceAccounts/{email}");
    let request = request.unwrap_or(&Value::Null);
    match asset.asset_type.as_str() {
        "compute.instance" => {
            for nic in request["networkInterfaces"]
                .as_array()
                .into_iter()
                .flatten()
            {
                if let Some(network) = text(nic, "/network") {
                    link(network, "member_of");
                }
                if let Some(subnet) = text(nic, "/subnetwork") {
                    link(subnet, "in_subnet");
                }
            }
            for disk in request["disks"].as_array().into_iter().flatten() {
                if let Some(source) = text(disk, "/source") {
                    link(source, "attached_volume");
                }
            }
            for account in request["serviceAccounts"].as_array().into_iter().flatten() {
                if let Some(email) = text(account, "/email") {
                    link(&sa(email), "runs_as");
                }
            }
        }
        "network.firewall" => {
            if let Some(network) = text(request, "/network") {
                link(network, "member_of");
            }
            for email in request["targetServiceAccounts"]
                .as_array()
                .into_iter()
                .flatten()
            {
                if let Some(email) = email.as_str() {
                    link(&sa(email), "applies_to");
                }
            }
        }
        "iam.access_key" => {
            if let Some(email) = key_owner(&asset.name) {
                link(&sa(&email), "belongs_to");
            }
        }
        _ => {}
    }
    out
}

/// The service account e-mail in a key's asset name (`…:serviceAccounts/EMAIL/keys/KEY`).
fn key_owner(name: &str) -> Option<String> {
    let rest = &name[name.find("serviceAccounts/")? + "serviceAccounts/".len()..];
    Some(rest.split('/').next()?.to_owned())
}

/// The e-mail of the service account an entry is about, wherever the entry gives it.
fn service_account_email(record: &Value) -> Option<String> {
    if let Some(email) = text(record, "/resource/labels/email_id") {
        return Some(email.to_owned());
    }
    let proto = &record["protoPayload"];
    ["/request/name", "/response/name", "/resourceName"]
        .iter()
        .filter_map(|pointer| text(proto, pointer))
        .find_map(|path| {
            let rest = &path[path.find("serviceAccounts/")? + "serviceAccounts/".len()..];
            rest.split('/')
                .next()
                .filter(|email| email.contains('@'))
                .map(str::to_owned)
        })
        .or_else(|| text(proto, "/response/email").map(str::to_owned))
}

/// A resource from its path (`projects/P/global/firewalls/N`, a full URL, `//service/…`,
/// or a project-relative `global/networks/default`).
fn from_path(
    path: &str,
    project: Option<&str>,
    service: &str,
    email: Option<&str>,
) -> Option<Resolved> {
    let path = match path.find("projects/") {
        Some(start) => &path[start..],
        None => path.trim_start_matches('/'),
    };
    let segments: Vec<&str> = path.split('/').filter(|part| !part.is_empty()).collect();
    let (own_project, rest) = match segments.as_slice() {
        ["projects", p, rest @ ..] => (Some(*p).filter(|p| *p != "_" && *p != "-"), rest),
        rest => (None, rest),
    };
    // `projects/-/serviceAccounts/NAME@PROJECT.iam.gserviceaccount.com`: the e-mail's project.
    let email_project = rest.iter().find_map(|part| {
        part.split_once('@')?
            .1
            .strip_suffix(".iam.gserviceaccount.com")
    });
    let project = own_project.or(email_project).or(project)?;
    let (region, named) = match rest {
        ["global", named @ ..] => ("global".to_owned(), named),
        ["zones" | "regions" | "locations", location, named @ ..] => (region_of(location), named),
        named => ("global".to_owned(), named),
    };
    if named.len() < 2 || !named.len().is_multiple_of(2) {
        return None;
    }
    let mut rest: Vec<String> = rest.iter().map(|part| (*part).to_owned()).collect();
    for i in 0..rest.len().saturating_sub(1) {
        if rest[i] == "serviceAccounts" && !rest[i + 1].contains('@') {
            rest[i + 1] = email?.to_owned();
        }
    }
    let collection = named[named.len() - 2];
    let parent = (named.len() >= 4).then(|| named[named.len() - 4]);
    let asset_type = collection_type(collection, parent, service)
        .map(str::to_owned)
        .unwrap_or_else(|| {
            format!(
                "{}/{collection}",
                service.trim_end_matches(".googleapis.com")
            )
        });
    Some(Resolved {
        project: project.to_owned(),
        region,
        asset_type,
        provider_type: None,
        short: rest.last().cloned().unwrap_or_default(),
        id: rest.join("/"),
    })
}

/// `us-central1-a` → `us-central1`; a region, multi-region or `global` as it is.
fn region_of(location: &str) -> String {
    match location.rsplit_once('-') {
        Some((region, zone)) if region.contains('-') && zone.len() == 1 => region.to_owned(),
        _ => location.to_owned(),
    }
}

/// The normalized type of a collection (contract section 4); `None` when it has none.
fn collection_type(collection: &str, parent: Option<&str>, service: &str) -> Option<&'static str> {
    let service = service.trim_end_matches(".googleapis.com");
    Some(match collection {
        "firewalls" | "firewallPolicies" => "network.firewall",
        "instances"
            if matches!(
                service,
                "sqladmin" | "cloudsql" | "redis" | "spanner" | "alloydb"
            ) =>
        {
            "database.instance"
        }
        "instances" if matches!(service, "compute" | "") => "compute.instance",
        "disks" | "regionDisks" => "storage.volume",
        "snapshots" => "storage.snapshot",
        "images" => "compute.image",
        "networks" => "network.vpc",
        "subnetworks" => "network.subnet",
        "routers" | "vpnGateways" | "targetVpnGateways" => "network.gateway",
        "forwardingRules"
        | "globalForwardingRules"
        | "backendServices"
        | "urlMaps"
        | "targetHttpProxies"
        | "targetHttpsProxies" => "network.load_balancer",
        "instanceGroupManagers" | "regionInstanceGroupManagers" => "compute.autoscaling_group",
        "buckets" => "storage.bucket",
        "serviceAccounts" => "iam.service_account",
        "keys" if parent == Some("serviceAccounts") => "iam.access_key",
        "roles" => "iam.role",
        "clusters" if service == "alloydb" => "database.cluster",
        "clusters" if service == "container" => "container.cluster",
        "functions" => "serverless.function",
        "topics" => "topic",
        "subscriptions" => "queue",
        "cryptoKeys" => "kms.key",
        "secrets" => "secret",
        "managedZones" => "dns.zone",
        "rrsets" | "resourceRecordSets" => "dns.record",
        "sinks" => "log.trail",
        _ => return None,
    })
}
