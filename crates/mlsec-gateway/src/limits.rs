//! Rate limits, token budgets, daily quotas and concurrency caps.
//!
//! Request rates use GCRA (the generic cell rate algorithm): each counter is
//! one "theoretical arrival time", so a limit costs one number per key.
//! Tokens per minute is a GCRA over tokens: a request is admitted while the
//! budget is not overdrawn, and its tokens are charged once the answer says
//! how many it used. Counters live in this process, or in Redis (one atomic
//! script call per request, `gcra.lua`) so that replicas share them.

use crate::config::{LimitRule, Limits, RedisLimits, Scope};
use crate::keys::Principal;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The check-and-take script Redis runs for every request (kept in the repo).
pub const GCRA_SCRIPT: &str = include_str!("gcra.lua");

/// Local counters kept before old ones are pruned.
const PRUNE_AT: usize = 100_000;

/// One counter a request touches.
#[derive(Debug, Clone)]
struct Counter {
    key: String,
    /// The limit's name.
    rule: String,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// GCRA: `interval_us` per unit, at most `capacity_us` ahead of now.
    Rate {
        interval_us: f64,
        capacity_us: f64,
        cost: f64,
    },
    /// A count per UTC day.
    Daily { limit: u64 },
}

/// Why a request was refused, and when to come back.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    pub rule: String,
    pub what: &'static str,
    pub retry_after: Duration,
    pub headers: RateHeaders,
}

/// The IETF `RateLimit-Policy` / `RateLimit` fields of the tightest rate limit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RateHeaders {
    pub policy: Option<String>,
    pub state: Option<String>,
}

/// A request let through: its concurrency slots (freed on drop) and the
/// token budgets its answer is charged to.
#[derive(Default)]
pub struct Admission {
    pub headers: RateHeaders,
    token_counters: Vec<Counter>,
    _slots: Vec<Slot>,
}

#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    #[error("rate limiter unavailable: {0}")]
    Unavailable(String),
}

pub struct Limiter {
    rules: Vec<LimitRule>,
    local: Arc<Local>,
    redis: Option<RedisLimiter>,
    /// Requests judged by local counters because Redis could not be reached.
    pub fallbacks: std::sync::atomic::AtomicU64,
}

#[derive(Default)]
struct Local {
    tat: Mutex<HashMap<String, f64>>,
    daily: Mutex<HashMap<String, u64>>,
    running: Mutex<HashMap<String, u32>>,
}

struct Slot {
    local: Arc<Local>,
    key: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut running = lock(&self.local.running);
        if let Some(n) = running.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                running.remove(&self.key);
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere must not turn every later request into a panic.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn now_us() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_micros() as f64)
}

impl Limiter {
    pub fn new(limits: &Limits) -> Limiter {
        Limiter {
            rules: limits.rules.clone(),
            local: Arc::new(Local::default()),
            redis: limits.redis.clone().map(RedisLimiter::new),
            fallbacks: Default::default(),
        }
    }

    fn applies(rule: &LimitRule, principal: &Principal, model: &str) -> bool {
        rule.tier
            .as_ref()
            .is_none_or(|t| principal.tier.as_ref() == Some(t))
            && crate::protocol::model_matches(&rule.models, Some(model))
    }

    fn scope_key(rule: &LimitRule, principal: &Principal, model: &str) -> String {
        match rule.per {
            Scope::Principal => format!("{}:p:{}", rule.name, principal.id),
            Scope::Model => format!("{}:m:{}", rule.name, model),
            Scope::PrincipalModel => format!("{}:pm:{}:{}", rule.name, principal.id, model),
        }
    }

    /// The counters a request of `principal` for `model` touches.
    fn counters(
        &self,
        principal: &Principal,
        model: &str,
        tokens: bool,
        day: u64,
    ) -> (Vec<Counter>, Vec<Counter>) {
        let mut admit = Vec::new();
        let mut token_counters = Vec::new();
        for rule in &self.rules {
            if !Self::applies(rule, principal, model) {
                continue;
            }
            let base = Self::scope_key(rule, principal, model);
            if let Some(rps) = rule.requests_per_second {
                let burst = f64::from(rule.burst.unwrap_or_else(|| rps.ceil().max(1.0) as u32));
                let interval_us = 1e6 / rps;
                admit.push(Counter {
                    key: format!("{base}:r"),
                    rule: rule.name.clone(),
                    kind: Kind::Rate {
                        interval_us,
                        capacity_us: interval_us * burst,
                        cost: 1.0,
                    },
                });
            }
            if let (Some(tpm), true) = (rule.tokens_per_minute, tokens) {
                let interval_us = 60e6 / tpm as f64;
                let counter = Counter {
                    key: format!("{base}:t"),
                    rule: rule.name.clone(),
                    kind: Kind::Rate {
                        interval_us,
                        capacity_us: 60e6,
                        cost: 0.0,
                    },
                };
                admit.push(counter.clone());
                token_counters.push(counter);
            }
            if let Some(limit) = rule.requests_per_day {
                admit.push(Counter {
                    key: format!("{base}:d{day}"),
                    rule: rule.name.clone(),
                    kind: Kind::Daily { limit },
                });
            }
        }
        (admit, token_counters)
    }

    /// Admits a request or says which limit refuses it.
    pub async fn admit(
        &self,
        principal: &Principal,
        model: &str,
        tokens: bool,
    ) -> Result<Result<Admission, Refused>, LimitError> {
        let now = now_us();
        let day = (now / 86_400e6) as u64;
        let (counters, token_counters) = self.counters(principal, model, tokens, day);
        // Concurrency first: it is local and frees itself on drop.
        let mut slots = Vec::new();
        for rule in &self.rules {
            if let (Some(max), true) = (rule.concurrent, Self::applies(rule, principal, model)) {
                let key = format!("{}:c", Self::scope_key(rule, principal, model));
                let mut running = lock(&self.local.running);
                let n = running.entry(key.clone()).or_insert(0);
                if *n >= max {
                    return Ok(Err(Refused {
                        rule: rule.name.clone(),
                        what: "concurrent requests",
                        retry_after: Duration::from_secs(1),
                        headers: RateHeaders::default(),
                    }));
                }
                *n += 1;
                drop(running);
                slots.push(Slot {
                    local: self.local.clone(),
                    key,
                });
            }
        }
        if counters.is_empty() {
            return Ok(Ok(Admission {
                headers: RateHeaders::default(),
                token_counters,
                _slots: slots,
            }));
        }
        let outcome = match &self.redis {
            Some(redis) => match redis.take(&counters).await {
                Ok(outcome) => outcome,
                Err(e) if redis.config.fallback_local => {
                    self.fallbacks
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::warn!("redis limits unavailable, using local counters: {e}");
                    self.take_local(&counters, now)
                }
                Err(e) => return Err(e),
            },
            None => self.take_local(&counters, now),
        };
        Ok(self.judge(outcome, &counters).map(|headers| Admission {
            headers,
            token_counters,
            _slots: slots,
        }))
    }

    /// Charges `tokens` to the token budgets of an admitted request.
    pub async fn charge_tokens(&self, admission: &Admission, tokens: u64) {
        if admission.token_counters.is_empty() || tokens == 0 {
            return;
        }
        let counters: Vec<Counter> = admission
            .token_counters
            .iter()
            .map(|c| {
                let mut c = c.clone();
                if let Kind::Rate { cost, .. } = &mut c.kind {
                    *cost = tokens as f64;
                }
                c
            })
            .collect();
        match &self.redis {
            Some(redis) => {
                if let Err(e) = redis.charge(&counters).await {
                    tracing::warn!("could not charge {tokens} tokens in redis: {e}");
                    self.charge_local(&counters, now_us());
                }
            }
            None => self.charge_local(&counters, now_us()),
        }
    }

    /// Turns per-counter outcomes into a decision and the headers of the
    /// tightest request-rate counter.
    fn judge(&self, outcome: Outcome, counters: &[Counter]) -> Result<RateHeaders, Refused> {
        let mut headers = RateHeaders::default();
        let mut tightest = f64::INFINITY;
        for (c, &(remaining, reset_us)) in counters.iter().zip(&outcome.per_counter) {
            if let Kind::Rate {
                interval_us,
                capacity_us,
                cost,
            } = c.kind
            {
                if cost > 0.0 && remaining < tightest {
                    tightest = remaining;
                    let name = &c.rule;
                    let quota = (capacity_us / interval_us).round() as u64;
                    let window = (capacity_us / 1e6).ceil().max(1.0) as u64;
                    headers.policy = Some(format!("\"{name}\";q={quota};w={window}"));
                    let t = (reset_us / 1e6).ceil().max(0.0) as u64;
                    headers.state =
                        Some(format!("\"{name}\";r={};t={t}", remaining.max(0.0) as u64));
                }
            }
        }
        match outcome.refused {
            None => Ok(headers),
            Some((i, retry_us)) => {
                let Some(c) = counters.get(i) else {
                    return Ok(headers);
                };
                let what = match c.kind {
                    Kind::Rate { cost: 0.0, .. } => "tokens per minute",
                    Kind::Rate { .. } => "requests per second",
                    Kind::Daily { .. } => "requests per day",
                };
                Err(Refused {
                    rule: c.rule.clone(),
                    what,
                    retry_after: Duration::from_micros(retry_us.max(0.0) as u64),
                    headers,
                })
            }
        }
    }

    fn take_local(&self, counters: &[Counter], now: f64) -> Outcome {
        let mut tat = lock(&self.local.tat);
        let mut daily = lock(&self.local.daily);
        let mut outcome = Outcome::default();
        let mut writes: Vec<(&str, f64)> = Vec::new();
        for (i, c) in counters.iter().enumerate() {
            match c.kind {
                Kind::Rate {
                    interval_us,
                    capacity_us,
                    cost,
                } => {
                    let t = tat.get(&c.key).copied().unwrap_or(now).max(now);
                    let new_tat = t + interval_us * cost;
                    let ahead = new_tat - now;
                    if ahead > capacity_us && outcome.refused.is_none() {
                        outcome.refused = Some((i, ahead - capacity_us));
                    }
                    outcome
                        .per_counter
                        .push(((capacity_us - ahead) / interval_us, ahead));
                    writes.push((&c.key, new_tat));
                }
                Kind::Daily { limit } => {
                    let used = daily.get(&c.key).copied().unwrap_or(0);
                    if used >= limit && outcome.refused.is_none() {
                        let into_day = now % 86_400e6;
                        outcome.refused = Some((i, 86_400e6 - into_day));
                    }
                    outcome
                        .per_counter
                        .push(((limit.saturating_sub(used + 1)) as f64, 0.0));
                }
            }
        }
        if outcome.refused.is_none() {
            for (key, new_tat) in writes {
                tat.insert(key.to_string(), new_tat);
            }
            for c in counters {
                if let Kind::Daily { .. } = c.kind {
                    *daily.entry(c.key.clone()).or_insert(0) += 1;
                }
            }
            if tat.len() > PRUNE_AT {
                tat.retain(|_, t| *t > now);
            }
            if daily.len() > PRUNE_AT {
                let today = format!("d{}", (now / 86_400e6) as u64);
                daily.retain(|k, _| k.ends_with(&today));
            }
        }
        outcome
    }

    fn charge_local(&self, counters: &[Counter], now: f64) {
        let mut tat = lock(&self.local.tat);
        for c in counters {
            if let Kind::Rate {
                interval_us, cost, ..
            } = c.kind
            {
                let t = tat.get(&c.key).copied().unwrap_or(now).max(now);
                tat.insert(c.key.clone(), t + interval_us * cost);
            }
        }
    }
}

#[derive(Debug, Default)]
struct Outcome {
    /// The first counter that refused, and microseconds until it would admit.
    refused: Option<(usize, f64)>,
    /// Per counter: requests left, microseconds until it is full again.
    per_counter: Vec<(f64, f64)>,
}

/// Counters in Redis, shared by every replica pointed at it.
struct RedisLimiter {
    config: RedisLimits,
    script: redis::Script,
    connection: tokio::sync::Mutex<Option<redis::aio::ConnectionManager>>,
}

impl RedisLimiter {
    fn new(config: RedisLimits) -> RedisLimiter {
        RedisLimiter {
            config,
            script: redis::Script::new(GCRA_SCRIPT),
            connection: tokio::sync::Mutex::new(None),
        }
    }

    async fn connection(&self) -> Result<redis::aio::ConnectionManager, LimitError> {
        let mut slot = self.connection.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let unavailable = |e: String| LimitError::Unavailable(format!("{}: {e}", self.config.url));
        let client = redis::Client::open(self.config.url.as_str())
            .map_err(|e| unavailable(e.to_string()))?;
        let settings = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.config.timeout))
            .set_response_timeout(Some(self.config.timeout))
            .set_number_of_retries(1);
        let manager = tokio::time::timeout(
            self.config.timeout * 2,
            redis::aio::ConnectionManager::new_with_config(client, settings),
        )
        .await
        .map_err(|_| unavailable("connection timed out".into()))?
        .map_err(|e| unavailable(e.to_string()))?;
        *slot = Some(manager.clone());
        Ok(manager)
    }

    /// Runs the script: mode 1 checks every counter and takes from all of
    /// them only when all admit; mode 0 charges without checking.
    async fn run(&self, counters: &[Counter], mode: u8) -> Result<Vec<i64>, LimitError> {
        let mut connection = self.connection().await?;
        let mut invocation = self.script.prepare_invoke();
        invocation.arg(mode);
        for c in counters {
            invocation.key(format!("{}{}", self.config.prefix, c.key));
            match c.kind {
                Kind::Rate {
                    interval_us,
                    capacity_us,
                    cost,
                } => {
                    invocation
                        .arg("r")
                        .arg(interval_us.round() as i64)
                        .arg(capacity_us.round() as i64)
                        .arg(cost as i64);
                }
                Kind::Daily { limit } => {
                    invocation.arg("d").arg(limit as i64).arg(0).arg(1);
                }
            }
        }
        let call = invocation.invoke_async::<Vec<i64>>(&mut connection);
        match tokio::time::timeout(self.config.timeout, call).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(LimitError::Unavailable(format!("{}: {e}", self.config.url))),
            Err(_) => Err(LimitError::Unavailable(format!(
                "{}: no answer within {:?}",
                self.config.url, self.config.timeout
            ))),
        }
    }

    async fn take(&self, counters: &[Counter]) -> Result<Outcome, LimitError> {
        let reply = self.run(counters, 1).await?;
        // [refused index (0 = none, else 1-based), retry_us, then (remaining, reset_us) per counter]
        let (Some(&[refused, retry_us]), Some(rest)) = (reply.first_chunk::<2>(), reply.get(2..))
        else {
            return Err(LimitError::Unavailable(
                "the limit script answered nothing".into(),
            ));
        };
        if rest.len() != 2 * counters.len() {
            return Err(LimitError::Unavailable(format!(
                "the limit script answered {} numbers for {} counters",
                reply.len(),
                counters.len()
            )));
        }
        Ok(Outcome {
            refused: (refused > 0).then(|| ((refused - 1) as usize, retry_us as f64)),
            per_counter: rest
                .chunks_exact(2)
                .map(|p| match p {
                    [remaining, reset] => (*remaining as f64, *reset as f64),
                    _ => (0.0, 0.0),
                })
                .collect(),
        })
    }

    async fn charge(&self, counters: &[Counter]) -> Result<(), LimitError> {
        self.run(counters, 0).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(id: &str) -> Principal {
        Principal {
            id: id.into(),
            owner: id.into(),
            tier: None,
            groups: vec![],
        }
    }

    fn limiter(rule: LimitRule) -> Limiter {
        Limiter::new(&Limits {
            redis: None,
            rules: vec![rule],
        })
    }

    fn rule(per: Scope) -> LimitRule {
        LimitRule {
            name: "test".into(),
            per,
            requests_per_second: None,
            burst: None,
            tokens_per_minute: None,
            requests_per_day: None,
            concurrent: None,
            tier: None,
            models: vec![],
        }
    }

    #[tokio::test]
    async fn gcra_admits_the_burst_then_refuses_with_a_retry_time() {
        let l = limiter(LimitRule {
            requests_per_second: Some(10.0),
            burst: Some(5),
            ..rule(Scope::Principal)
        });
        let p = principal("a");
        for _ in 0..5 {
            l.admit(&p, "m", false).await.unwrap().unwrap();
        }
        let refused = l.admit(&p, "m", false).await.unwrap().err().unwrap();
        assert_eq!(refused.what, "requests per second");
        assert!(
            refused.retry_after > Duration::from_millis(50)
                && refused.retry_after <= Duration::from_millis(100)
        );
        // Another principal has its own counter.
        l.admit(&principal("b"), "m", false).await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn tokens_are_charged_after_the_answer_and_overdraw_refuses() {
        let l = limiter(LimitRule {
            tokens_per_minute: Some(600),
            ..rule(Scope::Principal)
        });
        let p = principal("a");
        let a = l.admit(&p, "m", true).await.unwrap().unwrap();
        l.charge_tokens(&a, 500).await;
        l.admit(&p, "m", true).await.unwrap().unwrap();
        l.charge_tokens(&a, 200).await;
        let refused = l.admit(&p, "m", true).await.unwrap().err().unwrap();
        assert_eq!(refused.what, "tokens per minute");
        // Non-LLM calls do not touch the token budget.
        l.admit(&p, "m", false).await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn concurrency_slots_free_on_drop() {
        let l = limiter(LimitRule {
            concurrent: Some(2),
            ..rule(Scope::Model)
        });
        let a = l.admit(&principal("a"), "m", false).await.unwrap().unwrap();
        let _b = l.admit(&principal("b"), "m", false).await.unwrap().unwrap();
        assert!(l.admit(&principal("c"), "m", false).await.unwrap().is_err());
        l.admit(&principal("c"), "other", false)
            .await
            .unwrap()
            .unwrap();
        drop(a);
        l.admit(&principal("c"), "m", false).await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn daily_quota_and_tier_filter() {
        let l = limiter(LimitRule {
            requests_per_day: Some(2),
            tier: Some("free".into()),
            ..rule(Scope::PrincipalModel)
        });
        let mut free = principal("f");
        free.tier = Some("free".into());
        l.admit(&free, "m", false).await.unwrap().unwrap();
        l.admit(&free, "m", false).await.unwrap().unwrap();
        assert_eq!(
            l.admit(&free, "m", false)
                .await
                .unwrap()
                .err()
                .unwrap()
                .what,
            "requests per day"
        );
        l.admit(&free, "n", false).await.unwrap().unwrap();
        for _ in 0..5 {
            l.admit(&principal("gold"), "m", false)
                .await
                .unwrap()
                .unwrap();
        }
    }
}
