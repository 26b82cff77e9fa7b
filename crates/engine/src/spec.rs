//! What the engine is asked to do: a validated [`SyncSpec`] (one sync, in plain types, never the
//! command line's config types), the user's switches for one run ([`RunOptions`]), and the
//! project it runs against ([`Target`]). [`SyncSpec::config_hash`] fingerprints a spec so a
//! saved plan can tell that the sync it was made for has been edited since.

use optisync_core::planner::DEFAULT_MAX_CREATES;
use optisync_core::{Mapping, NameTemplate, SyncKind};
use optisync_optimizely::Product;

/// One sync, validated.
#[derive(Debug, Clone)]
pub struct SyncSpec {
    /// Unique name: on the command line, in state and in every message.
    pub name: String,
    /// What it writes, and how it reconciles the model with Optimizely.
    pub kind: SyncKind,
    /// The SQL query run on the source.
    pub model: String,
    /// Destination field → model column.
    pub mapping: Mapping,
    /// Model columns identifying a row; empty means the mapping's default.
    pub primary_key: Vec<String>,
    /// The target list attribute (list-attribute syncs).
    pub list_attribute_id: Option<i64>,
    /// The audience name template (audience syncs).
    pub audience_name: Option<NameTemplate>,
    /// Lets ids that look like personal data into a list.
    pub allow_pii: bool,
    /// Mirror/remove runs removing more than this share of the list are blocked.
    pub max_removal_percent: f64,
    /// Definition runs creating more objects than this are blocked.
    pub max_creates: u64,
    /// Where an ODP-attribute sync writes (ODP-attribute syncs).
    pub odp: Option<OdpTarget>,
}

/// Where an ODP-attribute sync writes: the identifier its user ids are sent as and the
/// customer field it sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OdpTarget {
    /// The ODP identifier (`fs_user_id`, `vuid`, `email`, …).
    pub identifier: String,
    /// The customer field (`in_beta`).
    pub field: String,
}

impl SyncSpec {
    /// A stable fingerprint of everything that changes what a run of this sync does, with the
    /// project it runs against. Saved plans carry it; a plan made for another version of the
    /// sync is refused.
    pub fn config_hash(&self, project_id: i64) -> String {
        let mut text = format!(
            "project={project_id}\nname={}\nobject={}\nmode={}\nmodel={}\n",
            self.name,
            self.kind.object(),
            self.kind.mode(),
            self.model
        );
        for (field, column) in self.mapping.entries() {
            text.push_str(&format!("map {field}={column}\n"));
        }
        text.push_str(&format!(
            "pk={:?}\nlist={:?}\naudience_name={:?}\nallow_pii={}\nmax_removal={}\n",
            self.primary_key,
            self.list_attribute_id,
            self.audience_name.as_ref().map(NameTemplate::as_str),
            self.allow_pii,
            self.max_removal_percent
        ));
        // Only when set otherwise, so that the fingerprint of a sync that leaves it at its
        // default is the same as before the setting existed.
        if self.max_creates != DEFAULT_MAX_CREATES {
            text.push_str(&format!("max_creates={}\n", self.max_creates));
        }
        if let Some(odp) = &self.odp {
            text.push_str(&format!(
                "odp_identifier={}\nodp_field={}\n",
                odp.identifier, odp.field
            ));
        }
        optisync_core::hash::hex(text.as_bytes())
    }

    /// The mapping this sync uses on `product`: without the fields the API ignores there
    /// (its destination says which; e.g. an attribute's name on Feature Experimentation),
    /// with a warning naming them.
    pub(crate) fn effective_mapping(&self, product: Product) -> (Mapping, Option<String>) {
        let Some(kind) = self.kind.definition() else {
            return (self.mapping.clone(), None);
        };
        let ignored = crate::destination::definition(kind).ignored_fields(product);
        let dropped: Vec<_> = ignored
            .iter()
            .filter(|(field, _)| self.mapping.column(*field).is_some())
            .collect();
        if dropped.is_empty() {
            return (self.mapping.clone(), None);
        }
        let entries = self
            .mapping
            .entries()
            .filter(|(field, _)| !dropped.iter().any(|(d, _)| d == field))
            .map(|(field, column)| (field.as_str(), column.to_owned()))
            .collect::<Vec<_>>();
        let rules = crate::destination::object_rules(self.kind);
        match Mapping::new(rules, entries) {
            Ok(mapping) => {
                let warnings = dropped
                    .iter()
                    .map(|(field, why)| {
                        format!(
                            "sync {}: the `{field}` mapping is ignored: {why}; remove `{field}` from the mapping to silence this warning",
                            self.name
                        )
                    })
                    .collect::<Vec<_>>();
                (mapping, Some(warnings.join("\n")))
            }
            // Removing an optional field cannot make a valid mapping invalid; keep the
            // original should it ever happen.
            Err(_) => (self.mapping.clone(), None),
        }
    }
}

/// The user's switches for one run (command-line flags).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// `--full-resync`: ignore what state says was delivered.
    pub full_resync: bool,
    /// `--allow-empty`: let an empty model through the empty-model guardrail.
    pub allow_empty: bool,
    /// `--allow-large-removal`: let a large removal through its guardrail.
    pub allow_large_removal: bool,
    /// `--adopt-existing`: build a list on its current content.
    pub adopt_existing: bool,
    /// `--replace`: overwrite a list with what the model alone gives.
    pub replace: bool,
    /// `--allow-many-creates`: let a run creating more than `max_creates` objects through.
    pub allow_many_creates: bool,
}

/// The project a run writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// The numeric project id.
    pub project_id: i64,
    /// Its product, read from `GET /projects/{id}`.
    pub product: Product,
}

#[cfg(test)]
mod tests {
    use super::*;
    use optisync_core::Field;

    fn spec(mapping: &[(&str, &str)]) -> SyncSpec {
        SyncSpec {
            name: "attrs".into(),
            kind: SyncKind::parse("attribute", "upsert").unwrap(),
            model: "select 1".into(),
            mapping: Mapping::new(
                crate::destination::object_rules(SyncKind::parse("attribute", "upsert").unwrap()),
                mapping.iter().copied(),
            )
            .unwrap(),
            primary_key: vec![],
            list_attribute_id: None,
            audience_name: None,
            allow_pii: false,
            max_removal_percent: 20.0,
            max_creates: DEFAULT_MAX_CREATES,
            odp: None,
        }
    }

    #[test]
    fn config_hash_changes_with_the_model_and_the_project() {
        let a = spec(&[("key", "k")]);
        let mut b = a.clone();
        b.model = "select 2".into();
        assert_eq!(a.config_hash(1), a.clone().config_hash(1));
        assert_ne!(a.config_hash(1), b.config_hash(1));
        assert_ne!(a.config_hash(1), a.config_hash(2));
        let mut c = a.clone();
        c.max_creates = 5;
        assert_ne!(
            a.config_hash(1),
            c.config_hash(1),
            "max_creates is a guardrail setting"
        );
    }

    #[test]
    fn name_mapping_of_attributes_is_dropped_on_feature_experimentation_only() {
        let s = spec(&[("key", "k"), ("name", "n")]);
        let (web, warning) = s.effective_mapping(Product::Web);
        assert!(web.column(Field::Name).is_some() && warning.is_none());
        let (fx, warning) = s.effective_mapping(Product::FeatureExperimentation);
        assert!(fx.column(Field::Name).is_none());
        assert!(warning.unwrap().contains("sync attrs"));
    }
}
