//! Server functions of the alerting pages (`/alerts`, `/alerts/:id`, `/alerts/history`):
//! rules, their backtest, channels, silences and the transition history. Ids and form fields
//! travel as typed (strings), so a malformed one is answered with a 400 naming the field
//! rather than a generic argument-decoding error. The channel and silence forms are
//! `ActionForm`s (they work before hydration); the rule editor sends its whole form as JSON,
//! because its backtest needs the browser anyway.
//!
//! Rule validation (durations, thresholds, scope) belongs to the server's `alerts::rule`; this
//! module only turns the channel and silence forms into the values the contract takes.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::answered;
use super::invalid;
use crate::types::{
    AlertHistory, AlertRuleDetail, AlertsOverview, RuleForm, RulePreview, SilenceMatcher,
};
use crate::AppError;

/// Rules with their state, channels, silences and presets.
#[server]
pub async fn get_alerts() -> Result<AlertsOverview, AppError> {
    answered(async move { alert_reader()?.alerts_overview().await }.await)
}

/// One rule with its form, TOML and recent history.
#[server]
pub async fn get_alert_rule(id: String) -> Result<AlertRuleDetail, AppError> {
    answered(
        async move {
            let id = parse_id("id", &id)?;
            alert_reader()?.alert_rule(id).await
        }
        .await,
    )
}

/// Creates (`id` empty) or replaces a rule; answers its id. `Invalid` (field `rule`) lists
/// every problem of the form, each starting with its field.
#[server(input = Json)]
pub async fn save_rule(id: String, form: RuleForm) -> Result<i64, AppError> {
    answered(
        async move {
            let id = optional_id("id", &id)?;
            alert_editor()?.save_rule(id, form).await
        }
        .await,
    )
}

/// Enables (`enabled` = `true`) or disables a rule.
#[server]
pub async fn set_rule_enabled(id: String, enabled: String) -> Result<(), AppError> {
    answered(
        async move {
            let id = parse_id("id", &id)?;
            let enabled = match enabled.trim() {
                "true" | "on" | "1" => true,
                "false" | "off" | "0" | "" => false,
                other => {
                    return Err(invalid(
                        "enabled",
                        &format!("must be true or false, got {other:?}"),
                    ))
                }
            };
            alert_editor()?.set_rule_enabled(id, enabled).await
        }
        .await,
    )
}

/// Deletes a rule made in the UI (history stays).
#[server]
pub async fn delete_rule(id: String) -> Result<(), AppError> {
    answered(
        async move {
            let id = parse_id("id", &id)?;
            alert_editor()?.delete_rule(id).await
        }
        .await,
    )
}

/// The backtest of an unsaved form over the last 24 h; problems come back in the preview.
#[server(input = Json)]
pub async fn preview_rule(form: RuleForm) -> Result<RulePreview, AppError> {
    answered(async move { alert_reader()?.preview_rule(form).await }.await)
}

/// Transitions with their deliveries, newest first; `rule` (an id, or empty for every rule)
/// and `before` (an event id from [`AlertHistory::next_before_id`], or empty) as in the URL.
#[server]
pub async fn get_alert_history(rule: String, before: String) -> Result<AlertHistory, AppError> {
    answered(
        async move {
            let rule = optional_id("rule", &rule)?;
            let before = optional_id("before", &before)?;
            alert_reader()?.alert_history(rule, before).await
        }
        .await,
    )
}

/// Creates (`channel.id` empty) or replaces a channel; answers its id.
#[server]
pub async fn save_channel(channel: ChannelForm) -> Result<i64, AppError> {
    answered(
        async move {
            let id = optional_id("id", &channel.id)?;
            let name = channel.name.trim().to_string();
            if name.is_empty() || name.chars().count() > 100 {
                return Err(invalid("name", "1 to 100 characters"));
            }
            let config = channel.config_json()?;
            alert_editor()?.save_channel(id, name, config).await
        }
        .await,
    )
}

#[server]
pub async fn delete_channel(id: String) -> Result<(), AppError> {
    answered(
        async move {
            let id = parse_id("id", &id)?;
            alert_editor()?.delete_channel(id).await
        }
        .await,
    )
}

/// Sends a test notification now; answers what the channel said. A refusal is an error
/// (`Unavailable`, 503) carrying the channel's answer.
#[server]
pub async fn test_channel(id: String) -> Result<String, AppError> {
    answered(
        async move {
            let id = parse_id("id", &id)?;
            alert_editor()?.test_channel(id).await
        }
        .await,
    )
}

/// Creates a silence from now on; answers its id.
#[server]
pub async fn create_silence(silence: SilenceForm) -> Result<i64, AppError> {
    answered(
        async move {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0);
            let (matchers, ends_ms) = silence.parse(now)?;
            alert_editor()?
                .create_silence(matchers, now, ends_ms, silence.comment.trim().to_string())
                .await
        }
        .await,
    )
}

#[server]
pub async fn expire_silence(id: String) -> Result<(), AppError> {
    answered(
        async move {
            let id = parse_id("id", &id)?;
            alert_editor()?.expire_silence(id).await
        }
        .await,
    )
}

/// The backend for reading alerting state. Every role may read it.
#[cfg(feature = "ssr")]
fn alert_reader() -> Result<std::sync::Arc<dyn crate::contract::Contract>, AppError> {
    crate::contract::contract()
}

/// The backend for changing rules, channels and silences (and test-sending): editors and
/// admins; viewers only read.
#[cfg(feature = "ssr")]
fn alert_editor() -> Result<std::sync::Arc<dyn crate::contract::Contract>, AppError> {
    super::require(crate::types::Role::Editor)?;
    crate::contract::contract()
}

/// A positive integer id.
///
/// # Errors
/// `Invalid` naming `field` for anything else.
pub fn parse_id(field: &str, text: &str) -> Result<i64, AppError> {
    match text.trim().parse::<i64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(invalid(field, &format!("must be an id, got {text:?}"))),
    }
}

/// Empty: `None`; otherwise as [`parse_id`].
#[cfg(any(feature = "ssr", test))]
fn optional_id(field: &str, text: &str) -> Result<Option<i64>, AppError> {
    if text.trim().is_empty() {
        Ok(None)
    } else {
        parse_id(field, text).map(Some)
    }
}

/// A duration written `90s`, `5m`, `2h` or `1d`, in ms (the rule grammar's spelling).
///
/// # Errors
/// A message saying what is wrong with the text.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{t:?} needs a unit: s, m, h or d"))?;
    let (n, unit) = t.split_at(split);
    let n: i64 = n
        .parse()
        .map_err(|_| format!("{t:?} is not a duration like 90s, 5m, 2h or 1d"))?;
    let per = match unit {
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(format!("{t:?}: unknown unit {unit:?} (use s, m, h or d)")),
    };
    n.checked_mul(per)
        .ok_or_else(|| format!("{t:?} is too long"))
}

/// The channel form as typed: a name, a kind, and the fields of every kind (only the
/// kind's own are read). Input names are `channel[<field>]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ChannelForm {
    /// Empty for a new channel.
    pub id: String,
    pub name: String,
    /// `webhook`, `email`, `slack`, `pager_duty`.
    pub kind: String,
    /// Webhook, Slack; PagerDuty's endpoint (empty: PagerDuty's own).
    pub url: String,
    /// Webhook HMAC key; empty for none.
    pub secret: String,
    pub host: String,
    pub port: String,
    /// `none`, `start_tls`, `tls`.
    pub security: String,
    pub username: String,
    pub password: String,
    pub from: String,
    /// Recipients, separated by commas, semicolons or new lines.
    pub to: String,
    /// `true` when ticked.
    pub accept_invalid_certs: String,
    pub routing_key: String,
}

impl ChannelForm {
    /// The settings JSON the server's `notify::ChannelConfig` reads (`kind`-tagged).
    ///
    /// # Errors
    /// `Invalid` naming the first field that is missing or malformed; whether a URL or
    /// address is reachable is for the server (and "Send test") to say.
    pub fn config_json(&self) -> Result<String, AppError> {
        let required = |field: &str, v: &str| {
            let v = v.trim();
            if v.is_empty() {
                Err(invalid(field, "is required"))
            } else {
                Ok(serde_json::Value::String(v.to_string()))
            }
        };
        let optional = |v: &str| match v.trim() {
            "" => serde_json::Value::Null,
            v => serde_json::Value::String(v.to_string()),
        };
        let value = match self.kind.trim() {
            "webhook" => serde_json::json!({
                "kind": "webhook",
                "url": required("url", &self.url)?,
                "secret": optional(&self.secret),
            }),
            "slack" => serde_json::json!({
                "kind": "slack",
                "url": required("url", &self.url)?,
            }),
            "pager_duty" => serde_json::json!({
                "kind": "pager_duty",
                "routing_key": required("routing_key", &self.routing_key)?,
                "url": optional(&self.url),
            }),
            "email" => {
                let port = match self.port.trim().parse::<u16>() {
                    Ok(p) if p > 0 => p,
                    _ => {
                        return Err(invalid(
                            "port",
                            &format!("must be a port number 1–65535, got {:?}", self.port.trim()),
                        ))
                    }
                };
                let security = match self.security.trim() {
                    "" => "start_tls",
                    s @ ("none" | "start_tls" | "tls") => s,
                    other => {
                        return Err(invalid(
                            "security",
                            &format!("must be none, start_tls or tls, got {other:?}"),
                        ))
                    }
                };
                let to: Vec<String> = self
                    .to
                    .split([',', ';', '\n'])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                if to.is_empty() {
                    return Err(invalid("to", "needs at least one address"));
                }
                serde_json::json!({
                    "kind": "email",
                    "host": required("host", &self.host)?,
                    "port": port,
                    "security": security,
                    "username": optional(&self.username),
                    "password": optional(&self.password),
                    "from": required("from", &self.from)?,
                    "to": to,
                    "accept_invalid_certs": matches!(self.accept_invalid_certs.trim(), "true" | "on"),
                })
            }
            other => {
                return Err(invalid(
                    "kind",
                    &format!("must be webhook, email, slack or pager_duty, got {other:?}"),
                ))
            }
        };
        Ok(value.to_string())
    }

    /// The form filled from a stored channel's settings JSON (for "Edit").
    pub fn from_config(id: i64, name: &str, kind: &str, config: &str) -> ChannelForm {
        let v: serde_json::Value = serde_json::from_str(config).unwrap_or_default();
        let text = |k: &str| match v.get(k) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        let to = v
            .get("to")
            .and_then(|t| t.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        ChannelForm {
            id: id.to_string(),
            name: name.to_string(),
            kind: kind.to_string(),
            url: text("url"),
            secret: text("secret"),
            host: text("host"),
            port: text("port"),
            security: text("security"),
            username: text("username"),
            password: text("password"),
            from: text("from"),
            to,
            accept_invalid_certs: v
                .get("accept_invalid_certs")
                .and_then(|b| b.as_bool())
                .unwrap_or(false)
                .to_string(),
            routing_key: text("routing_key"),
        }
    }
}

/// One matcher row of the silence form; `regex` is `true` when ticked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct MatcherForm {
    pub name: String,
    pub value: String,
    pub regex: String,
}

/// The silence form as typed. Input names are `silence[matchers][<i>][name]`, …,
/// `silence[duration]`, `silence[ends_at]`, `silence[comment]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct SilenceForm {
    pub matchers: Vec<MatcherForm>,
    /// How long from now, `2h`; used when `ends_at` is empty.
    pub duration: String,
    /// A UTC date-time (`2026-11-24T18:00`) or epoch ms.
    pub ends_at: String,
    pub comment: String,
}

/// Longest silence accepted.
const MAX_SILENCE_MS: i64 = 90 * 86_400_000;

impl SilenceForm {
    /// The matchers (rows with an empty name are skipped) and the end (epoch ms), given the
    /// start `now_ms`.
    ///
    /// # Errors
    /// `Invalid` naming `matchers`, `duration`, `ends_at` or `comment`.
    pub fn parse(&self, now_ms: i64) -> Result<(Vec<SilenceMatcher>, i64), AppError> {
        let mut matchers = Vec::new();
        for (i, m) in self.matchers.iter().enumerate() {
            let name = m.name.trim();
            if name.is_empty() {
                continue;
            }
            let regex = matches!(m.regex.trim(), "true" | "on");
            if regex && m.value.is_empty() {
                return Err(invalid(
                    "matchers",
                    &format!("matcher {}: a regex needs a pattern", i + 1),
                ));
            }
            matchers.push(SilenceMatcher {
                name: name.to_string(),
                value: m.value.trim().to_string(),
                regex,
            });
        }
        if matchers.is_empty() {
            return Err(invalid(
                "matchers",
                "needs at least one matcher (a label name and value, e.g. alertname)",
            ));
        }
        let ends_ms = if self.ends_at.trim().is_empty() {
            let d = parse_duration(&self.duration).map_err(|m| invalid("duration", &m))?;
            if d <= 0 || d > MAX_SILENCE_MS {
                return Err(invalid("duration", "must be between 1s and 90d"));
            }
            now_ms + d
        } else {
            let end = crate::pages::overview::parse_instant(&self.ends_at).ok_or_else(|| {
                invalid(
                    "ends_at",
                    &format!(
                        "expected a UTC date-time like 2026-11-24T18:00, got {:?}",
                        self.ends_at.trim()
                    ),
                )
            })?;
            if end <= now_ms {
                return Err(invalid("ends_at", "must be in the future"));
            }
            if end - now_ms > MAX_SILENCE_MS {
                return Err(invalid("ends_at", "must be within 90 days"));
            }
            end
        };
        if self.comment.chars().count() > 1000 {
            return Err(invalid("comment", "is longer than 1,000 characters"));
        }
        Ok((matchers, ends_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(e: AppError) -> String {
        match e {
            AppError::Invalid { field, .. } => field,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn ids_are_positive_integers() {
        assert_eq!(parse_id("id", " 42 ").unwrap(), 42);
        assert_eq!(field(parse_id("id", "0").unwrap_err()), "id");
        assert_eq!(field(parse_id("rule", "x").unwrap_err()), "rule");
        assert_eq!(optional_id("before", "").unwrap(), None);
    }

    #[test]
    fn durations_use_the_rule_units() {
        assert_eq!(parse_duration("90s"), Ok(90_000));
        assert_eq!(parse_duration("2h"), Ok(7_200_000));
        assert!(parse_duration("5").unwrap_err().contains("unit"));
        assert!(parse_duration("5x").unwrap_err().contains("unknown unit"));
    }

    #[test]
    fn each_channel_kind_builds_the_servers_json() {
        let webhook = ChannelForm {
            kind: "webhook".into(),
            url: " http://127.0.0.1:9/hook ".into(),
            ..Default::default()
        };
        let v: serde_json::Value = serde_json::from_str(&webhook.config_json().unwrap()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"kind": "webhook", "url": "http://127.0.0.1:9/hook", "secret": null})
        );

        let email = ChannelForm {
            kind: "email".into(),
            host: "smtp.example.com".into(),
            port: "587".into(),
            from: "sightline@example.com".into(),
            to: "a@example.com; b@example.com\n".into(),
            accept_invalid_certs: "true".into(),
            ..Default::default()
        };
        let v: serde_json::Value = serde_json::from_str(&email.config_json().unwrap()).unwrap();
        assert_eq!(v["port"], 587);
        assert_eq!(v["security"], "start_tls");
        assert_eq!(
            v["to"],
            serde_json::json!(["a@example.com", "b@example.com"])
        );
        assert_eq!(v["accept_invalid_certs"], true);
        assert_eq!(v["username"], serde_json::Value::Null);
        let back = ChannelForm::from_config(3, "mail", "email", &v.to_string());
        assert_eq!(back.to, "a@example.com, b@example.com");
        assert_eq!(back.port, "587");
        assert_eq!(back.accept_invalid_certs, "true");

        let pd = ChannelForm {
            kind: "pager_duty".into(),
            routing_key: "R0UT1NG".into(),
            ..Default::default()
        };
        let v: serde_json::Value = serde_json::from_str(&pd.config_json().unwrap()).unwrap();
        assert_eq!(v["kind"], "pager_duty");
        assert_eq!(v["url"], serde_json::Value::Null);
    }

    #[test]
    fn bad_channel_fields_are_named() {
        let with = |edit: fn(&mut ChannelForm)| {
            let mut f = ChannelForm {
                kind: "email".into(),
                host: "h".into(),
                port: "25".into(),
                from: "f@x".into(),
                to: "t@x".into(),
                ..Default::default()
            };
            edit(&mut f);
            field(f.config_json().unwrap_err())
        };
        assert_eq!(with(|f| f.port = "70000".into()), "port");
        assert_eq!(with(|f| f.to = " , ".into()), "to");
        assert_eq!(with(|f| f.host = "".into()), "host");
        assert_eq!(with(|f| f.security = "ssl".into()), "security");
        assert_eq!(with(|f| f.kind = "fax".into()), "kind");
        assert_eq!(
            with(|f| {
                f.kind = "slack".into();
            }),
            "url"
        );
    }

    #[test]
    fn silences_end_after_a_duration_or_at_a_time() {
        let now = 1_795_464_000_000; // 2026-11-23T20:00Z
        let form = SilenceForm {
            matchers: vec![
                MatcherForm {
                    name: "alertname".into(),
                    value: "P95 latency above 1.5 s".into(),
                    regex: String::new(),
                },
                MatcherForm::default(),
                MatcherForm {
                    name: "model".into(),
                    value: "gpt-.*".into(),
                    regex: "true".into(),
                },
            ],
            duration: "2h".into(),
            ..Default::default()
        };
        let (m, end) = form.parse(now).unwrap();
        assert_eq!(m.len(), 2);
        assert!(m[1].regex && !m[0].regex);
        assert_eq!(end, now + 7_200_000);

        let at = SilenceForm {
            ends_at: "2026-11-23T21:30".into(),
            ..form.clone()
        };
        assert_eq!(at.parse(now).unwrap().1, now + 90 * 60_000);

        let bad = |f: SilenceForm| field(f.parse(now).unwrap_err());
        assert_eq!(
            bad(SilenceForm {
                matchers: vec![],
                ..form.clone()
            }),
            "matchers"
        );
        assert_eq!(
            bad(SilenceForm {
                duration: "soon".into(),
                ..form.clone()
            }),
            "duration"
        );
        assert_eq!(
            bad(SilenceForm {
                ends_at: "2026-11-23T19:00".into(),
                ..form.clone()
            }),
            "ends_at"
        );
    }
}
