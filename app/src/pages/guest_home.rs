//! `/guest`: where a guest's invitation link lands: who the portal's identity provider signed
//! in, in this browser, and how to sign out. (The Web Messaging chat joins this page.)

use leptos::{either::Either, prelude::*};

use crate::{
    api::get_signed_in_guest,
    ui::{ErrorView, Loading},
};

#[component]
pub fn GuestHomePage() -> impl IntoView {
    let guest = ArcResource::new(|| (), |_| get_signed_in_guest());
    view! {
        <Suspense fallback=|| view! { <Loading what="your guest session"/> }>
            {let guest = guest.clone(); move || { let guest = guest.clone(); Suspend::new(async move {
                match guest.await {
                    Ok(Some(g)) => Either::Left(view! {
                        <section class="card">
                            <h1>"Welcome, " <span data-testid="guest-signed-in-as">{g.name()}</span></h1>
                            <p>"You are signed in as a guest with " <strong>{g.email.clone()}</strong>
                               ". The contact centre will see this name and email when you message it."</p>
                            <form method="post" action="/guest-idp/end-session" class="inline-form">
                                <button type="submit" class="button button-small" data-testid="guest-sign-out">"Sign out"</button>
                            </form>
                        </section>
                    }),
                    Ok(None) => Either::Right(view! { <GuestSignedOut/> }.into_any()),
                    Err(error) => Either::Right(view! { <ErrorView error/> }.into_any()),
                }
            })}}
        </Suspense>
    }
}

#[component]
fn GuestSignedOut() -> impl IntoView {
    crate::api::page::set_status(401);
    view! {
        <section class="card" data-testid="guest-signed-out">
            <h1>"Guest sign-in needed"</h1>
            <p>"Open the invitation link you were sent to sign in. A link works once; ask the contact centre for a new one if yours was used or has expired."</p>
        </section>
    }
}
