//! The top bar: product name, which Genesys Cloud this is (the sandbox or the org's region),
//! the navigation open to this user, and who is signed in.

use leptos::prelude::*;

use super::{
    forms::{LogoutForm, SignInForm},
    summary::SummaryResource,
};

#[component]
pub fn Header() -> impl IntoView {
    let summary = SummaryResource::get().0;
    view! {
        <header class="topbar">
            <a class="brand" href="/">"genesys-portal"</a>
            <Suspense fallback=|| view! { <span class="muted">"…"</span> }>
                {let summary = summary.clone(); move || { let summary = summary.clone(); Suspend::new(async move {
                    match summary.await {
                        Ok(s) => {
                            let badge_class = if s.upstream.is_sandbox() { "badge badge-sandbox" } else { "badge badge-org" };
                            let label = s.upstream.label();
                            let user = s.user_name.clone();
                            let is_admin = s.is_admin;
                            let manages_guests = s.manages_guests;
                            view! {
                                <span class=badge_class data-testid="upstream-badge" title="The Genesys Cloud this portal talks to">{label}</span>
                                <nav class="nav">
                                    {user.clone().map(|_| view! {
                                        <a href="/dashboard">"Dashboard"</a>
                                        <a href="/users">"Directory"</a>
                                        {manages_guests.then(|| view! { <a href="/guests">"Guests"</a> })}
                                        {is_admin.then(|| view! { <a href="/admin/service">"Service"</a> })}
                                    })}
                                </nav>
                                <span class="spacer"></span>
                                {match user {
                                    Some(name) => view! {
                                        <span class="who" data-testid="signed-in-as">{name}</span>
                                        <LogoutForm/>
                                    }.into_any(),
                                    None => view! { <SignInForm compact=true/> }.into_any(),
                                }}
                            }.into_any()
                        }
                        Err(_) => view! { <span class="badge">"status unknown"</span> }.into_any(),
                    }
                })}}
            </Suspense>
        </header>
    }
}
