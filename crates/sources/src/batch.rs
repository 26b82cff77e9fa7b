//! [`Batch`]: some of a model's rows, held column by column. A column's cells are either any
//! [`Value`]s or, for text columns, [`Texts`]: every cell's text in one buffer. Text is what
//! ids and names are, and a string per cell made a list sync allocate and free once per row
//! twice over (in the reader, then in the engine); a list sync now reads its id column
//! straight from the buffer ([`Batch::take_ids`]).

use std::borrow::Cow;
use std::sync::Arc;

use optisync_core::{ModelIds, Record, Value};

use crate::error::{Result, SourceError};
use crate::stream::{BATCH_BYTES, BATCH_ROWS};

/// Text cells (or nulls) in one buffer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Texts {
    text: String,
    /// The end of each cell in `text`.
    ends: Vec<usize>,
    /// Which cells are null.
    nulls: Vec<bool>,
}

impl Texts {
    /// Appends a cell; `None` is a null.
    pub fn push(&mut self, cell: Option<&str>) {
        if let Some(text) = cell {
            self.text.push_str(text);
        }
        self.ends.push(self.text.len());
        self.nulls.push(cell.is_none());
    }

    /// How many cells.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The cell at `index`: `None` past the end, `Some(None)` for a null.
    pub fn get(&self, index: usize) -> Option<Option<&str>> {
        let end = *self.ends.get(index)?;
        if self.nulls[index] {
            return Some(None);
        }
        let start = index.checked_sub(1).map_or(0, |i| self.ends[i]);
        Some(self.text.get(start..end))
    }

    fn value(&self, index: usize) -> Value {
        match self.get(index).flatten() {
            Some(text) => Value::Text(text.to_owned()),
            None => Value::Null,
        }
    }

    /// Appends the cells laid end to end in `text`, ending at `ends` (offsets into `text`)
    /// and null where `null` says: one copy of the text, not one push per cell. Returns
    /// `false`, leaving the cells as they were, when an end is out of order or off a
    /// character boundary, or a null holds text.
    pub(crate) fn extend_from_buffer(
        &mut self,
        text: &str,
        ends: impl IntoIterator<Item = usize>,
        null: impl Fn(usize) -> bool,
    ) -> bool {
        let (offset, cells) = (self.text.len(), self.ends.len());
        let mut start = 0;
        let fits = ends.into_iter().enumerate().all(|(index, end)| {
            let is_null = null(index);
            let fits = start <= end && text.is_char_boundary(end) && !(is_null && start < end);
            start = end;
            self.ends.push(end + offset);
            self.nulls.push(is_null);
            fits
        });
        if fits && let Some(used) = text.get(..start) {
            self.text.push_str(used);
            return true;
        }
        self.ends.truncate(cells);
        self.nulls.truncate(cells);
        false
    }

    fn append(&mut self, other: &mut Texts) {
        let offset = self.text.len();
        self.text.push_str(&other.text);
        self.ends.extend(other.ends.iter().map(|end| end + offset));
        self.nulls.append(&mut other.nulls);
        *other = Texts::default();
    }

    fn split_off(&mut self, at: usize) -> Texts {
        let mut rest = Texts::default();
        for index in at..self.len() {
            rest.push(self.get(index).flatten());
        }
        let cut = at.checked_sub(1).map_or(0, |i| self.ends[i]);
        self.text.truncate(cut);
        self.ends.truncate(at);
        self.nulls.truncate(at);
        rest
    }
}

/// One column's cells.
#[derive(Debug, Clone, PartialEq)]
pub enum Cells {
    /// Values of any kind.
    Values(Vec<Value>),
    /// Text or null, in one buffer.
    Texts(Texts),
}

impl Cells {
    pub(crate) fn len(&self) -> usize {
        match self {
            Cells::Values(values) => values.len(),
            Cells::Texts(texts) => texts.len(),
        }
    }

    /// About the bytes the cells hold, in constant time: a text buffer whole, values by
    /// their own size (not the text a value may point to).
    fn bytes(&self) -> usize {
        match self {
            Cells::Values(values) => values.len().saturating_mul(size_of::<Value>()),
            Cells::Texts(texts) => texts.text.len().saturating_add(
                texts
                    .ends
                    .len()
                    .saturating_mul(size_of::<usize>() + size_of::<bool>()),
            ),
        }
    }

    fn into_values(self) -> Vec<Value> {
        match self {
            Cells::Values(values) => values,
            Cells::Texts(texts) => (0..texts.len()).map(|i| texts.value(i)).collect(),
        }
    }

    pub(crate) fn append(&mut self, other: &mut Cells) {
        if self.len() == 0 {
            std::mem::swap(self, other);
            return;
        }
        match (&mut *self, &mut *other) {
            (Cells::Values(mine), Cells::Values(theirs)) => mine.append(theirs),
            (Cells::Texts(mine), Cells::Texts(theirs)) => mine.append(theirs),
            _ => {
                let mut values = std::mem::replace(self, Cells::Values(Vec::new())).into_values();
                values.extend(std::mem::replace(other, Cells::Values(Vec::new())).into_values());
                *self = Cells::Values(values);
            }
        }
    }

    /// Appends a value; a text column becomes values first, for a cell its buffer cannot
    /// hold (a [`Value::Invalid`]).
    pub(crate) fn push_value(&mut self, value: Value) {
        match self {
            Cells::Values(values) => values.push(value),
            Cells::Texts(texts) => {
                let mut values: Vec<Value> = (0..texts.len()).map(|i| texts.value(i)).collect();
                values.push(value);
                *self = Cells::Values(values);
            }
        }
    }

    /// Keeps the first `len` cells.
    pub(crate) fn truncate(&mut self, len: usize) {
        drop(self.split_off(len));
    }

    fn split_off(&mut self, at: usize) -> Cells {
        match self {
            Cells::Values(values) => Cells::Values(values.split_off(at.min(values.len()))),
            Cells::Texts(texts) => Cells::Texts(texts.split_off(at.min(texts.len()))),
        }
    }
}

/// Whether `rows` rows held in `cells` make a batch to hand over: [`BATCH_ROWS`] rows, or
/// about [`BATCH_BYTES`] bytes.
pub(crate) fn cells_are_full(cells: &[Cells], rows: usize) -> bool {
    rows >= BATCH_ROWS
        || (rows > 0
            && cells
                .iter()
                .fold(0usize, |bytes, c| bytes.saturating_add(c.bytes()))
                >= BATCH_BYTES)
}

/// Some of a model's rows, column by column. Iterating it by value yields [`Record`]s.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    columns: Arc<[String]>,
    /// One entry per column, each [`Batch::len`] long.
    cells: Vec<Cells>,
    rows: usize,
}

impl Batch {
    /// A batch of `values` (one vector per column of `columns`); fails when the column count
    /// differs or the columns are not all the same length.
    pub fn new(columns: Arc<[String]>, values: Vec<Vec<Value>>) -> Result<Self> {
        Self::from_cells(columns, values.into_iter().map(Cells::Values).collect())
    }

    /// A batch of column cells; fails like [`Batch::new`].
    pub fn from_cells(columns: Arc<[String]>, cells: Vec<Cells>) -> Result<Self> {
        let rows = cells.first().map_or(0, Cells::len);
        if cells.len() != columns.len() || cells.iter().any(|c| c.len() != rows) {
            return Err(SourceError::BadValue {
                column: columns.join(", "),
                message: format!(
                    "a batch of {} columns has {} cell lists of lengths {:?}",
                    columns.len(),
                    cells.len(),
                    cells.iter().map(Cells::len).collect::<Vec<_>>()
                ),
            });
        }
        Ok(Self {
            columns,
            cells,
            rows,
        })
    }

    /// An empty batch over `columns`.
    pub(crate) fn empty(columns: Arc<[String]>) -> Self {
        let cells = columns.iter().map(|_| Cells::Values(Vec::new())).collect();
        Self {
            columns,
            cells,
            rows: 0,
        }
    }

    /// How many rows it holds.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether it holds no row.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Whether it makes a batch to hand over: [`BATCH_ROWS`] rows, or about
    /// [`BATCH_BYTES`] bytes of cells.
    pub(crate) fn is_full(&self) -> bool {
        cells_are_full(&self.cells, self.rows)
    }

    /// The column names.
    pub fn columns(&self) -> &Arc<[String]> {
        &self.columns
    }

    /// The values of column `index`, one per row; `None` past the last column. Text
    /// columns are copied out of their buffer.
    pub fn column(&self, index: usize) -> Option<Cow<'_, [Value]>> {
        Some(match self.cells.get(index)? {
            Cells::Values(values) => Cow::Borrowed(values.as_slice()),
            Cells::Texts(texts) => Cow::Owned((0..texts.len()).map(|i| texts.value(i)).collect()),
        })
    }

    /// The values of column `index`, taking the batch apart; `None` past the last column.
    pub fn into_column(mut self, index: usize) -> Option<Vec<Value>> {
        (index < self.cells.len()).then(|| self.cells.swap_remove(index).into_values())
    }

    /// Checks the cells of column `index` as list ids into `ids`, reading text cells
    /// straight from their buffer. Returns `false` when there is no such column.
    pub fn take_ids(mut self, index: usize, ids: &mut ModelIds) -> bool {
        if index >= self.cells.len() {
            return false;
        }
        match self.cells.swap_remove(index) {
            Cells::Values(values) => ids.extend(values),
            Cells::Texts(texts) => ids.extend_texts(&texts.text, &texts.ends, &texts.nulls),
        }
        true
    }

    /// Appends `rows` rows, column by column: `fill` gets each column's index and cells and
    /// appends that column's `rows` cells to them. Fails, leaving the batch unusable, when a
    /// column did not get exactly `rows` cells.
    pub(crate) fn extend_columns(
        &mut self,
        rows: usize,
        mut fill: impl FnMut(usize, &mut Cells) -> Result<()>,
    ) -> Result<()> {
        let expected = self.rows + rows;
        for (index, cells) in self.cells.iter_mut().enumerate() {
            fill(index, cells)?;
            if cells.len() != expected {
                return Err(SourceError::BadValue {
                    column: self.columns.get(index).cloned().unwrap_or_default(),
                    message: format!(
                        "a chunk of {rows} rows gave this column {} cells",
                        cells.len() - self.rows.min(cells.len())
                    ),
                });
            }
        }
        self.rows = expected;
        Ok(())
    }

    /// Splits off the rows from `at` on into a batch of their own.
    pub(crate) fn split_off(&mut self, at: usize) -> Batch {
        let at = at.min(self.rows);
        let cells = self.cells.iter_mut().map(|c| c.split_off(at)).collect();
        let rest = Batch {
            columns: Arc::clone(&self.columns),
            cells,
            rows: self.rows - at,
        };
        self.rows = at;
        rest
    }
}

impl IntoIterator for Batch {
    type Item = Record;
    type IntoIter = Records;

    fn into_iter(self) -> Records {
        Records {
            columns: self.columns,
            cells: self
                .cells
                .into_iter()
                .map(|c| match c {
                    Cells::Values(values) => ColumnCursor::Values(values.into_iter()),
                    Cells::Texts(texts) => ColumnCursor::Texts(texts, 0),
                })
                .collect(),
            left: self.rows,
        }
    }
}

#[derive(Debug)]
enum ColumnCursor {
    Values(std::vec::IntoIter<Value>),
    Texts(Texts, usize),
}

impl ColumnCursor {
    fn next(&mut self) -> Value {
        match self {
            ColumnCursor::Values(values) => values.next().unwrap_or(Value::Null),
            ColumnCursor::Texts(texts, at) => {
                let value = texts.value(*at);
                *at += 1;
                value
            }
        }
    }
}

/// A batch's rows as [`Record`]s, in order.
#[derive(Debug)]
pub struct Records {
    columns: Arc<[String]>,
    cells: Vec<ColumnCursor>,
    left: usize,
}

impl Iterator for Records {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let row = self.cells.iter_mut().map(ColumnCursor::next).collect();
        // Every column holds `left` more cells, so the shape always fits.
        Record::new(Arc::clone(&self.columns), row).ok()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Records {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_full_at_its_rows_or_its_bytes() {
        let texts = |rows: usize, width: usize| {
            let mut texts = Texts::default();
            (0..rows).for_each(|_| texts.push(Some(&"x".repeat(width))));
            Cells::Texts(texts)
        };
        assert!(!cells_are_full(&[texts(0, 0)], 0));
        // Short ids: the row count decides.
        assert!(!cells_are_full(
            &[texts(BATCH_ROWS - 1, 17)],
            BATCH_ROWS - 1
        ));
        assert!(cells_are_full(&[texts(BATCH_ROWS, 17)], BATCH_ROWS));
        // Wide rows: the bytes decide, over all the columns.
        let wide = BATCH_BYTES / 1000;
        assert!(cells_are_full(&[texts(wide, 1000)], wide));
        assert!(!cells_are_full(&[texts(wide / 2, 1000)], wide / 2));
        assert!(cells_are_full(
            &[texts(wide / 2, 1000), texts(wide / 2, 1000)],
            wide / 2
        ));
        let values = Cells::Values(vec![Value::Null; BATCH_BYTES / size_of::<Value>()]);
        assert!(cells_are_full(&[values], BATCH_BYTES / size_of::<Value>()));
        // One row wider than a batch is a batch of its own.
        assert!(cells_are_full(&[texts(1, BATCH_BYTES)], 1));
    }

    fn batch(ids: std::ops::Range<i64>) -> Batch {
        let columns: Arc<[String]> = Arc::from(vec!["id".to_owned(), "name".to_owned()]);
        let mut names = Texts::default();
        for i in ids.clone() {
            names.push((i % 5 != 3).then(|| format!("n{i}")).as_deref());
        }
        let cells = vec![
            Cells::Values(ids.map(Value::Int).collect()),
            Cells::Texts(names),
        ];
        Batch::from_cells(columns, cells).unwrap()
    }

    fn ids(batch: &Batch) -> Vec<i64> {
        batch
            .column(0)
            .unwrap()
            .iter()
            .map(|v| match v {
                Value::Int(i) => *i,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_batch_yields_its_rows_in_order() {
        let records: Vec<Record> = batch(0..4).into_iter().collect();
        assert_eq!(records.len(), 4);
        assert_eq!(records[2].get("id"), Some(&Value::Int(2)));
        assert_eq!(records[2].get("name"), Some(&Value::from("n2")));
        assert_eq!(records[3].get("name"), Some(&Value::Null));
    }

    #[test]
    fn batches_append_and_split_by_row() {
        let mut a = batch(0..3);
        let mut more = batch(3..10);
        a.extend_columns(7, |i, cells| {
            cells.append(&mut more.cells[i]);
            Ok(())
        })
        .unwrap();
        assert_eq!(a.len(), 10);
        let rest = a.split_off(4);
        assert_eq!((ids(&a), ids(&rest)), (vec![0, 1, 2, 3], (4..10).collect()));
        assert_eq!(a.column(1).unwrap()[3], Value::Null);
        assert_eq!(a.column(1).unwrap()[2], Value::from("n2"));
        assert_eq!(rest.column(1).unwrap()[0], Value::from("n4"));
        assert_eq!(rest.column(1).unwrap()[4], Value::Null);
        assert_eq!(rest.into_column(1).unwrap().len(), 6);
        let mut empty = Batch::empty(Arc::clone(a.columns()));
        empty
            .extend_columns(4, |i, cells| {
                cells.append(&mut a.cells[i]);
                Ok(())
            })
            .unwrap();
        assert_eq!(empty.len(), 4);
        // A column that gets fewer cells than the rows is an error.
        let error = empty.extend_columns(2, |_, _| Ok(())).unwrap_err();
        assert!(
            error.to_string().contains("gave this column 0 cells"),
            "{error}"
        );
    }

    #[test]
    fn texts_extend_from_a_buffer_or_stay_as_they_were() {
        let mut texts = Texts::default();
        texts.push(Some("a"));
        assert!(texts.extend_from_buffer("bcé", [1, 1, 4], |i| i == 1));
        assert_eq!(
            (0..4).map(|i| texts.get(i).unwrap()).collect::<Vec<_>>(),
            [Some("a"), Some("b"), None, Some("cé")]
        );
        let before = texts.clone();
        // Off a character boundary, out of order, past the end, a null holding text.
        assert!(!texts.extend_from_buffer("é", [1], |_| false));
        assert!(!texts.extend_from_buffer("ab", [2, 1], |_| false));
        assert!(!texts.extend_from_buffer("ab", [3], |_| false));
        assert!(!texts.extend_from_buffer("ab", [2], |_| true));
        assert_eq!(texts, before);
    }

    #[test]
    fn text_cells_become_list_ids_without_values() {
        let mut gathered = ModelIds::new();
        assert!(batch(0..5).take_ids(1, &mut gathered));
        assert_eq!(gathered.read, 5);
        assert_eq!(gathered.valid.to_vec(), vec!["n0", "n1", "n2", "n4"]);
        assert_eq!(gathered.rejected.len(), 1);
        assert!(!batch(0..1).take_ids(7, &mut gathered));
    }

    #[test]
    fn a_ragged_batch_is_refused() {
        let columns: Arc<[String]> = Arc::from(vec!["a".to_owned(), "b".to_owned()]);
        let ragged = vec![vec![Value::Null], vec![]];
        assert!(Batch::new(Arc::clone(&columns), ragged).is_err());
        assert!(Batch::new(columns, vec![vec![Value::Null]]).is_err());
    }
}
