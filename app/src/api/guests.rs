//! Web Messaging guests: the staff's list, detail and actions (each a form POST that lands on
//! the guest's page), and the guest's own "who am I" for the page an invitation lands on.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::backend::{guest_chat, guest_session, guests, request};
use crate::model::{AppError, ChatState, GuestDetail, GuestList, GuestView, Json};

#[server(output = Json)]
pub async fn list_guests(search: String, page: u32) -> Result<GuestList, AppError> {
    let (portal, session) = request::context().await?;
    guests::list(&portal, &session, &search, page).await
}

#[server(output = Json)]
pub async fn get_guest(id: String) -> Result<GuestDetail, AppError> {
    let (portal, session) = request::context().await?;
    guests::detail(&portal, &session, &id).await
}

#[server(output = Json)]
pub async fn create_guest(
    given_name: String,
    family_name: String,
    email: String,
    attributes: String,
) -> Result<String, AppError> {
    let (portal, session) = request::context().await?;
    let id = guests::create(
        &portal,
        &session,
        &given_name,
        &family_name,
        &email,
        &attributes,
    )
    .await?;
    leptos_axum::redirect(&format!("/guests/{id}"));
    Ok(id)
}

#[server(output = Json)]
pub async fn reinvite_guest(id: String) -> Result<(), AppError> {
    let (portal, session) = request::context().await?;
    guests::reinvite(&portal, &session, &id).await?;
    leptos_axum::redirect(&format!("/guests/{id}"));
    Ok(())
}

#[server(output = Json)]
pub async fn set_guest_disabled(id: String, disabled: bool) -> Result<(), AppError> {
    let (portal, session) = request::context().await?;
    guests::set_disabled(&portal, &session, &id, disabled).await?;
    leptos_axum::redirect(&format!("/guests/{id}"));
    Ok(())
}

#[server(output = Json)]
pub async fn delete_guest(id: String) -> Result<(), AppError> {
    let (portal, session) = request::context().await?;
    guests::delete(&portal, &session, &id).await?;
    leptos_axum::redirect("/guests");
    Ok(())
}

/// Ends every messaging session of a guest; how many there were.
#[server(output = Json)]
pub async fn end_guest_chats(id: String) -> Result<usize, AppError> {
    let (portal, session) = request::context().await?;
    guests::end_chats(&portal, &session, &id).await
}

/// The guest signed in at the guest provider in this browser, if any.
#[server(output = Json)]
pub async fn get_signed_in_guest() -> Result<Option<GuestView>, AppError> {
    let portal = request::portal()?;
    let cookies = request::RequestScope::current().and_then(|s| s.cookies().map(str::to_string));
    guest_session::signed_in_guest(&portal, cookies.as_deref()).await
}

/// The `kid` that signs the guest provider's ID tokens now (admins only).
#[server(output = Json)]
pub async fn get_guest_signing_key() -> Result<String, AppError> {
    let (portal, session) = request::context().await?;
    guests::signing_key(&portal, &session).await
}

/// Rotates the guest provider's signing key (admins only); returns the new `kid`.
#[server(output = Json)]
pub async fn rotate_guest_signing_key() -> Result<String, AppError> {
    let (portal, session) = request::context().await?;
    guests::rotate_signing_key(&portal, &session).await
}

/// Where this browser's guest chat stands, with a fresh `jwt` when it is ready.
#[server(output = Json)]
pub async fn get_chat_state() -> Result<ChatState, AppError> {
    let (portal, session) = request::context().await?;
    guest_chat::state(&portal, &session).await
}

/// A fresh `jwt` for the chat window, as text: `"{expires_in_secs} {jwt}"`, or empty when there
/// is no messaging session any more. Text, so the window reads it without the answer's types.
#[server(output = Json)]
pub async fn chat_token() -> Result<String, AppError> {
    let (portal, session) = request::context().await?;
    Ok(match guest_chat::state(&portal, &session).await? {
        ChatState::Ready(s) => format!("{} {}", s.expires_in_secs, s.jwt),
        ChatState::Unavailable | ChatState::NotStarted => String::new(),
    })
}

/// Ends this browser's Web Messaging session at Genesys.
#[server(output = Json)]
pub async fn end_chat() -> Result<(), AppError> {
    let (portal, session) = request::context().await?;
    guest_chat::end(&portal, &session).await
}
