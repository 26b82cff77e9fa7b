//! The typed calls, one per API operation used by optisync, and listing across pages.
//! Paths and verbs follow API.md section 3: custom events are read through `/events` but
//! written under `/projects/{id}/custom_events`; audiences have no DELETE (archive = PATCH);
//! list attributes are not paginated.

use http::Method;
use serde::de::DeserializeOwned;

use crate::client::{Client, show_path};
use crate::error::{Error, ErrorKind, Phase};
use crate::model::{
    Attribute, AttributeUpdate, Audience, AudienceUpdate, CustomEventUpdate, Event, ListAttribute,
    ListAttributeUpdate, NewAttribute, NewAudience, NewCustomEvent, NewListAttribute, Project,
};
use crate::pagination;
use crate::rate_limit::RateLimit;
use crate::transport::BodyLimit;

/// Items per page requested from paginated endpoints (the API's maximum).
pub const PER_PAGE: usize = 100;

/// Stops a server that keeps sending `next` links from looping forever
/// (1000 pages of 100 is far beyond any project's objects). A link back to a page already
/// read stops the listing at once, and all pages together are bounded by
/// [`BodyLimit::LISTING`].
const MAX_PAGES: usize = 1000;

/// How a list endpoint pages.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Paging {
    /// `page`/`per_page` parameters, `Link` headers, and the short-page rule.
    Pages,
    /// No parameters; a `Link: rel=next` is still followed if the server sends one.
    LinksOnly,
}

impl Client {
    /// `GET /projects/{id}`. Also sets the token's default quota from the product, unless
    /// the config chose one.
    pub async fn get_project(&self, project_id: i64) -> Result<Project, Error> {
        let url = self.url(&["projects", &project_id.to_string()], &[])?;
        let project: Project = self.get_json(url, BodyLimit::OBJECT).await?;
        self.adopt_product_limit(RateLimit::for_product(project.product()));
        Ok(project)
    }

    // ---- attributes ----

    /// Every attribute of the project, archived ones included, across all pages.
    pub async fn list_attributes(&self, project_id: i64) -> Result<Vec<Attribute>, Error> {
        self.list(&["attributes"], project_query(project_id), Paging::Pages)
            .await
    }

    /// `GET /attributes/{id}`.
    pub async fn get_attribute(&self, attribute_id: i64) -> Result<Attribute, Error> {
        self.get_json(
            self.url(&["attributes", &attribute_id.to_string()], &[])?,
            BodyLimit::OBJECT,
        )
        .await
    }

    /// `POST /attributes`. On an error with [`Error::outcome_unknown`], re-list before
    /// creating again.
    pub async fn create_attribute(&self, attribute: &NewAttribute) -> Result<Attribute, Error> {
        let url = self.url(&["attributes"], &[])?;
        self.send_json(Method::POST, url, attribute, BodyLimit::OBJECT)
            .await
    }

    /// `PATCH /attributes/{id}` with only the fields that are set.
    pub async fn update_attribute(
        &self,
        attribute_id: i64,
        update: &AttributeUpdate,
    ) -> Result<Attribute, Error> {
        let url = self.url(&["attributes", &attribute_id.to_string()], &[])?;
        self.send_json(Method::PATCH, url, update, BodyLimit::OBJECT)
            .await
    }

    // ---- audiences ----

    /// Every audience of the project, across all pages.
    pub async fn list_audiences(&self, project_id: i64) -> Result<Vec<Audience>, Error> {
        self.list(&["audiences"], project_query(project_id), Paging::Pages)
            .await
    }

    /// `GET /audiences/{id}`.
    pub async fn get_audience(&self, audience_id: i64) -> Result<Audience, Error> {
        self.get_json(
            self.url(&["audiences", &audience_id.to_string()], &[])?,
            BodyLimit::OBJECT,
        )
        .await
    }

    /// `POST /audiences`.
    pub async fn create_audience(&self, audience: &NewAudience) -> Result<Audience, Error> {
        let url = self.url(&["audiences"], &[])?;
        self.send_json(Method::POST, url, audience, BodyLimit::OBJECT)
            .await
    }

    /// `PATCH /audiences/{id}` with only the fields that are set.
    pub async fn update_audience(
        &self,
        audience_id: i64,
        update: &AudienceUpdate,
    ) -> Result<Audience, Error> {
        let url = self.url(&["audiences", &audience_id.to_string()], &[])?;
        self.send_json(Method::PATCH, url, update, BodyLimit::OBJECT)
            .await
    }

    // ---- events ----

    /// Every event of the project (all kinds, Classic excluded), across all pages.
    pub async fn list_events(&self, project_id: i64) -> Result<Vec<Event>, Error> {
        let mut query = project_query(project_id);
        query.push(("include_classic", "false".to_owned()));
        self.list(&["events"], query, Paging::Pages).await
    }

    /// The project's custom events (those with `event_type == custom`).
    pub async fn list_custom_events(&self, project_id: i64) -> Result<Vec<Event>, Error> {
        let mut events = self.list_events(project_id).await?;
        events.retain(Event::is_custom);
        Ok(events)
    }

    /// `GET /events/{id}`.
    pub async fn get_event(&self, event_id: i64) -> Result<Event, Error> {
        self.get_json(
            self.url(&["events", &event_id.to_string()], &[])?,
            BodyLimit::OBJECT,
        )
        .await
    }

    /// `POST /projects/{project_id}/custom_events`.
    pub async fn create_custom_event(
        &self,
        project_id: i64,
        event: &NewCustomEvent,
    ) -> Result<Event, Error> {
        let url = self.url(&["projects", &project_id.to_string(), "custom_events"], &[])?;
        self.send_json(Method::POST, url, event, BodyLimit::OBJECT)
            .await
    }

    /// `PATCH /projects/{project_id}/custom_events/{id}` with only the fields that are set.
    pub async fn update_custom_event(
        &self,
        project_id: i64,
        event_id: i64,
        update: &CustomEventUpdate,
    ) -> Result<Event, Error> {
        let url = self.url(
            &[
                "projects",
                &project_id.to_string(),
                "custom_events",
                &event_id.to_string(),
            ],
            &[],
        )?;
        self.send_json(Method::PATCH, url, update, BodyLimit::OBJECT)
            .await
    }

    // ---- list attributes ----

    /// Every list attribute of the project (the endpoint is not paginated).
    pub async fn list_list_attributes(&self, project_id: i64) -> Result<Vec<ListAttribute>, Error> {
        self.list(
            &["list_attributes"],
            project_query(project_id),
            Paging::LinksOnly,
        )
        .await
    }

    /// `GET /list_attributes/{id}`.
    pub async fn get_list_attribute(&self, list_attribute_id: i64) -> Result<ListAttribute, Error> {
        self.get_json(
            self.url(&["list_attributes", &list_attribute_id.to_string()], &[])?,
            BodyLimit::LIST_ATTRIBUTE,
        )
        .await
    }

    /// `POST /list_attributes`.
    pub async fn create_list_attribute(
        &self,
        list: &NewListAttribute,
    ) -> Result<ListAttribute, Error> {
        let url = self.url(&["list_attributes"], &[])?;
        self.send_json(Method::POST, url, list, BodyLimit::LIST_ATTRIBUTE)
            .await
    }

    /// `PATCH /list_attributes/{id}`. A `list_content` replaces the whole list.
    pub async fn update_list_attribute(
        &self,
        list_attribute_id: i64,
        update: &ListAttributeUpdate,
    ) -> Result<ListAttribute, Error> {
        let url = self.url(&["list_attributes", &list_attribute_id.to_string()], &[])?;
        self.send_json(Method::PATCH, url, update, BodyLimit::LIST_ATTRIBUTE)
            .await
    }

    /// Fetches every page: follows `Link: rel=next`; without `Link` headers, asks for the next
    /// page number until a page comes back shorter than [`PER_PAGE`]. A `next` link to a page
    /// already read is an error (a cycle would otherwise cost [`MAX_PAGES`] requests), and so
    /// is a listing larger than [`BodyLimit::LISTING`] in all.
    async fn list<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: Vec<(&'static str, String)>,
        paging: Paging,
    ) -> Result<Vec<T>, Error> {
        let page_url = |page: usize| {
            let mut q = query.clone();
            if paging == Paging::Pages {
                q.push(("per_page", PER_PAGE.to_string()));
                q.push(("page", page.to_string()));
            }
            self.url(segments, &q)
        };
        let mut page = 1;
        let mut url = page_url(page)?;
        let mut all = Vec::new();
        let mut seen = std::collections::HashSet::new();
        // The unpaginated list-attribute listing may carry every list's content at once.
        let (per_page_limit, mut budget) = match paging {
            Paging::Pages => (BodyLimit::PAGE, BodyLimit::LISTING.0),
            Paging::LinksOnly => (BodyLimit::LIST_ATTRIBUTES, BodyLimit::LIST_ATTRIBUTES.0),
        };
        for _ in 0..MAX_PAGES {
            if budget == 0 {
                let all_pages = BodyLimit(match paging {
                    Paging::Pages => BodyLimit::LISTING.0,
                    Paging::LinksOnly => BodyLimit::LIST_ATTRIBUTES.0,
                });
                return Err(self.paging_error(
                    &url,
                    &format!("leads past {} of answers in all", all_pages.describe()),
                ));
            }
            seen.insert(url.clone());
            let limit = BodyLimit(per_page_limit.0.min(budget));
            let resp = self.execute(Method::GET, &url, None, limit).await?;
            budget = budget.saturating_sub(u64::try_from(resp.body().len()).unwrap_or(u64::MAX));
            let next = pagination::next_link(resp.headers(), &url);
            let has_links = pagination::has_links(resp.headers());
            let items: Vec<T> = self.decode(&Method::GET, &url, resp)?;
            let count = items.len();
            all.extend(items);
            match next {
                Some(next) if next == url => {
                    return Err(self.paging_error(&url, "points to itself"));
                }
                Some(next) if seen.contains(&next) => {
                    return Err(self.paging_error(
                        &url,
                        &format!(
                            "points back to a page already read ({}), a cycle",
                            show_path(&next)
                        ),
                    ));
                }
                Some(next) if !self.same_origin(&next) => {
                    // Following it would send the token to another host.
                    return Err(self.paging_error(&url, "points to another host"));
                }
                Some(next) => {
                    url = next;
                    continue;
                }
                None if has_links || paging == Paging::LinksOnly => return Ok(all),
                None if count < PER_PAGE => return Ok(all),
                None => {
                    page += 1;
                    url = page_url(page)?;
                }
            }
        }
        Err(self.paging_error(&url, &format!("still has more after {MAX_PAGES} pages")))
    }

    fn paging_error(&self, url: &url::Url, what: &str) -> Error {
        Error::new(
            ErrorKind::Internal,
            Phase::Responded {
                status: 200,
                code: None,
                message: None,
                uuid: None,
                request_id: None,
            },
            format!(
                "GET {}: the next-page link {what}; stopping. The server is not paging like Optimizely's API: check api_url (and the proxy, if any)",
                show_path(url)
            ),
        )
    }
}

fn project_query(project_id: i64) -> Vec<(&'static str, String)> {
    vec![("project_id", project_id.to_string())]
}
