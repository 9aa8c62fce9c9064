//! Where the token manager gets its tokens and how it checks them: the [`TokenSource`] trait,
//! and its implementation over the client-credentials grant and `GET /api/v2/tokens/me`.

use futures::future::BoxFuture;

use super::error::AcquireError;
use crate::api::ApiError;
use crate::client::GenesysClient;
use crate::oauth::{ClientId, OAuthError, TokenSet};
use crate::secret::{AccessToken, ClientSecret};
use crate::wire::TokenInfo;

/// What the token manager needs from the outside world. The manager never talks HTTP itself,
/// so that it can be tested on paused time against an in-memory source.
pub trait TokenSource: Send + Sync + 'static {
    /// The OAuth client every token must belong to (compared with `OAuthClient.id` of
    /// `GET /api/v2/tokens/me`).
    fn client_id(&self) -> &ClientId;

    /// Requests a new token. One call is one token request: the manager makes sure only one is
    /// in flight at a time.
    fn fetch(&self) -> BoxFuture<'_, Result<TokenSet, OAuthError>>;

    /// Describes a token (`GET /api/v2/tokens/me`): its OAuth client and granted scopes.
    fn inspect<'a>(&'a self, token: &'a AccessToken) -> BoxFuture<'a, Result<TokenInfo, ApiError>>;

    /// Revokes a token that is no longer used (`DELETE /api/v2/tokens/me`). The default does
    /// nothing.
    fn revoke<'a>(&'a self, token: &'a AccessToken) -> BoxFuture<'a, Result<(), ApiError>> {
        let _ = token;
        Box::pin(async { Ok(()) })
    }
}

/// The real source: the client-credentials grant of a [`GenesysClient`].
#[derive(Debug, Clone)]
pub struct ClientCredentialsSource {
    client: GenesysClient,
    client_id: ClientId,
    secret: ClientSecret,
    scopes: Vec<String>,
}

impl ClientCredentialsSource {
    /// A source requesting `scopes` (none: the client's configured scopes) for `client_id`.
    pub fn new(
        client: GenesysClient,
        client_id: ClientId,
        secret: ClientSecret,
        scopes: Vec<String>,
    ) -> Self {
        ClientCredentialsSource {
            client,
            client_id,
            secret,
            scopes,
        }
    }

    /// The HTTP client this source uses.
    pub fn client(&self) -> &GenesysClient {
        &self.client
    }
}

impl TokenSource for ClientCredentialsSource {
    fn client_id(&self) -> &ClientId {
        &self.client_id
    }

    fn fetch(&self) -> BoxFuture<'_, Result<TokenSet, OAuthError>> {
        Box::pin(
            self.client
                .client_credentials(&self.client_id, &self.secret, &self.scopes),
        )
    }

    fn inspect<'a>(&'a self, token: &'a AccessToken) -> BoxFuture<'a, Result<TokenInfo, ApiError>> {
        Box::pin(async move {
            self.client
                .token_info(token)
                .await
                .map(|answer| answer.body)
        })
    }

    fn revoke<'a>(&'a self, token: &'a AccessToken) -> BoxFuture<'a, Result<(), ApiError>> {
        Box::pin(self.client.revoke_token(token))
    }
}

/// Checks what `/api/v2/tokens/me` said about a new token: the expected OAuth client and every
/// required scope (`x:readonly` is also satisfied by `x`).
pub fn check_token_info(
    info: &TokenInfo,
    client_id: &ClientId,
    required_scopes: &[String],
) -> Result<(), AcquireError> {
    // A token whose client Genesys does not name is not proven ours: refused.
    if info.client_id() != Some(client_id.as_str()) {
        return Err(AcquireError::WrongClient {
            expected: client_id.as_str().to_owned(),
            actual: info.client_id().unwrap_or("(not named)").to_owned(),
        });
    }
    let granted = &info.authorized_scope;
    let missing: Vec<String> = required_scopes
        .iter()
        .filter(|required| !scope_granted(required, granted))
        .cloned()
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(AcquireError::MissingScope {
            missing,
            granted: granted.clone(),
        })
    }
}

fn scope_granted(required: &str, granted: &[String]) -> bool {
    granted.iter().any(|g| g == required)
        || required
            .strip_suffix(":readonly")
            .is_some_and(|full| granted.iter().any(|g| g == full))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{EntityRef, OAuthClientRef};

    fn info(client: &str, scopes: &[&str]) -> TokenInfo {
        TokenInfo {
            organization: Some(EntityRef {
                id: "org".into(),
                name: None,
                self_uri: None,
            }),
            home_organization: None,
            authorized_scope: scopes.iter().map(|s| s.to_string()).collect(),
            cloned_user: None,
            date_token_idles: None,
            oauth_client: Some(OAuthClientRef {
                id: client.into(),
                name: None,
                organization: None,
                self_uri: None,
                authorized_grant_type: None,
                scope: Vec::new(),
                state: None,
            }),
        }
    }

    #[test]
    fn token_info_must_name_the_client_and_every_scope() {
        let client = ClientId::new("svc");
        let required = vec!["users:readonly".to_string(), "analytics".to_string()];
        assert_eq!(
            check_token_info(
                &info("svc", &["users:readonly", "analytics"]),
                &client,
                &required
            ),
            Ok(())
        );
        // The read-write scope covers its read-only form, not the other way round.
        assert_eq!(
            check_token_info(&info("svc", &["users", "analytics"]), &client, &required),
            Ok(())
        );
        assert_eq!(
            check_token_info(
                &info("svc", &["users:readonly", "analytics:readonly"]),
                &client,
                &required
            ),
            Err(AcquireError::MissingScope {
                missing: vec!["analytics".into()],
                granted: vec!["users:readonly".into(), "analytics:readonly".into()],
            })
        );
        let wrong = check_token_info(
            &info("other", &["users:readonly", "analytics"]),
            &client,
            &required,
        )
        .unwrap_err();
        assert_eq!(wrong.reason(), "wrong_client");
        assert!(wrong.needs_attention() && wrong.is_refused_token());
        assert_eq!(check_token_info(&info("svc", &[]), &client, &[]), Ok(()));
    }
}
