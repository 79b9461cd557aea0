//! The seed-incident scenario's accounts and the people and systems that change them,
//! each always calling from one address (the rule the attack is later measured against).

use chrono::{DateTime, Utc};

use crate::cloud::actors::{Actor, Client, Identity};

/// A cloud account and its EventStream `source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Account {
    pub id: &'static str,
    pub source: &'static str,
}

/// Production: the account the attack happens in (same source as the captured events).
pub(crate) const PROD: Account = Account {
    id: "123456789012",
    source: "/cloudAccounts/01HQ7M2W4K9D8E5R3T1Y6U0P2A",
};

/// Staging: a second account with its own source.
pub(crate) const STAGING: Account = Account {
    id: "345678901234",
    source: "/cloudAccounts/01HQ9B3X5N7R2T4V6W8Y0Z1C3D",
};

/// The CI runner's egress address, shared by every Terraform run.
pub(crate) const CI_IP: &str = "192.0.2.10";
pub(crate) const ASMITH_IP: &str = "192.0.2.44";
pub(crate) const BWONG_IP: &str = "192.0.2.51";
/// jdoe's usual office address (the attack comes from 198.51.100.23).
pub(crate) const JDOE_IP: &str = "192.0.2.77";

const CHROME_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 \
                          (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36";

fn tf_role_id(account: Account) -> &'static str {
    if account == PROD {
        "AROA4EXAMPLETFCI0001"
    } else {
        "AROA4EXAMPLETFCI0002"
    }
}

fn ops_role_id(account: Account) -> &'static str {
    if account == PROD {
        "AROA4EXAMPLEOPS00001"
    } else {
        "AROA4EXAMPLEOPS00002"
    }
}

/// One `terraform apply` from GitHub Actions, through the `terraform-ci` role.
pub(crate) fn terraform(account: Account, run: u32, session_start: DateTime<Utc>) -> Actor {
    Actor {
        identity: Identity::AssumedRole {
            account: account.id,
            role: "terraform-ci",
            role_id: tf_role_id(account),
            session: format!("gh-actions-{run}"),
            access_key: if account == PROD {
                "ASIA4EXAMPLETFCI0001"
            } else {
                "ASIA4EXAMPLETFCI0002"
            },
            mfa: false,
        },
        client: Client::Terraform,
        source_ip: CI_IP,
        session_start,
    }
}

/// An engineer on the AWS CLI through the `ops-engineer` role.
fn engineer(
    account: Account,
    user: &str,
    ip: &'static str,
    os: &'static str,
    start: DateTime<Utc>,
) -> Actor {
    Actor {
        identity: Identity::AssumedRole {
            account: account.id,
            role: "ops-engineer",
            role_id: ops_role_id(account),
            session: format!("{user}@example.com"),
            access_key: if account == PROD {
                "ASIA4EXAMPLEOPS00001"
            } else {
                "ASIA4EXAMPLEOPS00002"
            },
            mfa: true,
        },
        client: Client::AwsCli { os },
        source_ip: ip,
        session_start: start,
    }
}

pub(crate) fn asmith(account: Account, start: DateTime<Utc>) -> Actor {
    engineer(
        account,
        "asmith",
        ASMITH_IP,
        "macos#23.4.0 md/arch#arm64",
        start,
    )
}

pub(crate) fn bwong(account: Account, start: DateTime<Utc>) -> Actor {
    engineer(
        account,
        "bwong",
        BWONG_IP,
        "linux#6.5.0-1018-aws md/arch#x86_64",
        start,
    )
}

/// jdoe, an IAM user in production, in the browser.
pub(crate) fn jdoe_console(start: DateTime<Utc>) -> Actor {
    Actor {
        identity: jdoe_identity("ASIA4EXAMPLECONSOLE7"),
        client: Client::Console {
            browser: CHROME_MAC,
        },
        source_ip: JDOE_IP,
        session_start: start,
    }
}

/// jdoe on the CLI with his long-lived access key.
pub(crate) fn jdoe_cli(start: DateTime<Utc>) -> Actor {
    Actor {
        identity: jdoe_identity("AKIA4EXAMPLEJDOE0001"),
        client: Client::AwsCli {
            os: "macos#23.4.0 md/arch#arm64",
        },
        source_ip: JDOE_IP,
        session_start: start,
    }
}

fn jdoe_identity(access_key: &'static str) -> Identity {
    Identity::IamUser {
        account: PROD.id,
        name: "jdoe",
        id: "AIDA4EXAMPLEJDOE0001",
        access_key,
    }
}

/// EC2 Auto Scaling launching and terminating instances.
pub(crate) fn autoscaling(at: DateTime<Utc>) -> Actor {
    Actor {
        identity: Identity::Service {
            host: "autoscaling.amazonaws.com",
        },
        client: Client::Provider,
        source_ip: "autoscaling.amazonaws.com",
        session_start: at,
    }
}
