//! insights: the shape of an incident at a glance — change rate over time by change type, the
//! busiest hours by weekday, the most changed assets, the most active principals and the share
//! of each method — for the filtered change list. Numbers only; the UI draws them.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::store::{Session, StoreError, format_time};
use crate::timeline::{Facet, FacetCount, TimelineQuery, facet_values, principal_counts};

/// Bucket widths to choose from, smallest first: the first that gives at most
/// [`MAX_BUCKETS`] buckets over the changes' time range.
const BUCKETS_US: [(i64, &str); 8] = [
    (60_000_000, "minute"),
    (300_000_000, "5 minutes"),
    (900_000_000, "15 minutes"),
    (3_600_000_000, "hour"),
    (21_600_000_000, "6 hours"),
    (86_400_000_000, "day"),
    (604_800_000_000, "week"),
    (2_592_000_000_000, "30 days"),
];
const MAX_BUCKETS: i64 = 200;
const TOP: u64 = 10;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RateBucket {
    /// RFC 3339 UTC start of the bucket.
    pub start: String,
    pub end: String,
    pub create: u64,
    pub update: u64,
    pub delete: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Insights {
    pub rate: Vec<RateBucket>,
    /// What one rate bucket spans, in words ("hour").
    pub bucket: String,
    /// Changes per weekday (Monday first) and UTC hour: 7 rows of 24.
    pub heatmap: Vec<Vec<u64>>,
    pub top_assets: Vec<FacetCount>,
    pub top_principals: Vec<FacetCount>,
    pub methods: Vec<FacetCount>,
}

/// The change rate of a query: changes per time bucket by change type, the list's histogram.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChangeRate {
    /// Every bucket from the first change's to the last's, empty ones included; each spans
    /// `[start, end)`, so a bucket's bounds are a time range that selects exactly its changes.
    pub buckets: Vec<RateBucket>,
    /// What one bucket spans, in words ("hour").
    pub bucket: String,
}

/// Changes matching `query` per time bucket: the narrowest of minute, 5 and 15 minutes, hour,
/// 6 hours, day, week, 30 days giving at most 200 buckets over the changes' time range.
pub fn change_rate(session: &Session, query: &TimelineQuery) -> Result<ChangeRate, StoreError> {
    let (buckets, bucket) = match session.time_extent(query)? {
        None => (Vec::new(), "hour".to_owned()),
        Some((oldest, newest)) => {
            let (width, name) = BUCKETS_US
                .into_iter()
                .find(|(width, _)| (newest - oldest) / width < MAX_BUCKETS)
                .unwrap_or(BUCKETS_US[BUCKETS_US.len() - 1]);
            (rate(session, query, width)?, name.to_owned())
        }
    };
    Ok(ChangeRate { buckets, bucket })
}

pub fn insights(session: &Session, query: &TimelineQuery) -> Result<Insights, StoreError> {
    let ChangeRate {
        buckets: rate,
        bucket,
    } = change_rate(session, query)?;
    let mut heatmap = vec![vec![0u64; 24]; 7];
    for (weekday, hour, count) in session.weekday_hour_counts(query)? {
        if let Some(cell) = heatmap
            .get_mut(usize::from(weekday))
            .and_then(|row| row.get_mut(usize::from(hour)))
        {
            *cell = count;
        }
    }
    let assets = session.facet_counts(query, Facet::Asset, TOP)?;
    let names: Vec<&str> = assets.iter().map(|(name, _)| name.as_str()).collect();
    let known = session.known_assets(&names)?;
    let top_assets = assets
        .iter()
        .map(|(name, count)| {
            let label = known
                .get(name)
                .cloned()
                .flatten()
                .unwrap_or_else(|| name.rsplit(':').next().unwrap_or(name).to_owned());
            FacetCount {
                value: name.clone(),
                label,
                count: *count,
                members: Vec::new(),
            }
        })
        .collect();
    let counted =
        |facet: Facet, label: fn(&str) -> String| facet_values(session, query, facet, label, TOP);
    Ok(Insights {
        rate,
        bucket,
        heatmap,
        top_assets,
        top_principals: principal_counts(session, query, TOP)?,
        methods: counted(Facet::Method, |m| m.to_owned())?,
    })
}

/// Every bucket from the first to the last, empty ones included, so the chart's time axis is true.
fn rate(
    session: &Session,
    query: &TimelineQuery,
    width: i64,
) -> Result<Vec<RateBucket>, StoreError> {
    let mut counts: BTreeMap<i64, (u64, u64, u64)> = BTreeMap::new();
    for (start, change, count) in session.change_histogram(query, width)? {
        let entry = counts.entry(start).or_default();
        match change.as_str() {
            "create" => entry.0 += count,
            "update" => entry.1 += count,
            "delete" => entry.2 += count,
            _ => {}
        }
    }
    let (Some(first), Some(last)) = (
        counts.keys().next().copied(),
        counts.keys().next_back().copied(),
    ) else {
        return Ok(Vec::new());
    };
    let time = |micros: i64| {
        chrono::DateTime::from_timestamp_micros(micros)
            .map(format_time)
            .unwrap_or_default()
    };
    Ok((0..=(last - first) / width)
        .map(|i| {
            let start = first + i * width;
            let (create, update, delete) = counts.get(&start).copied().unwrap_or_default();
            RateBucket {
                start: time(start),
                end: time(start + width),
                create,
                update,
                delete,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_capture_charts_its_sunday_afternoon() {
        let dir = tempfile::TempDir::new().unwrap();
        let mut session = Session::open_or_create(&dir.path().join("i.tideline")).unwrap();
        let capture = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/seed-incident.sse"
        );
        crate::import::import_file(&mut session, std::path::Path::new(capture), &mut |_, _| {
            true
        })
        .unwrap();
        let all = insights(&session, &TimelineQuery::default()).unwrap();
        let total: u64 = all
            .rate
            .iter()
            .map(|b| b.create + b.update + b.delete)
            .sum();
        assert_eq!(total, 11);
        assert_eq!(
            all.bucket, "hour",
            "2 days and 4 hours fit in 200 hourly buckets"
        );
        assert_eq!(
            all.heatmap[6][13] + all.heatmap[6][14],
            8,
            "Sunday 13:00–15:00 UTC: the attack"
        );
        assert_eq!(all.top_principals[0].label, "jdoe");
        assert_eq!(all.methods.iter().map(|m| m.count).sum::<u64>(), 11);
        assert!(
            all.top_assets
                .iter()
                .any(|a| a.label == "prod-db-sg" && a.count == 3)
        );

        // A heatmap cell is also a filter.
        let sunday_two = TimelineQuery {
            weekday: Some(6),
            hour: Some(14),
            ..TimelineQuery::default()
        };
        assert_eq!(
            crate::timeline::list_changes(
                &session,
                &sunday_two,
                crate::timeline::PageStart::Offset(0),
                50
            )
            .unwrap()
            .total,
            all.heatmap[6][14]
        );
    }
}
