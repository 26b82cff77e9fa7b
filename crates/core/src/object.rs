//! The four object types optisync writes and the modes a sync can run in, with which mode
//! each object type allows (docs/PRODUCT-RULES.md#object-types-and-modes). Spelled in snake_case in config and plans.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ParseNameError;

/// What a sync writes in Optimizely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ObjectType {
    /// Membership of a list attribute (Web Experimentation only).
    ListAttribute,
    /// Audience definitions.
    Audience,
    /// Custom attribute definitions.
    Attribute,
    /// Custom event definitions.
    CustomEvent,
}

/// How a sync reconciles the model with Optimizely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Lists: the delivered list plus the model's ids; never removes.
    Add,
    /// Lists: the delivered list minus the model's ids.
    Remove,
    /// Lists: exactly the model's ids.
    Mirror,
    /// Definitions: create what is missing, update what differs.
    Upsert,
    /// Definitions: create what is missing, leave existing objects alone.
    Insert,
}

impl ObjectType {
    /// Every object type.
    pub const ALL: [ObjectType; 4] = [
        ObjectType::ListAttribute,
        ObjectType::Audience,
        ObjectType::Attribute,
        ObjectType::CustomEvent,
    ];

    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectType::ListAttribute => "list_attribute",
            ObjectType::Audience => "audience",
            ObjectType::Attribute => "attribute",
            ObjectType::CustomEvent => "custom_event",
        }
    }

    /// The modes this object type can run in. Definitions offer no mirror or update: the
    /// API's delete only archives, and definition syncs never remove what users made by hand.
    pub fn modes(self) -> &'static [Mode] {
        match self {
            ObjectType::ListAttribute => &[Mode::Add, Mode::Remove, Mode::Mirror],
            ObjectType::Audience | ObjectType::Attribute | ObjectType::CustomEvent => {
                &[Mode::Upsert, Mode::Insert]
            }
        }
    }

    /// Whether `mode` is offered for this object type.
    pub fn allows(self, mode: Mode) -> bool {
        self.modes().contains(&mode)
    }

    /// Whether one row becomes one Optimizely object (everything but list attributes).
    pub fn is_definition(self) -> bool {
        self != ObjectType::ListAttribute
    }
}

impl Mode {
    /// Every mode.
    pub const ALL: [Mode; 5] = [
        Mode::Add,
        Mode::Remove,
        Mode::Mirror,
        Mode::Upsert,
        Mode::Insert,
    ];

    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Add => "add",
            Mode::Remove => "remove",
            Mode::Mirror => "mirror",
            Mode::Upsert => "upsert",
            Mode::Insert => "insert",
        }
    }
}

impl fmt::Display for ObjectType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub(crate) fn parse_enum_name<T: Copy>(
    what: &'static str,
    given: &str,
    all: &[T],
    name: fn(T) -> &'static str,
) -> Result<T, ParseNameError> {
    all.iter()
        .copied()
        .find(|t| name(*t) == given)
        .ok_or_else(|| ParseNameError {
            what,
            given: given.to_owned(),
            expected: all.iter().map(|t| name(*t)).collect::<Vec<_>>().join(", "),
        })
}

impl FromStr for ObjectType {
    type Err = ParseNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_enum_name("object type", s, &ObjectType::ALL, ObjectType::as_str)
    }
}

impl FromStr for Mode {
    type Err = ParseNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_enum_name("mode", s, &Mode::ALL, Mode::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_take_list_modes_and_definitions_take_definition_modes() {
        for mode in [Mode::Add, Mode::Remove, Mode::Mirror] {
            assert!(ObjectType::ListAttribute.allows(mode));
            assert!(!ObjectType::Audience.allows(mode));
        }
        for object in [
            ObjectType::Audience,
            ObjectType::Attribute,
            ObjectType::CustomEvent,
        ] {
            assert!(object.allows(Mode::Upsert));
            assert!(object.allows(Mode::Insert));
            assert!(!object.allows(Mode::Mirror));
            assert!(!ObjectType::ListAttribute.allows(Mode::Upsert));
        }
    }

    #[test]
    fn names_round_trip_through_serde_display_and_from_str() {
        for object in ObjectType::ALL {
            let json = serde_json::to_string(&object).unwrap();
            assert_eq!(json, format!("\"{object}\""));
            assert_eq!(object.to_string().parse::<ObjectType>().unwrap(), object);
        }
        for mode in Mode::ALL {
            assert_eq!(serde_json::to_string(&mode).unwrap(), format!("\"{mode}\""));
            assert_eq!(mode.to_string().parse::<Mode>().unwrap(), mode);
        }
        let err = "sync".parse::<Mode>().unwrap_err();
        assert!(
            err.to_string()
                .contains("add, remove, mirror, upsert, insert")
        );
    }
}
