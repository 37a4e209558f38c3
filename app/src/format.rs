//! Human formatting of durations, token counts, money and times, shared by all pages.

/// `842 ms`, `1.24 s`, `2.0 min`.
pub fn duration_ms(ms: f64) -> String {
    if ms < 1.0 {
        format!("{:.2} ms", ms)
    } else if ms < 1000.0 {
        format!("{:.0} ms", ms)
    } else if ms < 60_000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        format!("{:.1} min", ms / 60_000.0)
    }
}

/// `950`, `12.3k`, `4.1M`.
pub fn count(n: i64) -> String {
    let f = n as f64;
    if n.abs() < 1000 {
        n.to_string()
    } else if n.abs() < 1_000_000 {
        format!("{:.1}k", f / 1e3)
    } else {
        format!("{:.1}M", f / 1e6)
    }
}

/// Dollars with enough precision for per-request LLM costs: `$0.0123`, `$4.20`.
pub fn usd(v: f64) -> String {
    if v == 0.0 {
        "$0".into()
    } else if v.abs() < 0.0001 {
        // Two significant digits: a $0.000031 embedding call must not read as free.
        let digits = (-v.abs().log10()).ceil() as usize + 1;
        format!("${:.*}", digits, v)
    } else if v.abs() < 0.01 {
        format!("${:.4}", v)
    } else {
        format!("${:.2}", v)
    }
}

/// The human part of a request/response preview. Previews are JSON of the root's inputs
/// (MLflow's convention); when that is an object with one obvious text field (`message`,
/// `question`, `query`, `input`, `prompt`, `content`, `text`, `response`, `answer`, `output`),
/// show that text; otherwise the preview as it is.
pub fn preview_text(preview: &str) -> String {
    const KEYS: [&str; 10] = [
        "message", "question", "query", "input", "prompt", "content", "text", "response", "answer",
        "output",
    ];
    match serde_json::from_str::<serde_json::Value>(preview) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(serde_json::Value::Object(m)) => KEYS
            .iter()
            .find_map(|k| m.get(*k).and_then(|v| v.as_str()).map(str::to_string))
            .unwrap_or_else(|| preview.to_string()),
        Ok(_) => preview.to_string(),
        // Previews are cut at 1,000 characters, which breaks long JSON: still show the text
        // of a leading `{"<key>": "…` field.
        Err(_) => KEYS
            .iter()
            .find_map(|k| cut_string_field(preview, k))
            .unwrap_or_else(|| preview.to_string()),
    }
}

/// The decoded value of a string field that opens a cut-off JSON object, with `…` when the
/// string itself was cut.
fn cut_string_field(preview: &str, key: &str) -> Option<String> {
    let rest = preview.trim_start().strip_prefix('{')?.trim_start();
    let rest = rest
        .strip_prefix('"')?
        .strip_prefix(key)?
        .strip_prefix('"')?;
    let rest = rest
        .trim_start()
        .strip_prefix(':')?
        .trim_start()
        .strip_prefix('"')?;
    let mut out = String::with_capacity(rest.len());
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('u') => {
                    let hex: String = chars.by_ref().take(4).collect();
                    match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                        Some(ch) => out.push(ch),
                        None => out.push('\u{fffd}'),
                    }
                }
                Some(other) => out.push(other),
                None => break,
            },
            c => out.push(c),
        }
    }
    out.push('…');
    Some(out)
}

/// UTC `YYYY-MM-DD HH:MM:SS.mmm` from epoch milliseconds, without a date library (it must
/// also run in the browser).
pub fn utc_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let milli = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{milli:03}",
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60
    )
}

// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_epoch_and_leap_day() {
        assert_eq!(utc_ms(0), "1970-01-01 00:00:00.000");
        assert_eq!(utc_ms(951_782_400_123), "2000-02-29 00:00:00.123");
        assert_eq!(utc_ms(1_795_464_008_869), "2026-11-23 20:00:08.869");
    }

    #[test]
    fn previews_show_the_text_field_of_json_inputs() {
        assert_eq!(
            preview_text(r#"{"message":"hi there","page_type":"search"}"#),
            "hi there"
        );
        assert_eq!(preview_text(r#""plain""#), "plain");
        assert_eq!(preview_text("not json"), "not json");
        assert_eq!(preview_text(r#"{"a":1}"#), r#"{"a":1}"#);
        // Cut off by the 1,000-character preview limit.
        assert_eq!(
            preview_text(r#"{"response": "Order \"A\"\nshipped and"#),
            "Order \"A\"\nshipped and…"
        );
        assert_eq!(preview_text(r#"{"other":"x"#), r#"{"other":"x"#);
    }

    #[test]
    fn durations_pick_a_unit() {
        assert_eq!(duration_ms(842.4), "842 ms");
        assert_eq!(duration_ms(1240.0), "1.24 s");
        assert_eq!(count(12_345), "12.3k");
        assert_eq!(usd(0.01234), "$0.01");
        assert_eq!(usd(0.001234), "$0.0012");
        assert_eq!(usd(0.000031), "$0.000031");
    }
}
