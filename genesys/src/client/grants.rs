//! The OAuth grants on the login host's token endpoint: the authorization code with PKCE, the
//! refresh token and client credentials, each retried only as far as repeating it is harmless.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::header::HeaderValue;

use super::GenesysClient;
use crate::oauth::{ClientId, OAuthClientConfig, OAuthError, TokenSet};
use crate::retry::Idempotency;
use crate::secret::{AuthorizationCode, ClientSecret, PkceVerifier, RefreshToken};

fn basic_auth(client_id: &ClientId, secret: &ClientSecret) -> HeaderValue {
    let encoded = STANDARD.encode(format!("{}:{}", client_id.as_str(), secret.secret()));
    let mut value =
        HeaderValue::from_str(&format!("Basic {encoded}")).expect("base64 is a valid header value");
    value.set_sensitive(true);
    value
}

impl GenesysClient {
    /// Redeems an authorization code. A public client sends `client_id` and the verifier in
    /// the form; a confidential one authenticates with HTTP Basic and adds the verifier.
    ///
    /// Never retried once the request may have reached the server: the code is single-use.
    pub async fn exchange_code(
        &self,
        client: &OAuthClientConfig,
        code: AuthorizationCode,
        verifier: PkceVerifier,
    ) -> Result<TokenSet, OAuthError> {
        let redirect_uri = client.redirect_uri.as_str();
        match &client.client_secret {
            None => {
                let form = [
                    ("grant_type", "authorization_code"),
                    ("code", code.secret()),
                    ("code_verifier", verifier.secret()),
                    ("client_id", client.client_id.as_str()),
                    ("redirect_uri", redirect_uri),
                ];
                self.token_call(&form, None, Idempotency::SingleUse).await
            }
            Some(secret) => {
                let form = [
                    ("grant_type", "authorization_code"),
                    ("code", code.secret()),
                    ("redirect_uri", redirect_uri),
                    ("code_verifier", verifier.secret()),
                ];
                let basic = basic_auth(&client.client_id, secret);
                self.token_call(&form, Some(basic), Idempotency::SingleUse)
                    .await
            }
        }
    }

    /// Trades a refresh token for new tokens (HTTP Basic for a confidential client; a public
    /// client sends its `client_id` in the form). Retried only when the server certainly did
    /// not process it, since a server that rotates refresh tokens may have spent this one.
    pub async fn refresh(
        &self,
        client: &OAuthClientConfig,
        refresh_token: &RefreshToken,
    ) -> Result<TokenSet, OAuthError> {
        match &client.client_secret {
            Some(secret) => {
                let form = [
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token.secret()),
                ];
                let basic = basic_auth(&client.client_id, secret);
                self.token_call(&form, Some(basic), Idempotency::NotIdempotent)
                    .await
            }
            None => {
                let form = [
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token.secret()),
                    ("client_id", client.client_id.as_str()),
                ];
                self.token_call(&form, None, Idempotency::NotIdempotent)
                    .await
            }
        }
    }

    /// The client-credentials grant (server to server, no user). `scopes` are space-joined
    /// into `scope`, omitted when empty. Idempotent: a repeat only mints another token.
    pub async fn client_credentials(
        &self,
        client_id: &ClientId,
        secret: &ClientSecret,
        scopes: &[String],
    ) -> Result<TokenSet, OAuthError> {
        let scope = scopes.join(" ");
        let mut form = vec![("grant_type", "client_credentials")];
        if !scope.is_empty() {
            form.push(("scope", scope.as_str()));
        }
        self.token_call(
            &form,
            Some(basic_auth(client_id, secret)),
            Idempotency::Idempotent,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_is_base64_of_id_and_secret() {
        let value = basic_auth(&ClientId::new("portal-web"), &ClientSecret::new("s3cret"));
        assert!(value.is_sensitive());
        // `printf 'portal-web:s3cret' | base64`
        assert_eq!(value.to_str().unwrap(), "Basic cG9ydGFsLXdlYjpzM2NyZXQ=");
    }
}
