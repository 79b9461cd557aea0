//! auditlog::method: how a change was made (`console`, `cli`, `terraform`, `sdk`, `provider`,
//! `unknown`), classified from what an audit-log record says about its caller.
//!
//! Order matters, because user agents nest: Terraform's agent contains the Go SDK's
//! (`... Terraform/1.7.5 ... aws-sdk-go-v2/1.26.1`), and the S3 console's contains the Java
//! SDK's (`[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.488 ...]`). So: the provider's own
//! service first, then console markers, then Terraform, then CLIs, then SDKs. Sources: AWS
//! "CloudTrail userAgent element" and "CloudTrail userIdentity element" (`invokedBy`,
//! `AWSService`), `sessionCredentialFromConsole` (CloudTrail record contents); GCP
//! `requestMetadata.callerSuppliedUserAgent`; Azure `claims`/`httpRequest` fields.

/// What a record says about its caller, provider-neutral.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallerSignals<'a> {
    /// The user agent as logged (may be wrapped in `[...]`, as S3 data events are).
    pub user_agent: Option<&'a str>,
    /// The provider marked the session as a console sign-in (CloudTrail
    /// `sessionCredentialFromConsole: "true"`).
    pub console_session: bool,
    /// The call was made by the provider's own service (CloudTrail `AWSService` identity or
    /// `invokedBy` a service host, a service-linked role, GCP/Azure system identities).
    pub provider_service: bool,
}

/// The method, one of the contract's six values.
pub fn classify(signals: &CallerSignals<'_>) -> &'static str {
    let agent = signals.user_agent.unwrap_or_default();
    let lower = agent.to_ascii_lowercase();
    let has = |markers: &[&str]| markers.iter().any(|marker| lower.contains(marker));
    if signals.provider_service {
        return "provider";
    }
    if signals.console_session
        || has(&[
            "console.amazonaws.com",
            "console.ec2.amazonaws.com",
            "signin.amazonaws.com",
            "s3console/",
            "aws-console",
            "awsconsole",
            "console.cloud.google.com",
            "googlecloudconsole",
            "cloud console",
            "portal.azure.com",
            "azureportal",
        ])
    {
        return "console";
    }
    if has(&["terraform/", "terraform-provider-", "hashicorp/"]) {
        return "terraform";
    }
    if has(&[
        "aws-cli/",
        "aws-shell/",
        "awspowershell",
        "aws-tools-for-powershell",
        "command/gcloud",
        "google-cloud-sdk",
        "gcloud-",
        "azure-cli",
        "azurecli",
        "az-cli",
        "azurepowershell",
    ]) {
        return "cli";
    }
    if has(&[
        "boto3/",
        "botocore/",
        "aws-sdk-",
        "aws-internal/",
        "google-api-",
        "gl-go/",
        "gl-python/",
        "grpc-",
        "azsdk-",
        "azure-sdk-",
        "python-requests/",
        "go-http-client/",
    ]) {
        return "sdk";
    }
    if agent.starts_with("Mozilla/") {
        // A browser not marked as a console session: still a person in a browser.
        return "console";
    }
    "unknown"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(text: &str) -> &'static str {
        classify(&CallerSignals {
            user_agent: Some(text),
            ..CallerSignals::default()
        })
    }

    #[test]
    fn nested_user_agents_classify_by_the_outermost_tool() {
        // (user agent, method): Terraform before the Go SDK it embeds; the S3 console before
        // the Java SDK it embeds; CLIs before the botocore they embed.
        let table = [
            (
                "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.46.0 aws-sdk-go-v2/1.26.1 os/linux",
                "terraform",
            ),
            (
                "[APN/1.0 HashiCorp/1.0 Terraform/1.5.7 (+https://www.terraform.io) terraform-provider-aws/5.31.0 aws-sdk-go/1.49.13]",
                "terraform",
            ),
            (
                "[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.488 Linux/5.10 OpenJDK_64-Bit_Server_VM/25.372-b08 java/1.8.0_372]",
                "console",
            ),
            ("console.ec2.amazonaws.com", "console"),
            (
                "aws-cli/2.15.40 md/awscrt#0.19.19 ua/2.0 os/linux#6.1 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe botocore/2.4.5",
                "cli",
            ),
            (
                "Boto3/1.34.84 md/Botocore#1.34.84 ua/2.0 os/linux#5.10 md/arch#x86_64 lang/python#3.12.2",
                "sdk",
            ),
            (
                "aws-sdk-go-v2/1.24.0 os/linux lang/go#1.21.5 md/GOOS#linux md/GOARCH#amd64 api/sts#1.26.6",
                "sdk",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
                "console",
            ),
            (
                "google-cloud-sdk gcloud/467.0.0 command/gcloud.compute.firewall-rules.create",
                "cli",
            ),
            ("azsdk-python-mgmt-network/25.3.0 Python/3.11.4", "sdk"),
            ("AZURECLI/2.58.0 (DEB) azsdk-python-core/1.28.0", "cli"),
            (
                "stratus-red-team_7f1a0a4e-24e0-4c4b-9d0e-4b5d3c2c1a00",
                "unknown",
            ),
            ("", "unknown"),
        ];
        for (user_agent, method) in table {
            assert_eq!(agent(user_agent), method, "{user_agent}");
        }
    }

    #[test]
    fn the_provider_and_console_sessions_win_over_any_user_agent() {
        let service = CallerSignals {
            user_agent: Some("aws-sdk-java/1.12"),
            provider_service: true,
            ..CallerSignals::default()
        };
        assert_eq!(classify(&service), "provider");
        let console = CallerSignals {
            user_agent: Some("aws-internal/3 aws-sdk-java/1.12.488"),
            console_session: true,
            ..CallerSignals::default()
        };
        assert_eq!(classify(&console), "console");
    }
}
