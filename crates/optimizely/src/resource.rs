//! What the client must know about each kind of API object to read, list, create and update
//! it: the collection it lives in, where its writes go and whether they name the project, its
//! create and update bodies, how its listing pages, and how large an answer about it can
//! legitimately be. The generic calls in `endpoints.rs` need nothing else, so one of each
//! serves every kind; the facts per kind are the impls at the end of this file (docs/OPTIMIZELY-API.md#endpoints
//! and #pagination).
//!
//! The answer size limits are set here too, not in the transport: the transport enforces a
//! [`BodyLimit`] but cannot know which one applies, while the object kind decides it (a list
//! attribute may carry megabytes of content, an attribute never does).

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::model::{
    Attribute, AttributeUpdate, Audience, AudienceUpdate, CustomEventUpdate, Event, ListAttribute,
    ListAttributeUpdate, NewAttribute, NewAudience, NewCustomEvent, NewListAttribute, Project,
};
use crate::transport::BodyLimit;

/// An API object that can be read by id, at `/{PATH}/{id}`.
pub trait Object: DeserializeOwned + Send + 'static {
    /// The collection it is read from, e.g. `attributes`.
    const PATH: &'static str;

    /// The largest answer about one object (a read, a create or an update).
    const LIMIT: BodyLimit = BodyLimit::OBJECT;
}

/// An object that belongs to a project: listed by project (`/{PATH}?project_id=`), created
/// with a [`New`](Resource::New) body and changed with a partial
/// [`Update`](Resource::Update) body.
pub trait Resource: Object {
    /// The create body.
    type New: Serialize + Sync;

    /// The partial update body (only the fields that are set are sent).
    type Update: Serialize + Sync;

    /// What a write names besides the object: `()` when the project travels in the create
    /// body and an id is enough for an update; the project id (`i64`) when writes go under
    /// `/projects/{project_id}/{WRITE_PATH}`.
    type Scope: WriteScope;

    /// The collection writes go to, when it is not [`Object::PATH`].
    const WRITE_PATH: &'static str = Self::PATH;

    /// Query parameters of the listing besides `project_id` (and the paging ones).
    const LIST_QUERY: &'static [(&'static str, &'static str)] = &[];

    /// How the listing pages.
    const PAGING: Paging = Paging::Pages;

    /// The largest answer for one page of the listing.
    const PAGE_LIMIT: BodyLimit = BodyLimit::PAGE;

    /// The largest the answers of all pages of one listing may be together.
    const LISTING_LIMIT: BodyLimit = BodyLimit::LISTING;
}

/// How a listing pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    /// `page`/`per_page` parameters, `Link` headers, and the short-page rule.
    Pages,
    /// No parameters; a `Link: rel=next` is still followed if the server sends one.
    LinksOnly,
}

/// The path segments a write puts before [`Resource::WRITE_PATH`]: none for `()`,
/// `projects/{id}` for a project id.
pub trait WriteScope: Copy + Send + Sync {
    /// The segments, in order.
    fn segments(self) -> Vec<String>;
}

impl WriteScope for () {
    fn segments(self) -> Vec<String> {
        Vec::new()
    }
}

/// A project id: the write goes under `/projects/{id}`.
impl WriteScope for i64 {
    fn segments(self) -> Vec<String> {
        vec!["projects".to_owned(), self.to_string()]
    }
}

impl Object for Project {
    const PATH: &'static str = "projects";
}

impl Object for Attribute {
    const PATH: &'static str = "attributes";
}

impl Resource for Attribute {
    type New = NewAttribute;
    type Update = AttributeUpdate;
    type Scope = ();
}

impl Object for Audience {
    const PATH: &'static str = "audiences";
}

/// Audiences have no DELETE: archiving one is an update with `archived: true`.
impl Resource for Audience {
    type New = NewAudience;
    type Update = AudienceUpdate;
    type Scope = ();
}

impl Object for Event {
    const PATH: &'static str = "events";
}

/// Events of every kind are read and listed through `/events` (Classic ones left out);
/// custom events, the only kind optisync writes, are written under
/// `/projects/{id}/custom_events`.
impl Resource for Event {
    type New = NewCustomEvent;
    type Update = CustomEventUpdate;
    type Scope = i64;
    const WRITE_PATH: &'static str = "custom_events";
    const LIST_QUERY: &'static [(&'static str, &'static str)] = &[("include_classic", "false")];
}

/// One list attribute may carry its whole `list_content`: at most 5 MB (Optimizely's limit),
/// which JSON escaping can make up to 6 times longer on the wire (a control character becomes
/// `\u00XX`), plus 1 MiB for the other fields: 31 MB.
impl Object for ListAttribute {
    const PATH: &'static str = "list_attributes";
    const LIMIT: BodyLimit = BodyLimit(6 * 5_000_000 + (1 << 20));
}

/// The listing is not paginated, and each list in it may carry its content: the one answer
/// may hold eight lists at the maximum, 256 MiB.
impl Resource for ListAttribute {
    type New = NewListAttribute;
    type Update = ListAttributeUpdate;
    type Scope = ();
    const PAGING: Paging = Paging::LinksOnly;
    const PAGE_LIMIT: BodyLimit = BodyLimit(256 << 20);
    const LISTING_LIMIT: BodyLimit = Self::PAGE_LIMIT;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_read_well() {
        assert_eq!(ListAttribute::LIMIT.describe(), "29.6 MiB");
        assert_eq!(Attribute::LIMIT.describe(), "4.0 MiB");
        assert_eq!(Event::PAGE_LIMIT.describe(), "16.0 MiB");
        assert_eq!(ListAttribute::LISTING_LIMIT.describe(), "256.0 MiB");
    }

    #[test]
    fn write_scopes_name_the_project_only_when_asked_to() {
        assert!(().segments().is_empty());
        assert_eq!(7_i64.segments(), vec!["projects", "7"]);
    }
}
