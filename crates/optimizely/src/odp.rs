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

/// An environment of a project (Optimizely's REST API v2, `GET /environments`), as far as
/// finding its datafile goes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Environment {
    /// Its id.
    pub id: i64,
    /// Its key (`production`, `development`, …).
    #[serde(default)]
    pub key: Option<String>,
    /// Its name.
    #[serde(default)]
    pub name: Option<String>,
    /// Whether it is archived.
    #[serde(default)]
    pub archived: Option<bool>,
}

/// The ODP integration a datafile declares (`integrations[key = "odp"]`), which FX SDKs
/// use to ask ODP for a user's segments (docs/ODP-API.md#7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OdpIntegration {
    /// ODP's host the SDKs call.
    pub host: Option<String>,
    /// The public key they send.
    pub public_key: Option<String>,
}

/// The most a listing of a project's environments can legitimately hold.
const ENVIRONMENTS_LIMIT: BodyLimit = BodyLimit(4 * 1024 * 1024);

/// The most a datafile can legitimately hold (large FX projects reach a few MB).
const DATAFILE_LIMIT: BodyLimit = BodyLimit(64 * 1024 * 1024);

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

    /// The environments of project `project_id` (Optimizely's API; one page of up to 100).
    pub async fn environments(&self, project_id: i64) -> Result<Vec<Environment>, Error> {
        let url = self.url(
            &["environments"],
            &[
                ("project_id", project_id.to_string()),
                ("per_page", crate::PER_PAGE.to_string()),
            ],
        )?;
        self.get_json(url, ENVIRONMENTS_LIMIT).await
    }

    /// The ODP integration environment `environment_id`'s datafile declares, if any
    /// (Optimizely's API, `GET /environments/{id}/datafile`).
    pub async fn datafile_odp_integration(
        &self,
        environment_id: i64,
    ) -> Result<Option<OdpIntegration>, Error> {
        let url = self.url(
            &["environments", &environment_id.to_string(), "datafile"],
            &[],
        )?;
        let datafile: serde_json::Value = self.get_json(url, DATAFILE_LIMIT).await?;
        let text = |entry: &serde_json::Value, key: &str| {
            entry
                .get(key)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        Ok(datafile
            .get("integrations")
            .and_then(serde_json::Value::as_array)
            .and_then(|all| all.iter().find(|i| i.get("key") == Some(&"odp".into())))
            .map(|entry| OdpIntegration {
                host: text(entry, "host"),
                public_key: text(entry, "publicKey"),
            }))
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
