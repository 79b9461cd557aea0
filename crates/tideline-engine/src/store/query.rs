//! query: what the store's reads of the change list are filtered and counted by. The store owns
//! these types; the read models above it (`timeline`, `insights`, `export`) re-export them.

use serde::{Deserialize, Serialize};

use crate::model::ChangeKind;

/// What the change list is filtered by. Empty lists and `None` filter nothing; filters combine.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct TimelineQuery {
    pub changes: Vec<ChangeKind>,
    pub asset_types: Vec<String>,
    pub methods: Vec<String>,
    pub principals: Vec<String>,
    pub regions: Vec<String>,
    pub accounts: Vec<String>,
    /// RFC 3339: the range is half-open, `[time_from, time_to)`, so two adjacent ranges (a
    /// chart's buckets, two days) never both hold the event on their boundary.
    pub time_from: Option<String>,
    pub time_to: Option<String>,
    /// Free text over asset names, types, principals, source IPs and actions.
    pub text: Option<String>,
    /// Pivot to one asset.
    pub asset_name: Option<String>,
    /// Only events the analyst starred.
    pub starred_only: bool,
    /// Only events carrying any of these annotation tags.
    pub tags: Vec<String>,
    /// Only changes on this weekday (0 = Monday … 6 = Sunday) …
    pub weekday: Option<u8>,
    /// … and/or in this hour of the day (0–23): a heatmap cell.
    pub hour: Option<u8>,
    /// `weekday`, `hour` and the weekday × hour heatmap are in this machine's local time zone
    /// (the app's "local" times, with its daylight-saving rules) instead of UTC.
    pub local_time: bool,
    /// Only the events behind this finding (its key).
    pub finding: Option<String>,
    /// Only events stored up to this arrival number: a paused view stays exactly as it was
    /// while new events arrive.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub max_seq: Option<i64>,
    /// Only events stored after this arrival number: what arrived since a paused view was
    /// taken (its "N new").
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub after_seq: Option<i64>,
    /// List the events that are not asset changes instead of the changes: sign-ins, role
    /// assumptions, reads and refused calls from audit logs, and the stream's other
    /// `com.opshelm.*` types. Every other filter applies to them the same way.
    pub activity: bool,
    /// Hidden values, facet by facet (an exclusion chip: "not method: provider"). An event
    /// without the facet (no method) is never hidden by them.
    pub exclude_changes: Vec<ChangeKind>,
    pub exclude_asset_types: Vec<String>,
    pub exclude_methods: Vec<String>,
    pub exclude_principals: Vec<String>,
    pub exclude_regions: Vec<String>,
    pub exclude_accounts: Vec<String>,
}

/// The columns a facet can count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Facet {
    Asset,
    Change,
    AssetType,
    Method,
    Principal,
    Region,
    Account,
}

impl Facet {
    /// Every facet, in `event_facets` column order.
    pub const ALL: [Facet; 7] = [
        Facet::Change,
        Facet::AssetType,
        Facet::Method,
        Facet::Principal,
        Facet::Region,
        Facet::Account,
        Facet::Asset,
    ];

    /// The facet's name in `facet_values.facet`, which is also its `event_facets` column.
    pub(super) fn name(self) -> &'static str {
        match self {
            Facet::Asset => "asset",
            Facet::Change => "change",
            Facet::AssetType => "asset_type",
            Facet::Method => "method",
            Facet::Principal => "principal",
            Facet::Region => "region",
            Facet::Account => "account",
        }
    }
}
