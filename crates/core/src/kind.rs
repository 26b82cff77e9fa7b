//! What a sync writes and how: a [`SyncKind`], parsed once from the config's `object` and
//! `mode`, that cannot hold a pair the product does not offer (a mirrored audience, an
//! upserted list). Lists take [`ListMode`]s; the three definition kinds take
//! [`DefinitionMode`]s (docs/PRODUCT-RULES.md#object-types-and-modes).
//!
//! Plans and the config spell a kind as the two names `object` and `mode`, in snake_case.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ParseNameError;

/// How a list-attribute sync reconciles the model with the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ListMode {
    /// The delivered list plus the model's ids; never removes.
    Add,
    /// The delivered list minus the model's ids.
    Remove,
    /// Exactly the model's ids.
    Mirror,
}

/// How a definition sync reconciles its rows with the project's objects. Definitions offer
/// no mirror: the API only archives, and a sync never removes what users made by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DefinitionMode {
    /// Create what is missing, update what differs.
    Upsert,
    /// Create what is missing, leave existing objects alone.
    Insert,
}

/// The kinds of object a definition sync writes, one row per object. What each one means
/// (fields, identity, create defaults, endpoints) lives in its destination module in the
/// engine (`optisync_engine::destination`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DefinitionKind {
    /// Audience definitions.
    Audience,
    /// Custom attribute definitions.
    Attribute,
    /// Custom event definitions.
    CustomEvent,
}

/// What a sync writes in Optimizely, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "KindNames", into = "KindNames")]
pub enum SyncKind {
    /// Membership of a list attribute (Web Experimentation only): one whole-list PATCH a run.
    List {
        /// How the list is reconciled.
        mode: ListMode,
    },
    /// One customer field on each user's ODP profile (Optimizely Data Platform, for
    /// Feature Experimentation's Real-Time Audiences): profiles upserted in batches.
    OdpAttribute {
        /// How the model's users are reconciled with those the sync set before.
        mode: ListMode,
    },
    /// One object per model row.
    Definition {
        /// Which object.
        kind: DefinitionKind,
        /// How rows are reconciled with the project's objects.
        mode: DefinitionMode,
    },
}

/// The config spelling of every list-attribute object.
pub const LIST_ATTRIBUTE: &str = "list_attribute";

/// The config spelling of every ODP-attribute object.
pub const ODP_ATTRIBUTE: &str = "odp_attribute";

impl ListMode {
    /// Every list mode.
    pub const ALL: [ListMode; 3] = [ListMode::Add, ListMode::Remove, ListMode::Mirror];

    /// The config spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            ListMode::Add => "add",
            ListMode::Remove => "remove",
            ListMode::Mirror => "mirror",
        }
    }
}

impl DefinitionMode {
    /// Every definition mode.
    pub const ALL: [DefinitionMode; 2] = [DefinitionMode::Upsert, DefinitionMode::Insert];

    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DefinitionMode::Upsert => "upsert",
            DefinitionMode::Insert => "insert",
        }
    }
}

impl DefinitionKind {
    /// Every definition kind.
    pub const ALL: [DefinitionKind; 3] = [
        DefinitionKind::Audience,
        DefinitionKind::Attribute,
        DefinitionKind::CustomEvent,
    ];

    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DefinitionKind::Audience => "audience",
            DefinitionKind::Attribute => "attribute",
            DefinitionKind::CustomEvent => "custom_event",
        }
    }
}

/// Every `object` name, in the config's order.
pub static OBJECT_NAMES: std::sync::LazyLock<Vec<&'static str>> =
    std::sync::LazyLock::new(SyncKind::object_names);

/// Every `mode` name: the list modes, then the definition modes.
pub static MODE_NAMES: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
    ListMode::ALL
        .iter()
        .map(|m| m.as_str())
        .chain(DefinitionMode::ALL.iter().map(|m| m.as_str()))
        .collect()
});

impl SyncKind {
    /// Every object name, in the config's order.
    pub fn object_names() -> Vec<&'static str> {
        std::iter::once(LIST_ATTRIBUTE)
            .chain(DefinitionKind::ALL.iter().map(|k| k.as_str()))
            .chain(std::iter::once(ODP_ATTRIBUTE))
            .collect()
    }

    /// Parses the config's `object` and `mode`: every failure says what is allowed.
    pub fn parse(object: &str, mode: &str) -> Result<Self, KindError> {
        for (name, kind) in [
            (
                LIST_ATTRIBUTE,
                (|mode| SyncKind::List { mode }) as fn(ListMode) -> SyncKind,
            ),
            (ODP_ATTRIBUTE, |mode| SyncKind::OdpAttribute { mode }),
        ] {
            if object == name {
                return ListMode::ALL
                    .into_iter()
                    .find(|m| m.as_str() == mode)
                    .map(kind)
                    .ok_or_else(|| KindError::Mode {
                        object: name,
                        given: shown_mode(mode),
                        allowed: names(&ListMode::ALL, ListMode::as_str),
                    });
            }
        }
        let Some(kind) = DefinitionKind::ALL
            .into_iter()
            .find(|k| k.as_str() == object)
        else {
            return Err(KindError::Object(ParseNameError {
                what: "object type",
                // Not a name optisync knows: it may be anything pasted, a secret included.
                given: "(not shown)".to_owned(),
                expected: Self::object_names().join(", "),
            }));
        };
        DefinitionMode::ALL
            .into_iter()
            .find(|m| m.as_str() == mode)
            .map(|mode| SyncKind::Definition { kind, mode })
            .ok_or_else(|| KindError::Mode {
                object: kind.as_str(),
                given: shown_mode(mode),
                allowed: names(&DefinitionMode::ALL, DefinitionMode::as_str),
            })
    }

    /// The `object` name.
    pub fn object(self) -> &'static str {
        match self {
            SyncKind::List { .. } => LIST_ATTRIBUTE,
            SyncKind::OdpAttribute { .. } => ODP_ATTRIBUTE,
            SyncKind::Definition { kind, .. } => kind.as_str(),
        }
    }

    /// The `mode` name.
    pub fn mode(self) -> &'static str {
        match self {
            SyncKind::List { mode } | SyncKind::OdpAttribute { mode } => mode.as_str(),
            SyncKind::Definition { mode, .. } => mode.as_str(),
        }
    }

    /// The definition kind, for definition syncs.
    pub fn definition(self) -> Option<DefinitionKind> {
        match self {
            SyncKind::List { .. } | SyncKind::OdpAttribute { .. } => None,
            SyncKind::Definition { kind, .. } => Some(kind),
        }
    }
}

/// A mode name for a message: a known name as it is, anything else (which may be a pasted
/// secret) not shown.
fn shown_mode(given: &str) -> String {
    if MODE_NAMES.contains(&given) {
        given.to_owned()
    } else {
        "(not a mode name)".to_owned()
    }
}

fn names<T: Copy>(all: &[T], name: fn(T) -> &'static str) -> String {
    all.iter().map(|t| name(*t)).collect::<Vec<_>>().join(", ")
}

/// Why an `object` and `mode` pair is not a sync kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KindError {
    /// No such object type.
    #[error(transparent)]
    Object(ParseNameError),
    /// The object type does not take this mode.
    #[error("mode {given} is not available for {object}; use one of: {allowed}")]
    Mode {
        /// The object type.
        object: &'static str,
        /// The mode given, if it is a mode name (anything else is not shown).
        given: String,
        /// The modes it takes.
        allowed: String,
    },
}

/// The two names a kind is spelled with in plans.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
struct KindNames {
    /// What the sync writes: `list_attribute`, `audience`, `attribute`, `custom_event` or
    /// `odp_attribute`.
    object: String,
    /// How: `add`, `remove`, `mirror` (lists and ODP attributes) or `upsert`, `insert`
    /// (definitions).
    mode: String,
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for SyncKind {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SyncKind".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        KindNames::json_schema(generator)
    }
}

impl TryFrom<KindNames> for SyncKind {
    type Error = KindError;
    fn try_from(names: KindNames) -> Result<Self, Self::Error> {
        SyncKind::parse(&names.object, &names.mode)
    }
}

impl From<SyncKind> for KindNames {
    fn from(kind: SyncKind) -> Self {
        KindNames {
            object: kind.object().to_owned(),
            mode: kind.mode().to_owned(),
        }
    }
}

impl fmt::Display for SyncKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.object(), self.mode())
    }
}

impl fmt::Display for DefinitionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for ListMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for DefinitionMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DefinitionKind {
    type Err = ParseNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DefinitionKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| ParseNameError {
                what: "object type",
                given: s.to_owned(),
                expected: names(&DefinitionKind::ALL, DefinitionKind::as_str),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_offered_pair_parses_and_round_trips_and_no_other_does() {
        let objects = SyncKind::object_names();
        let modes = ["add", "remove", "mirror", "upsert", "insert"];
        let mut parsed = 0;
        for object in &objects {
            for mode in modes {
                match SyncKind::parse(object, mode) {
                    Ok(kind) => {
                        parsed += 1;
                        assert_eq!((kind.object(), kind.mode()), (*object, mode));
                        let json = serde_json::to_value(kind).unwrap();
                        assert_eq!(json, serde_json::json!({"object": object, "mode": mode}));
                        assert_eq!(serde_json::from_value::<SyncKind>(json).unwrap(), kind);
                    }
                    Err(e) => assert!(e.to_string().contains("is not available"), "{e}"),
                }
            }
        }
        // 3 list modes + 3 definition kinds × 2 modes + 3 ODP-attribute modes.
        assert_eq!(parsed, 12);
        let err = SyncKind::parse("segment", "add").unwrap_err();
        assert!(
            err.to_string()
                .contains("list_attribute, audience, attribute, custom_event, odp_attribute")
        );
        let err = serde_json::from_value::<SyncKind>(
            serde_json::json!({"object": "audience", "mode": "mirror"}),
        )
        .unwrap_err();
        assert!(err.to_string().contains("upsert, insert"), "{err}");
    }
}
