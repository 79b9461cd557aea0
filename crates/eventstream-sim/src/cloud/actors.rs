//! Who makes changes: the identities of the generated streams, with the attribution
//! fields and the CloudTrail `userIdentity` each one produces.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

/// How an identity reached the account.
#[derive(Debug, Clone)]
pub(crate) enum Identity {
    /// A role session (Terraform from CI, engineers through `ops-engineer`).
    AssumedRole {
        account: &'static str,
        role: &'static str,
        role_id: &'static str,
        session: String,
        access_key: &'static str,
        mfa: bool,
    },
    /// A long-lived IAM user.
    IamUser {
        account: &'static str,
        name: &'static str,
        id: &'static str,
        access_key: &'static str,
    },
    /// The provider's own operations, e.g. `autoscaling.amazonaws.com`.
    Service { host: &'static str },
}

/// The client an identity uses; it decides `method` and the user agent.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Client {
    Terraform,
    AwsCli { os: &'static str },
    Console { browser: &'static str },
    Provider,
}

/// One identity with its usual address and client.
#[derive(Debug, Clone)]
pub(crate) struct Actor {
    pub identity: Identity,
    pub client: Client,
    pub source_ip: &'static str,
    /// When the role or console session began (for `sessionContext`).
    pub session_start: DateTime<Utc>,
}

impl Actor {
    pub fn principal(&self) -> String {
        match &self.identity {
            Identity::AssumedRole {
                account,
                role,
                session,
                ..
            } => format!("arn:aws:sts::{account}:assumed-role/{role}/{session}"),
            Identity::IamUser { account, name, .. } => {
                format!("arn:aws:iam::{account}:user/{name}")
            }
            Identity::Service { host } => (*host).to_owned(),
        }
    }

    pub fn principal_id(&self) -> String {
        match &self.identity {
            Identity::AssumedRole { role_id, .. } => (*role_id).to_owned(),
            Identity::IamUser { id, .. } => (*id).to_owned(),
            Identity::Service { host } => (*host).to_owned(),
        }
    }

    pub fn assumed_id(&self) -> Option<String> {
        match &self.identity {
            Identity::AssumedRole {
                role_id, session, ..
            } => Some(format!("{role_id}:{session}")),
            _ => None,
        }
    }

    pub fn assumed_role(&self) -> Option<String> {
        match &self.identity {
            Identity::AssumedRole { account, role, .. } => {
                Some(format!("arn:aws:iam::{account}:role/{role}"))
            }
            _ => None,
        }
    }

    pub fn method(&self) -> &'static str {
        match self.client {
            Client::Terraform => "terraform",
            Client::AwsCli { .. } => "cli",
            Client::Console { .. } => "console",
            Client::Provider => "provider",
        }
    }

    pub fn is_console(&self) -> bool {
        matches!(self.client, Client::Console { .. })
    }

    pub fn is_service(&self) -> bool {
        matches!(self.identity, Identity::Service { .. })
    }

    /// The user agent for one call: Terraform and the CLI name the API they call.
    pub fn user_agent(&self, service: &str, action: &str) -> String {
        match self.client {
            Client::Terraform => format!(
                "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.46.0 \
                 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.1 \
                 md/GOOS#linux md/GOARCH#amd64 api/{service}#{}",
                api_version(service)
            ),
            Client::AwsCli { os } => format!(
                "aws-cli/2.15.40 md/awscrt#0.19.19 ua/2.0 os/{os} lang/python#3.11.8 md/pyimpl#CPython \
                 cfg/retry-mode#standard md/installer#source md/prompt#off md/command#{}.{}",
                cli_service(service),
                kebab(action)
            ),
            Client::Console { browser } => browser.to_owned(),
            Client::Provider => match &self.identity {
                Identity::Service { host } => (*host).to_owned(),
                _ => "AWS Internal".to_owned(),
            },
        }
    }

    /// CloudTrail's `userIdentity` for this actor.
    pub fn user_identity(&self) -> Value {
        let created = self.session_start.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        match &self.identity {
            Identity::AssumedRole {
                account,
                role,
                role_id,
                access_key,
                mfa,
                ..
            } => json!({
                "type": "AssumedRole",
                "principalId": self.assumed_id(),
                "arn": self.principal(),
                "accountId": account,
                "accessKeyId": access_key,
                "sessionContext": {
                    "sessionIssuer": {
                        "type": "Role",
                        "principalId": role_id,
                        "arn": self.assumed_role(),
                        "accountId": account,
                        "userName": role,
                    },
                    "attributes": { "creationDate": created, "mfaAuthenticated": mfa.to_string() },
                },
            }),
            Identity::IamUser {
                account,
                name,
                id,
                access_key,
            } => json!({
                "type": "IAMUser",
                "principalId": id,
                "arn": self.principal(),
                "accountId": account,
                "accessKeyId": access_key,
                "userName": name,
                "sessionContext": {
                    "attributes": { "creationDate": created, "mfaAuthenticated": "true" },
                },
            }),
            Identity::Service { host } => json!({ "type": "AWSService", "invokedBy": host }),
        }
    }
}

/// `CreateSnapshot` → `create-snapshot`; Lambda's dated suffixes are dropped.
fn kebab(action: &str) -> String {
    let action = action.split("2015").next().unwrap_or(action);
    let mut out = String::new();
    for (i, c) in action.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn cli_service(service: &str) -> &str {
    if service == "s3" { "s3api" } else { service }
}

fn api_version(service: &str) -> &'static str {
    match service {
        "ec2" => "1.156.0",
        "s3" => "1.53.1",
        "iam" => "1.31.4",
        "lambda" => "1.54.1",
        "rds" => "1.77.1",
        _ => "1.0.0",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_commands_are_kebab_case() {
        assert_eq!(kebab("CreateSnapshot"), "create-snapshot");
        assert_eq!(
            kebab("UpdateFunctionConfiguration20150331v2"),
            "update-function-configuration"
        );
    }
}
