//! The calls optisync makes to Optimizely Data Platform's REST API v3 (docs/ODP-API.md),
//! on a [`Client`] built with [`ClientConfig::odp`](crate::ClientConfig::odp): the same
//! request loop, limiter, retries and bounds as Optimizely's API, with the key in
//! `x-api-key` and ODP's error envelope.
//!
//! - [`Client::odp_upsert_profiles`]: `POST /profiles`, up to 500 profiles, each
//!   `{"attributes": {<identifier>: id, <field>: value}}`. ODP answers 202 and applies them
//!   later; a 400 names the refused items by index ([`crate::Error::invalid_items`]) and
//!   applies none. An upsert sets values, so repeating one changes nothing: it is retried
//!   after a timeout or a 5xx like a read.
//! - [`Client::odp_fields`] / [`Client::odp_create_field`]: the schema of an object
//!   (`customers`), whose identifiers are fields of type `identifier`.

use bytes::Bytes;
use http::Method;
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::{Error, ErrorKind, Phase};
use crate::transport::BodyLimit;

/// The most profiles one request carries (docs/ODP-API.md#profiles).
pub const MAX_PROFILES_PER_REQUEST: usize = 500;

/// The most an answer to a profile upsert can legitimately hold (a short envelope).
const UPSERT_ANSWER_LIMIT: BodyLimit = BodyLimit(64 * 1024);

/// The most a listing of an object's fields can legitimately hold.
const FIELDS_LIMIT: BodyLimit = BodyLimit(8 * 1024 * 1024);

/// The most one field's description can legitimately hold.
const FIELD_LIMIT: BodyLimit = BodyLimit(64 * 1024);

/// A field of an ODP object, as the schema API lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct OdpField {
    /// Its name, e.g. `in_beta`.
    pub name: String,
    /// Its name in ODP's UI.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Its type: `string` (also listed as `text`), `number`, `boolean`, `timestamp`, or
    /// `identifier` for an identifier field.
    #[serde(rename = "type")]
    pub field_type: String,
    /// What it holds.
    #[serde(default)]
    pub description: Option<String>,
}

impl OdpField {
    /// Whether it is an identifier (what a profile is found by: `fs_user_id`, `email`, …).
    pub fn is_identifier(&self) -> bool {
        self.field_type == "identifier"
    }
}

/// A field to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewOdpField {
    /// Its name (lower case letters, digits and underscores, starting with a letter).
    pub name: String,
    /// Its name in ODP's UI.
    pub display_name: String,
    /// `string`, `number`, `boolean` or `timestamp`.
    #[serde(rename = "type")]
    pub field_type: String,
    /// What it holds.
    pub description: String,
}

impl Client {
    /// Upserts `profiles` (at most [`MAX_PROFILES_PER_REQUEST`], each an
    /// `{"attributes": {…}}` object). `Ok` means ODP accepted the batch (it applies it
    /// shortly after); a 400 is a [`ErrorKind::Rejected`] error whose
    /// [`invalid_items`](Error::invalid_items) name the refused items, none of the batch
    /// being applied.
    pub async fn odp_upsert_profiles(&self, profiles: &[serde_json::Value]) -> Result<(), Error> {
        if profiles.len() > MAX_PROFILES_PER_REQUEST {
            return Err(Error::new(
                ErrorKind::Internal,
                Phase::NotSent,
                format!(
                    "{} profiles in one request; ODP takes at most {MAX_PROFILES_PER_REQUEST}",
                    profiles.len()
                ),
            ));
        }
        let url = self.url(&["profiles"], &[])?;
        let body = serde_json::to_vec(profiles).map_err(|e| {
            Error::new(
                ErrorKind::Internal,
                Phase::NotSent,
                format!("cannot encode the profiles: {e}"),
            )
        })?;
        self.execute_with(
            Method::POST,
            &url,
            Some(Bytes::from(body)),
            UPSERT_ANSWER_LIMIT,
            true,
        )
        .await
        .map(drop)
    }

    /// The fields of ODP object `object` (e.g. `customers`), identifiers included.
    pub async fn odp_fields(&self, object: &str) -> Result<Vec<OdpField>, Error> {
        let url = self.url(&["schema", "objects", object, "fields"], &[])?;
        self.get_json(url, FIELDS_LIMIT).await
    }

    /// Creates a field on ODP object `object`.
    pub async fn odp_create_field(
        &self,
        object: &str,
        field: &NewOdpField,
    ) -> Result<OdpField, Error> {
        let url = self.url(&["schema", "objects", object, "fields"], &[])?;
        self.send_json(Method::POST, url, field, FIELD_LIMIT).await
    }
}
