//! capture: reading saved streams — an `.sse` capture (server-sent events as recorded off the
//! wire, read by the live path's own framer, [`crate::sse`]) or NDJSON (one event JSON per
//! line) — as a sequence of frames, streamed, in bounded memory.
//!
//! Bad input fails a frame, never the file: a frame or line over the size limit, one that is
//! not UTF-8, and (in `.sse`) a last frame the file cuts short come back as
//! [`CapturedFrame::Rejected`] for quarantine. One leading UTF-8 BOM is skipped in both formats.

use std::collections::VecDeque;
use std::io::{BufRead, ErrorKind};

use crate::model::QuarantineReason;
use crate::sse::{self, Framer, LeadingBom, LineEndings, LinePiece, Rejected};
use crate::wire::{MAX_FRAME_BYTES, QUARANTINE_RAW_CAP};

/// One frame of a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CapturedFrame {
    /// An event to decode; NDJSON lines are `message` events without an id.
    Event(sse::Event),
    /// A frame that could not be read, with its reason and raw bytes.
    Rejected(Rejected),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureFormat {
    Sse,
    Ndjson,
}

/// Guesses the format from the first non-blank line (after a BOM): SSE fields and comments
/// start with a field name or `:`, NDJSON with `{`.
pub fn sniff(first_bytes: &[u8]) -> CaptureFormat {
    let first_bytes = first_bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(first_bytes);
    let text = String::from_utf8_lossy(first_bytes);
    let first = text
        .lines()
        .map(str::trim_start)
        .find(|line| !line.is_empty())
        .unwrap_or("");
    let sse_field = ["data:", "id:", "event:", "retry:", ":"]
        .iter()
        .any(|prefix| first.starts_with(prefix))
        || ["data", "id", "event", "retry"].contains(&first.trim_end());
    if sse_field {
        CaptureFormat::Sse
    } else {
        CaptureFormat::Ndjson
    }
}

/// Frames of a capture, one at a time.
pub struct Frames<R> {
    reader: R,
    split: Split,
    pending: VecDeque<CapturedFrame>,
    done: bool,
}

enum Split {
    Sse(Framer, Vec<sse::Item>),
    Ndjson(NdjsonLines),
}

impl<R: BufRead> Frames<R> {
    pub fn new(reader: R, format: CaptureFormat) -> Frames<R> {
        let split = match format {
            CaptureFormat::Sse => Split::Sse(Framer::new(), Vec::new()),
            CaptureFormat::Ndjson => Split::Ndjson(NdjsonLines::default()),
        };
        Frames {
            reader,
            split,
            pending: VecDeque::new(),
            done: false,
        }
    }

    pub(crate) fn reader(&self) -> &R {
        &self.reader
    }

    fn feed(split: &mut Split, pending: &mut VecDeque<CapturedFrame>, bytes: &[u8]) {
        match split {
            Split::Sse(framer, items) => {
                framer.feed(bytes, items);
                pending.extend(items.drain(..).filter_map(|item| match item {
                    sse::Item::Event(event) => Some(CapturedFrame::Event(event)),
                    sse::Item::Rejected(rejected) => Some(CapturedFrame::Rejected(rejected)),
                    sse::Item::Retry(_) => None,
                }));
            }
            Split::Ndjson(lines) => lines.feed(bytes, pending),
        }
    }

    fn finish(&mut self) {
        match &mut self.split {
            Split::Sse(framer, _) => {
                self.pending
                    .extend(framer.finish().map(CapturedFrame::Rejected));
            }
            Split::Ndjson(lines) => lines.finish(&mut self.pending),
        }
    }
}

impl<R: BufRead> Iterator for Frames<R> {
    type Item = std::io::Result<CapturedFrame>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(frame) = self.pending.pop_front() {
                return Some(Ok(frame));
            }
            if self.done {
                return None;
            }
            let Frames {
                reader,
                split,
                pending,
                ..
            } = self;
            let available = match reader.fill_buf() {
                Ok(bytes) => bytes,
                Err(error) if error.kind() == ErrorKind::Interrupted => continue,
                Err(error) => return Some(Err(error)),
            };
            if available.is_empty() {
                self.done = true;
                self.finish();
                continue;
            }
            let taken = available.len();
            Frames::<R>::feed(split, pending, available);
            reader.consume(taken);
        }
    }
}

/// NDJSON: one event per non-blank line (ending in LF, CRLF or CR); a last line without its
/// ending is complete. Lines are capped at [`MAX_FRAME_BYTES`] while reading.
#[derive(Default)]
struct NdjsonLines {
    bom: LeadingBom,
    endings: LineEndings,
    line: Vec<u8>,
    /// The first bytes of an oversized line, and its full length.
    raw: Vec<u8>,
    line_len: usize,
}

impl NdjsonLines {
    fn feed(&mut self, bytes: &[u8], out: &mut VecDeque<CapturedFrame>) {
        let (replay, bytes) = self.bom.strip(bytes);
        if let Some(replay) = replay {
            self.scan(&replay, out);
        }
        self.scan(bytes, out);
    }

    fn finish(&mut self, out: &mut VecDeque<CapturedFrame>) {
        let held = self.bom.flush();
        self.scan(&held, out);
        self.end_line(out);
    }

    fn scan(&mut self, bytes: &[u8], out: &mut VecDeque<CapturedFrame>) {
        let mut endings = std::mem::take(&mut self.endings);
        endings.split(bytes, |piece| match piece {
            LinePiece::Part(part) => self.take(part),
            LinePiece::End(_) => self.end_line(out),
            LinePiece::LfAfterCr => {}
        });
        self.endings = endings;
    }

    fn take(&mut self, part: &[u8]) {
        let total = self.line_len.saturating_add(part.len());
        if total > MAX_FRAME_BYTES {
            if self.line_len <= MAX_FRAME_BYTES {
                // Crossing the limit: keep the head, let go of the rest.
                self.raw = std::mem::take(&mut self.line);
                self.raw.truncate(QUARANTINE_RAW_CAP);
            }
            let room = QUARANTINE_RAW_CAP.saturating_sub(self.raw.len());
            self.raw.extend_from_slice(&part[..part.len().min(room)]);
        } else {
            self.line.extend_from_slice(part);
        }
        self.line_len = total;
    }

    fn end_line(&mut self, out: &mut VecDeque<CapturedFrame>) {
        let line_len = std::mem::take(&mut self.line_len);
        let line = std::mem::take(&mut self.line);
        if line_len > MAX_FRAME_BYTES {
            out.push_back(CapturedFrame::Rejected(Rejected {
                reason: QuarantineReason::TooLarge {
                    bytes: line_len,
                    limit: MAX_FRAME_BYTES,
                },
                raw: std::mem::take(&mut self.raw),
                raw_len: line_len,
                id: None,
            }));
            return;
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        match String::from_utf8(line) {
            Ok(data) => out.push_back(CapturedFrame::Event(sse::Event {
                event_type: "message".into(),
                data,
                id: None,
            })),
            Err(error) => {
                let valid_up_to = error.utf8_error().valid_up_to();
                let mut raw = error.into_bytes();
                raw.truncate(QUARANTINE_RAW_CAP);
                out.push_back(CapturedFrame::Rejected(Rejected {
                    reason: QuarantineReason::InvalidUtf8 { valid_up_to },
                    raw,
                    raw_len: line_len,
                    id: None,
                }));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(bytes: &[u8]) -> Vec<CapturedFrame> {
        let format = sniff(bytes);
        Frames::new(bytes, format)
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn events(bytes: &[u8]) -> Vec<sse::Event> {
        frames(bytes)
            .into_iter()
            .map(|frame| match frame {
                CapturedFrame::Event(event) => event,
                CapturedFrame::Rejected(rejected) => panic!("rejected: {rejected:?}"),
            })
            .collect()
    }

    fn rejected(frame: &CapturedFrame) -> &Rejected {
        match frame {
            CapturedFrame::Rejected(rejected) => rejected,
            CapturedFrame::Event(event) => panic!("not rejected: {event:?}"),
        }
    }

    fn case(name: &str) -> Vec<u8> {
        let path = format!("{}/../../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(path).unwrap()
    }

    #[test]
    fn the_seed_capture_yields_its_eleven_change_frames_and_two_pings() {
        let got = events(&case("seed-incident.sse"));
        let changes: Vec<_> = got.iter().filter(|f| f.event_type == "data").collect();
        assert_eq!(changes.len(), 11);
        assert_eq!(got.iter().filter(|f| f.event_type == "ping").count(), 2);
        for frame in changes {
            let value: serde_json::Value =
                serde_json::from_str(&frame.data).expect("each frame is JSON");
            assert_eq!(frame.id.as_deref(), value["id"].as_str());
        }
    }

    #[test]
    fn a_capture_starting_with_a_bom_is_read_as_sse_with_all_its_events() {
        let bytes = case("cases/01-bom-start.sse");
        assert_eq!(sniff(&bytes), CaptureFormat::Sse);
        let got = events(&bytes);
        assert_eq!(
            got.iter().map(|e| e.id.as_deref()).collect::<Vec<_>>(),
            [Some("a1"), Some("a2")]
        );
    }

    #[test]
    fn a_capture_cut_inside_its_last_frame_reports_it_as_incomplete() {
        let got = frames(&case("cases/03-no-final-blank-line.sse"));
        assert_eq!(got.len(), 2);
        assert!(
            matches!(&got[0], CapturedFrame::Event(event) if event.id.as_deref() == Some("c1"))
        );
        let last = rejected(&got[1]);
        assert_eq!(last.reason, QuarantineReason::IncompleteTrailingFrame);
        assert!(last.raw.starts_with(b"id: c2\nevent: data\ndata: {"));
    }

    #[test]
    fn ndjson_is_one_event_per_non_blank_line_after_an_optional_bom() {
        let got = events(b"\xEF\xBB\xBF{\"id\":\"1\"}\n\n{\"id\":\"2\"}\r\n{\"id\":\"3\"}");
        assert_eq!(
            got.iter().map(|f| f.data.as_str()).collect::<Vec<_>>(),
            ["{\"id\":\"1\"}", "{\"id\":\"2\"}", "{\"id\":\"3\"}"]
        );
        assert_eq!(sniff(b"\n  {\"id\":1}"), CaptureFormat::Ndjson);
        assert_eq!(sniff(b"\xEF\xBB\xBF{\"id\":1}"), CaptureFormat::Ndjson);
        assert_eq!(sniff(b": comment\n"), CaptureFormat::Sse);
        assert_eq!(sniff(b"\xEF\xBB\xBFid: 1\n"), CaptureFormat::Sse);
    }

    #[test]
    fn ndjson_lines_that_are_too_large_or_not_utf8_are_rejected_and_reading_goes_on() {
        let mut bytes = b"{\"a\":\"\xFF\"}\n".to_vec();
        bytes.extend(std::iter::repeat_n(b'x', MAX_FRAME_BYTES + 10));
        bytes.extend(b"\n{\"id\":\"ok\"}\n");
        let reader = std::io::BufReader::with_capacity(4096, bytes.as_slice());
        let got: Vec<_> = Frames::new(reader, CaptureFormat::Ndjson)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(
            rejected(&got[0]).reason,
            QuarantineReason::InvalidUtf8 { valid_up_to: 6 }
        );
        let big = rejected(&got[1]);
        assert_eq!(
            big.reason,
            QuarantineReason::TooLarge {
                bytes: MAX_FRAME_BYTES + 10,
                limit: MAX_FRAME_BYTES
            }
        );
        assert_eq!(
            (big.raw.len(), big.raw_len),
            (QUARANTINE_RAW_CAP, MAX_FRAME_BYTES + 10)
        );
        assert!(matches!(&got[2], CapturedFrame::Event(event) if event.data == "{\"id\":\"ok\"}"));
    }
}
