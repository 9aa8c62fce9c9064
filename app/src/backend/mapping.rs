//! From `genesys`' wire types to the UI's models: the one place that knows both, so pages never
//! see a wire type and the protocol crate never sees the UI.

use genesys::{SortOrder, StateFilter, TokenManagerStatus, User, UserImage};

use crate::model::{
    GuestView, ServiceEvent, ServiceStatus, Sort, StateView, UpstreamCheck, UserRow,
};

pub fn sort_order(s: Sort) -> SortOrder {
    match s {
        Sort::Ascending => SortOrder::Ascending,
        Sort::Descending => SortOrder::Descending,
    }
}

pub fn state_filter(s: StateView) -> StateFilter {
    match s {
        StateView::Active => StateFilter::Active,
        StateView::Inactive => StateFilter::Inactive,
        StateView::Deleted => StateFilter::Deleted,
        StateView::Any => StateFilter::Any,
    }
}

/// The URL of a user's picture at `resolution` (else the first one), https only: the page's
/// CSP allows no other image scheme, and an http picture would be mixed content.
pub fn picture(images: Option<&[UserImage]>, resolution: &str) -> Option<String> {
    let images = images?;
    images
        .iter()
        .filter(|i| i.image_uri.is_some())
        .find(|i| i.resolution.as_deref() == Some(resolution))
        .or_else(|| images.iter().find(|i| i.image_uri.is_some()))
        .and_then(|i| i.image_uri.clone())
        .filter(|u| u.starts_with("https://"))
}

/// A directory row, with the small (48 px) picture.
pub fn user_row(u: User) -> UserRow {
    let image_url = picture(u.images.as_deref(), "x48");
    UserRow {
        id: u.id,
        name: u.name,
        email: u.email,
        title: u.title,
        department: u.department,
        division: u.division.and_then(|d| d.name),
        state: u.state.map_or("unknown", |s| s.as_str()).to_string(),
        presence: u
            .presence
            .as_ref()
            .and_then(|p| p.system_presence())
            .map(str::to_owned),
        image_url,
    }
}

/// The token manager's state for the service page, newest event first.
pub fn service_status(
    s: TokenManagerStatus,
    now_unix: u64,
    upstream: UpstreamCheck,
    replica: &str,
) -> ServiceStatus {
    ServiceStatus {
        replica: replica.to_string(),
        client_id: s.client_id,
        state: s.state.as_str().to_string(),
        healthy: s.healthy,
        generation: s.generation,
        expires_in_secs: s.expires_in_secs,
        last_refresh_unix: s.last_refresh,
        next_refresh_unix: s.next_refresh,
        consecutive_failures: s.consecutive_failures,
        last_error: s.last_error,
        error_rate: s.error_rate,
        in_flight_guards: s.in_flight_guards,
        draining: s
            .draining
            .iter()
            .map(|d| (d.generation, d.guards))
            .collect(),
        recent_events: s
            .recent_events
            .into_iter()
            .rev()
            .map(|e| ServiceEvent {
                at_unix_ms: e.at_unix_ms,
                kind: e.kind.as_str().to_string(),
                generation: e.generation,
                latency_ms: e.latency_ms,
                attempt: e.attempt,
                error_rate: e.error_rate,
                reason: e.reason,
                detail: e.detail,
            })
            .collect(),
        now_unix,
        upstream,
    }
}

/// A guest of the provider, for the staff pages and the guest's own.
pub fn guest_view(g: guest_idp::Guest) -> GuestView {
    GuestView {
        id: g.id,
        given_name: g.given_name,
        family_name: g.family_name,
        email: g.email,
        attributes: g.attributes.into_iter().collect(),
        disabled: g.disabled,
        created_unix: g.created_unix,
        last_sign_in_unix: g.last_sign_in_unix,
    }
}
