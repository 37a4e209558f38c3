"""A small traced app using the real `mlflow` module from mlflow-tracing (pinned in
requirements.txt), run by server/tests/sdk_clients.rs against a live Sightline server.

Environment:
  MLFLOW_TRACKING_URI                 the server's base URL (required)
  SIGHTLINE_EXPERIMENT                experiment name (default "sdk-clients")
  SIGHTLINE_SESSION_ID                session id put on the good trace (default "sess-sdk-1")
  MLFLOW_ENABLE_ASYNC_TRACE_LOGGING   "true" (async export, the SDK default) or "false" (sync)

It produces two traces:
  1. `rag_pipeline` (CHAIN) -> `retrieve_docs` (RETRIEVER) and `chat_completion` (CHAT_MODEL,
     model gpt-4o-mini, 52 input / 22 output tokens); tags env=test and session_id, session and
     user set through `update_current_trace`. State OK.
  2. `failing_pipeline` (CHAIN) -> `lookup_tool` (TOOL), which raises; the exception goes through
     both spans (ERROR, with an `exception` event each) and is caught by the app after the trace
     has ended. State ERROR.

The last stdout line is JSON: {"ok_trace_id": "tr-...", "error_trace_id": "tr-...", ...}.
"""

import json
import os
import sys

import mlflow
from mlflow.entities import SpanType
from mlflow.tracing.constant import SpanAttributeKey

EXPERIMENT = os.environ.get("SIGHTLINE_EXPERIMENT", "sdk-clients")
SESSION_ID = os.environ.get("SIGHTLINE_SESSION_ID", "sess-sdk-1")
USER_ID = "user-7"
MODEL = "gpt-4o-mini"
USAGE = {"input_tokens": 52, "output_tokens": 22, "total_tokens": 74}

captured = {}


@mlflow.trace(span_type=SpanType.RETRIEVER)
def retrieve_docs(query):
    return [
        {"page_content": "Sightline stores traces in SQLite or PostgreSQL.", "metadata": {"source": "a.md"}, "id": "doc-1"},
        {"page_content": "MLflow clients send spans over OTLP.", "metadata": {"source": "b.md"}, "id": "doc-2"},
    ]


def llm(question, docs):
    messages = [
        {"role": "system", "content": "Answer from the context."},
        {"role": "user", "content": f"{question}\n\n" + "\n".join(d["page_content"] for d in docs)},
    ]
    with mlflow.start_span(name="chat_completion", span_type=SpanType.CHAT_MODEL) as span:
        span.set_inputs({"model": MODEL, "messages": messages})
        answer = "Sightline stores traces in SQLite or PostgreSQL."
        # The SDK's own keys, as its autologgers set them (SpanAttributeKey.MODEL / CHAT_USAGE).
        span.set_attribute(SpanAttributeKey.MODEL, MODEL)
        span.set_attribute(SpanAttributeKey.MODEL_PROVIDER, "openai")
        span.set_attribute(SpanAttributeKey.CHAT_USAGE, USAGE)
        span.set_outputs(
            {
                "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 52, "completion_tokens": 22, "total_tokens": 74},
            }
        )
    return answer


@mlflow.trace(name="rag_pipeline", span_type=SpanType.CHAIN)
def rag_pipeline(question):
    captured["ok_active"] = mlflow.get_active_trace_id()
    mlflow.update_current_trace(
        tags={"env": "test", "session_id": SESSION_ID},
        metadata={"app.version": "1.2.3"},
        session_id=SESSION_ID,
        user=USER_ID,
    )
    docs = retrieve_docs(question)
    return llm(question, docs)


@mlflow.trace(span_type=SpanType.TOOL)
def lookup_tool(key):
    raise ValueError(f"no such key: {key}")


@mlflow.trace(name="failing_pipeline", span_type=SpanType.CHAIN)
def failing_pipeline(key):
    captured["error_active"] = mlflow.get_active_trace_id()
    mlflow.update_current_trace(tags={"env": "test"})
    return lookup_tool(key)


def main():
    mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
    experiment = mlflow.set_experiment(EXPERIMENT)

    answer = rag_pipeline("Where does Sightline store traces?")
    ok_last = mlflow.get_last_active_trace_id()

    caught = None
    try:
        failing_pipeline("missing")
    except ValueError as e:  # caught after the trace has ended
        caught = str(e)
    error_last = mlflow.get_last_active_trace_id()

    # Async mode: wait for the background export (also done at exit, but be explicit).
    mlflow.flush_trace_async_logging()

    if not (captured.get("ok_active") and captured.get("error_active")):
        print(f"no active trace id captured: {captured}", file=sys.stderr)
        sys.exit(2)
    if caught is None:
        print("the failing pipeline did not raise", file=sys.stderr)
        sys.exit(2)
    out = {
        "experiment_id": experiment.experiment_id,
        "ok_trace_id": captured["ok_active"],
        "error_trace_id": captured["error_active"],
        "ok_last_active": ok_last,
        "error_last_active": error_last,
        "answer": answer,
        "caught": caught,
        "async": os.environ.get("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"),
    }
    sys.stdout.flush()
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
