//! The model price table for the prices page: lists it grouped by model, and stores edits,
//! then swaps the table ingest prices with, so spans ingested from then on use the edit.
//! Stored spans are never repriced: their cost is the price in force when they arrived.

use std::sync::Arc;

use app::types::{ModelPriceHistory, PriceList, PriceRow};
use app::AppError;

use super::{app_error, Query};
use crate::model::ModelPrice;
use crate::normalize::{LivePrices, PriceTable};
use crate::store::{self, Backend};

/// How edits reach ingest.
#[derive(Default)]
pub(super) struct PriceEditing {
    /// The table ingest prices with; `None` for a `Query` that serves no ingest (tests,
    /// tools): edits are then stored and apply from the next start.
    live: Option<LivePrices>,
    /// One edit at a time: each edit reloads the whole table after its write, and two
    /// overlapping reloads could otherwise install the older one last.
    edits: tokio::sync::Mutex<()>,
}

impl Query {
    /// Price edits made through this `Query` replace `live`'s table, which ingest shares.
    pub fn sharing_prices(mut self, live: LivePrices) -> Query {
        self.prices = PriceEditing {
            live: Some(live),
            edits: tokio::sync::Mutex::new(()),
        };
        self
    }
}

pub(super) async fn list_prices(
    backend: &Arc<dyn Backend>,
    model_filter: String,
) -> Result<PriceList, AppError> {
    let rows = backend.load_prices().await.map_err(app_error)?;
    let now_ms = store::now_ms();
    Ok(PriceList {
        now_ms,
        models: group_by_model(rows, &model_filter.to_lowercase(), now_ms),
    })
}

pub(super) async fn save_price(
    backend: &Arc<dyn Backend>,
    editing: &PriceEditing,
    row: PriceRow,
) -> Result<(), AppError> {
    app::api::prices::check_price(&row)?;
    let price = ModelPrice {
        model: row.model,
        provider: row.provider,
        input_per_mtok: row.input_per_mtok,
        output_per_mtok: row.output_per_mtok,
        cached_input_per_mtok: row.cached_input_per_mtok,
        effective_from_ms: row.effective_from_ms,
    };
    let _one_edit = editing.edits.lock().await;
    backend.upsert_price(&price).await.map_err(app_error)?;
    tracing::info!(model = %price.model, effective_from_ms = price.effective_from_ms, "Price saved.");
    reload(backend, editing).await
}

pub(super) async fn delete_price(
    backend: &Arc<dyn Backend>,
    editing: &PriceEditing,
    model: String,
    effective_from_ms: i64,
) -> Result<(), AppError> {
    let _one_edit = editing.edits.lock().await;
    if !backend
        .delete_price(&model, effective_from_ms)
        .await
        .map_err(app_error)?
    {
        return Err(AppError::NotFound(format!(
            "price of {model} effective from {}",
            app::api::prices::date_of(effective_from_ms)
        )));
    }
    tracing::info!(model = %model, effective_from_ms, "Price deleted.");
    reload(backend, editing).await
}

/// Reads the stored table back and makes it the one ingest uses. Reading it back (rather
/// than patching the table in memory) keeps the database the one source of truth.
async fn reload(backend: &Arc<dyn Backend>, editing: &PriceEditing) -> Result<(), AppError> {
    let Some(live) = &editing.live else {
        return Ok(());
    };
    match backend.load_prices().await {
        Ok(rows) => {
            live.replace(PriceTable::new(rows));
            Ok(())
        }
        Err(e) => {
            tracing::error!(error = %e, "Reloading the price table after an edit failed.");
            Err(AppError::Unavailable(
                "the price was saved but the price table could not be reloaded; new spans use \
                 it after a restart"
                    .into(),
            ))
        }
    }
}

/// Rows grouped per model (models by name, rows latest first) for models whose lowercased
/// name contains `filter`; each with the row in force at `now_ms`.
fn group_by_model(rows: Vec<ModelPrice>, filter: &str, now_ms: i64) -> Vec<ModelPriceHistory> {
    let mut models: Vec<ModelPriceHistory> = Vec::new();
    for p in rows {
        if !p.model.to_lowercase().contains(filter) {
            continue;
        }
        let row = PriceRow {
            model: p.model,
            provider: p.provider,
            input_per_mtok: p.input_per_mtok,
            output_per_mtok: p.output_per_mtok,
            cached_input_per_mtok: p.cached_input_per_mtok,
            effective_from_ms: p.effective_from_ms,
        };
        match models.iter_mut().find(|m| m.model == row.model) {
            Some(m) => m.history.push(row),
            None => models.push(ModelPriceHistory {
                model: row.model.clone(),
                current: None,
                history: vec![row],
            }),
        }
    }
    models.sort_by(|a, b| a.model.cmp(&b.model));
    for m in &mut models {
        m.history
            .sort_by_key(|r| std::cmp::Reverse(r.effective_from_ms));
        m.current = m
            .history
            .iter()
            .find(|r| r.effective_from_ms <= now_ms)
            .cloned();
    }
    models
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(model: &str, input: f64, from: i64) -> ModelPrice {
        ModelPrice {
            model: model.into(),
            provider: None,
            input_per_mtok: input,
            output_per_mtok: 0.0,
            cached_input_per_mtok: None,
            effective_from_ms: from,
        }
    }

    #[test]
    fn models_list_their_rows_latest_first_with_the_one_in_force() {
        let rows = vec![
            price("gpt-4o", 5.0, 100),
            price("claude", 3.0, 100),
            price("gpt-4o", 2.5, 300),
            price("gpt-4o", 1.0, 900),
        ];
        let models = group_by_model(rows, "", 500);
        assert_eq!(
            models.iter().map(|m| m.model.as_str()).collect::<Vec<_>>(),
            ["claude", "gpt-4o"]
        );
        let gpt = &models[1];
        assert_eq!(
            gpt.history
                .iter()
                .map(|r| r.effective_from_ms)
                .collect::<Vec<_>>(),
            [900, 300, 100]
        );
        assert_eq!(gpt.current.as_ref().map(|c| c.input_per_mtok), Some(2.5));
    }

    #[test]
    fn only_scheduled_rows_means_no_current_price() {
        let models = group_by_model(vec![price("m", 1.0, 1_000)], "", 999);
        assert_eq!(models[0].current, None);
        assert_eq!(models[0].history.len(), 1);
    }

    #[test]
    fn filter_matches_part_of_the_name_ignoring_case() {
        let rows = vec![price("GPT-4o", 1.0, 0), price("claude-sonnet", 1.0, 0)];
        let names = |f: &str| {
            group_by_model(rows.clone(), f, 1)
                .into_iter()
                .map(|m| m.model)
                .collect::<Vec<_>>()
        };
        assert_eq!(names("4o"), ["GPT-4o"]);
        assert_eq!(names("gpt"), ["GPT-4o"]);
        assert_eq!(names("sonnet"), ["claude-sonnet"]);
        assert!(names("mistral").is_empty());
    }
}
