//! The state of a filter-grammar input, shared by the trace list's search bar and the
//! board's scope bar: the text being typed, its parse error on every keystroke, and when it
//! is applied — after a typing pause or on Enter, only when it parses and differs from what
//! the URL already holds.

use leptos::prelude::*;

use crate::filter::ParseError;

/// How long typing must pause before a valid filter is applied.
pub const TYPING_PAUSE: std::time::Duration = std::time::Duration::from_millis(450);

#[derive(Clone, Copy)]
pub struct FilterDraft {
    /// What the input shows.
    pub draft: RwSignal<String>,
    /// The draft's parse error, if any.
    pub error: Memo<Option<ParseError>>,
    applied: Memo<String>,
    pending: StoredValue<Option<TimeoutHandle>>,
    on_apply: Callback<String>,
}

impl FilterDraft {
    /// `applied` is the filter in the URL; `on_apply` receives a new valid one.
    pub fn new(applied: Memo<String>, on_apply: Callback<String>) -> FilterDraft {
        let draft = RwSignal::new(applied.get_untracked());
        // Back/forward (or a link) changed the URL's filter: show it.
        Effect::new(move |_| draft.set(applied.get()));
        FilterDraft {
            draft,
            error: Memo::new(move |_| draft.with(|d| crate::filter::parse(d).err())),
            applied,
            pending: StoredValue::new(None),
            on_apply,
        }
    }

    fn cancel_pending(self) {
        if let Some(h) = self.pending.get_value() {
            h.clear();
        }
        self.pending.set_value(None);
    }

    pub fn apply(self, text: String) {
        self.cancel_pending();
        if crate::filter::parse(&text).is_err() || text == self.applied.get_untracked() {
            return;
        }
        self.on_apply.run(text);
    }

    pub fn on_input(self, ev: leptos::ev::Event) {
        let text = event_target_value(&ev);
        self.draft.set(text.clone());
        self.cancel_pending();
        let handle = set_timeout_with_handle(move || self.apply(text), TYPING_PAUSE);
        self.pending.set_value(handle.ok());
    }

    pub fn on_submit(self, ev: leptos::ev::SubmitEvent) {
        ev.prevent_default();
        self.apply(self.draft.get_untracked());
    }
}
