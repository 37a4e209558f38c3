//! Errors become HTTP here, once, in each protocol's own shape: OTLP/HTTP gets a protobuf or
//! JSON `google.rpc.Status`, gRPC a `tonic::Status`, MLflow routes `{"error_code","message"}`.
//! The internal cause of a 5xx is logged here and not sent.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use prost::Message;

use crate::receive;

/// `google.rpc.Status`, the OTLP/HTTP error body (OTLP spec, "Failures").
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcStatus {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
}

fn status_of(e: &receive::Error) -> StatusCode {
    use receive::Error as E;
    match e {
        E::UnsupportedMediaType(_) | E::UnsupportedEncoding(_) => {
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        }
        E::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        E::Invalid(_) => StatusCode::BAD_REQUEST,
        E::ExperimentNotFound(_) => StatusCode::NOT_FOUND,
        E::Unauthorized => StatusCode::UNAUTHORIZED,
        E::Forbidden(_) => StatusCode::FORBIDDEN,
        // OTLP clients retry 429/502/503/504 (and honour Retry-After); 503 says "not now".
        E::Overloaded(_) | E::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        E::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Retry-After seconds for errors a client should retry.
fn retry_after(e: &receive::Error) -> Option<u64> {
    match e {
        receive::Error::Overloaded(_) => Some(1),
        receive::Error::Unavailable(_) => Some(5),
        _ => None,
    }
}

fn public_message(e: &receive::Error, status: StatusCode) -> String {
    if status.is_server_error() && !matches!(e, receive::Error::Overloaded(_)) {
        tracing::error!(error = %e, "Ingest request failed.");
        if matches!(e, receive::Error::Internal(_)) {
            return "internal error; see the server log".into();
        }
    }
    e.to_string()
}

/// An OTLP/HTTP error, rendered in the request's encoding.
pub struct OtlpError {
    pub error: receive::Error,
    pub json: bool,
}

impl IntoResponse for OtlpError {
    fn into_response(self) -> Response {
        let status = status_of(&self.error);
        let message = public_message(&self.error, status);
        let code = grpc_code(&self.error) as i32;
        let mut resp = if self.json {
            (
                status,
                [(header::CONTENT_TYPE, "application/json")],
                serde_json::json!({ "code": code, "message": message }).to_string(),
            )
                .into_response()
        } else {
            (
                status,
                [(header::CONTENT_TYPE, "application/x-protobuf")],
                RpcStatus { code, message }.encode_to_vec(),
            )
                .into_response()
        };
        if let Some(s) = retry_after(&self.error) {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        resp
    }
}

fn grpc_code(e: &receive::Error) -> tonic::Code {
    use receive::Error as E;
    match e {
        E::UnsupportedMediaType(_) | E::UnsupportedEncoding(_) | E::Invalid(_) => {
            tonic::Code::InvalidArgument
        }
        E::TooLarge { .. } => tonic::Code::InvalidArgument,
        E::ExperimentNotFound(_) => tonic::Code::NotFound,
        E::Unauthorized => tonic::Code::Unauthenticated,
        E::Forbidden(_) => tonic::Code::PermissionDenied,
        // UNAVAILABLE is retryable for OTLP/gRPC exporters without RetryInfo.
        E::Overloaded(_) | E::Unavailable(_) => tonic::Code::Unavailable,
        E::Internal(_) => tonic::Code::Internal,
    }
}

/// The same error for OTLP/gRPC.
pub fn grpc_status(error: receive::Error) -> tonic::Status {
    let status = status_of(&error);
    let message = public_message(&error, status);
    tonic::Status::new(grpc_code(&error), message)
}

/// MLflow's REST error: `{"error_code": "...", "message": "..."}` with the status table of
/// PROTOCOL.md §3.
#[derive(Debug, Clone, PartialEq)]
pub struct MlflowError {
    pub code: &'static str,
    pub message: String,
}

impl MlflowError {
    pub fn new(code: &'static str, message: impl Into<String>) -> MlflowError {
        MlflowError {
            code,
            message: message.into(),
        }
    }
    pub fn invalid(message: impl Into<String>) -> MlflowError {
        MlflowError::new("INVALID_PARAMETER_VALUE", message)
    }
    pub fn not_found(message: impl Into<String>) -> MlflowError {
        MlflowError::new("RESOURCE_DOES_NOT_EXIST", message)
    }

    pub fn status(&self) -> StatusCode {
        match self.code {
            "RESOURCE_DOES_NOT_EXIST" | "ENDPOINT_NOT_FOUND" => StatusCode::NOT_FOUND,
            "INVALID_PARAMETER_VALUE" | "RESOURCE_ALREADY_EXISTS" | "BAD_REQUEST" => {
                StatusCode::BAD_REQUEST
            }
            "PERMISSION_DENIED" => StatusCode::FORBIDDEN,
            "UNAUTHENTICATED" => StatusCode::UNAUTHORIZED,
            "NOT_IMPLEMENTED" => StatusCode::NOT_IMPLEMENTED,
            "TEMPORARILY_UNAVAILABLE" => StatusCode::SERVICE_UNAVAILABLE,
            "REQUEST_LIMIT_EXCEEDED" => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<receive::Error> for MlflowError {
    fn from(e: receive::Error) -> Self {
        use receive::Error as E;
        let code = match &e {
            E::ExperimentNotFound(_) => "RESOURCE_DOES_NOT_EXIST",
            E::Unauthorized => "UNAUTHENTICATED",
            E::Forbidden(_) => "PERMISSION_DENIED",
            E::Overloaded(_) => "REQUEST_LIMIT_EXCEEDED",
            E::Unavailable(_) => "TEMPORARILY_UNAVAILABLE",
            E::Internal(_) => "INTERNAL_ERROR",
            _ => "INVALID_PARAMETER_VALUE",
        };
        let message = public_message(&e, status_of(&e));
        MlflowError { code, message }
    }
}

impl From<crate::store::Error> for MlflowError {
    fn from(e: crate::store::Error) -> Self {
        match e {
            crate::store::Error::Conflict(what) => {
                MlflowError::new("RESOURCE_ALREADY_EXISTS", format!("{what} already exists"))
            }
            crate::store::Error::NotFound(what) => {
                MlflowError::not_found(format!("{what} not found"))
            }
            other => {
                tracing::error!(error = %other, "MLflow request failed.");
                MlflowError::new(
                    "TEMPORARILY_UNAVAILABLE",
                    "storage unavailable; see the server log",
                )
            }
        }
    }
}

impl IntoResponse for MlflowError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut resp = (
            status,
            axum::Json(serde_json::json!({ "error_code": self.code, "message": self.message })),
        )
            .into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::TOO_MANY_REQUESTS {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(1u64));
        }
        resp
    }
}
