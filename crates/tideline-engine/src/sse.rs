//! sse: the one server-sent-events framer — bytes in, events out — for the live stream and for
//! `.sse` captures alike. It follows the HTML Living Standard, §9.2.6 "Interpreting an event
//! stream" (<https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation>),
//! with one change of policy: a bad frame is failed, never the stream.
//!
//! - Bytes arrive in chunks of any size; a CR at the end of one chunk and an LF at the start of
//!   the next are one line ending. One leading UTF-8 BOM is skipped.
//! - Memory is bounded whatever the peer sends: a frame (its field lines as sent, endings
//!   included; comment lines are not part of a frame and are never buffered) over
//!   [`MAX_FRAME_BYTES`] is rejected as [`QuarantineReason::TooLarge`] with its full size and its
//!   first [`QUARANTINE_RAW_CAP`] bytes; the bytes past the limit are counted, not kept, and
//!   parsing resumes at the next frame. Lines that arrive after a frame went over the limit are
//!   not interpreted (an `id:` after the oversized part does not move the last event id).
//! - The stream is decoded frame by frame: a frame that is not UTF-8 is rejected with its raw
//!   bytes ([`QuarantineReason::InvalidUtf8`]); the frames around it are unaffected.
//! - `retry:` values that are not all ASCII digits are ignored, as the standard says.
//! - [`Framer::finish`] ends a saved capture: a frame still open there is reported
//!   ([`QuarantineReason::IncompleteTrailingFrame`]). Over a live stream, drop the framer
//!   instead: an event without its blank line is never dispatched.

use crate::model::{Frame, QuarantineReason, QuarantinedFrame};
use crate::wire::{MAX_FRAME_BYTES, QUARANTINE_RAW_CAP};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Skips one UTF-8 byte-order mark at the start of a stream, however the stream is cut.
#[derive(Debug, Default)]
pub(crate) struct LeadingBom {
    /// Bytes of a possible BOM, held until it is known whether they are one.
    held: Vec<u8>,
    done: bool,
}

impl LeadingBom {
    /// Returns the held bytes to read first (if they turned out not to be a BOM) and the rest
    /// of `bytes` to read after them.
    pub(crate) fn strip<'a>(&mut self, mut bytes: &'a [u8]) -> (Option<Vec<u8>>, &'a [u8]) {
        if self.done {
            return (None, bytes);
        }
        while !bytes.is_empty() && self.held.len() < BOM.len() {
            self.held.push(bytes[0]);
            bytes = &bytes[1..];
            if !BOM.starts_with(&self.held) {
                break;
            }
        }
        if self.held.len() < BOM.len() && BOM.starts_with(&self.held) {
            return (None, bytes); // still possibly a BOM: wait for more
        }
        self.done = true;
        let held = std::mem::take(&mut self.held);
        ((held != BOM).then_some(held), bytes)
    }

    /// The end of the stream: whatever was held is data after all.
    pub(crate) fn flush(&mut self) -> Vec<u8> {
        self.done = true;
        std::mem::take(&mut self.held)
    }
}

/// Splits bytes into lines ending in CR, LF or CRLF (WHATWG's `end-of-line`), however the
/// stream is cut: a CR at the end of one chunk and an LF at the start of the next are one
/// ending. The one line splitter of the SSE framer and the NDJSON reader.
#[derive(Debug, Default)]
pub(crate) struct LineEndings {
    /// The last ending was a CR: an LF right after it belongs to it.
    after_cr: bool,
}

/// What [`LineEndings::split`] finds, in order.
pub(crate) enum LinePiece<'a> {
    /// Bytes of the current line (a line may come in several parts).
    Part(&'a [u8]),
    /// The current line ended with this byte (CR or LF).
    End(u8),
    /// The LF of a CRLF whose CR ended the previous piece: not a new line.
    LfAfterCr,
}

impl LineEndings {
    pub(crate) fn split<'a>(&mut self, mut bytes: &'a [u8], mut piece: impl FnMut(LinePiece<'a>)) {
        while !bytes.is_empty() {
            if std::mem::take(&mut self.after_cr) && bytes[0] == b'\n' {
                piece(LinePiece::LfAfterCr);
                bytes = &bytes[1..];
                continue;
            }
            match bytes
                .iter()
                .position(|&byte| byte == b'\n' || byte == b'\r')
            {
                Some(end) => {
                    piece(LinePiece::Part(&bytes[..end]));
                    piece(LinePiece::End(bytes[end]));
                    self.after_cr = bytes[end] == b'\r';
                    bytes = &bytes[end + 1..];
                }
                None => {
                    piece(LinePiece::Part(bytes));
                    bytes = &[];
                }
            }
        }
    }
}

/// A dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The `event:` name; `message` when none was given.
    pub event_type: String,
    /// The `data:` lines joined with `\n`.
    pub data: String,
    /// The last event id at dispatch (it persists across frames until the next `id:`).
    pub id: Option<String>,
}

/// A frame the framer could not turn into an event; kept for quarantine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub reason: QuarantineReason,
    /// The frame's first [`QUARANTINE_RAW_CAP`] bytes, exactly as sent.
    pub raw: Vec<u8>,
    /// The frame's full size in bytes.
    pub raw_len: usize,
    /// The last event id when the frame ended.
    pub id: Option<String>,
}

impl Rejected {
    pub fn into_frame(self) -> Frame {
        Frame::Quarantined(QuarantinedFrame {
            reason: self.reason,
            raw: self.raw,
            raw_len: self.raw_len,
        })
    }
}

/// What the framer produces, in stream order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Event(Event),
    Rejected(Rejected),
    /// A valid `retry:` field: the reconnection time in milliseconds (applies at once).
    Retry(u64),
}

/// What the current line is, once its first byte is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line {
    /// No byte of the line yet.
    Start,
    /// Starts with `:`; skipped without buffering.
    Comment,
    Field,
}

/// The frame under construction: its fields so far and its raw bytes.
#[derive(Debug, Default)]
struct OpenFrame {
    /// A field line has been seen since the last blank line.
    open: bool,
    event_type: String,
    data: String,
    has_data: bool,
    /// The first [`QUARANTINE_RAW_CAP`] bytes of the frame.
    raw: Vec<u8>,
    /// All bytes of the frame so far, including those not kept.
    raw_len: usize,
    too_large: bool,
    /// Offset in the frame of its first byte that is not UTF-8.
    invalid_at: Option<usize>,
}

/// Cuts a byte stream into SSE events. Feed it chunks; it never fails and never panics.
#[derive(Debug)]
pub struct Framer {
    bom: LeadingBom,
    endings: LineEndings,
    /// The last CR ended a field line, so the LF that follows is part of the frame's raw bytes.
    after_cr_in_frame: bool,
    line_kind: Line,
    /// The current field line (bounded by the frame limit).
    line: Vec<u8>,
    /// Where the current line starts in the frame's raw bytes.
    line_start: usize,
    frame: OpenFrame,
    last_event_id: Option<String>,
}

impl Default for Framer {
    fn default() -> Self {
        Framer::new()
    }
}

impl Framer {
    pub fn new() -> Framer {
        Framer {
            bom: LeadingBom::default(),
            endings: LineEndings::default(),
            after_cr_in_frame: false,
            line_kind: Line::Start,
            line: Vec::new(),
            line_start: 0,
            frame: OpenFrame::default(),
            last_event_id: None,
        }
    }

    /// The last event id seen (persisting across frames), if any.
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_event_id.as_deref()
    }

    /// Reads `bytes` (any cut of the stream) and appends what they complete to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<Item>) {
        let (replay, bytes) = self.bom.strip(bytes);
        if let Some(replay) = replay {
            self.scan(&replay, out);
        }
        self.scan(bytes, out);
    }

    /// Ends a saved capture: whatever is buffered is reported, and the framer starts over.
    /// Returns the frame left open (without its blank line), if there was one.
    pub fn finish(&mut self) -> Option<Rejected> {
        // A BOM prefix alone cannot complete a line; it only opens a frame.
        let held = self.bom.flush();
        self.scan(&held, &mut Vec::new());
        let frame = std::mem::take(&mut self.frame);
        let rejected = frame.open.then(|| Rejected {
            reason: QuarantineReason::IncompleteTrailingFrame,
            raw: frame.raw,
            raw_len: frame.raw_len,
            id: self.last_event_id.clone(),
        });
        let last_event_id = self.last_event_id.take();
        *self = Framer::new();
        self.last_event_id = last_event_id;
        rejected
    }

    fn scan(&mut self, bytes: &[u8], out: &mut Vec<Item>) {
        let mut endings = std::mem::take(&mut self.endings);
        endings.split(bytes, |piece| match piece {
            LinePiece::Part(part) => self.take(part),
            LinePiece::End(ending) => self.end_line(ending, out),
            LinePiece::LfAfterCr => {
                if self.after_cr_in_frame {
                    self.count_raw(b"\n");
                }
            }
        });
        self.endings = endings;
    }

    /// Part of a line, without its ending.
    fn take(&mut self, part: &[u8]) {
        if part.is_empty() {
            return;
        }
        if self.line_kind == Line::Start {
            if part[0] == b':' {
                self.line_kind = Line::Comment;
            } else {
                self.line_kind = Line::Field;
                self.frame.open = true;
                self.line_start = self.frame.raw_len;
            }
        }
        if self.line_kind == Line::Field {
            self.count_raw(part);
            if !self.frame.too_large {
                self.line.extend_from_slice(part);
            }
        }
    }

    /// Counts bytes of the frame, keeps the first of them, and enforces the size limit.
    fn count_raw(&mut self, bytes: &[u8]) {
        let frame = &mut self.frame;
        let room = QUARANTINE_RAW_CAP.saturating_sub(frame.raw.len());
        frame.raw.extend_from_slice(&bytes[..bytes.len().min(room)]);
        frame.raw_len = frame.raw_len.saturating_add(bytes.len());
        if frame.raw_len > MAX_FRAME_BYTES && !frame.too_large {
            frame.too_large = true;
            frame.data = String::new();
            frame.event_type = String::new();
            self.line = Vec::new();
        }
    }

    fn end_line(&mut self, ending: u8, out: &mut Vec<Item>) {
        let kind = std::mem::replace(&mut self.line_kind, Line::Start);
        self.after_cr_in_frame = false;
        match kind {
            Line::Start => self.dispatch(out),
            Line::Comment => {}
            Line::Field => {
                self.count_raw(&[ending]);
                self.after_cr_in_frame = ending == b'\r';
                if !self.frame.too_large {
                    let line = std::mem::take(&mut self.line);
                    self.field(&line, out);
                    self.line = line;
                }
                self.line.clear();
                if self.line.capacity() > QUARANTINE_RAW_CAP {
                    self.line = Vec::new();
                }
            }
        }
    }

    /// One complete field line (not a comment), per the standard's "process the field".
    fn field(&mut self, line: &[u8], out: &mut Vec<Item>) {
        let text = match std::str::from_utf8(line) {
            Ok(text) => text,
            Err(error) => {
                let at = self.line_start + error.valid_up_to();
                self.frame.invalid_at.get_or_insert(at);
                return;
            }
        };
        let (name, value) = match text.split_once(':') {
            Some((name, value)) => (name, value.strip_prefix(' ').unwrap_or(value)),
            None => (text, ""),
        };
        match name {
            "event" => {
                self.frame.event_type.clear();
                self.frame.event_type.push_str(value);
            }
            "data" => {
                if self.frame.has_data {
                    self.frame.data.push('\n');
                }
                self.frame.data.push_str(value);
                self.frame.has_data = true;
            }
            "id" if !value.contains('\0') => self.last_event_id = Some(value.to_owned()),
            "retry" if !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit()) => {
                // All digits: only an overflow can fail, and a huge delay is a long delay.
                out.push(Item::Retry(value.parse().unwrap_or(u64::MAX)));
            }
            _ => {}
        }
    }

    /// A blank line: the frame is complete.
    fn dispatch(&mut self, out: &mut Vec<Item>) {
        let frame = std::mem::take(&mut self.frame);
        if !frame.open {
            return;
        }
        let reason = if frame.too_large {
            Some(QuarantineReason::TooLarge {
                bytes: frame.raw_len,
                limit: MAX_FRAME_BYTES,
            })
        } else {
            frame
                .invalid_at
                .map(|valid_up_to| QuarantineReason::InvalidUtf8 { valid_up_to })
        };
        if let Some(reason) = reason {
            out.push(Item::Rejected(Rejected {
                reason,
                raw: frame.raw,
                raw_len: frame.raw_len,
                id: self.last_event_id.clone(),
            }));
        } else if frame.has_data {
            let event_type = if frame.event_type.is_empty() {
                "message".to_owned()
            } else {
                frame.event_type
            };
            out.push(Item::Event(Event {
                event_type,
                data: frame.data,
                id: self.last_event_id.clone(),
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn items(bytes: &[u8]) -> Vec<Item> {
        let mut framer = Framer::new();
        let mut out = Vec::new();
        framer.feed(bytes, &mut out);
        out.extend(framer.finish().map(Item::Rejected));
        out
    }

    fn chunked(bytes: &[u8], cuts: &[usize]) -> Vec<Item> {
        let mut framer = Framer::new();
        let mut out = Vec::new();
        let mut start = 0;
        let mut cuts: Vec<usize> = cuts.iter().map(|cut| cut % (bytes.len() + 1)).collect();
        cuts.sort_unstable();
        for cut in cuts {
            framer.feed(&bytes[start..cut], &mut out);
            start = cut;
        }
        framer.feed(&bytes[start..], &mut out);
        out.extend(framer.finish().map(Item::Rejected));
        out
    }

    fn event(event_type: &str, id: Option<&str>, data: &str) -> Item {
        Item::Event(Event {
            event_type: event_type.into(),
            data: data.into(),
            id: id.map(Into::into),
        })
    }

    #[test]
    fn fields_comments_and_line_endings_follow_the_whatwg_rules() {
        let text = b": hello\r\nretry: 10\r\n\r\nid: 1\r\nevent: data\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\nevent: ping\rdata: {}\r\rid: 2\ndata:no-space\n\ndata\n\n";
        assert_eq!(
            items(text),
            vec![
                Item::Retry(10),
                event("data", Some("1"), "{\"a\":\n1}"),
                event("ping", Some("1"), "{}"),
                event("message", Some("2"), "no-space"),
                event("message", Some("2"), ""),
            ]
        );
    }

    #[test]
    fn a_frame_without_data_is_not_dispatched_but_its_id_persists() {
        let got = items(b"id: 7\nevent: data\n\ndata: x\n\nid: a\0b\ndata: y\n\n");
        assert_eq!(
            got,
            vec![
                event("message", Some("7"), "x"),
                event("message", Some("7"), "y")
            ]
        );
    }

    #[test]
    fn a_retry_that_is_not_all_ascii_digits_is_ignored() {
        let got = items(b"retry: 1.5\nretry: -1\nretry:\nretry: 12a\nretry: 2500\ndata: x\n\n");
        assert_eq!(got, vec![Item::Retry(2500), event("message", None, "x")]);
    }

    #[test]
    fn one_leading_bom_is_skipped_even_when_split_and_only_one() {
        let text = b"\xEF\xBB\xBFdata: x\n\n";
        assert_eq!(chunked(text, &[1, 2]), vec![event("message", None, "x")]);
        // A second BOM is part of the first field's name, which is then unknown.
        assert_eq!(items(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\n"), vec![]);
        // Not a BOM after all: the held bytes are the stream's.
        let got = items(b"\xEF\xBBdata: x\n\n");
        assert_eq!(got.len(), 1);
        assert!(matches!(
            &got[0],
            Item::Rejected(Rejected {
                reason: QuarantineReason::InvalidUtf8 { valid_up_to: 0 },
                ..
            })
        ));
    }

    #[test]
    fn a_frame_with_invalid_utf8_is_rejected_with_its_raw_bytes_and_the_next_one_is_read() {
        let text = b"id: 1\ndata: ab\xFF\xFEcd\n\nid: 2\ndata: ok\n\n";
        let got = items(text);
        assert_eq!(
            got,
            vec![
                Item::Rejected(Rejected {
                    reason: QuarantineReason::InvalidUtf8 { valid_up_to: 14 },
                    raw: b"id: 1\ndata: ab\xFF\xFEcd\n".to_vec(),
                    raw_len: 19,
                    id: Some("1".into()),
                }),
                event("message", Some("2"), "ok"),
            ]
        );
    }

    #[test]
    fn an_oversized_frame_is_rejected_with_its_full_size_and_first_64_kib_and_parsing_resumes() {
        let mut framer = Framer::new();
        let mut out = Vec::new();
        framer.feed(b"id: big\ndata: ", &mut out);
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..3 {
            framer.feed(&chunk, &mut out);
            assert!(framer.line.capacity() <= MAX_FRAME_BYTES + (1 << 20));
        }
        framer.feed(b"\r", &mut out);
        framer.feed(b"\n\r\nid: next\ndata: ok\n\n", &mut out);
        assert!(framer.finish().is_none());
        assert_eq!(out.len(), 2, "{:?}", out.get(1));
        let Item::Rejected(rejected) = &out[0] else {
            panic!("{:?}", out[0])
        };
        let size = 14 + 3 * (1 << 20) + 2;
        assert_eq!(
            rejected.reason,
            QuarantineReason::TooLarge {
                bytes: size,
                limit: MAX_FRAME_BYTES
            }
        );
        assert_eq!(rejected.raw_len, size);
        assert_eq!(rejected.raw.len(), QUARANTINE_RAW_CAP);
        assert!(rejected.raw.starts_with(b"id: big\ndata: xxx"));
        assert_eq!(rejected.id.as_deref(), Some("big"));
        assert_eq!(out[1], event("message", Some("next"), "ok"));
    }

    #[test]
    fn comment_lines_of_any_length_are_never_buffered() {
        let mut framer = Framer::new();
        let mut out = Vec::new();
        framer.feed(b":", &mut out);
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..4 {
            framer.feed(&chunk, &mut out);
        }
        assert_eq!(framer.line.capacity(), 0);
        framer.feed(b"\ndata: ok\n\n", &mut out);
        assert_eq!(out, vec![event("message", None, "ok")]);
    }

    #[test]
    fn a_capture_ending_inside_a_frame_reports_the_incomplete_trailing_frame() {
        let got = items(b"data: one\n\nid: 2\ndata: two\n");
        assert_eq!(
            got,
            vec![
                event("message", None, "one"),
                Item::Rejected(Rejected {
                    reason: QuarantineReason::IncompleteTrailingFrame,
                    raw: b"id: 2\ndata: two\n".to_vec(),
                    raw_len: 16,
                    id: Some("2".into()),
                }),
            ]
        );
        // Trailing comments and blank lines are not a frame.
        assert_eq!(
            items(b"data: one\n\n: bye"),
            vec![event("message", None, "one")]
        );
        assert_eq!(items(b""), vec![]);
        assert_eq!(
            items(b"\xEF\xBB"),
            vec![Item::Rejected(Rejected {
                reason: QuarantineReason::IncompleteTrailingFrame,
                raw: b"\xEF\xBB".to_vec(),
                raw_len: 2,
                id: None,
            })]
        );
    }

    #[test]
    fn a_crlf_split_across_chunks_is_one_line_ending() {
        let text = b"data: a\r\n\r\ndata: b\r\n\r\n";
        for cut in 0..=text.len() {
            assert_eq!(
                chunked(text, &[cut]),
                vec![event("message", None, "a"), event("message", None, "b")],
                "cut at {cut}"
            );
        }
    }

    fn stream_bytes() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            Just(b"data: {\"id\":1}".to_vec()),
            Just(b"data".to_vec()),
            Just(b"event: data".to_vec()),
            Just(b"id: 42".to_vec()),
            Just(b"retry: 100".to_vec()),
            Just(b"retry: 1.5".to_vec()),
            Just(b": comment".to_vec()),
            Just(b"\xEF\xBB\xBF".to_vec()),
            Just(b"\xFF\xFE".to_vec()),
            Just(b"\r".to_vec()),
            Just(b"\n".to_vec()),
            Just(b"\r\n".to_vec()),
            proptest::collection::vec(any::<u8>(), 0..8),
        ];
        proptest::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #[test]
        fn the_same_frames_come_out_however_the_bytes_are_cut(
            bytes in stream_bytes(),
            cuts in proptest::collection::vec(any::<usize>(), 0..12),
        ) {
            let whole = items(&bytes);
            prop_assert_eq!(&chunked(&bytes, &cuts), &whole);
            let mut framer = Framer::new();
            let mut bytewise = Vec::new();
            for byte in &bytes {
                framer.feed(std::slice::from_ref(byte), &mut bytewise);
            }
            bytewise.extend(framer.finish().map(Item::Rejected));
            prop_assert_eq!(&bytewise, &whole);
        }

        #[test]
        fn arbitrary_bytes_never_panic_the_framer(
            bytes in proptest::collection::vec(any::<u8>(), 0..4096),
            cuts in proptest::collection::vec(any::<usize>(), 0..8),
        ) {
            let got = chunked(&bytes, &cuts);
            for item in got {
                if let Item::Rejected(rejected) = item {
                    prop_assert!(rejected.raw.len() <= QUARANTINE_RAW_CAP);
                    prop_assert!(rejected.raw.len() <= rejected.raw_len);
                }
            }
        }
    }
}
