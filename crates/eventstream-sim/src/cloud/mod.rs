//! Builds EventStream change events for the generated streams: the CloudEvents envelope
//! and `data` (asset, attribution, associations, config, previous_config, and a
//! CloudTrail-shaped `raw` record), in the field order of the contract's examples.

pub(crate) mod actors;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value, json};

use actors::Actor;

/// The kinds of AWS asset the generators touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum AssetKind {
    SecurityGroup,
    Bucket,
    Instance,
    Snapshot,
    Function,
    Role,
    DbInstance,
}

impl AssetKind {
    /// The contract's normalized type.
    pub fn normalized(self) -> &'static str {
        match self {
            Self::SecurityGroup => "network.firewall",
            Self::Bucket => "storage.bucket",
            Self::Instance => "compute.instance",
            Self::Snapshot => "storage.snapshot",
            Self::Function => "serverless.function",
            Self::Role => "iam.role",
            Self::DbInstance => "database.instance",
        }
    }

    pub fn provider_type(self) -> &'static str {
        match self {
            Self::SecurityGroup => "AWS::EC2::SecurityGroup",
            Self::Bucket => "AWS::S3::Bucket",
            Self::Instance => "AWS::EC2::Instance",
            Self::Snapshot => "AWS::EC2::Snapshot",
            Self::Function => "AWS::Lambda::Function",
            Self::Role => "AWS::IAM::Role",
            Self::DbInstance => "AWS::RDS::DBInstance",
        }
    }

    /// The API host and short service name CloudTrail reports for changes to this kind.
    pub fn service(self) -> &'static str {
        match self {
            Self::SecurityGroup | Self::Instance | Self::Snapshot => "ec2",
            Self::Bucket => "s3",
            Self::Function => "lambda",
            Self::Role => "iam",
            Self::DbInstance => "rds",
        }
    }
}

/// An asset as named in events.
#[derive(Debug, Clone)]
pub(crate) struct Asset {
    pub account: &'static str,
    /// A provider region, or `global` for IAM.
    pub region: &'static str,
    pub kind: AssetKind,
    pub provider_id: String,
    pub display_name: Option<String>,
}

impl Asset {
    /// OpsHelm's name: `ohn:aws:ACCOUNT:REGION:TYPE-WITH-DASHES:ID`.
    pub fn name(&self) -> String {
        format!(
            "ohn:aws:{}:{}:{}:{}",
            self.account,
            self.region,
            self.kind.normalized().replace('.', "-"),
            self.provider_id
        )
    }

    pub fn provider_name(&self) -> String {
        let (account, region, id) = (self.account, self.region, &self.provider_id);
        let label = self.display_name.as_deref().unwrap_or(id);
        match self.kind {
            AssetKind::SecurityGroup => {
                format!("arn:aws:ec2:{region}:{account}:security-group/{id}")
            }
            AssetKind::Instance => format!("arn:aws:ec2:{region}:{account}:instance/{id}"),
            AssetKind::Snapshot => format!("arn:aws:ec2:{region}::snapshot/{id}"),
            AssetKind::Bucket => format!("arn:aws:s3:::{id}"),
            AssetKind::Function => format!("arn:aws:lambda:{region}:{account}:function:{label}"),
            AssetKind::Role => format!("arn:aws:iam::{account}:role/{label}"),
            AssetKind::DbInstance => format!("arn:aws:rds:{region}:{account}:db:{id}"),
        }
    }

    /// The region CloudTrail logs the call in (`global` services log in us-east-1).
    pub fn aws_region(&self) -> &'static str {
        if self.region == "global" {
            "us-east-1"
        } else {
            self.region
        }
    }
}

/// A related asset listed under `associations`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Association {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub relation: &'static str,
}

impl Association {
    /// A related asset of a type the generators do not change (VPC, subnet, volume...).
    pub fn named(
        account: &str,
        region: &str,
        kind: &'static str,
        id: &str,
        relation: &'static str,
    ) -> Self {
        Self {
            name: format!("ohn:aws:{account}:{region}:{}:{id}", kind.replace('.', "-")),
            kind,
            relation,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChangeType {
    Create,
    Update,
    Delete,
}

impl ChangeType {
    pub fn cloudevent_type(self) -> &'static str {
        match self {
            Self::Create => "com.opshelm.asset.create",
            Self::Update => "com.opshelm.asset.update",
            Self::Delete => "com.opshelm.asset.delete",
        }
    }
}

/// Everything one change event says.
#[derive(Debug, Clone)]
pub(crate) struct Change<'a> {
    pub id: &'a str,
    pub source: &'a str,
    pub change: ChangeType,
    pub time: DateTime<Utc>,
    pub asset: &'a Asset,
    pub actor: &'a Actor,
    pub action: &'a str,
    pub associations: Vec<Association>,
    pub request: Value,
    pub response: Value,
    pub config: Option<Value>,
    pub previous: Option<Value>,
    /// CloudTrail's `requestID` and `eventID` (random-looking, from the caller's RNG).
    pub request_id: String,
    pub event_id: String,
    /// Keep `raw` to the call itself, without identity or bookkeeping (small load events).
    pub minimal_raw: bool,
}

#[derive(Serialize)]
struct Envelope<'a> {
    specversion: &'static str,
    id: &'a str,
    source: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    time: String,
    subject: String,
    datacontenttype: &'static str,
    data: Data<'a>,
}

#[derive(Serialize)]
struct Data<'a> {
    asset: AssetJson<'a>,
    attribution: Attribution,
    associations: &'a [Association],
    config: &'a Option<Value>,
    previous_config: &'a Option<Value>,
    raw: Value,
}

#[derive(Serialize)]
struct AssetJson<'a> {
    name: String,
    provider: &'static str,
    account: &'static str,
    region: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    provider_type: &'static str,
    provider_name: String,
    provider_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    display_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<Value>,
}

#[derive(Serialize)]
struct Attribution {
    principal: String,
    principal_id: String,
    assumed_id: Option<String>,
    assumed_role: Option<String>,
    source_ip: &'static str,
    user_agent: String,
    method: &'static str,
    action: String,
}

impl Change<'_> {
    /// The event as one line of JSON.
    pub fn to_json(&self) -> String {
        let asset = self.asset;
        let user_agent = self.actor.user_agent(asset.kind.service(), self.action);
        let state = self.config.as_ref().or(self.previous.as_ref());
        let envelope = Envelope {
            specversion: "1.0",
            id: self.id,
            source: self.source,
            kind: self.change.cloudevent_type(),
            time: self.time.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            subject: asset.name(),
            datacontenttype: "application/json",
            data: Data {
                asset: AssetJson {
                    name: asset.name(),
                    provider: "aws",
                    account: asset.account,
                    region: asset.region,
                    kind: asset.kind.normalized(),
                    provider_type: asset.kind.provider_type(),
                    provider_name: asset.provider_name(),
                    provider_id: &asset.provider_id,
                    display_name: asset.display_name.as_deref(),
                    tags: state.and_then(tags_of),
                },
                attribution: Attribution {
                    principal: self.actor.principal(),
                    principal_id: self.actor.principal_id(),
                    assumed_id: self.actor.assumed_id(),
                    assumed_role: self.actor.assumed_role(),
                    source_ip: self.actor.source_ip,
                    user_agent: user_agent.clone(),
                    method: self.actor.method(),
                    action: self.action.to_owned(),
                },
                associations: &self.associations,
                config: &self.config,
                previous_config: &self.previous,
                raw: self.raw(user_agent),
            },
        };
        serde_json::to_string(&envelope).expect("serializing plain data cannot fail")
    }

    /// A CloudTrail management-event record for this change.
    fn raw(&self, user_agent: String) -> Value {
        if self.minimal_raw {
            return json!({
                "eventTime": self.time.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                "eventSource": format!("{}.amazonaws.com", self.asset.kind.service()),
                "eventName": self.action,
                "awsRegion": self.asset.aws_region(),
                "sourceIPAddress": self.actor.source_ip,
                "requestParameters": self.request,
                "responseElements": self.response,
            });
        }
        let mut raw = json!({
            "eventVersion": "1.09",
            "userIdentity": self.actor.user_identity(),
            "eventTime": self.time.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "eventSource": format!("{}.amazonaws.com", self.asset.kind.service()),
            "eventName": self.action,
            "awsRegion": self.asset.aws_region(),
            "sourceIPAddress": self.actor.source_ip,
            "userAgent": user_agent,
            "requestParameters": self.request,
            "responseElements": self.response,
            "requestID": self.request_id,
            "eventID": self.event_id,
            "readOnly": false,
            "eventType": if self.actor.is_service() { "AwsServiceEvent" } else { "AwsApiCall" },
            "managementEvent": true,
            "recipientAccountId": self.asset.account,
            "eventCategory": "Management",
        });
        if self.actor.is_console()
            && let Some(map) = raw.as_object_mut()
        {
            map.insert("sessionCredentialFromConsole".into(), json!("true"));
            map.insert(
                "tlsDetails".into(),
                json!({
                    "tlsVersion": "TLSv1.3",
                    "cipherSuite": "TLS_AES_128_GCM_SHA256",
                    "clientProvidedHostHeader": format!("{}.amazonaws.com", self.asset.kind.service()),
                }),
            );
        }
        raw
    }
}

/// Provider tags as an object, read from a config's `Tags`/`TagSet` (a list of
/// `{Key, Value}`) or a `Tags` object (Lambda).
pub(crate) fn tags_of(config: &Value) -> Option<Value> {
    let tags = config.get("Tags").or_else(|| config.get("TagSet"))?;
    match tags {
        Value::Object(map) if !map.is_empty() => Some(tags.clone()),
        Value::Array(items) if !items.is_empty() => {
            let map: Map<String, Value> = items
                .iter()
                .filter_map(|t| Some((t.get("Key")?.as_str()?.to_owned(), t.get("Value")?.clone())))
                .collect();
            Some(Value::Object(map))
        }
        _ => None,
    }
}

/// A UUID-shaped id (CloudTrail's `eventID`/`requestID`) from 128 random bits.
pub(crate) fn uuid_like(bits: u128) -> String {
    let h = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}
