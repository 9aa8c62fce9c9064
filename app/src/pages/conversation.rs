//! `/embed/conversation/:id`: the interaction widget Genesys Cloud shows next to a conversation
//! (`{{gcConversationId}}`): who the customer is, and when Genesys verified them as a guest of
//! this portal's provider, the provider's record of them. Narrow: it fits a 300 px sidebar.

use leptos::{either::Either, prelude::*};
use leptos_router::hooks::use_params_map;

use crate::{
    api::get_conversation,
    model::{ConversationView, GuestIdentity},
    ui::{ErrorView, Loading},
};

#[component]
pub fn ConversationPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").unwrap_or_default()));
    let conversation = ArcResource::new(move || id.get(), get_conversation);
    view! {
        <Suspense fallback=|| view! { <Loading what="the conversation"/> }>
            {let conversation = conversation.clone(); move || { let conversation = conversation.clone(); Suspend::new(async move {
                match conversation.await {
                    Ok(c) => Either::Left(view! { <ConversationCard c/> }),
                    Err(error) => Either::Right(view! { <ErrorView error/> }),
                }
            })}}
        </Suspense>
    }
}

#[component]
fn ConversationCard(c: ConversationView) -> impl IntoView {
    let customer = c
        .customer_name
        .clone()
        .unwrap_or_else(|| "Customer".to_string());
    let state = if c.connected {
        "connected"
    } else {
        "disconnected"
    };
    let started = c.started.clone();
    let data = c.participant_data.clone();
    view! {
        <section class="card widget" data-testid="conversation">
            <h1 data-testid="customer-name">{customer}</h1>
            <p class="muted">
                "Web messaging · " <span data-testid="conversation-state">{state}</span>
                {started.map(|s| view! { " · since " <time datetime=s.clone() data-local-time="">{s.clone()}</time> })}
            </p>
            <GuestCard guest=c.guest.clone()/>
            {(!data.is_empty()).then(|| view! {
                <h2>"Participant data"</h2>
                <p class="muted">"Sent by the customer's browser: not verified."</p>
                <dl class="fields" data-testid="participant-data">
                    {data.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
                </dl>
            })}
            <p class="muted"><small>"Conversation " <code>{c.conversation_id}</code></small></p>
        </section>
    }
}

#[component]
fn GuestCard(guest: GuestIdentity) -> impl IntoView {
    match guest {
        GuestIdentity::Verified {
            sub,
            name,
            email,
            attributes,
            disabled,
        } => Either::Left(view! {
            <div class="verified" data-testid="verified-guest">
                <p><span class="badge badge-org">"Verified guest"</span>
                    {disabled.then(|| view! { " " <span class="badge" data-testid="guest-disabled">"disabled"</span> })}</p>
                <dl class="fields">
                    <dt>"Name"</dt><dd data-testid="guest-name">{name}</dd>
                    <dt>"Email"</dt><dd data-testid="guest-email">{email}</dd>
                    {attributes.into_iter().map(|(k, v)| { let id = format!("guest-attr-{k}"); view! { <dt>{k}</dt><dd data-testid=id>{v}</dd> } }).collect_view()}
                </dl>
                <p><a href=format!("/guests/{sub}") data-testid="guest-link">"Guest record"</a></p>
            </div>
        }),
        GuestIdentity::Unknown { sub } => Either::Right(Either::Left(view! {
            <p data-testid="unknown-guest">"Genesys verified this customer with an identity this portal does not know: "<code>{sub}</code></p>
        })),
        GuestIdentity::Anonymous => Either::Right(Either::Right(view! {
            <p data-testid="anonymous-guest">"Not signed in: an anonymous web messaging guest. Verify who they are before sharing account details."</p>
        })),
    }
}
