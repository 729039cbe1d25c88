//! YAML (and JSON, which is YAML flow style) as text: a node tree with byte spans built from the
//! parser's events, its data model as JSON values, and [`Edit`]s turned into splices of the original
//! text. Nothing is re-serialised: inserted nodes are rendered at the indentation of their
//! siblings, removed nodes are cut out with exactly the bytes an insertion adds, so untouched bytes
//! (comments, quoting, `yes`, `0777`, key order) stay as they were.

use std::collections::HashMap;

use granit_parser::{Event, Parser, ScalarStyle, StructureStyle};
use serde_json::{Map, Number, Value};
use thiserror::Error;

use super::{Edit, Seg, display_path};

/// A parse error, positioned (1-based line and column) and counted (1-based document).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("line {line}, column {column}: {message}")]
pub struct ParseError {
    pub document: usize,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{0}")]
pub struct EditError(pub String);

#[derive(Debug, Clone)]
pub struct Node {
    /// Byte offset where the node's content starts (after `- `, at a key, at `[`/`{`).
    pub start: usize,
    /// Byte offset where its content ends (past `]`/`}`, the last scalar, a block scalar's last line).
    pub end: usize,
    /// 1-based line and 0-based column (in characters) of `start`.
    pub line: usize,
    pub col: usize,
    pub anchor: usize,
    pub kind: Kind,
}

#[derive(Debug, Clone)]
pub enum Kind {
    Scalar {
        value: String,
        style: ScalarStyle,
        tag: Option<String>,
    },
    Seq {
        flow: bool,
        items: Vec<Node>,
    },
    Map {
        flow: bool,
        entries: Vec<(Node, Node)>,
    },
    Alias(usize),
}

/// One document of a stream; `index` counts from 0.
#[derive(Debug, Clone)]
pub struct Doc {
    pub index: usize,
    pub root: Node,
}

enum Frame {
    Seq {
        flow: bool,
        start: (usize, usize, usize),
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        flow: bool,
        start: (usize, usize, usize),
        anchor: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
    },
}

/// Parses a YAML stream into documents with spans.
pub fn parse(text: &str) -> Result<Vec<Doc>, ParseError> {
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Node> = None;
    let mut started = 0usize;
    for item in Parser::new_from_str(text) {
        let (event, span) = item.map_err(|e| ParseError {
            document: started.max(1),
            line: e.marker().line(),
            column: e.marker().col() + 1,
            message: e.info(),
        })?;
        let offset = |m: granit_parser::Marker| m.byte_offset().unwrap_or(0).min(text.len());
        let start = (offset(span.start), span.start.line(), span.start.col());
        let end = offset(span.end);
        let node = match event {
            Event::DocumentStart(..) => {
                started += 1;
                root = None;
                stack.clear();
                continue;
            }
            Event::DocumentEnd => {
                if let Some(node) = root.take() {
                    docs.push(Doc {
                        index: docs.len(),
                        root: node,
                    });
                }
                continue;
            }
            Event::Scalar(value, style, anchor, tag) => {
                let end = match style {
                    ScalarStyle::Literal | ScalarStyle::Folded => block_scalar_end(text, end),
                    _ => end,
                };
                Node {
                    start: start.0,
                    end,
                    line: start.1,
                    col: start.2,
                    anchor,
                    kind: Kind::Scalar {
                        value: value.into_owned(),
                        style,
                        tag: tag.map(|t| t.suffix().to_string()),
                    },
                }
            }
            Event::Alias(id) => leaf(start, end, Kind::Alias(id)),
            Event::UnresolvedAlias(_) => leaf(start, end, Kind::Alias(usize::MAX)),
            Event::SequenceStart(style, anchor, _) => {
                stack.push(Frame::Seq {
                    flow: style == StructureStyle::Flow,
                    start,
                    anchor,
                    items: Vec::new(),
                });
                continue;
            }
            Event::MappingStart(style, anchor, _) => {
                stack.push(Frame::Map {
                    flow: style == StructureStyle::Flow,
                    start,
                    anchor,
                    entries: Vec::new(),
                    key: None,
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq {
                    flow,
                    start,
                    anchor,
                    items,
                }) => {
                    let (start, end) =
                        collection_span(flow, start, end, items.first(), items.last());
                    Node {
                        start: start.0,
                        end,
                        line: start.1,
                        col: start.2,
                        anchor,
                        kind: Kind::Seq { flow, items },
                    }
                }
                Some(Frame::Map {
                    flow,
                    start,
                    anchor,
                    entries,
                    ..
                }) => {
                    let first = entries.first().map(|(k, _)| k);
                    let last = entries.last().map(|(_, v)| v);
                    let (start, end) = collection_span(flow, start, end, first, last);
                    Node {
                        start: start.0,
                        end,
                        line: start.1,
                        col: start.2,
                        anchor,
                        kind: Kind::Map { flow, entries },
                    }
                }
                None => continue,
            },
            _ => continue,
        };
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(k) => entries.push((k, node)),
            },
        }
    }
    Ok(docs)
}

fn leaf(start: (usize, usize, usize), end: usize, kind: Kind) -> Node {
    Node {
        start: start.0,
        end,
        line: start.1,
        col: start.2,
        anchor: 0,
        kind,
    }
}

/// Block collections' events carry no useful span: their content runs from the first child to the
/// last child's end. Flow collections run from `[`/`{` to past `]`/`}`.
fn collection_span(
    flow: bool,
    start: (usize, usize, usize),
    end: usize,
    first: Option<&Node>,
    last: Option<&Node>,
) -> ((usize, usize, usize), usize) {
    if flow {
        return (start, end.max(start.0));
    }
    let start = first.map(|n| (n.start, n.line, n.col)).unwrap_or(start);
    let end = last.map(|n| n.end).unwrap_or(start.0);
    (start, end)
}

/// A block scalar's span ends at the next token (possibly mid-line, after the next line's
/// indentation): pull it back to the start of that line.
fn block_scalar_end(text: &str, end: usize) -> usize {
    let line_start = text[..end].rfind('\n').map_or(0, |i| i + 1);
    if text[line_start..end].chars().all(|c| c == ' ' || c == '\t') {
        line_start
    } else {
        end
    }
}

// ---------------------------------------------------------------------------------------------
// The data model

/// The document as a JSON value, with plain scalars typed as Kubernetes (YAML 1.1) reads them.
pub fn to_value(node: &Node) -> Result<Value, String> {
    let mut anchors = HashMap::new();
    convert(node, &mut anchors)
}

fn convert(node: &Node, anchors: &mut HashMap<usize, Value>) -> Result<Value, String> {
    let value = match &node.kind {
        Kind::Scalar { value, style, tag } => scalar_value(value, *style, tag.as_deref()),
        Kind::Alias(id) => anchors
            .get(id)
            .cloned()
            .ok_or_else(|| format!("line {}: alias to an unknown anchor", node.line))?,
        Kind::Seq { items, .. } => Value::Array(
            items
                .iter()
                .map(|i| convert(i, anchors))
                .collect::<Result<_, _>>()?,
        ),
        Kind::Map { entries, .. } => {
            let mut map = Map::new();
            for (k, v) in entries {
                let Kind::Scalar { value: key, .. } = &k.kind else {
                    return Err(format!(
                        "line {}, column {}: a mapping key must be a scalar",
                        k.line,
                        k.col + 1
                    ));
                };
                let value = convert(v, anchors)?;
                if map.insert(key.clone(), value).is_some() {
                    return Err(format!(
                        "line {}, column {}: duplicate key '{key}'",
                        k.line,
                        k.col + 1
                    ));
                }
            }
            Value::Object(map)
        }
    };
    if node.anchor != 0 {
        anchors.insert(node.anchor, value.clone());
    }
    Ok(value)
}

fn scalar_value(value: &str, style: ScalarStyle, tag: Option<&str>) -> Value {
    match tag {
        Some("str") => return Value::String(value.to_string()),
        Some("null" | "bool" | "int" | "float") => return resolve_plain(value),
        Some(_) => return Value::String(value.to_string()),
        None => {}
    }
    if style == ScalarStyle::Plain {
        resolve_plain(value)
    } else {
        Value::String(value.to_string())
    }
}

/// Resolves a plain scalar the way Kubernetes' YAML reader (YAML 1.1) does: `yes`/`on` are
/// booleans, `0644` is octal.
pub fn resolve_plain(raw: &str) -> Value {
    match raw {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "y" | "Y" => {
            return Value::Bool(true);
        }
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "n" | "N" => {
            return Value::Bool(false);
        }
        _ => {}
    }
    let (negative, body) = match raw.as_bytes().first() {
        Some(b'-') => (true, &raw[1..]),
        Some(b'+') => (false, &raw[1..]),
        _ => (false, raw),
    };
    let digits: String = body.chars().filter(|c| *c != '_').collect();
    let radix = |text: &str, radix: u32| -> Option<Value> {
        if text.is_empty() {
            return None;
        }
        let magnitude = i128::from_str_radix(text, radix).ok()?;
        let signed = if negative { -magnitude } else { magnitude };
        i64::try_from(signed)
            .map(Number::from)
            .or_else(|_| u64::try_from(signed).map(Number::from))
            .ok()
            .map(Value::Number)
    };
    if !body.is_empty() && !body.starts_with('_') {
        if let Some(hex) = digits.strip_prefix("0x") {
            if let Some(v) = radix(hex, 16) {
                return v;
            }
        } else if let Some(bin) = digits.strip_prefix("0b") {
            if let Some(v) = radix(bin, 2) {
                return v;
            }
        } else if let Some(oct) = digits.strip_prefix("0o") {
            if let Some(v) = radix(oct, 8) {
                return v;
            }
        } else if digits.len() > 1
            && digits.starts_with('0')
            && digits.bytes().all(|b| b.is_ascii_digit())
        {
            if let Some(v) = radix(&digits[1..], 8) {
                return v;
            }
        } else if digits.bytes().all(|b| b.is_ascii_digit())
            && let Some(v) = radix(&digits, 10)
        {
            return v;
        }
    }
    if is_float(raw)
        && let Ok(f) = raw.replace('_', "").parse::<f64>()
        && let Some(n) = Number::from_f64(f)
    {
        return Value::Number(n);
    }
    Value::String(raw.to_string())
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
fn is_float(raw: &str) -> bool {
    let s = raw.strip_prefix(['-', '+']).unwrap_or(raw);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => {
            int.bytes().all(|b| b.is_ascii_digit())
                && frac.bytes().all(|b| b.is_ascii_digit())
                && !(int.is_empty() && frac.is_empty())
        }
        None => !mantissa.is_empty() && mantissa.bytes().all(|b| b.is_ascii_digit()),
    } && !(mantissa.starts_with('.') && mantissa.len() == 1);
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    mantissa_ok && exponent_ok && (mantissa.contains('.') || exponent.is_some())
}

// ---------------------------------------------------------------------------------------------
// Navigation

pub fn node_at<'a>(root: &'a Node, path: &[Seg]) -> Result<&'a Node, EditError> {
    let mut node = root;
    for (depth, seg) in path.iter().enumerate() {
        node = match (&node.kind, seg) {
            (Kind::Map { entries, .. }, Seg::Key(k)) => entries
                .iter()
                .find(|(key, _)| matches!(&key.kind, Kind::Scalar { value, .. } if value == k))
                .map(|(_, v)| v),
            (Kind::Seq { items, .. }, Seg::Index(i)) => items.get(*i),
            (Kind::Alias(_), _) => {
                return Err(EditError(format!(
                    "{} is an alias; meshctl does not edit through YAML aliases",
                    display_path(&path[..depth])
                )));
            }
            _ => None,
        }
        .ok_or_else(|| EditError(format!("no node at {}", display_path(&path[..=depth]))))?;
    }
    Ok(node)
}

// ---------------------------------------------------------------------------------------------
// Edits as splices

/// Replace `text[start..end]` with `insert`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Splice {
    pub start: usize,
    pub end: usize,
    pub insert: String,
    /// Depth of the node the insertion belongs to: at one offset, deeper insertions go first
    /// (an item appended to the last list of a mapping precedes a new entry of that mapping).
    pub depth: usize,
}

/// Layout facts of one text, used to render insertions like their surroundings.
pub struct Layout<'a> {
    text: &'a str,
    nl: &'static str,
    /// Extra indentation of a block sequence's `-` relative to its key (0: `key:\n- a`).
    seq_indent: usize,
}

impl<'a> Layout<'a> {
    pub fn new(text: &'a str, docs: &[Doc]) -> Self {
        let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
        let seq_indent = docs
            .iter()
            .find_map(|d| first_seq_indent(text, &d.root))
            .unwrap_or(2);
        Layout {
            text,
            nl,
            seq_indent,
        }
    }

    fn line_start(&self, pos: usize) -> usize {
        self.text[..pos].rfind('\n').map_or(0, |i| i + 1)
    }

    /// The start of the line after `pos`; `None` at a last line without a line break.
    fn line_after(&self, pos: usize) -> Option<usize> {
        // Content that ends with its line break (a block scalar) ends where the next line starts.
        if pos > 0 && self.text.as_bytes()[pos - 1] == b'\n' {
            return Some(pos);
        }
        self.text[pos..].find('\n').map(|i| pos + i + 1)
    }

    fn only_blanks_before(&self, pos: usize) -> bool {
        let start = self.line_start(pos);
        self.text[start..pos].chars().all(|c| c == ' ')
    }

    /// The offset of the `-` introducing a block sequence item.
    fn dash_of(&self, item: &Node) -> Result<usize, EditError> {
        let before = &self.text[..item.start];
        let trimmed = before.trim_end_matches([' ', '\t', '\r', '\n']);
        if trimmed.ends_with('-') {
            Ok(trimmed.len() - 1)
        } else {
            Err(EditError(format!(
                "line {}: cannot find the '-' of this list item (a comment between '-' and the \
                 item?)",
                item.line
            )))
        }
    }

    fn col_of(&self, pos: usize) -> usize {
        self.text[self.line_start(pos)..pos].chars().count()
    }
}

fn first_seq_indent(text: &str, node: &Node) -> Option<usize> {
    match &node.kind {
        Kind::Map {
            entries,
            flow: false,
        } => entries.iter().find_map(|(k, v)| {
            if let Kind::Seq { flow: false, items } = &v.kind
                && let Some(first) = items.first()
            {
                let before = text[..first.start].trim_end_matches([' ', '\t', '\r', '\n']);
                if before.ends_with('-') {
                    let dash = before.len() - 1;
                    let line_start = text[..dash].rfind('\n').map_or(0, |i| i + 1);
                    let dash_col = text[line_start..dash].chars().count();
                    return dash_col.checked_sub(k.col);
                }
            }
            first_seq_indent(text, v)
        }),
        Kind::Map { entries, .. } => entries.iter().find_map(|(_, v)| first_seq_indent(text, v)),
        Kind::Seq { items, .. } => items.iter().find_map(|i| first_seq_indent(text, i)),
        _ => None,
    }
}

/// Turns edits on the document rooted at `root` into splices of `layout`'s text.
pub fn splices(layout: &Layout, root: &Node, edits: &[Edit]) -> Result<Vec<Splice>, EditError> {
    let mut out = Vec::new();
    for edit in edits {
        let depth = match edit {
            Edit::AddEntry { map, .. } => map.len(),
            Edit::InsertItems { seq, .. } => seq.len(),
            Edit::Remove { path } => path.len(),
        };
        out.push(match edit {
            Edit::AddEntry { map, key, value } => {
                add_entry(layout, node_at(root, map)?, key, value, map)?
            }
            Edit::InsertItems { seq, index, values } => {
                insert_items(layout, node_at(root, seq)?, *index, values, seq)?
            }
            Edit::Remove { path } => {
                let Some((last, parent_path)) = path.split_last() else {
                    return Err(EditError("cannot remove the document root".to_string()));
                };
                remove(layout, node_at(root, parent_path)?, last, path)?
            }
        });
        if let Some(last) = out.last_mut() {
            last.depth = depth;
        }
    }
    Ok(out)
}

/// Inserts `body` (whole lines ending in a line break) at the start of the line after `pos`; at
/// a last line without a line break, the break goes first.
fn insert_after_line(layout: &Layout, pos: usize, body: String) -> Splice {
    match layout.line_after(pos) {
        Some(at) => Splice {
            start: at,
            end: at,
            insert: body,
            depth: 0,
        },
        None => {
            let trimmed = body.strip_suffix(layout.nl).unwrap_or(&body).to_string();
            Splice {
                start: layout.text.len(),
                end: layout.text.len(),
                insert: format!("{}{trimmed}", layout.nl),
                depth: 0,
            }
        }
    }
}

/// Cuts whole lines from the line of `from` through the line of `to`; the inverse of
/// [`insert_after_line`].
fn cut_lines(layout: &Layout, from: usize, to: usize) -> Splice {
    let start = layout.line_start(from);
    match layout.line_after(to) {
        Some(end) => Splice {
            start,
            end,
            insert: String::new(),
            depth: 0,
        },
        None => {
            let nl_start = layout.text[..start]
                .strip_suffix('\n')
                .map(|t| t.strip_suffix('\r').unwrap_or(t).len())
                .unwrap_or(start);
            Splice {
                start: nl_start,
                end: layout.text.len(),
                insert: String::new(),
                depth: 0,
            }
        }
    }
}

fn add_entry(
    layout: &Layout,
    map: &Node,
    key: &str,
    value: &Value,
    path: &[Seg],
) -> Result<Splice, EditError> {
    let Kind::Map { flow, entries } = &map.kind else {
        return Err(EditError(format!(
            "{} is not a mapping",
            display_path(path)
        )));
    };
    if *flow {
        let rendered = |base: Option<usize>| {
            format!("{}: {}", json_key(key), flow_value(value, base, layout.nl))
        };
        return Ok(match entries.last() {
            None => Splice {
                start: map.start + 1,
                end: map.start + 1,
                insert: rendered(None),
                depth: 0,
            },
            Some((last_key, last_value)) if last_key.line != map.line => {
                let col = layout.col_of(last_key.start);
                Splice {
                    start: last_value.end,
                    end: last_value.end,
                    insert: format!(",{}{}{}", layout.nl, " ".repeat(col), rendered(Some(col))),
                    depth: 0,
                }
            }
            Some((_, last_value)) => Splice {
                start: last_value.end,
                end: last_value.end,
                insert: format!(", {}", rendered(None)),
                depth: 0,
            },
        });
    }
    let Some((first_key, _)) = entries.first() else {
        return Err(EditError(format!(
            "{} is an empty block mapping",
            display_path(path)
        )));
    };
    let indent = first_key.col;
    let mut body = String::new();
    emit_entry(&mut body, key, value, indent, layout.seq_indent, layout.nl);
    Ok(insert_after_line(layout, map.end, body))
}

fn insert_items(
    layout: &Layout,
    seq: &Node,
    index: usize,
    values: &[Value],
    path: &[Seg],
) -> Result<Splice, EditError> {
    let Kind::Seq { flow, items } = &seq.kind else {
        return Err(EditError(format!("{} is not a list", display_path(path))));
    };
    if index > items.len() {
        return Err(EditError(format!(
            "{} has no item {index}",
            display_path(path)
        )));
    }
    if *flow {
        let multiline = items.first().is_some_and(|i| i.line != seq.line);
        let col = items.first().map(|i| layout.col_of(i.start)).unwrap_or(0);
        let sep = if multiline {
            format!(",{}{}", layout.nl, " ".repeat(col))
        } else {
            ", ".to_string()
        };
        let render = |v: &Value| flow_value(v, multiline.then_some(col), layout.nl);
        let rendered: Vec<String> = values.iter().map(render).collect();
        return Ok(if items.is_empty() {
            Splice {
                start: seq.start + 1,
                end: seq.start + 1,
                insert: rendered.join(", "),
                depth: 0,
            }
        } else if index < items.len() {
            let at = items[index].start;
            Splice {
                start: at,
                end: at,
                insert: rendered.iter().map(|r| format!("{r}{sep}")).collect(),
                depth: 0,
            }
        } else {
            let at = items[items.len() - 1].end;
            Splice {
                start: at,
                end: at,
                insert: rendered.iter().map(|r| format!("{sep}{r}")).collect(),
                depth: 0,
            }
        });
    }
    let Some(first) = items.first() else {
        return Err(EditError(format!(
            "{} is an empty block list",
            display_path(path)
        )));
    };
    let dash = layout.dash_of(first)?;
    let dash_col = layout.col_of(dash);
    let mut body = String::new();
    for value in values {
        emit_item(&mut body, value, dash_col, layout.seq_indent, layout.nl);
    }
    if index < items.len() {
        let at = layout.dash_of(&items[index])?;
        if !layout.only_blanks_before(at) {
            return Err(EditError(format!(
                "line {}: a list item that does not start its line",
                items[index].line
            )));
        }
        let at = layout.line_start(at);
        Ok(Splice {
            start: at,
            end: at,
            insert: body,
            depth: 0,
        })
    } else {
        Ok(insert_after_line(layout, seq.end, body))
    }
}

fn remove(layout: &Layout, parent: &Node, last: &Seg, path: &[Seg]) -> Result<Splice, EditError> {
    let missing = || EditError(format!("no node at {}", display_path(path)));
    match (&parent.kind, last) {
        (Kind::Map { flow, entries }, Seg::Key(k)) => {
            let i = entries
                .iter()
                .position(|(key, _)| matches!(&key.kind, Kind::Scalar { value, .. } if value == k))
                .ok_or_else(missing)?;
            let (key, value) = &entries[i];
            if *flow {
                return Ok(flow_cut(
                    entries.iter().map(|(k, v)| (k.start, v.end)).collect(),
                    i,
                ));
            }
            if !layout.only_blanks_before(key.start) {
                return Err(EditError(format!(
                    "line {}: cannot remove '{k}': it does not start its line",
                    key.line
                )));
            }
            Ok(cut_lines(layout, key.start, value.end.max(key.end)))
        }
        (Kind::Seq { flow, items }, Seg::Index(i)) => {
            let item = items.get(*i).ok_or_else(missing)?;
            if *flow {
                return Ok(flow_cut(
                    items.iter().map(|n| (n.start, n.end)).collect(),
                    *i,
                ));
            }
            let dash = layout.dash_of(item)?;
            if !layout.only_blanks_before(dash) {
                return Err(EditError(format!(
                    "line {}: a list item that does not start its line",
                    item.line
                )));
            }
            Ok(cut_lines(layout, dash, item.end))
        }
        _ => Err(missing()),
    }
}

/// Cuts item `i` of a flow collection with its separator: the inverse of inserting it.
fn flow_cut(spans: Vec<(usize, usize)>, i: usize) -> Splice {
    let (start, end) = if i > 0 {
        (spans[i - 1].1, spans[i].1)
    } else if spans.len() > 1 {
        (spans[0].0, spans[1].0)
    } else {
        spans[0]
    };
    Splice {
        start,
        end,
        insert: String::new(),
        depth: 0,
    }
}

/// Applies non-overlapping splices; insertions at one offset keep their order.
pub fn apply_splices(text: &str, splices: &mut [Splice]) -> Result<String, EditError> {
    splices.sort_by_key(|s| (s.start, s.end, std::cmp::Reverse(s.depth)));
    let mut out =
        String::with_capacity(text.len() + splices.iter().map(|s| s.insert.len()).sum::<usize>());
    let mut at = 0;
    for s in splices.iter() {
        if s.start < at || s.end > text.len() {
            return Err(EditError("overlapping edits".to_string()));
        }
        out.push_str(&text[at..s.start]);
        out.push_str(&s.insert);
        at = s.end;
    }
    out.push_str(&text[at..]);
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Rendering inserted nodes

/// A whole value as a block-style YAML document (for `-o yaml` of JSON input).
pub fn to_block_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                emit_entry(&mut out, k, v, 0, 2, "\n");
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                emit_item(&mut out, item, 0, 2, "\n");
            }
        }
        other => {
            out.push_str(&scalar_text(other));
            out.push('\n');
        }
    }
    out
}

fn emit_entry(
    out: &mut String,
    key: &str,
    value: &Value,
    indent: usize,
    seq_indent: usize,
    nl: &str,
) {
    out.push_str(&" ".repeat(indent));
    out.push_str(&yaml_scalar(key));
    out.push(':');
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push_str(nl);
            for (k, v) in map {
                emit_entry(out, k, v, indent + 2, seq_indent, nl);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            out.push_str(nl);
            for item in items {
                emit_item(out, item, indent + seq_indent, seq_indent, nl);
            }
        }
        other => {
            out.push(' ');
            out.push_str(&scalar_text(other));
            out.push_str(nl);
        }
    }
}

fn emit_item(out: &mut String, value: &Value, dash_col: usize, seq_indent: usize, nl: &str) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            let mut body = String::new();
            for (k, v) in map {
                emit_entry(&mut body, k, v, dash_col + 2, seq_indent, nl);
            }
            out.push_str(&" ".repeat(dash_col));
            out.push_str("- ");
            out.push_str(&body[dash_col + 2..]);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push_str(&" ".repeat(dash_col));
            out.push_str("- ");
            out.push_str(&flow_value(value, None, nl));
            out.push_str(nl);
        }
        other => {
            out.push_str(&" ".repeat(dash_col));
            out.push_str("- ");
            out.push_str(&scalar_text(other));
            out.push_str(nl);
        }
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => yaml_scalar(s),
        Value::Object(_) => "{}".to_string(),
        Value::Array(_) => "[]".to_string(),
        other => other.to_string(),
    }
}

/// JSON in flow position: compact, or pretty (2 spaces) with continuation lines at `base`.
fn flow_value(value: &Value, base: Option<usize>, nl: &str) -> String {
    match base {
        None => serde_json::to_string(value).unwrap_or_default(),
        Some(base) => serde_json::to_string_pretty(value)
            .unwrap_or_default()
            .replace('\n', &format!("{nl}{}", " ".repeat(base))),
    }
}

fn json_key(key: &str) -> String {
    serde_json::to_string(key).unwrap_or_default()
}

/// A string as YAML: plain when that reads back as the same string, else quoted.
pub fn yaml_scalar(s: &str) -> String {
    if is_plain_safe(s) {
        return s.to_string();
    }
    if !s.contains('\'') && !s.chars().any(char::is_control) {
        return format!("'{s}'");
    }
    serde_json::to_string(s).unwrap_or_default()
}

fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    let charset_ok = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._/=:-".contains(c));
    if !charset_ok || first == ':' || s.ends_with(':') || (first == '-' && s.len() == 1) {
        return false;
    }
    if s.contains("::") || s == "=" {
        return false;
    }
    let lower = s.to_ascii_lowercase();
    if [
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~", ".inf", "-.inf", ".nan",
    ]
    .contains(&lower.as_str())
    {
        return false;
    }
    // Anything that might read as a number (in YAML 1.1 or 1.2) is quoted.
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    let numberish = body
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit() || c == '.')
        && body
            .chars()
            .all(|c| c.is_ascii_hexdigit() || "_.:xXoO+-".contains(c));
    !numberish
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plain_scalars_resolve_like_kubernetes() {
        assert_eq!(resolve_plain("yes"), json!(true));
        assert_eq!(resolve_plain("0644"), json!(420));
        assert_eq!(resolve_plain("0x1F"), json!(31));
        assert_eq!(resolve_plain("-12"), json!(-12));
        assert_eq!(resolve_plain("1.5"), json!(1.5));
        assert_eq!(resolve_plain("1e3"), json!(1000.0));
        assert_eq!(resolve_plain("1e+3"), json!(1000.0));
        assert_eq!(resolve_plain("100m"), json!("100m"));
        assert_eq!(resolve_plain("~"), json!(null));
        assert_eq!(resolve_plain("08"), json!("08"));
        assert_eq!(resolve_plain("."), json!("."));
    }

    #[test]
    fn yaml_scalars_quote_what_would_change_type() {
        for (s, out) in [
            ("nginx", "nginx"),
            ("envoyproxy/envoy:v1.40.0", "envoyproxy/envoy:v1.40.0"),
            ("--proxy-uid=1337", "--proxy-uid=1337"),
            ("true", "'true'"),
            ("15090", "'15090'"),
            ("100m", "100m"),
            ("1e3", "'1e3'"),
            ("", "''"),
            ("{\"a\":1}", "'{\"a\":1}'"),
            ("it's", "\"it's\""),
            ("a b", "'a b'"),
        ] {
            assert_eq!(yaml_scalar(s), out, "{s}");
            if let Ok(docs) = parse(&format!("k: {out}\n")) {
                let v = to_value(&docs[0].root).unwrap();
                assert_eq!(v["k"], json!(s), "{s} read back");
            }
        }
    }

    fn edit_round_trip(text: &str, edits: Vec<Edit>, expected: &str) {
        let docs = parse(text).unwrap();
        let layout = Layout::new(text, &docs);
        let mut sp = splices(&layout, &docs[0].root, &edits).unwrap();
        let out = apply_splices(text, &mut sp).unwrap();
        assert_eq!(out, expected);
        // The data model agrees with applying the edits to JSON.
        let mut value = to_value(&docs[0].root).unwrap();
        crate::inject::apply_edits(&mut value, &edits).unwrap();
        let reparsed = parse(&out).unwrap();
        assert_eq!(to_value(&reparsed[0].root).unwrap(), value);
    }

    fn k(s: &str) -> Seg {
        Seg::Key(s.to_string())
    }

    #[test]
    fn block_insertions_follow_the_surroundings() {
        edit_round_trip(
            "spec:\n  containers:\n  - name: a # app\n    args: [x]\n# end\n",
            vec![
                Edit::InsertItems {
                    seq: vec![k("spec"), k("containers")],
                    index: 1,
                    values: vec![json!({"name": "b", "ports": [{"containerPort": 1}], "e": {}})],
                },
                Edit::AddEntry {
                    map: vec![k("spec")],
                    key: "volumes".into(),
                    value: json!([{"name": "v", "emptyDir": {"medium": "Memory"}}]),
                },
            ],
            "spec:\n  containers:\n  - name: a # app\n    args: [x]\n  - name: b\n    ports:\n    - containerPort: 1\n    e: {}\n  volumes:\n  - name: v\n    emptyDir:\n      medium: Memory\n# end\n",
        );
        edit_round_trip(
            "a:\n  - x\n  - y",
            vec![Edit::InsertItems {
                seq: vec![k("a")],
                index: 2,
                values: vec![json!("z")],
            }],
            "a:\n  - x\n  - y\n  - z",
        );
        edit_round_trip(
            "a:\n  - x\n  - y\n",
            vec![Edit::InsertItems {
                seq: vec![k("a")],
                index: 0,
                values: vec![json!("w")],
            }],
            "a:\n  - w\n  - x\n  - y\n",
        );
    }

    #[test]
    fn flow_insertions_and_removals() {
        edit_round_trip(
            "{\"a\": [1, 2], \"m\": {}}",
            vec![
                Edit::InsertItems {
                    seq: vec![k("a")],
                    index: 0,
                    values: vec![json!(0)],
                },
                Edit::AddEntry {
                    map: vec![k("m")],
                    key: "k".into(),
                    value: json!("v"),
                },
            ],
            "{\"a\": [0, 1, 2], \"m\": {\"k\": \"v\"}}",
        );
        edit_round_trip(
            "{\n  \"a\": [\n    1\n  ]\n}\n",
            vec![Edit::InsertItems {
                seq: vec![k("a")],
                index: 1,
                values: vec![json!({"x": 1})],
            }],
            "{\n  \"a\": [\n    1,\n    {\n      \"x\": 1\n    }\n  ]\n}\n",
        );
        edit_round_trip(
            "{\"a\": [0, 1, 2], \"b\": 1}",
            vec![
                Edit::Remove {
                    path: vec![k("a"), Seg::Index(0)],
                },
                Edit::Remove { path: vec![k("b")] },
            ],
            "{\"a\": [1, 2]}",
        );
    }

    #[test]
    fn removals_cut_whole_lines() {
        edit_round_trip(
            "m:\n  a: 1\n  b: |\n    text\n\n  c: 3\n",
            vec![Edit::Remove {
                path: vec![k("m"), k("b")],
            }],
            "m:\n  a: 1\n  c: 3\n",
        );
        edit_round_trip(
            "m:\n  a: 1\n  b: 2",
            vec![Edit::Remove {
                path: vec![k("m"), k("b")],
            }],
            "m:\n  a: 1",
        );
    }

    #[test]
    fn parse_errors_have_positions() {
        let err = parse("a: 1\n---\nb: [1,\n").unwrap_err();
        assert_eq!(err.document, 2);
        assert!(err.line >= 3, "{err:?}");
    }
}
