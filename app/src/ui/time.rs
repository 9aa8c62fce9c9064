//! Time as the pages show it: a live countdown, `1h 02m 03s`, and `5m 00s ago` / `in 30s`.

use leptos::prelude::*;

/// Seconds left, ticking down once a second in the browser (the server renders the start
/// value; the loop ends when the signal is disposed with its page).
pub fn countdown(start_secs: i64) -> RwSignal<i64> {
    let remaining = RwSignal::new(start_secs);
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async move {
        loop {
            gloo_timers::future::TimeoutFuture::new(1_000).await;
            if remaining.try_update(|r| *r = (*r - 1).max(0)).is_none() {
                break;
            }
        }
    });
    remaining
}

/// A countdown that ticks once a second in the browser: an island, so a page that shows one
/// ships only this. The server renders `seconds`; `data-seconds` carries the live value.
#[island]
pub fn Countdown(seconds: i64, testid: String) -> impl IntoView {
    let remaining = countdown(seconds);
    view! {
        <span data-testid=testid data-seconds=move || remaining.try_get().unwrap_or(0)>
            {move || format_countdown(remaining.try_get().unwrap_or(0))}
        </span>
    }
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
