//! OTLP/HTTP `POST /v1/traces`: protobuf or JSON, gzip/deflate/identity, chunked or sized
//! bodies. Answers 200 only once the spans are committed, with `partial_success` when some
//! spans were rejected (OTLP/HTTP spec).

use std::io::Read;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;

use crate::error::OtlpError;

use super::{otlp, otlp_json, Error, Ingest, IngestReport, Limits};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

/// `POST /v1/traces`.
#[tracing::instrument(skip_all, fields(spans))]
pub async fn export(State(ingest): State<Arc<Ingest>>, headers: HeaderMap, body: Body) -> Response {
    // Errors answer in the request's encoding when we can tell it, else protobuf.
    let json = content_type(&headers).is_ok_and(|e| e == Encoding::Json);
    match handle(&ingest, &headers, body).await {
        Ok((report, encoding)) => {
            tracing::Span::current().record("spans", report.accepted_spans);
            success(&report, encoding)
        }
        Err(error) => OtlpError { error, json }.into_response(),
    }
}

async fn handle(
    ingest: &Ingest,
    headers: &HeaderMap,
    body: Body,
) -> Result<(IngestReport, Encoding), Error> {
    ingest
        .check_key(header_str(headers, header::AUTHORIZATION.as_str()))
        .await?;
    let encoding = content_type(headers)?;
    let experiment = ingest
        .experiment(header_str(headers, "x-mlflow-experiment-id"))
        .await?;
    // Room for the body before reading it: as announced, or the most a request may be.
    let announced = header_str(headers, header::CONTENT_LENGTH.as_str())
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(ingest.limits.max_request_bytes)
        .min(ingest.limits.max_request_bytes);
    let _room = match ingest.reserve_body(announced) {
        Ok(room) => room,
        Err(e) => {
            // Read the body to the end without keeping it, so the client, still sending,
            // gets the 503 rather than a broken connection.
            discard_body(body, ingest.limits.max_request_bytes).await;
            return Err(e);
        }
    };
    let raw = read_body(body, ingest.limits.max_request_bytes).await?;
    let raw_len = raw.len();
    let content_encoding =
        header_str(headers, header::CONTENT_ENCODING.as_str()).map(str::to_string);
    let limits = ingest.limits;
    let decode = move || -> Result<otlp::Decoded, Error> {
        let bytes = decompress(content_encoding.as_deref(), raw, &limits)?;
        let req = decode_body(encoding, &bytes)?;
        otlp::decode_request(req, &limits)
    };
    // Decompression and decoding are CPU work proportional to the body: big bodies go to
    // the blocking pool so they do not stall other requests.
    let decoded = if raw_len > 64 * 1024 {
        tokio::task::spawn_blocking(decode)
            .await
            .map_err(|e| Error::Internal(format!("BUG: decode task failed: {e}")))??
    } else {
        decode()?
    };
    let report = ingest
        .ingest_groups(experiment, decoded.groups, decoded.rejected)
        .await?;
    if report.accepted_spans == 0 && report.rejected_spans > 0 {
        return Err(Error::Invalid(format!(
            "all {} spans rejected: {}",
            report.rejected_spans,
            report.rejection.unwrap_or_default()
        )));
    }
    Ok((report, encoding))
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The media type, ignoring parameters such as `charset`.
pub fn content_type(headers: &HeaderMap) -> Result<Encoding, Error> {
    let raw = header_str(headers, header::CONTENT_TYPE.as_str()).unwrap_or("");
    let media = raw
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match media.as_str() {
        "application/x-protobuf" | "application/protobuf" => Ok(Encoding::Protobuf),
        "application/json" => Ok(Encoding::Json),
        _ => Err(Error::UnsupportedMediaType(raw.to_string())),
    }
}

/// Reads up to `limit` bytes of a body, keeping none of it.
async fn discard_body(mut body: Body, limit: usize) {
    use http_body_util::BodyExt;
    let mut seen = 0;
    while let Some(Ok(frame)) = body.frame().await {
        seen += frame.data_ref().map_or(0, |d| d.len());
        if seen > limit {
            break;
        }
    }
}

async fn read_body(body: Body, limit: usize) -> Result<Bytes, Error> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let too_large = std::error::Error::source(&e)
            .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
            || e.to_string().contains("length limit");
        if too_large {
            Error::TooLarge { limit }
        } else {
            Error::Invalid(format!("could not read the request body: {e}"))
        }
    })
}

/// Undoes `Content-Encoding`, refusing output beyond `max_decoded_bytes` (zip bombs).
pub fn decompress(encoding: Option<&str>, raw: Bytes, limits: &Limits) -> Result<Bytes, Error> {
    let enc = encoding.unwrap_or("identity").trim().to_ascii_lowercase();
    let read_all = |mut r: Box<dyn Read + '_>, what: &str| -> Result<Bytes, Error> {
        let mut out = Vec::with_capacity(raw.len() * 4);
        let n = (&mut r)
            .take(limits.max_decoded_bytes as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| Error::Invalid(format!("invalid {what} body: {e}")))?;
        if n > limits.max_decoded_bytes {
            return Err(Error::TooLarge {
                limit: limits.max_decoded_bytes,
            });
        }
        Ok(Bytes::from(out))
    };
    match enc.as_str() {
        "" | "identity" => Ok(raw),
        "gzip" | "x-gzip" => read_all(
            Box::new(flate2::read::MultiGzDecoder::new(&raw[..])),
            "gzip",
        ),
        // "deflate" is zlib-wrapped by the HTTP spec, but some clients send raw deflate.
        "deflate" => {
            let zlib_header = raw.len() >= 2
                && (u16::from(raw[0]) << 8 | u16::from(raw[1])) % 31 == 0
                && raw[0] & 0x0f == 8;
            if zlib_header {
                read_all(
                    Box::new(flate2::read::ZlibDecoder::new(&raw[..])),
                    "deflate",
                )
            } else {
                read_all(
                    Box::new(flate2::read::DeflateDecoder::new(&raw[..])),
                    "deflate",
                )
            }
        }
        other => Err(Error::UnsupportedEncoding(other.to_string())),
    }
}

pub fn decode_body(encoding: Encoding, bytes: &[u8]) -> Result<ExportTraceServiceRequest, Error> {
    match encoding {
        Encoding::Protobuf => ExportTraceServiceRequest::decode(bytes)
            .map_err(|e| Error::Invalid(format!("invalid OTLP protobuf: {e}"))),
        Encoding::Json => {
            otlp_json::decode(bytes).map_err(|e| Error::Invalid(format!("invalid OTLP/JSON: {e}")))
        }
    }
}

fn success(report: &IngestReport, encoding: Encoding) -> Response {
    let partial = (report.rejected_spans > 0).then(|| ExportTracePartialSuccess {
        rejected_spans: report.rejected_spans as i64,
        error_message: report.rejection.clone().unwrap_or_default(),
    });
    match encoding {
        Encoding::Protobuf => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/x-protobuf")],
            ExportTraceServiceResponse {
                partial_success: partial,
            }
            .encode_to_vec(),
        )
            .into_response(),
        Encoding::Json => {
            let body = match partial {
                Some(p) => serde_json::json!({"partialSuccess": {
                    "rejectedSpans": p.rejected_spans.to_string(),
                    "errorMessage": p.error_message,
                }}),
                None => serde_json::json!({}),
            };
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response()
        }
    }
}
