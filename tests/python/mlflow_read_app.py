"""The MLflow trace read/manage API through the real `mlflow` module of mlflow-tracing (pinned
in requirements.txt), run by server/tests/mlflow_read.rs against a live Sightline server.

Environment:
  MLFLOW_TRACKING_URI                 the server's base URL (required)
  MLFLOW_ENABLE_ASYNC_TRACE_LOGGING   "true" (SDK default) or "false"

It writes three traces with the SDK (as mlflow_app.py does):
  1. `rag_pipeline` (CHAIN) -> `retrieve_docs` (RETRIEVER), `chat_completion` (CHAT_MODEL,
     52/22 tokens); tags env=test, session sess-read-1. State OK.
  2. `failing_pipeline` (CHAIN) -> `lookup_tool` (TOOL, raises); tag env=test. State ERROR.
  3. `plain` (CHAIN), no tags.
then reads them back with `mlflow.search_traces`, `TracingClient.search_traces` (order_by,
max_results=1 and page_token), `mlflow.get_trace`, sets and deletes a tag with
`mlflow.set_trace_tag` / `mlflow.delete_trace_tag`, and deletes traces with
`TracingClient.delete_traces` by id and by age.

The last stdout line is JSON with what was read; the Rust test asserts on it.
"""

import json
import os
import sys

import mlflow
from mlflow.entities import SpanType
from mlflow.tracing.client import TracingClient
from mlflow.tracing.constant import SpanAttributeKey

SESSION_ID = "sess-read-1"
MODEL = "gpt-4o-mini"
USAGE = {"input_tokens": 52, "output_tokens": 22, "total_tokens": 74}

captured = {}


@mlflow.trace(span_type=SpanType.RETRIEVER)
def retrieve_docs(query):
    return [{"page_content": "Sightline stores traces in SQLite or PostgreSQL.", "id": "doc-1"}]


def llm(question, docs):
    with mlflow.start_span(name="chat_completion", span_type=SpanType.CHAT_MODEL) as span:
        span.set_inputs({"model": MODEL, "messages": [{"role": "user", "content": question}]})
        span.set_attribute(SpanAttributeKey.MODEL, MODEL)
        span.set_attribute(SpanAttributeKey.CHAT_USAGE, USAGE)
        answer = docs[0]["page_content"]
        span.set_outputs({"choices": [{"index": 0, "message": {"role": "assistant", "content": answer}}]})
    return answer


@mlflow.trace(name="rag_pipeline", span_type=SpanType.CHAIN)
def rag_pipeline(question):
    captured["ok"] = mlflow.get_active_trace_id()
    mlflow.update_current_trace(tags={"env": "test"}, session_id=SESSION_ID, user="user-7")
    return llm(question, retrieve_docs(question))


@mlflow.trace(span_type=SpanType.TOOL)
def lookup_tool(key):
    raise ValueError(f"no such key: {key}")


@mlflow.trace(name="failing_pipeline", span_type=SpanType.CHAIN)
def failing_pipeline(key):
    captured["error"] = mlflow.get_active_trace_id()
    mlflow.update_current_trace(tags={"env": "test"})
    return lookup_tool(key)


@mlflow.trace(name="plain", span_type=SpanType.CHAIN)
def plain(x):
    captured["third"] = mlflow.get_active_trace_id()
    return x * 2


def main():
    mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
    exp = mlflow.set_experiment("read-api").experiment_id

    rag_pipeline("Where does Sightline store traces?")
    try:
        failing_pipeline("missing")
    except ValueError:
        pass
    plain(21)
    mlflow.flush_trace_async_logging()
    ok, err, third = captured["ok"], captured["error"], captured["third"]
    out = {"experiment_id": exp, "ok_trace_id": ok, "error_trace_id": err, "third_trace_id": third}

    # search_traces: v3 search, then batchGet for the spans.
    found = mlflow.search_traces(locations=[exp], filter_string="tags.env = 'test'", return_type="list")
    out["search_env_test"] = [t.info.trace_id for t in found]
    out["search_spans"] = [len(t.data.spans) for t in found]

    client = TracingClient()
    ids, token, pages = [], None, 0
    while True:
        page = client.search_traces(
            locations=[exp], order_by=["timestamp_ms ASC"], max_results=1, page_token=token
        )
        pages += 1
        ids.extend(t.info.trace_id for t in page)
        token = page.token
        if not token or pages > 5:
            break
    out["paged_asc"] = ids
    out["pages"] = pages
    first = client.search_traces(locations=[exp], order_by=["timestamp_ms DESC"], max_results=1)
    out["order_desc_first"] = first[0].info.trace_id if len(first) else None

    # get_trace: GetTraceInfoV3, then GetTrace.
    t = mlflow.get_trace(ok)
    spans = t.data.spans
    by_name = {s.name: s for s in spans}
    root = next(s for s in spans if s.parent_id is None)
    out["get_trace"] = {
        "trace_id": t.info.trace_id,
        "state": str(getattr(t.info.state, "value", t.info.state)),
        "span_count": len(spans),
        "root_name": root.name,
        "span_types": {s.name: s.span_type for s in spans},
        "root_inputs": root.inputs,
        "llm_usage": by_name["chat_completion"].get_attribute(SpanAttributeKey.CHAT_USAGE),
        "token_usage": t.info.token_usage,
        "tags": t.info.tags,
        "session": t.info.trace_metadata.get("mlflow.trace.session"),
    }

    # Tags: PATCH / DELETE /api/2.0/mlflow/traces/<id>/tags.
    mlflow.set_trace_tag(ok, "reviewed", "yes")
    out["tag_after_set"] = mlflow.get_trace(ok).info.tags.get("reviewed")
    mlflow.delete_trace_tag(ok, "reviewed")
    out["tag_after_delete"] = mlflow.get_trace(ok).info.tags.get("reviewed")

    # DeleteTraces by id, then by age (the oldest trace left is `ok`).
    out["deleted_by_id"] = client.delete_traces(experiment_id=exp, trace_ids=[third])
    ok_ms = t.info.request_time
    out["deleted_by_age"] = client.delete_traces(experiment_id=exp, max_timestamp_millis=ok_ms, max_traces=10)
    left = mlflow.search_traces(locations=[exp], return_type="list")
    out["left_after_delete"] = [x.info.trace_id for x in left]

    sys.stdout.flush()
    print(json.dumps(out, default=str), flush=True)


if __name__ == "__main__":
    main()
