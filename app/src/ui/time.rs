//! Time as the pages show it: a live countdown, `1h 02m 03s`, and `5m 00s ago` / `in 30s`.

use leptos::prelude::*;

/// A countdown that ticks once a second in the browser. The server renders `seconds` as text
/// and as `data-seconds`; the island ([`Ticking`]) counts that down.
#[component]
pub fn Countdown(seconds: i64, testid: String) -> impl IntoView {
    view! {
        <Ticking>
            <span data-testid=testid data-countdown="" data-seconds=seconds>{format_countdown(seconds)}</span>
        </Ticking>
    }
}

/// Counts down every `data-seconds` countdown of the page once a second, until none is left:
/// the ones in the page and the ones that HTML put in place later brings (the service page's,
/// after a rotation). One loop a page however many islands start it. No props (nothing to
/// deserialise) and no view of its own: a page that shows a countdown ships only this.
#[island]
fn Ticking(children: Children) -> impl IntoView {
    #[cfg(feature = "hydrate")]
    {
        thread_local!(static TICKING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
        if !TICKING.with(|t| t.replace(true)) {
            leptos::task::spawn_local(async move {
                loop {
                    gloo_timers::future::TimeoutFuture::new(1_000).await;
                    let Some(all) = web_sys::window()
                        .and_then(|w| w.document())
                        .and_then(|d| d.query_selector_all("[data-countdown][data-seconds]").ok())
                        .filter(|all| all.length() > 0)
                    else {
                        break;
                    };
                    for i in 0..all.length() {
                        let Some(el) = all.item(i).and_then(|n| {
                            wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(n).ok()
                        }) else {
                            continue;
                        };
                        let left = el
                            .get_attribute("data-seconds")
                            .and_then(|s| s.parse::<i64>().ok())
                            .unwrap_or(0);
                        let left = (left - 1).max(0);
                        let _ = el.set_attribute("data-seconds", &left.to_string());
                        el.set_text_content(Some(&format_countdown(left)));
                    }
                }
                TICKING.with(|t| t.set(false));
            });
        }
    }
    view! { <span class="countdown">{children()}</span> }
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
