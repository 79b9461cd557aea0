//! lifecycle: rules about what happened to an asset — `console_where_iac`, `unexpected_region`,
//! `reverted_change` (the announcement's drift example) and `short_lived_asset`.

use std::collections::{BTreeMap, BTreeSet};

use super::{Change, Context, EventRef, FindingSet, RuleId, human_duration};
use crate::diff::{self, ChangeOp, canonical_compact};
use crate::json::Value;
use crate::model::ChangeKind;
use crate::store::format_time;

const HOUR_US: f64 = 3_600_000_000.0;
/// Distinct configurations remembered per asset.
const STATES_KEPT: usize = 64;

/// A configuration an asset had, and the change that gave it that configuration.
struct State {
    canonical: String,
    config: Value,
    /// `None` for a configuration known only as some event's `previous_config`.
    entered_by: Option<(EventRef, i64, String)>,
}

struct Created {
    event: EventRef,
    time_us: i64,
    method: String,
    who: String,
    action: String,
}

#[derive(Default)]
pub(crate) struct LifecycleRules {
    /// Assets Terraform has changed, with the time of its last change.
    terraform: BTreeMap<String, i64>,
    regions: BTreeMap<String, BTreeSet<String>>,
    states: BTreeMap<String, Vec<State>>,
    created: BTreeMap<String, Created>,
}

impl LifecycleRules {
    pub fn observe(
        &mut self,
        change: &Change<'_>,
        context: &Context<'_>,
        findings: &mut FindingSet,
    ) {
        self.console_where_iac(change, context, findings);
        self.unexpected_region(change, context, findings);
        let Some(asset) = change.asset else {
            return;
        };
        self.reverted_change(asset, change, context, findings);
        self.short_lived_asset(asset, change, context, findings);
    }

    fn console_where_iac(
        &mut self,
        change: &Change<'_>,
        context: &Context<'_>,
        findings: &mut FindingSet,
    ) {
        let settings = &context.settings.console_where_iac;
        let asset = change.asset.unwrap_or_default();
        if change.method() == "terraform" {
            self.terraform.insert(asset.to_owned(), change.time_us);
            return;
        }
        if change.method() != "console" || !context.enabled(RuleId::ConsoleWhereIac) {
            return;
        }
        let account = change.event.asset_account.as_deref().unwrap_or_default();
        let why = if let Some(last) = self.terraform.get(asset) {
            let at = chrono::DateTime::from_timestamp_micros(*last)
                .map(format_time)
                .unwrap_or_default();
            format!("Terraform manages it (last Terraform change {at})")
        } else if settings.managed_assets.iter().any(|a| a == asset) {
            "it is listed as managed as code".to_owned()
        } else if settings.managed_accounts.iter().any(|a| a == account) {
            format!("account {account} is listed as managed as code")
        } else {
            return;
        };
        let summary = format!(
            "{} changed {} from the console ({}), but {why}",
            change.who,
            change.label,
            change.event.action.as_deref().unwrap_or("a change")
        );
        findings.put(context.finding(
            RuleId::ConsoleWhereIac,
            change.event.seq.to_string(),
            vec![change.reference()],
            change,
            change.identity.clone(),
            summary,
        ));
    }

    fn unexpected_region(
        &mut self,
        change: &Change<'_>,
        context: &Context<'_>,
        findings: &mut FindingSet,
    ) {
        let (Some(account), Some(region)) = (
            change.event.asset_account.as_deref(),
            change.event.asset_region.as_deref(),
        ) else {
            return;
        };
        // Global resources (IAM) are not placed anywhere.
        if region == "global" {
            return;
        }
        let known = self.regions.entry(account.to_owned()).or_default();
        let allowed = context.settings.unexpected_region.allowed.get(account);
        let why = match allowed {
            _ if change.kind != ChangeKind::Create
                || !context.enabled(RuleId::UnexpectedRegion) =>
            {
                None
            }
            Some(allowed) if !allowed.iter().any(|r| r == region) => Some(format!(
                "which is not an allowed region for account {account} (allowed: {})",
                allowed.join(", ")
            )),
            Some(_) => None,
            None if !known.is_empty() && !known.contains(region) && !context.learning(change) => {
                Some(format!(
                    "where account {account} had no assets before (its assets were in {})",
                    known
                        .iter()
                        .map(String::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            }
            None => None,
        };
        if let Some(why) = why {
            let summary = format!(
                "{} created {} ({}) in {region}, {why}",
                change.who,
                change.label,
                change.event.asset_type.as_deref().unwrap_or("asset")
            );
            findings.put(context.finding(
                RuleId::UnexpectedRegion,
                change.event.seq.to_string(),
                vec![change.reference()],
                change,
                change.identity.clone(),
                summary,
            ));
        }
        known.insert(region.to_owned());
    }

    fn reverted_change(
        &mut self,
        asset: &str,
        change: &Change<'_>,
        context: &Context<'_>,
        findings: &mut FindingSet,
    ) {
        if change.kind == ChangeKind::Delete {
            self.states.remove(asset);
            return;
        }
        let Some(config) = &change.config else {
            return;
        };
        let states = self.states.entry(asset.to_owned()).or_default();
        if let Some(previous) = &change.previous {
            let canonical = canonical_compact(previous);
            if states
                .last()
                .is_none_or(|state| state.canonical != canonical)
            {
                states.push(State {
                    canonical,
                    config: previous.clone(),
                    entered_by: None,
                });
            }
        }
        let canonical = canonical_compact(config);
        if states
            .last()
            .is_some_and(|state| state.canonical == canonical)
        {
            return;
        }
        let window_us = (context.settings.reverted_change.window_hours * HOUR_US) as i64;
        if let Some(earlier) = states
            .iter()
            .rposition(|state| state.canonical == canonical)
            && let Some((left_by, left_at, left_who)) = &states[earlier + 1].entered_by
            && change.time_us - left_at <= window_us
            && context.enabled(RuleId::RevertedChange)
        {
            // Durations between whole seconds, as the provider logs them.
            let lasted =
                human_duration((change.time_us / 1_000_000 - left_at / 1_000_000) * 1_000_000);
            let during = describe_deviation(
                &change.label,
                &states[earlier].config,
                &states[earlier + 1].config,
                &lasted,
            );
            let summary = format!(
                "{during}: changed by {left_who}, reverted by {} ({})",
                change.who,
                change.event.action.as_deref().unwrap_or("a change")
            );
            let first = left_by.clone();
            let mut finding = context.finding(
                RuleId::RevertedChange,
                format!("{asset}|{}|{}", first.seq, change.event.seq),
                vec![first, change.reference()],
                change,
                change.identity.clone(),
                summary,
            );
            finding.time_us = *left_at;
            finding.time = chrono::DateTime::from_timestamp_micros(*left_at)
                .map(format_time)
                .unwrap_or_default();
            findings.put(finding);
        }
        states.push(State {
            canonical,
            config: config.clone(),
            entered_by: Some((change.reference(), change.time_us, change.who.clone())),
        });
        if states.len() > STATES_KEPT {
            states.drain(..states.len() - STATES_KEPT);
        }
    }

    fn short_lived_asset(
        &mut self,
        asset: &str,
        change: &Change<'_>,
        context: &Context<'_>,
        findings: &mut FindingSet,
    ) {
        let action = change
            .event
            .action
            .clone()
            .unwrap_or_else(|| change.kind.to_string());
        match change.kind {
            ChangeKind::Create => {
                let created = Created {
                    event: change.reference(),
                    time_us: change.time_us,
                    method: change.method().to_owned(),
                    who: change.who.clone(),
                    action,
                };
                self.created.insert(asset.to_owned(), created);
            }
            ChangeKind::Update => {}
            ChangeKind::Delete => {
                let Some(created) = self.created.remove(asset) else {
                    return;
                };
                let settings = &context.settings.short_lived_asset;
                let routine = |method: &str| settings.ignore_methods.iter().any(|m| m == method);
                let lived = change.time_us - created.time_us;
                if lived > (settings.window_hours * HOUR_US) as i64
                    || (routine(&created.method) && routine(change.method()))
                    || !context.enabled(RuleId::ShortLivedAsset)
                {
                    return;
                }
                let at = |micros: i64| {
                    chrono::DateTime::from_timestamp_micros(micros)
                        .map(format_time)
                        .unwrap_or_default()
                };
                let summary = format!(
                    "{} ({}) existed for {}: created by {} ({}, {}) at {}, deleted by {} ({}, {}) at {}",
                    change.label,
                    change.event.asset_type.as_deref().unwrap_or("asset"),
                    human_duration(
                        (change.time_us / 1_000_000 - created.time_us / 1_000_000) * 1_000_000
                    ),
                    created.who,
                    created.method,
                    created.action,
                    at(created.time_us),
                    change.who,
                    change.method(),
                    action,
                    at(change.time_us)
                );
                let mut finding = context.finding(
                    RuleId::ShortLivedAsset,
                    format!("{asset}|{}", created.event.seq),
                    vec![created.event.clone(), change.reference()],
                    change,
                    change.identity.clone(),
                    summary,
                );
                finding.time_us = created.time_us;
                finding.time = at(created.time_us);
                findings.put(finding);
            }
        }
    }
}

/// What was different while an asset deviated: "prod-db-sg allowed 203.0.113.66/32 on
/// 5432 for 16m45s" for a firewall opened and closed again, else the field changes.
fn describe_deviation(label: &str, before: &Value, during: &Value, lasted: &str) -> String {
    let changes = diff::field_changes(before, during);
    let opened: Vec<String> = changes
        .iter()
        .filter(|c| c.op == ChangeOp::Added)
        .filter_map(|c| firewall_range(&c.path, c.new.as_ref()?, during))
        .collect();
    if !opened.is_empty() && opened.len() == changes.len() {
        return format!("{label} allowed {} for {lasted}", opened.join(", "));
    }
    format!(
        "{label} changed ({}) for {lasted}, then returned to its earlier configuration",
        diff::summarize(&changes, 3)
    )
}

/// `203.0.113.66/32 on 5432` (or `on 53/udp`) for an added `IpPermissions[i].IpRanges[…]` entry.
fn firewall_range(path: &str, added: &Value, config: &Value) -> Option<String> {
    let rest = path.strip_prefix("IpPermissions[")?;
    let (index, rest) = rest.split_once(']')?;
    if !(rest.starts_with(".IpRanges[") || rest.starts_with(".Ipv6Ranges[")) {
        return None;
    }
    let cidr = added
        .get("CidrIp")
        .or_else(|| added.get("CidrIpv6"))?
        .as_str()?;
    let rule = &config["IpPermissions"][index.parse::<usize>().ok()?];
    let protocol = match rule["IpProtocol"].as_str() {
        Some("-1") => return Some(format!("{cidr} on all traffic")),
        Some(protocol) => protocol.to_owned(),
        None => rule["IpProtocol"].to_string(),
    };
    let ports = match (rule["FromPort"].as_i64(), rule["ToPort"].as_i64()) {
        (Some(from), Some(to)) if from == to => from.to_string(),
        (Some(from), Some(to)) => format!("{from}-{to}"),
        _ => "all ports".to_owned(),
    };
    if protocol == "tcp" || protocol == "6" {
        Some(format!("{cidr} on {ports}"))
    } else {
        Some(format!("{cidr} on {ports}/{protocol}"))
    }
}
