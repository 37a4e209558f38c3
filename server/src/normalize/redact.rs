//! PII redaction at ingest: every string a client sends (span attributes, event attributes,
//! status messages, resource attributes, MLflow trace info) passes through a [`Redactor`]
//! before anything is stored, so no copy of the original exists on disk, in rollups or in
//! search indexes. A match becomes `[REDACTED:<detector>]`.
//!
//! Detectors are regexes with a validity check where a regex alone would flag too much:
//! credit-card numbers must pass the Luhn check, phone numbers need 9–15 digits and may not be
//! a piece of a dotted or dashed number (dates, versions, addresses), IP addresses must parse.
//! One `RegexSet` pass tells which detectors can match a string, so clean strings (most of
//! them) cost a single scan.

use std::net::Ipv6Addr;

use regex::{Captures, Regex, RegexSet};
use serde_json::Value;

use crate::model::{Attributes, RawSpan, TraceInfo};

/// The built-in detectors, by the names the configuration uses.
/// Cards go before phones: a card number in groups of four also looks like a phone number.
pub const BUILTIN: [&str; 5] = ["email", "credit_card", "phone", "ip", "secret"];

/// Detectors on by default. IP addresses are opt-in: peer and server addresses in span
/// attributes are operational data more often than personal data.
pub const DEFAULT_DETECTORS: &str = "email,phone,credit_card,secret";

/// Where the count of a span's redactions is kept, next to what was redacted.
pub const COUNT_ATTRIBUTE: &str = "sightline.redactions";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("unknown redaction detector {0:?}: use {builtin}, a --redact-pattern name, all or none", builtin = BUILTIN.join(", "))]
    UnknownDetector(String),
    #[error("--redact-pattern {0:?}: expected name=regex")]
    PatternSyntax(String),
    #[error("--redact-pattern {name:?}: {message}")]
    BadRegex { name: String, message: String },
    #[error("--redact-key {0:?}: expected key-glob=detector|detector (or =none, =all)")]
    KeySyntax(String),
}

/// What to redact, as configured (`--redact`, `--redact-pattern`, `--redact-key`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RedactionConfig {
    /// Detectors applied to keys without a policy of their own: built-in or pattern names,
    /// `all`, or `none`/`off`.
    pub detectors: Vec<String>,
    /// Custom detectors, `name=regex`.
    pub patterns: Vec<String>,
    /// Per-key policies, `glob=detector|detector`, `glob=all` or `glob=none`; the first whose
    /// glob (`*` matches any run of characters) matches an attribute key wins.
    pub keys: Vec<String>,
}

impl RedactionConfig {
    /// What `sightline serve` redacts when not told otherwise: [`DEFAULT_DETECTORS`].
    pub fn standard() -> RedactionConfig {
        RedactionConfig {
            detectors: DEFAULT_DETECTORS.split(',').map(String::from).collect(),
            ..Default::default()
        }
    }
}

/// Rejects a regex match that is not really one; gets the whole haystack and the match
/// range, for checks on the neighbouring characters.
type Check = fn(&str, usize, usize) -> bool;

struct Detector {
    name: String,
    re: Regex,
    valid: Check,
    replacement: String,
}

/// Which detectors apply: a bit per detector, in [`Redactor::detectors`] order.
type Mask = u64;

struct KeyPolicy {
    glob: String,
    mask: Mask,
}

/// A compiled redaction configuration; cheap to share (`Arc`) across requests.
pub struct Redactor {
    detectors: Vec<Detector>,
    set: RegexSet,
    default_mask: Mask,
    keys: Vec<KeyPolicy>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.detectors.iter().map(|d| d.name.as_str()).collect();
        f.debug_struct("Redactor")
            .field("detectors", &names)
            .field("default_mask", &self.default_mask)
            .field("keys", &self.keys.len())
            .finish()
    }
}

fn always(_: &str, _: usize, _: usize) -> bool {
    true
}

/// The two characters before `start` and the two after `end`, nearest first.
fn neighbours(hay: &str, start: usize, end: usize) -> [Option<char>; 4] {
    let mut before = hay[..start].chars().rev();
    let mut after = hay[end..].chars();
    [before.next(), before.next(), after.next(), after.next()]
}

/// Not glued to more digits, and not a piece of a longer number in groups
/// (`1.2.3.4.5`, `2026-11-24-10`, `4111 1111 1111 1112`).
fn isolated_number(hay: &str, start: usize, end: usize) -> bool {
    let [b1, b2, a1, a2] = neighbours(hay, start, end);
    let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
    let joiner = |c: Option<char>| matches!(c, Some('.' | '-' | ' '));
    !(digit(b1) || digit(a1) || (joiner(b1) && digit(b2)) || (joiner(a1) && digit(a2)))
}

/// Issuer prefixes and lengths of the card networks (Visa, Mastercard, Amex, Discover, JCB,
/// Diners, UnionPay). Without them one in ten 13-digit millisecond timestamps would pass Luhn.
fn card_network(d: &[u32]) -> bool {
    let prefix = |n: usize| d.iter().take(n).fold(0, |acc, x| acc * 10 + x);
    let len = d.len();
    match d[0] {
        4 => matches!(len, 13 | 16 | 19),
        5 => (51..=55).contains(&prefix(2)) && len == 16,
        2 => (2221..=2720).contains(&prefix(4)) && len == 16,
        3 => {
            (matches!(prefix(2), 34 | 37) && len == 15)
                || ((3528..=3589).contains(&prefix(4)) && (16..=19).contains(&len))
                || ((matches!(prefix(2), 36 | 38) || (300..=305).contains(&prefix(3))) && len == 14)
        }
        6 => {
            (prefix(4) == 6011
                || prefix(2) == 65
                || (644..=649).contains(&prefix(3))
                || prefix(2) == 62)
                && (16..=19).contains(&len)
        }
        _ => false,
    }
}

fn luhn(hay: &str, start: usize, end: usize) -> bool {
    if !isolated_number(hay, start, end) {
        return false;
    }
    let digits: Vec<u32> = hay[start..end]
        .chars()
        .filter_map(|c| c.to_digit(10))
        .collect();
    if !(13..=19).contains(&digits.len()) || !card_network(&digits) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let d2 = d * 2;
                if d2 > 9 {
                    d2 - 9
                } else {
                    d2
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn phone(hay: &str, start: usize, end: usize) -> bool {
    let n = hay[start..end].chars().filter(char::is_ascii_digit).count();
    (9..=15).contains(&n) && isolated_number(hay, start, end)
}

fn ipv4(hay: &str, start: usize, end: usize) -> bool {
    isolated_number(hay, start, end)
}

fn ip(hay: &str, start: usize, end: usize) -> bool {
    if hay[start..end].contains(':') {
        ipv6(hay, start, end)
    } else {
        ipv4(hay, start, end)
    }
}

fn ipv6(hay: &str, start: usize, end: usize) -> bool {
    let s = &hay[start..end];
    let glued = |c: Option<char>| c.is_some_and(|c| c.is_ascii_hexdigit() || c == ':');
    let [b1, _, a1, _] = neighbours(hay, start, end);
    !glued(b1)
        && !glued(a1)
        && s.parse::<Ipv6Addr>().is_ok()
        // `::` alone, or a time such as `12:30:45`, is not an address worth hiding.
        && (s.matches(':').count() >= 7 || (s.contains("::") && s.len() >= 3))
}

fn builtin(name: &str) -> Detector {
    let (pattern, valid): (&str, Check) = match name {
        "email" => (
            r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
            always,
        ),
        "credit_card" => (r"\d(?:[ -]?\d){12,18}", luhn),
        "phone" => (
            r"\+\d{1,3}[ .-]?\(?\d{1,4}\)?(?:[ .-]?\d{2,4}){2,4}|\+\d{8,15}|(?:\(\d{2,4}\)[ .-]?|\d{2,4}[ .-])\d{2,4}[ .-]\d{3,4}",
            phone,
        ),
        "ip" => (
            r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}|[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}",
            ip,
        ),
        // Provider key formats (OpenAI, Anthropic, AWS, GitHub, Slack, Google), JWTs, bearer
        // tokens, PEM private keys, and the value of `password=`/`api_key: ...` assignments.
        "secret" => (
            r#"(?x)
              (?:sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}
                |AKIA[0-9A-Z]{16}
                |gh[pousr]_[A-Za-z0-9]{36,}
                |github_pat_[A-Za-z0-9_]{22,}
                |xox[abprs]-[A-Za-z0-9-]{10,}
                |AIza[0-9A-Za-z_-]{35}
                |eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}
                |(?i:bearer)\s+[A-Za-z0-9._~+/-]{16,}=*
                |-----BEGIN[A-Z\ ]*PRIVATE\ KEY-----[\s\S]*?-----END[A-Z\ ]*PRIVATE\ KEY-----)
              |(?i:\b(?:api[_-]?key|secret|passw(?:or)?d|access[_-]?token|auth[_-]?token|client[_-]?secret))
                ["']?\s*[:=]\s*["']?(?P<value>[^\s"',;&}]{6,})"#,
            always,
        ),
        _ => unreachable!("not a built-in detector: {name}"),
    };
    Detector {
        name: name.to_string(),
        re: Regex::new(pattern).expect("built-in redaction regex"),
        valid,
        replacement: format!("[REDACTED:{name}]"),
    }
}

/// `*` matches any run of characters; everything else is literal.
fn glob_match(glob: &str, key: &str) -> bool {
    let mut parts = glob.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = key.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for p in middle {
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

impl Redactor {
    pub fn new(cfg: &RedactionConfig) -> Result<Redactor, Error> {
        let mut detectors: Vec<Detector> = BUILTIN.iter().map(|n| builtin(n)).collect();
        for p in &cfg.patterns {
            let (name, regex) = p
                .split_once('=')
                .map(|(n, r)| (n.trim(), r))
                .filter(|(n, r)| !n.is_empty() && !r.is_empty())
                .ok_or_else(|| Error::PatternSyntax(p.clone()))?;
            if BUILTIN.contains(&name) || matches!(name, "all" | "none" | "off") {
                return Err(Error::BadRegex {
                    name: name.into(),
                    message: "that name is taken by a built-in detector".into(),
                });
            }
            let re = Regex::new(regex).map_err(|e| Error::BadRegex {
                name: name.into(),
                message: e.to_string(),
            })?;
            detectors.push(Detector {
                name: name.to_string(),
                re,
                valid: always,
                replacement: format!("[REDACTED:{name}]"),
            });
        }
        if detectors.len() > Mask::BITS as usize {
            return Err(Error::BadRegex {
                name: cfg.patterns.last().cloned().unwrap_or_default(),
                message: format!("at most {} patterns", Mask::BITS as usize - BUILTIN.len()),
            });
        }
        let mask_of = |list: &mut dyn Iterator<Item = &str>| -> Result<Mask, Error> {
            let mut mask = 0;
            for name in list.map(str::trim).filter(|n| !n.is_empty()) {
                match name {
                    "none" | "off" => {}
                    "all" => mask = Mask::MAX >> (Mask::BITS as usize - detectors.len()),
                    _ => {
                        let i = detectors
                            .iter()
                            .position(|d| d.name == name)
                            .ok_or_else(|| Error::UnknownDetector(name.into()))?;
                        mask |= 1 << i;
                    }
                }
            }
            Ok(mask)
        };
        let default_mask = mask_of(&mut cfg.detectors.iter().map(String::as_str))?;
        let mut keys = Vec::new();
        for k in &cfg.keys {
            let (glob, list) = k
                .split_once('=')
                .map(|(g, l)| (g.trim(), l))
                .filter(|(g, _)| !g.is_empty())
                .ok_or_else(|| Error::KeySyntax(k.clone()))?;
            keys.push(KeyPolicy {
                glob: glob.to_string(),
                mask: mask_of(&mut list.split(['|', '+']))?,
            });
        }
        let set = RegexSet::new(detectors.iter().map(|d| d.re.as_str()))
            .expect("each pattern compiled alone");
        let mut r = Redactor {
            detectors,
            set,
            default_mask,
            keys,
        };
        // Policies that redact nothing leave nothing to do: `is_off` lets ingest skip the walk.
        if r.default_mask == 0 && r.keys.iter().all(|k| k.mask == 0) {
            r.keys.clear();
        }
        Ok(r)
    }

    /// A redactor that changes nothing.
    pub fn off() -> Redactor {
        Redactor::new(&RedactionConfig {
            detectors: vec!["none".into()],
            ..Default::default()
        })
        .expect("the empty configuration is valid")
    }

    /// True when no key can be redacted: ingest skips the walk.
    pub fn is_off(&self) -> bool {
        self.default_mask == 0 && self.keys.is_empty()
    }

    /// Names of the detectors on for keys without a policy, for the logs and the settings.
    pub fn default_detectors(&self) -> Vec<&str> {
        self.names(self.default_mask)
    }

    fn names(&self, mask: Mask) -> Vec<&str> {
        self.detectors
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, d)| d.name.as_str())
            .collect()
    }

    fn mask_for(&self, key: &str) -> Mask {
        self.keys
            .iter()
            .find(|p| glob_match(&p.glob, key))
            .map_or(self.default_mask, |p| p.mask)
    }

    /// Redacts `text` found under `key`; returns how many matches were replaced.
    pub fn redact_text(&self, key: &str, text: &mut String) -> u32 {
        let mask = self.mask_for(key);
        if mask == 0 || text.len() < 6 {
            return 0;
        }
        let mut count = 0;
        for i in self.set.matches(text).iter() {
            if mask & (1 << i) == 0 {
                continue;
            }
            let d = &self.detectors[i];
            let hay = text.as_str();
            let mut n = 0;
            let out = d.re.replace_all(hay, |c: &Captures| {
                let whole = c.get(0).expect("group 0");
                if !(d.valid)(hay, whole.start(), whole.end()) {
                    return whole.as_str().to_string();
                }
                n += 1;
                // `password=hunter22`: keep the name, hide the value.
                match c.name("value") {
                    Some(v) if v.start() > whole.start() => format!(
                        "{}{}{}",
                        &hay[whole.start()..v.start()],
                        d.replacement,
                        &hay[v.end()..whole.end()]
                    ),
                    _ => d.replacement.clone(),
                }
            });
            if n > 0 {
                *text = out.into_owned();
                count += n;
            }
        }
        count
    }

    /// Redacts every string in `value` (arrays and maps included; a map's entries under
    /// `key.entry`).
    pub fn redact_value(&self, key: &str, value: &mut Value) -> u32 {
        match value {
            Value::String(s) => self.redact_text(key, s),
            Value::Array(items) => items.iter_mut().map(|v| self.redact_value(key, v)).sum(),
            // The entry's key path matters only to key policies: without any, skip building it
            // for every nested value on the ingest path.
            Value::Object(map) if self.keys.is_empty() => {
                map.values_mut().map(|v| self.redact_value(key, v)).sum()
            }
            Value::Object(map) => map
                .iter_mut()
                .map(|(k, v)| self.redact_value(&format!("{key}.{k}"), v))
                .sum(),
            _ => 0,
        }
    }

    pub fn redact_attributes(&self, attributes: &mut Attributes) -> u32 {
        attributes
            .iter_mut()
            .map(|(k, v)| self.redact_value(k, v))
            .sum()
    }

    /// Redacts a span's attributes, event attributes and status message; records the count
    /// as the span attribute [`COUNT_ATTRIBUTE`] when there was any.
    pub fn redact_span(&self, span: &mut RawSpan) -> u32 {
        if self.is_off() {
            return 0;
        }
        let mut n = self.redact_attributes(&mut span.attributes);
        for e in &mut span.events {
            n += self.redact_attributes(&mut e.attributes);
        }
        n += self.redact_text("status.message", &mut span.status_message);
        if n > 0 {
            span.attributes
                .insert(COUNT_ATTRIBUTE.into(), Value::from(u64::from(n)));
        }
        n
    }

    /// Redacts MLflow trace info: previews, tags and metadata values.
    pub fn redact_info(&self, info: &mut TraceInfo) -> u32 {
        if self.is_off() {
            return 0;
        }
        let mut n = 0;
        if let Some(p) = &mut info.request_preview {
            n += self.redact_text("request_preview", p);
        }
        if let Some(p) = &mut info.response_preview {
            n += self.redact_text("response_preview", p);
        }
        for (k, v) in info.tags.iter_mut().chain(info.metadata.iter_mut()) {
            n += self.redact_text(k, v);
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn redactor(detectors: &str) -> Redactor {
        Redactor::new(&RedactionConfig {
            detectors: detectors.split(',').map(String::from).collect(),
            ..Default::default()
        })
        .unwrap()
    }

    fn redact(r: &Redactor, s: &str) -> (String, u32) {
        let mut s = s.to_string();
        let n = r.redact_text("any", &mut s);
        (s, n)
    }

    #[test]
    fn emails_phones_cards_and_secrets_are_replaced() {
        let r = redactor(DEFAULT_DETECTORS);
        let cases = [
            (
                "mail me at jane.doe+manga@example.co.jp now",
                "mail me at [REDACTED:email] now",
                1,
            ),
            (
                "call +81 90-1234-5678 or (555) 123-4567",
                "call [REDACTED:phone] or [REDACTED:phone]",
                2,
            ),
            ("US 555-123-4567.", "US [REDACTED:phone].", 1),
            (
                "card 4111 1111 1111 1111 exp 12/29",
                "card [REDACTED:credit_card] exp 12/29",
                1,
            ),
            ("card 4111-1111-1111-1111", "card [REDACTED:credit_card]", 1),
            (
                "key sk-proj-abcdefghijklmnopqrstuvwxyz123",
                "key [REDACTED:secret]",
                1,
            ),
            ("AKIAIOSFODNN7EXAMPLE in env", "[REDACTED:secret] in env", 1),
            (
                "Authorization: Bearer abcdefghijklmnop1234",
                "Authorization: [REDACTED:secret]",
                1,
            ),
            ("password=hunter2222 ok", "password=[REDACTED:secret] ok", 1),
            (
                r#"{"api_key": "abc123def456"}"#,
                r#"{"api_key": "[REDACTED:secret]"}"#,
                1,
            ),
        ];
        for (input, want, count) in cases {
            assert_eq!(redact(&r, input), (want.to_string(), count), "{input}");
        }
    }

    #[test]
    fn numbers_that_are_not_pii_stay() {
        let r = redactor("all");
        for s in [
            "4111 1111 1111 1112",       // fails Luhn
            "order 1795464324982330845", // a timestamp in ns: no separators, no Luhn luck
            "on 2026-11-24 at 10:30:45",
            "version 1.22.333.4444.5",
            "tokens 1234567 of 9999999",
            "gpt-4o-2024-08-06",
            "arn:aws:bedrock:us-east-1:123456789012:model",
            "trace 4bf92f3577b34da6a3ce929d0e0e4736",
            "999.1.1.1 is no address",
        ] {
            assert_eq!(redact(&r, s), (s.to_string(), 0), "{s}");
        }
    }

    #[test]
    fn ip_addresses_are_opt_in() {
        let s = "from 203.0.113.9 and 2001:db8::8a2e:370:7334 and ::1";
        assert_eq!(redact(&redactor(DEFAULT_DETECTORS), s).1, 0);
        assert_eq!(
            redact(&redactor("ip"), s),
            (
                "from [REDACTED:ip] and [REDACTED:ip] and [REDACTED:ip]".to_string(),
                3
            )
        );
    }

    #[test]
    fn custom_patterns_and_key_policies() {
        let r = Redactor::new(&RedactionConfig {
            detectors: vec!["email".into(), "order_id".into()],
            patterns: vec![r"order_id=ORD-\d{6}".into()],
            keys: vec![
                "user.email=none".into(),
                "http.client_ip=ip".into(),
                "llm.input_messages.*=all".into(),
            ],
        })
        .unwrap();
        let mut attrs = json!({
            "user.email": "kept@example.com",
            "note": "ORD-123456 for bob@example.com from 10.1.2.3",
            "http.client_ip": "10.1.2.3",
            "llm.input_messages.0.content": "ORD-654321 at 10.1.2.3",
            "nested": {"deep": ["x@example.org"]},
            "count": 5,
        });
        let n = r.redact_attributes(attrs.as_object_mut().unwrap());
        assert_eq!(n, 6);
        assert_eq!(
            attrs,
            json!({
                "user.email": "kept@example.com",
                "note": "[REDACTED:order_id] for [REDACTED:email] from 10.1.2.3",
                "http.client_ip": "[REDACTED:ip]",
                "llm.input_messages.0.content": "[REDACTED:order_id] at [REDACTED:ip]",
                "nested": {"deep": ["[REDACTED:email]"]},
                "count": 5,
            })
        );
    }

    #[test]
    fn bad_configuration_names_the_problem() {
        let err = |cfg: RedactionConfig| Redactor::new(&cfg).unwrap_err().to_string();
        assert!(err(RedactionConfig {
            detectors: vec!["ssn".into()],
            ..Default::default()
        })
        .contains("\"ssn\""));
        assert!(err(RedactionConfig {
            patterns: vec!["broken=(".into()],
            ..Default::default()
        })
        .contains("\"broken\""));
        assert!(err(RedactionConfig {
            patterns: vec!["noequals".into()],
            ..Default::default()
        })
        .contains("name=regex"));
        assert!(err(RedactionConfig {
            keys: vec!["a=phone|fax".into()],
            ..Default::default()
        })
        .contains("\"fax\""));
    }

    #[test]
    fn nested_values_are_redacted_without_key_policies_too() {
        let r = redactor(DEFAULT_DETECTORS);
        let mut v = json!({"messages": [{"role": "user", "content": "I am jane@example.com"}]});
        assert_eq!(r.redact_value("llm.input", &mut v), 1);
        assert_eq!(v["messages"][0]["content"], "I am [REDACTED:email]");
    }

    #[test]
    fn globs() {
        assert!(glob_match("a.*", "a.b.c"));
        assert!(glob_match("*.content", "llm.input.content"));
        assert!(glob_match("a*c*e", "abcde"));
        assert!(!glob_match("a*c*e", "abcd"));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exact.more"));
        assert!(!glob_match("ab*ba", "aba"));
    }

    #[test]
    fn off_changes_nothing() {
        let r = Redactor::off();
        assert!(r.is_off());
        assert_eq!(redact(&r, "jane@example.com").1, 0);
    }
}
