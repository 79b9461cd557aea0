//! Server-sent events on the wire: a WHATWG-conformant parser for `.sse` captures and
//! the few lines that format the frames this server sends.

/// One dispatched SSE event from a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedEvent {
    /// The `id:` field set inside this frame, if any. (WHATWG keeps the last id across
    /// frames; a replay wants to know which frames carried their own.)
    pub id: Option<String>,
    /// The event type: the `event:` field, or `message` when absent.
    pub event: String,
    /// The data lines joined with `\n`.
    pub data: String,
}

/// Parses a whole SSE text per the WHATWG event-stream rules: `\r\n`, `\r` and `\n`
/// line endings, `:` comments, `data:` lines joined with `\n`, one optional space after
/// the colon, frames without data not dispatched, a trailing frame without its blank
/// line dropped. `retry:` is accepted and ignored.
pub(crate) fn parse(text: &str) -> Vec<ParsedEvent> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut events = Vec::new();
    let mut id: Option<String> = None;
    let mut event = String::new();
    let mut data = String::new();
    let mut has_data = false;
    for line in split_lines(text) {
        if line.is_empty() {
            if has_data {
                events.push(ParsedEvent {
                    id: id.take(),
                    event: if event.is_empty() {
                        "message".into()
                    } else {
                        std::mem::take(&mut event)
                    },
                    data: std::mem::take(&mut data),
                });
            }
            id = None;
            event.clear();
            data.clear();
            has_data = false;
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => event = value.to_owned(),
            "data" => {
                if has_data {
                    data.push('\n');
                }
                data.push_str(value);
                has_data = true;
            }
            "id" if !value.contains('\0') => id = Some(value.to_owned()),
            _ => {}
        }
    }
    events
}

/// Splits on `\r\n`, `\r` or `\n`, keeping a final line only if it was terminated.
fn split_lines(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                lines.push(&text[start..i]);
                start = i + 1;
            }
            b'\r' => {
                lines.push(&text[start..i]);
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    lines
}

/// Appends one frame: `id:`, `event:`, one `data:` line per line of `data`, blank line.
pub(crate) fn write_frame(out: &mut Vec<u8>, id: &str, event: &str, data: &str) {
    out.extend_from_slice(b"id: ");
    out.extend_from_slice(id.as_bytes());
    out.extend_from_slice(b"\nevent: ");
    out.extend_from_slice(event.as_bytes());
    out.push(b'\n');
    for line in data.split('\n') {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out.push(b'\n');
}

/// The opening of every response: a comment, then the reconnection delay.
pub(crate) fn write_preamble(out: &mut Vec<u8>, retry_ms: u64) {
    out.extend_from_slice(format!(": connected\n\nretry: {retry_ms}\n\n").as_bytes());
}

/// Keep-alives alternate between a `ping` event and a comment line.
pub(crate) fn write_keepalive(out: &mut Vec<u8>, nth: u64) {
    if nth.is_multiple_of(2) {
        out.extend_from_slice(b"event: ping\ndata: {}\n\n");
    } else {
        out.extend_from_slice(b": keep-alive\n\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mixed_line_endings_comments_and_multiline_data() {
        let text = ": hi\r\n\r\nretry: 10\nid: 1\r\nevent: data\rdata: {\ndata:  \"a\": 1\ndata: }\n\nevent: ping\ndata: {}\n\ndata:x\n\nid: 9\ndata: unterminated\n";
        let events = parse(text);
        assert_eq!(events.len(), 3);
        assert_eq!(events[0].id.as_deref(), Some("1"));
        assert_eq!(events[0].event, "data");
        assert_eq!(events[0].data, "{\n \"a\": 1\n}");
        assert_eq!(events[1].event, "ping");
        assert_eq!(events[1].id, None);
        assert_eq!(events[2].event, "message");
        assert_eq!(events[2].data, "x");
    }

    #[test]
    fn written_frame_parses_back_to_the_same_data() {
        let mut out = Vec::new();
        write_frame(&mut out, "a1", "data", "{\n  \"k\": 1\n}");
        let events = parse(std::str::from_utf8(&out).unwrap());
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].data, "{\n  \"k\": 1\n}");
        assert_eq!(events[0].id.as_deref(), Some("a1"));
    }
}
