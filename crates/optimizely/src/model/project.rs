//! Projects, and which Optimizely product a project belongs to (which decides the default
//! rate limit and which object types exist).

use serde::{Deserialize, Serialize};

use super::string_enum::string_enum;

string_enum! {
    /// A project's `platform`.
    Platform {
        /// Web Experimentation.
        Web => "web",
        /// Legacy iOS project.
        Ios => "ios",
        /// Legacy Android project.
        Android => "android",
        /// Full Stack / Feature Experimentation.
        Custom => "custom",
    }
}

string_enum! {
    /// A project's `status`.
    ProjectStatus {
        /// In use.
        Active => "active",
        /// Archived: optisync does not write to it.
        Archived => "archived",
    }
}

/// The Optimizely product a project belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Product {
    /// Web Experimentation (`platform = web`).
    Web,
    /// Feature Experimentation (`platform = custom`, flags enabled).
    FeatureExperimentation,
    /// Full Stack before flags (`platform = custom`, flags not enabled); sunset in 2024.
    LegacyFullStack,
    /// The legacy mobile products (`platform = ios | android`).
    Mobile,
    /// Optimizely Classic (`is_classic = true`), which the v2 API cannot change.
    Classic,
}

impl Product {
    /// Every product.
    pub const ALL: [Product; 5] = [
        Product::Web,
        Product::FeatureExperimentation,
        Product::LegacyFullStack,
        Product::Mobile,
        Product::Classic,
    ];

    /// A stable name, as the state store keeps it.
    pub fn as_str(self) -> &'static str {
        match self {
            Product::Web => "web",
            Product::FeatureExperimentation => "feature_experimentation",
            Product::LegacyFullStack => "legacy_full_stack",
            Product::Mobile => "mobile",
            Product::Classic => "classic",
        }
    }

    /// The product named `name` by [`Product::as_str`].
    pub fn from_name(name: &str) -> Option<Product> {
        Product::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

/// `GET /projects/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Project {
    /// Project id.
    pub id: i64,
    /// Owning account.
    #[serde(default)]
    pub account_id: Option<i64>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Platform; the API's default is `web`.
    #[serde(default)]
    pub platform: Option<Platform>,
    /// `active` or `archived`.
    #[serde(default)]
    pub status: Option<ProjectStatus>,
    /// Classic (v1) project.
    #[serde(default)]
    pub is_classic: Option<bool>,
    /// Feature flags enabled (Feature Experimentation).
    #[serde(default)]
    pub is_flags_enabled: Option<bool>,
    /// Creation time (RFC 3339).
    #[serde(default)]
    pub created: Option<String>,
    /// Last modification time (RFC 3339).
    #[serde(default)]
    pub last_modified: Option<String>,
}

impl Project {
    /// Which product the project belongs to (docs/OPTIMIZELY-API.md#product-detection).
    ///
    /// A platform this client does not know is reported as [`Product::LegacyFullStack`]: it
    /// is not Web, so list attributes are not assumed to exist, but the definition endpoints
    /// that every v2 project has stay usable.
    pub fn product(&self) -> Product {
        if self.is_classic == Some(true) {
            return Product::Classic;
        }
        match self.platform.as_ref().unwrap_or(&Platform::Web) {
            Platform::Web => Product::Web,
            Platform::Custom if self.is_flags_enabled == Some(true) => {
                Product::FeatureExperimentation
            }
            Platform::Custom => Product::LegacyFullStack,
            Platform::Ios | Platform::Android => Product::Mobile,
            Platform::Other(_) => Product::LegacyFullStack,
        }
    }

    /// True when the project is archived.
    pub fn is_archived(&self) -> bool {
        self.status == Some(ProjectStatus::Archived)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failing unwrap is a failing test
mod tests {
    use super::*;

    #[test]
    fn product_names_round_trip() {
        for product in Product::ALL {
            assert_eq!(Product::from_name(product.as_str()), Some(product));
        }
        assert_eq!(Product::from_name("Web"), None);
    }

    fn project(json: &str) -> Project {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn product_detection() {
        let fx = project(
            r#"{"account_id": 22593670756, "confidence_threshold": 0.9, "created": "2023-12-07T16:45:05.331128Z",
               "description": "", "id": 26592390574, "is_classic": false, "is_flags_enabled": true,
               "name": "FX", "platform": "custom", "sdks": [], "status": "active"}"#,
        );
        assert_eq!(fx.product(), Product::FeatureExperimentation);
        assert!(!fx.is_archived());
        assert_eq!(
            project(r#"{"id":1,"platform":"custom","is_flags_enabled":false}"#).product(),
            Product::LegacyFullStack
        );
        assert_eq!(
            project(r#"{"id":1,"platform":"web"}"#).product(),
            Product::Web
        );
        assert_eq!(project(r#"{"id":1}"#).product(), Product::Web);
        assert_eq!(
            project(r#"{"id":1,"platform":"ios"}"#).product(),
            Product::Mobile
        );
        assert_eq!(
            project(r#"{"id":1,"platform":"android"}"#).product(),
            Product::Mobile
        );
        assert_eq!(
            project(r#"{"id":1,"platform":"web","is_classic":true}"#).product(),
            Product::Classic
        );
        assert!(project(r#"{"id":1,"status":"archived"}"#).is_archived());
    }

    #[test]
    fn unknown_values_are_kept() {
        let p = project(r#"{"id":1,"platform":"tv","status":"frozen","web_snippet":{}}"#);
        assert_eq!(p.platform, Some(Platform::Other("tv".into())));
        assert_eq!(serde_json::to_value(&p.status).unwrap(), "frozen");
    }
}
