//! What Optimizely holds, as the planner sees it: the project's existing definitions of one
//! object type ([`RemoteObject`], archived ones included) and, for lists, the list's current
//! content if the API returned it ([`RemoteList`]). The engine fills these from the API
//! client's models; core does not depend on the client.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::fields::Fields;
use crate::ids::Ids;
use crate::mapping::Field;

/// One existing audience, attribute or custom event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteObject {
    /// Optimizely's id.
    pub id: i64,
    /// Whether it is archived.
    pub archived: bool,
    /// Its current `key`, `name`, `description`, `conditions` (parse the API string with
    /// [`Conditions::from_api_string`](crate::Conditions::from_api_string)) and `category`.
    /// `archived` here is ignored in favour of the flag above.
    pub fields: Fields,
}

impl RemoteObject {
    /// The object's key, for attributes and custom events.
    pub fn key(&self) -> Option<&str> {
        self.fields.text(Field::Key)
    }

    /// The object's name.
    pub fn name(&self) -> Option<&str> {
        self.fields.text(Field::Name)
    }
}

/// The current content of a list attribute, if known.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "state", content = "members", rename_all = "snake_case")]
pub enum RemoteList {
    /// The API did not return the list's content.
    #[default]
    Unknown,
    /// The list's members (any order; see
    /// [`split_list_content`](crate::validate::split_list_content)).
    Known(Ids),
}

/// The remote objects indexed by id and by the text of their identity field, for matching
/// rows to them.
#[derive(Debug)]
pub(crate) struct RemoteIndex<'a> {
    pub(crate) objects: &'a [RemoteObject],
    by_id: HashMap<i64, usize>,
    by_identity: HashMap<&'a str, Vec<usize>>,
}

impl<'a> RemoteIndex<'a> {
    pub(crate) fn new(objects: &'a [RemoteObject], identity: Field) -> Self {
        let mut by_id = HashMap::with_capacity(objects.len());
        let mut by_identity: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, object) in objects.iter().enumerate() {
            by_id.insert(object.id, i);
            if let Some(text) = object.fields.text(identity) {
                by_identity.entry(text).or_default().push(i);
            }
        }
        Self {
            objects,
            by_id,
            by_identity,
        }
    }

    pub(crate) fn by_id(&self, id: i64) -> Option<usize> {
        self.by_id.get(&id).copied()
    }

    /// The object a create with this identity would collide with: the unarchived one, else
    /// the first (a unique identity such as a key is listed once; should the API ever list
    /// two, the unarchived one wins).
    pub(crate) fn find(&self, identity: &str) -> Option<usize> {
        let found = self.by_identity.get(identity)?;
        found
            .iter()
            .copied()
            .find(|i| !self.objects[*i].archived)
            .or_else(|| found.first().copied())
    }

    /// Every object with exactly this identity (archived ones included).
    pub(crate) fn all(&self, identity: &str) -> &[usize] {
        self.by_identity.get(identity).map_or(&[], Vec::as_slice)
    }
}
