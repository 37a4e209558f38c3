//! The email channel: one multipart (text + HTML) message per notification over SMTP. It
//! opens a connection per message (no pool): alerts are rare, and a pooled connection that
//! the relay closed while idle would turn the next alert into a spurious failure.

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::{human_utc, DeliveryError, EmailConfig, Message, SmtpSecurity, Status};

pub(super) fn problems(c: &EmailConfig, out: &mut Vec<String>) {
    if c.host.trim().is_empty() {
        out.push("host: must not be empty".to_string());
    }
    if c.port == 0 {
        out.push("port: must be 1..65535".to_string());
    }
    if c.from.parse::<Mailbox>().is_err() {
        out.push(format!("from: {:?} is not an email address", c.from));
    }
    if c.to.is_empty() {
        out.push("to: needs at least one address".to_string());
    }
    for to in &c.to {
        if to.parse::<Mailbox>().is_err() {
            out.push(format!("to: {to:?} is not an email address"));
        }
    }
    let set = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
    match (set(&c.username), set(&c.password)) {
        (true, false) => out.push("password: must be set when username is".to_string()),
        (false, true) => out.push("username: must be set when password is".to_string()),
        _ => {}
    }
}

pub(super) async fn deliver(c: &EmailConfig, msg: &Message) -> Result<(), DeliveryError> {
    let email = render(c, msg)?;
    let transport = transport(c)?;
    // lettre's own timeout covers only the TCP connect: a relay that accepts and then never
    // answers would hold the sender forever.
    match tokio::time::timeout(super::TOTAL_TIMEOUT, transport.send(email)).await {
        Ok(sent) => sent.map(drop).map_err(smtp_error),
        Err(_) => Err(DeliveryError::Unreachable(format!(
            "no answer from {}:{} within {} s",
            c.host.trim(),
            c.port,
            super::TOTAL_TIMEOUT.as_secs()
        ))),
    }
}

fn transport(c: &EmailConfig) -> Result<AsyncSmtpTransport<Tokio1Executor>, DeliveryError> {
    let host = c.host.trim();
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(c.port)
        .timeout(Some(super::CONNECT_TIMEOUT));
    let tls = || {
        TlsParameters::builder(host.to_string())
            .dangerous_accept_invalid_certs(c.accept_invalid_certs)
            .build_rustls()
            .map_err(|e| DeliveryError::Config(format!("TLS settings: {e}")))
    };
    b = match c.security {
        SmtpSecurity::None => b.tls(Tls::None),
        // Required, never opportunistic: a relay that drops STARTTLS from its EHLO answer
        // (a downgrade attack) must not get the password in clear.
        SmtpSecurity::StartTls => b.tls(Tls::Required(tls()?)),
        SmtpSecurity::Tls => b.tls(Tls::Wrapper(tls()?)),
    };
    if let Some(user) = c.username.as_deref().filter(|u| !u.is_empty()) {
        let password = c.password.clone().unwrap_or_default();
        b = b.credentials(Credentials::new(user.to_string(), password));
    }
    Ok(b.build())
}

/// SMTP replies (4xx/5xx) and protocol mismatches are the server saying no; everything else
/// (refused connection, TLS handshake, timeout, reset) means we never got to ask.
fn smtp_error(e: lettre::transport::smtp::Error) -> DeliveryError {
    let text = super::error_chain(&e);
    if e.is_permanent() || e.is_transient() || e.is_client() || e.is_response() {
        DeliveryError::Refused(text)
    } else if e.is_timeout() {
        DeliveryError::Unreachable(format!("timed out: {text}"))
    } else {
        DeliveryError::Unreachable(text)
    }
}

fn render(c: &EmailConfig, msg: &Message) -> Result<lettre::Message, DeliveryError> {
    let bad = |field: &str, v: &str| {
        DeliveryError::Config(format!("{field}: {v:?} is not an email address"))
    };
    let from: Mailbox = c.from.parse().map_err(|_| bad("from", &c.from))?;
    let mut b = lettre::Message::builder()
        .from(from.clone())
        .subject(subject(msg))
        // Stable per notification, so a retry after a lost "250 OK" is recognisable as the
        // same message by mail clients that deduplicate on Message-ID.
        .message_id(Some(format!(
            "<sightline.{}.{}@{}>",
            msg.notification_id,
            msg.rule_id,
            from.email.domain()
        )));
    for to in &c.to {
        b = b.to(to.parse().map_err(|_| bad("to", to))?);
    }
    b.multipart(MultiPart::alternative_plain_html(
        text_body(msg),
        html_body(msg),
    ))
    .map_err(|e| DeliveryError::Config(format!("cannot build the email: {e}")))
}

fn subject(msg: &Message) -> String {
    match msg.status {
        Status::Firing => format!(
            "[FIRING] {}: {} ({})",
            msg.rule_name, msg.value, msg.threshold
        ),
        Status::Resolved => format!("[RESOLVED] {}", msg.rule_name),
    }
}

fn text_body(msg: &Message) -> String {
    let mut s = format!(
        "[{}] {}\n\n{}\n\n",
        msg.status_word(),
        msg.rule_name,
        msg.summary
    );
    s.push_str(&format!("Value:     {}\n", msg.value));
    s.push_str(&format!("Threshold: {}\n", msg.threshold));
    s.push_str(&format!("Window:    {}\n", msg.window));
    s.push_str(&format!("Since:     {}\n", human_utc(msg.starts_at_ms)));
    if let Some(end) = msg.ends_at_ms {
        s.push_str(&format!("Resolved:  {}\n", human_utc(end)));
    }
    if !msg.labels.is_empty() {
        let labels: Vec<String> = msg.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        s.push_str(&format!("Labels:    {}\n", labels.join(", ")));
    }
    s.push_str(&format!(
        "\nDashboard: {}\nRule:      {}\n",
        msg.dashboard_url, msg.rule_url
    ));
    if !msg.exemplars.is_empty() {
        s.push_str("\nExemplar traces:\n");
        for e in &msg.exemplars {
            s.push_str(&format!("- {}\n  {}\n", e.describe(), e.url));
        }
    }
    s
}

fn html_body(msg: &Message) -> String {
    let h = escape_html;
    let colour = match msg.status {
        Status::Firing => "#c62828",
        Status::Resolved => "#2e7d32",
    };
    let mut rows = vec![
        ("Value", h(&msg.value)),
        ("Threshold", h(&msg.threshold)),
        ("Window", h(&msg.window)),
        ("Since", h(&human_utc(msg.starts_at_ms))),
    ];
    if let Some(end) = msg.ends_at_ms {
        rows.push(("Resolved", h(&human_utc(end))));
    }
    if !msg.labels.is_empty() {
        let labels: Vec<String> = msg
            .labels
            .iter()
            .map(|(k, v)| format!("<code>{}={}</code>", h(k), h(v)))
            .collect();
        rows.push(("Labels", labels.join(" ")));
    }
    let mut s = format!(
        "<!DOCTYPE html><html><body style=\"font-family:sans-serif\">\
         <h2 style=\"color:{colour}\">[{}] {}</h2><p>{}</p><table>",
        msg.status_word(),
        h(&msg.rule_name),
        h(&msg.summary)
    );
    for (k, v) in rows {
        s.push_str(&format!("<tr><th align=\"left\">{k}</th><td>{v}</td></tr>"));
    }
    s.push_str(&format!(
        "</table><p><a href=\"{}\">Open the dashboard</a> · <a href=\"{}\">Open the rule</a></p>",
        h(&msg.dashboard_url),
        h(&msg.rule_url)
    ));
    if !msg.exemplars.is_empty() {
        s.push_str("<h3>Exemplar traces</h3><ul>");
        for e in &msg.exemplars {
            let mut line = format!(
                "<li><a href=\"{}\">trace <code>{}</code></a> {:.0} ms",
                h(&e.url),
                h(&e.trace_id),
                e.duration_ms
            );
            if e.error {
                line.push_str(", <strong>error</strong>");
            }
            if let Some(span) = &e.culprit_span {
                line.push_str(&format!(", culprit span <code>{}</code>", h(span)));
            }
            line.push_str("</li>");
            s.push_str(&line);
        }
        s.push_str("</ul>");
    }
    s.push_str("</body></html>");
    s
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_markup_in_user_text() {
        assert_eq!(
            escape_html(r#"<b a="1">&'"#),
            "&lt;b a=&quot;1&quot;&gt;&amp;&#39;"
        );
    }
}
