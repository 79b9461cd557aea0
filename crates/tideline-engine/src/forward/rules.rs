//! forward::rules: the forwarding file — which changes and findings go to which destinations —
//! read and checked, and matched against events and findings.
//!
//! ```json
//! {"routes": [{"match": {"change": ["create", "update", "delete"], "asset_type": ["network.firewall"]},
//!              "to": [{"kind": "webhook", "url": "http://127.0.0.1:9000/hook"}]},
//!             {"match": {"finding_severity": "medium"},
//!              "to": [{"kind": "syslog", "transport": "tcp", "address": "127.0.0.1:514"}]}]}
//! ```
//!
//! A route with a `finding_rule` or `finding_severity` matches findings; any other route
//! matches events: asset changes, or with `"change": ["activity"]` also the events that are not
//! changes (sign-ins, reads, refused calls). Within a match, listed fields must all hold; a
//! list holds when the value is one of it. Unknown fields are refused, naming them, so a typo
//! never silently forwards everything.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::destinations::{DestinationConfig, EventFacts};
use crate::attribution::principal_short;

/// The whole forwarding file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardingRules {
    pub routes: Vec<Route>,
}

/// What to send where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    #[serde(rename = "match", default)]
    pub matches: Match,
    pub to: Vec<DestinationConfig>,
}

/// The conditions of a route; an empty list or a missing field holds for everything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Match {
    /// `create`, `update`, `delete`, and `activity` for the events that are not changes.
    pub change: Vec<String>,
    pub asset_type: Vec<String>,
    pub provider: Vec<String>,
    pub account: Vec<String>,
    pub region: Vec<String>,
    pub method: Vec<String>,
    /// A principal's full name (ARN, e-mail) or its short name (`jdoe`, `role/session`).
    pub principal: Vec<String>,
    /// Findings of these rules (`reverted_change`...).
    pub finding_rule: Vec<String>,
    /// Findings of at least this severity: `low`, `medium` or `high`.
    pub finding_severity: Option<String>,
    /// Events the search box's query language finds (`principal:jdoe NOT method:provider`,
    /// `203.0.113.66`), besides the fields above.
    pub query: Option<String>,
}

/// A forwarding file Tideline cannot use, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    #[error("the forwarding rules are not valid: {0}")]
    Invalid(String),
    #[error("routes[{route}].{field}: {problem}")]
    Field {
        route: usize,
        field: &'static str,
        problem: String,
    },
}

const CHANGES: [&str; 4] = ["create", "update", "delete", "activity"];
const SEVERITIES: [&str; 3] = ["low", "medium", "high"];

impl ForwardingRules {
    /// Reads and checks a forwarding file's text.
    ///
    /// Errors: not JSON, an unknown or mistyped field (serde names it, with line and column),
    /// or a value the routes cannot use (named by its path, `routes[1].match.change`).
    pub fn parse(text: &str) -> Result<ForwardingRules, RulesError> {
        let rules: ForwardingRules =
            serde_json::from_str(text).map_err(|error| RulesError::Invalid(error.to_string()))?;
        rules.validate()?;
        Ok(rules)
    }

    /// Checks what serde cannot: known change kinds and severities, at least one destination.
    pub fn validate(&self) -> Result<(), RulesError> {
        for (route, entry) in self.routes.iter().enumerate() {
            let field = |field, problem: String| RulesError::Field {
                route,
                field,
                problem,
            };
            if entry.to.is_empty() {
                return Err(field("to", "a route needs at least one destination".into()));
            }
            if let Some(bad) = entry
                .matches
                .change
                .iter()
                .find(|c| !CHANGES.contains(&c.as_str()))
            {
                return Err(field(
                    "match.change",
                    format!("{bad:?} is not one of create, update, delete, activity"),
                ));
            }
            if let Some(query) = &entry.matches.query {
                if entry.matches.is_for_findings() {
                    return Err(field(
                        "match.query",
                        "a query selects events; it cannot be combined with finding_rule or finding_severity".into(),
                    ));
                }
                crate::store::check_search_query(query)
                    .map_err(|error| field("match.query", error.to_string()))?;
            }
            if let Some(severity) = &entry.matches.finding_severity
                && !SEVERITIES.contains(&severity.as_str())
            {
                return Err(field(
                    "match.finding_severity",
                    format!("{severity:?} is not one of low, medium, high"),
                ));
            }
        }
        Ok(())
    }

    /// Every destination named by the routes, once each, by its name.
    pub fn destinations(&self) -> BTreeMap<String, DestinationConfig> {
        self.routes
            .iter()
            .flat_map(|route| route.to.iter())
            .map(|destination| (destination.name(), destination.clone()))
            .collect()
    }

    /// Whether `facts` (an event's, or a finding's with `rule` and `severity` set) goes to the
    /// destination named `destination`. `query_finds(route)` says whether route number `route`'s
    /// query finds the event (asked only of routes that have a query).
    pub fn sends(
        &self,
        destination: &str,
        facts: &EventFacts,
        query_finds: impl Fn(usize) -> bool,
    ) -> bool {
        self.routes.iter().enumerate().any(|(index, route)| {
            route.to.iter().any(|to| to.name() == destination)
                && route.matches.holds(facts)
                && (route.matches.query.is_none() || query_finds(index))
        })
    }

    /// The routes to `destination` that have a query: (route number, query, whether it also
    /// selects activity).
    pub fn queries_for(&self, destination: &str) -> Vec<(usize, &str, bool)> {
        self.routes
            .iter()
            .enumerate()
            .filter(|(_, route)| route.to.iter().any(|to| to.name() == destination))
            .filter_map(|(index, route)| {
                let query = route.matches.query.as_deref()?;
                let activity = route.matches.change.iter().any(|c| c == "activity");
                Some((index, query, activity))
            })
            .collect()
    }
}

impl Match {
    fn is_for_findings(&self) -> bool {
        !self.finding_rule.is_empty() || self.finding_severity.is_some()
    }

    /// Whether these conditions hold for `facts`.
    pub fn holds(&self, facts: &EventFacts) -> bool {
        let is_finding = facts.rule.is_some();
        if is_finding != self.is_for_findings() {
            return false;
        }
        let one_of = |list: &[String], value: Option<&str>| {
            list.is_empty() || value.is_some_and(|value| list.iter().any(|item| item == value))
        };
        if is_finding {
            let severe_enough = self.finding_severity.as_deref().is_none_or(|least| {
                let rank = |s: &str| SEVERITIES.iter().position(|known| *known == s);
                rank(facts.severity.as_deref().unwrap_or_default()) >= rank(least)
            });
            return severe_enough && one_of(&self.finding_rule, facts.rule.as_deref());
        }
        let change = facts.change.as_deref().unwrap_or("activity");
        let changes_hold = if self.change.is_empty() {
            change != "activity"
        } else {
            self.change.iter().any(|wanted| wanted == change)
        };
        let principal_holds = self.principal.is_empty()
            || facts.principal.as_deref().is_some_and(|principal| {
                let short = principal_short(principal);
                self.principal.iter().any(|p| p == principal || *p == short)
            });
        changes_hold
            && principal_holds
            && one_of(&self.asset_type, facts.asset_type.as_deref())
            && one_of(&self.provider, facts.provider.as_deref())
            && one_of(&self.account, facts.account.as_deref())
            && one_of(&self.region, facts.region.as_deref())
            && one_of(&self.method, facts.method.as_deref())
    }
}

impl DestinationConfig {
    /// The destination's name: its kind and address, never a secret's value
    /// (`webhook http://127.0.0.1:9000/hook`, `slack (secret team-slack)`). Cursors and status
    /// are kept by it, so a destination keeps its place when the file is edited around it.
    pub fn name(&self) -> String {
        match self {
            DestinationConfig::Webhook { url, .. } => format!("webhook {url}"),
            DestinationConfig::Slack { url_secret } => format!("slack (secret {url_secret})"),
            DestinationConfig::SplunkHec { url, .. } => format!("splunk_hec {url}"),
            DestinationConfig::Elasticsearch { url, .. } => format!("elasticsearch {url}"),
            DestinationConfig::Syslog {
                transport, address, ..
            } => format!("syslog {transport:?} {address}").to_lowercase(),
        }
    }

    /// The names of the secrets it needs (looked up in the keyring or the environment).
    pub fn secret_names(&self) -> Vec<String> {
        let names: Vec<&Option<String>> = match self {
            DestinationConfig::Webhook { hmac_secret, .. } => vec![hmac_secret],
            DestinationConfig::Elasticsearch { auth_secret, .. } => vec![auth_secret],
            DestinationConfig::Slack { url_secret } => return vec![url_secret.clone()],
            DestinationConfig::SplunkHec { token_secret, .. } => return vec![token_secret.clone()],
            DestinationConfig::Syslog { .. } => vec![],
        };
        names.into_iter().flatten().cloned().collect()
    }
}
