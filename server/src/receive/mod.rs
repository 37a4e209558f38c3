//! Receivers: decode each protocol's payloads into domain batches, normalise them and hand
//! them to the writer. They know no SQL; `crate::error` renders their errors per protocol.

pub mod mlflow;
pub mod mlflow_read;
pub mod otlp;
pub mod otlp_grpc;
pub mod otlp_http;
pub mod otlp_json;

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, RwLock};

use crate::model::{ResourceGroup, TraceId, TraceInfo, TracePatch};
use crate::normalize::{self, GuardrailKeys, LivePrices, PriceTable, Redactor};
use crate::store::writer::{SubmitError, WriterHandle};
use crate::store::{Backend, PreparedBatch, SpanRow};

pub use crate::auth::ApiKeys;

/// Everything that can go wrong receiving data, independent of protocol.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    #[error("unsupported content type {0:?}: send application/x-protobuf or application/json")]
    UnsupportedMediaType(String),
    #[error("unsupported content encoding {0:?}: send gzip, deflate or identity")]
    UnsupportedEncoding(String),
    #[error("request body larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("{0}")]
    Invalid(String),
    #[error("no experiment with id={0} exists")]
    ExperimentNotFound(String),
    #[error("missing or invalid API key: send Authorization: Bearer <key>")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Overloaded(String),
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

/// A refused key, as every protocol answers it (401, 403, or 503 when the check failed).
impl From<crate::auth::gate::Denied> for Error {
    fn from(e: crate::auth::gate::Denied) -> Self {
        use crate::auth::gate::Denied;
        match e {
            Denied::BadKey => Error::Unauthorized,
            Denied::Scope(_) => Error::Forbidden(e.to_string()),
            Denied::Unavailable(_) => Error::Unavailable(e.to_string()),
        }
    }
}

impl From<SubmitError> for Error {
    fn from(e: SubmitError) -> Self {
        match e {
            SubmitError::Overloaded { .. } => Error::Overloaded(e.to_string()),
            SubmitError::TooLarge { .. } => Error::Invalid(e.to_string()),
            SubmitError::Closed => Error::Unavailable(e.to_string()),
            SubmitError::Store {
                transient: true,
                message,
            } => Error::Unavailable(message),
            SubmitError::Store {
                transient: false,
                message,
            } => Error::Internal(message),
        }
    }
}

impl From<crate::store::Error> for Error {
    fn from(e: crate::store::Error) -> Self {
        Error::Unavailable(e.to_string())
    }
}

/// Hard limits on one request; beyond them the request is refused whole (400), because such
/// input comes from a broken or hostile client and storing part of it helps nobody.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_request_bytes: usize,
    pub max_decoded_bytes: usize,
    /// Request bodies (as sent) held by OTLP/HTTP requests at once; beyond it a request is
    /// refused with 503 before its body is read, so memory stays bounded however many
    /// clients send at once.
    pub max_inflight_bytes: usize,
    pub max_attributes: usize,
    pub max_events: usize,
    pub max_links: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_request_bytes: 32 << 20,
            max_decoded_bytes: 128 << 20,
            max_inflight_bytes: 256 << 20,
            max_attributes: 10_000,
            max_events: 10_000,
            max_links: 1_000,
        }
    }
}

/// What one accepted request did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    pub accepted_spans: usize,
    pub rejected_spans: usize,
    /// Why spans were rejected (first reason), for OTLP's `partial_success.error_message`.
    pub rejection: Option<String>,
}

/// The shared ingest path behind every protocol: experiment check, normalisation, row
/// preparation, writer submission.
pub struct Ingest {
    pub writer: WriterHandle,
    pub backend: Arc<dyn Backend>,
    /// Shared with the prices page, which swaps in a new table after an edit.
    pub prices: LivePrices,
    pub limits: Limits,
    /// Checks each request's API key.
    pub gate: Arc<crate::auth::Gate>,
    /// What marks a guardrail block (`--guardrail-blocked-keys`, `--guardrail-passed-keys`).
    guardrails: Arc<GuardrailKeys>,
    /// PII redaction applied to everything received, before it is stored.
    pub redactor: Arc<Redactor>,
    known_experiments: RwLock<HashSet<i64>>,
    /// KiB of request bodies in flight (see `Limits::max_inflight_bytes`).
    inflight: Arc<tokio::sync::Semaphore>,
}

impl Ingest {
    pub fn new(
        writer: WriterHandle,
        backend: Arc<dyn Backend>,
        prices: LivePrices,
        limits: Limits,
        gate: Arc<crate::auth::Gate>,
    ) -> Ingest {
        Ingest {
            writer,
            backend,
            prices,
            limits,
            gate,
            guardrails: Arc::new(GuardrailKeys::default()),
            redactor: Arc::new(Redactor::off()),
            known_experiments: RwLock::new(HashSet::from([0])),
            inflight: Arc::new(tokio::sync::Semaphore::new(
                limits.max_inflight_bytes.div_ceil(1024),
            )),
        }
    }

    /// Marks guardrail blocks by `keys` instead of the built-in ones.
    pub fn with_guardrails(mut self, keys: GuardrailKeys) -> Ingest {
        self.guardrails = Arc::new(keys);
        self
    }

    /// Redacts PII with `redactor` (the default redacts nothing).
    pub fn with_redactor(mut self, redactor: Redactor) -> Ingest {
        self.redactor = Arc::new(redactor);
        self
    }

    /// Resolves an experiment id sent by a client (`x-mlflow-experiment-id`, trace location):
    /// absent means the default experiment `0`; unknown ids are refused.
    /// Reserves room for a request body of `bytes` (as sent) until the permit drops.
    ///
    /// # Errors
    /// `Overloaded` (503 + Retry-After) when other requests hold the budget.
    pub fn reserve_body(&self, bytes: usize) -> Result<tokio::sync::OwnedSemaphorePermit, Error> {
        let kib = bytes
            .min(self.limits.max_inflight_bytes)
            .div_ceil(1024)
            .max(1);
        self.inflight
            .clone()
            .try_acquire_many_owned(u32::try_from(kib).unwrap_or(u32::MAX))
            .map_err(|_| {
                Error::Overloaded(format!(
                    "more than {} MiB of request bodies in flight; retry shortly",
                    self.limits.max_inflight_bytes >> 20
                ))
            })
    }

    /// Checks an ingest request's `Authorization` header (the ingest scope).
    pub async fn check_key(&self, authorization: Option<&str>) -> Result<(), Error> {
        Ok(self
            .gate
            .check_key(authorization, crate::auth::Scope::Ingest)
            .await?)
    }

    pub async fn experiment(&self, raw: Option<&str>) -> Result<i64, Error> {
        let raw = raw.map(str::trim).filter(|s| !s.is_empty()).unwrap_or("0");
        let id: i64 = raw
            .parse()
            .map_err(|_| Error::Invalid(format!("experiment id {raw:?} is not an integer")))?;
        if self
            .known_experiments
            .read()
            .map(|k| k.contains(&id))
            .unwrap_or(false)
        {
            return Ok(id);
        }
        match self.backend.get_experiment(id).await? {
            Some(_) => {
                if let Ok(mut k) = self.known_experiments.write() {
                    k.insert(id);
                }
                Ok(id)
            }
            None => Err(Error::ExperimentNotFound(raw.to_string())),
        }
    }

    /// Normalises and stores decoded spans; returns once they are committed.
    pub async fn ingest_groups(
        &self,
        experiment_id: i64,
        groups: Vec<ResourceGroup>,
        rejected: Vec<String>,
    ) -> Result<IngestReport, Error> {
        // One snapshot per request: every span of it is priced from the same table.
        let prices = self.prices.current();
        let guardrails = self.guardrails.clone();
        let redactor = self.redactor.clone();
        let span_total: usize = groups.iter().map(|g| g.spans.len()).sum();
        let build = move || prepare(experiment_id, groups, &prices, &guardrails, &redactor);
        // Redaction, compression and attribute parsing are CPU work: keep big requests off
        // the runtime.
        let batch = if span_total > 256 {
            tokio::task::spawn_blocking(build)
                .await
                .map_err(|e| Error::Internal(format!("BUG: prepare task failed: {e}")))?
        } else {
            build()
        };
        let accepted = batch.spans.len();
        if accepted > 0 {
            self.writer.submit(batch).await?;
        }
        Ok(IngestReport {
            accepted_spans: accepted,
            rejected_spans: rejected.len(),
            rejection: rejected.into_iter().next(),
        })
    }

    /// Stores MLflow trace info (StartTraceV3); returns once committed.
    pub async fn ingest_info(&self, mut info: TraceInfo) -> Result<(), Error> {
        info.redactions = i64::from(self.redactor.redact_info(&mut info));
        self.writer
            .submit(PreparedBatch {
                infos: vec![info],
                ..Default::default()
            })
            .await
            .map_err(Error::from)
    }
}

/// Redacts PII (`redactor`), normalises spans (a guardrail block by `guardrails`) and
/// derives per-trace patches (resource tags, root-span tags).
pub fn prepare(
    experiment_id: i64,
    groups: Vec<ResourceGroup>,
    prices: &PriceTable,
    guardrails: &GuardrailKeys,
    redactor: &Redactor,
) -> PreparedBatch {
    let mut batch = PreparedBatch::default();
    for mut group in groups {
        let resource_redactions = if redactor.is_off() {
            0
        } else {
            i64::from(redactor.redact_attributes(&mut group.resource))
        };
        let (service_name, resource_tags) = normalize::resource_tags(&group.resource);
        let mut patches: BTreeMap<TraceId, TracePatch> = BTreeMap::new();
        for mut raw in group.spans {
            // Before anything is derived from the span: previews, search text and tags
            // only ever see the redacted values.
            redactor.redact_span(&mut raw);
            let patch = patches.entry(raw.trace_id).or_insert_with(|| TracePatch {
                trace_id: raw.trace_id,
                experiment_id,
                service_name: service_name.clone(),
                tags: resource_tags.clone(),
                redactions: resource_redactions,
            });
            if raw.parent_span_id.is_none() {
                patch.tags.extend(normalize::root_span_tags(&raw));
            }
            let span = normalize::normalize_span(raw, prices, guardrails);
            batch.spans.push(SpanRow::prepare(span));
        }
        batch.patches.extend(patches.into_values());
    }
    batch
}
