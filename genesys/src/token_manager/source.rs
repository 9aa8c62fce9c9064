//! Where the token manager gets its tokens and how it checks them: the [`TokenSource`] trait,
//! and its implementation over the client-credentials grant and `GET /api/v2/tokens/me`.

use futures::future::BoxFuture;

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
