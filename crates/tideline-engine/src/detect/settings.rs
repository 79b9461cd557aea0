//! settings: what each detection rule considers normal. Read from a JSON settings file; every
//! field has a default, so `{}` is a valid file and a partial one changes only what it names.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{RuleId, Severity};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct DetectionSettings {
    /// From the session's first event, how long rules that compare with "before" only learn.
    pub learning_period_hours: f64,
    /// A MaxMind City database (GeoLite2-City.mmdb or GeoIP2-City.mmdb) for impossible travel.
    pub geoip_database: Option<String>,
    pub new_source_ip: RuleSettings,
    pub console_where_iac: IacSettings,
    pub unexpected_principal: PrincipalSettings,
    pub unexpected_region: RegionSettings,
    pub off_hours: OffHoursSettings,
    pub impossible_travel: TravelSettings,
    pub reverted_change: WindowSettings,
    pub short_lived_asset: ShortLivedSettings,
}

impl Default for DetectionSettings {
    fn default() -> Self {
        DetectionSettings {
            learning_period_hours: 48.0,
            geoip_database: None,
            new_source_ip: RuleSettings::on(Severity::Medium),
            console_where_iac: IacSettings::default(),
            unexpected_principal: PrincipalSettings::default(),
            unexpected_region: RegionSettings::default(),
            off_hours: OffHoursSettings::default(),
            impossible_travel: TravelSettings::default(),
            reverted_change: WindowSettings {
                rule: RuleSettings::on(Severity::High),
                window_hours: 24.0,
            },
            short_lived_asset: ShortLivedSettings::default(),
        }
    }
}

/// A detection setting the rules cannot use: which field (its JSON path) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct InvalidSetting {
    pub field: &'static str,
    pub problem: String,
}

impl DetectionSettings {
    /// Refuses settings the rules cannot use, naming the field: `Err("off_hours.start: …")`.
    /// Checks what serde cannot: ranges, the time zone, days and times of day. The error names
    /// the first field the rules cannot use, as its JSON path (`off_hours.timezone`).
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        let invalid = |field: &'static str, problem: String| InvalidSetting { field, problem };
        let non_negative = |field: &'static str, value: f64| {
            if value.is_finite() && value >= 0.0 {
                Ok(())
            } else {
                Err(invalid(field, format!("must be a number ≥ 0, not {value}")))
            }
        };
        non_negative("learning_period_hours", self.learning_period_hours)?;
        non_negative(
            "reverted_change.window_hours",
            self.reverted_change.window_hours,
        )?;
        non_negative(
            "short_lived_asset.window_hours",
            self.short_lived_asset.window_hours,
        )?;
        non_negative(
            "impossible_travel.min_distance_km",
            self.impossible_travel.min_distance_km,
        )?;
        non_negative("off_hours.burst_factor", self.off_hours.burst_factor)?;
        if !(self.impossible_travel.max_speed_kmh.is_finite()
            && self.impossible_travel.max_speed_kmh > 0.0)
        {
            return Err(invalid(
                "impossible_travel.max_speed_kmh",
                "must be a speed above 0".into(),
            ));
        }
        let hours = &self.off_hours;
        if hours.timezone.parse::<chrono_tz::Tz>().is_err() {
            return Err(invalid(
                "off_hours.timezone",
                format!(
                    "{:?} is not an IANA time zone (e.g. Europe/London)",
                    hours.timezone
                ),
            ));
        }
        for day in &hours.days {
            if !["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
                .contains(&day.trim().to_ascii_lowercase().as_str())
            {
                return Err(invalid(
                    "off_hours.days",
                    format!("{day:?} is not one of mon … sun"),
                ));
            }
        }
        for (field, value) in [
            ("off_hours.start", &hours.start),
            ("off_hours.end", &hours.end),
        ] {
            if super::hours::minutes(value).is_none() {
                return Err(invalid(
                    field,
                    format!("{value:?} is not a time of day as HH:MM"),
                ));
            }
        }
        Ok(())
    }

    /// What stored findings are current for: these settings and [`super::RULES_VERSION`], as a
    /// SHA-256 in hex.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        hasher.update(format!("rules {}\n", super::RULES_VERSION));
        hasher.update(serde_json::to_string(self).unwrap_or_default());
        hasher
            .finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    pub fn rule(&self, rule: RuleId) -> &RuleSettings {
        match rule {
            RuleId::NewSourceIp => &self.new_source_ip,
            RuleId::ConsoleWhereIac => &self.console_where_iac.rule,
            RuleId::UnexpectedPrincipal => &self.unexpected_principal.rule,
            RuleId::UnexpectedRegion => &self.unexpected_region.rule,
            RuleId::OffHours => &self.off_hours.rule,
            RuleId::ImpossibleTravel => &self.impossible_travel.rule,
            RuleId::RevertedChange => &self.reverted_change.rule,
            RuleId::ShortLivedAsset => &self.short_lived_asset.rule,
        }
    }
}

/// What every rule has: on or off, and how severe its findings are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct RuleSettings {
    pub enabled: bool,
    pub severity: Severity,
}

impl RuleSettings {
    pub fn on(severity: Severity) -> RuleSettings {
        RuleSettings {
            enabled: true,
            severity,
        }
    }
}

impl Default for RuleSettings {
    fn default() -> Self {
        RuleSettings::on(Severity::Medium)
    }
}

/// `console_where_iac`: assets Terraform has ever changed count as managed as code, and so do
/// these accounts and assets (OpsHelm asset names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct IacSettings {
    #[serde(flatten)]
    pub rule: RuleSettings,
    pub managed_accounts: Vec<String>,
    pub managed_assets: Vec<String>,
}

impl Default for IacSettings {
    fn default() -> Self {
        IacSettings {
            rule: RuleSettings::on(Severity::Medium),
            managed_accounts: Vec::new(),
            managed_assets: Vec::new(),
        }
    }
}

/// `unexpected_principal`: who may change what. A principal matches by its ARN, its assumed
/// role's ARN, or its short name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct PrincipalSettings {
    #[serde(flatten)]
    pub rule: RuleSettings,
    /// Keyed by account id or normalized asset type.
    pub allowed: BTreeMap<String, Vec<String>>,
    /// Also flag a principal never seen changing anything before (after learning).
    pub flag_first_seen: bool,
}

impl Default for PrincipalSettings {
    fn default() -> Self {
        PrincipalSettings {
            rule: RuleSettings::on(Severity::Medium),
            allowed: BTreeMap::new(),
            flag_first_seen: true,
        }
    }
}

/// `unexpected_region`: regions allowed per account (empty: learn them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct RegionSettings {
    #[serde(flatten)]
    pub rule: RuleSettings,
    pub allowed: BTreeMap<String, Vec<String>>,
}

impl Default for RegionSettings {
    fn default() -> Self {
        RegionSettings {
            rule: RuleSettings::on(Severity::High),
            allowed: BTreeMap::new(),
        }
    }
}

/// `off_hours`: working hours in a time zone, and bursts far above an hour's usual level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct OffHoursSettings {
    #[serde(flatten)]
    pub rule: RuleSettings,
    /// An IANA time zone, such as `Europe/London`.
    pub timezone: String,
    /// Working days: `mon` … `sun`.
    pub days: Vec<String>,
    /// `HH:MM`, start inclusive, end exclusive.
    pub start: String,
    pub end: String,
    /// Changes made this way are not people working late (autoscaling).
    pub ignore_methods: Vec<String>,
    /// A clock hour with this many times its usual number of changes is a burst …
    pub burst_factor: f64,
    /// … if it also has at least this many.
    pub burst_min_changes: u64,
}

impl Default for OffHoursSettings {
    fn default() -> Self {
        OffHoursSettings {
            rule: RuleSettings::on(Severity::Low),
            timezone: "UTC".into(),
            days: ["mon", "tue", "wed", "thu", "fri"]
                .map(str::to_owned)
                .to_vec(),
            start: "08:00".into(),
            end: "19:00".into(),
            ignore_methods: vec!["provider".into()],
            burst_factor: 10.0,
            burst_min_changes: 20,
        }
    }
}

/// `impossible_travel`: faster than this between two places is not one person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct TravelSettings {
    #[serde(flatten)]
    pub rule: RuleSettings,
    pub max_speed_kmh: f64,
    /// Closer than this is within GeoIP's own error.
    pub min_distance_km: f64,
}

impl Default for TravelSettings {
    fn default() -> Self {
        TravelSettings {
            rule: RuleSettings::on(Severity::High),
            max_speed_kmh: 1_000.0,
            min_distance_km: 300.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct WindowSettings {
    #[serde(flatten)]
    pub rule: RuleSettings,
    pub window_hours: f64,
}

impl Default for WindowSettings {
    fn default() -> Self {
        WindowSettings {
            rule: RuleSettings::on(Severity::High),
            window_hours: 24.0,
        }
    }
}

/// `short_lived_asset`: created and deleted within the window; lifecycles run entirely by these
/// methods (the provider's autoscaling) are routine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct ShortLivedSettings {
    #[serde(flatten)]
    pub rule: RuleSettings,
    pub window_hours: f64,
    pub ignore_methods: Vec<String>,
}

impl Default for ShortLivedSettings {
    fn default() -> Self {
        ShortLivedSettings {
            rule: RuleSettings::on(Severity::High),
            window_hours: 24.0,
            ignore_methods: vec!["provider".into()],
        }
    }
}
