//! parquet: the OCSF export as Apache Parquet files for a data lake (Amazon Security Lake,
//! Spark, Trino/Athena, DuckDB), through Apache Arrow's own crates (`arrow-json` builds the
//! columns from each event's OCSF JSON, `parquet` writes them).
//!
//! Layout: Hive partitions `account=<account>/date=<YYYY-MM-DD>/part-<n>.parquet` under the
//! chosen folder (the event's cloud account and UTC date; partition values escaped as Hive and
//! Spark escape them, a missing account being `__HIVE_DEFAULT_PARTITION__`). Columns mirror the
//! OCSF JSON ([`schema`]: nested structs and lists), except that OCSF's free-form JSON members
//! (`unmapped`, `enrichments[].data`) are JSON text, Parquet having no untyped value. zstd
//! compression; a row group is closed at about [`ROW_GROUP_BYTES`] (128 MiB, sized for
//! scanning). Events arrive in time order, so a date's files are closed when the next date
//! starts: memory is bounded by the row groups of one date's accounts, whatever the length of
//! the session.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_json::ReaderBuilder;
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use sha2::Digest;

use super::{ExportError, NotedEvent, ocsf};
use crate::json::Value;

/// A row group is closed once its encoded size reaches this many bytes.
pub const ROW_GROUP_BYTES: usize = 128 * 1024 * 1024;

/// The columns holding long, nearly unique texts (leaf paths as Parquet names them).
const TEXT_COLUMNS: [&str; 4] = [
    "raw_data",
    "unmapped",
    "message",
    "enrichments.list.element.data",
];

/// Hive's name for a partition whose value is missing.
const DEFAULT_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// The longest escaped partition value written as a folder name; a longer (hostile) account is
/// cut there and ends in `~` and a digest of the whole value, so two long accounts never share
/// a folder (the exact value stays in `cloud.account.uid`).
const MAX_PARTITION_VALUE: usize = 200;

/// Files open at once at most: past it, the one written to least recently is closed (a later
/// event of its partition opens the next part file), so no number of accounts in one day runs
/// out of file handles or memory.
const MAX_OPEN_FILES: usize = 64;

/// Which files an event goes to: its account and its UTC date.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct PartitionKey {
    date: String,
    account: Option<String>,
}

impl PartitionKey {
    fn of(noted: &NotedEvent) -> PartitionKey {
        PartitionKey {
            date: noted.event.time.format("%Y-%m-%d").to_string(),
            account: noted.event.asset_account.clone().filter(|a| !a.is_empty()),
        }
    }

    /// `account=…/date=…`, relative to the export's folder.
    fn folder(&self) -> PathBuf {
        let account = match &self.account {
            Some(account) => escape_partition_value(account),
            None => DEFAULT_PARTITION.to_owned(),
        };
        PathBuf::from(format!("account={account}")).join(format!("date={}", self.date))
    }
}

/// A partition value as Hive (and Spark's `ExternalCatalogUtils.escapePathName`) writes it in
/// a folder name: control characters and `"#%'*/:=?\{[]^` and DEL as `%XX`, and `~` too (our
/// mark of a cut value). No value can name another folder (`/` is escaped; `.` and `..` are
/// inside `account=`), and an account literally named like Hive's missing-value partition is
/// escaped so it does not read back as missing.
pub fn escape_partition_value(value: &str) -> String {
    if value == DEFAULT_PARTITION {
        return format!("%5F{}", &value[1..]);
    }
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        let needs = c < ' '
            || c == '\u{7f}'
            || matches!(
                c,
                '"' | '#'
                    | '%'
                    | '\''
                    | '*'
                    | '/'
                    | ':'
                    | '='
                    | '?'
                    | '\\'
                    | '{'
                    | '['
                    | ']'
                    | '^'
                    | '~'
            );
        if needs {
            escaped.push_str(&format!("%{:02X}", c as u32));
        } else {
            escaped.push(c);
        }
    }
    if escaped.len() > MAX_PARTITION_VALUE {
        let mut cut = MAX_PARTITION_VALUE;
        while !escaped.is_char_boundary(cut) {
            cut -= 1;
        }
        let digest = sha2::Sha256::digest(value.as_bytes());
        escaped.truncate(cut);
        escaped.push('~');
        escaped.push_str(&hex::encode(&digest[..8]));
    }
    escaped
}

/// The Arrow schema of the Parquet export: the OCSF event's members as Tideline writes them
/// ([`ocsf`]), every column nullable.
pub fn schema() -> SchemaRef {
    SCHEMA.clone()
}

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let text = || DataType::Utf8;
    let int = || DataType::Int32;
    let field = |name: &str, data_type: DataType| Field::new(name, data_type, true);
    let object = |members: Vec<Field>| DataType::Struct(Fields::from(members));
    let account = || {
        object(vec![
            field("uid", text()),
            field("type_id", int()),
            field("type", text()),
        ])
    };
    let user = || {
        object(vec![
            field("uid", text()),
            field("name", text()),
            field("uid_alt", text()),
            field("type_id", int()),
            field("type", text()),
        ])
    };
    let named = || object(vec![field("name", text())]);
    let list = |item: DataType| DataType::List(Arc::new(Field::new("element", item, true)));
    Arc::new(Schema::new(vec![
        field("activity_id", int()),
        field("activity_name", text()),
        field("category_uid", int()),
        field("category_name", text()),
        field("class_uid", int()),
        field("class_name", text()),
        field("type_uid", DataType::Int64),
        field("type_name", text()),
        field("time", DataType::Int64),
        field("severity_id", int()),
        field("severity", text()),
        field("status_id", int()),
        field("status", text()),
        field("status_detail", text()),
        field("message", text()),
        field(
            "metadata",
            object(vec![
                field(
                    "product",
                    object(vec![
                        field("name", text()),
                        field("vendor_name", text()),
                        field("version", text()),
                    ]),
                ),
                field("version", text()),
                field("profiles", list(text())),
                field("uid", text()),
                field("original_time", text()),
                field("log_name", text()),
                field("log_provider", text()),
            ]),
        ),
        field(
            "actor",
            object(vec![
                field("user", user()),
                field(
                    "session",
                    object(vec![field("issuer", text()), field("uid", text())]),
                ),
                field("invoked_by", text()),
            ]),
        ),
        field("user", user()),
        field("service", named()),
        field(
            "api",
            object(vec![
                field("operation", text()),
                field("service", named()),
                field("request", object(vec![field("uid", text())])),
            ]),
        ),
        field(
            "src_endpoint",
            object(vec![field("ip", text()), field("svc_name", text())]),
        ),
        field("http_request", object(vec![field("user_agent", text())])),
        field(
            "resources",
            list(object(vec![
                field("uid", text()),
                field("name", text()),
                field("type", text()),
                field("region", text()),
                field("owner", object(vec![field("account", account())])),
            ])),
        ),
        field(
            "cloud",
            object(vec![
                field("provider", text()),
                field("account", account()),
                field("region", text()),
            ]),
        ),
        field(
            "enrichments",
            list(object(vec![
                field("name", text()),
                field("value", text()),
                field("type", text()),
                field("provider", text()),
                field("data", text()),
            ])),
        ),
        field("raw_data", text()),
        field("unmapped", text()),
    ]))
});

/// The columns decoded from each event's JSON members ([`schema`] without the last two, which
/// are made from their texts directly).
static MEMBERS_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let fields = &SCHEMA.fields()[..SCHEMA.fields().len() - 2];
    Arc::new(Schema::new(fields.to_vec()))
});

/// A partition's events of one batch: their members as JSON lines, and their two texts.
#[derive(Default)]
struct Group {
    lines: Vec<u8>,
    raw_data: Vec<Option<String>>,
    unmapped: Vec<String>,
}

/// One batch of events as Arrow record batches, one per partition.
pub(super) fn batches(
    events: &[NotedEvent],
    product_version: &str,
) -> Result<Vec<(PartitionKey, RecordBatch)>, ExportError> {
    // A batch's events are grouped by partition (accounts interleave), each group decoded at
    // once: one Arrow batch per partition, its events in time order.
    let mut groups: BTreeMap<PartitionKey, Group> = BTreeMap::new();
    for noted in events {
        let event = ocsf::event(noted, product_version);
        let group = groups.entry(PartitionKey::of(noted)).or_default();
        let mut members = event.members;
        as_parquet_row(&mut members);
        serde_json_lenient::to_writer(&mut group.lines, &members).map_err(json_error)?;
        group.lines.push(b'\n');
        group.raw_data.push(event.raw_data);
        let text = serde_json_lenient::to_string(&event.tideline_event).map_err(json_error)?;
        group
            .unmapped
            .push(format!("{{\"{}\":{text}}}", ocsf::TIDELINE_EVENT));
    }
    groups
        .into_iter()
        .map(|(key, group)| {
            let rows = group.unmapped.len();
            // Strict: a member the schema lacks is an error, never a column silently dropped.
            let mut decoder = ReaderBuilder::new(MEMBERS_SCHEMA.clone())
                .with_strict_mode(true)
                .with_batch_size(rows.max(1))
                .build_decoder()
                .map_err(arrow_error)?;
            decoder.decode(&group.lines).map_err(arrow_error)?;
            let members = decoder.flush().map_err(arrow_error)?.ok_or_else(|| {
                ExportError::Io(std::io::Error::other("an export batch decoded to nothing"))
            })?;
            let mut columns = members.columns().to_vec();
            columns.push(Arc::new(StringArray::from(group.raw_data)) as ArrayRef);
            columns.push(Arc::new(StringArray::from(group.unmapped)) as ArrayRef);
            let batch = RecordBatch::try_new(schema(), columns).map_err(arrow_error)?;
            Ok((key, batch))
        })
        .collect()
}

/// OCSF's free-form members as JSON text: each enrichment's `data` (`unmapped` is made as
/// text already).
fn as_parquet_row(event: &mut Value) {
    if let Some(Value::Array(enrichments)) = event.get_mut("enrichments") {
        for enrichment in enrichments {
            if let Some(data) = enrichment.get_mut("data") {
                *data = Value::String(data.to_string());
            }
        }
    }
}

fn json_error(error: serde_json_lenient::Error) -> ExportError {
    ExportError::Io(std::io::Error::other(error))
}

fn arrow_error(error: arrow_schema::ArrowError) -> ExportError {
    ExportError::Parquet(error.to_string())
}

fn parquet_error(error: parquet::errors::ParquetError) -> ExportError {
    match error {
        parquet::errors::ParquetError::External(inner) => {
            match inner.downcast::<std::io::Error>() {
                Ok(io) => ExportError::Io(*io),
                Err(other) => ExportError::Parquet(other.to_string()),
            }
        }
        other => ExportError::Parquet(other.to_string()),
    }
}

/// The partitions' files under one folder, written as batches arrive in time order.
pub(super) struct PartitionedWriter {
    root: PathBuf,
    /// Each open file, with when it was last written to (a count of writes).
    open: BTreeMap<PartitionKey, (ArrowWriter<File>, u64)>,
    writes: u64,
    /// Files made so far per partition folder (a partition reopened gets a new part number).
    parts: BTreeMap<PartitionKey, u32>,
    /// Files written, relative to the root.
    pub(super) files: Vec<PathBuf>,
}

impl PartitionedWriter {
    pub(super) fn new(root: &Path) -> PartitionedWriter {
        PartitionedWriter {
            root: root.to_owned(),
            open: BTreeMap::new(),
            writes: 0,
            parts: BTreeMap::new(),
            files: Vec::new(),
        }
    }

    /// Writes each partition's batch; closes the files of dates before the newest seen.
    pub(super) fn write(
        &mut self,
        batches: Vec<(PartitionKey, RecordBatch)>,
    ) -> Result<(), ExportError> {
        for (key, batch) in batches {
            let done: Vec<PartitionKey> = self
                .open
                .keys()
                .filter(|open| open.date < key.date)
                .cloned()
                .collect();
            for old in done {
                self.close(&old)?;
            }
            if !self.open.contains_key(&key) {
                if self.open.len() >= MAX_OPEN_FILES {
                    let least_recent = self
                        .open
                        .iter()
                        .min_by_key(|(_, (_, written))| *written)
                        .map(|(key, _)| key.clone());
                    if let Some(least_recent) = least_recent {
                        self.close(&least_recent)?;
                    }
                }
                let writer = self.create(&key)?;
                self.open.insert(key.clone(), (writer, 0));
            }
            self.writes += 1;
            let (writer, written) = self.open.get_mut(&key).expect("opened above");
            *written = self.writes;
            writer.write(&batch).map_err(parquet_error)?;
        }
        Ok(())
    }

    fn create(&mut self, key: &PartitionKey) -> Result<ArrowWriter<File>, ExportError> {
        let part = self.parts.entry(key.clone()).or_insert(0);
        let relative = key.folder().join(format!("part-{part:05}.parquet"));
        *part += 1;
        let path = self.root.join(&relative);
        std::fs::create_dir_all(path.parent().expect("a partition file has a folder"))?;
        let file = File::create(&path)?;
        self.files.push(relative);
        let mut properties =
            WriterProperties::builder().set_compression(Compression::ZSTD(ZstdLevel::default()));
        // Long, nearly unique texts: a dictionary never pays and min/max statistics on them
        // help no query, but both cost a hash or a compare per value.
        for column in TEXT_COLUMNS {
            let path = ColumnPath::from(column);
            properties = properties
                .set_column_dictionary_enabled(path.clone(), false)
                .set_column_statistics_enabled(path, EnabledStatistics::None);
        }
        let properties = properties
            // Row groups end by size (Parquet's `parquet.block.size`), not by a row count.
            .set_max_row_group_row_count(None)
            .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
            .set_created_by(format!("Tideline {}", env!("CARGO_PKG_VERSION")))
            .build();
        ArrowWriter::try_new(file, schema(), Some(properties)).map_err(parquet_error)
    }

    fn close(&mut self, key: &PartitionKey) -> Result<(), ExportError> {
        if let Some((writer, _)) = self.open.remove(key) {
            writer.close().map_err(parquet_error)?;
        }
        Ok(())
    }

    /// Closes every open file (each gets its footer).
    pub(super) fn finish(mut self) -> Result<Vec<PathBuf>, ExportError> {
        let keys: Vec<PartitionKey> = self.open.keys().cloned().collect();
        for key in keys {
            self.close(&key)?;
        }
        Ok(self.files)
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::{Array, Int64Array, StringArray, StructArray};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use tempfile::TempDir;

    use super::*;
    use crate::export::{ExportError, ExportFormat, export_to_path};
    use crate::store::Session;

    /// Every event of `session` as OCSF Parquet into the folder `to`.
    fn export_all(
        session: &Session,
        to: &Path,
    ) -> Result<crate::export::ExportReport, ExportError> {
        export_to_path(session, ExportFormat::OcsfParquet, None, to, &mut |_, _| {
            true
        })
    }

    fn demo(dir: &TempDir) -> Session {
        let mut session = Session::open_or_create(&dir.path().join("s.tideline")).unwrap();
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
        for input in ["seed-incident.sse", "auditlog/cloudtrail/seed-story"] {
            crate::import::import_path(&mut session, &fixtures.join(input), None, &mut |_, _| true)
                .unwrap();
        }
        session
    }

    /// A session of `count` copies of the update fixture, the `i`th with its own id and the
    /// account `account(i)`.
    fn update_copies(dir: &TempDir, count: usize, account: impl Fn(usize) -> String) -> Session {
        let mut session = Session::open_or_create(&dir.path().join("s.tideline")).unwrap();
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
        let update = std::fs::read_to_string(fixtures.join("update.json")).unwrap();
        let frames: Vec<_> = (0..count)
            .map(|i| crate::model::PositionedFrame {
                frame: crate::wire::decode_frame(
                    update
                        .replace("01HX0000000000000000000007", &format!("01HX{i:022}"))
                        .replace(
                            "\"account\": \"123456789012\"",
                            &format!("\"account\": \"{}\"", account(i)),
                        ),
                ),
                sse_id: None,
                received_at: chrono::Utc::now(),
            })
            .collect();
        assert_eq!(session.write_batch(&frames).unwrap().stored, count as u64);
        session
    }

    #[test]
    fn every_event_is_one_row_in_its_account_and_date_partition_with_its_record_verbatim() {
        let dir = TempDir::new().unwrap();
        let session = demo(&dir);
        let out = dir.path().join("lake");
        let report = export_all(&session, &out).unwrap();
        let mut bodies = std::collections::HashMap::new();
        session
            .for_each_event(None, |event| {
                bodies.insert(event.event_id.clone(), event);
                Ok::<(), crate::store::StoreError>(())
            })
            .unwrap();
        assert_eq!(report.rows, bodies.len() as u64);
        assert!(report.files.len() >= 4, "{:?}", report.files);
        let mut rows = 0;
        for file in &report.files {
            let folder = file.parent().unwrap().to_str().unwrap().to_owned();
            let reader = ParquetRecordBatchReaderBuilder::try_new(
                std::fs::File::open(out.join(file)).unwrap(),
            )
            .unwrap();
            let metadata = reader.metadata().clone();
            let compression = metadata.row_group(0).column(0).compression();
            assert!(matches!(compression, parquet::basic::Compression::ZSTD(_)));
            for batch in reader.build().unwrap() {
                let batch = batch.unwrap();
                let column = |name: &str| batch.column_by_name(name).unwrap().clone();
                let metadata = column("metadata");
                let metadata = metadata.as_any().downcast_ref::<StructArray>().unwrap();
                let uids = metadata.column_by_name("uid").unwrap();
                let uids = uids.as_any().downcast_ref::<StringArray>().unwrap();
                let times = column("time");
                let times = times.as_any().downcast_ref::<Int64Array>().unwrap();
                let raw = column("raw_data");
                let raw = raw.as_any().downcast_ref::<StringArray>().unwrap();
                for row in 0..batch.num_rows() {
                    let event = &bodies[uids.value(row)];
                    assert_eq!(times.value(row), event.time.timestamp_millis());
                    let account = event.asset_account.as_deref().unwrap_or(DEFAULT_PARTITION);
                    let date = event.time.format("%Y-%m-%d");
                    assert_eq!(folder, format!("account={account}/date={date}"));
                    let body = crate::json::parse(&event.body).unwrap();
                    if body["data"]["raw"].is_null() {
                        assert!(raw.is_null(row));
                    } else {
                        assert!(event.body.contains(raw.value(row)), "{}", raw.value(row));
                    }
                    rows += 1;
                }
            }
        }
        assert_eq!(rows, bodies.len());
        // A folder that holds something is never written into.
        let again = export_all(&session, &out);
        assert!(
            matches!(again, Err(ExportError::FolderNotEmpty { .. })),
            "{again:?}"
        );
    }

    #[test]
    fn a_day_of_many_accounts_never_holds_more_files_open_than_the_cap() {
        let dir = TempDir::new().unwrap();
        let accounts = MAX_OPEN_FILES * 2 + 5;
        // Two passes over the accounts, so every partition is closed once and opened again.
        let session = update_copies(&dir, accounts * 2, |i| format!("{:012}", i % accounts));
        let out = dir.path().join("lake");
        let report = export_all(&session, &out).unwrap();
        assert_eq!(report.rows, (accounts * 2) as u64);
        let folders: std::collections::BTreeSet<_> = report
            .files
            .iter()
            .map(|file| file.parent().unwrap())
            .collect();
        assert_eq!(folders.len(), accounts);
        assert!(report.files.len() >= accounts, "{}", report.files.len());
        let rows: usize = report
            .files
            .iter()
            .map(|file| {
                let reader = ParquetRecordBatchReaderBuilder::try_new(
                    std::fs::File::open(out.join(file)).unwrap(),
                )
                .unwrap();
                reader.metadata().file_metadata().num_rows() as usize
            })
            .sum();
        assert_eq!(rows, accounts * 2);
    }

    #[test]
    fn a_file_where_the_folder_should_go_is_refused_and_nothing_is_left() {
        let dir = TempDir::new().unwrap();
        let session = demo(&dir);
        let taken = dir.path().join("lake");
        std::fs::write(&taken, "someone's notes").unwrap();
        let result = export_all(&session, &taken);
        assert!(
            matches!(result, Err(ExportError::FolderNotEmpty { .. })),
            "{result:?}"
        );
        assert_eq!(std::fs::read_to_string(&taken).unwrap(), "someone's notes");
        assert!(!dir.path().join("lake.partial").exists());
        // A leftover `.partial` folder is named, never deleted or written into.
        let leftover = dir.path().join("other.partial");
        std::fs::create_dir(&leftover).unwrap();
        std::fs::write(leftover.join("keep"), "x").unwrap();
        let result = export_all(&session, &dir.path().join("other"));
        assert!(result.is_err(), "{result:?}");
        assert!(leftover.join("keep").exists());
    }

    #[test]
    fn a_cancelled_parquet_export_leaves_no_folder_behind() {
        let dir = TempDir::new().unwrap();
        let session = update_copies(&dir, 1_200, |_| "123456789012".to_owned());
        let out = dir.path().join("lake");
        let result = export_to_path(
            &session,
            ExportFormat::OcsfParquet,
            None,
            &out,
            &mut |done, _| done == 0,
        );
        assert!(matches!(result, Err(ExportError::Cancelled)), "{result:?}");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .filter(|name| name.to_string_lossy().starts_with("lake"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn partition_values_are_escaped_as_hive_escapes_them_and_never_name_another_folder() {
        for (value, folder) in [
            ("123456789012", "123456789012"),
            ("../../etc", "..%2F..%2Fetc"),
            ("a=b/c:d", "a%3Db%2Fc%3Ad"),
            ("100%", "100%25"),
            ("tab\there", "tab%09here"),
            ("projects/x", "projects%2Fx"),
            ("ünï", "ünï"),
            ("a~b", "a%7Eb"),
            ("__HIVE_DEFAULT_PARTITION__", "%5F_HIVE_DEFAULT_PARTITION__"),
        ] {
            assert_eq!(escape_partition_value(value), folder, "{value}");
        }
        // Long values are cut, marked, and told apart by a digest of the whole.
        let (one, two) = (
            format!("{}1", "x".repeat(300)),
            format!("{}2", "x".repeat(300)),
        );
        let (one, two) = (escape_partition_value(&one), escape_partition_value(&two));
        assert_ne!(one, two);
        assert!(
            one.len() <= MAX_PARTITION_VALUE + 17 && one.contains('~'),
            "{one}"
        );
        assert_eq!(escape_partition_value(&"y".repeat(200)), "y".repeat(200));
    }
}
