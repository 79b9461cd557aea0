//! A tiny HTTP/1.1 + SSE client over a raw TCP stream: enough to see exactly what the
//! server puts on the wire (status, headers, chunked body, frames, comments, the end).

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// One thing read from an SSE body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Comment(String),
    Retry(u64),
    Frame(Frame),
    /// The response ended (the final chunk arrived).
    End,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub id: Option<String>,
    pub event: String,
    pub data: String,
}

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    reader: BufReader<TcpStream>,
    /// Received body bytes not yet de-chunked (reads are cancel-safe this way).
    raw: Vec<u8>,
    /// Bytes left in the current chunk, or `None` when a chunk-size line comes next.
    chunk_left: Option<usize>,
    ended: bool,
    pending: Vec<u8>,
    frame: (Option<String>, String, Vec<String>),
}

/// `GET path` on the server behind `url`, with the bearer `key` (if any) and extra headers.
pub async fn get(url: &str, path: &str, key: Option<&str>, extra: &[(&str, &str)]) -> Response {
    let host = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let stream = TcpStream::connect(&host).await.expect("connect");
    let mut request =
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n");
    if let Some(key) = key {
        request.push_str(&format!("Authorization: bearer {key}\r\n"));
    }
    for (name, value) in extra {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    let mut reader = BufReader::new(stream);
    reader
        .get_mut()
        .write_all(request.as_bytes())
        .await
        .expect("send request");
    let mut status_line = String::new();
    reader
        .read_line(&mut status_line)
        .await
        .expect("status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).await.expect("header line");
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').expect("header");
        headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
    }
    Response {
        status,
        headers,
        reader,
        raw: Vec::new(),
        chunk_left: None,
        ended: false,
        pending: Vec::new(),
        frame: (None, String::new(), Vec::new()),
    }
}

/// A stream request for `url` (which already holds the path).
pub async fn stream(url: &str, key: &str, last_event_id: Option<&str>) -> Response {
    let path = format!(
        "/{}",
        url.trim_start_matches("http://").split_once('/').unwrap().1
    );
    let extra: Vec<(&str, &str)> = last_event_id
        .map(|id| ("Last-Event-ID", id))
        .into_iter()
        .collect();
    get(url, &path, Some(key), &extra).await
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The whole body of a non-streaming response.
    pub async fn text(mut self) -> String {
        let length: usize = self
            .header("content-length")
            .and_then(|l| l.parse().ok())
            .expect("content-length");
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).await.expect("body");
        String::from_utf8(body).expect("UTF-8 body")
    }

    /// The next item, or `None` if nothing complete arrives within `idle`.
    pub async fn next(&mut self, idle: Duration) -> Option<Item> {
        timeout(idle, self.next_item()).await.ok()
    }

    /// Items until the response ends or `idle` passes without one.
    pub async fn collect(&mut self, idle: Duration) -> Vec<Item> {
        let mut items = Vec::new();
        while let Some(item) = self.next(idle).await {
            let end = item == Item::End;
            items.push(item);
            if end {
                break;
            }
        }
        items
    }

    async fn next_item(&mut self) -> Item {
        loop {
            if let Some(pos) = self.pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=pos).collect();
                let line = String::from_utf8(line[..line.len() - 1].to_vec()).expect("UTF-8 line");
                if let Some(item) = self.line(line) {
                    return item;
                }
                continue;
            }
            if self.ended {
                return Item::End;
            }
            self.read_chunk().await;
        }
    }

    fn line(&mut self, line: String) -> Option<Item> {
        if line.is_empty() {
            let (id, event, data) = std::mem::take(&mut self.frame);
            if data.is_empty() {
                return None;
            }
            let event = if event.is_empty() {
                "message".to_owned()
            } else {
                event
            };
            return Some(Item::Frame(Frame {
                id,
                event,
                data: data.join("\n"),
            }));
        }
        if let Some(comment) = line.strip_prefix(':') {
            return Some(Item::Comment(comment.trim_start().to_owned()));
        }
        let (field, value) = line.split_once(':').unwrap_or((&line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value).to_owned();
        match field {
            "id" => self.frame.0 = Some(value),
            "event" => self.frame.1 = value,
            "data" => self.frame.2.push(value),
            "retry" => return Some(Item::Retry(value.parse().expect("retry number"))),
            _ => {}
        }
        None
    }

    /// Reads more bytes (cancel-safe) and de-chunks what is complete.
    async fn read_chunk(&mut self) {
        let mut buf = vec![0; 64 * 1024];
        let n = self.reader.read(&mut buf).await.expect("read body");
        if n == 0 {
            self.ended = true;
            return;
        }
        self.raw.extend_from_slice(&buf[..n]);
        self.dechunk();
    }

    fn dechunk(&mut self) {
        loop {
            match self.chunk_left {
                None => {
                    let Some(pos) = self.raw.windows(2).position(|w| w == b"\r\n") else {
                        return;
                    };
                    let size: Vec<u8> = self.raw.drain(..pos + 2).collect();
                    let size = std::str::from_utf8(&size[..pos]).expect("chunk size");
                    let size = usize::from_str_radix(size.trim(), 16).expect("hex chunk size");
                    if size == 0 {
                        self.ended = true;
                        return;
                    }
                    self.chunk_left = Some(size);
                }
                Some(0) => {
                    if self.raw.len() < 2 {
                        return;
                    }
                    self.raw.drain(..2);
                    self.chunk_left = None;
                }
                Some(left) => {
                    if self.raw.is_empty() {
                        return;
                    }
                    let n = left.min(self.raw.len());
                    self.pending.extend(self.raw.drain(..n));
                    self.chunk_left = Some(left - n);
                }
            }
        }
    }
}

/// The change frames among `items`.
pub fn frames(items: &[Item]) -> Vec<Frame> {
    items
        .iter()
        .filter_map(|i| match i {
            Item::Frame(f) if f.event == "data" => Some(f.clone()),
            _ => None,
        })
        .collect()
}
