//! List member ids held compactly: [`Ids`] keeps every id of a list in one text buffer with
//! the end offset of each (four bytes), instead of one heap string per id. A list of five
//! million 17-character ids then takes about 105 MB instead of about 280 MB, allocates twice
//! instead of five million times, and is freed at once. [`ModelIds`] gathers a list sync's model
//! values into it as they are read, turning the invalid ones into rejected rows on the way.

use std::fmt;
use std::sync::Arc;

use serde::de::{SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::validate::{check_list_id, is_plain_list_id, looks_like_pii};
use crate::value::Value;

/// A sequence of ids, in one buffer. Serialized as a JSON array of strings.
//
// The sequence is either the buffer's ids in buffer order, or a selection of them in an
// order of its own (`order`, four bytes per id). Sorting (`into_sorted_set`) and taking a
// subset (`select`) build such a selection instead of copying the text, so a
// ten-million-member model, its sorted set and the members a plan adds share one buffer.
#[derive(Clone, Default)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(with = "Vec<String>")
)]
pub struct Ids {
    buffer: Arc<Buffer>,
    /// Which ids of the buffer, in which order; `None` for all of them in buffer order.
    order: Option<Vec<u32>>,
    /// The bytes of the ids in the sequence, together.
    bytes: usize,
    /// Known to be a sorted set (made by [`Ids::into_sorted_set`], a selection of one in its
    /// order, or ids appended in increasing order to an empty sequence), so sorting it again
    /// is free. `false` says nothing.
    sorted_set: bool,
}

/// The ids' text, one after another, and where each ends.
#[derive(Clone, Default)]
struct Buffer {
    text: String,
    /// The end of each id in `text`; id `i` starts where id `i - 1` ends.
    ends: Ends,
}

/// The ends of the ids in a buffer: four bytes each while the text is under 4 GiB (always,
/// for a list: the API takes 5 MB), eight beyond.
#[derive(Clone)]
enum Ends {
    Narrow(Vec<u32>),
    Wide(Vec<usize>),
}

impl Default for Ends {
    fn default() -> Self {
        Ends::Narrow(Vec::new())
    }
}

impl Ends {
    fn len(&self) -> usize {
        match self {
            Ends::Narrow(ends) => ends.len(),
            Ends::Wide(ends) => ends.len(),
        }
    }

    #[inline]
    fn get(&self, index: usize) -> Option<usize> {
        match self {
            Ends::Narrow(ends) => ends.get(index).map(|&end| end as usize),
            Ends::Wide(ends) => ends.get(index).copied(),
        }
    }

    fn push(&mut self, end: usize) {
        match self {
            Ends::Narrow(ends) => match u32::try_from(end) {
                Ok(end) => ends.push(end),
                Err(_) => {
                    let mut wide: Vec<usize> = ends.iter().map(|&e| e as usize).collect();
                    wide.push(end);
                    *self = Ends::Wide(wide);
                }
            },
            Ends::Wide(ends) => ends.push(end),
        }
    }
}

impl Buffer {
    /// The byte order of ids `a` and `b`: what a sort compares when their keys tie.
    #[cold]
    #[inline(never)]
    fn compare_at(&self, a: u32, b: u32) -> std::cmp::Ordering {
        let text = |index: u32| self.get(index as usize).unwrap_or_default();
        text(a).cmp(text(b))
    }

    #[inline]
    fn get(&self, index: usize) -> Option<&str> {
        let end = self.ends.get(index)?;
        let start = match index {
            0 => 0,
            _ => self.ends.get(index - 1)?,
        };
        self.text.get(start..end)
    }
}

/// A sort key and the buffer index it belongs to, packed in 12 bytes.
#[derive(Clone, Copy)]
#[repr(C, packed(4))]
struct Keyed {
    key: u64,
    index: u32,
}

impl Ids {
    /// An empty sequence.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty sequence with room for `ids` ids totalling `bytes` bytes.
    pub fn with_capacity(ids: usize, bytes: usize) -> Self {
        Self {
            buffer: Arc::new(Buffer {
                text: String::with_capacity(bytes),
                ends: Ends::Narrow(Vec::with_capacity(ids)),
            }),
            order: None,
            bytes: 0,
            sorted_set: false,
        }
    }

    /// The ids laid end to end in `text`, each ending at the next of `ends` (offsets into
    /// `text`): the buffer taken as it is, instead of one push per id. `None` when an end is
    /// out of order or off a character boundary, or the last end is not the end of `text`
    /// (so a text of 4 GiB or more, whose end no `u32` holds, is refused too).
    pub fn from_parts(text: String, ends: Vec<u32>) -> Option<Ids> {
        let mut start = 0;
        let fits = ends.iter().all(|&end| {
            let end = end as usize;
            let fits = start <= end && text.is_char_boundary(end);
            start = end;
            fits
        });
        if !fits || start != text.len() {
            return None;
        }
        let sorted_set =
            Ids::new().stays_sorted_set(text.as_bytes(), ends.iter().map(|&e| e as usize));
        let ends = Ends::Narrow(ends);
        Some(Ids {
            bytes: text.len(),
            buffer: Arc::new(Buffer { text, ends }),
            order: None,
            sorted_set,
        })
    }

    /// Appends an id.
    pub fn push(&mut self, id: &str) {
        if self.order.is_some() || Arc::strong_count(&self.buffer) > 1 {
            // A selection, or a buffer shared with another sequence: from now on this one
            // owns a buffer of its own holding exactly its ids.
            *self = self.iter().collect();
        }
        self.sorted_set = self.last_is_before(id.as_bytes());
        let buffer = Arc::make_mut(&mut self.buffer);
        buffer.text.push_str(id);
        buffer.ends.push(buffer.text.len());
        self.bytes += id.len();
    }

    /// Appends the ids laid end to end in `text`, each ending at the next of `ends` (offsets
    /// into `text`, increasing, on character boundaries, the last one `text.len()`): one copy
    /// of the text, not one push per id.
    fn extend_from_buffer(&mut self, text: &str, ends: &[usize]) {
        debug_assert_eq!(ends.last().copied().unwrap_or(0), text.len());
        if self.order.is_some() || Arc::strong_count(&self.buffer) > 1 {
            *self = self.iter().collect();
        }
        self.sorted_set = self.stays_sorted_set(text.as_bytes(), ends.iter().copied());
        let buffer = Arc::make_mut(&mut self.buffer);
        let offset = buffer.text.len();
        buffer.text.push_str(text);
        let total = buffer.text.len();
        if let Ends::Narrow(narrow) = &buffer.ends
            && u32::try_from(total).is_err()
        {
            buffer.ends = Ends::Wide(narrow.iter().map(|&e| e as usize).collect());
        }
        match &mut buffer.ends {
            // Every end is at most `total`, which fits.
            Ends::Narrow(narrow) => narrow.extend(ends.iter().map(|&end| (end + offset) as u32)),
            Ends::Wide(wide) => wide.extend(ends.iter().map(|&end| end + offset)),
        }
        self.bytes += text.len();
    }

    /// Whether the sequence stays a sorted set with `next` appended: it is empty, or a known
    /// sorted set whose last id is before `next`. (A sequence that is not known to be one
    /// stays unknown: checking it would cost a pass over every id.)
    #[inline]
    fn last_is_before(&self, next: &[u8]) -> bool {
        match self.len() {
            0 => true,
            len => self.sorted_set && self.get(len - 1).is_some_and(|last| last.as_bytes() < next),
        }
    }

    /// Whether the sequence stays a sorted set with the ids of `text` (ending at `ends`, as
    /// [`Ids::extend_from_buffer`] takes them) appended. The ids were just read, so checking
    /// their order here costs little, and spares a pass over every id when the whole
    /// sequence is sorted later: a model that returns its ids in order, as a table scan of
    /// ids written in order does, is a sorted set from the start.
    fn stays_sorted_set(&self, text: &[u8], ends: impl IntoIterator<Item = usize>) -> bool {
        let mut ends = ends.into_iter().peekable();
        if ends.peek().is_none() {
            return self.sorted_set || self.is_empty();
        }
        let mut start = 0;
        let mut previous: Option<&[u8]> = None;
        ends.all(|end| {
            let Some(id) = text.get(start..end) else {
                return false;
            };
            start = end;
            let in_order = match previous {
                Some(previous) => previous < id,
                None => self.last_is_before(id),
            };
            previous = Some(id);
            in_order
        })
    }

    /// How many ids.
    #[inline]
    pub fn len(&self) -> usize {
        match &self.order {
            Some(order) => order.len(),
            None => self.buffer.ends.len(),
        }
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The id at `index`.
    #[inline]
    pub fn get(&self, index: usize) -> Option<&str> {
        match &self.order {
            Some(order) => self.buffer.get(*order.get(index)? as usize),
            None => self.buffer.get(index),
        }
    }

    /// The ids in order.
    pub fn iter(&self) -> IdsIter<'_> {
        IdsIter {
            ids: self,
            position: 0,
            start: 0,
        }
    }

    /// The length of the ids joined by commas, without joining them.
    pub fn joined_len(&self) -> usize {
        self.bytes + self.len().saturating_sub(1)
    }

    /// The ids joined by `separator`.
    pub fn join(&self, separator: char) -> String {
        let mut out = String::with_capacity(self.joined_len());
        for (i, id) in self.iter().enumerate() {
            if i > 0 {
                out.push(separator);
            }
            out.push_str(id);
        }
        out
    }

    /// Whether the ids are strictly increasing (sorted by bytes, no duplicates).
    pub fn is_sorted_set(&self) -> bool {
        let mut ids = self.iter();
        let Some(mut previous) = ids.next() else {
            return true;
        };
        for id in ids {
            if id <= previous {
                return false;
            }
            previous = id;
        }
        true
    }

    /// The ids sorted by bytes, each once, as a selection over the same buffer (no text is
    /// copied).
    ///
    /// Ids usually share a prefix (`user-000…`), so each id is sorted by a key: the 8 bytes
    /// after the prefix all ids share, as a big-endian number (zero-padded). Keys compare
    /// without touching the text; only ids whose keys tie are compared in full. Equal keys
    /// mean equal bytes up to the key's end (or a shorter id padded with zeros), so the order
    /// is exactly the ids' byte order. The keys take 12 bytes per id while sorting, and that
    /// memory then holds the selection's four bytes per id.
    ///
    /// A sequence nearly in order already (at most one id in eight out of place) is not
    /// sorted whole: the ids that keep increasing form one run, and the others are sorted
    /// apart and merged into it.
    pub fn into_sorted_set(mut self) -> Ids {
        if self.sorted_set || self.is_sorted_set() {
            self.sorted_set = true;
            return self;
        }
        if let Some(sorted) = self.merge_stragglers() {
            return sorted;
        }
        let Some(mut keyed) = self.keyed() else {
            // More ids than a selection can index: a copy, sorted.
            let mut all: Vec<&str> = self.iter().collect();
            all.sort_unstable();
            all.dedup();
            let mut sorted: Ids = all.into_iter().collect();
            sorted.sorted_set = true;
            return sorted;
        };
        let buffer = &*self.buffer;
        let text = |k: &Keyed| buffer.get(k.index as usize).unwrap_or_default();
        // Kept small, so that the sort inlines it: ties are rare and compared out of line.
        let order = |a: &Keyed, b: &Keyed| {
            let (ka, kb) = (a.key, b.key);
            if ka == kb {
                return buffer.compare_at(a.index, b.index);
            }
            ka.cmp(&kb)
        };
        sort_in_two(&mut keyed, order);
        let all = keyed.len();
        keyed.dedup_by(|later, kept| {
            let (kl, kk) = (later.key, kept.key);
            kl == kk && text(later) == text(kept)
        });
        let bytes = if keyed.len() == all {
            self.bytes
        } else {
            keyed.iter().map(|k| text(k).len()).sum()
        };
        // Reuses the keys' memory, then gives back what the indexes do not need.
        let mut order: Vec<u32> = keyed.into_iter().map(|k| k.index).collect();
        order.shrink_to_fit();
        Ids {
            buffer: self.buffer,
            order: Some(order),
            bytes,
            sorted_set: true,
        }
    }

    /// The sequence as a sorted set when it is nearly in order already: the ids that keep
    /// increasing form one run, and the few that break it (stragglers) are sorted on their
    /// own and merged in. A table scanned in the order its ids were written, with some rows
    /// since updated in place or appended, reads that way. One pass finds the run; an id
    /// joins it when it is above the run's last id and below the id after it, so an id out
    /// of place costs one straggler, not the run.
    ///
    /// `None` when more than one id in [`STRAGGLERS_AT_MOST_ONE_IN`] breaks the run (the
    /// pass then stops early, and a full sort is cheaper) or the sequence is not selectable.
    fn merge_stragglers(&self) -> Option<Ids> {
        let len = self.len();
        if !self.selectable() || len < 2 {
            return None;
        }
        let budget = len / STRAGGLERS_AT_MOST_ONE_IN;
        let buffer_index = |position: usize| match &self.order {
            Some(order) => order[position],
            // Below the sequence's length, which fits a u32 (selectable).
            None => position as u32,
        };
        let (mut run, mut stragglers) = (Vec::with_capacity(len), Vec::new());
        let (mut run_bytes, mut last): (usize, Option<&str>) = (0, None);
        // Whether the id just before the current one joined the run, which also says the
        // current one is above it: then no comparison with the run's last id is needed.
        let mut follows_run = false;
        let mut ids = self.iter().enumerate().peekable();
        while let Some((position, id)) = ids.next() {
            let above_run = follows_run || last.is_none_or(|last| last < id);
            let below_next = ids.peek().is_none_or(|&(_, next)| id < next);
            follows_run = above_run && below_next;
            if follows_run {
                run.push(buffer_index(position));
                run_bytes += id.len();
                last = Some(id);
            } else {
                // Positions fit a u32 (selectable).
                stragglers.push(position as u32);
                if stragglers.len() > budget {
                    return None;
                }
            }
        }
        let stragglers = self.select(stragglers).into_sorted_set();
        let run = Ids {
            buffer: Arc::clone(&self.buffer),
            order: Some(run),
            bytes: run_bytes,
            sorted_set: true,
        };
        Some(run.merge_sorted_selection(&stragglers))
    }

    /// The union of two sorted sets over the same buffer, `self` the larger: each id of
    /// `other` finds its place in `self` by doubling steps and a binary search, and the ids of
    /// `self` between two places are taken whole.
    fn merge_sorted_selection(self, other: &Ids) -> Ids {
        debug_assert!(Arc::ptr_eq(&self.buffer, &other.buffer));
        debug_assert!(self.sorted_set && other.sorted_set);
        let (Some(mine), Some(theirs)) = (&self.order, &other.order) else {
            // Not reached: both are selections made above. A copy, sorted, otherwise.
            return self
                .iter()
                .chain(other.iter())
                .collect::<Ids>()
                .into_sorted_set();
        };
        let buffer = &*self.buffer;
        let text = |index: u32| buffer.get(index as usize).unwrap_or_default();
        let mut merged = Vec::with_capacity(mine.len() + theirs.len());
        let (mut from, mut bytes) = (0, self.bytes + other.bytes);
        for &index in theirs {
            let id = text(index);
            let place = from + gallop_below(mine.len() - from, |k| text(mine[from + k]) < id);
            merged.extend_from_slice(&mine[from..place]);
            from = place;
            if mine.get(place).is_some_and(|&i| text(i) == id) {
                bytes -= id.len();
            } else {
                merged.push(index);
            }
        }
        merged.extend_from_slice(&mine[from..]);
        Ids {
            buffer: Arc::clone(&self.buffer),
            order: Some(merged),
            bytes,
            sorted_set: true,
        }
    }

    /// The sort keys of the sequence (see [`Ids::into_sorted_set`]), or `None` when the
    /// buffer holds more ids than a `u32` can index.
    fn keyed(&self) -> Option<Vec<Keyed>> {
        u32::try_from(self.buffer.ends.len()).ok()?;
        let shared = self.shared_prefix_len();
        let key = |id: &str| {
            let rest = id.as_bytes().get(shared..).unwrap_or_default();
            if let Some(first) = rest.first_chunk::<8>() {
                return u64::from_be_bytes(*first);
            }
            let mut key = [0u8; 8];
            key[..rest.len()].copy_from_slice(rest);
            u64::from_be_bytes(key)
        };
        let buffer_index = |position: usize| match &self.order {
            Some(order) => order[position],
            // Below the buffer's length, which fits a u32 (checked above).
            None => position as u32,
        };
        Some(
            self.iter()
                .enumerate()
                .map(|(position, id)| Keyed {
                    key: key(id),
                    index: buffer_index(position),
                })
                .collect(),
        )
    }

    /// The positions of the sequence ordered by their ids' bytes, duplicates kept (in no
    /// particular order among themselves), or `None` when the sequence is too long for
    /// `u32` positions. Sorted by the same keys as [`Ids::into_sorted_set`], without
    /// copying any text.
    pub fn sorted_positions(&self) -> Option<Vec<u32>> {
        if !self.selectable() {
            return None;
        }
        if self.order.is_none()
            && let Some(mut keyed) = self.keyed()
        {
            let buffer = &*self.buffer;
            sort_in_two(&mut keyed, |a: &Keyed, b: &Keyed| {
                let (ka, kb) = (a.key, b.key);
                if ka == kb {
                    return buffer.compare_at(a.index, b.index);
                }
                ka.cmp(&kb)
            });
            // Without a selection, a buffer index is the position.
            return Some(keyed.into_iter().map(|k| k.index).collect());
        }
        // Fits: checked by `selectable` above.
        let mut positions: Vec<u32> = (0..self.len() as u32).collect();
        positions.sort_unstable_by(|a, b| self.get(*a as usize).cmp(&self.get(*b as usize)));
        Some(positions)
    }

    /// Whether [`Ids::select`] can take positions of this sequence as `u32`s.
    pub fn selectable(&self) -> bool {
        u32::try_from(self.len()).is_ok()
    }

    /// The ids at `positions` (positions of this sequence, as [`Ids::selectable`] allows), as
    /// a selection over the same buffer: no text is copied, and `positions` becomes the
    /// selection's memory.
    pub fn select(&self, mut positions: Vec<u32>) -> Ids {
        let mut bytes = 0;
        let increasing = positions.is_sorted_by(|a, b| a < b);
        positions.retain_mut(|position| {
            let Some(id) = self.get(*position as usize) else {
                return false;
            };
            bytes += id.len();
            if let Some(order) = &self.order {
                *position = order[*position as usize];
            }
            true
        });
        Ids {
            buffer: Arc::clone(&self.buffer),
            order: Some(positions),
            bytes,
            sorted_set: self.sorted_set && increasing,
        }
    }

    /// Like [`Ids::select`], for `positions` that a walk of this sequence found: each a
    /// position of it, increasing, their ids `bytes` long in all. Nothing is looked up.
    pub(crate) fn select_increasing(&self, mut positions: Vec<u32>, bytes: usize) -> Ids {
        debug_assert!(positions.is_sorted_by(|a, b| a < b));
        debug_assert!(positions.last().is_none_or(|&p| (p as usize) < self.len()));
        if let Some(order) = &self.order {
            for position in &mut positions {
                *position = order[*position as usize];
            }
        }
        debug_assert_eq!(
            positions
                .iter()
                .map(|&p| self.buffer.get(p as usize).map_or(0, str::len))
                .sum::<usize>(),
            bytes
        );
        Ids {
            buffer: Arc::clone(&self.buffer),
            order: Some(positions),
            bytes,
            sorted_set: self.sorted_set,
        }
    }

    /// The bytes of the ids, together.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// How many leading bytes every id shares.
    fn shared_prefix_len(&self) -> usize {
        let Some(first) = self.get(0) else {
            return 0;
        };
        let first = first.as_bytes();
        self.iter().fold(first.len(), |shared, id| {
            let (prefix, id) = (&first[..shared], id.as_bytes());
            // Nearly every id has the prefix found so far: one comparison, not a byte walk.
            if id.starts_with(prefix) {
                return shared;
            }
            prefix.iter().zip(id).take_while(|(a, b)| a == b).count()
        })
    }

    /// A copy as plain strings (for tests and small lists).
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }
}

/// A sequence with more than one id in this many out of order is sorted in full rather than
/// as a run with stragglers merged in ([`Ids::merge_stragglers`]).
const STRAGGLERS_AT_MOST_ONE_IN: usize = 8;

/// How many of the positions `0..len` satisfy `below`, which holds for a leading run of
/// them and for none after: doubling steps from the start, then a binary search, so a run of
/// `n` costs about `2 log n` calls.
pub(crate) fn gallop_below(len: usize, below: impl Fn(usize) -> bool) -> usize {
    let (mut low, mut step) = (0usize, 1usize);
    // Every position before `low` is below; `high` is the first tried that is not, or `len`.
    let mut high = loop {
        let probe = low.saturating_add(step - 1);
        if probe >= len {
            break len;
        }
        if !below(probe) {
            break probe;
        }
        low = probe + 1;
        step = step.saturating_mul(2);
    };
    while low < high {
        let middle = low + (high - low) / 2;
        if below(middle) {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    low
}

/// Below this many keys one thread sorts them all: a second one would not pay for itself.
const SORT_IN_TWO_FROM: usize = 1 << 15;

/// Sorts `keyed` by `order`, on two threads when there are many keys and two cores: the keys
/// are split around a pivot (the median of a sample) in place, and each part is sorted on a
/// thread of its own. No memory is taken beyond the keys. If a thread cannot be started,
/// this one sorts both parts.
fn sort_in_two<F>(keyed: &mut [Keyed], order: F)
where
    F: Fn(&Keyed, &Keyed) -> std::cmp::Ordering + Sync,
{
    let two_cores = || std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
    if keyed.len() < SORT_IN_TWO_FROM || !two_cores() {
        keyed.sort_unstable_by(&order);
        return;
    }
    let step = keyed.len() / 64;
    let mut sample: Vec<Keyed> = (0..64).map(|i| keyed[i * step]).collect();
    sample.sort_unstable_by(&order);
    let pivot = sample[32];
    let split = partition(keyed, |k| order(k, &pivot) == std::cmp::Ordering::Less);
    let (below, rest) = keyed.split_at_mut(split);
    // Locked once by whichever thread sorts it.
    let below = std::sync::Mutex::new(below);
    let sort_below = || {
        below
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .sort_unstable_by(&order);
    };
    std::thread::scope(|scope| {
        let started = std::thread::Builder::new()
            .name("optisync-sort".to_owned())
            .spawn_scoped(scope, sort_below);
        rest.sort_unstable_by(&order);
        if started.is_err() {
            sort_below();
        }
    });
}

/// Moves the keys for which `below` holds before the others, in place; returns how many.
fn partition(keyed: &mut [Keyed], below: impl Fn(&Keyed) -> bool) -> usize {
    let (mut front, mut back) = (0, keyed.len());
    loop {
        while front < back && below(&keyed[front]) {
            front += 1;
        }
        while front < back && !below(&keyed[back - 1]) {
            back -= 1;
        }
        if front >= back {
            return front;
        }
        keyed.swap(front, back - 1);
        front += 1;
        back -= 1;
    }
}

/// The ids of an [`Ids`] in order. Walking the buffer's own order, each id starts where the
/// one before ended, so each takes one look-up of its end.
#[derive(Clone, Debug)]
pub struct IdsIter<'a> {
    ids: &'a Ids,
    position: usize,
    /// Where the next id starts in the buffer, when walking it in its own order.
    start: usize,
}

impl<'a> Iterator for IdsIter<'a> {
    type Item = &'a str;

    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        let buffer = &self.ids.buffer;
        let id = match &self.ids.order {
            Some(order) => buffer.get(*order.get(self.position)? as usize),
            None => {
                let end = buffer.ends.get(self.position)?;
                let id = buffer.text.get(self.start..end);
                self.start = end;
                id
            }
        };
        self.position += 1;
        Some(id.unwrap_or_default())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.ids.len().saturating_sub(self.position);
        (left, Some(left))
    }
}

impl ExactSizeIterator for IdsIter<'_> {}

impl PartialEq for Ids {
    fn eq(&self, other: &Self) -> bool {
        if self.len() != other.len() {
            return false;
        }
        if let (None, None) = (&self.order, &other.order) {
            // Two whole buffers of the same ids hold the same text with the same ends.
            let (mine, theirs) = (&*self.buffer, &*other.buffer);
            match (&mine.ends, &theirs.ends) {
                (Ends::Narrow(a), Ends::Narrow(b)) => return mine.text == theirs.text && a == b,
                (Ends::Wide(a), Ends::Wide(b)) => return mine.text == theirs.text && a == b,
                _ => {}
            }
        }
        self.iter().eq(other.iter())
    }
}

impl Eq for Ids {}

impl fmt::Debug for Ids {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<S: AsRef<str>> FromIterator<S> for Ids {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        let mut ids = Ids::new();
        for id in iter {
            ids.push(id.as_ref());
        }
        ids
    }
}

impl From<Vec<String>> for Ids {
    fn from(ids: Vec<String>) -> Self {
        ids.iter().collect()
    }
}

impl PartialEq<Vec<String>> for Ids {
    fn eq(&self, other: &Vec<String>) -> bool {
        self.len() == other.len() && self.iter().zip(other).all(|(a, b)| a == b)
    }
}

impl Serialize for Ids {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        for id in self.iter() {
            seq.serialize_element(id)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Ids {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdsVisitor;

        impl<'de> Visitor<'de> for IdsVisitor {
            type Value = Ids;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of ids")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Ids, A::Error> {
                let mut ids = Ids::new();
                while let Some(id) = seq.next_element::<std::borrow::Cow<'de, str>>()? {
                    ids.push(&id);
                }
                Ok(ids)
            }
        }

        deserializer.deserialize_seq(IdsVisitor)
    }
}

/// An id the model returned that cannot be a list member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedId {
    /// The id as text, when it has one (a null, blank or unreadable id has none). Whole: the
    /// planner's rejected row shows it cut and escaped.
    pub id: Option<String>,
    /// Why it cannot be sent.
    pub problem: String,
}

/// A list sync's model values, checked as they are read: the valid ids (trimmed; integers as
/// their decimal text) in model order, and the others as rejected rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelIds {
    /// The ids that can be sent, in model order, duplicates included.
    pub valid: Ids,
    /// The values that cannot be ids, with why.
    pub rejected: Vec<RejectedId>,
    /// Every value read.
    pub read: u64,
    /// How many of the valid ids, duplicates included, look like an e-mail address or a
    /// phone number: checked here, as each id is read, so that the planner looks at the
    /// deduplicated set again only when some do.
    pub(crate) looking_like_pii: u64,
}

impl ModelIds {
    /// An empty gathering.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks and keeps one text cell (`None` for a null), without a [`Value`] for it.
    pub fn push_text(&mut self, cell: Option<&str>) {
        self.read += 1;
        if let Some(id) = cell.filter(|id| is_plain_list_id(id)) {
            self.valid.push(id);
            return;
        }
        let Some(id) = cell.map(str::trim).filter(|t| !t.is_empty()) else {
            self.rejected.push(RejectedId {
                id: None,
                problem: "user_id is null or empty".to_owned(),
            });
            return;
        };
        match check_list_id(id) {
            Ok(()) => {
                if looks_like_pii(id).is_some() {
                    self.looking_like_pii += 1;
                }
                self.valid.push(id);
            }
            Err(problem) => self.rejected.push(RejectedId {
                id: Some(id.to_owned()),
                problem: problem.to_string(),
            }),
        }
    }

    /// Checks and keeps a column of text cells held in one buffer: `text`, the end of each
    /// cell in it (increasing, on character boundaries) and which cells are null. When every
    /// cell is a plain id, as nearly always, the ids are checked in one pass and kept in one
    /// copy of the buffer; otherwise each cell goes through [`ModelIds::push_text`].
    pub fn extend_texts(&mut self, text: &str, ends: &[usize], nulls: &[bool]) {
        let plain = ends.len() == nulls.len()
            && !nulls.contains(&true)
            && crate::validate::are_plain_list_ids(text.as_bytes(), ends);
        if plain {
            let used = ends.last().copied().unwrap_or(0);
            if let Some(used_text) = text.get(..used) {
                self.read += ends.len() as u64;
                self.valid.extend_from_buffer(used_text, ends);
                return;
            }
        }
        let mut start = 0;
        for (&end, &null) in ends.iter().zip(nulls) {
            self.push_text(if null { None } else { text.get(start..end) });
            start = end;
        }
    }

    /// Checks and keeps one model value (integers as their decimal text). A cell the source
    /// could not convert is rejected with the source's reason.
    pub fn push(&mut self, value: Value) {
        if let Value::Invalid(reason) = value {
            self.read += 1;
            self.rejected.push(RejectedId {
                id: None,
                problem: format!("user_id cannot be read: {reason}"),
            });
            return;
        }
        self.push_text(value.into_id_text().as_deref());
    }
}

impl Extend<Value> for ModelIds {
    fn extend<I: IntoIterator<Item = Value>>(&mut self, values: I) {
        for value in values {
            self.push(value);
        }
    }
}

impl FromIterator<Value> for ModelIds {
    fn from_iter<I: IntoIterator<Item = Value>>(values: I) -> Self {
        let mut ids = ModelIds::new();
        ids.extend(values);
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn ends_take_eight_bytes_only_past_four_gib_of_text() {
        let mut ends = Ends::default();
        ends.push(3);
        ends.push(u32::MAX as usize);
        assert!(matches!(ends, Ends::Narrow(_)));
        ends.push(u32::MAX as usize + 1);
        assert!(matches!(ends, Ends::Wide(_)));
        ends.push(1 << 40);
        assert_eq!(ends.len(), 4);
        assert_eq!(
            (0..5).map(|i| ends.get(i)).collect::<Vec<_>>(),
            [
                Some(3),
                Some(u32::MAX as usize),
                Some(u32::MAX as usize + 1),
                Some(1 << 40),
                None
            ]
        );
    }

    fn ids(items: &[&str]) -> Ids {
        items.iter().collect()
    }

    #[test]
    fn ids_keep_order_and_join() {
        let list = ids(&["b", "", "ccc"]);
        assert_eq!(list.len(), 3);
        assert_eq!(list.get(1), Some(""));
        assert_eq!(list.get(3), None);
        assert_eq!(list.join(','), "b,,ccc");
        assert_eq!(list.joined_len(), 6);
        assert_eq!(Ids::new().joined_len(), 0);
        assert_eq!(list, vec!["b".to_owned(), String::new(), "ccc".to_owned()]);
    }

    proptest::proptest! {
        #[test]
        fn sorted_sets_match_sorting_strings(
            items in proptest::collection::vec("(user-0{0,9}|)[a-c0-9\\x00\u{e9}]{0,12}", 0..40)
        ) {
            let mut expected = items.clone();
            expected.sort();
            expected.dedup();
            let sorted = items.iter().collect::<Ids>().into_sorted_set();
            proptest::prop_assert!(sorted.is_sorted_set());
            proptest::prop_assert_eq!(sorted.to_vec(), expected);
        }
    }

    proptest::proptest! {
        /// Sequences nearly in order, as a table scan of ids written in order returns them
        /// after some rows were updated in place, appended or repeated: a run with
        /// stragglers merged in, or a full sort past the budget, both give the sorted set.
        #[test]
        fn nearly_sorted_sequences_match_sorting_strings(
            len in 0usize..300,
            changes in proptest::collection::vec((0usize..300, "[a-z0-9]{0,6}", 0u8..4), 0..40),
            as_selection in proptest::bool::ANY,
        ) {
            let mut items: Vec<String> = (0..len).map(|i| format!("user-{i:04}")).collect();
            for (at, new, how) in changes {
                let at = at.min(items.len());
                match how {
                    // Replaced in place, by an id anywhere in the order.
                    0 if at < items.len() => items[at] = format!("user-{new}"),
                    // Inserted, or a copy of a neighbour (a duplicate next to itself).
                    1 => items.insert(at, format!("user-{new}")),
                    2 if at < items.len() => items.insert(at, items[at].clone()),
                    // Appended at the end.
                    _ => items.push(format!("user-{new}")),
                }
            }
            let mut expected = items.clone();
            expected.sort();
            expected.dedup();
            let ids = if as_selection {
                // The same sequence as a selection over a buffer in another order.
                let reversed: Ids = items.iter().rev().collect();
                let positions = (0..items.len() as u32).rev().collect();
                reversed.select(positions)
            } else {
                items.iter().collect::<Ids>()
            };
            proptest::prop_assert_eq!(ids.to_vec(), items.clone());
            let sorted = ids.into_sorted_set();
            proptest::prop_assert!(sorted.is_sorted_set());
            proptest::prop_assert_eq!(sorted.joined_len(), expected.join(",").len());
            proptest::prop_assert_eq!(sorted.to_vec(), expected);
        }
    }

    #[test]
    fn stragglers_are_merged_into_the_run_and_too_many_are_sorted_in_full() {
        // One id in a hundred replaced by one past the end, as the plan bench's model.
        let items: Vec<String> = (0..10_000u32)
            .map(|i| {
                if i % 100 == 0 {
                    format!("user-{:06}", i + 10_000)
                } else {
                    format!("user-{i:06}")
                }
            })
            .collect();
        let ids: Ids = items.iter().collect();
        let merged = ids.merge_stragglers().map(|m| m.to_vec());
        let mut expected = items.clone();
        expected.sort();
        assert_eq!(merged, Some(expected.clone()));
        assert_eq!(ids.into_sorted_set().to_vec(), expected);
        // Reversed, every id but the last breaks the run: past the budget.
        let reversed: Ids = items.iter().rev().collect();
        assert!(reversed.merge_stragglers().is_none());
        assert_eq!(reversed.into_sorted_set().to_vec(), expected);
    }

    #[test]
    fn gallop_below_counts_the_prefix_that_holds() {
        for cut in 0..=100 {
            assert_eq!(gallop_below(100, |i| i < cut), cut);
        }
        assert_eq!(gallop_below(0, |_| true), 0);
    }

    /// Enough ids for the two-thread sort, with duplicates, ids whose keys tie (they differ
    /// only after the key's 8 bytes) and a selection as input.
    #[test]
    fn a_sort_on_two_threads_matches_sorting_strings() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let items: Vec<String> = (0..3 * SORT_IN_TWO_FROM)
            .map(|_| {
                let n = next();
                match n % 4 {
                    0 => format!("user-{:06}", n % 5000),
                    1 => format!("user-{:08}tail{}", n % 97, n % 13),
                    2 => format!("user-{}", n % 100_000),
                    _ => format!("u{n:x}"),
                }
            })
            .collect();
        let mut expected = items.clone();
        expected.sort();
        expected.dedup();
        let sorted = items.iter().collect::<Ids>().into_sorted_set();
        assert!(sorted.is_sorted_set());
        assert_eq!(sorted.to_vec(), expected);
        assert_eq!(sorted.joined_len(), expected.join(",").len());
        // A selection in reverse order, sorted again.
        let reversed = sorted.select((0..sorted.len() as u32).rev().collect());
        assert!(!reversed.is_sorted_set());
        assert_eq!(reversed.into_sorted_set().to_vec(), expected);
    }

    #[test]
    fn whole_buffers_compare_by_their_text_and_ends() {
        let ab: Ids = ["a", "b"].into_iter().collect();
        assert_eq!(ab, ["a", "b"].into_iter().collect::<Ids>());
        assert_ne!(ab, ["ab", ""].into_iter().collect::<Ids>());
        assert_ne!(ab, ["a", "c"].into_iter().collect::<Ids>());
        // A selection and a whole buffer with the same ids are equal.
        let selected = ["b", "a"].into_iter().collect::<Ids>().into_sorted_set();
        assert_eq!(selected, ab);
    }

    proptest::proptest! {
        #[test]
        fn selections_share_the_buffer_and_behave_as_copies(
            items in proptest::collection::vec("[a-d]{0,3}", 0..30),
            keep in proptest::collection::vec(proptest::bool::ANY, 30),
            extra in "[a-d]{0,3}",
        ) {
            let sorted = items.iter().collect::<Ids>().into_sorted_set();
            let positions: Vec<u32> = (0..sorted.len() as u32).filter(|p| keep[*p as usize]).collect();
            let expected: Vec<String> = positions.iter().map(|p| sorted.to_vec()[*p as usize].clone()).collect();
            let selected = sorted.select(positions);
            proptest::prop_assert_eq!(selected.to_vec(), expected.clone());
            proptest::prop_assert_eq!(selected.joined_len(), expected.join(",").len());
            proptest::prop_assert_eq!(&selected, &expected.iter().collect::<Ids>());
            // A selection of a selection, then a push: each stays what its ids say.
            let again = selected.select((0..selected.len() as u32).step_by(2).collect());
            let mut pushed = again.clone();
            pushed.push(&extra);
            let mut expected_pushed: Vec<String> = expected.iter().step_by(2).cloned().collect();
            proptest::prop_assert_eq!(again.to_vec(), expected_pushed.clone());
            expected_pushed.push(extra.clone());
            proptest::prop_assert_eq!(pushed.to_vec(), expected_pushed.clone());
            proptest::prop_assert_eq!(pushed.joined_len(), expected_pushed.join(",").len());
            // The sorted set still reads the same after its selections were changed.
            let mut all = items.clone();
            all.sort();
            all.dedup();
            proptest::prop_assert_eq!(sorted.to_vec(), all);
        }
    }

    #[test]
    fn ids_serialize_as_a_json_array() {
        let list = ids(&["u1", "u,2\"x"]);
        let json = serde_json::to_string(&list).unwrap_or_default();
        assert_eq!(json, r#"["u1","u,2\"x"]"#);
        let back: Ids = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back, list);
        assert!(serde_json::from_str::<Ids>("[1]").is_err());
    }

    #[test]
    fn hidden_characters_and_invalid_cells_are_rejected() {
        let gathered: ModelIds = [
            Value::from("u\n1"),
            Value::Invalid("the timestamp is out of range".to_owned()),
            Value::from("ok"),
        ]
        .into_iter()
        .collect();
        assert_eq!(gathered.read, 3);
        assert_eq!(gathered.valid.to_vec(), vec!["ok"]);
        let [control, invalid] = &gathered.rejected[..] else {
            panic!("{:?}", gathered.rejected);
        };
        assert_eq!(control.id.as_deref(), Some("u\n1"));
        assert!(control.problem.contains("U+000A"), "{}", control.problem);
        assert_eq!(invalid.id, None);
        assert!(
            invalid.problem.contains("timestamp is out of range"),
            "{}",
            invalid.problem
        );
    }

    #[test]
    fn model_ids_reject_what_cannot_be_sent() {
        let gathered: ModelIds = [
            Value::from(" u1 "),
            Value::Int(42),
            Value::Null,
            Value::from("a,b"),
            Value::from("x".repeat(101)),
        ]
        .into_iter()
        .collect();
        assert_eq!(gathered.read, 5);
        assert_eq!(gathered.valid.to_vec(), vec!["u1", "42"]);
        assert_eq!(gathered.rejected.len(), 3);
        assert_eq!(gathered.rejected[0].id, None);
        assert_eq!(gathered.rejected[1].id.as_deref(), Some("a,b"));
    }

    /// Cells as a column of text: one buffer, the end of each cell, the nulls.
    fn column(cells: &[Option<&str>]) -> (String, Vec<usize>, Vec<bool>) {
        let mut text = String::new();
        let mut ends = Vec::new();
        let mut nulls = Vec::new();
        for cell in cells {
            text.push_str(cell.unwrap_or_default());
            ends.push(text.len());
            nulls.push(cell.is_none());
        }
        (text, ends, nulls)
    }

    #[test]
    fn a_column_of_texts_is_kept_as_pushing_each_cell_would() {
        let cases: &[&[Option<&str>]] = &[
            &[Some("u-1"), Some("u-2"), Some("u-1")],
            &[],
            &[Some("u-1"), None, Some("u-3")],
            &[Some("u-1"), Some(" padded "), Some("a,b"), Some("")],
            &[
                Some("ann@example.com"),
                Some("+1 (555) 010-9999"),
                Some("ok"),
            ],
            &[Some("ünïcode-id"), Some("u-2")],
        ];
        for cells in cases {
            let (text, ends, nulls) = column(cells);
            for prefix in [&[][..], &["first", "second"][..]] {
                let mut bulk = ModelIds::new();
                let mut one_by_one = ModelIds::new();
                for id in prefix {
                    bulk.push_text(Some(id));
                    one_by_one.push_text(Some(id));
                }
                bulk.extend_texts(&text, &ends, &nulls);
                for cell in *cells {
                    one_by_one.push_text(*cell);
                }
                assert_eq!(bulk, one_by_one, "{cells:?}");
                assert_eq!(bulk.looking_like_pii, one_by_one.looking_like_pii);
                assert_eq!(
                    bulk.valid.iter().collect::<Vec<_>>(),
                    one_by_one.valid.iter().collect::<Vec<_>>()
                );
            }
        }
    }

    #[test]
    fn a_column_appended_to_a_selection_or_a_shared_buffer_leaves_the_other_alone() {
        let mut ids = ModelIds::new();
        for id in ["c", "a", "b"] {
            ids.push_text(Some(id));
        }
        let shared = ids.valid.clone();
        let (text, ends, nulls) = column(&[Some("d"), Some("e")]);
        ids.extend_texts(&text, &ends, &nulls);
        assert_eq!(shared.iter().collect::<Vec<_>>(), ["c", "a", "b"]);
        assert_eq!(
            ids.valid.iter().collect::<Vec<_>>(),
            ["c", "a", "b", "d", "e"]
        );
        let mut sorted = ModelIds {
            valid: ids.valid.clone().into_sorted_set(),
            ..ModelIds::new()
        };
        sorted.extend_texts(&text, &ends, &nulls);
        assert_eq!(
            sorted.valid.iter().collect::<Vec<_>>(),
            ["a", "b", "c", "d", "e", "d", "e"]
        );
    }

    proptest::proptest! {
        /// Ids appended to an empty sequence, one by one or a column at a time, are known to
        /// be a sorted set exactly when they are one, so sorting ids read in order is free.
        #[test]
        fn ids_appended_in_order_are_known_to_be_a_sorted_set(
            items in proptest::collection::vec("u-[a-c]{0,3}", 0..30),
            cut in 0usize..30,
            in_order in proptest::bool::ANY,
        ) {
            let mut items = items;
            if in_order {
                items.sort();
                items.dedup();
            }
            let cut = cut.min(items.len());
            // An empty sequence is a sorted set whatever it knows.
            let known = |ids: &Ids| ids.sorted_set || ids.is_empty();
            let pushed: Ids = items.iter().collect();
            proptest::prop_assert_eq!(known(&pushed), pushed.is_sorted_set());
            let mut read = ModelIds::new();
            for part in [&items[..cut], &items[cut..]] {
                let cells: Vec<Option<&str>> = part.iter().map(|id| Some(id.as_str())).collect();
                let (text, ends, nulls) = column(&cells);
                read.extend_texts(&text, &ends, &nulls);
            }
            proptest::prop_assert_eq!(known(&read.valid), read.valid.is_sorted_set());
            proptest::prop_assert_eq!(known(&read.valid), in_order || pushed.is_sorted_set());
            // Known or not, sorting gives the same set.
            let mut expected = items.clone();
            expected.sort();
            expected.dedup();
            proptest::prop_assert_eq!(read.valid.into_sorted_set().to_vec(), expected);
        }
    }

    #[test]
    fn ids_from_parts_take_the_buffer_or_refuse_it() {
        let ids = Ids::from_parts("abbé".to_owned(), vec![1, 1, 5]).unwrap();
        assert_eq!(ids.to_vec(), ["a", "", "bbé"]);
        assert_eq!(ids.joined_len(), 7);
        assert!(!ids.sorted_set);
        let sorted = Ids::from_parts("ab".to_owned(), vec![1, 2]).unwrap();
        assert!(sorted.sorted_set && sorted.is_sorted_set());
        assert!(Ids::from_parts(String::new(), vec![]).unwrap().is_empty());
        // Out of order, off a character boundary, short of the text's end.
        assert!(Ids::from_parts("ab".to_owned(), vec![2, 1]).is_none());
        assert!(Ids::from_parts("é".to_owned(), vec![1, 2]).is_none());
        assert!(Ids::from_parts("ab".to_owned(), vec![1]).is_none());
    }
}
