//! The search box finds indicators on the incident's data (the seed incident, the demo's story
//! recorded with the CLI): the attacker's address lists the firewall change that added it, and
//! `NOT method:provider` hides the autoscaling the provider did itself.

use crate::harness::review_seed_incident;

#[tokio::test(flavor = "multi_thread")]
async fn the_attackers_address_finds_the_firewall_change_and_not_method_provider_hides_autoscaling()
{
    let (_dir, _session, mut desktop) = review_seed_incident("search", &[]).await;
    let total = r#"[data-testid="list-total"]"#;
    let all: u64 = number(
        &desktop
            .text_when(total, |text| text.starts_with("202 "))
            .await,
    );
    let provider = r#"[data-testid="facet-option"][data-facet="method"][data-value="provider"]"#;
    desktop.scroll_to(provider).await;
    let provider: u64 = number(&desktop.text_when(provider, |text| !text.is_empty()).await);
    assert!(provider > 0);

    // An address only the configurations hold: the change that added it and the one that
    // removed it, nothing else.
    desktop
        .type_into(r#"[data-testid="filter-text"]"#, "203.0.113.66")
        .await;
    desktop
        .text_when(total, |text| text.starts_with("2 "))
        .await;
    desktop
        .find(r#"[data-testid="change-row"][data-asset-label="prod-db-sg"][data-action="AuthorizeSecurityGroupIngress"]"#)
        .await;
    desktop
        .find(r#"[data-testid="change-row"][data-asset-label="prod-db-sg"][data-action="RevokeSecurityGroupIngress"]"#)
        .await;
    desktop.screenshot("attacker-address").await;

    // The provider's own changes left out: every row remaining was made by someone.
    desktop
        .type_into(r#"[data-testid="filter-text"]"#, "NOT method:provider")
        .await;
    // Exactly the changes the provider did not make: its count (read before searching) went.
    desktop
        .text_when(total, |text| number(text) == all - provider)
        .await;
    let rows = desktop.row_texts().await;
    assert!(!rows.is_empty());
    for text in &rows {
        assert!(!text.contains("autoscaling.amazonaws.com"), "{text}");
        assert!(!text.contains("Provider"), "{text}");
    }
    desktop.screenshot("not-provider").await;
    desktop.close().await;
}

/// The first number in a text ("127 changes", "Provider 75").
fn number(text: &str) -> u64 {
    text.split(|c: char| !c.is_ascii_digit() && c != ',')
        .find(|word| word.chars().any(|c| c.is_ascii_digit()))
        .map(|word| word.replace(',', "").parse().unwrap_or(0))
        .unwrap_or(0)
}
