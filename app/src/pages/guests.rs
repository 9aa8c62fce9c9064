//! `/guests`: the Web Messaging guests of this portal's identity provider, for the staff who
//! manage them: provision one (name, email, custom attributes), search, and open one.

use leptos::{either::Either, prelude::*};
use leptos_router::hooks::use_query_map;

use crate::{
    api::{list_guests, CreateGuest},
    model::GuestList,
    ui::{ErrorView, Loading},
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

/// Provisioning: a form POST that lands on the new guest's page with their invitation link.
/// The provisioning form: an island, so a refusal shows (and takes focus) in place; a guest
/// made leads to their page. Without JavaScript the form posts and the server redirects.
#[island(lazy)]
fn NewGuestForm() -> impl IntoView {
    let create = ServerAction::<CreateGuest>::new();
    // The action's signals taken while it lives: on a request that ended mid-render the action
    // is disposed, and `value()` on it panics where `try_get` on the signal does not.
    let created = create.value();
    view! {
        <h2>"Provision a guest"</h2>
        <ActionForm action=create attr:class="stacked-form">
            <label>"Given name" <input name="given_name" required maxlength="100" autocomplete="off" data-testid="guest-given-name"/></label>
            <label>"Family name" <input name="family_name" required maxlength="100" autocomplete="off" data-testid="guest-family-name"/></label>
            <label>"Email" <input name="email" type="email" required maxlength="254" autocomplete="off" data-testid="guest-email"/></label>
            <label>"Custom attributes (one key=value a line, optional)"
                <textarea name="attributes" rows="3" maxlength="4000" data-testid="guest-attributes"></textarea>
            </label>
            <button type="submit" class="button button-primary" data-testid="guest-create">"Provision and make an invitation"</button>
        </ActionForm>
        {move || created.try_get().flatten().and_then(|r| r.err()).map(|error| view! { <ErrorView error/> })}
    }
    .into_any()
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
