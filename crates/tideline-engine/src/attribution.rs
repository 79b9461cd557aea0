//! attribution: how the incident view names who made a change, and why a change counts as
//! made from the console, the CLI, Terraform, an SDK or by the provider itself.
//!
//! The method is EventStream's classification; Tideline does not reclassify, it shows the
//! evidence in the event that supports (or does not support) it. Source addresses are
//! compared in one canonical spelling ([`canonical_source_ip`]).

use std::net::{IpAddr, Ipv4Addr};

use crate::json::Value;

/// A short, human name for a principal: the user name of an IAM user ARN, `role/session` of
/// an assumed role, the text itself for service hosts, e-mails and anything unrecognised.
pub fn principal_short(principal: &str) -> String {
    if let Some(resource) = principal.strip_prefix("arn:") {
        // arn:partition:service:region:account:resource
        let Some(resource) = resource.splitn(5, ':').nth(4) else {
            return principal.to_owned();
        };
        if let Some(rest) = resource.strip_prefix("assumed-role/") {
            return rest.to_owned();
        }
        if resource == "root" {
            return "root".to_owned();
        }
        return resource.rsplit('/').next().unwrap_or(resource).to_owned();
    }
    principal.to_owned()
}

/// The account of an ARN principal (`arn:aws:iam::123456789012:user/jdoe` → `123456789012`).
pub fn principal_account(principal: &str) -> Option<&str> {
    principal
        .strip_prefix("arn:")?
        .split(':')
        .nth(3)
        .filter(|account| !account.is_empty())
}

/// The principals of one role's sessions, as a filter value and a name: an AWS role session
/// (`arn:aws:sts::123456789012:assumed-role/terraform-ci/gh-actions-8822`) belongs to
/// `arn:aws:sts::123456789012:assumed-role/terraform-ci/*`, named `terraform-ci`. Each run of an
/// automation (a CI job, a Terraform apply) is a session of its own; grouped, they read as the
/// one principal people know. A filter value ending in `/*` matches every principal starting
/// with what precedes the `*` (the store's facet filter).
pub fn role_of_session(principal: &str) -> Option<(String, String)> {
    let (head, session) = principal.rsplit_once('/')?;
    let role = head.split_once(":assumed-role/")?.1;
    (principal.starts_with("arn:")
        && !role.is_empty()
        && !role.contains('/')
        && !session.is_empty())
    .then(|| (format!("{head}/*"), role.to_owned()))
}

/// A source address as an IP, if it is one (service hosts and `AWS Internal` are not).
///
/// Read leniently, as the logs mean it: dotted decimal with leading zeros is decimal
/// (CloudTrail writes `075.050.255.67` for 75.50.255.67, not octal), and an IPv4-mapped
/// IPv6 address (`::ffff:198.51.100.7`) is the IPv4 address it maps.
pub fn parse_ip(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    let ip = match text.parse::<IpAddr>() {
        Ok(ip) => ip,
        Err(_) => IpAddr::V4(leading_zero_ipv4(text)?),
    };
    Some(match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    })
}

/// The one spelling of a source address: an IP in its canonical form (`198.51.100.7`,
/// `2001:db8::1`, RFC 5952 for IPv6), anything else (`AWS Internal`, a service host) as it is.
/// The extracted column and the rules use this, so one address counts once however it was
/// written; the event body keeps the spelling it arrived with.
pub fn canonical_source_ip(text: &str) -> String {
    parse_ip(text).map_or_else(|| text.to_owned(), |ip| ip.to_string())
}

/// `198.051.100.007`: four parts of one to three ASCII digits, each read as decimal.
fn leading_zero_ipv4(text: &str) -> Option<Ipv4Addr> {
    let mut octets = [0_u8; 4];
    let mut parts = text.split('.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *octet = part.parse().ok()?;
    }
    parts.next().is_none().then(|| Ipv4Addr::from(octets))
}

/// Who classified an event's method: EventStream for streamed events, Tideline's own
/// normalizer for events imported from a cloud audit log (their `source` names the log).
pub fn classifier_of(source: &str) -> &'static str {
    let imported = ["cloudtrail:", "gcp-audit:", "azure-activity:"]
        .iter()
        .any(|prefix| source.starts_with(prefix));
    if imported {
        "Tideline from the audit log"
    } else {
        "EventStream"
    }
}

/// One sentence saying what supports the method classification of a change, as made by
/// `classifier` ([`classifier_of`]).
pub fn method_reason(
    method: Option<&str>,
    user_agent: Option<&str>,
    principal: Option<&str>,
    raw: &Value,
    classifier: &str,
) -> String {
    let Some(method) = method.filter(|m| !m.is_empty()) else {
        return format!("{classifier} did not say how this change was made.");
    };
    let agent = user_agent.unwrap_or_default();
    let mut evidence: Vec<String> = Vec::new();
    match method {
        "console" => {
            if agent.starts_with("Mozilla/") {
                evidence.push("the user agent is a web browser".to_owned());
            }
            if raw["sessionCredentialFromConsole"].as_str() == Some("true") {
                evidence.push(
                    "the provider marked the session as a console sign-in (sessionCredentialFromConsole)"
                        .to_owned(),
                );
            }
        }
        "terraform" => evidence.extend(agent_token(agent, &["Terraform/", "terraform-provider-"])),
        "cli" => evidence.extend(agent_token(
            agent,
            &["aws-cli/", "gcloud", "azure-cli", "az-cli"],
        )),
        "sdk" => evidence.extend(agent_token(
            agent,
            &["Boto3/", "botocore/", "aws-sdk-", "google-api-", "azsdk-"],
        )),
        "provider" => {
            let service = principal
                .filter(|p| p.ends_with(".amazonaws.com") || p.ends_with(".googleapis.com"));
            if let Some(service) = service {
                evidence.push(format!(
                    "the caller is the provider's own service {service}"
                ));
            }
            if raw["userIdentity"]["type"].as_str() == Some("AWSService") {
                evidence.push("CloudTrail records the caller as an AWSService".to_owned());
            }
        }
        _ => {}
    }
    if evidence.is_empty() {
        format!("Classified as {method} by {classifier}; nothing in the event corroborates it.")
    } else {
        format!(
            "Classified as {method} by {classifier}: {}.",
            evidence.join(", and ")
        )
    }
}

/// "the user agent names X" for the first product token of `prefixes` found in `agent`.
fn agent_token(agent: &str, prefixes: &[&str]) -> Option<String> {
    prefixes.iter().find_map(|prefix| {
        let start = agent.find(prefix)?;
        let token: String = agent[start..]
            .split_whitespace()
            .next()?
            .chars()
            .take(60)
            .collect();
        Some(format!("the user agent names {token}"))
    })
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_role_session_belongs_to_its_role_and_an_arn_names_its_account() {
        assert_eq!(
            role_of_session("arn:aws:sts::123456789012:assumed-role/terraform-ci/gh-actions-8822"),
            Some((
                "arn:aws:sts::123456789012:assumed-role/terraform-ci/*".to_owned(),
                "terraform-ci".to_owned()
            ))
        );
        for not_a_session in [
            "arn:aws:iam::123456789012:user/jdoe",
            "arn:aws:iam::123456789012:role/terraform-ci",
            "arn:aws:sts::123456789012:assumed-role/terraform-ci/",
            "jdoe@example.com",
        ] {
            assert_eq!(role_of_session(not_a_session), None, "{not_a_session}");
        }
        assert_eq!(
            principal_account("arn:aws:iam::123456789012:user/jdoe"),
            Some("123456789012")
        );
        assert_eq!(principal_account("jdoe@example.com"), None);
    }

    use super::*;
    use serde_json_lenient::json;

    #[test]
    fn principals_get_short_names() {
        for (principal, short) in [
            ("arn:aws:iam::123456789012:user/jdoe", "jdoe"),
            ("arn:aws:iam::123456789012:user/division/team/jdoe", "jdoe"),
            (
                "arn:aws:sts::123456789012:assumed-role/ops-engineer/asmith@example.com",
                "ops-engineer/asmith@example.com",
            ),
            ("arn:aws:iam::123456789012:root", "root"),
            ("autoscaling.amazonaws.com", "autoscaling.amazonaws.com"),
            ("alice@example.com", "alice@example.com"),
            ("arn:weird", "arn:weird"),
        ] {
            assert_eq!(principal_short(principal), short, "{principal}");
        }
    }

    #[test]
    fn source_addresses_parse_leniently_and_service_hosts_do_not() {
        let ip = |text: &str| text.parse::<IpAddr>().unwrap();
        assert_eq!(parse_ip("075.050.255.67"), Some(ip("75.50.255.67")));
        assert_eq!(parse_ip("198.51.100.23"), Some(ip("198.51.100.23")));
        assert_eq!(parse_ip("2001:db8::1"), Some(ip("2001:db8::1")));
        assert_eq!(parse_ip("::ffff:198.51.100.7"), Some(ip("198.51.100.7")));
        for not_an_ip in [
            "autoscaling.amazonaws.com",
            "AWS Internal",
            "300.1.1.1",
            "1.2.3",
            "1.2.3.4.5",
            "+1.2.3.4",
            "0001.2.3.4",
            "1..2.3",
            "",
        ] {
            assert_eq!(parse_ip(not_an_ip), None, "{not_an_ip:?}");
        }
    }

    #[test]
    fn one_source_address_has_one_canonical_spelling() {
        for (spelling, canonical) in [
            ("198.51.100.7", "198.51.100.7"),
            ("198.051.100.007", "198.51.100.7"),
            ("::ffff:198.51.100.7", "198.51.100.7"),
            ("::FFFF:c633:6407", "198.51.100.7"),
            ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
            ("2001:0db8::0001", "2001:db8::1"),
            (" 198.51.100.7 ", "198.51.100.7"),
            ("AWS Internal", "AWS Internal"),
            ("ec2.amazonaws.com", "ec2.amazonaws.com"),
        ] {
            assert_eq!(canonical_source_ip(spelling), canonical, "{spelling:?}");
        }
    }

    #[test]
    fn method_reasons_cite_the_evidence() {
        let console = method_reason(
            Some("console"),
            Some("Mozilla/5.0 (Windows NT 10.0)"),
            None,
            &json!({"sessionCredentialFromConsole": "true"}),
            "EventStream",
        );
        assert!(
            console.contains("web browser") && console.contains("sessionCredentialFromConsole"),
            "{console}"
        );
        let terraform = method_reason(
            Some("terraform"),
            Some("APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io)"),
            None,
            &Value::Null,
            "EventStream",
        );
        assert!(terraform.contains("names Terraform/1.7.5"), "{terraform}");
        let provider = method_reason(
            Some("provider"),
            None,
            Some("autoscaling.amazonaws.com"),
            &Value::Null,
            "EventStream",
        );
        assert!(provider.contains("autoscaling.amazonaws.com"), "{provider}");
        let bare = method_reason(
            Some("cli"),
            Some("curl/8"),
            None,
            &Value::Null,
            "EventStream",
        );
        assert!(bare.contains("nothing in the event corroborates"), "{bare}");
        assert!(
            method_reason(None, None, None, &Value::Null, "EventStream").contains("did not say")
        );
    }
}
