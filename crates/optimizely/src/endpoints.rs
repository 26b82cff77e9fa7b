//! The typed calls: one generic call per operation ([`Client::get`], [`Client::list`] with
//! its paging, [`Client::create`], [`Client::update`]) for every kind of object, and the calls
//! by name (`list_attributes`, `create_custom_event`, …) as one-line wrappers over them. Where
//! each kind lives and how it pages is said once, in `resource.rs` (docs/OPTIMIZELY-API.md#endpoints).

use http::Method;

use crate::client::{Client, show_path};
use crate::error::{Error, ErrorKind, Phase};
use crate::model::{
    Attribute, AttributeUpdate, Audience, AudienceUpdate, CustomEventUpdate, Event, ListAttribute,
    ListAttributeUpdate, NewAttribute, NewAudience, NewCustomEvent, NewListAttribute, Project,
};
use crate::pagination;
use crate::rate_limit::RateLimit;
use crate::resource::{Object, Paging, Resource, WriteScope};
use crate::transport::BodyLimit;

/// Items per page requested from paginated endpoints (the API's maximum).
pub const PER_PAGE: usize = 100;

/// Stops a server that keeps sending `next` links from looping forever
/// (1000 pages of 100 is far beyond any project's objects). A link back to a page already
/// read stops the listing at once, and all pages together are bounded by the resource's
/// [`Resource::LISTING_LIMIT`].
const MAX_PAGES: usize = 1000;

/// The generic calls: one per operation, for every kind of object.
impl Client {
    /// `GET /{PATH}/{id}`. For a project, [`Client::get_project`] also sets the token's
    /// default quota from the product; this does not.
    pub async fn get<R: Object>(&self, id: i64) -> Result<R, Error> {
        let url = self.url(&[R::PATH, &id.to_string()], &[])?;
        self.get_json(url, R::LIMIT).await
    }

    /// Every object of the project, archived ones included, across all pages: follows
    /// `Link: rel=next`; without `Link` headers, and when [`Resource::PAGING`] is
    /// [`Paging::Pages`], asks for the next page number until a page comes back shorter than
    /// [`PER_PAGE`]. A `next` link to a page already read is an error (a cycle would otherwise
    /// cost a thousand requests), and so is a listing larger than
    /// [`Resource::LISTING_LIMIT`] in all.
    pub async fn list<R: Resource>(&self, project_id: i64) -> Result<Vec<R>, Error> {
        let mut query = vec![("project_id", project_id.to_string())];
        query.extend(R::LIST_QUERY.iter().map(|&(k, v)| (k, v.to_owned())));
        let paging = R::PAGING;
        let page_url = |page: usize| {
            let mut q = query.clone();
            if paging == Paging::Pages {
                q.push(("per_page", PER_PAGE.to_string()));
                q.push(("page", page.to_string()));
            }
            self.url(&[R::PATH], &q)
        };
        let mut page = 1;
        let mut url = page_url(page)?;
        let mut all = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut budget = R::LISTING_LIMIT.0;
        for _ in 0..MAX_PAGES {
            if budget == 0 {
                return Err(self.paging_error(
                    &url,
                    &format!(
                        "leads past {} of answers in all",
                        R::LISTING_LIMIT.describe()
                    ),
                ));
            }
            seen.insert(url.clone());
            let limit = BodyLimit(R::PAGE_LIMIT.0.min(budget));
            let resp = self.execute(Method::GET, &url, None, limit).await?;
            budget = budget.saturating_sub(u64::try_from(resp.body().len()).unwrap_or(u64::MAX));
            let next = pagination::next_link(resp.headers(), &url);
            let has_links = pagination::has_links(resp.headers());
            let items: Vec<R> = self.decode(&Method::GET, &url, resp)?;
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

    /// `POST` to the resource's collection (under `/projects/{id}` when its
    /// [`Resource::Scope`] is a project id). On an error with [`Error::outcome_unknown`],
    /// re-list before creating again.
    pub async fn create<R: Resource>(&self, scope: R::Scope, body: &R::New) -> Result<R, Error> {
        let url = self.write_url::<R>(scope, None)?;
        self.send_json(Method::POST, url, body, R::LIMIT).await
    }

    /// `PATCH` of one object with only the fields that are set.
    pub async fn update<R: Resource>(
        &self,
        scope: R::Scope,
        id: i64,
        body: &R::Update,
    ) -> Result<R, Error> {
        let url = self.write_url::<R>(scope, Some(id))?;
        self.send_json(Method::PATCH, url, body, R::LIMIT).await
    }

    fn write_url<R: Resource>(&self, scope: R::Scope, id: Option<i64>) -> Result<url::Url, Error> {
        let mut segments = scope.segments();
        segments.push(R::WRITE_PATH.to_owned());
        segments.extend(id.map(|id| id.to_string()));
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        self.url(&segments, &[])
    }
}

/// The calls by name, as the engine and the CLI use them.
impl Client {
    /// `GET /projects/{id}`. Also sets the token's default quota from the product, unless
    /// the config chose one.
    pub async fn get_project(&self, project_id: i64) -> Result<Project, Error> {
        let project: Project = self.get(project_id).await?;
        self.adopt_product_limit(RateLimit::for_product(project.product()));
        Ok(project)
    }

    /// Every attribute of the project, archived ones included, across all pages.
    pub async fn list_attributes(&self, project_id: i64) -> Result<Vec<Attribute>, Error> {
        self.list(project_id).await
    }

    /// `GET /attributes/{id}`.
    pub async fn get_attribute(&self, attribute_id: i64) -> Result<Attribute, Error> {
        self.get(attribute_id).await
    }

    /// `POST /attributes`. On an error with [`Error::outcome_unknown`], re-list before
    /// creating again.
    pub async fn create_attribute(&self, attribute: &NewAttribute) -> Result<Attribute, Error> {
        self.create((), attribute).await
    }

    /// `PATCH /attributes/{id}` with only the fields that are set.
    pub async fn update_attribute(
        &self,
        attribute_id: i64,
        update: &AttributeUpdate,
    ) -> Result<Attribute, Error> {
        self.update((), attribute_id, update).await
    }

    /// Every audience of the project, across all pages.
    pub async fn list_audiences(&self, project_id: i64) -> Result<Vec<Audience>, Error> {
        self.list(project_id).await
    }

    /// `GET /audiences/{id}`.
    pub async fn get_audience(&self, audience_id: i64) -> Result<Audience, Error> {
        self.get(audience_id).await
    }

    /// `POST /audiences`.
    pub async fn create_audience(&self, audience: &NewAudience) -> Result<Audience, Error> {
        self.create((), audience).await
    }

    /// `PATCH /audiences/{id}` with only the fields that are set.
    pub async fn update_audience(
        &self,
        audience_id: i64,
        update: &AudienceUpdate,
    ) -> Result<Audience, Error> {
        self.update((), audience_id, update).await
    }

    /// Every event of the project (all kinds, Classic excluded), across all pages.
    pub async fn list_events(&self, project_id: i64) -> Result<Vec<Event>, Error> {
        self.list(project_id).await
    }

    /// The project's custom events (those with `event_type == custom`).
    pub async fn list_custom_events(&self, project_id: i64) -> Result<Vec<Event>, Error> {
        let mut events = self.list_events(project_id).await?;
        events.retain(Event::is_custom);
        Ok(events)
    }

    /// `GET /events/{id}`.
    pub async fn get_event(&self, event_id: i64) -> Result<Event, Error> {
        self.get(event_id).await
    }

    /// `POST /projects/{project_id}/custom_events`.
    pub async fn create_custom_event(
        &self,
        project_id: i64,
        event: &NewCustomEvent,
    ) -> Result<Event, Error> {
        self.create(project_id, event).await
    }

    /// `PATCH /projects/{project_id}/custom_events/{id}` with only the fields that are set.
    pub async fn update_custom_event(
        &self,
        project_id: i64,
        event_id: i64,
        update: &CustomEventUpdate,
    ) -> Result<Event, Error> {
        self.update(project_id, event_id, update).await
    }

    /// Every list attribute of the project (the endpoint is not paginated).
    pub async fn list_list_attributes(&self, project_id: i64) -> Result<Vec<ListAttribute>, Error> {
        self.list(project_id).await
    }

    /// `GET /list_attributes/{id}`.
    pub async fn get_list_attribute(&self, list_attribute_id: i64) -> Result<ListAttribute, Error> {
        self.get(list_attribute_id).await
    }

    /// `POST /list_attributes`.
    pub async fn create_list_attribute(
        &self,
        list: &NewListAttribute,
    ) -> Result<ListAttribute, Error> {
        self.create((), list).await
    }

    /// `PATCH /list_attributes/{id}`. A `list_content` replaces the whole list.
    pub async fn update_list_attribute(
        &self,
        list_attribute_id: i64,
        update: &ListAttributeUpdate,
    ) -> Result<ListAttribute, Error> {
        self.update((), list_attribute_id, update).await
    }
}

impl Client {
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
