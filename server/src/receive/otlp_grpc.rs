//! OTLP/gRPC `TraceService/Export` on :4317, with the same semantics as OTLP/HTTP: same
//! decoding, limits, auth and acknowledgement after commit.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status};

use crate::error::grpc_status;

use super::{otlp, Error, Ingest};

pub struct GrpcReceiver {
    ingest: Arc<Ingest>,
}

/// The tonic service, with gzip accepted and the decoded-size limit applied.
pub fn service(ingest: Arc<Ingest>) -> TraceServiceServer<GrpcReceiver> {
    let max = ingest.limits.max_decoded_bytes;
    TraceServiceServer::new(GrpcReceiver { ingest })
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(max)
}

#[tonic::async_trait]
impl TraceService for GrpcReceiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let meta = request.metadata();
        let auth = meta.get("authorization").and_then(|v| v.to_str().ok());
        self.ingest.check_key(auth).await.map_err(grpc_status)?;
        let experiment = meta
            .get("x-mlflow-experiment-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let experiment = self
            .ingest
            .experiment(experiment.as_deref())
            .await
            .map_err(grpc_status)?;
        let decoded =
            otlp::decode_request(request.into_inner(), &self.ingest.limits).map_err(grpc_status)?;
        let report = self
            .ingest
            .ingest_groups(experiment, decoded.groups, decoded.rejected)
            .await
            .map_err(grpc_status)?;
        if report.accepted_spans == 0 && report.rejected_spans > 0 {
            return Err(grpc_status(Error::Invalid(format!(
                "all {} spans rejected: {}",
                report.rejected_spans,
                report.rejection.unwrap_or_default()
            ))));
        }
        let partial = (report.rejected_spans > 0).then(|| ExportTracePartialSuccess {
            rejected_spans: report.rejected_spans as i64,
            error_message: report.rejection.unwrap_or_default(),
        });
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: partial,
        }))
    }
}
