//! azure::resource: the asset an Activity Log entry's `resourceId` names.
//!
//! `/subscriptions/S/resourceGroups/RG/providers/NS/TYPE/NAME[/TYPE2/NAME2…]`; with nested
//! `providers/` segments (extension resources such as diagnostic settings) the last one
//! names the resource. The asset id is the path below the subscription, lower-cased. A
//! security rule (`…/networkSecurityGroups/NSG/securityRules/R`) is part of its NSG: the asset
//! is the NSG and the rule's name is kept apart.

use crate::auditlog::event::AssetFields;
use crate::json::Value;

/// A parsed resource id.
#[derive(Debug, Clone)]
pub(super) struct Found {
    pub subscription: String,
    /// Segments below the subscription (as logged), up to the asset (the NSG for a rule).
    segments: Vec<String>,
    /// `Microsoft.Network/networkSecurityGroups`, as logged; `None` when no resource is named.
    provider_type: Option<String>,
    /// The security rule's name when the id names one.
    pub rule: Option<String>,
}

pub(super) fn parse(resource_id: &str) -> Option<Found> {
    let parts: Vec<&str> = resource_id
        .split('/')
        .filter(|part| !part.is_empty())
        .collect();
    if !parts.first()?.eq_ignore_ascii_case("subscriptions") || parts.len() < 2 {
        return None;
    }
    let below: Vec<String> = parts[2..].iter().map(|part| (*part).to_owned()).collect();
    let providers = below
        .iter()
        .rposition(|part| part.eq_ignore_ascii_case("providers"));
    let mut found = Found {
        subscription: parts[1].to_owned(),
        segments: below.clone(),
        provider_type: None,
        rule: None,
    };
    match providers {
        Some(at) if below.len() >= at + 4 && (below.len() - at - 2).is_multiple_of(2) => {
            let namespace = &below[at + 1];
            let types: Vec<&str> = below[at + 2..]
                .iter()
                .step_by(2)
                .map(String::as_str)
                .collect();
            let joined = format!("{namespace}/{}", types.join("/"));
            if joined.eq_ignore_ascii_case("Microsoft.Network/networkSecurityGroups/securityRules")
            {
                found.rule = below.last().cloned();
                found.segments.truncate(below.len() - 2);
                found.provider_type = Some(format!("{namespace}/{}", types[0]));
            } else {
                found.provider_type = Some(joined);
            }
        }
        None if below.len() == 2 && below[0].eq_ignore_ascii_case("resourceGroups") => {
            found.provider_type = Some("Microsoft.Resources/resourceGroups".to_owned());
        }
        _ => {}
    }
    Some(found)
}

impl Found {
    /// The asset, when the id names a resource.
    pub(super) fn asset(&self, subscription: &str) -> Option<AssetFields> {
        let provider_type = self.provider_type.as_deref()?;
        // Not in section 4: the ARM type, lower-cased (the storage export upper-cases it).
        let asset_type = normalized_type(provider_type)
            .map(str::to_owned)
            .unwrap_or_else(|| provider_type.to_ascii_lowercase());
        let id = self.segments.join("/").to_ascii_lowercase();
        let mut asset = AssetFields::new("azure", subscription, "global", &asset_type, &id);
        asset.provider_type = Some(provider_type.to_owned());
        asset.provider_name = Some(format!(
            "/subscriptions/{}/{}",
            self.subscription,
            self.segments.join("/")
        ));
        asset.provider_id = self.segments.last().cloned().unwrap_or_default();
        asset.display_name = self.segments.last().cloned();
        Some(asset)
    }
}

/// An asset for a change whose resource id names no resource: type `unknown`, id the
/// resource id as logged (lower-cased), so the change is kept.
pub(super) fn unknown_asset(
    subscription: &str,
    resource_id: Option<&str>,
    record: &Value,
) -> AssetFields {
    let id = resource_id
        .map(str::to_ascii_lowercase)
        .unwrap_or_else(|| "unknown".to_owned());
    let mut asset = AssetFields::new("azure", subscription, "global", "unknown", &id);
    asset.provider_type = super::text(record, "/resourceType/value")
        .or_else(|| super::text(record, "/resourceType"))
        .map(str::to_owned);
    asset.provider_name = resource_id.map(str::to_owned);
    asset
}

/// Contract section 4 type of an ARM resource type (case-insensitive).
fn normalized_type(provider_type: &str) -> Option<&'static str> {
    Some(match provider_type.to_ascii_lowercase().as_str() {
        "microsoft.network/networksecuritygroups" | "microsoft.network/azurefirewalls" => {
            "network.firewall"
        }
        "microsoft.compute/virtualmachines" | "microsoft.classiccompute/virtualmachines" => {
            "compute.instance"
        }
        "microsoft.compute/images" => "compute.image",
        "microsoft.compute/virtualmachinescalesets" => "compute.autoscaling_group",
        "microsoft.compute/disks" => "storage.volume",
        "microsoft.compute/snapshots" => "storage.snapshot",
        "microsoft.storage/storageaccounts"
        | "microsoft.storage/storageaccounts/blobservices/containers" => "storage.bucket",
        "microsoft.network/virtualnetworks" => "network.vpc",
        "microsoft.network/virtualnetworks/subnets" => "network.subnet",
        "microsoft.network/networkinterfaces" => "network.interface",
        "microsoft.network/loadbalancers" | "microsoft.network/applicationgateways" => {
            "network.load_balancer"
        }
        "microsoft.network/natgateways" | "microsoft.network/virtualnetworkgateways" => {
            "network.gateway"
        }
        "microsoft.network/routetables" => "network.route_table",
        "microsoft.network/dnszones" | "microsoft.network/privatednszones" => "dns.zone",
        "microsoft.sql/servers"
        | "microsoft.sql/servers/databases"
        | "microsoft.dbforpostgresql/servers"
        | "microsoft.dbforpostgresql/flexibleservers"
        | "microsoft.dbformysql/servers"
        | "microsoft.dbformysql/flexibleservers" => "database.instance",
        "microsoft.authorization/roledefinitions" => "iam.role",
        "microsoft.managedidentity/userassignedidentities" => "iam.service_account",
        "microsoft.keyvault/vaults/keys" => "kms.key",
        "microsoft.keyvault/vaults/secrets" => "secret",
        "microsoft.web/sites/functions" => "serverless.function",
        "microsoft.containerservice/managedclusters" => "container.cluster",
        "microsoft.servicebus/namespaces/queues"
        | "microsoft.storage/storageaccounts/queueservices/queues" => "queue",
        "microsoft.servicebus/namespaces/topics" | "microsoft.eventgrid/topics" => "topic",
        "microsoft.insights/diagnosticsettings" => "log.trail",
        _ => return None,
    })
}
