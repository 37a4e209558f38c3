//! The retrieval (`rag_retrieval` › embed, search, rerank) and generation
//! (`generate_response` › prompt, LLM call, parse) subtrees of a cache-miss trace, with the
//! OpenInference document attributes and the LLM messages and token counts in every convention.

use rand::Rng;
use serde_json::{json, Value as Json};

use super::catalog::{self, choose, round_to, SYSTEM_PROMPTS};
use super::tree::{Attrs, Role, TraceBuilder};

pub(super) struct Doc {
    id: String,
    score: f64,
    pub(super) content: String,
}

impl TraceBuilder<'_> {
    /// `rag_retrieval` and its three children; returns the end time and the retrieved documents.
    pub(super) fn retrieval(&mut self, root: usize, t: i64, short_msg: &Json) -> (i64, Vec<Doc>) {
        let mut a = Attrs::default();
        a.int("retrieval.top_k", 5);
        self.io(&mut a, short_msg, None);
        let rag = self.add("rag_retrieval", Some(root), t, 0, Role::RETRIEVER, a);
        let mut tt = t + self.dur(0.3, 0.2);

        let d = self.dur(25.0, 0.25);
        let mut a = Attrs::default();
        a.str("embedding.model_name", "bge-m3")
            .int("embedding.dimensions", 1024);
        self.add("embed_query", Some(rag), tt, d, Role::EMBEDDING, a);
        tt += d;

        let docs: Vec<Doc> = (0..5)
            .map(|_| Doc {
                id: format!("prod-{}", self.rng.random_range(100_000..999_999u32)),
                score: round_to(self.rng.random_range(0.55..0.95), 4),
                content: self.text(120, 260),
            })
            .collect();
        let mut a = Attrs::default();
        a.str("db.system", "qdrant")
            .str("db.collection.name", "manga_catalog_v7");
        if self.conv.oi {
            for (k, doc) in docs.iter().enumerate() {
                let key = format!("retrieval.documents.{k}.document");
                a.str(format!("{key}.id"), doc.id.as_str())
                    .float(format!("{key}.score"), doc.score)
                    .str(format!("{key}.content"), doc.content.as_str());
            }
        }
        if self.conv.mlflow {
            let outputs: Vec<Json> = docs
                .iter()
                .map(|doc| {
                    json!({"page_content": doc.content, "metadata": {"doc_uri": doc.id}, "id": doc.id})
                })
                .collect();
            a.str("mlflow.spanOutputs", Json::from(outputs).to_string());
        }
        let mut d = self.dur(45.0, 0.35);
        if self.slow && self.rng.random::<f64>() < 0.3 {
            d *= 3;
        }
        self.add("vector_search", Some(rag), tt, d, Role::SEARCH, a);
        tt += d;

        let mut a = Attrs::default();
        a.str("reranker.model_name", "bge-reranker-v2-m3")
            .int("reranker.top_k", 3);
        if self.conv.oi {
            let mut ranked: Vec<&Doc> = docs.iter().collect();
            ranked.sort_by(|x, y| y.score.total_cmp(&x.score));
            for (k, doc) in ranked.iter().take(3).enumerate() {
                let key = format!("reranker.output_documents.{k}.document");
                a.str(format!("{key}.id"), doc.id.as_str())
                    .float(format!("{key}.score"), doc.score);
            }
        }
        let d = scaled(self.dur(110.0, 0.30), self.latency_factor);
        self.add("rerank", Some(rag), tt, d, Role::RERANKER, a);
        tt += d;
        let end = tt + self.dur(0.3, 0.2);
        self.set_end(rag, end);
        (end, docs)
    }

    /// `generate_response` with prompt building, the LLM call and output parsing.
    pub(super) fn generation(
        &mut self,
        root: usize,
        t: i64,
        model: catalog::Model,
        docs: &[Doc],
        user_msg: &str,
        message_no: u32,
    ) -> Generated {
        let conv = self.conv;
        let gen = self.add(
            "generate_response",
            Some(root),
            t,
            0,
            Role::CHAIN,
            Attrs::default(),
        );
        let mut tt = t + self.dur(0.3, 0.2);
        let d = self.dur(5.0, 0.25);
        let mut a = Attrs::default();
        a.str("prompt.template", "mangaassist-answer")
            .str("prompt.version", "v12");
        self.add("build_prompt", Some(gen), tt, d, Role::PLAIN, a);
        tt += d;

        let system = choose(&mut self.rng, &SYSTEM_PROMPTS);
        let n_context = self.rng.random_range(0..=docs.len());
        let context = docs[..n_context]
            .iter()
            .map(|d| d.content.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let mut messages: Vec<(&str, String)> = vec![("system", system.to_owned())];
        for h in 0..message_no.min(3) {
            let role = if h % 2 == 0 { "user" } else { "assistant" };
            messages.push((role, self.text(40, 200)));
        }
        messages.push((
            "user",
            if context.is_empty() {
                user_msg.to_owned()
            } else {
                format!("Context:\n{context}\n\nQuestion: {user_msg}")
            },
        ));
        let answer = self.text(250, 1800);
        let in_chars: usize = messages.iter().map(|(_, c)| c.chars().count()).sum();
        let input_tokens =
            ((in_chars as f64 / 3.9 * self.rng.random_range(0.95..1.05)) as i64).max(1);
        let output_tokens = ((answer.chars().count() as f64 / 4.1
            * self.rng.random_range(0.95..1.05)) as i64)
            .max(1);
        let total_tokens = input_tokens + output_tokens;
        let (name, provider, temperature) = (model.name, model.provider, model.temperature);

        let mut la = Attrs::default();
        if conv.otel {
            la.str("gen_ai.operation.name", "chat")
                .str("gen_ai.system", provider)
                .str("gen_ai.provider.name", provider)
                .str("gen_ai.request.model", name)
                .str("gen_ai.response.model", name)
                .float("gen_ai.request.temperature", temperature)
                .int("gen_ai.request.max_tokens", 1024)
                .int("gen_ai.usage.input_tokens", input_tokens)
                .int("gen_ai.usage.output_tokens", output_tokens)
                .strs("gen_ai.response.finish_reasons", &["end_turn"]);
        }
        if conv.oi {
            la.str("llm.model_name", name)
                .str("llm.provider", provider)
                .str("llm.system", provider)
                .str(
                    "llm.invocation_parameters",
                    json!({"temperature": temperature, "max_tokens": 1024}).to_string(),
                )
                .int("llm.token_count.prompt", input_tokens)
                .int("llm.token_count.completion", output_tokens)
                .int("llm.token_count.total", total_tokens);
            for (k, (role, content)) in messages.iter().enumerate() {
                la.str(format!("llm.input_messages.{k}.message.role"), *role)
                    .str(
                        format!("llm.input_messages.{k}.message.content"),
                        content.as_str(),
                    );
            }
            la.str("llm.output_messages.0.message.role", "assistant")
                .str("llm.output_messages.0.message.content", answer.as_str());
        }
        if conv.mlflow {
            la.str(
                "mlflow.chat.tokenUsage",
                json!({"input_tokens": input_tokens, "output_tokens": output_tokens,
                       "total_tokens": total_tokens})
                .to_string(),
            );
        }
        let message_json: Vec<Json> = messages
            .iter()
            .map(|(role, content)| json!({"role": role, "content": content}))
            .collect();
        let msg_id = self.rng.random::<u64>();
        self.io(
            &mut la,
            &json!({"model": name, "temperature": temperature, "messages": message_json}),
            Some(&json!({
                "id": format!("msg_{msg_id:016x}"),
                "model": name,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": answer}}],
                "usage": {"prompt_tokens": input_tokens, "completion_tokens": output_tokens,
                          "total_tokens": total_tokens},
            })),
        );
        let mut llm_len = self.dur(620.0, 0.20);
        if self.slow {
            llm_len = scaled(llm_len, self.rng.random_range(1.5..2.4));
        }
        let llm_len = scaled(llm_len, self.latency_factor);
        let llm_span = self.add("llm_call", Some(gen), tt, llm_len, Role::LLM, la);
        tt += llm_len;
        let d = self.dur(25.0, 0.30);
        self.add(
            "parse_output",
            Some(gen),
            tt,
            d,
            Role::PLAIN,
            Attrs::default(),
        );
        tt += d;
        let end = tt + self.dur(0.3, 0.2);
        self.set_end(gen, end);
        Generated {
            end,
            answer,
            tokens: (input_tokens, output_tokens),
            llm_span,
        }
    }
}

pub(super) struct Generated {
    pub(super) end: i64,
    pub(super) answer: String,
    pub(super) tokens: (i64, i64),
    pub(super) llm_span: usize,
}

fn scaled(ns: i64, factor: f64) -> i64 {
    (ns as f64 * factor) as i64
}
