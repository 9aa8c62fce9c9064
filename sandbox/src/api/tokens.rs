//! `GET /api/v2/tokens/me` (who the token belongs to: org, client, scopes, idle time) and
//! `DELETE /api/v2/tokens/me` (revokes it).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use genesys::{EntityRef, OAuthClientRef, TokenInfo};

use crate::respond::ApiError;
use crate::store::TokenContext;
use crate::SandboxState;

/// `GET /api/v2/tokens/me`.
pub(crate) async fn tokens_me(
    State(s): State<SandboxState>,
    Extension(ctx): Extension<TokenContext>,
) -> Result<Response, ApiError> {
    let org = s.org();
    // `NamedEntity` in Genesys' model: `{id, name}`, no `selfUri` (the Python SDK's model
    // has none, and its fidelity check fails on a field the model does not know).
    let org_ref = EntityRef {
        id: org.id.to_string(),
        name: Some(org.name.clone()),
        self_uri: None,
    };
    let client = s.client(&ctx.client_id);
    let info = TokenInfo {
        organization: Some(org_ref.clone()),
        home_organization: Some(org_ref.clone()),
        authorized_scope: ctx.scopes.clone(),
        cloned_user: None,
        date_token_idles: Some(crate::org::iso_millis((ctx.expires_ms / 1000) as i64)),
        oauth_client: Some(OAuthClientRef {
            // `OrgOAuthClient` has no `selfUri` either.
            self_uri: None,
            id: ctx.client_id.clone(),
            name: client.map(|c| c.name.clone()),
            organization: Some(EntityRef {
                id: org_ref.id.clone(),
                name: Some(org_ref.name.clone().unwrap_or_default()),
                self_uri: None,
            }),
            // A token with a user came from the code grant; one without, from client
            // credentials (the sandbox's only grants that mint tokens).
            authorized_grant_type: Some(
                if ctx.user_id.is_some() {
                    "CODE"
                } else {
                    "CLIENT-CREDENTIALS"
                }
                .into(),
            ),
            scope: client.map(|c| c.scopes.clone()).unwrap_or_default(),
            state: Some("active".into()),
        }),
    };
    Ok(Json(info).into_response())
}

/// `DELETE /api/v2/tokens/me`: revokes the calling token.
pub(crate) async fn delete_tokens_me(
    State(s): State<SandboxState>,
    Extension(ctx): Extension<TokenContext>,
) -> Response {
    s.store().revoke_access(&ctx.key);
    StatusCode::NO_CONTENT.into_response()
}
