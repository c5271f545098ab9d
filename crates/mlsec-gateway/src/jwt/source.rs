//! Where the JWKS comes from (a file, or an HTTPS URL), kept fresh: on a
//! period, and at once when a token names a key the set lacks (the issuer
//! rotated), at most once per [`ON_DEMAND_EVERY`] so that tokens with made-up
//! key ids cannot turn the gateway against the identity provider.

use super::{verify, Claims, Jwks, JwtError, Rules, MAX_JWKS_BYTES};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};
use tokio_rustls::rustls;

pub const ON_DEMAND_EVERY: Duration = Duration::from_secs(10);
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

pub enum Source {
    File(PathBuf),
    Https {
        url: http::Uri,
        tls: Arc<rustls::ClientConfig>,
    },
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::File(p) => write!(f, "{}", p.display()),
            Source::Https { url, .. } => write!(f, "{url}"),
        }
    }
}

/// The `[jwt]` section at run time: rules, claim names and the key set.
pub struct JwtAuth {
    pub rules: Rules,
    pub source: Source,
    pub refresh: Duration,
    pub groups_claim: String,
    pub tier_claim: String,
    keys: RwLock<Arc<Jwks>>,
    /// When the last load began.
    fetched: Mutex<Option<Instant>>,
    /// Held while loading.
    loading: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for JwtAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtAuth")
            .field("issuer", &self.rules.issuer)
            .field("source", &self.source.to_string())
            .finish_non_exhaustive()
    }
}

impl JwtAuth {
    /// A file source is read now (a bad file fails the config); a URL is
    /// fetched on first use and then every `refresh`.
    pub fn new(
        rules: Rules,
        source: Source,
        refresh: Duration,
        groups_claim: String,
        tier_claim: String,
    ) -> Result<JwtAuth, String> {
        let keys = match &source {
            Source::File(path) => {
                let bytes = read_limited(path)?;
                Jwks::parse(&bytes).map_err(|e| format!("{}: {e}", path.display()))?
            }
            Source::Https { .. } => Jwks::default(),
        };
        let fetched = matches!(source, Source::File(_)).then(Instant::now);
        Ok(JwtAuth {
            rules,
            source,
            refresh,
            groups_claim,
            tier_claim,
            keys: RwLock::new(Arc::new(keys)),
            fetched: Mutex::new(fetched),
            loading: tokio::sync::Mutex::new(()),
        })
    }

    fn keys(&self) -> Arc<Jwks> {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn last_fetch(&self) -> Option<Instant> {
        *self.fetched.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the periodic refresh is due.
    pub fn due(&self) -> bool {
        self.last_fetch()
            .is_none_or(|at| at.elapsed() >= self.refresh)
    }

    /// Verifies `token`, fetching the key set first when it was never
    /// loaded, or again when the token names a key it lacks.
    pub async fn verify(&self, token: &str) -> Result<Claims, JwtError> {
        if self.keys().is_empty() {
            self.refresh_on_demand().await;
        }
        let result = verify(token, &self.keys(), &self.rules, unix_now());
        match result {
            Err(e) if e.is_unknown_key() && self.refresh_on_demand().await => {
                verify(token, &self.keys(), &self.rules, unix_now())
            }
            other => other,
        }
    }

    /// Loads the set again unless a load began within [`ON_DEMAND_EVERY`];
    /// then waits for any load in progress. True when the set may have changed.
    async fn refresh_on_demand(&self) -> bool {
        // Under the lock: a caller that finds a load too recent has also
        // waited for that load to finish.
        let _loading = self.loading.lock().await;
        if self.claim(ON_DEMAND_EVERY) {
            return self.load().await.is_ok();
        }
        true
    }

    /// The periodic refresh, when due.
    pub async fn refresh_if_due(&self) {
        let _loading = self.loading.lock().await;
        if self.claim(self.refresh) {
            let _ = self.load().await;
        }
    }

    /// Marks a load as started unless one started within `window`, in one
    /// step, so that concurrent callers make one fetch between them.
    fn claim(&self, window: Duration) -> bool {
        let mut last = self.fetched.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|at| at.elapsed() < window) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }

    /// Loads the key set (the caller holds `loading`); on failure the old
    /// one stays, and the next try waits for the next period or window.
    async fn load(&self) -> Result<usize, String> {
        let bytes = match &self.source {
            Source::File(path) => {
                let path = path.clone();
                tokio::task::spawn_blocking(move || read_limited(&path))
                    .await
                    .map_err(|e| e.to_string())?
            }
            Source::Https { url, tls } => {
                tokio::time::timeout(FETCH_TIMEOUT, fetch(url, tls.clone()))
                    .await
                    .map_err(|_| format!("no answer within {FETCH_TIMEOUT:?}"))?
            }
        };
        let result = bytes.and_then(|b| Jwks::parse(&b).map_err(|e| e.to_string()));
        match result {
            Ok(keys) => {
                let n = keys.len();
                *self.keys.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(keys);
                tracing::debug!("JWKS {} loaded: {n} key(s)", self.source);
                Ok(n)
            }
            Err(e) => {
                tracing::error!("JWKS {} not loaded, keeping the old keys: {e}", self.source);
                Err(e)
            }
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn read_limited(path: &std::path::Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_JWKS_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(bytes)
}

/// GET `url` over HTTPS (HTTP/1.1): the body of a 200 answer, at most
/// [`MAX_JWKS_BYTES`].
async fn fetch(url: &http::Uri, tls: Arc<rustls::ClientConfig>) -> Result<Vec<u8>, String> {
    let host = url.host().ok_or("no host")?.to_string();
    let port = url.port_u16().unwrap_or(443);
    let stream = crate::tls::connect(&host, port, tls).await?;
    let (mut send, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let path = url.path_and_query().map_or("/", |p| p.as_str());
    let request = http::Request::get(path)
        .header(
            http::header::HOST,
            url.authority().map_or(host.as_str(), |a| a.as_str()),
        )
        .header(http::header::ACCEPT, "application/json")
        .header(http::header::USER_AGENT, "mlsec-gateway")
        .body(Empty::<bytes::Bytes>::new())
        .map_err(|e| e.to_string())?;
    let response = send
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    if response.status() != http::StatusCode::OK {
        return Err(format!("status {}", response.status()));
    }
    let body = Limited::new(response.into_body(), MAX_JWKS_BYTES)
        .collect()
        .await
        .map_err(|e| format!("body: {e}"))?;
    Ok(body.to_bytes().to_vec())
}
