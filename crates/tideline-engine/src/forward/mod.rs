//! forward: routing a session's changes and findings to the tools a team already runs —
//! webhooks, Slack, Splunk HEC, Elasticsearch/OpenSearch, syslog (RFC 5424) — by a forwarding
//! file of routes ([`rules`]), delivered at least once from the session's own events
//! ([`runner`]) in each receiver's documented format ([`destinations`]).

pub mod destinations;
pub mod rules;
pub mod runner;

pub use destinations::{DestinationConfig, EventFacts, SecretSource};
pub use rules::{ForwardingRules, RulesError};
pub use runner::{DestinationStatus, Follow, ForwardError, run};
