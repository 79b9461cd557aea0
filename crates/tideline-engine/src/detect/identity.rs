//! identity: rules about who made a change and from where — `new_source_ip`,
//! `unexpected_principal` and `impossible_travel`.

use std::collections::{BTreeMap, BTreeSet};

use super::geo::{self, GeoIp, Place};
use super::{Change, Context, EventRef, FindingSet, RuleId, human_duration};
use crate::attribution::{parse_ip, principal_short};

struct LastPlace {
    place: Place,
    ip: String,
    time_us: i64,
    event: EventRef,
}

pub(crate) struct IdentityRules {
    /// Addresses each identity changed something from.
    addresses: BTreeMap<String, BTreeSet<String>>,
    /// Identities seen changing anything.
    seen: BTreeSet<String>,
    geoip: Option<GeoIp>,
    last_place: BTreeMap<String, LastPlace>,
}

impl IdentityRules {
    pub fn new(geoip: Option<GeoIp>) -> IdentityRules {
        IdentityRules {
            addresses: BTreeMap::new(),
            seen: BTreeSet::new(),
            geoip,
            last_place: BTreeMap::new(),
        }
    }

    pub fn observe(
        &mut self,
        change: &Change<'_>,
        context: &Context<'_>,
        findings: &mut FindingSet,
    ) {
        let Some(identity) = change.identity.clone() else {
            return;
        };
        // The provider's own operations are not a person's: none of these rules apply.
        if change.method() == "provider" {
            return;
        }
        self.unexpected_principal(&identity, change, context, findings);
        // Compared in canonical form (the column is canonical from ingest on; sessions
        // recorded before keep the spelling that arrived), so that `198.051.100.007` and
        // `::ffff:198.51.100.7` are the 198.51.100.7 already seen.
        let ip = change.event.source_ip.as_deref().and_then(parse_ip);
        if let Some(ip) = ip {
            let text = ip.to_string();
            self.new_source_ip(&identity, &text, change, context, findings);
            self.impossible_travel(&identity, &text, ip, change, context, findings);
        }
    }

    fn new_source_ip(
        &mut self,
        identity: &str,
        ip: &str,
        change: &Change<'_>,
        context: &Context<'_>,
        findings: &mut FindingSet,
    ) {
        let known = self.addresses.entry(identity.to_owned()).or_default();
        let is_new = !known.is_empty() && !known.contains(ip);
        if is_new && !context.learning(change) && context.enabled(RuleId::NewSourceIp) {
            let before: Vec<&str> = known.iter().map(String::as_str).take(5).collect();
            let summary = format!(
                "{} made a change from {ip}, an address not seen for this principal before (known: {}): {} on {}",
                change.who,
                before.join(", "),
                change.event.action.as_deref().unwrap_or("a change"),
                change.label
            );
            findings.put(context.finding(
                RuleId::NewSourceIp,
                format!("{identity}|{ip}"),
                vec![change.reference()],
                change,
                Some(identity.to_owned()),
                summary,
            ));
        }
        known.insert(ip.to_owned());
    }

    fn unexpected_principal(
        &mut self,
        identity: &str,
        change: &Change<'_>,
        context: &Context<'_>,
        findings: &mut FindingSet,
    ) {
        let settings = &context.settings.unexpected_principal;
        let first_seen = self.seen.insert(identity.to_owned());
        if !context.enabled(RuleId::UnexpectedPrincipal) {
            return;
        }
        let names = [Some(identity), change.event.principal.as_deref()];
        let short = change.event.principal.as_deref().map(principal_short);
        let matches = |allowed: &Vec<String>| {
            allowed
                .iter()
                .any(|a| names.contains(&Some(a.as_str())) || short.as_deref() == Some(a.as_str()))
        };
        let scopes = [
            change.event.asset_account.as_deref(),
            change.event.asset_type.as_deref(),
        ];
        let refused_by = scopes.into_iter().flatten().find(|scope| {
            settings
                .allowed
                .get(*scope)
                .is_some_and(|allowed| !matches(allowed))
        });
        let reason = match refused_by {
            Some(scope) => format!("is not on the allowed list for {scope}"),
            None if first_seen && settings.flag_first_seen && !context.learning(change) => {
                "had never been seen making changes before".to_owned()
            }
            None => return,
        };
        let summary = format!(
            "{} {reason}: {} on {} ({}, {})",
            change.who,
            change.event.action.as_deref().unwrap_or("a change"),
            change.label,
            change.method(),
            change.event.source_ip.as_deref().unwrap_or("no source IP")
        );
        findings.put(context.finding(
            RuleId::UnexpectedPrincipal,
            format!("{identity}|{}", change.event.seq),
            vec![change.reference()],
            change,
            Some(identity.to_owned()),
            summary,
        ));
    }

    fn impossible_travel(
        &mut self,
        identity: &str,
        text: &str,
        ip: std::net::IpAddr,
        change: &Change<'_>,
        context: &Context<'_>,
        findings: &mut FindingSet,
    ) {
        let Some(place) = self.geoip.as_ref().and_then(|geoip| geoip.locate(ip)) else {
            return;
        };
        let settings = &context.settings.impossible_travel;
        if let Some(last) = self.last_place.get(identity)
            && context.enabled(RuleId::ImpossibleTravel)
        {
            let km = geo::distance_km(&last.place, &place);
            let hours = (change.time_us - last.time_us).max(1) as f64 / 3_600_000_000.0;
            let speed = km / hours;
            if km >= settings.min_distance_km && speed > settings.max_speed_kmh {
                let summary = format!(
                    "{} changed things from {} ({}) and then from {} ({}) {} later: {:.0} km apart, {:.0} km/h",
                    change.who,
                    last.place.name,
                    last.ip,
                    place.name,
                    text,
                    human_duration(change.time_us - last.time_us),
                    km,
                    speed
                );
                findings.put(context.finding(
                    RuleId::ImpossibleTravel,
                    format!("{identity}|{}|{}", last.event.seq, change.event.seq),
                    vec![last.event.clone(), change.reference()],
                    change,
                    Some(identity.to_owned()),
                    summary,
                ));
            }
        }
        self.last_place.insert(
            identity.to_owned(),
            LastPlace {
                place,
                ip: text.to_owned(),
                time_us: change.time_us,
                event: change.reference(),
            },
        );
    }
}
