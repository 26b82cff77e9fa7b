//! The opening of everything a run needs (source, client, state store, project) as one
//! [`Engine`]. The engine never sees the config types.

use std::sync::Arc;

use optisync_engine::Engine;
use optisync_optimizely::{
    ApiToken, Client, ClientConfig, Product, RateLimit, Reservation, SharedQuota,
};
use optisync_state::{RequestLedger, SlotId, Store};

use crate::config::Config;
use crate::error::{CliError, ConfigError};

/// Opens the state store of `config` for a verb that records state (`plan`, `sync`,
/// `reset`). The state lives in `state_dir` when optisync creates it (owner-only) or it
/// already holds the state, else in an `.optisync` folder of optisync's own inside it; an
/// unsafe folder is refused, never changed (`optisync_state::state_dir`).
pub fn open_store(config: &Config) -> Result<Store, CliError> {
    Store::open(&config.state_dir).map_err(|e| state_error(config, e))
}

/// Opens the state store of `config` read-only for `status` and `runs`: nothing is created,
/// migrated or written, so a state folder the user can read but not write works. `None`
/// when no run has recorded state yet.
pub fn open_store_read_only(config: &Config) -> Result<Option<Store>, CliError> {
    Store::open_read_only(&config.state_dir).map_err(|e| state_error(config, e))
}

/// A state folder or file the user must fix exits 3 with the store's message (what is wrong
/// and what to do); anything else is internal.
fn state_error(config: &Config, error: optisync_state::Error) -> CliError {
    if error.is_unusable_state() {
        CliError::Config(ConfigError::State(error.to_string()))
    } else {
        CliError::Internal(anyhow::anyhow!(
            "cannot open the state store in {}: {error}",
            config.state_dir.display()
        ))
    }
}

/// Opens the source, the client and the store, and reads the project. The client's rate
/// limit is shared, through the state store, with every other optisync process using the
/// same state directory and token.
pub async fn connect(config: &Config, holder: &str) -> Result<Engine, CliError> {
    let source = crate::warehouse::open(config)?;
    let store = open_store(config)?;
    let client = client(config, config.optimizely.token()?, Some(&store), None)?;
    let odp = match &config.odp {
        Some(odp) => Some(odp_client(odp, &config.optimizely.proxy, Some(&store))?),
        None => None,
    };
    let mut engine = Engine::connect(source, client, store, config.optimizely.project_id, holder)
        .await
        .map_err(CliError::from_engine)?;
    if let Some(odp) = odp {
        engine.set_odp(odp);
    }
    Ok(engine)
}

/// The ODP client: the `[odp]` table's key, region (or URL), timeout and quota (10 requests
/// a second unless configured), the same proxy policy as Optimizely's, and with a `store`
/// the quota shared with every other optisync process using the same key.
pub fn odp_client(
    odp: &crate::config::Odp,
    proxy: &optisync_optimizely::ProxyPolicy,
    store: Option<&Store>,
) -> Result<Client, CliError> {
    let key = odp.key()?;
    let mut client_config = ClientConfig::odp(key.clone());
    client_config.api_url = odp.api_url_for(&key);
    if let Some(limit) = odp.rate_limit {
        client_config.rate_limit = Some(limit);
    }
    if let Some(timeout) = odp.timeout {
        client_config.timeout = timeout;
    }
    if let Some(store) = store {
        let ledger = RequestLedger::open(store, &quota_name(key.expose())).map_err(|e| {
            CliError::Internal(anyhow::anyhow!("cannot open the request ledger: {e}"))
        })?;
        client_config.shared_quota = Some(Arc::new(LedgerQuota(ledger)) as Arc<dyn SharedQuota>);
    }
    Client::with_proxy(client_config, proxy).map_err(|error| {
        if error.kind() == optisync_optimizely::ErrorKind::Config {
            CliError::Config(ConfigError::Invalid(format!("[odp] {}", error.message())))
        } else {
            CliError::Internal(anyhow::Error::new(error))
        }
    })
}

/// The client every verb that calls the API uses: the config's URL, timeout, proxy and
/// quota, and, with a `store`, the quota shared through its request ledger with every other
/// optisync process on the same token, paced from the start by the product a previous run
/// saw for the project. `token` is the config's, resolved; `max_attempts` overrides the
/// client's default.
pub fn client(
    config: &Config,
    token: ApiToken,
    store: Option<&Store>,
    max_attempts: Option<u32>,
) -> Result<Client, CliError> {
    let shared_quota = match store {
        Some(store) => {
            let ledger = RequestLedger::open(store, &quota_name(token.expose())).map_err(|e| {
                CliError::Internal(anyhow::anyhow!("cannot open the request ledger: {e}"))
            })?;
            Some(Arc::new(LedgerQuota(ledger)) as Arc<dyn SharedQuota>)
        }
        None => None,
    };
    let mut client_config = ClientConfig::new(token);
    client_config.api_url = config.optimizely.api_url.clone();
    client_config.rate_limit = config.optimizely.rate_limit;
    if let Some(timeout) = config.optimizely.timeout {
        client_config.timeout = timeout;
    }
    if let Some(attempts) = max_attempts {
        client_config.max_attempts = attempts;
    }
    client_config.shared_quota = shared_quota;
    let client =
        Client::with_proxy(client_config, &config.optimizely.proxy).map_err(client_error)?;
    let remembered = store.and_then(|store| {
        store
            .remembered_product(config.optimizely.project_id)
            .map_err(|error| {
                tracing::warn!(%error, "could not read the project's product from the state store");
            })
            .ok()
            .flatten()
    });
    if let Some(product) = remembered.as_deref().and_then(Product::from_name) {
        client.assume_product(product);
    }
    Ok(client)
}

/// A client that cannot be built: a config problem (a proxy, a token with characters no
/// header can carry) exits 3, anything else (the TLS backend) is internal.
pub fn client_error(error: optisync_optimizely::Error) -> CliError {
    if error.kind() == optisync_optimizely::ErrorKind::Config {
        CliError::Config(ConfigError::Invalid(format!(
            "[optimizely] {}",
            error.message()
        )))
    } else {
        CliError::Internal(anyhow::Error::new(error))
    }
}

/// The state store's request ledger as the client's shared quota.
#[derive(Debug)]
struct LedgerQuota(RequestLedger);

impl SharedQuota for LedgerQuota {
    fn reserve(&self, limit: RateLimit) -> Result<Reservation, String> {
        let (wait, slot) = self
            .0
            .reserve_slot(limit.per_second, limit.per_minute)
            .map_err(|e| e.to_string())?;
        Ok(Reservation {
            wait,
            slot: Some(slot.0),
        })
    }

    fn sent(&self, slot: i64, departed: std::time::SystemTime) -> Result<(), String> {
        // Before 1970 or past the year 292 million: the slot keeps its reserved time.
        let Some(millis) = departed
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .and_then(|d| i64::try_from(d.as_millis()).ok())
        else {
            return Ok(());
        };
        self.0.sent(SlotId(slot), millis).map_err(|e| e.to_string())
    }
}

/// The ledger's name for a token: a hash, so the token itself is never stored.
fn quota_name(token: &str) -> String {
    format!("token-{}", optisync_core::hash::hex(token.as_bytes()))
}
