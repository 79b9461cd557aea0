//! search_syntax: the search box's query language, parsed and turned into a condition on
//! `event_facets` (`f`) for filter.rs.
//!
//! ```text
//! 203.0.113.66 role/terraform          every term must match (words and word prefixes, in order)
//! "payments db"                        a quoted phrase: these words, adjacent, in order
//! principal:mallory  type:firewall     a facet whose value contains the text (any case):
//!                                      principal, type, method, region, account, asset, change
//! NOT method:terraform   -change:delete  leave out what matches
//! region:us-east-1 OR region:eu-west-1   either; binds tighter than the implicit AND
//! (a OR b) c                           grouping
//! time>=2024-05-05T13:00  time<2024-05-06  time:2024-05-05   compare the event time (UTC; a
//!                                      date alone is that whole day)
//! ```
//!
//! A word with a colon that does not start with a known field (an ARN, an IPv6 address) is text.
//! A word shaped like an indicator (an address, a CIDR, an ARN or a part of one: it holds `/`,
//! `@`, `::`, `arn:` or a dotted number) is looked up whole in the compound index, as written,
//! from the start of a value or after one of `.:/-_@` (search_terms.rs); other words are
//! phrases of the word index.
//! A malformed query is [`StoreError::BadQuery`] naming the column where it goes wrong. Values
//! only ever become SQL parameters.

use chrono::{DateTime, Days, NaiveDate, NaiveDateTime, Utc};
use rusqlite::types::Value as SqlValue;

use super::StoreError;
use super::query::Facet;
use super::search::{SearchIndexes, WORD_MATCHES, compound_matches};
use super::search_terms::compound_query;

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    /// Words to find in any field, as an FTS5 query of the word index.
    Text(String),
    /// A word kept whole by the compound index (an address, a CIDR, an ARN…): the compound
    /// index's FTS5 query, and the same word as a word-index query (for a file without a
    /// compound index, and the events too large for it; search_terms.rs).
    Compound {
        compound: String,
        words: String,
    },
    /// A facet whose value contains this text (lower-cased).
    Facet(Facet, String),
    /// The event time compared with an instant, microseconds since the epoch.
    Time(&'static str, i64),
}

impl Node {
    /// Whether the query searches text (the caller then prepares the index's tail).
    pub(super) fn has_text(&self) -> bool {
        match self {
            Node::And(nodes) | Node::Or(nodes) => nodes.iter().any(Node::has_text),
            Node::Not(node) => node.has_text(),
            Node::Text(_) | Node::Compound { .. } => true,
            Node::Facet(..) | Node::Time(..) => false,
        }
    }

    /// For a text node, the subquery of the seqs it matches (pushing its parameters), on a
    /// connection whose search reads `indexes`; `None` for any other node.
    pub(super) fn matches(
        &self,
        params: &mut Vec<SqlValue>,
        indexes: SearchIndexes,
    ) -> Option<String> {
        match self {
            Node::Compound { compound, words } if indexes.compounds => {
                for text in [compound, compound, words, words] {
                    params.push(SqlValue::Text(text.clone()));
                }
                Some(compound_matches())
            }
            Node::Text(words) | Node::Compound { words, .. } => {
                params.push(SqlValue::Text(words.clone()));
                params.push(SqlValue::Text(words.clone()));
                Some(WORD_MATCHES.to_owned())
            }
            _ => None,
        }
    }

    /// The text nodes every match must satisfy (the query itself, or the text terms of a
    /// top-level AND): the ones whose match set can drive a read.
    pub(super) fn required_text(&self) -> Vec<&Node> {
        match self {
            Node::Text(_) | Node::Compound { .. } => vec![self],
            Node::And(nodes) => nodes
                .iter()
                .filter(|node| matches!(node, Node::Text(_) | Node::Compound { .. }))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The condition on `f` this query is, with its parameters, for a connection whose search
    /// reads `indexes`. A text term's condition is `text`'s: given the term's subquery of
    /// matching seqs ([`Node::matches`]) and that subquery's own parameters, it pushes what its
    /// condition needs onto the parameters and returns the condition.
    pub(super) fn condition(
        &self,
        params: &mut Vec<SqlValue>,
        indexes: SearchIndexes,
        text: &mut TextCondition<'_>,
    ) -> Result<String, StoreError> {
        let mut join = |nodes: &[Node], params: &mut Vec<SqlValue>, op: &str| {
            let parts = nodes
                .iter()
                .map(|node| node.condition(params, indexes, text))
                .collect::<Result<Vec<String>, StoreError>>()?;
            Ok::<String, StoreError>(format!("({})", parts.join(op)))
        };
        Ok(match self {
            Node::And(nodes) => join(nodes, params, " AND ")?,
            Node::Or(nodes) => join(nodes, params, " OR ")?,
            Node::Not(node) => format!("NOT {}", node.condition(params, indexes, text)?),
            Node::Text(_) | Node::Compound { .. } => {
                let mut own = Vec::new();
                let matches = self.matches(&mut own, indexes).unwrap_or_default();
                text(matches, own, params)?
            }
            Node::Facet(facet, text) => {
                params.push(SqlValue::Text(facet.name().to_owned()));
                params.push(SqlValue::Text(text.clone()));
                // `+`: never walk the facet's own index for a search term (it would then sort
                // every match by time).
                format!(
                    "(+f.{} IN (SELECT id FROM facet_values WHERE facet = ? \
                     AND instr(lower(value), ?) > 0))",
                    facet.name()
                )
            }
            Node::Time(op, micros) => {
                params.push(SqlValue::Integer(*micros));
                format!("(f.time_us {op} ?)")
            }
        })
    }
}

/// How [`Node::condition`] writes a text term: `(matches, its parameters, the condition's
/// parameters) → the condition`.
pub(super) type TextCondition<'a> =
    dyn FnMut(String, Vec<SqlValue>, &mut Vec<SqlValue>) -> Result<String, StoreError> + 'a;

/// A text term as `f.seq IN (matches)`: SQLite may look the matches up by seq.
pub(super) fn seq_in_matches(
    matches: String,
    own: Vec<SqlValue>,
    params: &mut Vec<SqlValue>,
) -> Result<String, StoreError> {
    params.extend(own);
    Ok(format!("(f.seq IN ({matches}))"))
}

/// Parses `text`; `None` when it holds nothing to search for.
pub(super) fn parse(text: &str) -> Result<Option<Node>, StoreError> {
    let tokens = tokenize(text)?;
    let mut parser = Parser { tokens, at: 0 };
    let node = parser.query(false)?;
    if let Some(token) = parser.tokens.get(parser.at) {
        return Err(error(token.column, "unmatched ')'"));
    }
    Ok(node)
}

fn error(column: usize, message: &str) -> StoreError {
    StoreError::BadQuery(format!("search, at column {column}: {message}"))
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Open,
    Close,
    Or,
    Not,
    /// A word or field expression as typed.
    Word(String),
    /// A quoted phrase, without its quotes.
    Phrase(String),
    /// `field` `op` value.
    Field(String, &'static str, String),
}

#[derive(Debug, Clone)]
struct Token {
    kind: Kind,
    /// 1-based, in characters.
    column: usize,
}

const FIELDS: [(&str, Option<Facet>); 8] = [
    ("principal", Some(Facet::Principal)),
    ("type", Some(Facet::AssetType)),
    ("method", Some(Facet::Method)),
    ("region", Some(Facet::Region)),
    ("account", Some(Facet::Account)),
    ("asset", Some(Facet::Asset)),
    ("change", Some(Facet::Change)),
    ("time", None),
];

fn tokenize(text: &str) -> Result<Vec<Token>, StoreError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' || c == ')' {
            tokens.push(Token {
                kind: if c == '(' { Kind::Open } else { Kind::Close },
                column,
            });
            i += 1;
        } else if c == '"' {
            let (phrase, next) = quoted(&chars, i)?;
            tokens.push(Token {
                kind: Kind::Phrase(phrase),
                column,
            });
            i = next;
        } else if c == '-' && chars.get(i + 1).is_some_and(|n| !n.is_whitespace()) {
            tokens.push(Token {
                kind: Kind::Not,
                column,
            });
            i += 1;
        } else {
            let start = i;
            while i < chars.len() && !chars[i].is_whitespace() && chars[i] != ')' && chars[i] != '('
            {
                if chars[i] == '"' {
                    break;
                }
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let kind = match word.as_str() {
                "OR" => Kind::Or,
                "NOT" => Kind::Not,
                _ => match field_of(&word) {
                    Some((field, op, rest)) => {
                        let value = if rest.is_empty() && chars.get(i) == Some(&'"') {
                            let (phrase, next) = quoted(&chars, i)?;
                            i = next;
                            phrase
                        } else {
                            rest.to_owned()
                        };
                        if value.trim().is_empty() {
                            return Err(error(column, &format!("{field}{op} needs a value")));
                        }
                        Kind::Field(field.to_owned(), op, value)
                    }
                    None => Kind::Word(word),
                },
            };
            tokens.push(Token { kind, column });
        }
    }
    Ok(tokens)
}

/// The phrase in quotes starting at `chars[start]`, and the index after its closing quote.
fn quoted(chars: &[char], start: usize) -> Result<(String, usize), StoreError> {
    let mut end = start + 1;
    while end < chars.len() && chars[end] != '"' {
        end += 1;
    }
    if end == chars.len() {
        return Err(error(start + 1, "this quote is never closed"));
    }
    Ok((chars[start + 1..end].iter().collect(), end + 1))
}

/// `field:value`, `field>=value`…: the known field, its operator and the value's text.
fn field_of(word: &str) -> Option<(&'static str, &'static str, &str)> {
    FIELDS.iter().find_map(|(name, _)| {
        let rest = word.strip_prefix(name)?;
        [">=", "<=", ":", ">", "<", "="]
            .iter()
            .find_map(|op| rest.strip_prefix(op).map(|value| (*name, *op, value)))
    })
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    /// Terms until the end (or a `)` when `nested`), all required.
    fn query(&mut self, nested: bool) -> Result<Option<Node>, StoreError> {
        let mut terms = Vec::new();
        while let Some(token) = self.peek() {
            if token.kind == Kind::Close {
                if nested {
                    break;
                }
                return Err(error(token.column, "unmatched ')'"));
            }
            if let Some(node) = self.either()? {
                terms.push(node);
            }
        }
        Ok(match terms.len() {
            0 => None,
            1 => terms.pop(),
            _ => Some(Node::And(terms)),
        })
    }

    /// `a OR b OR …`.
    fn either(&mut self) -> Result<Option<Node>, StoreError> {
        let mut options = Vec::new();
        if let Some(node) = self.unary()? {
            options.push(node);
        }
        while let Some(token) = self.peek() {
            if token.kind != Kind::Or {
                break;
            }
            let column = token.column;
            self.at += 1;
            match self.unary()? {
                Some(node) => options.push(node),
                None => return Err(error(column, "OR needs a term on each side")),
            }
        }
        if options.is_empty() {
            return Ok(None);
        }
        Ok(Some(if options.len() == 1 {
            options.remove(0)
        } else {
            Node::Or(options)
        }))
    }

    fn unary(&mut self) -> Result<Option<Node>, StoreError> {
        let Some(token) = self.peek().cloned() else {
            return Ok(None);
        };
        self.at += 1;
        match token.kind {
            Kind::Not => match self.unary()? {
                Some(node) => Ok(Some(Node::Not(Box::new(node)))),
                None => Err(error(token.column, "NOT needs a term after it")),
            },
            Kind::Open => {
                let inner = self.query(true)?;
                match self.peek() {
                    Some(Token {
                        kind: Kind::Close, ..
                    }) => self.at += 1,
                    _ => return Err(error(token.column, "this '(' is never closed")),
                }
                inner
                    .map(Some)
                    .ok_or_else(|| error(token.column, "empty parentheses"))
            }
            Kind::Close => Err(error(token.column, "unmatched ')'")),
            Kind::Or => Err(error(token.column, "OR needs a term on each side")),
            Kind::Word(word) => Ok(words(&word, true).map(|text| match compound_query(&word) {
                Some(compound) => Node::Compound {
                    compound,
                    words: text,
                },
                None => Node::Text(text),
            })),
            Kind::Phrase(phrase) => Ok(words(&phrase, false).map(Node::Text)),
            Kind::Field(field, op, value) => field_node(&field, op, &value, token.column).map(Some),
        }
    }
}

/// `text` as an FTS5 phrase (its words, in order; the last may be a prefix), or `None` when it
/// has no word characters. Quoting makes FTS5 syntax in it plain text.
fn words(text: &str, prefix: bool) -> Option<String> {
    text.chars().any(char::is_alphanumeric).then(|| {
        let phrase = format!("\"{}\"", text.replace('"', "\"\""));
        if prefix {
            format!("{phrase} *")
        } else {
            phrase
        }
    })
}

fn field_node(
    field: &str,
    op: &'static str,
    value: &str,
    column: usize,
) -> Result<Node, StoreError> {
    let facet = FIELDS
        .iter()
        .find(|(name, _)| *name == field)
        .and_then(|(_, facet)| *facet);
    match facet {
        Some(facet) => {
            if op != ":" && op != "=" {
                return Err(error(
                    column,
                    &format!("{field} takes ':' (contains), not '{op}'"),
                ));
            }
            let value = value.to_lowercase();
            if facet == Facet::Change && !["create", "update", "delete"].contains(&value.as_str()) {
                return Err(error(column, "change is create, update or delete"));
            }
            Ok(Node::Facet(facet, value))
        }
        None => time_node(op, value, column),
    }
}

/// `time OP value`: RFC 3339, or a UTC date and time (`2024-05-05T13:00`, seconds optional, a
/// space for the T), or a date alone (that whole day).
fn time_node(op: &'static str, value: &str, column: usize) -> Result<Node, StoreError> {
    let (start, end) = instant(value).ok_or_else(|| {
        error(
            column,
            &format!("not a time: {value:?} (try 2024-05-05, 2024-05-05T13:00 or RFC 3339)"),
        )
    })?;
    Ok(match op {
        ">=" => Node::Time(">=", start),
        ">" => Node::Time(">=", end),
        "<" => Node::Time("<", start),
        "<=" => Node::Time("<", end),
        _ => Node::And(vec![Node::Time(">=", start), Node::Time("<", end)]),
    })
}

/// The instant `value` names, as [start, end): a date is a day, a minute a minute, etc.
fn instant(value: &str) -> Option<(i64, i64)> {
    if let Ok(time) = DateTime::parse_from_rfc3339(value) {
        let micros = time.timestamp_micros();
        return Some((micros, micros + 1));
    }
    let value = value.replace(' ', "T");
    for (format, length_us) in [
        ("%Y-%m-%dT%H:%M:%S", 1_000_000),
        ("%Y-%m-%dT%H:%M", 60_000_000),
    ] {
        if let Ok(time) = NaiveDateTime::parse_from_str(&value, format) {
            let micros = time.and_utc().timestamp_micros();
            return Some((micros, micros + length_us));
        }
    }
    let day = NaiveDate::parse_from_str(&value, "%Y-%m-%d").ok()?;
    let start = day.and_hms_opt(0, 0, 0)?.and_utc();
    let end: DateTime<Utc> = start.checked_add_days(Days::new(1))?;
    Some((start.timestamp_micros(), end.timestamp_micros()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Node {
        parse(text).unwrap().unwrap()
    }

    /// A word kept whole: the compound index's query and the word index's.
    fn compound(word: &str) -> Node {
        Node::Compound {
            compound: format!("\"{word}\" *"),
            words: format!("\"{word}\" *"),
        }
    }

    fn complaint(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn terms_are_all_required_or_binds_tighter_and_not_negates() {
        assert_eq!(
            parsed("203.0.113.66 region:us OR region:eu -method:terraform"),
            Node::And(vec![
                compound("203.0.113.66"),
                Node::Or(vec![
                    Node::Facet(Facet::Region, "us".into()),
                    Node::Facet(Facet::Region, "eu".into()),
                ]),
                Node::Not(Box::new(Node::Facet(Facet::Method, "terraform".into()))),
            ])
        );
        assert_eq!(
            parsed("NOT (\"payments db\" OR principal:\"Mallory X\")"),
            Node::Not(Box::new(Node::Or(vec![
                Node::Text("\"payments db\"".into()),
                Node::Facet(Facet::Principal, "mallory x".into()),
            ])))
        );
    }

    #[test]
    fn a_colon_is_a_field_only_after_a_known_field_name() {
        assert_eq!(
            parsed("arn:aws:iam::111:user/mallory"),
            compound("arn:aws:iam::111:user/mallory")
        );
        assert_eq!(parsed("2001:db8::1"), compound("2001:db8::1"));
        // A leading hyphen before a space is not NOT; inside a word it is text.
        assert_eq!(parsed("sg-0abc"), Node::Text("\"sg-0abc\" *".into()));
        assert_eq!(parse("- ::").unwrap(), None);
    }

    #[test]
    fn times_compare_and_a_date_alone_is_the_whole_day() {
        let day = |d: &str| {
            NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc()
                .timestamp_micros()
        };
        assert_eq!(
            parsed("time:2024-05-05"),
            Node::And(vec![
                Node::Time(">=", day("2024-05-05")),
                Node::Time("<", day("2024-05-06"))
            ])
        );
        assert_eq!(
            parsed("time<=2024-05-05"),
            Node::Time("<", day("2024-05-06"))
        );
        assert_eq!(
            parsed("time>=2024-05-05T13:00"),
            Node::Time(">=", day("2024-05-05") + 13 * 3_600_000_000)
        );
        assert_eq!(
            parsed("time>2024-05-05T13:00:00Z"),
            Node::Time(">=", day("2024-05-05") + 13 * 3_600_000_000 + 1)
        );
    }

    #[test]
    fn a_malformed_query_names_the_column_where_it_goes_wrong() {
        assert_eq!(
            complaint("mallory \"open"),
            "invalid query: search, at column 9: this quote is never closed"
        );
        assert_eq!(
            complaint("(a OR b"),
            "invalid query: search, at column 1: this '(' is never closed"
        );
        assert_eq!(
            complaint("a)"),
            "invalid query: search, at column 2: unmatched ')'"
        );
        assert_eq!(
            complaint("a OR"),
            "invalid query: search, at column 3: OR needs a term on each side"
        );
        assert!(complaint("x time>=yesterday").contains("at column 3: not a time"));
        assert!(complaint("change:modify").contains("create, update or delete"));
        assert!(complaint("region:").contains("region: needs a value"));
        assert!(complaint("principal>=a").contains("takes ':'"));
    }

    #[test]
    fn values_become_parameters_never_sql_text() {
        let node = parsed("principal:\"x') OR 1=1 --\" \"; DROP TABLE events\" 10.0.0.1--DROP/x");
        let mut params = Vec::new();
        let sql = node
            .condition(
                &mut params,
                SearchIndexes { compounds: true },
                &mut seq_in_matches,
            )
            .unwrap();
        assert!(
            !sql.contains("DROP") && !sql.contains("1=1") && !sql.contains("--"),
            "{sql}"
        );
        assert_eq!(params.len(), 8);
    }
}
