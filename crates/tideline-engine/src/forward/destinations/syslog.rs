//! syslog: writes each item as one RFC 5424 message to a syslog server, over TCP with octet
//! counting (RFC 6587 §3.4.1) or UDP (RFC 5426: one message per datagram). Follows RFC 5424
//! §6 (the message format), §6.3 (structured data, PARAM-VALUE escaping in §6.3.3) and §6.4
//! (MSG as UTF-8 with a BOM), and §7.2.2 for the SD-ID form `name@<private enterprise number>`.
//!
//! `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [tideline@32473 …] BOM MSG`
//! - PRI: facility local0 (16) × 8 + severity: an event deleting something is warning (4),
//!   every other event notice (5); a finding by its severity — critical crit (2), high err
//!   (3), medium warning (4), low notice (5).
//! - TIMESTAMP: the item's time, UTC, microseconds. HOSTNAME: this machine's name. APP-NAME:
//!   configured, else `tideline`. PROCID: this process. MSGID: `change` (an event with a
//!   create/update/delete), `finding`, or `activity` (any other event).
//! - Structured data: one element, `tideline@32473`, with the facts that are present:
//!   `change asset asset_type principal method source_ip event_id provider account region`
//!   (a finding: `rule severity finding_key` in place of `change event_id`). 32473 is the
//!   example enterprise number RFC 5612 reserves for documentation: a deployment that wants
//!   its own should register a Private Enterprise Number with IANA and change [`SD_ID`].
//!   Values escape `"`, `\` and `]` with a backslash (§6.3.3) and have every control character
//!   (CR, LF, …) turned into a space, so a value can neither close the element nor break the
//!   line a receiver writes; each is cut at [`MAX_VALUE_BYTES`].
//! - MSG: a UTF-8 BOM, then the summary (the changed fields on one line), on one line.
//! - A whole message is at most [`MAX_MESSAGE_BYTES`] (8 KiB, rsyslog's default maximum): the
//!   MSG is cut at a character boundary to fit, never the header or structured data.
//!
//! TCP keeps one connection, opened on first use and again after any error (or after the
//! server closed it); UDP sends one datagram per message. Syslog has no acknowledgement: a
//! message is delivered once the kernel took it. A failed write or connect is retried (the
//! whole batch, so a receiver may see a message twice). Plain syslog is unencrypted; send it
//! to a collector on the same host or network.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UdpSocket};

use super::{Delivery, DestinationError, Item, SyslogTransport, one_line, truncate_at_char};

pub(super) const MAX_BATCH: usize = 100;
/// The structured data element's id: Tideline's name at the RFC's example enterprise number.
pub const SD_ID: &str = "tideline@32473";
pub(super) const MAX_MESSAGE_BYTES: usize = 8192;
const MAX_VALUE_BYTES: usize = 256;
const NETWORK_WAIT: Duration = Duration::from_secs(10);
/// local0.
const FACILITY: u8 = 16;
const BOM: &str = "\u{feff}";

/// The header fields that are the same for every message of a sender.
#[derive(Debug, Clone)]
pub(super) struct Origin {
    pub hostname: String,
    pub app_name: String,
    pub procid: String,
}

pub struct SyslogSender {
    transport: SyslogTransport,
    address: String,
    origin: Origin,
    tcp: Option<TcpStream>,
    udp: Option<UdpSocket>,
}

impl SyslogSender {
    pub(super) async fn open(
        transport: SyslogTransport,
        address: &str,
        app_name: Option<&str>,
    ) -> Result<SyslogSender, DestinationError> {
        resolve(address).await?;
        let app_name = match app_name {
            None => "tideline".to_owned(),
            Some(name) if valid_header_field(name, 48) => name.to_owned(),
            Some(_) => {
                return Err(DestinationError::InvalidConfig {
                    destination: "syslog",
                    field: "app_name",
                    detail: "must be 1 to 48 printable ASCII characters without spaces".into(),
                });
            }
        };
        Ok(SyslogSender {
            transport,
            address: address.to_owned(),
            origin: Origin {
                hostname: header_field(&local_hostname(), 255),
                app_name,
                procid: std::process::id().to_string(),
            },
            tcp: None,
            udp: None,
        })
    }

    pub(super) fn name(&self) -> String {
        let transport = match self.transport {
            SyslogTransport::Tcp => "tcp",
            SyslogTransport::Udp => "udp",
        };
        format!("syslog {transport}://{}", self.address)
    }

    pub(super) async fn deliver(&mut self, batch: &[Item<'_>]) -> Delivery {
        let messages: Vec<Vec<u8>> = batch
            .iter()
            .map(|item| message(item, &self.origin))
            .collect();
        let sent = match self.transport {
            SyslogTransport::Tcp => self.send_tcp(&messages).await,
            SyslogTransport::Udp => self.send_udp(&messages).await,
        };
        match sent {
            Ok(()) => Delivery::Delivered,
            Err(error) => {
                self.tcp = None;
                self.udp = None;
                Delivery::Retry {
                    after: None,
                    cause: format!("syslog to {}: {error}", self.address),
                }
            }
        }
    }

    async fn send_tcp(&mut self, messages: &[Vec<u8>]) -> std::io::Result<()> {
        if let Some(stream) = &self.tcp
            && peer_closed(stream)
        {
            self.tcp = None;
        }
        if self.tcp.is_none() {
            let stream = bounded(TcpStream::connect(self.address.as_str())).await?;
            stream.set_nodelay(true)?;
            self.tcp = Some(stream);
        }
        let frames: Vec<u8> = messages
            .iter()
            .flat_map(|message| octet_counted(message))
            .collect();
        let stream = self.tcp.as_mut().expect("connected above");
        bounded(stream.write_all(&frames)).await?;
        bounded(stream.flush()).await
    }

    async fn send_udp(&mut self, messages: &[Vec<u8>]) -> std::io::Result<()> {
        if self.udp.is_none() {
            let target = resolve_io(&self.address).await?;
            let local = if target.is_ipv4() {
                "0.0.0.0:0"
            } else {
                "[::]:0"
            };
            let socket = UdpSocket::bind(local).await?;
            socket.connect(target).await?;
            self.udp = Some(socket);
        }
        let socket = self.udp.as_ref().expect("bound above");
        for message in messages {
            bounded(socket.send(message)).await?;
        }
        Ok(())
    }
}

/// One RFC 5424 message, at most [`MAX_MESSAGE_BYTES`].
pub(super) fn message(item: &Item<'_>, origin: &Origin) -> Vec<u8> {
    let facts = item.facts();
    let (severity, msgid) = match item {
        Item::Finding { .. } => {
            let severity = match facts.severity.as_deref() {
                Some("critical") => 2,
                Some("high") => 3,
                Some("medium") => 4,
                _ => 5,
            };
            (severity, "finding")
        }
        Item::Event { .. } => match facts.change.as_deref() {
            Some("delete") => (4, "change"),
            Some(_) => (5, "change"),
            None => (5, "activity"),
        },
    };
    let timestamp = DateTime::from_timestamp_micros(item.time_us())
        .map(|time| time.to_rfc3339_opts(SecondsFormat::Micros, true))
        .unwrap_or_else(|| "-".to_owned());
    let head = format!(
        "<{}>1 {timestamp} {} {} {} {msgid} {} {BOM}",
        FACILITY * 8 + severity,
        origin.hostname,
        origin.app_name,
        origin.procid,
        structured_data(item),
    );
    let text = if facts.summary.trim().is_empty() {
        one_line(&facts.event_type)
    } else {
        one_line(&facts.summary)
    };
    let room = MAX_MESSAGE_BYTES.saturating_sub(head.len());
    let mut message = head.into_bytes();
    message.extend_from_slice(truncate_at_char(&text, room).as_bytes());
    message
}

/// `[tideline@32473 name="value" …]` with the facts that are present.
pub(super) fn structured_data<'a>(item: &Item<'a>) -> String {
    let facts = item.facts();
    let mut params: Vec<(&str, &str)> = Vec::new();
    let mut add = |name: &'static str, value: Option<&'a str>| {
        if let Some(value) = value {
            params.push((name, value));
        }
    };
    match item {
        Item::Event { id, .. } => {
            add("change", facts.change.as_deref());
            add("asset", facts.asset_name.as_deref());
            add("asset_type", facts.asset_type.as_deref());
            add("principal", facts.principal.as_deref());
            add("method", facts.method.as_deref());
            add("source_ip", facts.source_ip.as_deref());
            add("event_id", Some(id));
        }
        Item::Finding { key, .. } => {
            add("rule", facts.rule.as_deref());
            add("severity", facts.severity.as_deref());
            add("asset", facts.asset_name.as_deref());
            add("asset_type", facts.asset_type.as_deref());
            add("principal", facts.principal.as_deref());
            add("method", facts.method.as_deref());
            add("source_ip", facts.source_ip.as_deref());
            add("finding_key", Some(key));
        }
    }
    add("provider", facts.provider.as_deref());
    add("account", facts.account.as_deref());
    add("region", facts.region.as_deref());
    let mut sd = format!("[{SD_ID}");
    for (name, value) in params {
        sd.push(' ');
        sd.push_str(name);
        sd.push_str("=\"");
        sd.push_str(&param_value(value));
        sd.push('"');
    }
    sd.push(']');
    sd
}

/// A PARAM-VALUE: one line, cut, with `"`, `\` and `]` escaped (RFC 5424 §6.3.3).
pub(super) fn param_value(value: &str) -> String {
    let line = one_line(truncate_at_char(value, MAX_VALUE_BYTES));
    let mut escaped = String::with_capacity(line.len());
    for c in line.chars() {
        if matches!(c, '"' | '\\' | ']') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// `MSG-LEN SP SYSLOG-MSG` (RFC 6587 §3.4.1).
pub(super) fn octet_counted(message: &[u8]) -> Vec<u8> {
    let mut frame = format!("{} ", message.len()).into_bytes();
    frame.extend_from_slice(message);
    frame
}

/// A header field: PRINTUSASCII only (RFC 5424 §6), at most `max`, `-` (NILVALUE) if empty.
fn header_field(text: &str, max: usize) -> String {
    let field: String = text
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if field.is_empty() { "-".into() } else { field }
}

fn valid_header_field(text: &str, max: usize) -> bool {
    !text.is_empty() && text.len() <= max && text.chars().all(|c| c.is_ascii_graphic())
}

fn local_hostname() -> String {
    let mut buffer = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes.
    let status = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
    if status != 0 {
        return String::new();
    }
    let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
    String::from_utf8_lossy(&buffer[..end]).into_owned()
}

/// A TCP connection the server has closed reads as end-of-stream (or reset) without
/// blocking; an open one has nothing to read (a collector sends nothing back).
fn peer_closed(stream: &TcpStream) -> bool {
    let mut probe = [0u8; 1];
    match stream.try_read(&mut probe) {
        Ok(0) => true,
        Ok(_) => false,
        Err(error) => error.kind() != std::io::ErrorKind::WouldBlock,
    }
}

async fn bounded<T>(
    future: impl std::future::Future<Output = std::io::Result<T>>,
) -> std::io::Result<T> {
    tokio::time::timeout(NETWORK_WAIT, future)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "timed out"))?
}

async fn resolve_io(address: &str) -> std::io::Result<std::net::SocketAddr> {
    bounded(tokio::net::lookup_host(address))
        .await?
        .next()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no address"))
}

async fn resolve(address: &str) -> Result<(), DestinationError> {
    resolve_io(address)
        .await
        .map(|_| ())
        .map_err(|error| DestinationError::Unresolvable {
            address: address.to_owned(),
            detail: error.to_string(),
        })
}

#[cfg(test)]
mod tests;
