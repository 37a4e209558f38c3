//! Running the real Python clients (tests/python/*.py) from Rust tests.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use sightline::model::{parse_trace_id, TraceId};

pub const SCRIPT_TIMEOUT: Duration = Duration::from_secs(90);

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace dir")
        .to_path_buf()
}

/// The venv interpreter with the pinned clients; missing means a failed test, never a skip.
pub fn python() -> PathBuf {
    let p = std::env::var_os("SIGHTLINE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv/bin/python"));
    assert!(
        p.exists(),
        "Python with the real client SDKs not found at {}: run scripts/setup.sh \
         (it creates .venv from tests/python/requirements.txt), or set SIGHTLINE_PYTHON",
        p.display()
    );
    p
}

/// One finished script run.
pub struct Run {
    pub out: serde_json::Value,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn str(&self, key: &str) -> String {
        self.out[key]
            .as_str()
            .unwrap_or_else(|| panic!("script output has no string {key:?}: {}", self.out))
            .to_string()
    }

    pub fn trace_id(&self, key: &str) -> TraceId {
        let s = self.str(key);
        parse_trace_id(&s).unwrap_or_else(|| panic!("{key} = {s:?} is not a trace id"))
    }
}

/// Runs `tests/python/<script>` with `args` and `env`, waits up to [`SCRIPT_TIMEOUT`], and
/// parses its last stdout line as JSON. Its output is echoed to stderr, which the test runner
/// shows when a test fails.
pub async fn run_script(script: &str, args: &[&str], env: &[(&str, String)]) -> Run {
    let path = workspace().join("tests/python").join(script);
    assert!(path.exists(), "{} is missing", path.display());
    let mut cmd = tokio::process::Command::new(python());
    cmd.arg(&path)
        .args(args)
        .current_dir(workspace())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        // Nothing from the developer's shell may redirect or reshape the export.
        .env_remove("MLFLOW_EXPERIMENT_ID")
        .env_remove("MLFLOW_EXPERIMENT_NAME")
        .env_remove("MLFLOW_TRACKING_TOKEN")
        .env_remove("MLFLOW_TRACING_DESTINATION")
        .env_remove("MLFLOW_ENABLE_OTLP_EXPORTER")
        .env_remove("MLFLOW_TRACE_SAMPLING_RATIO")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_HEADERS")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_HEADERS")
        .env_remove("OTEL_SDK_DISABLED")
        .env("MLFLOW_DISABLE_TELEMETRY", "true")
        .env("DO_NOT_TRACK", "true")
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().unwrap_or_else(|e| {
        panic!(
            "cannot start {} (run scripts/setup.sh): {e}",
            python().display()
        )
    });
    let started = Instant::now();
    let output = match tokio::time::timeout(SCRIPT_TIMEOUT, child.wait_with_output()).await {
        Ok(r) => r.expect("waiting for the script"),
        // Dropping the future drops the child, which kills it (kill_on_drop).
        Err(_) => panic!("{script} {args:?} did not finish within {SCRIPT_TIMEOUT:?}"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    eprintln!(
        "--- {script} {args:?}: {} in {:?}\n--- stdout:\n{stdout}\n--- stderr:\n{stderr}\n---",
        output.status,
        started.elapsed()
    );
    assert!(
        output.status.success(),
        "{script} {args:?} failed ({}).\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    let last = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    let out: serde_json::Value = serde_json::from_str(last).unwrap_or_else(|e| {
        panic!("{script}: last stdout line is not JSON ({e}): {last:?}\nstderr:\n{stderr}")
    });
    Run {
        out,
        stdout,
        stderr,
    }
}
