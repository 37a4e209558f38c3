//! `/prices`: the model price table. Each model with the price in force now and its history
//! (earlier and scheduled rows), filterable by model name (`?model=…`, in the URL so a link
//! reproduces the view); a form adds a price or changes one; a row can be edited (fills the
//! form) or deleted after a confirmation. Saving a row with the same model and effective date
//! replaces it; a new date adds a price change. New spans are priced with the price in force
//! at their start; spans already stored keep their cost.

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::NavigateOptions;

use crate::api::prices::{date_of, list_prices, DeletePrice, SavePrice};
use crate::types::{ModelPriceHistory, PriceList, PriceRow};
use crate::AppError;

/// The form's fields, owned by the page so "Edit" on a row can fill them.
#[derive(Debug, Clone, Copy)]
struct FormFields {
    model: RwSignal<String>,
    provider: RwSignal<String>,
    input: RwSignal<String>,
    output: RwSignal<String>,
    cached: RwSignal<String>,
    effective_from: RwSignal<String>,
}

impl FormFields {
    fn new(today: String) -> FormFields {
        FormFields {
            model: RwSignal::new(String::new()),
            provider: RwSignal::new(String::new()),
            input: RwSignal::new(String::new()),
            output: RwSignal::new(String::new()),
            cached: RwSignal::new(String::new()),
            effective_from: RwSignal::new(today),
        }
    }

    fn fill(&self, row: &PriceRow) {
        self.model.set(row.model.clone());
        self.provider.set(row.provider.clone().unwrap_or_default());
        self.input.set(row.input_per_mtok.to_string());
        self.output.set(row.output_per_mtok.to_string());
        self.cached.set(
            row.cached_input_per_mtok
                .map(|v| v.to_string())
                .unwrap_or_default(),
        );
        self.effective_from.set(date_of(row.effective_from_ms));
    }
}

/// `$2.50`, `$0.075`, `$0.0001`: at least cents, and every digit a list price has.
pub fn rate_text(v: f64) -> String {
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0');
    let decimals = s.split_once('.').map_or(0, |(_, d)| d.len());
    if decimals < 2 {
        format!("${v:.2}")
    } else {
        format!("${s}")
    }
}

#[component]
pub fn PricesPage() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| query.with(|q| q.get("model").unwrap_or_default()));
    let save = ServerAction::<SavePrice>::new();
    let delete = ServerAction::<DeletePrice>::new();
    let prices = Resource::new(
        move || (filter.get(), save.version().get(), delete.version().get()),
        |(f, _, _)| list_prices(f),
    );
    let form = FormFields::new(date_of(super::traces::now_ms()));
    let confirming = RwSignal::new(None::<(String, i64)>);
    let hydrated = RwSignal::new(false);
    // Effects run only in the browser: this marks hydration for tests.
    Effect::new(move |_| hydrated.set(true));

    let navigate = use_navigate();
    let on_filter = move |ev| {
        let text = event_target_value(&ev);
        let url = if text.trim().is_empty() {
            "/prices".to_string()
        } else {
            let mut q = leptos_router::params::ParamsMap::new();
            q.insert("model", text);
            format!("/prices{}", q.to_query_string())
        };
        navigate(
            &url,
            NavigateOptions {
                replace: true,
                scroll: false,
                ..Default::default()
            },
        );
    };

    view! {
        <section class="page" id="prices-page" data-hydrated=move || hydrated.get().to_string()>
            <div class="page-head">
                <h1>"Prices"</h1>
            </div>
            <p class="prices-intro">
                "USD per million tokens. New spans are priced with the price in force at their "
                "start time; spans already stored keep their cost. A span's model matches the "
                "longest listed name it extends (" <code>"gpt-4o-2024-08-06"</code> " → "
                <code>"gpt-4o"</code> ")."
            </p>
            <div class="prices-layout">
                <PriceEditor save form/>
                <div class="price-list">
                    // Without wasm this is a plain GET form building the same URL.
                    <form class="search" method="get" action="/prices">
                        <div class="search-row">
                            <input
                                id="price-filter"
                                name="model"
                                type="search"
                                class="filter-input"
                                placeholder="Filter by model name"
                                autocomplete="off"
                                spellcheck="false"
                                value=filter.get_untracked()
                                on:input=on_filter
                            />
                        </div>
                    </form>
                    {move || delete.value().get().and_then(Result::err).map(|e| view! {
                        <p class="error" id="price-delete-error" role="alert">{e.to_string()}</p>
                    })}
                    <Transition fallback=|| view! { <p class="empty">"Loading prices…"</p> }>
                        <ErrorBoundary fallback=|errors| view! {
                            <p class="error">{move || super::trace::error_text(&errors)}</p>
                        }>
                            {move || Suspend::new(async move {
                                prices.await.map(|list| view! {
                                    <PriceTable list form delete confirming/>
                                })
                            })}
                        </ErrorBoundary>
                    </Transition>
                </div>
            </div>
        </section>
    }
}

/// Adds or changes one price. Works as a plain form post before hydration.
#[component]
fn PriceEditor(save: ServerAction<SavePrice>, form: FormFields) -> impl IntoView {
    let result = save.value();
    let bad_field = Memo::new(move |_| match result.get() {
        Some(Err(AppError::Invalid { field, .. })) => Some(field),
        _ => None,
    });
    let invalid = move |name: &'static str| move || bad_field.with(|f| f.as_deref() == Some(name));
    let text_input = move |id: &'static str,
                           name: &'static str,
                           value: RwSignal<String>,
                           placeholder: &'static str| {
        view! {
            <input
                id=id
                name=name
                type="text"
                inputmode=if name.ends_with("_mtok") { "decimal" } else { "text" }
                placeholder=placeholder
                autocomplete="off"
                spellcheck="false"
                class:invalid=invalid(name)
                aria-invalid=move || invalid(name)().to_string()
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
        }
    };

    view! {
        <div class="price-editor">
            <h2>"Add or change a price"</h2>
            <ActionForm action=save attr:id="price-form">
                <label>
                    <span>"Model"</span>
                    {text_input("price-model", "model", form.model, "e.g. gpt-4o")}
                </label>
                <label>
                    <span>"Provider " <em>"(optional)"</em></span>
                    {text_input("price-provider", "provider", form.provider, "e.g. openai")}
                </label>
                <div class="rates">
                    <label>
                        <span>"Input"</span>
                        {text_input("price-input", "input_per_mtok", form.input, "2.50")}
                    </label>
                    <label>
                        <span>"Output"</span>
                        {text_input("price-output", "output_per_mtok", form.output, "10.00")}
                    </label>
                    <label>
                        <span>"Cached input"</span>
                        {text_input("price-cached", "cached_input_per_mtok", form.cached, "= input")}
                    </label>
                </div>
                <label>
                    <span>"Effective from (UTC)"</span>
                    <input
                        id="price-effective"
                        name="effective_from"
                        type="date"
                        class:invalid=invalid("effective_from")
                        aria-invalid=move || invalid("effective_from")().to_string()
                        prop:value=move || form.effective_from.get()
                        on:input=move |ev| form.effective_from.set(event_target_value(&ev))
                    />
                </label>
                <p class="form-note">
                    "Rates in USD per million tokens; no cached-input rate means cached tokens "
                    "cost the input rate. The same model and date replaces that row; a new date "
                    "adds a price change."
                </p>
                <div class="form-actions">
                    <button type="submit" class="btn primary" id="price-save"
                        disabled=move || save.pending().get()>
                        "Save price"
                    </button>
                </div>
                {move || match result.get() {
                    Some(Err(e)) => Some(view! {
                        <p class="error" id="price-error" role="alert">{e.to_string()}</p>
                    }.into_any()),
                    Some(Ok(row)) => Some(view! {
                        <p class="saved" id="price-saved" role="status">
                            "Saved " <code>{row.model.clone()}</code> " from "
                            {date_of(row.effective_from_ms)} "."
                        </p>
                    }.into_any()),
                    None => None,
                }}
            </ActionForm>
        </div>
    }
}

#[component]
fn PriceTable(
    list: PriceList,
    form: FormFields,
    delete: ServerAction<DeletePrice>,
    confirming: RwSignal<Option<(String, i64)>>,
) -> impl IntoView {
    if list.models.is_empty() {
        return view! { <p class="empty" id="no-prices">"No model matches."</p> }.into_any();
    }
    let now_ms = list.now_ms;
    view! {
        <table class="traces prices" id="price-table">
            <colgroup>
                <col class="c-model"/>
                <col class="c-provider"/>
                <col class="c-rate"/>
                <col class="c-rate"/>
                <col class="c-rate"/>
                <col class="c-date"/>
                <col class="c-state"/>
                <col class="c-actions"/>
            </colgroup>
            <thead>
                <tr>
                    <th>"Model"</th>
                    <th>"Provider"</th>
                    <th class="num" title="USD per million input tokens">"Input"</th>
                    <th class="num" title="USD per million output tokens">"Output"</th>
                    <th class="num" title="USD per million cached input tokens">"Cached"</th>
                    <th title="In force from 00:00 UTC of this day">"From (UTC)"</th>
                    <th></th>
                    <th></th>
                </tr>
            </thead>
            {list.models.into_iter().map(|m| view! {
                <ModelGroup m now_ms form delete confirming/>
            }).collect_view()}
        </table>
    }
    .into_any()
}

/// One model: its rows, latest effective date first; the row in force is marked.
#[component]
fn ModelGroup(
    m: ModelPriceHistory,
    now_ms: i64,
    form: FormFields,
    delete: ServerAction<DeletePrice>,
    confirming: RwSignal<Option<(String, i64)>>,
) -> impl IntoView {
    let current_from = m.current.as_ref().map(|c| c.effective_from_ms);
    let model = m.model.clone();
    view! {
        <tbody class="model-group" data-model=model.clone()>
            {m.history.into_iter().enumerate().map(|(i, row)| {
                let (state, label) = if Some(row.effective_from_ms) == current_from {
                    ("in-force", "in force")
                } else if row.effective_from_ms > now_ms {
                    ("scheduled", "scheduled")
                } else {
                    ("earlier", "earlier")
                };
                let key = (row.model.clone(), row.effective_from_ms);
                let is_confirming = {
                    let key = key.clone();
                    move || confirming.with(|c| c.as_ref() == Some(&key))
                };
                let edit_row = row.clone();
                let date = date_of(row.effective_from_ms);
                // Owned copies for the confirmation, which may render many times.
                let (confirm_model, confirm_date) = (row.model.clone(), date.clone());
                view! {
                    <tr class=format!("price-row {state}") data-model=row.model.clone()
                        data-from=date.clone()>
                        <td class="name mono" title=row.model.clone()>
                            {(i == 0).then(|| row.model.clone())}
                        </td>
                        <td class="provider">{row.provider.clone().unwrap_or_else(|| "—".into())}</td>
                        <td class="num input">{rate_text(row.input_per_mtok)}</td>
                        <td class="num output">{rate_text(row.output_per_mtok)}</td>
                        <td class="num cached">
                            {row.cached_input_per_mtok.map(rate_text).unwrap_or_else(|| "= input".into())}
                        </td>
                        <td class="mono date">{date.clone()}</td>
                        <td><span class=format!("badge {state}")>{label}</span></td>
                        <td class="actions">
                            <Show
                                when=is_confirming
                                fallback=move || {
                                    let edit_row = edit_row.clone();
                                    let key = key.clone();
                                    view! {
                                        <button class="btn small edit" on:click=move |_| {
                                            confirming.set(None);
                                            form.fill(&edit_row);
                                        }>"Edit"</button>
                                        <button class="btn small delete" on:click=move |_| {
                                            confirming.set(Some(key.clone()));
                                        }>"Delete"</button>
                                    }
                                }
                            >
                                {
                                    let model = confirm_model.clone();
                                    let date = confirm_date.clone();
                                    view! {
                                        <span class="confirm-text">"Delete?"</span>
                                        <button class="btn small danger confirm-delete" on:click=move |_| {
                                            confirming.set(None);
                                            delete.dispatch(DeletePrice {
                                                model: model.clone(),
                                                effective_from: date.clone(),
                                            });
                                        }>"Confirm"</button>
                                        <button class="btn small cancel-delete"
                                            on:click=move |_| confirming.set(None)>"Cancel"</button>
                                    }
                                }
                            </Show>
                        </td>
                    </tr>
                }
            }).collect_view()}
        </tbody>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_show_cents_and_every_listed_digit() {
        assert_eq!(rate_text(2.5), "$2.50");
        assert_eq!(rate_text(10.0), "$10.00");
        assert_eq!(rate_text(0.0), "$0.00");
        assert_eq!(rate_text(0.075), "$0.075");
        assert_eq!(rate_text(0.005), "$0.005");
        assert_eq!(rate_text(1.234567), "$1.234567");
    }
}
