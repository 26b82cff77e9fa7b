//! The delivered member list of list-attribute syncs: the complete list as last written
//! successfully (it is what `add` and `remove` build on), with the list attribute's id and
//! the engine's content hash of the list.
//!
//! The list is only ever read and replaced whole (the API itself replaces it whole), so it is
//! stored as one blob per sync rather than one row per member: writing or reading a million
//! members is one row and one pass over a buffer instead of a million B-tree operations.
//! Encoding: a format byte (`1`), then per member its UTF-8 length as an LEB128 varint and its
//! bytes. Members keep the order the caller gave; the member count is stored beside the blob
//! and checked on every read.

use chrono::{DateTime, Utc};
use optisync_core::Ids;
use rusqlite::{OptionalExtension, params};

use crate::clock;
use crate::error::{Error, Result, to_i64, to_u64};
use crate::intents::{self, IntentId, Outcome};
use crate::store::Store;
use crate::sync_state;

/// The current encoding of the members blob.
const FORMAT_V1: u8 = 1;

/// A sync's delivered list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveredList {
    /// The list attribute the members were written to.
    pub list_attribute_id: i64,
    /// The engine's content hash of the list.
    pub content_hash: String,
    /// The members, in the order they were stored, in one buffer.
    pub members: Ids,
    /// When the list was stored.
    pub updated_at: DateTime<Utc>,
}

/// A delivered list without its members, for status displays and cheap comparisons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListSummary {
    /// The list attribute the members were written to.
    pub list_attribute_id: i64,
    /// The engine's content hash of the list.
    pub content_hash: String,
    /// How many members the list has.
    pub member_count: u64,
    /// When the list was stored.
    pub updated_at: DateTime<Utc>,
}

impl Store {
    /// The sync's delivered list, or `None` when nothing was delivered yet.
    ///
    /// # Errors
    /// [`Error::Corrupt`] when the stored list does not decode, [`Error::Sqlite`] otherwise.
    pub fn delivered_list(&self, sync: &str) -> Result<Option<DeliveredList>> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT list_attribute_id, content_hash, member_count, members, updated_at \
                 FROM delivered_lists WHERE sync = ?1",
            )?
            .query_row(params![sync], |row| {
                // Decoded where SQLite holds it: the blob is not copied first.
                let blob = row.get_ref(3)?.as_blob().map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        3,
                        rusqlite::types::Type::Blob,
                        Box::new(e),
                    )
                })?;
                let members = to_u64(row.get::<_, i64>(2)?, "member count")
                    .and_then(|count| decode(blob, count));
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    members,
                    row.get::<_, i64>(4)?,
                ))
            })
            .optional()?;
        let Some((list_attribute_id, content_hash, members, updated_at)) = row else {
            return Ok(None);
        };
        Ok(Some(DeliveredList {
            list_attribute_id,
            content_hash,
            members: members?,
            updated_at: clock::from_millis(updated_at)?,
        }))
    }

    /// The delivered list's id, hash and size without reading its members.
    ///
    /// # Errors
    /// [`Error::Corrupt`] for a negative count or bad timestamp, [`Error::Sqlite`] otherwise.
    pub fn delivered_list_summary(&self, sync: &str) -> Result<Option<ListSummary>> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT list_attribute_id, content_hash, member_count, updated_at \
                 FROM delivered_lists WHERE sync = ?1",
            )?
            .query_row(params![sync], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, i64>(3)?,
                ))
            })
            .optional()?;
        row.map(|(list_attribute_id, content_hash, count, updated_at)| {
            Ok(ListSummary {
                list_attribute_id,
                content_hash,
                member_count: to_u64(count, "member count")?,
                updated_at: clock::from_millis(updated_at)?,
            })
        })
        .transpose()
    }

    /// Replaces the sync's delivered list whole, and records `outcomes` (typically the list
    /// PATCH's acknowledgement), in one transaction. Returns the new state version.
    ///
    /// # Errors
    /// [`Error::IntentNotFound`] / [`Error::IntentAlreadyResolved`] for a bad outcome (nothing
    /// is then stored), [`Error::InvalidArgument`] for a list too large to store, [`Error::Sqlite`]
    /// otherwise.
    pub fn replace_delivered_list<I, S>(
        &mut self,
        sync: &str,
        list_attribute_id: i64,
        content_hash: &str,
        members: I,
        outcomes: &[(IntentId, Outcome)],
    ) -> Result<u64>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        // Encode before taking the write lock, so other processes wait as little as possible.
        let (blob, count) = encode(members);
        let count = to_i64(count, "member count")?;
        let tx = self.write()?;
        sync_state::ensure_sync(&tx, sync)?;
        tx.prepare_cached(
            "INSERT INTO delivered_lists \
             (sync, list_attribute_id, content_hash, member_count, members, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (sync) DO UPDATE SET list_attribute_id = excluded.list_attribute_id, \
             content_hash = excluded.content_hash, member_count = excluded.member_count, \
             members = excluded.members, updated_at = excluded.updated_at",
        )?
        .execute(params![
            sync,
            list_attribute_id,
            content_hash,
            count,
            blob,
            clock::to_millis(clock::now())
        ])?;
        for (id, outcome) in outcomes {
            intents::resolve(&tx, *id, outcome)?;
        }
        let version = sync_state::bump_version(&tx, sync)?;
        tx.commit()?;
        Ok(version)
    }
}

/// Encodes members into the blob format; returns the blob and the member count.
fn encode<I, S>(members: I) -> (Vec<u8>, u64)
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let members = members.into_iter();
    let mut blob = Vec::with_capacity(1 + members.size_hint().0 * 16);
    blob.push(FORMAT_V1);
    let mut count = 0u64;
    for member in members {
        let bytes = member.as_ref().as_bytes();
        let mut len = bytes.len();
        loop {
            // Seven bits per byte, high bit set while more bytes follow.
            let low = (len & 0x7f) as u8;
            len >>= 7;
            if len == 0 {
                blob.push(low);
                break;
            }
            blob.push(low | 0x80);
        }
        blob.extend_from_slice(bytes);
        count += 1;
    }
    (blob, count)
}

/// Decodes a members blob, checking it holds exactly `expected` members.
fn decode(blob: &[u8], expected: u64) -> Result<Ids> {
    let corrupt = |what: &str| Error::Corrupt(format!("delivered list: {what}"));
    let Some((&format, rest)) = blob.split_first() else {
        return Err(corrupt("empty blob"));
    };
    if format != FORMAT_V1 {
        return Err(corrupt(&format!("unknown format {format}")));
    }
    let capacity = usize::try_from(expected).map_err(|_| corrupt("member count too large"))?;
    // Each member takes at least one byte, which bounds a plausible count.
    if capacity > rest.len() {
        return Err(corrupt("member count exceeds the blob"));
    }
    let (mut members, mut ends) = (
        String::with_capacity(rest.len()),
        Vec::with_capacity(capacity),
    );
    // When every member is shorter than 128 bytes, each length is one ASCII byte and a blob
    // of UTF-8 members is valid UTF-8 whole: checked once, the members are then cut from it
    // (a cut off a character boundary is refused). Otherwise each member is checked alone.
    let whole = std::str::from_utf8(rest).ok();
    let mut at = 0;
    while at < rest.len() {
        let mut len = 0usize;
        let mut shift = 0u32;
        loop {
            let Some(&byte) = rest.get(at) else {
                return Err(corrupt("truncated length"));
            };
            at += 1;
            if shift >= usize::BITS {
                return Err(corrupt("length overflows"));
            }
            len |= usize::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                break;
            }
        }
        let end = at
            .checked_add(len)
            .filter(|&end| end <= rest.len())
            .ok_or_else(|| corrupt("truncated member"))?;
        let member = match whole {
            Some(text) => text.get(at..end),
            None => std::str::from_utf8(&rest[at..end]).ok(),
        };
        members.push_str(member.ok_or_else(|| corrupt("member is not UTF-8"))?);
        // SQLite holds a blob of 1 GB at most: every end fits.
        ends.push(u32::try_from(members.len()).map_err(|_| corrupt("list too large"))?);
        at = end;
    }
    if ends.len() != capacity {
        return Err(corrupt(&format!(
            "holds {} members, expected {expected}",
            ends.len()
        )));
    }
    // The ends follow one another, each after a member copied whole.
    Ids::from_parts(members, ends).ok_or_else(|| corrupt("member boundaries"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips_edge_cases() {
        let long = "x".repeat(300);
        let members = ["", "a", "é", "with,comma", "new\nline", long.as_str()];
        let (blob, count) = encode(members);
        assert_eq!(count, 6);
        assert_eq!(decode(&blob, count).unwrap().to_vec(), members);
    }

    #[test]
    fn long_members_take_multi_byte_lengths() {
        let long = "y".repeat(200);
        let (blob, _) = encode([long.as_str()]);
        // format byte, two length bytes (200 = 0x48 | 0x80, 0x01), then the member.
        assert_eq!(&blob[..3], &[FORMAT_V1, 0xc8, 0x01]);
        assert_eq!(blob.len(), 3 + 200);
    }

    #[test]
    fn a_count_mismatch_is_corrupt() {
        let (blob, _) = encode(["a", "b"]);
        assert!(matches!(decode(&blob, 3), Err(Error::Corrupt(_))));
        assert!(matches!(decode(&blob, 1), Err(Error::Corrupt(_))));
    }

    #[test]
    fn truncated_and_unknown_blobs_are_corrupt() {
        let (blob, _) = encode(["abcdef"]);
        assert!(matches!(
            decode(&blob[..blob.len() - 1], 1),
            Err(Error::Corrupt(_))
        ));
        assert!(matches!(decode(&[9, 0], 1), Err(Error::Corrupt(_))));
        assert!(matches!(decode(&[], 0), Err(Error::Corrupt(_))));
        assert!(matches!(
            decode(&[FORMAT_V1, 0xff], 1),
            Err(Error::Corrupt(_))
        ));
    }

    #[test]
    fn a_member_that_is_not_utf8_is_corrupt() {
        // Not UTF-8 anywhere, so each member is checked alone.
        assert!(matches!(
            decode(&[FORMAT_V1, 1, 0xff], 1),
            Err(Error::Corrupt(_))
        ));
        // UTF-8 whole ("\u{1}é"), but the one-byte member cuts "é" in two.
        assert!(matches!(
            decode(&[FORMAT_V1, 1, 0xc3, 0xa9], 1),
            Err(Error::Corrupt(_))
        ));
        // The same member with its whole character decodes.
        assert_eq!(
            decode(&[FORMAT_V1, 2, 0xc3, 0xa9], 1).unwrap().to_vec(),
            ["é"]
        );
    }
}
