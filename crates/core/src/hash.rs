//! The content hash of a definition's fields, stored in state with what was delivered so a
//! later run can tell whether its record is current without comparing field by field.
//!
//! The hash is 64-bit FNV-1a over a canonical byte form of the fields, and it must never
//! change between releases (a change would make every stored record look stale). The form:
//! the prefix `optisync-fields-v1\n`, then for each field in [`Field`](crate::Field) order
//! `<field name>:<tag>:<byte length>:<bytes>;` where the tag is `t` (text, its UTF-8), `b`
//! (boolean, `true`/`false`) or `c` (conditions, compact JSON with keys sorted and integral
//! floats written as integers). Length prefixes make the form unambiguous whatever the text
//! holds. A test pins a value.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::conditions::write_canonical;
use crate::fields::{FieldValue, Fields};

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// A 64-bit content hash, serialized as 16 lowercase hex digits (a JSON number could not
/// carry 64 bits safely to every reader).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(
    feature = "schema",
    derive(schemars::JsonSchema),
    schemars(with = "String")
)]
pub struct ContentHash(pub u64);

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl FromStr for ContentHash {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        u64::from_str_radix(s, 16).map(ContentHash)
    }
}

impl Serialize for ContentHash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ContentHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// 64-bit FNV-1a, the one stable hash optisync uses (content hashes, config fingerprints,
/// list content hashes, ledger keys): small, and the same across versions and platforms.
#[derive(Debug, Clone, Copy)]
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(FNV_OFFSET)
    }
}

impl Fnv {
    /// A hash of nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `bytes`.
    pub fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(FNV_PRIME);
        }
    }

    /// The hash of what was written.
    pub fn finish(self) -> u64 {
        self.0
    }

    fn item(&mut self, tag: &[u8], bytes: &[u8]) {
        self.write(tag);
        self.write(b":");
        self.write(bytes.len().to_string().as_bytes());
        self.write(b":");
        self.write(bytes);
        self.write(b";");
    }
}

/// [`Fnv`] of `bytes`.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h = Fnv::new();
    h.write(bytes);
    h.finish()
}

/// [`fnv1a`] of `bytes` as 16 lowercase hex digits.
pub fn hex(bytes: &[u8]) -> String {
    format!("{:016x}", fnv1a(bytes))
}

/// The content hash of a set of fields (see the module docs for the exact form).
pub fn content_hash(fields: &Fields) -> ContentHash {
    let mut h = Fnv(FNV_OFFSET);
    h.write(b"optisync-fields-v1\n");
    let mut json = String::new();
    for (field, value) in fields.iter() {
        h.write(field.as_str().as_bytes());
        h.write(b":");
        match value {
            FieldValue::Text(text) => h.item(b"t", text.as_bytes()),
            FieldValue::Bool(b) => h.item(b"b", if *b { b"true" } else { b"false" }),
            FieldValue::Conditions(c) => {
                json.clear();
                write_canonical(c.as_json(), &mut json, true);
                h.item(b"c", json.as_bytes());
            }
        }
    }
    ContentHash(h.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conditions::Conditions;
    use crate::mapping::Field;

    fn sample() -> Fields {
        Fields::new()
            .with(Field::Name, FieldValue::Text("Beta users".into()))
            .with(Field::Description, FieldValue::Text(String::new()))
            .with(
                Field::Conditions,
                FieldValue::Conditions(Conditions::from_api_string(
                    r#"["and", {"type": "custom_attribute", "name": "beta", "value": true}]"#,
                )),
            )
            .with(Field::Archived, FieldValue::Bool(false))
    }

    /// Pins the hash (values computed independently from the documented form): if this
    /// fails, every stored record would look stale.
    #[test]
    fn hash_is_pinned() {
        assert_eq!(content_hash(&Fields::new()).to_string(), "fbb146fb9ce9cf9c");
        assert_eq!(content_hash(&sample()).to_string(), "23859e8966846b3c");
    }

    #[test]
    fn hash_ignores_condition_formatting_but_not_content() {
        let mut other = sample();
        other.insert(
            Field::Conditions,
            FieldValue::Conditions(Conditions::from_api_string(
                r#"["and",{"value":true,"name":"beta","type":"custom_attribute"}]"#,
            )),
        );
        assert_eq!(content_hash(&other), content_hash(&sample()));
        other.insert(Field::Name, FieldValue::Text("Beta user".into()));
        assert_ne!(content_hash(&other), content_hash(&sample()));
    }

    #[test]
    fn length_prefixes_keep_fields_apart() {
        let a = Fields::new().with(Field::Name, FieldValue::Text("a;description:t:0:".into()));
        let b = Fields::new()
            .with(Field::Name, FieldValue::Text("a".into()))
            .with(Field::Description, FieldValue::Text(String::new()));
        assert_ne!(content_hash(&a), content_hash(&b));
    }

    #[test]
    fn hash_round_trips_as_hex_text() {
        let h = content_hash(&sample());
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(json.len(), 18);
        assert_eq!(serde_json::from_str::<ContentHash>(&json).unwrap(), h);
    }
}
