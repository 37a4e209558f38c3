//! `sightline check-rules`: the command teams run in CI on their version-controlled rules.

use std::process::Command;

fn check(text: &str) -> (i32, String) {
    let dir = std::env::temp_dir().join(format!("sightline-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("rules-{}.toml", text.len()));
    std::fs::write(&file, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sightline"))
        .arg("check-rules")
        .arg(&file)
        .env("SIGHTLINE_ROLLUP_TAGS", "intent,region")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn valid_rules_pass_and_each_problem_is_named() {
    let (code, out) = check(
        r#"
        [[rule]]
        name = "rerank slow"
        metric = "latency_p95"
        span = "rerank"
        scope = "service = 'mangaassist-chatbot'"
        op = ">"
        threshold = 800
        window = "5m"
        for = "5m"
        split_by = "model"
        channels = ["oncall"]

        [[rule]]
        name = "errors per intent and region"
        metric = "error_rate"
        scope = "tags.intent = 'recommendation'"
        op = ">"
        threshold = 0.01
        window = "3m"
        split_by = "tags.region"
        "#,
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("2 rules, all valid"), "{out}");

    let (code, out) = check(
        r#"
        [[rule]]
        name = "bad"
        metric = "cache_hit_rate"
        op = "<"
        threshold = 0.3
        window = "15m"
        scope = "tags.intent = "
        "#,
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("rule \"bad\": scope:"), "{out}");

    // Span cells per tag are hourly: a five-minute span rule by tag would be a lie.
    let (code, out) = check(
        "[[rule]]\nname = 'r'\nmetric = 'latency_p95'\nspan = 'rerank'\nop = '>'\nthreshold = 1\nwindow = '5m'\nsplit_by = 'tags.intent'\n",
    );
    assert_eq!(code, 1);
    assert!(out.contains("cannot be scoped or split by tags"), "{out}");

    let (code, out) = check("[[rule]]\nname = 'x'\nmetric = 'error_rate'\nop = '>'\nthreshold = 1\nwindow = '5m'\ncolour = 'red'\n");
    assert_eq!(code, 1);
    assert!(out.contains("unknown field `colour`"), "{out}");
}
