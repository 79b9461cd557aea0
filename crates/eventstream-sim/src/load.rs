//! `--scenario load`: any number of valid events of about `--size` bytes, each a pure
//! function of (seed, index), so 200,000 of them never sit in memory and resuming
//! after an id parses the index back out of it.
//!
//! Event `i` touches asset `(i * 1009 + offset) mod 3000`; every asset goes through
//! create → update → update → delete → create ... (starting at a per-asset phase), with
//! `previous_config` equal to the asset's previous `config`. Padding goes into the CloudTrail
//! request's `userData`, so configurations chain exactly. An event is never smaller than
//! its compact form (about 1.7-2.0 KB, with a CloudTrail record of just the call).

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

use crate::cloud::actors::{Actor, Client, Identity};
use crate::cloud::{Asset, AssetKind, Change, ChangeType, uuid_like};
use crate::events::{Event, EventKey};
use crate::plan::mix;

const POOL: u64 = 3000;
const STEP: u64 = 1009;
const ID_PREFIX: &str = "01J0";
const ACCOUNTS: [(&str, &str); 3] = [
    ("123456789012", "/cloudAccounts/01HQ7M2W4K9D8E5R3T1Y6U0P2A"),
    ("345678901234", "/cloudAccounts/01HQ9B3X5N7R2T4V6W8Y0Z1C3D"),
    ("456789012345", "/cloudAccounts/01HQAC4Y6P8S3V5X7Z9B1D3F5G"),
];
const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "us-west-2"];
const KINDS: [AssetKind; 4] = [
    AssetKind::SecurityGroup,
    AssetKind::Bucket,
    AssetKind::Instance,
    AssetKind::Function,
];

/// The generated load stream.
#[derive(Debug, Clone)]
pub(crate) struct LoadScenario {
    pub seed: u64,
    pub count: usize,
    /// Target size of each event's JSON in bytes.
    pub size: usize,
}

impl LoadScenario {
    pub fn sse_id(&self, i: usize) -> String {
        format!("{ID_PREFIX}{:022}", i + 1)
    }

    /// The index whose id this is, if it is one of this stream's ids.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        let digits = id.strip_prefix(ID_PREFIX).filter(|d| d.len() == 22)?;
        let n: usize = digits.parse().ok()?;
        (1..=self.count).contains(&n).then(|| n - 1)
    }

    pub fn time(&self, i: usize) -> DateTime<Utc> {
        let start = Utc
            .with_ymd_and_hms(2024, 5, 6, 8, 0, 0)
            .single()
            .expect("valid time");
        start + Duration::milliseconds(250 * i as i64)
    }

    fn slot(&self, i: usize) -> (u64, u64) {
        let offset = mix(self.seed, 0, 0x10ad) % POOL;
        let asset = (i as u64 * STEP + offset) % POOL;
        (asset, i as u64 / POOL)
    }

    fn source(asset: u64) -> &'static (&'static str, &'static str) {
        &ACCOUNTS[(asset % 3) as usize]
    }

    pub fn key(&self, i: usize) -> EventKey {
        let (asset, _) = self.slot(i);
        EventKey {
            source: Self::source(asset).1.to_owned(),
            id: self.sse_id(i),
        }
    }

    /// Event `i`, built from scratch.
    pub fn event(&self, i: usize) -> Event {
        let (n, round) = self.slot(i);
        let mut rng = StdRng::seed_from_u64(mix(self.seed, i as u64, 0x10ad_e7e7));
        let (account, source) = *Self::source(n);
        let kind = KINDS[(n % 4) as usize];
        let asset = Asset {
            account,
            region: REGIONS[((n / 3) % 3) as usize],
            kind,
            provider_id: provider_id(kind, n),
            display_name: Some(format!("load-{}-{n}", kind.normalized().replace('.', "-"))),
        };
        let phase = (round + n) % 4;
        let change = match phase {
            0 => ChangeType::Create,
            3 => ChangeType::Delete,
            _ => ChangeType::Update,
        };
        let config = |revision: u64| config(&asset, revision);
        let id = self.sse_id(i);
        let time = self.time(i);
        let actor = actor(account, kind, change, rng.random_range(0..10u32), time);
        let mut change = Change {
            id: &id,
            source,
            change,
            time,
            asset: &asset,
            actor: &actor,
            action: action(kind, change),
            associations: Vec::new(),
            request: json!({ "resource": asset.provider_id, "userData": "" }),
            response: json!({ "_return": true }),
            config: (change != ChangeType::Delete).then(|| config(round + 1)),
            previous: (change != ChangeType::Create).then(|| config(round)),
            request_id: uuid_like(rng.random()),
            event_id: uuid_like(rng.random()),
            minimal_raw: false,
        };
        let mut json = change.to_json();
        if json.len() > self.size {
            // Too big already: a CloudTrail record of just the call.
            change.minimal_raw = true;
            json = change.to_json();
        }
        let json = pad(json, self.size, &mut rng);
        let (key, time) = (self.key(i), Some(time));
        Event {
            sse_id: id,
            json,
            key: Some(key),
            time,
        }
    }
}

/// Fills the empty `userData` so the JSON is `size` bytes long (when it is shorter).
fn pad(json: String, size: usize, rng: &mut StdRng) -> String {
    const EMPTY: &str = "\"userData\":\"\"";
    let Some(missing) = size.checked_sub(json.len()).filter(|m| *m > 0) else {
        return json;
    };
    let at = json.find(EMPTY).expect("request has userData") + EMPTY.len() - 1;
    let mut out = String::with_capacity(size);
    out.push_str(&json[..at]);
    out.push_str(&filler(missing, rng));
    out.push_str(&json[at..]);
    out
}

/// Base64-looking text of `len` characters.
pub(crate) fn filler(len: usize, rng: &mut StdRng) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(len + 10);
    while out.len() < len {
        let mut bits: u64 = rng.random();
        for _ in 0..10 {
            out.push(ALPHABET[(bits & 63) as usize]);
            bits >>= 6;
        }
    }
    out.truncate(len);
    String::from_utf8(out).expect("ASCII")
}

fn provider_id(kind: AssetKind, n: u64) -> String {
    match kind {
        AssetKind::SecurityGroup => format!("sg-0{n:016x}"),
        AssetKind::Instance => format!("i-0{n:016x}"),
        AssetKind::Bucket => format!("load-bucket-{n:05}"),
        _ => format!("load-fn-{n:05}"),
    }
}

/// The asset's configuration at a revision; every revision differs.
fn config(asset: &Asset, revision: u64) -> Value {
    let id = &asset.provider_id;
    let tags = json!([{ "Key": "revision", "Value": revision.to_string() }, { "Key": "load", "Value": "true" }]);
    match asset.kind {
        AssetKind::SecurityGroup => json!({
            "GroupId": id, "GroupName": asset.display_name, "VpcId": "vpc-0load0000000000",
            "IpPermissions": [{ "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                "IpRanges": [{ "CidrIp": format!("10.{}.{}.0/24", revision % 250, asset.provider_id.len()) }] }],
            "Tags": tags,
        }),
        AssetKind::Instance => json!({
            "InstanceId": id, "InstanceType": "m6i.large", "ImageId": "ami-0c0ffee1234567890",
            "State": { "Name": "running" }, "Tags": tags,
        }),
        AssetKind::Bucket => {
            json!({ "Name": id, "Versioning": { "Status": "Enabled" }, "TagSet": tags })
        }
        _ => json!({ "FunctionName": id, "Runtime": "python3.12", "MemorySize": 512,
            "Environment": { "Variables": { "RELEASE": format!("r{revision}") } } }),
    }
}

fn action(kind: AssetKind, change: ChangeType) -> &'static str {
    match (kind, change) {
        (AssetKind::SecurityGroup, ChangeType::Create) => "CreateSecurityGroup",
        (AssetKind::SecurityGroup, ChangeType::Update) => "AuthorizeSecurityGroupIngress",
        (AssetKind::SecurityGroup, ChangeType::Delete) => "DeleteSecurityGroup",
        (AssetKind::Instance, ChangeType::Create) => "RunInstances",
        (AssetKind::Instance, ChangeType::Update) => "CreateTags",
        (AssetKind::Instance, ChangeType::Delete) => "TerminateInstances",
        (AssetKind::Bucket, ChangeType::Create) => "CreateBucket",
        (AssetKind::Bucket, ChangeType::Update) => "PutBucketTagging",
        (AssetKind::Bucket, ChangeType::Delete) => "DeleteBucket",
        (_, ChangeType::Create) => "CreateFunction20150331",
        (_, ChangeType::Update) => "UpdateFunctionConfiguration20150331v2",
        (_, ChangeType::Delete) => "DeleteFunction20150331",
    }
}

fn actor(
    account: &'static str,
    kind: AssetKind,
    change: ChangeType,
    roll: u32,
    time: DateTime<Utc>,
) -> Actor {
    if kind == AssetKind::Instance && change != ChangeType::Update && roll < 5 {
        return Actor {
            identity: Identity::Service {
                host: "autoscaling.amazonaws.com",
            },
            client: Client::Provider,
            source_ip: "autoscaling.amazonaws.com",
            session_start: time,
        };
    }
    let (role, session, client, ip) = match roll {
        0..=5 => (
            "terraform-ci",
            "gh-actions-load",
            Client::Terraform,
            "192.0.2.10",
        ),
        6..=7 => (
            "ops-engineer",
            "asmith@example.com",
            Client::AwsCli { os: "macos#23.4.0" },
            "192.0.2.44",
        ),
        _ => (
            "ops-engineer",
            "bwong@example.com",
            Client::AwsCli { os: "linux#6.5.0" },
            "192.0.2.51",
        ),
    };
    Actor {
        identity: Identity::AssumedRole {
            account,
            role,
            role_id: if role == "terraform-ci" {
                "AROA4EXAMPLETFCI0001"
            } else {
                "AROA4EXAMPLEOPS00001"
            },
            session: session.to_owned(),
            access_key: "ASIA4EXAMPLELOAD0001",
            mfa: client_is_cli(client),
        },
        client,
        source_ip: ip,
        session_start: time - Duration::minutes(5),
    }
}

fn client_is_cli(client: Client) -> bool {
    matches!(client, Client::AwsCli { .. })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(count: usize) -> LoadScenario {
        LoadScenario {
            seed: 7,
            count,
            size: 2048,
        }
    }

    #[test]
    fn ids_parse_back_to_their_index_without_scanning() {
        let scenario = load(200_000);
        for i in [0, 1, 12_345, 199_999] {
            assert_eq!(scenario.index_of(&scenario.sse_id(i)), Some(i));
        }
        let small = load(10);
        assert_eq!(small.index_of(&small.sse_id(10)), None);
        assert_eq!(scenario.index_of("01HX0000000000000000000001"), None);
    }

    #[test]
    fn events_are_pure_functions_of_seed_and_index_and_hit_the_size() {
        let scenario = load(200_000);
        let a = scenario.event(150_000);
        assert_eq!(a.json, scenario.event(150_000).json);
        for i in 0..50 {
            assert_eq!(scenario.event(i).json.len(), 2048);
        }
        let big = LoadScenario {
            size: 8000,
            ..scenario.clone()
        }
        .event(3);
        assert_eq!(big.json.len(), 8000);
        assert!(big.json.contains("userIdentity"));
        let value: Value = serde_json::from_str(&a.json).unwrap();
        assert_eq!(value["id"], a.sse_id);
        assert_eq!(a.key, Some(scenario.key(150_000)));
    }

    #[test]
    fn each_update_starts_from_the_previous_config_of_that_asset() {
        let scenario = load(POOL as usize * 3);
        let parse = |i: usize| serde_json::from_str::<Value>(&scenario.event(i).json).unwrap();
        let (first, second) = (parse(5), parse(5 + POOL as usize));
        assert_eq!(first["subject"], second["subject"]);
        if !first["data"]["config"].is_null() && !second["data"]["previous_config"].is_null() {
            assert_eq!(first["data"]["config"], second["data"]["previous_config"]);
        }
        let types: std::collections::HashSet<String> = (0..200)
            .map(|i| parse(i)["type"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            types.len(),
            3,
            "creates, updates and deletes all occur: {types:?}"
        );
    }
}
