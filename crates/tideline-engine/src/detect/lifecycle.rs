//! lifecycle: rules about what happened to an asset — `console_where_iac` (one finding per
//! asset and principal), `unexpected_region` (one per account and region),
//! `reverted_change` (the announcement's drift example) and `short_lived_asset` — with their
//! state per asset and per account.
//!
//! `console_where_iac` and `unexpected_region` depend only on which events exist (a console
//! change after the asset's first Terraform change; a create that is the first event of its
//! account in that region), so late events are placed exactly. `reverted_change` and
//! `short_lived_asset` read an asset's changes in order: their state is a [`Replay`].

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use serde::{Deserialize, Serialize};

use super::body::{self, ConfigHash, Which};
use super::ledger::{Ledger, Lookup};
use super::replay::{Made, Replay};
use super::{Change, Context, Order, RuleId, Subject, finding_key, human_duration, redescribe};
use crate::diff::{self, ChangeOp};
use crate::json::Value;
use crate::model::ChangeKind;
use crate::store::{StoreError, StoredEvent, TimedEventRef, format_time};

const HOUR_US: f64 = 3_600_000_000.0;
/// Distinct configurations remembered per asset.
const STATES_KEPT: usize = 64;

/// A configuration an asset had, and where it can be read again: the event `seq`'s `config`
/// (the change that gave the asset this configuration, at `entered_us`) or its
/// `previous_config` (a configuration known only as what some change replaced).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct State {
    config: ConfigHash,
    seq: i64,
    which: Which,
    entered_us: Option<i64>,
}

/// An asset's creation not followed by a deletion (yet): when, and whether by a routine method.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Created {
    seq: i64,
    time_us: i64,
    routine: bool,
}

/// An asset's configurations and whether it was created and not deleted since.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Life {
    states: VecDeque<State>,
    created: Option<Created>,
}

/// One change of an asset as `reverted_change` and `short_lived_asset` read it: small, as the
/// recent ones are kept; a finding reads the rest of its events back from the store.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct LifeStep {
    kind: ChangeKind,
    /// Made by a method `short_lived_asset` deems routine (the provider's autoscaling).
    routine: bool,
    config: Option<ConfigHash>,
    previous: Option<ConfigHash>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct AssetState {
    /// The asset's first Terraform change.
    terraform: Option<Order>,
    life: Option<Replay<Life, LifeStep>>,
}

/// The first event of an account in a region (`unexpected_region` learns regions from them).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RegionFirst {
    order: Order,
    create: bool,
    who: String,
    identity: Option<String>,
    asset_type: Option<String>,
    subject: Subject,
    event: TimedEventRef,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct AccountRegions {
    regions: BTreeMap<String, RegionFirst>,
    /// The regions that are findings now.
    flagged: BTreeSet<String>,
}

#[derive(Default)]
pub(crate) struct LifecycleRules {
    assets: HashMap<String, AssetState>,
    accounts: HashMap<String, AccountRegions>,
    /// Assets and accounts changed since the last [`LifecycleRules::take_state`].
    dirty_assets: HashSet<String>,
    dirty_accounts: HashSet<String>,
}

/// State row keys.
const ASSET: &str = "asset:";
const ACCOUNT: &str = "account:";

impl LifecycleRules {
    /// Marks the state of `asset` changed.
    fn touch(&mut self, asset: &str) {
        if !self.dirty_assets.contains(asset) {
            self.dirty_assets.insert(asset.to_owned());
        }
    }

    /// Takes back a state row written by [`LifecycleRules::take_state`]; false if it is not one.
    pub fn restore(&mut self, key: &str, value: &str) -> bool {
        if let Some(asset) = key.strip_prefix(ASSET) {
            if let Ok(state) = serde_json::from_str(value) {
                self.assets.insert(asset.to_owned(), state);
            }
            return true;
        }
        if let Some(account) = key.strip_prefix(ACCOUNT) {
            if let Ok(state) = serde_json::from_str(value) {
                self.accounts.insert(account.to_owned(), state);
            }
            return true;
        }
        false
    }

    /// The assets and accounts changed since the last call, as state rows.
    pub fn take_state(&mut self) -> Vec<(String, Option<String>)> {
        let assets = self.dirty_assets.drain().map(|asset| {
            let value = self
                .assets
                .get(&asset)
                .and_then(|state| serde_json::to_string(state).ok());
            (format!("{ASSET}{asset}"), value)
        });
        let accounts = self.dirty_accounts.drain().map(|account| {
            let value = self
                .accounts
                .get(&account)
                .and_then(|state| serde_json::to_string(state).ok());
            (format!("{ACCOUNT}{account}"), value)
        });
        assets.chain(accounts).collect()
    }

    /// Settles every asset's steps older than the horizon.
    pub fn settle(&mut self, context: &Context<'_>) -> Result<(), StoreError> {
        for (asset, state) in &mut self.assets {
            if let Some(life) = &mut state.life
                && !life.is_settled()
            {
                // Only a state that changed is written again: an asset's steps within the
                // lateness tolerance stay for up to 15 minutes, and the keeper settles on
                // every pass (each ~0.3 s while recording).
                if life.settle(context.horizon_us, &mut life_step(asset, context))?
                    && !self.dirty_assets.contains(asset)
                {
                    self.dirty_assets.insert(asset.clone());
                }
            }
        }
        Ok(())
    }

    pub fn observe(
        &mut self,
        change: &Change<'_>,
        context: &Context<'_>,
        ledger: &mut Ledger,
    ) -> Result<(), StoreError> {
        self.console_where_iac(change, context, ledger)?;
        self.unexpected_region(change, context, ledger)?;
        let Some(asset) = change.asset else {
            return Ok(());
        };
        if !context.enabled(RuleId::RevertedChange) && !context.enabled(RuleId::ShortLivedAsset) {
            return Ok(());
        }
        let routine = context
            .settings
            .short_lived_asset
            .ignore_methods
            .iter()
            .any(|m| m == change.method());
        let step = LifeStep {
            kind: change.kind,
            routine,
            config: change.config,
            previous: change.previous,
        };
        self.touch(asset);
        let state = match self.assets.get_mut(asset) {
            Some(state) => state,
            None => self.assets.entry(asset.to_owned()).or_default(),
        };
        state.life.get_or_insert_with(Replay::default).observe(
            change.order,
            step,
            context.horizon_us,
            &mut life_step(asset, context),
            ledger,
            context.session,
        )
    }

    /// A console change to an asset Terraform changed before (or one listed as managed as
    /// code), grouped per asset and principal. A Terraform change arriving late before the
    /// asset's first known one flags the console changes between them (read from the
    /// asset's history).
    fn console_where_iac(
        &mut self,
        change: &Change<'_>,
        context: &Context<'_>,
        ledger: &mut Ledger,
    ) -> Result<(), StoreError> {
        if !context.enabled(RuleId::ConsoleWhereIac) {
            return Ok(());
        }
        let asset = change.asset.unwrap_or_default();
        if change.method() == "terraform" {
            let before = self.assets.get(asset).and_then(|state| state.terraform);
            if before.is_some_and(|first| first <= change.order) {
                return Ok(());
            }
            self.assets.entry(asset.to_owned()).or_default().terraform = Some(change.order);
            self.touch(asset);
            if context.late && !asset.is_empty() {
                let until = before.unwrap_or((i64::MAX, i64::MAX));
                for event in context.session.asset_events(asset, None, u64::MAX)? {
                    let Some(kind) = event.change else {
                        continue;
                    };
                    let earlier = Change::new(&event, kind);
                    if earlier.method() == "console"
                        && earlier.order > change.order
                        && earlier.order < until
                    {
                        console_finding(&earlier, context, ledger)?;
                    }
                }
            }
            return Ok(());
        }
        if change.method() != "console" {
            return Ok(());
        }
        let settings = &context.settings.console_where_iac;
        let account = change.event.asset_account.as_deref().unwrap_or_default();
        let managed = settings.managed_assets.iter().any(|a| a == asset)
            || settings.managed_accounts.iter().any(|a| a == account)
            || self
                .assets
                .get(asset)
                .and_then(|state| state.terraform)
                .is_some_and(|first| first < change.order);
        if managed {
            console_finding(change, context, ledger)?;
        }
        Ok(())
    }

    fn unexpected_region(
        &mut self,
        change: &Change<'_>,
        context: &Context<'_>,
        ledger: &mut Ledger,
    ) -> Result<(), StoreError> {
        let (Some(account), Some(region)) = (
            change.event.asset_account.as_deref(),
            change.event.asset_region.as_deref(),
        ) else {
            return Ok(());
        };
        // Global resources (IAM) are not placed anywhere.
        if region == "global" || !context.enabled(RuleId::UnexpectedRegion) {
            return Ok(());
        }
        if let Some(allowed) = context.settings.unexpected_region.allowed.get(account) {
            if change.kind == ChangeKind::Create && !allowed.iter().any(|r| r == region) {
                let subject = format!("{account}|{region}");
                let describe = || {
                    let why = format!(
                        "which is not an allowed region for account {account} (allowed: {})",
                        allowed.join(", ")
                    );
                    region_row(&subject, region, &why, change, context)
                };
                let key = finding_key(RuleId::UnexpectedRegion, &subject);
                let (row, now_first) = ledger.add(
                    &key,
                    change.reference(),
                    context.session,
                    Lookup::Key,
                    describe,
                )?;
                if now_first {
                    redescribe(row, describe());
                }
            }
            return Ok(());
        }
        let regions = self.accounts.entry(account.to_owned()).or_default();
        if regions
            .regions
            .get(region)
            .is_some_and(|first| first.order <= change.order)
        {
            return Ok(());
        }
        regions.regions.insert(
            region.to_owned(),
            RegionFirst {
                order: change.order,
                create: change.kind == ChangeKind::Create,
                who: change.who(),
                identity: change.identity.map(str::to_owned),
                asset_type: change.event.asset_type.clone(),
                subject: Subject {
                    asset: change.asset.map(str::to_owned),
                    label: change.label.to_string(),
                },
                event: change.reference(),
            },
        );
        if !self.dirty_accounts.contains(account) {
            self.dirty_accounts.insert(account.to_owned());
        }
        // A region's finding names the regions known before it: those from this one on change.
        let affected: Vec<String> = regions
            .regions
            .iter()
            .filter(|(_, first)| first.order >= change.order)
            .map(|(name, _)| name.clone())
            .collect();
        for name in affected {
            let first = &regions.regions[&name];
            let mut known: Vec<&str> = regions
                .regions
                .iter()
                .filter(|(_, other)| other.order < first.order)
                .map(|(other, _)| other.as_str())
                .collect();
            known.sort_unstable();
            let subject = format!("{account}|{name}");
            let flagged = first.create && !known.is_empty() && !context.learning(first.order.0);
            if flagged {
                let why = format!(
                    "where account {account} had no assets before (its assets were in {})",
                    known.join(", ")
                );
                let summary = format!(
                    "{} created {} ({}) in {name}, {why}",
                    first.who,
                    first.subject.label,
                    first.asset_type.as_deref().unwrap_or("asset")
                );
                let row = context.row_about(
                    RuleId::UnexpectedRegion,
                    &subject,
                    &first.subject,
                    vec![first.event.clone()],
                    first.identity.clone(),
                    summary,
                );
                ledger.put(row, context.session)?;
                regions.flagged.insert(name);
            } else if regions.flagged.remove(&name) {
                ledger.remove(
                    &finding_key(RuleId::UnexpectedRegion, &subject),
                    context.session,
                    Lookup::Key,
                )?;
            }
        }
        Ok(())
    }
}

/// Counts the console change `change` in its asset's and principal's finding.
fn console_finding(
    change: &Change<'_>,
    context: &Context<'_>,
    ledger: &mut Ledger,
) -> Result<(), StoreError> {
    let settings = &context.settings.console_where_iac;
    let asset = change.asset.unwrap_or_default();
    let account = change.event.asset_account.as_deref().unwrap_or_default();
    let subject = match change.identity {
        Some(identity) => format!("{asset}|{identity}"),
        None => format!("{asset}|{}", change.who()),
    };
    let describe = || {
        let why = if settings.managed_assets.iter().any(|a| a == asset) {
            "it is listed as managed as code".to_owned()
        } else if settings.managed_accounts.iter().any(|a| a == account) {
            format!("account {account} is listed as managed as code")
        } else {
            "Terraform manages it".to_owned()
        };
        let summary = format!(
            "{} changed {} from the console ({}), but {why}",
            change.who(),
            change.label,
            change.action()
        );
        context.row(
            RuleId::ConsoleWhereIac,
            &subject,
            change,
            Vec::new(),
            change.identity.map(str::to_owned),
            summary,
        )
    };
    let key = finding_key(RuleId::ConsoleWhereIac, &subject);
    // Described by its first event alone (`detail` none): in order, grown unread.
    if let Some((row, true)) = ledger.add_in_order(
        &key,
        change.reference(),
        context.session,
        !context.late,
        describe,
    )? {
        redescribe(row, describe());
    }
    Ok(())
}

fn region_row(
    subject: &str,
    region: &str,
    why: &str,
    change: &Change<'_>,
    context: &Context<'_>,
) -> crate::store::FindingRow {
    let summary = format!(
        "{} created {} ({}) in {region}, {why}",
        change.who(),
        change.label,
        change.event.asset_type.as_deref().unwrap_or("asset")
    );
    context.row(
        RuleId::UnexpectedRegion,
        subject,
        change,
        Vec::new(),
        change.identity.map(str::to_owned),
        summary,
    )
}

fn at(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(format_time)
        .unwrap_or_default()
}

/// The configuration `state` names, read back from its event.
fn config_at(context: &Context<'_>, state: &State) -> Result<Value, StoreError> {
    Ok(context
        .session
        .event_by_seq(state.seq)?
        .map(|event| body::config_of(&event.body, state.which))
        .unwrap_or(Value::Null))
}

/// `reverted_change` and `short_lived_asset`'s step over one asset's change.
fn life_step<'a>(
    asset: &'a str,
    context: &'a Context<'a>,
) -> impl FnMut(&mut Life, Order, &LifeStep, Made<'_>) -> Result<(), StoreError> + 'a {
    move |life, order, step, mut made| {
        if context.enabled(RuleId::RevertedChange) {
            reverted_change(asset, life, order, step, made.as_deref_mut(), context)?;
        }
        if context.enabled(RuleId::ShortLivedAsset) {
            short_lived_asset(asset, life, order, step, made, context)?;
        }
        Ok(())
    }
}

/// The event `seq` as a change (a finding made at a step reads its event back).
fn change_at(context: &Context<'_>, seq: i64) -> Result<Option<StoredEvent>, StoreError> {
    Ok(context
        .session
        .event_by_seq(seq)?
        .filter(|event| event.change.is_some()))
}

fn reverted_change(
    asset: &str,
    life: &mut Life,
    order: Order,
    step: &LifeStep,
    made: Made<'_>,
    context: &Context<'_>,
) -> Result<(), StoreError> {
    let states = &mut life.states;
    if step.kind == ChangeKind::Delete {
        states.clear();
        return Ok(());
    }
    let Some(config) = step.config else {
        return Ok(());
    };
    if let Some(previous) = step.previous
        && states.back().is_none_or(|state| state.config != previous)
    {
        states.push_back(State {
            config: previous,
            seq: order.1,
            which: Which::Previous,
            entered_us: None,
        });
    }
    if states.back().is_some_and(|state| state.config == config) {
        return Ok(());
    }
    let window_us = (context.settings.reverted_change.window_hours * HOUR_US) as i64;
    if let Some(made) = made
        && let Some(earlier) = states.iter().rposition(|state| state.config == config)
        && let Some(left) = states.get(earlier + 1).copied()
        && let Some(left_at) = left.entered_us
        && order.0 - left_at <= window_us
        && let Some(left_by) = change_at(context, left.seq)?
        && let Some(now) = change_at(context, order.1)?
    {
        let left_change = Change::new(&left_by, left_by.change.unwrap_or(ChangeKind::Update));
        let change = Change::new(&now, now.change.unwrap_or(ChangeKind::Update));
        // Durations between whole seconds, as the provider logs them.
        let lasted = human_duration((order.0 / 1_000_000 - left_at / 1_000_000) * 1_000_000);
        let before = config_at(context, &states[earlier])?;
        let during_config = body::config_of(&left_by.body, left.which);
        let during = describe_deviation(&change.label, &before, &during_config, &lasted);
        let summary = format!(
            "{during}: changed by {}, reverted by {} ({})",
            left_change.who(),
            change.who(),
            change.action()
        );
        made.push(context.row(
            RuleId::RevertedChange,
            &format!("{asset}|{}|{}", left.seq, order.1),
            &change,
            vec![left_change.reference(), change.reference()],
            change.identity.map(str::to_owned),
            summary,
        ));
    }
    states.push_back(State {
        config,
        seq: order.1,
        which: Which::Config,
        entered_us: Some(order.0),
    });
    while states.len() > STATES_KEPT {
        states.pop_front();
    }
    Ok(())
}

fn short_lived_asset(
    asset: &str,
    life: &mut Life,
    order: Order,
    step: &LifeStep,
    made: Made<'_>,
    context: &Context<'_>,
) -> Result<(), StoreError> {
    match step.kind {
        ChangeKind::Create => {
            life.created = Some(Created {
                seq: order.1,
                time_us: order.0,
                routine: step.routine,
            });
        }
        ChangeKind::Update => {}
        ChangeKind::Delete => {
            let Some(created) = life.created.take() else {
                return Ok(());
            };
            let settings = &context.settings.short_lived_asset;
            let lived = order.0 - created.time_us;
            if lived > (settings.window_hours * HOUR_US) as i64 || (created.routine && step.routine)
            {
                return Ok(());
            }
            let Some(made) = made else {
                return Ok(());
            };
            let (Some(created_by), Some(deleted_by)) = (
                change_at(context, created.seq)?,
                change_at(context, order.1)?,
            ) else {
                return Ok(());
            };
            let create = Change::new(&created_by, ChangeKind::Create);
            let delete = Change::new(&deleted_by, ChangeKind::Delete);
            let action = |change: &Change<'_>| {
                change
                    .event
                    .action
                    .clone()
                    .unwrap_or_else(|| change.kind.to_string())
            };
            let summary = format!(
                "{} ({}) existed for {}: created by {} ({}, {}) at {}, deleted by {} ({}, {}) at {}",
                delete.label,
                delete.event.asset_type.as_deref().unwrap_or("asset"),
                human_duration((order.0 / 1_000_000 - created.time_us / 1_000_000) * 1_000_000),
                create.who(),
                create.method(),
                action(&create),
                at(created.time_us),
                delete.who(),
                delete.method(),
                action(&delete),
                at(order.0)
            );
            made.push(context.row(
                RuleId::ShortLivedAsset,
                &format!("{asset}|{}", created.seq),
                &delete,
                vec![create.reference(), delete.reference()],
                delete.identity.map(str::to_owned),
                summary,
            ));
        }
    }
    Ok(())
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
