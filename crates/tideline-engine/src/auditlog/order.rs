//! auditlog::order: the records of many files in event-time order, holding only the files
//! whose time spans overlap the one being read.
//!
//! Log files are not in event order (CloudTrail delivers a record 5-15 minutes after it
//! happened, into whichever file's window was open), but each covers a short span. A first
//! pass notes each record's time; then files are opened in order of their earliest record and
//! merged: a file is opened only once the merge reaches its earliest time, and freed once read.
//! Memory is the records of overlapping files, not of the whole input (one huge file with
//! records in random order is still held whole).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::cloudtrail::verb_kind;
use super::{LogFormat, RecordText};
use crate::model::ChangeKind;

/// One file's record order keys ([`order_key`]) from the first pass, in file order.
#[derive(Debug, Clone)]
pub struct FileTimes {
    pub file: usize,
    pub times: Vec<i64>,
}

/// The order of one record: its event time in microseconds, times four, plus the rank of its
/// verb — creates of what other assets hang on (users, roles, groups, VPCs, security groups,
/// buckets) 0, other creates 1, changes 2, deletes 3 — so records of the same second, which
/// CloudTrail cannot order (its times are whole seconds), put an asset's create before what is
/// done to it and its delete last. Read without building the record's tree; a record without a
/// readable time sorts first (and is quarantined when normalized). `key >> 2` is the time.
pub fn order_key(format: LogFormat, record: &str) -> i64 {
    if format == LogFormat::Ocsf {
        // OCSF's `time` is epoch milliseconds; an export is in time order already.
        #[derive(Deserialize)]
        struct Ocsf {
            time: Option<i64>,
        }
        return match serde_json_lenient::from_str::<Ocsf>(record) {
            Ok(Ocsf { time: Some(ms) }) => ms.saturating_mul(1_000).saturating_mul(4),
            _ => i64::MIN,
        };
    }
    #[derive(Deserialize)]
    struct Fields {
        #[serde(rename = "eventTime")]
        event_time: Option<String>,
        #[serde(rename = "@timestamp")]
        shipped_at: Option<String>,
        timestamp: Option<String>,
        time: Option<String>,
        #[serde(rename = "eventTimestamp")]
        event_timestamp: Option<String>,
        #[serde(rename = "receiveTimestamp")]
        receive_timestamp: Option<String>,
        #[serde(rename = "eventName")]
        event_name: Option<String>,
    }
    let Ok(fields) = serde_json_lenient::from_str::<Fields>(record) else {
        return i64::MIN;
    };
    let text = match format {
        LogFormat::Cloudtrail => fields.event_time.or(fields.shipped_at),
        LogFormat::GcpAudit => fields.timestamp.or(fields.receive_timestamp),
        LogFormat::AzureActivity => fields.time.or(fields.event_timestamp),
        LogFormat::Eventstream | LogFormat::Ocsf => fields.time,
    };
    let Some(time) = text.and_then(|text| DateTime::parse_from_rfc3339(&text).ok()) else {
        return i64::MIN;
    };
    const PARENTS: [&str; 6] = [
        "CreateUser",
        "CreateRole",
        "CreateGroup",
        "CreateVpc",
        "CreateSecurityGroup",
        "CreateBucket",
    ];
    let name = fields.event_name.as_deref().unwrap_or_default();
    let rank = match verb_kind(name) {
        ChangeKind::Create if PARENTS.contains(&name) => 0,
        ChangeKind::Create => 1,
        ChangeKind::Update => 2,
        ChangeKind::Delete => 3,
    };
    time.with_timezone(&Utc)
        .timestamp_micros()
        .saturating_mul(4)
        .saturating_add(rank)
}

/// Loads the records of file `index` again, in the order of the first pass.
pub type Loader<'a> = Box<dyn FnMut(usize) -> Vec<RecordText> + Send + 'a>;

/// Iterates `(file index, order key, record)` in time order; equal keys keep file order then
/// record order.
pub struct TimeOrdered<'a> {
    files: Vec<FileTimes>,
    next_file: usize,
    heap: BinaryHeap<Reverse<(i64, usize, usize)>>,
    open: HashMap<usize, OpenFile>,
    load: Loader<'a>,
}

struct OpenFile {
    records: Vec<Option<RecordText>>,
    left: usize,
}

impl<'a> TimeOrdered<'a> {
    pub fn new(mut files: Vec<FileTimes>, load: Loader<'a>) -> TimeOrdered<'a> {
        files.retain(|file| !file.times.is_empty());
        files.sort_by_key(|file| (file.times.iter().copied().min(), file.file));
        TimeOrdered {
            files,
            next_file: 0,
            heap: BinaryHeap::new(),
            open: HashMap::new(),
            load,
        }
    }

    fn open_next(&mut self) {
        let file = &self.files[self.next_file];
        self.next_file += 1;
        let index = file.file;
        let records = (self.load)(index);
        for (position, time) in file.times.iter().enumerate().take(records.len()) {
            self.heap.push(Reverse((*time, index, position)));
        }
        let left = records.len().min(file.times.len());
        self.open.insert(
            index,
            OpenFile {
                records: records.into_iter().map(Some).collect(),
                left,
            },
        );
    }

    fn earliest_unopened(&self) -> Option<i64> {
        let file = self.files.get(self.next_file)?;
        file.times.iter().copied().min()
    }
}

impl Iterator for TimeOrdered<'_> {
    type Item = (usize, i64, RecordText);

    fn next(&mut self) -> Option<Self::Item> {
        // Open every file whose earliest record is not after the earliest record held.
        while let Some(next) = self.earliest_unopened() {
            let head = self.heap.peek().map(|Reverse((time, _, _))| *time);
            if head.is_some_and(|head| head < next) {
                break;
            }
            self.open_next();
        }
        let Reverse((key, file, position)) = self.heap.pop()?;
        let open = self.open.get_mut(&file)?;
        let record = open.records[position].take()?;
        open.left -= 1;
        if open.left == 0 {
            self.open.remove(&file);
        }
        Some((file, key, record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_of_many_files_come_out_in_time_order_with_only_overlapping_files_open() {
        // File 0 spans 10..40, file 1 spans 5..8, file 2 spans 30..50, file 3 spans 60..70.
        let times = [vec![40, 10, 20], vec![8, 5], vec![50, 30], vec![70, 60]];
        let files = times
            .iter()
            .enumerate()
            .map(|(file, times)| FileTimes {
                file,
                times: times.clone(),
            })
            .collect();
        let opened = std::sync::Mutex::new(Vec::new());
        let load: Loader<'_> = Box::new(|file| {
            opened.lock().unwrap().push(file);
            times[file].iter().map(|t| format!("{file}@{t}")).collect()
        });
        let order: Vec<String> = TimeOrdered::new(files, load).map(|(_, _, r)| r).collect();
        assert_eq!(
            order,
            [
                "1@5", "1@8", "0@10", "0@20", "2@30", "0@40", "2@50", "3@60", "3@70"
            ]
        );
        assert_eq!(*opened.lock().unwrap(), vec![1, 0, 2, 3]);
    }

    #[test]
    fn a_file_is_not_opened_before_the_merge_reaches_its_first_record() {
        let files = vec![
            FileTimes {
                file: 0,
                times: vec![1, 2],
            },
            FileTimes {
                file: 1,
                times: vec![3],
            },
        ];
        let opened = std::sync::Mutex::new(Vec::new());
        let load: Loader<'_> = Box::new(|file| {
            opened.lock().unwrap().push(file);
            vec![String::new(); if file == 0 { 2 } else { 1 }]
        });
        let mut merged = TimeOrdered::new(files, load);
        merged.next();
        merged.next();
        assert_eq!(*opened.lock().unwrap(), vec![0]);
        assert!(merged.next().is_some());
        assert!(merged.next().is_none());
    }
}
