"""A small agent traced with the real OpenTelemetry Python SDK (pinned in requirements.txt), run
by server/tests/sdk_clients.rs against a live Sightline server.

Usage: otel_app.py http|http-gzip|http-deflate|grpc

Environment:
  SIGHTLINE_BASE                base URL of the server's HTTP listener (for http*; /v1/traces is appended)
  SIGHTLINE_GRPC                host:port of the server's OTLP/gRPC listener (for grpc)
  SIGHTLINE_EXPERIMENT_ID       optional: sent as the x-mlflow-experiment-id header / metadata
  SIGHTLINE_SESSION_ID          session id on the root span (default "otel-sess-1")

One trace:
  agent_run (openinference AGENT, session.id, user.id)
    chat gpt-4o (GenAI chat: gpt-4o, 120 input / 30 output / 20 cache-read tokens)
    tool lookup_weather (TOOL; records an exception, status ERROR; the agent catches it)

The last stdout line is JSON: {"trace_id": "<32 hex>", "results": [...]}. The exit code is non-zero
when any export did not return SUCCESS.
"""

import json
import os
import sys

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Status, StatusCode

SESSION_ID = os.environ.get("SIGHTLINE_SESSION_ID", "otel-sess-1")
USER_ID = "otel-user-9"


class RecordingExporter(SpanExporter):
    """Delegates to the real OTLP exporter and records every export's result."""

    def __init__(self, inner):
        self.inner = inner
        self.results = []
        self.exported_spans = 0

    def export(self, spans):
        result = self.inner.export(spans)
        self.results.append(result)
        if result == SpanExportResult.SUCCESS:
            self.exported_spans += len(spans)
        return result

    def shutdown(self):
        self.inner.shutdown()

    def force_flush(self, timeout_millis=30000):
        return self.inner.force_flush(timeout_millis)


def make_exporter(mode):
    headers = {}
    experiment = os.environ.get("SIGHTLINE_EXPERIMENT_ID")
    if experiment:
        headers["x-mlflow-experiment-id"] = experiment
    if mode.startswith("http"):
        from opentelemetry.exporter.otlp.proto.http import Compression
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        compression = {
            "http": Compression.NoCompression,
            "http-gzip": Compression.Gzip,
            "http-deflate": Compression.Deflate,
        }.get(mode)
        if compression is None:
            raise SystemExit(f"unknown mode {mode!r}")
        base = os.environ["SIGHTLINE_BASE"].rstrip("/")
        return OTLPSpanExporter(endpoint=f"{base}/v1/traces", headers=headers, compression=compression, timeout=10)
    if mode == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(endpoint=os.environ["SIGHTLINE_GRPC"], insecure=True, headers=headers, timeout=10)
    raise SystemExit(f"unknown mode {mode!r}; use http, http-gzip, http-deflate or grpc")


def run_agent(tracer):
    with tracer.start_as_current_span("agent_run") as root:
        root.set_attribute("openinference.span.kind", "AGENT")
        root.set_attribute("session.id", SESSION_ID)
        root.set_attribute("user.id", USER_ID)
        root.set_attribute("input.value", "What is the weather in Paris?")
        trace_id = format(root.get_span_context().trace_id, "032x")

        with tracer.start_as_current_span("chat gpt-4o", kind=trace.SpanKind.CLIENT) as chat:
            chat.set_attribute("gen_ai.operation.name", "chat")
            chat.set_attribute("gen_ai.provider.name", "openai")
            chat.set_attribute("gen_ai.request.model", "gpt-4o")
            chat.set_attribute("gen_ai.usage.input_tokens", 120)
            chat.set_attribute("gen_ai.usage.output_tokens", 30)
            chat.set_attribute("gen_ai.usage.cache_read.input_tokens", 20)
            chat.set_attribute(
                "gen_ai.input.messages",
                json.dumps([{"role": "user", "parts": [{"type": "text", "content": "What is the weather in Paris?"}]}]),
            )
            chat.set_attribute(
                "gen_ai.output.messages",
                json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": "Let me look it up."}]}]),
            )

        with tracer.start_as_current_span(
            "tool lookup_weather", record_exception=False, set_status_on_exception=False
        ) as tool:
            tool.set_attribute("openinference.span.kind", "TOOL")
            tool.set_attribute("tool.name", "lookup_weather")
            try:
                raise TimeoutError("weather service timed out")
            except TimeoutError as e:
                tool.record_exception(e)
                tool.set_status(Status(StatusCode.ERROR, f"TimeoutError: {e}"))

        root.set_attribute("output.value", "Sorry, the weather service is unavailable.")
    return trace_id


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    mode = sys.argv[1]
    exporter = RecordingExporter(make_exporter(mode))
    provider = TracerProvider(resource=Resource.create({"service.name": "otel-test-app"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("sightline.sdk_clients", "0.1.0")

    trace_id = run_agent(tracer)

    flushed = provider.force_flush(30_000)
    provider.shutdown()

    names = [r.name for r in exporter.results]
    ok = flushed and exporter.results and all(r == SpanExportResult.SUCCESS for r in exporter.results)
    print(json.dumps({"trace_id": trace_id, "mode": mode, "results": names, "spans": exporter.exported_spans}), flush=True)
    if not ok or exporter.exported_spans != 3:
        print(f"export failed: flushed={flushed} results={names} spans={exporter.exported_spans}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
