//! The page's TypeScript types are generated from these Rust types (ts-rs) and committed in
//! ui/src/api/bindings/. This test fails when they drift; `UPDATE_BINDINGS=1 cargo test`
//! rewrites them.

use std::path::PathBuf;

use tideline_engine::diff::{Fold, LineKind, SideBySideRow};
use tideline_engine::ingest::{ConnectionState, StopCause};
use tideline_engine::model::ChangeKind;
use tideline_engine::timeline::{
    AssetComparison, AssetState, Association, ChangeDetail, ChangePage, ChangeRow, ConfigView,
    FacetCount, Facets, FieldChangeView, HistoryEntry, PageCursor, QuarantineEntry, TimelineQuery,
    Who,
};
use ts_rs::{Config, TS};

use tideline_engine::detect::settings::{
    IacSettings, OffHoursSettings, PrincipalSettings, RegionSettings, RuleSettings,
    ShortLivedSettings, TravelSettings, WindowSettings,
};
use tideline_engine::detect::{
    DetectionSettings, EventRef, Finding, FindingsOverview, FindingsQuery, RuleCount, RuleId,
    RuleStatus, Severity, SeverityCount,
};
use tideline_engine::forward::DestinationStatus;
use tideline_engine::insights::{ChangeRate, Insights, RateBucket};
use tideline_engine::sessions::SessionCard;
use tideline_engine::store::{Annotations, ChainBreak, Comment, Verification};

use crate::commands::tasks::{TaskOutcome, TaskProgress};
use crate::error::{CommandErrorPayload, ErrorKind};
use crate::forwarding::ForwardingText;
use crate::host::{LiveStatus, SessionInfo, SessionMode};
use crate::keystore::KeyStorage;
use crate::menu::{ExportKind, MenuAction};

fn generated() -> Vec<(String, String)> {
    let config = Config::new().with_large_int("number");
    let mut files = Vec::new();
    macro_rules! add {
        ($($ty:ty),* $(,)?) => {$(
            let text = <$ty>::export_to_string(&config).expect("ts-rs export");
            files.push((format!("{}.ts", <$ty>::name(&config)), text));
        )*};
    }
    add!(
        Finding,
        FindingsQuery,
        FindingsOverview,
        RuleCount,
        SeverityCount,
        EventRef,
        RuleId,
        Severity,
        RuleStatus,
        DetectionSettings,
        RuleSettings,
        IacSettings,
        PrincipalSettings,
        RegionSettings,
        OffHoursSettings,
        TravelSettings,
        WindowSettings,
        ShortLivedSettings,
        Insights,
        ChangeRate,
        RateBucket,
        Annotations,
        Comment,
        Verification,
        ChainBreak,
        TaskProgress,
        TaskOutcome,
        MenuAction,
        ExportKind,
        ChangeKind,
        TimelineQuery,
        ChangeRow,
        ChangePage,
        PageCursor,
        FacetCount,
        Facets,
        Who,
        FieldChangeView,
        LineKind,
        SideBySideRow,
        Fold,
        Association,
        ConfigView,
        ChangeDetail,
        HistoryEntry,
        QuarantineEntry,
        ConnectionState,
        StopCause,
        LiveStatus,
        SessionInfo,
        SessionMode,
        KeyStorage,
        CommandErrorPayload,
        ErrorKind,
        DestinationStatus,
        ForwardingText,
        SessionCard,
        AssetState,
        AssetComparison,
    );
    files
}

#[test]
fn typescript_bindings_match_the_rust_types() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ui/src/api/bindings");
    let update = std::env::var_os("UPDATE_BINDINGS").is_some();
    let mut drifted = Vec::new();
    for (file, text) in generated() {
        let path = dir.join(&file);
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &text).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            drifted.push(file);
        }
    }
    assert!(
        drifted.is_empty(),
        "TypeScript bindings out of date: {drifted:?}; run `UPDATE_BINDINGS=1 cargo test -p tideline-shell bindings` and commit ui/src/api/bindings/"
    );
}
