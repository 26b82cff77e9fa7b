//! What optisync last delivered for a sync, as the state store hands it to the planner: for
//! definitions, per primary key the remote object's id, the content hash and the field values
//! delivered; for lists, the member list itself (passed as a plain sorted `Vec<String>`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::fields::Fields;
use crate::hash::ContentHash;

/// What was delivered for one primary key of a definition sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveredObject {
    /// The Optimizely object the row was written to (or adopted as).
    pub remote_id: i64,
    /// [`content_hash`](crate::content_hash) of the row's fields when delivered.
    pub hash: ContentHash,
    /// The row's fields when delivered.
    pub fields: Fields,
}

/// A definition sync's delivered state: primary key → what was delivered.
pub type DeliveredDefinitions = BTreeMap<String, DeliveredObject>;
