//! `/guests/:id`: one guest for the staff: who they are, the invitation link made just now
//! (shown once), re-invite, disable or enable, delete, and their audit trail.

use leptos::{either::Either, prelude::*, server_fn::ServerFn};
use leptos_router::hooks::use_params_map;

use crate::{
    api::get_guest,
    model::{AppError, GuestDetail, Json},
    ui::{form_error, ErrorView, LiveForms, Loading},
};

#[component]
pub fn GuestDetailPage() -> impl IntoView {
    let id = use_params_map().with_untracked(|p| p.get("id").unwrap_or_default());
    let detail = ArcResource::new(move || id.clone(), get_guest);
    view! {
        <p><a href="/guests">"← Guests"</a></p>
        <Suspense fallback=|| view! { <Loading what="the guest"/> }>
            {let detail = detail.clone(); move || { let detail = detail.clone(); Suspend::new(async move {
                match detail.await {
                    Ok(d) => Either::Left(view! { <GuestView d/> }),
                    Err(error) => Either::Right(view! { <ErrorView error/> }),
                }
            })}}
        </Suspense>
    }
}

#[component]
fn GuestView(d: GuestDetail) -> impl IntoView {
    let g = d.guest;
    let state = if g.disabled { "disabled" } else { "active" };
    let id = g.id.clone();
    let actions = view! { <GuestActions id=g.id.clone() disabled=g.disabled/> };
    view! {
        <section class="card">
            <h1 data-testid="guest-detail-name">{g.name()}</h1>
            <dl class="fields">
                <dt>"Email"</dt><dd>{g.email.clone()}</dd>
                <dt>"State"</dt><dd data-testid="guest-state">{state}</dd>
                <dt>"Subject (sub)"</dt><dd><code>{id}</code></dd>
                {g.attributes.iter().map(|(k, v)| view! { <dt>{k.clone()}</dt><dd>{v.clone()}</dd> }).collect_view()}
            </dl>
        </section>
        {d.new_invitation.map(|link| view! {
            <section class="card" data-testid="invitation">
                <h2>"Invitation link"</h2>
                <p class="muted">"Copy it to the guest now: it is shown once, works once, and expires."</p>
                <label>"Link " <input readonly class="wide" value=link.url data-testid="invitation-link"/></label>
            </section>
        })}
        {actions}
        <section class="card">
            <h2>"Audit trail"</h2>
            <ul class="audit" data-testid="guest-audit">
                {d.events.into_iter().map(|e| view! {
                    <li><span data-testid="guest-audit-action">{e.action}</span>" · "{e.actor}{e.detail.map(|d| format!(" · {d}"))}
                        {e.replica.map(|r| view! { <span class="muted small" data-testid="guest-audit-replica">" · on "{r}</span> })}</li>
                }).collect_view()}
            </ul>
        </section>
    }
    .into_any()
}

/// New invitation, disable or enable, end messaging sessions, delete. An action that changes
/// the guest reloads their page (each server function redirects to it); a count or a refusal
/// shows in place, as the server renders it (see `ui::live`). Without JavaScript each is a
/// form POST, and a refusal comes back with the page.
#[component]
fn GuestActions(id: String, disabled: bool) -> impl IntoView {
    let refused = [
        form_error::<ReinviteGuestLive>(),
        form_error::<SetGuestDisabledLive>(),
        form_error::<DeleteGuestLive>(),
        form_error::<EndGuestChatsLive>(),
    ]
    .into_iter()
    .flatten()
    .next();
    let (id_reinvite, id_toggle, id_end, id_delete) = (id.clone(), id.clone(), id.clone(), id);
    view! {
        <LiveForms>
            <section class="card">
                <h2>"Actions"</h2>
                <div class="toolbar">
                    <form method="post" action=ReinviteGuestLive::url() class="inline-form" data-live="guest-actions-out">
                        <input type="hidden" name="id" value=id_reinvite/>
                        <button type="submit" class="button" data-testid="guest-reinvite">"New invitation link"</button>
                    </form>
                    <form method="post" action=SetGuestDisabledLive::url() class="inline-form" data-live="guest-actions-out">
                        <input type="hidden" name="id" value=id_toggle/>
                        <input type="hidden" name="disabled" value=(!disabled).to_string()/>
                        <button type="submit" class="button" data-testid="guest-toggle">{if disabled { "Enable" } else { "Disable" }}</button>
                    </form>
                    <form method="post" action=EndGuestChatsLive::url() class="inline-form" data-live="guest-chats-ended">
                        <input type="hidden" name="id" value=id_end/>
                        <button type="submit" class="button" data-testid="guest-end-chats">"End messaging sessions"</button>
                    </form>
                    <form method="post" action=DeleteGuestLive::url() class="inline-form" data-live="guest-actions-out">
                        <input type="hidden" name="id" value=id_delete/>
                        <button type="submit" class="button" data-testid="guest-delete">"Delete"</button>
                    </form>
                </div>
                <p id="guest-chats-ended" data-testid="guest-chats-ended" aria-live="polite"></p>
                <div id="guest-actions-out">{refused.map(|error| view! { <ErrorView error/> })}</div>
            </section>
        </LiveForms>
    }
}

/// A new invitation link: the guest's page shows it.
#[server(output = Json)]
pub async fn reinvite_guest_live(id: String) -> Result<String, AppError> {
    crate::ui::answer(crate::api::reinvite_guest(id).await, |_| ())
}

/// Disable or enable: the guest's page again.
#[server(output = Json)]
pub async fn set_guest_disabled_live(id: String, disabled: bool) -> Result<String, AppError> {
    crate::ui::answer(crate::api::set_guest_disabled(id, disabled).await, |_| ())
}

/// Delete: the list of guests.
#[server(output = Json)]
pub async fn delete_guest_live(id: String) -> Result<String, AppError> {
    crate::ui::answer(crate::api::delete_guest(id).await, |_| ())
}

/// End the guest's messaging sessions: how many ended.
#[server(output = Json)]
pub async fn end_guest_chats_live(id: String) -> Result<String, AppError> {
    crate::ui::answer(crate::api::end_guest_chats(id).await, |n| {
        format!("Ended {n} messaging session(s).")
    })
}
