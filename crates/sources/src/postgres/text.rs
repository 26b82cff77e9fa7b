//! Decoding the text that `COPY … TO STDOUT` sends: one line per row, cells separated by
//! tabs, `\N` for NULL, and backslash escapes for tabs, newlines and backslashes inside
//! values. Each cell is then decoded by its column's [`CellType`]. The session's settings
//! (ISO dates, UTC, shortest exact floats) make every type's text unambiguous.
//!
//! A cell that cannot be decoded (text that is not UTF-8, JSON nested too deeply to read)
//! becomes [`Value::Invalid`] with why: it rejects its row only. Only a line of the wrong
//! shape, which means the stream itself is broken, stops the read.
//!
//! Pure code, no I/O: the reading task feeds it the chunks as they arrive.

use std::borrow::Cow;
use std::sync::Arc;

use optisync_core::Value;
use optisync_core::value::quoted;
use tokio_postgres::types::{Kind, Type};

use crate::batch::{Batch, Cells, Texts};
use crate::column::ColumnKind;
use crate::error::SourceError;

/// How a column's text becomes a [`Value`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CellType {
    /// Taken as is: text, enums, UUIDs, network addresses, dates, times, intervals.
    Text,
    /// `2024-01-02 03:04:05.123` → `2024-01-02T03:04:05.123`.
    Timestamp,
    /// `2024-01-02 03:04:05+00` → `2024-01-02T03:04:05Z` (the session is in UTC).
    TimestampTz,
    /// Integers.
    Int,
    /// `float4` and `float8`, including `NaN` and `±Infinity`.
    Float,
    /// `numeric`: an integer when integral and within `i64`, a float when at most 15
    /// significant digits, else exact text.
    Numeric,
    /// `t` / `f`.
    Bool,
    /// `json` and `jsonb`.
    Json,
    /// An array (of any dimension) of the element type, as a JSON array.
    Array(Box<CellType>),
    /// A type optisync cannot carry.
    Unsupported,
}

impl CellType {
    /// The decoding of a Postgres type; domains decode as their base type.
    pub fn of(ty: &Type) -> CellType {
        match ty.kind() {
            Kind::Domain(base) => CellType::of(base),
            Kind::Enum(_) => CellType::Text,
            Kind::Array(element) => match CellType::of(element) {
                CellType::Unsupported | CellType::Array(_) => CellType::Unsupported,
                element => CellType::Array(Box::new(element)),
            },
            Kind::Simple | Kind::Pseudo => CellType::simple(ty),
            _ => CellType::Unsupported,
        }
    }

    fn simple(ty: &Type) -> CellType {
        match *ty {
            Type::TEXT
            | Type::VARCHAR
            | Type::BPCHAR
            | Type::NAME
            | Type::CHAR
            | Type::UNKNOWN
            | Type::UUID
            | Type::INET
            | Type::CIDR
            | Type::MACADDR
            | Type::MACADDR8
            | Type::XML
            | Type::MONEY
            | Type::DATE
            | Type::TIME
            | Type::TIMETZ
            | Type::INTERVAL => CellType::Text,
            Type::TIMESTAMP => CellType::Timestamp,
            Type::TIMESTAMPTZ => CellType::TimestampTz,
            Type::INT2 | Type::INT4 | Type::INT8 | Type::OID => CellType::Int,
            Type::FLOAT4 | Type::FLOAT8 => CellType::Float,
            Type::NUMERIC => CellType::Numeric,
            Type::BOOL => CellType::Bool,
            Type::JSON | Type::JSONB => CellType::Json,
            _ if ty.name() == "citext" => CellType::Text,
            _ => CellType::Unsupported,
        }
    }

    /// The [`Value`] variant its cells become.
    pub fn kind(&self) -> ColumnKind {
        match self {
            CellType::Text | CellType::Timestamp | CellType::TimestampTz => ColumnKind::Text,
            CellType::Int => ColumnKind::Int,
            CellType::Float | CellType::Numeric => ColumnKind::Float,
            CellType::Bool => ColumnKind::Bool,
            CellType::Json | CellType::Array(_) => ColumnKind::Json,
            CellType::Unsupported => ColumnKind::Unsupported,
        }
    }

    /// Decodes one cell's (unescaped) text.
    pub fn decode(&self, text: &str) -> Result<Value, String> {
        Ok(match self {
            CellType::Text => Value::Text(text.to_owned()),
            CellType::Timestamp => Value::Text(timestamp(text)),
            CellType::TimestampTz => Value::Text(timestamp_tz(text)),
            CellType::Int => Value::Int(
                text.parse()
                    .map_err(|_| format!("{} is not an integer", quoted(text)))?,
            ),
            CellType::Float => Value::Float(float(text)?),
            CellType::Numeric => crate::decimal::decimal(text),
            CellType::Bool => Value::Bool(match text {
                "t" => true,
                "f" => false,
                _ => return Err(format!("{} is not a boolean", quoted(text))),
            }),
            CellType::Json => Value::from_json_text(text),
            CellType::Array(element) => Value::Json(array(text, element)?),
            CellType::Unsupported => return Err("unsupported type".to_owned()),
        })
    }

    /// One array element as JSON.
    fn json(&self, text: &str) -> Result<serde_json::Value, String> {
        use serde_json::Value as J;
        Ok(match self.decode(text)? {
            Value::Null => J::Null,
            Value::Text(s) => J::String(s),
            Value::Int(i) => J::from(i),
            Value::Float(f) => serde_json::Number::from_f64(f)
                .map(J::Number)
                .unwrap_or_else(|| J::String(text.to_owned())),
            Value::Bool(b) => J::Bool(b),
            Value::Json(json) => json,
            Value::Invalid(reason) => return Err(reason),
        })
    }
}

fn timestamp(text: &str) -> String {
    text.replacen(' ', "T", 1)
}

fn timestamp_tz(text: &str) -> String {
    let text = timestamp(text);
    match text.strip_suffix("+00") {
        Some(utc) => format!("{utc}Z"),
        None => text,
    }
}

fn float(text: &str) -> Result<f64, String> {
    match text {
        "NaN" => Ok(f64::NAN),
        "Infinity" => Ok(f64::INFINITY),
        "-Infinity" => Ok(f64::NEG_INFINITY),
        _ => text
            .parse()
            .map_err(|_| format!("{} is not a number", quoted(text))),
    }
}

/// Parses an array literal (`{1,2}`, `{{a,"b c"},{NULL,d}}`, `[0:1]={x,y}`).
fn array(text: &str, element: &CellType) -> Result<serde_json::Value, String> {
    // A lower bound other than 1 is written as a `[lo:hi]=` prefix; JSON has no such thing.
    let body = match text.strip_prefix('[') {
        Some(_) => text
            .split_once('=')
            .map(|(_, body)| body)
            .ok_or_else(|| format!("{} is not an array", quoted(text)))?,
        None => text,
    };
    let mut parser = ArrayParser {
        chars: body.chars().peekable(),
        element,
    };
    let value = parser.list()?;
    if parser.chars.next().is_some() {
        return Err(format!("{} has text after the array", quoted(text)));
    }
    Ok(value)
}

struct ArrayParser<'a, I: Iterator<Item = char>> {
    chars: std::iter::Peekable<I>,
    element: &'a CellType,
}

impl<I: Iterator<Item = char>> ArrayParser<'_, I> {
    fn list(&mut self) -> Result<serde_json::Value, String> {
        if self.chars.next() != Some('{') {
            return Err("an array must start with `{`".to_owned());
        }
        let mut items = Vec::new();
        if self.chars.peek() == Some(&'}') {
            self.chars.next();
            return Ok(serde_json::Value::Array(items));
        }
        loop {
            let item = match self.chars.peek() {
                Some('{') => self.list()?,
                Some('"') => {
                    self.chars.next();
                    let text = self.quoted()?;
                    self.element.json(&text)?
                }
                Some(_) => {
                    let text = self.bare();
                    if text.eq_ignore_ascii_case("NULL") {
                        serde_json::Value::Null
                    } else {
                        self.element.json(&text)?
                    }
                }
                None => return Err("the array is not closed".to_owned()),
            };
            items.push(item);
            match self.chars.next() {
                Some(',') => continue,
                Some('}') => return Ok(serde_json::Value::Array(items)),
                _ => return Err("expected `,` or `}` in the array".to_owned()),
            }
        }
    }

    fn quoted(&mut self) -> Result<String, String> {
        let mut text = String::new();
        loop {
            match self.chars.next() {
                Some('"') => return Ok(text),
                Some('\\') => text.extend(self.chars.next()),
                Some(c) => text.push(c),
                None => return Err("a quoted array element is not closed".to_owned()),
            }
        }
    }

    fn bare(&mut self) -> String {
        let mut text = String::new();
        while let Some(&c) = self.chars.peek() {
            if c == ',' || c == '}' {
                break;
            }
            text.push(c);
            self.chars.next();
        }
        text
    }
}

/// A cell that could not be decoded, or a line of the wrong shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// The column, if the problem is in one cell.
    pub column: Option<usize>,
    /// The row (1-based) in the model's result.
    pub row: u64,
    /// What was wrong.
    pub message: String,
}

impl DecodeError {
    /// As the source's error, naming the column.
    pub fn into_source_error(self, columns: &[String]) -> SourceError {
        let column = match self.column.and_then(|i| columns.get(i)) {
            Some(name) => name.clone(),
            None => columns.join(", "),
        };
        SourceError::BadValue {
            column,
            message: format!("row {}: {}", self.row, self.message),
        }
    }
}

/// Turns COPY text, chunk by chunk, into column-wise values.
#[derive(Debug)]
pub struct RowDecoder {
    cells: Vec<CellType>,
    /// Per column: text columns in one buffer, the others as values.
    values: Vec<Cells>,
    /// The start of a line whose end has not arrived yet.
    partial: Vec<u8>,
    rows: usize,
    /// Rows decoded so far in the whole result, for messages.
    seen: u64,
}

impl RowDecoder {
    /// A decoder for rows of these columns.
    pub fn new(cells: Vec<CellType>) -> Self {
        let values = cells.iter().map(empty_cells).collect();
        Self {
            cells,
            values,
            partial: Vec::new(),
            rows: 0,
            seen: 0,
        }
    }

    /// Rows decoded and not yet taken.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Whether the rows decoded and not yet taken make a batch to hand over.
    pub fn is_full(&self) -> bool {
        crate::batch::cells_are_full(&self.values, self.rows)
    }

    /// Decodes every complete line of `chunk` (with what was left of the previous one).
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), DecodeError> {
        let mut rest = chunk;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            let (line, tail) = rest.split_at(end);
            rest = &tail[1..];
            if self.partial.is_empty() {
                self.line(line)?;
            } else {
                let mut whole = std::mem::take(&mut self.partial);
                whole.extend_from_slice(line);
                self.line(&whole)?;
            }
        }
        self.partial.extend_from_slice(rest);
        Ok(())
    }

    /// Checks that the text ended with a complete line.
    pub fn finish(&mut self) -> Result<(), DecodeError> {
        if self.partial.is_empty() {
            return Ok(());
        }
        let line = std::mem::take(&mut self.partial);
        self.line(&line)
    }

    /// The decoded rows, as a batch over `columns`.
    pub fn take(&mut self, columns: &Arc<[String]>) -> Batch {
        let values = self
            .values
            .iter_mut()
            .zip(&self.cells)
            .map(|(column, cell)| std::mem::replace(column, empty_cells(cell)))
            .collect();
        self.rows = 0;
        // The decoder keeps every column the same length.
        Batch::from_cells(Arc::clone(columns), values)
            .unwrap_or_else(|_| Batch::empty(Arc::clone(columns)))
    }

    /// Decodes one row whose cells arrived as text already (the simple query protocol:
    /// `None` for NULL), as a `FETCH` from a cursor returns them.
    pub fn push_row<'a>(
        &mut self,
        cells: impl ExactSizeIterator<Item = Option<&'a str>>,
    ) -> Result<(), DecodeError> {
        self.seen += 1;
        let row = self.seen;
        let width = self.cells.len();
        if cells.len() != width {
            return Err(self.shape_error(row, cells.len()));
        }
        for (index, cell) in cells.enumerate() {
            self.push_cell(index, cell);
        }
        self.rows += 1;
        Ok(())
    }

    fn line(&mut self, line: &[u8]) -> Result<(), DecodeError> {
        self.seen += 1;
        let row = self.seen;
        let width = self.cells.len();
        let mut fields = line.split(|&b| b == b'\t');
        for index in 0..width {
            let Some(field) = fields.next() else {
                return Err(self.shape_error(row, index));
            };
            let null = field == b"\\N";
            let raw = unescape(if null { b"" } else { field });
            let Ok(text) = std::str::from_utf8(&raw) else {
                // Not UTF-8, though the server checks what it sends against the session's
                // encoding: a defence, for this row's cell only. A text column then keeps
                // values instead of one buffer.
                self.values[index].push_value(Value::Invalid(
                    "the text is not valid UTF-8; convert it in the model (e.g. with \
                     convert_from or encode)"
                        .to_owned(),
                ));
                continue;
            };
            self.push_cell(index, (!null).then_some(text));
        }
        if fields.next().is_some() {
            return Err(self.shape_error(row, width + 1));
        }
        self.rows += 1;
        Ok(())
    }

    /// One cell of column `index`, decoded by its type.
    fn push_cell(&mut self, index: usize, cell: Option<&str>) {
        match &mut self.values[index] {
            Cells::Texts(texts) => texts.push(cell),
            Cells::Values(values) => values.push(match cell {
                None => Value::Null,
                Some(text) => self.cells[index]
                    .decode(text)
                    .unwrap_or_else(Value::Invalid),
            }),
        }
    }

    fn shape_error(&mut self, row: u64, cells: usize) -> DecodeError {
        // Keep the columns the same length: drop the half-decoded row.
        for column in &mut self.values {
            column.truncate(self.rows);
        }
        DecodeError {
            column: None,
            row,
            message: format!(
                "the server sent a row of {cells} or more cells for {} columns",
                self.cells.len()
            ),
        }
    }
}

/// Where a column's cells gather: text in one buffer, other types as values.
fn empty_cells(cell: &CellType) -> Cells {
    match cell {
        CellType::Text => Cells::Texts(Texts::default()),
        _ => Cells::Values(Vec::new()),
    }
}

/// Undoes COPY's backslash escapes.
fn unescape(field: &[u8]) -> Cow<'_, [u8]> {
    if !field.contains(&b'\\') {
        return Cow::Borrowed(field);
    }
    let mut out = Vec::with_capacity(field.len());
    let mut bytes = field.iter().copied().peekable();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'b') => out.push(0x08),
            Some(b'f') => out.push(0x0c),
            Some(b'n') => out.push(b'\n'),
            Some(b'r') => out.push(b'\r'),
            Some(b't') => out.push(b'\t'),
            Some(b'v') => out.push(0x0b),
            Some(d @ b'0'..=b'7') => {
                let mut value = u32::from(d - b'0');
                for _ in 0..2 {
                    match bytes.peek() {
                        Some(&d @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(d - b'0');
                            bytes.next();
                        }
                        _ => break,
                    }
                }
                out.push((value & 0xff) as u8);
            }
            Some(other) => out.push(other),
            None => out.push(b'\\'),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decoder(cells: Vec<CellType>) -> (RowDecoder, Arc<[String]>) {
        let names: Arc<[String]> = (0..cells.len()).map(|i| format!("c{i}")).collect();
        (RowDecoder::new(cells), names)
    }

    #[test]
    fn lines_split_across_chunks_decode_once() {
        let (mut d, names) = decoder(vec![CellType::Text, CellType::Int]);
        d.push(b"a\t1\nb\\tc\t").unwrap();
        assert_eq!(d.rows(), 1);
        d.push(b"2\n\\N\t\\N\n").unwrap();
        d.finish().unwrap();
        let batch = d.take(&names);
        assert_eq!(batch.len(), 3);
        assert_eq!(
            &*batch.column(0).unwrap(),
            &[Value::from("a"), Value::from("b\tc"), Value::Null]
        );
        assert_eq!(
            &*batch.column(1).unwrap(),
            &[Value::Int(1), Value::Int(2), Value::Null]
        );
        assert_eq!(d.rows(), 0);
    }

    #[test]
    fn escapes_come_back_as_the_original_bytes() {
        assert_eq!(&*unescape(br"a\\b\nc\rd\101\\N"), b"a\\b\nc\rdA\\N");
        assert!(matches!(unescape(b"plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn cells_decode_by_type() {
        let t = CellType::TimestampTz;
        assert_eq!(
            t.decode("2024-01-02 03:04:05.5+00").unwrap(),
            Value::from("2024-01-02T03:04:05.5Z")
        );
        assert_eq!(
            CellType::Timestamp.decode("2024-01-02 03:04:05").unwrap(),
            Value::from("2024-01-02T03:04:05")
        );
        assert_eq!(CellType::Bool.decode("t").unwrap(), Value::Bool(true));
        assert!(CellType::Float.decode("NaN").unwrap() != Value::Float(0.0));
        assert_eq!(
            CellType::Float.decode("-Infinity").unwrap(),
            Value::Float(f64::NEG_INFINITY)
        );
        assert_eq!(CellType::Numeric.decode("42").unwrap(), Value::Int(42));
        assert_eq!(CellType::Numeric.decode("1.50").unwrap(), Value::Float(1.5));
        assert_eq!(
            CellType::Numeric.decode("123456789012345678.125").unwrap(),
            Value::from("123456789012345678.125")
        );
        assert_eq!(
            CellType::Numeric.decode("99999999999999999999").unwrap(),
            Value::from("99999999999999999999")
        );
        assert_eq!(
            CellType::Json.decode(r#"{"a": [1]}"#).unwrap(),
            Value::Json(json!({"a": [1]}))
        );
        let error = CellType::Int.decode("x").unwrap_err();
        assert!(error.contains("not an integer"), "{error}");
    }

    #[test]
    fn arrays_become_json() {
        let ints = CellType::Array(Box::new(CellType::Int));
        assert_eq!(
            ints.decode("{{1,2},{NULL,4}}").unwrap(),
            Value::Json(json!([[1, 2], [null, 4]]))
        );
        assert_eq!(ints.decode("{}").unwrap(), Value::Json(json!([])));
        assert_eq!(
            ints.decode("[0:1]={7,8}").unwrap(),
            Value::Json(json!([7, 8]))
        );
        let texts = CellType::Array(Box::new(CellType::Text));
        assert_eq!(
            texts.decode(r#"{a,"b c","d\"e","NULL",NULL}"#).unwrap(),
            Value::Json(json!(["a", "b c", "d\"e", "NULL", null]))
        );
        assert!(ints.decode("{1,2").is_err());
        assert!(ints.decode("{1,x}").is_err());
    }

    #[test]
    fn a_bad_cell_rejects_its_row_only() {
        let (mut d, names) = decoder(vec![CellType::Text, CellType::Int, CellType::Json]);
        let deep = format!("{}{}", "[".repeat(300), "]".repeat(300));
        let mut text = format!("a\t1\t[1]\nb\tnope\t{deep}\n").into_bytes();
        // Latin-1 bytes in a text column, as a SQL_ASCII database sends them.
        text.extend_from_slice(b"caf\xe9\t3\t{\"n\": 123456789012345678901234567890}\n");
        d.push(&text).unwrap();
        d.finish().unwrap();
        let batch = d.take(&names);
        assert_eq!(batch.len(), 3);
        let texts = batch.column(0).unwrap();
        assert_eq!(texts[0], Value::from("a"));
        assert!(
            texts[2]
                .invalid_reason()
                .is_some_and(|r| r.contains("UTF-8")),
            "{texts:?}"
        );
        let ints = batch.column(1).unwrap();
        assert_eq!(ints[0], Value::Int(1));
        let reason = ints[1].invalid_reason().unwrap();
        assert!(reason.contains("\"nope\" is not an integer"), "{reason}");
        let json = batch.column(2).unwrap();
        assert_eq!(json[0], Value::Json(json!([1])));
        assert!(
            json[1]
                .invalid_reason()
                .is_some_and(|r| r.contains("300 levels")),
            "{:?}",
            json[1]
        );
        // Digits a float would lose are kept as text.
        assert_eq!(
            json[2],
            Value::from(r#"{"n": 123456789012345678901234567890}"#)
        );
    }

    #[test]
    fn a_row_of_the_wrong_shape_stops_the_read() {
        let (mut d, names) = decoder(vec![CellType::Text]);
        let error = d.push(b"a\tb\n").unwrap_err();
        assert_eq!((error.column, error.row), (None, 1));
        let message = error.into_source_error(&names).to_string();
        assert!(message.contains("row 1"), "{message}");
    }

    #[test]
    fn messages_quote_cells_bounded() {
        let long = "9".repeat(10_000) + "x";
        let error = CellType::Int.decode(&long).unwrap_err();
        assert!(error.len() < 200, "{error}");
        assert!(error.contains("(10001 bytes)"), "{error}");
        let error = CellType::Bool.decode("\u{1b}[2J").unwrap_err();
        assert!(error.contains("\\u{1b}"), "{error}");
        assert!(!error.contains('\u{1b}'), "{error}");
    }

    #[test]
    fn types_map_to_decodings() {
        assert_eq!(CellType::of(&Type::INT8), CellType::Int);
        assert_eq!(
            CellType::of(&Type::TEXT_ARRAY),
            CellType::Array(Box::new(CellType::Text))
        );
        assert_eq!(CellType::of(&Type::BYTEA), CellType::Unsupported);
        assert_eq!(CellType::of(&Type::UUID).kind(), ColumnKind::Text);
        assert_eq!(CellType::of(&Type::JSONB).kind(), ColumnKind::Json);
    }
}
