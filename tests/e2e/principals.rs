//! Principals people recognise: an automation's sessions (each CI run assumes the role anew) are
//! one entry under their role, with the sessions inside; ticking it lists all their changes.

use crate::harness::review_seed_incident;

#[tokio::test(flavor = "multi_thread")]
async fn an_automations_sessions_are_one_principal_under_its_role_expandable_and_filterable() {
    let (_dir, _session, mut desktop) = review_seed_incident("principals", &[]).await;
    let group = r#"[data-testid="facet-option"][data-facet="principal"][data-value$=":assumed-role/terraform-ci/*"]"#;
    desktop.scroll_to(group).await;
    let label = desktop
        .text_when(group, |text| text.contains("sessions"))
        .await;
    // "terraform-ci · N sessions   COUNT"
    let sessions: usize = label
        .split(" · ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{label}"));
    assert!(sessions > 1, "{label}");

    // Opened: its sessions, each a principal of its own.
    desktop
        .click(&format!(r#"{group} [data-testid="facet-group-toggle"]"#))
        .await;
    let members = desktop.find_all(r#"[data-testid="facet-member"]"#).await;
    assert_eq!(members.len(), sessions.min(100));
    for member in &members {
        let value = member.attr("data-value").await.unwrap().unwrap_or_default();
        assert!(value.contains(":assumed-role/terraform-ci/"), "{value}");
    }
    desktop.screenshot("role-opened").await;

    // Ticked: the list is every change of every session of the role.
    let count: u64 = label
        .split_whitespace()
        .skip_while(|word| *word != "sessions")
        .nth(1)
        .and_then(|n| n.replace(',', "").parse().ok())
        .unwrap_or_else(|| panic!("{label}"));
    desktop.click(&format!("{group} input")).await;
    desktop
        .text_when(r#"[data-testid="list-total"]"#, |text| {
            text.starts_with(&format!("{count} "))
        })
        .await;
    // Every row on screen is one of the role's sessions.
    let rows = desktop.row_texts().await;
    assert!(!rows.is_empty());
    for text in rows {
        assert!(text.contains("terraform-ci/gh-actions-"), "{text}");
    }
    desktop.screenshot("role-ticked").await;
    desktop.close().await;
}
