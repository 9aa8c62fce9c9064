//! `/guest`: where a guest's invitation lands and where they chat. Signed in at the portal's
//! provider, the guest starts an authenticated Web Messaging session (a form POST: sign-in at
//! the provider with PKCE and nonce, the code exchanged at Genesys) and talks to the contact
//! centre as themselves.

use leptos::{either::EitherOf4, prelude::*};

use crate::{
    api::{get_chat_state, get_signed_in_guest},
    model::ChatState,
    ui::{ChatWindow, ErrorView, Loading},
};

#[component]
pub fn GuestHomePage() -> impl IntoView {
    let guest = ArcResource::new(|| (), |_| get_signed_in_guest());
    let chat = ArcResource::new(|| (), |_| get_chat_state());
    view! {
        <Suspense fallback=|| view! { <Loading what="your guest session"/> }>
            {let (guest, chat) = (guest.clone(), chat.clone()); move || { let (guest, chat) = (guest.clone(), chat.clone()); Suspend::new(async move {
                match (guest.await, chat.await) {
                    (Ok(Some(g)), Ok(state)) => EitherOf4::A(view! {
                        <section class="card">
                            <h1>"Welcome, " <span data-testid="guest-signed-in-as">{g.name()}</span></h1>
                            <p>"You are signed in as a guest with " <strong>{g.email.clone()}</strong>
                               ". The contact centre sees this name and email when you message it."</p>
                            <form method="post" action="/guest-idp/end-session" class="inline-form">
                                <button type="submit" class="button button-small" data-testid="guest-sign-out">"Sign out"</button>
                            </form>
                        </section>
                        <GuestChat state/>
                    }),
                    (Ok(None), _) => EitherOf4::B(view! { <GuestSignedOut/> }),
                    (Err(error), _) | (_, Err(error)) => EitherOf4::C(view! { <ErrorView error/> }),
                    #[allow(unreachable_patterns)]
                    _ => EitherOf4::D(()),
                }
            })}}
        </Suspense>
    }
}

#[component]
fn GuestChat(state: ChatState) -> impl IntoView {
    match state {
        ChatState::Unavailable => view! {
            <section class="card"><p data-testid="chat-unavailable">"Messaging is not set up for this portal yet."</p></section>
        }
        .into_any(),
        ChatState::NotStarted => view! {
            <section class="card">
                <h2>"Message the contact centre"</h2>
                <form method="post" action="/guest/chat/start">
                    <button type="submit" class="button button-primary" data-testid="chat-start">"Start a conversation"</button>
                </form>
            </section>
        }
        .into_any(),
        ChatState::Ready(session) => view! {
            <noscript><p class="notice">"The conversation needs JavaScript."</p></noscript>
            <ChatWindow session/>
        }
        .into_any(),
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
