//! A guest's single-use invitation link: `GET /invite/{token}` shows a "Continue" button and
//! changes nothing (mail scanners and link previews fetch links too); its `POST` spends the link,
//! starts a browser session at the provider (a fresh random id, stored hashed) and lands on the
//! guest page.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;

use crate::clock::{ms, now_ms, now_unix};
use crate::form::cookie;
use crate::limits::RemoteAddr;
use crate::pages;
use crate::secret::{random_token, token_hash};
use crate::store;
use crate::store::guests::InvitationUse;
use crate::{Idp, IdpError};

/// `GET`: the invitation's landing page, a form that posts back to this same address.
pub(crate) async fn show_invitation(Path(token): Path<String>) -> Response {
    if token.is_empty() || token.len() > 128 {
        return pages::page(
            StatusCode::NOT_FOUND,
            "Unknown invitation",
            "This invitation link is not valid.",
        );
    }
    let mut page = pages::page_with_body(
        StatusCode::OK,
        "You are invited",
        "<p>Continue to sign in as a guest and chat with the contact centre.</p>\
         <form method=\"post\"><button type=\"submit\" data-testid=\"invitation-continue\">Continue</button></form>",
    );
    // Not `no-referrer` here: under it browsers send `Origin: null` with the form's POST, and
    // a same-site POST must name its origin. `same-origin` still keeps the link (a secret) from
    // every other site.
    page.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    page
}

/// `POST`: spends the invitation and signs the guest in.
pub(crate) async fn open_invitation(
    State(idp): State<Idp>,
    addr: RemoteAddr,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(wait) = idp.limits().sign_in(&addr) {
        return pages::too_many(wait);
    }
    match idp.accept_invitation(&token, &headers).await {
        Ok(Ok(cookie)) => {
            let mut r = pages::redirect(StatusCode::SEE_OTHER, &idp.config().after_sign_in_path);
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        Ok(Err(refusal)) => refusal,
        Err(e) => {
            tracing::error!(error = %e, "guest IdP invitation failed");
            pages::page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Please try again in a moment.",
            )
        }
    }
}

impl Idp {
    /// `Ok(Ok(set_cookie))` for an accepted invitation, `Ok(Err(page))` for a refused one.
    async fn accept_invitation(
        &self,
        token: &str,
        headers: &HeaderMap,
    ) -> Result<Result<String, Response>, IdpError> {
        let gone = |title: &str, text: &str, status| Ok(Err(pages::page(status, title, text)));
        if token.is_empty() || token.len() > 128 {
            return gone(
                "Unknown invitation",
                "This invitation link is not valid.",
                StatusCode::NOT_FOUND,
            );
        }
        let now = now_ms();
        let guest_id =
            match store::guests::use_invitation(self.pool(), &token_hash(token), now).await? {
                InvitationUse::Accepted(guest_id) => guest_id,
                InvitationUse::Unknown => {
                    return gone(
                        "Unknown invitation",
                        "This invitation link is not valid. Ask for a new one.",
                        StatusCode::NOT_FOUND,
                    )
                }
                InvitationUse::AlreadyUsed => {
                    self.record(
                        "system",
                        "invitation.refused",
                        None,
                        Some("already used".into()),
                    )
                    .await;
                    return gone(
                        "Invitation already used",
                        "This invitation link has already been used. Ask for a new one.",
                        StatusCode::GONE,
                    );
                }
                InvitationUse::Expired => {
                    return gone(
                        "Invitation expired",
                        "This invitation link has expired. Ask for a new one.",
                        StatusCode::GONE,
                    )
                }
            };
        let guest = store::guests::get(self.pool(), &guest_id).await?;
        let Some(guest) = guest.filter(|g| !g.disabled) else {
            self.record(
                "system",
                "invitation.refused",
                Some(&guest_id),
                Some("guest disabled".into()),
            )
            .await;
            return gone(
                "Access disabled",
                "Your access has been disabled.",
                StatusCode::FORBIDDEN,
            );
        };
        // No fixation: a session the browser already had ends, a new id is issued.
        if let Some(old) = cookie(headers, self.session_cookie_name()) {
            store::guests::delete_session(self.pool(), &token_hash(old)).await?;
        }
        let session_id = random_token();
        let ttl = self.config().session_ttl;
        let auth_time = now_unix();
        store::guests::insert_session(
            self.pool(),
            &token_hash(&session_id),
            &guest.id,
            auth_time,
            now.saturating_add(ms(ttl)),
        )
        .await?;
        store::guests::touch_sign_in(self.pool(), &guest.id, auth_time).await?;
        self.record(
            &format!("guest:{}", guest.id),
            "invitation.opened",
            Some(&guest.id),
            None,
        )
        .await;
        Ok(Ok(self.session_cookie(&session_id, ttl.as_secs())))
    }

    /// The `Set-Cookie` value of the session cookie (`max_age` 0 clears it).
    pub(crate) fn session_cookie(&self, value: &str, max_age: u64) -> String {
        let secure = if self.config().secure_cookie {
            "; Secure"
        } else {
            ""
        };
        format!(
            "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
            self.session_cookie_name()
        )
    }
}
