//! `/guests`: the Web Messaging guests of this portal's identity provider, for the staff who
//! manage them: provision one (name, email, custom attributes), search, and open one.

use leptos::{either::Either, prelude::*, server_fn::ServerFn};
use leptos_router::hooks::use_query_map;

use crate::{
    api::list_guests,
    model::{AppError, GuestList, Json},
    ui::{form_error, ErrorView, LiveForms, Loading},
};

#[component]
pub fn GuestsPage() -> impl IntoView {
    let query = use_query_map();
    let search = Memo::new(move |_| query.with(|q| q.get("q").unwrap_or_default()));
    let page = Memo::new(move |_| {
        query.with(|q| {
            q.get("page")
                .and_then(|p| p.parse::<u32>().ok())
                .unwrap_or(1)
                .max(1)
        })
    });
    let list = ArcResource::new(
        move || (search.get(), page.get()),
        |(q, p)| list_guests(q, p),
    );
    view! {
        <section class="card">
            <h1>"Guests"</h1>
            <p class="muted">"Customers who chat with the contact centre as themselves: this portal is the identity provider Genesys Cloud trusts for them."</p>
            <NewGuestForm/>
        </section>
        <section class="card">
            <form method="get" action="/guests" class="filters" role="search">
                <label>"Search " <input type="search" name="q" maxlength="100" placeholder="Name or email" data-testid="guest-search" prop:value=move || search.get()/></label>
                <button type="submit" class="button button-small">"Search"</button>
            </form>
            <Transition fallback=|| view! { <Loading what="guests"/> }>
                {let list = list.clone(); move || { let list = list.clone(); Suspend::new(async move {
                    match list.await {
                        Ok(l) => Either::Left(view! { <GuestTable list=l/> }),
                        Err(error) => Either::Right(view! { <ErrorView error/> }),
                    }
                })}}
            </Transition>
        </section>
    }
}

/// Provisioning: a form that lands on the new guest's page with their invitation link. A
/// refusal shows (and takes focus) in place, as the server renders it (see `ui::live`); without
/// JavaScript the form posts and the page comes back with it.
#[component]
fn NewGuestForm() -> impl IntoView {
    let refused = form_error::<CreateGuestLive>();
    view! {
        <h2>"Provision a guest"</h2>
        <LiveForms>
            <form method="post" action=CreateGuestLive::url() class="stacked-form" data-live="new-guest-out">
                <label>"Given name" <input name="given_name" required maxlength="100" autocomplete="off" data-testid="guest-given-name"/></label>
                <label>"Family name" <input name="family_name" required maxlength="100" autocomplete="off" data-testid="guest-family-name"/></label>
                <label>"Email" <input name="email" type="email" required maxlength="254" autocomplete="off" data-testid="guest-email"/></label>
                <label>"Custom attributes (one key=value a line, optional)"
                    <textarea name="attributes" rows="3" maxlength="4000" data-testid="guest-attributes"></textarea>
                </label>
                <button type="submit" class="button button-primary" data-testid="guest-create">"Provision and make an invitation"</button>
            </form>
            <div id="new-guest-out">{refused.map(|error| view! { <ErrorView error/> })}</div>
        </LiveForms>
    }
}

/// Provisioning, for the form: leads to the new guest's page, or answers the refusal.
#[server(output = Json)]
pub async fn create_guest_live(
    given_name: String,
    family_name: String,
    email: String,
    attributes: String,
) -> Result<String, AppError> {
    let created = crate::api::create_guest(given_name, family_name, email, attributes).await;
    crate::ui::answer(created, |_| ())
}

#[component]
fn GuestTable(list: GuestList) -> impl IntoView {
    if list.guests.is_empty() {
        return Either::Left(
            view! { <p class="empty" data-testid="guests-empty">"No guests yet."</p> },
        );
    }
    Either::Right(view! {
        <p class="muted"><span data-testid="guests-total">{list.total}</span>" guests · page "{list.page}" of "{list.page_count.max(1)}</p>
        <div class="table-wrap">
            <table class="users">
                <thead><tr><th>"Name"</th><th>"Email"</th><th>"State"</th></tr></thead>
                <tbody>
                    {list.guests.into_iter().map(|g| view! {
                        <tr data-testid="guest-row">
                            <td><a href=format!("/guests/{}", g.id) data-testid="guest-name">{g.name()}</a></td>
                            <td>{g.email.clone()}</td>
                            <td>{if g.disabled { "disabled" } else { "active" }}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    })
}
