//! capture: reading saved streams — an `.sse` capture (WHATWG server-sent events, as recorded
//! off the wire) or NDJSON (one event JSON per line) — as a sequence of frames, streamed.

use std::io::{BufRead, ErrorKind};

/// One frame of a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedFrame {
    /// The SSE `event:` name; NDJSON lines are `message`.
    pub event_type: String,
    pub id: Option<String>,
    pub data: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureFormat {
    Sse,
    Ndjson,
}

/// Guesses the format from the first non-blank line: SSE fields and comments start with a
/// field name or `:`, NDJSON with `{`.
pub fn sniff(first_bytes: &[u8]) -> CaptureFormat {
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

/// Reads lines ending in `\r\n`, `\n` or a lone `\r`, as SSE allows, without the ending.
struct Lines<R> {
    reader: R,
    /// The last line ended in `\r`: a `\n` right after it belongs to that ending.
    after_cr: bool,
}

impl<R: BufRead> Lines<R> {
    fn next_line(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        let mut line = Vec::new();
        loop {
            let available = match self.reader.fill_buf() {
                Ok(bytes) => bytes,
                Err(error) if error.kind() == ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            if available.is_empty() {
                return Ok(if line.is_empty() { None } else { Some(line) });
            }
            if self.after_cr && available[0] == b'\n' {
                self.reader.consume(1);
                self.after_cr = false;
                continue;
            }
            self.after_cr = false;
            match available
                .iter()
                .position(|&byte| byte == b'\n' || byte == b'\r')
            {
                Some(end) => {
                    line.extend_from_slice(&available[..end]);
                    self.after_cr = available[end] == b'\r';
                    self.reader.consume(end + 1);
                    return Ok(Some(line));
                }
                None => {
                    let taken = available.len();
                    line.extend_from_slice(available);
                    self.reader.consume(taken);
                }
            }
        }
    }
}

/// Frames of a capture, one at a time. Invalid UTF-8 is replaced (and then fails validation).
pub struct Frames<R> {
    lines: Lines<R>,
    format: CaptureFormat,
    last_id: Option<String>,
}

impl<R: BufRead> Frames<R> {
    pub fn new(reader: R, format: CaptureFormat) -> Frames<R> {
        Frames {
            lines: Lines {
                reader,
                after_cr: false,
            },
            format,
            last_id: None,
        }
    }

    pub(crate) fn reader(&self) -> &R {
        &self.lines.reader
    }

    fn next_ndjson(&mut self) -> std::io::Result<Option<CapturedFrame>> {
        while let Some(line) = self.lines.next_line()? {
            let text = String::from_utf8_lossy(&line).into_owned();
            if !text.trim().is_empty() {
                return Ok(Some(CapturedFrame {
                    event_type: "message".into(),
                    id: None,
                    data: text,
                }));
            }
        }
        Ok(None)
    }

    /// WHATWG's event-stream interpretation: fields until a blank line dispatches the event.
    fn next_sse(&mut self) -> std::io::Result<Option<CapturedFrame>> {
        let mut event_type = String::new();
        let mut data: Option<String> = None;
        loop {
            let Some(line) = self.lines.next_line()? else {
                // End of file: an event without its blank line is not dispatched (as in SSE).
                return Ok(None);
            };
            if line.is_empty() {
                match data.take() {
                    Some(data) => {
                        let event_type = if event_type.is_empty() {
                            "message".to_owned()
                        } else {
                            event_type
                        };
                        return Ok(Some(CapturedFrame {
                            event_type,
                            id: self.last_id.clone(),
                            data,
                        }));
                    }
                    None => {
                        event_type.clear();
                        continue;
                    }
                }
            }
            let line = String::from_utf8_lossy(&line).into_owned();
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = match line.split_once(':') {
                Some((field, value)) => (
                    field.to_owned(),
                    value.strip_prefix(' ').unwrap_or(value).to_owned(),
                ),
                None => (line, String::new()),
            };
            match field.as_str() {
                "event" => event_type = value,
                "data" => match &mut data {
                    Some(text) => {
                        text.push('\n');
                        text.push_str(&value);
                    }
                    None => data = Some(value),
                },
                "id" if !value.contains('\0') => self.last_id = Some(value),
                _ => {}
            }
        }
    }
}

impl<R: BufRead> Iterator for Frames<R> {
    type Item = std::io::Result<CapturedFrame>;

    fn next(&mut self) -> Option<Self::Item> {
        let next = match self.format {
            CaptureFormat::Sse => self.next_sse(),
            CaptureFormat::Ndjson => self.next_ndjson(),
        };
        next.transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(text: &str) -> Vec<CapturedFrame> {
        let format = sniff(text.as_bytes());
        Frames::new(text.as_bytes(), format)
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn sse_fields_line_endings_and_multi_line_data_follow_the_whatwg_rules() {
        let text = ": hello\r\nretry: 10\r\n\r\nid: 1\r\nevent: data\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\nevent: ping\rdata: {}\r\rid: 2\ndata:no-space\n\n";
        let got = frames(text);
        assert_eq!(
            got,
            vec![
                CapturedFrame {
                    event_type: "data".into(),
                    id: Some("1".into()),
                    data: "{\"a\":\n1}".into()
                },
                CapturedFrame {
                    event_type: "ping".into(),
                    id: Some("1".into()),
                    data: "{}".into()
                },
                CapturedFrame {
                    event_type: "message".into(),
                    id: Some("2".into()),
                    data: "no-space".into()
                },
            ]
        );
    }

    #[test]
    fn the_seed_capture_yields_its_eleven_change_frames_and_two_pings() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/seed-incident.sse"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let got = frames(&text);
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
    fn ndjson_is_one_event_per_non_blank_line() {
        let got = frames("{\"id\":\"1\"}\n\n{\"id\":\"2\"}\r\n");
        assert_eq!(
            got.iter().map(|f| f.data.as_str()).collect::<Vec<_>>(),
            ["{\"id\":\"1\"}", "{\"id\":\"2\"}"]
        );
        assert_eq!(sniff(b"\n  {\"id\":1}"), CaptureFormat::Ndjson);
        assert_eq!(sniff(b": comment\n"), CaptureFormat::Sse);
    }
}
