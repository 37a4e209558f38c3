//! Server functions of the prices page: list the model price table, save a row, delete a row.
//! Their arguments are the form's fields as typed (strings), so a malformed number or date is
//! answered with a 400 naming the field rather than a generic argument-decoding error.
//!
//! Who may change prices is decided in one place, [`price_editor`]; reads go through
//! [`price_reader`].

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::answered;
use super::invalid;
use crate::types::{PriceList, PriceRow};
use crate::AppError;

/// Longest model or provider name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 200;

const DAY_MS: i64 = 86_400_000;

/// The model price table grouped by model, for models whose name contains `model`
/// (case-insensitive; empty lists all).
#[server]
pub async fn list_prices(model: String) -> Result<PriceList, AppError> {
    answered(
        async move {
            let filter = model.trim().to_lowercase();
            if filter.chars().count() > MAX_NAME_CHARS {
                return Err(invalid("model", "filter is longer than 200 characters"));
            }
            price_reader()?.list_prices(filter).await
        }
        .await,
    )
}

/// Adds a price row, or updates the row with the same model and effective date. Answers the
/// stored row (model name lowercased, empty optional fields as `None`).
#[server]
pub async fn save_price(
    model: String,
    provider: String,
    input_per_mtok: String,
    output_per_mtok: String,
    cached_input_per_mtok: String,
    effective_from: String,
) -> Result<PriceRow, AppError> {
    answered(
        async move {
            let form = PriceForm {
                model,
                provider,
                input_per_mtok,
                output_per_mtok,
                cached_input_per_mtok,
                effective_from,
            };
            let row = form.parse()?;
            price_editor()?.save_price(row.clone()).await?;
            Ok(row)
        }
        .await,
    )
}

/// Deletes the row of `model` effective from `effective_from` (`YYYY-MM-DD`).
#[server]
pub async fn delete_price(model: String, effective_from: String) -> Result<(), AppError> {
    answered(
        async move {
            let model = model_name("model", &model)?;
            let from_ms = parse_date(&effective_from)
                .map_err(|message| invalid("effective_from", &message))?;
            price_editor()?.delete_price(model, from_ms).await
        }
        .await,
    )
}

/// The backend for reading prices. Every role may read them.
#[cfg(feature = "ssr")]
fn price_reader() -> Result<std::sync::Arc<dyn crate::contract::Contract>, AppError> {
    crate::contract::contract()
}

/// The backend for changing prices: editors and admins; viewers only read.
#[cfg(feature = "ssr")]
fn price_editor() -> Result<std::sync::Arc<dyn crate::contract::Contract>, AppError> {
    super::require(crate::types::Role::Editor)?;
    crate::contract::contract()
}

/// The price form's fields as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PriceForm {
    pub model: String,
    /// Empty: no provider.
    pub provider: String,
    pub input_per_mtok: String,
    pub output_per_mtok: String,
    /// Empty: cached input tokens cost the input price.
    pub cached_input_per_mtok: String,
    /// `YYYY-MM-DD`, the UTC day the price applies from.
    pub effective_from: String,
}

impl PriceForm {
    /// The row the form describes, or `Invalid` naming the first bad field.
    ///
    /// # Errors
    /// `Invalid` for an empty or over-long model name, a rate that is not a finite number
    /// ≥ 0, or an effective date that is not a real `YYYY-MM-DD` day.
    pub fn parse(&self) -> Result<PriceRow, AppError> {
        let provider = self.provider.trim();
        let row = PriceRow {
            model: model_name("model", &self.model)?,
            provider: (!provider.is_empty()).then(|| provider.to_string()),
            input_per_mtok: rate("input_per_mtok", &self.input_per_mtok)?,
            output_per_mtok: rate("output_per_mtok", &self.output_per_mtok)?,
            cached_input_per_mtok: match self.cached_input_per_mtok.trim() {
                "" => None,
                text => Some(rate("cached_input_per_mtok", text)?),
            },
            effective_from_ms: parse_date(&self.effective_from)
                .map_err(|message| invalid("effective_from", &message))?,
        };
        check_price(&row)?;
        Ok(row)
    }
}

/// The rules every stored price row obeys, whoever built it: a lowercase, trimmed model
/// name of 1 to 200 characters, a provider of at most 200, finite rates ≥ 0 and an
/// effective date at 00:00 UTC.
///
/// # Errors
/// `Invalid` naming the first field that breaks a rule.
pub fn check_price(row: &PriceRow) -> Result<(), AppError> {
    if model_name("model", &row.model)? != row.model {
        return Err(invalid("model", "must be trimmed and lowercase"));
    }
    if let Some(p) = &row.provider {
        if p.trim().is_empty() || p.trim() != p {
            return Err(invalid("provider", "must be trimmed and not blank"));
        }
        if p.chars().count() > MAX_NAME_CHARS {
            return Err(invalid("provider", "is longer than 200 characters"));
        }
    }
    for (field, value) in [
        ("input_per_mtok", Some(row.input_per_mtok)),
        ("output_per_mtok", Some(row.output_per_mtok)),
        ("cached_input_per_mtok", row.cached_input_per_mtok),
    ] {
        if let Some(v) = value {
            if !v.is_finite() || v < 0.0 {
                return Err(invalid(field, &format!("must be a number ≥ 0, got {v}")));
            }
        }
    }
    if row.effective_from_ms.rem_euclid(DAY_MS) != 0 {
        return Err(invalid("effective_from", "must be the start of a UTC day"));
    }
    Ok(())
}

/// Model names are matched case-insensitively, so they are stored lowercase: two spellings
/// of one model are one row, and "same model and date updates in place" holds.
fn model_name(field: &str, text: &str) -> Result<String, AppError> {
    let name = text.trim().to_lowercase();
    if name.is_empty() {
        return Err(invalid(field, "is required"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(invalid(field, "is longer than 200 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(name)
}

fn rate(field: &str, text: &str) -> Result<f64, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(invalid(field, "is required (USD per million tokens)"));
    }
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(invalid(
            field,
            &format!("must be a number ≥ 0 (USD per million tokens), got {text:?}"),
        )),
    }
}

/// 00:00 UTC of a `YYYY-MM-DD` day (years 1970 to 9999), as epoch ms.
///
/// # Errors
/// A message saying what is wrong with the text.
pub fn parse_date(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let bad = || format!("must be a date as YYYY-MM-DD, got {text:?}");
    let parts: Vec<&str> = text.split('-').collect();
    let [y, m, d] = parts[..] else {
        return Err(bad());
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let num = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| s.parse::<i64>().ok())
            .flatten()
    };
    let (Some(y), Some(m), Some(d)) = (num(y), num(m), num(d)) else {
        return Err(bad());
    };
    if y < 1970 || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return Err(format!("{text:?} is not a calendar day from 1970-01-01 on"));
    }
    Ok(days_from_civil(y, m, d) * DAY_MS)
}

/// `YYYY-MM-DD` (UTC) of epoch ms.
pub fn date_of(ms: i64) -> String {
    crate::format::utc_ms(ms)[..10].to_string()
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's days-from-civil algorithm (proleptic Gregorian), the inverse of the one
// in `format`.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> PriceForm {
        PriceForm {
            model: "  Acme-Chat-1 ".into(),
            provider: " acme ".into(),
            input_per_mtok: "2.5".into(),
            output_per_mtok: "10".into(),
            cached_input_per_mtok: "".into(),
            effective_from: "2026-11-24".into(),
        }
    }

    fn bad_field(f: PriceForm) -> String {
        match f.parse() {
            Err(AppError::Invalid { field, .. }) => field,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn form_becomes_a_lowercase_row_at_utc_midnight() {
        let row = form().parse().unwrap();
        assert_eq!(row.model, "acme-chat-1");
        assert_eq!(row.provider.as_deref(), Some("acme"));
        assert_eq!((row.input_per_mtok, row.output_per_mtok), (2.5, 10.0));
        assert_eq!(row.cached_input_per_mtok, None);
        assert_eq!(row.effective_from_ms, 1_795_478_400_000);
        assert_eq!(date_of(row.effective_from_ms), "2026-11-24");
    }

    #[test]
    fn each_bad_field_is_named() {
        let with = |edit: fn(&mut PriceForm)| {
            let mut f = form();
            edit(&mut f);
            bad_field(f)
        };
        assert_eq!(with(|f| f.model = "   ".into()), "model");
        assert_eq!(with(|f| f.model = "m".repeat(201)), "model");
        assert_eq!(with(|f| f.provider = "p".repeat(201)), "provider");
        assert_eq!(with(|f| f.input_per_mtok = "abc".into()), "input_per_mtok");
        assert_eq!(with(|f| f.input_per_mtok = "".into()), "input_per_mtok");
        assert_eq!(with(|f| f.output_per_mtok = "-1".into()), "output_per_mtok");
        assert_eq!(
            with(|f| f.output_per_mtok = "NaN".into()),
            "output_per_mtok"
        );
        assert_eq!(
            with(|f| f.output_per_mtok = "inf".into()),
            "output_per_mtok"
        );
        assert_eq!(
            with(|f| f.cached_input_per_mtok = "1e400".into()),
            "cached_input_per_mtok"
        );
        assert_eq!(
            with(|f| f.effective_from = "2026-02-30".into()),
            "effective_from"
        );
        assert_eq!(
            with(|f| f.effective_from = "24.11.2026".into()),
            "effective_from"
        );
        assert_eq!(with(|f| f.effective_from = "".into()), "effective_from");
    }

    #[test]
    fn a_200_character_model_and_zero_rates_are_accepted() {
        let mut f = form();
        f.model = "m".repeat(200);
        f.input_per_mtok = "0".into();
        f.cached_input_per_mtok = "0.0".into();
        let row = f.parse().unwrap();
        assert_eq!(row.cached_input_per_mtok, Some(0.0));
    }

    #[test]
    fn dates_follow_the_calendar() {
        assert_eq!(parse_date("1970-01-01"), Ok(0));
        assert_eq!(parse_date("2000-02-29"), Ok(951_782_400_000));
        assert!(parse_date("1900-02-29").is_err());
        assert!(parse_date("2025-02-29").is_err());
        assert!(parse_date("2025-13-01").is_err());
        assert!(parse_date("2025-1-01").is_err());
        assert!(parse_date("+025-01-01").is_err());
        assert!(parse_date("1969-12-31").is_err());
        for ms in [0, 951_782_400_000, 1_735_689_600_000, 253_402_214_400_000] {
            assert_eq!(parse_date(&date_of(ms)), Ok(ms), "{ms}");
        }
    }

    #[test]
    fn check_refuses_rows_the_form_could_not_produce() {
        let row = form().parse().unwrap();
        assert!(check_price(&row).is_ok());
        let bad = |edit: fn(&mut PriceRow)| {
            let mut r = row.clone();
            edit(&mut r);
            match check_price(&r) {
                Err(AppError::Invalid { field, .. }) => field,
                other => panic!("expected Invalid, got {other:?}"),
            }
        };
        assert_eq!(bad(|r| r.model = "GPT-4o".into()), "model");
        assert_eq!(bad(|r| r.provider = Some(" ".into())), "provider");
        assert_eq!(bad(|r| r.input_per_mtok = f64::NAN), "input_per_mtok");
        assert_eq!(
            bad(|r| r.cached_input_per_mtok = Some(-0.5)),
            "cached_input_per_mtok"
        );
        assert_eq!(bad(|r| r.effective_from_ms += 1), "effective_from");
    }
}
