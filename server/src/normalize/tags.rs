//! Trace tags carried by span data: resource attributes, and the tag conventions of a root
//! span's attributes (MLflow trace tags, OpenInference `metadata`, Traceloop association
//! properties). Turns values into tag strings; deciding which trace a tag lands on is the
//! caller's job.

use std::collections::BTreeMap;

use serde_json::Value;

use super::conventions::{unquote, value_text};
use crate::model::Attributes;

/// Resource keys that describe the SDK, not the service; MLflow does not make them tags
/// either (PROTOCOL.md §4.4).
const SKIPPED_RESOURCE_PREFIXES: [&str; 2] = ["telemetry.sdk.", "mlflow."];

const TRACELOOP_PROPERTIES: &str = "traceloop.association.properties";

pub fn resource_tags(resource: &Attributes) -> (Option<String>, BTreeMap<String, String>) {
    let service = resource.get("service.name").and_then(value_text);
    let tags = resource
        .iter()
        .filter(|(k, _)| !SKIPPED_RESOURCE_PREFIXES.iter().any(|p| k.starts_with(p)))
        .filter_map(|(k, v)| Some((k.clone(), render(v)?)))
        .collect();
    (service, tags)
}

/// Later conventions overwrite earlier ones on a clash, so the most explicit one, MLflow's
/// own trace tags, has the last word.
pub fn root_span_tags(attrs: &Attributes) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::new();
    if let Some(metadata) = attrs.get("metadata").and_then(as_object) {
        tags.extend(scalar_entries(&metadata));
    }
    // Traceloop flattens the property map into keys, but a kvlist value is just as valid OTLP.
    if let Some(props) = attrs.get(TRACELOOP_PROPERTIES).and_then(as_object) {
        tags.extend(scalar_entries(&props));
    }
    tags.extend(prefixed(attrs, "traceloop.association.properties."));
    tags.extend(prefixed(attrs, "mlflow.traceTag."));
    tags
}

/// `<prefix><k>` attributes as `k` tags.
fn prefixed<'a>(
    attrs: &'a Attributes,
    prefix: &'a str,
) -> impl Iterator<Item = (String, String)> + 'a {
    attrs.iter().filter_map(move |(k, v)| {
        let key = k.strip_prefix(prefix).filter(|key| !key.is_empty())?;
        Some((key.to_owned(), render(v)?))
    })
}

/// Only scalar entries: a nested object has no single tag value worth filtering on.
fn scalar_entries(map: &serde_json::Map<String, Value>) -> Vec<(String, String)> {
    map.iter()
        .filter(|(_, v)| matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_)))
        .filter_map(|(k, v)| Some((k.clone(), render(v)?)))
        .collect()
}

/// An object given as a kvlist or as JSON text (possibly JSON-quoted once more, §5.4d).
fn as_object(value: &Value) -> Option<serde_json::Map<String, Value>> {
    match value {
        Value::Object(map) => Some(map.clone()),
        Value::String(s) => {
            let text = unquote(s).unwrap_or_else(|| s.clone());
            match serde_json::from_str(&text) {
                Ok(Value::Object(map)) => Some(map),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Tag text: strings as themselves (unquoted if JSON-encoded), bools lowercase, numbers in
/// JSON form, arrays and objects as compact JSON. Null carries nothing.
fn render(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(unquote(s).unwrap_or_else(|| s.clone())),
        Value::Bool(_) | Value::Number(_) => value_text(value),
        Value::Array(_) | Value::Object(_) => Some(value.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn attrs(v: Value) -> Attributes {
        match v {
            Value::Object(m) => m,
            _ => panic!("test attributes must be an object"),
        }
    }

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn resource_attributes_become_tags_except_sdk_and_mlflow_keys() {
        let (service, got) = resource_tags(&attrs(json!({
            "service.name": "demo-otel-app",
            "service.version": "0.1.0",
            "deployment.environment": "test",
            "telemetry.sdk.language": "python",
            "telemetry.sdk.name": "opentelemetry",
            "mlflow.experimentId": "1",
            "host.cores": 8,
            "feature.enabled": true,
            "process.command_args": ["python", "app.py"],
            "k8s.labels": {"team": "ml"},
            "empty": null,
        })));
        assert_eq!(service.as_deref(), Some("demo-otel-app"));
        assert_eq!(
            got,
            tags(&[
                ("service.name", "demo-otel-app"),
                ("service.version", "0.1.0"),
                ("deployment.environment", "test"),
                ("host.cores", "8"),
                ("feature.enabled", "true"),
                ("process.command_args", "[\"python\",\"app.py\"]"),
                ("k8s.labels", "{\"team\":\"ml\"}"),
            ])
        );
    }

    #[test]
    fn resource_without_service_name_has_no_service() {
        let (service, got) = resource_tags(&attrs(json!({"telemetry.sdk.name": "mlflow"})));
        assert_eq!((service, got.len()), (None, 0));
    }

    #[test]
    fn mlflow_trace_tags_lose_their_prefix() {
        let got = root_span_tags(&attrs(json!({
            "mlflow.traceTag.region": "us-east-1",
            "mlflow.traceTag.cache_hit": "false",
            "mlflow.traceTag.quoted": "\"yes\"",
            "mlflow.traceTag.": "no key",
            "mlflow.spanType": "CHAIN",
        })));
        assert_eq!(
            got,
            tags(&[
                ("region", "us-east-1"),
                ("cache_hit", "false"),
                ("quoted", "yes")
            ])
        );
    }

    #[test]
    fn openinference_metadata_scalars_become_tags() {
        let got = root_span_tags(&attrs(json!({
            "metadata": "{\"release\": \"r7\", \"n\": 3, \"ok\": true, \"nested\": {\"a\": 1}}",
            "tag.tags": ["prod", "geo"],
        })));
        assert_eq!(got, tags(&[("release", "r7"), ("n", "3"), ("ok", "true")]));
        let got = root_span_tags(&attrs(json!({"metadata": {"release": "r8"}})));
        assert_eq!(got, tags(&[("release", "r8")]));
    }

    #[test]
    fn traceloop_association_properties_become_tags() {
        let got = root_span_tags(&attrs(json!({
            "traceloop.association.properties.session_id": "sess-tl-3",
            "traceloop.association.properties.tier": "gold",
        })));
        assert_eq!(got, tags(&[("session_id", "sess-tl-3"), ("tier", "gold")]));
    }

    #[test]
    fn mlflow_trace_tag_wins_over_metadata_on_a_clash() {
        let got = root_span_tags(&attrs(json!({
            "metadata": "{\"intent\": \"from-metadata\"}",
            "mlflow.traceTag.intent": "from-mlflow",
        })));
        assert_eq!(got, tags(&[("intent", "from-mlflow")]));
    }

    #[test]
    fn unparseable_metadata_is_ignored() {
        assert!(root_span_tags(&attrs(json!({"metadata": "not json"}))).is_empty());
    }
}
