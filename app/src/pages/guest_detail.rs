//! `/guests/:id`: one guest for the staff: who they are, the invitation link made just now
//! (shown once), re-invite, disable or enable, delete, and their audit trail.

use leptos::{either::Either, prelude::*};
use leptos_router::hooks::use_params_map;

use crate::{
    api::{get_guest, DeleteGuest, EndGuestChats, ReinviteGuest, SetGuestDisabled},
    model::GuestDetail,
    ui::{ErrorView, Loading, Post, PostForm},
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

/// New invitation, disable or enable, end messaging sessions, delete: an island, so a count
/// or a refusal shows in place. An action that changes the guest reloads their page (each
/// server function redirects to it); without JavaScript each is a form POST.
#[island(lazy)]
fn GuestActions(id: String, disabled: bool) -> impl IntoView {
    let (reinvite, toggle, delete, end_chats) = (
        Post::<ReinviteGuest>::new(),
        Post::<SetGuestDisabled>::new(),
        Post::<DeleteGuest>::new(),
        Post::<EndGuestChats>::new(),
    );
    let (id_reinvite, id_toggle, id_end, id_delete) = (id.clone(), id.clone(), id.clone(), id);
    let answers = (reinvite.latest(), toggle.latest(), delete.latest());
    let chats_ended = end_chats.latest();
    view! {
        <section class="card">
            <h2>"Actions"</h2>
            <div class="toolbar">
                <PostForm post=reinvite.clone() class="inline-form">
                    <input type="hidden" name="id" value=id_reinvite/>
                    <button type="submit" class="button" data-testid="guest-reinvite">"New invitation link"</button>
                </PostForm>
                <PostForm post=toggle.clone() class="inline-form">
                    <input type="hidden" name="id" value=id_toggle/>
                    <input type="hidden" name="disabled" value=(!disabled).to_string()/>
                    <button type="submit" class="button" data-testid="guest-toggle">{if disabled { "Enable" } else { "Disable" }}</button>
                </PostForm>
                <PostForm post=end_chats.clone() class="inline-form">
                    <input type="hidden" name="id" value=id_end/>
                    <button type="submit" class="button" data-testid="guest-end-chats">"End messaging sessions"</button>
                </PostForm>
                <PostForm post=delete.clone() class="inline-form">
                    <input type="hidden" name="id" value=id_delete/>
                    <button type="submit" class="button" data-testid="guest-delete">"Delete"</button>
                </PostForm>
            </div>
            <p data-testid="guest-chats-ended" aria-live="polite">
                {move || match chats_ended() {
                    Some(Ok(n)) => format!("Ended {n} messaging session(s)."),
                    Some(Err(e)) => e.to_string(),
                    None => String::new(),
                }}
            </p>
            {move || [
                answers.0().and_then(|r| r.err()),
                answers.1().and_then(|r| r.err()),
                answers.2().and_then(|r| r.err()),
            ]
            .into_iter()
            .flatten()
            .next()
            .map(|error| view! { <ErrorView error/> })}
        </section>
    }
}
