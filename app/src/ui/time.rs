//! Time as the pages show it: a live countdown, `1h 02m 03s`, and `5m 00s ago` / `in 30s`.

use leptos::prelude::*;

/// A countdown that ticks once a second in the browser. The server renders `seconds` as text
/// and as `data-seconds`; the island ([`Ticking`]) counts that down.
#[component]
pub fn Countdown(seconds: i64, testid: String) -> impl IntoView {
    view! {
        <Ticking>
            <span data-testid=testid data-seconds=seconds>{format_countdown(seconds)}</span>
        </Ticking>
    }
}

/// Counts down the `data-seconds` of the element in it, once a second, until it is gone. No
/// props (nothing to deserialise) and no view of its own: a page that shows a countdown ships
/// only this.
#[island]
fn Ticking(children: Children) -> impl IntoView {
    let wrapper = NodeRef::<leptos::html::Span>::new();
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async move {
        loop {
            gloo_timers::future::TimeoutFuture::new(1_000).await;
            let Some(el) = wrapper
                .try_get_untracked()
                .flatten()
                .and_then(|w| w.query_selector("[data-seconds]").ok().flatten())
            else {
                break;
            };
            let left = el
                .get_attribute("data-seconds")
                .and_then(|s| s.parse::<i64>().ok())
                .unwrap_or(0);
            let left = (left - 1).max(0);
            let _ = el.set_attribute("data-seconds", &left.to_string());
            el.set_text_content(Some(&format_countdown(left)));
        }
    });
    view! { <span class="countdown" node_ref=wrapper>{children()}</span> }
}

/// `1h 02m 03s` style countdown text.
pub fn format_countdown(secs: i64) -> String {
    if secs <= 0 {
        return "expired".to_string();
    }
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    if h > 0 {
        format!("{h}h {m:02}m {s:02}s")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

/// When `then` is, seen from `now` (Unix seconds).
pub fn ago(now: u64, then: Option<u64>) -> String {
    match then {
        None => "—".into(),
        Some(t) if t <= now => format!("{} ago", format_countdown((now - t) as i64)),
        Some(t) => format!("in {}", format_countdown((t - now) as i64)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countdown_formats() {
        assert_eq!(format_countdown(0), "expired");
        assert_eq!(format_countdown(59), "59s");
        assert_eq!(format_countdown(61), "1m 01s");
        assert_eq!(format_countdown(3723), "1h 02m 03s");
    }
}
