//! What every response carries for the browser's protection. Pages are rendered only by a
//! real server (Leptos needs its executor): `end2end/tests/overview.spec.ts` checks them.

mod common;

use common::{TestDb, TestServer};

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let s = TestServer::start(TestDb::sqlite()).await;
    let client = TestServer::client();
    let responses = [
        client
            .get(format!("{}/health", s.base))
            .send()
            .await
            .unwrap(),
        client
            .get(format!("{}/metrics", s.base))
            .send()
            .await
            .unwrap(),
        // A refused request too: an error page is a page.
        client
            .post(format!("{}/v1/traces", s.base))
            .header("content-type", "application/x-protobuf")
            .body(vec![0xff, 0xff])
            .send()
            .await
            .unwrap(),
        client
            .get(format!(
                "{}/api/2.0/mlflow/experiments/get?experiment_id=0",
                s.base
            ))
            .send()
            .await
            .unwrap(),
    ];
    for r in responses {
        let url = r.url().to_string();
        let h = r.headers();
        let get = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
        assert_eq!(get("x-content-type-options"), "nosniff", "{url}");
        assert_eq!(get("x-frame-options"), "DENY", "{url}");
        assert!(
            get("content-security-policy").contains("frame-ancestors 'none'"),
            "{url}: {:?}",
            get("content-security-policy")
        );
        assert_eq!(get("referrer-policy"), "same-origin", "{url}");
    }
    s.shutdown().await;
}
