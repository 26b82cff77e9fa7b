//! Which projects and which object types optisync writes to, with one copy of each message:
//! `check` reports these and a run refuses with them (docs/PRODUCT-RULES.md#project).

use optisync_core::SyncKind;
use optisync_optimizely::{Product, Project};

/// The product's name as Optimizely's UI spells it.
pub fn product_name(product: Product) -> &'static str {
    match product {
        Product::Web => "Web Experimentation",
        Product::FeatureExperimentation => "Feature Experimentation",
        Product::LegacyFullStack => "Full Stack (legacy)",
        Product::Mobile => "Mobile (legacy)",
        Product::Classic => "Classic",
    }
}

/// Why optisync does not write to `project`, if it does not: archived projects, and the
/// products the v2 API cannot change or that are sunset. The message follows the project's
/// id (and name) and says what to do.
pub fn project_refusal(project: &Project) -> Option<String> {
    if project.is_archived() {
        return Some(
            "is archived; optisync does not write to archived projects: unarchive it in Optimizely or use another project_id".to_owned(),
        );
    }
    product_refusal(project.product())
}

/// Why optisync does not write to projects of `product`, if it does not: the products the
/// v2 API cannot change or that are sunset.
pub fn product_refusal(product: Product) -> Option<String> {
    match product {
        Product::Web | Product::FeatureExperimentation => None,
        Product::Classic => Some(
            "is an Optimizely Classic project, which the REST API v2 cannot change; use a Web or Feature Experimentation project".to_owned(),
        ),
        Product::LegacyFullStack | Product::Mobile => Some(format!(
            "is a {} project, which optisync does not write to; use a Web or Feature Experimentation project",
            product_name(product)
        )),
    }
}

/// The message for a list-attribute sync on a project that cannot have list attributes.
pub const LIST_ON_FX: &str = "list attributes are not available in Feature Experimentation; use an attribute and an audience condition instead";

/// Why a sync of `kind` cannot run on a `product` project, if it cannot.
pub fn kind_refusal(kind: SyncKind, product: Product) -> Option<&'static str> {
    match kind {
        SyncKind::List { .. } if product != Product::Web => Some(LIST_ON_FX),
        // ODP is a product of its own: Feature Experimentation targets its segments, and
        // Web projects connected to ODP can too.
        SyncKind::List { .. } | SyncKind::OdpAttribute { .. } | SyncKind::Definition { .. } => None,
    }
}
