//! Authenticated Web Messaging's token endpoints on the api host (`/api/v2/webdeployments/token`):
//! an authorization code from the org's guest identity provider for a guest `jwt`, its refresh,
//! and its revocation, called exactly as the Messenger calls them (no Authorization header but
//! on revoke).

use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::transport::{api_error, MAX_API_BODY};
use super::GenesysClient;
use crate::api::ApiError;
use crate::retry::Idempotency;
use crate::secret::{GuestJwt, RefreshToken};

/// The body of `POST /api/v2/webdeployments/token/oauthcodegrantjwtexchange`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebDeploymentsOAuthExchangeRequest {
    /// The Messenger deployment the guest chats on.
    pub deployment_id: String,
    /// Journey tracking context, passed through when the page has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journey_context: Option<serde_json::Value>,
    /// What the identity provider gave the host page.
    pub oauth: WebDeploymentsOAuthRequestParameters,
}

/// What the host page handed the Messenger after the guest signed in at the identity provider
/// (the Messenger AuthProvider's `getAuthCode` answer). `code` and `redirectUri` are required;
/// `nonce` and `maxAge` when they were in the authorization request; the verifier for PKCE.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebDeploymentsOAuthRequestParameters {
    /// The authorization code.
    pub code: String,
    /// The redirect URI of the authorization request, exactly.
    pub redirect_uri: String,
    /// The `nonce` of the authorization request; Genesys checks the ID token echoes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The `max_age` of the authorization request, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u64>,
    /// The PKCE verifier (at least 43 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_verifier: Option<String>,
    /// The `iss` of the authorization response (RFC 9207).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
}

impl std::fmt::Debug for WebDeploymentsOAuthRequestParameters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebDeploymentsOAuthRequestParameters")
            .field("code", &"[redacted]")
            .field("redirect_uri", &self.redirect_uri)
            .field("nonce", &self.nonce.as_ref().map(|_| "[redacted]"))
            .field("max_age", &self.max_age)
            .field(
                "code_verifier",
                &self.code_verifier.as_ref().map(|_| "[redacted]"),
            )
            .field("iss", &self.iss)
            .finish()
    }
}

/// The answer to the exchange: the guest's `jwt` (15 minutes at most) and the refresh token
/// that renews it (not rotated).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebDeploymentsAuthorizationResponse {
    /// The guest's session credential.
    pub jwt: GuestJwt,
    /// Renews [`Self::jwt`].
    pub refresh_token: RefreshToken,
}

/// The body of `POST /api/v2/webdeployments/token/refresh`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebDeploymentsRefreshJwtRequest {
    /// The exchange's refresh token.
    pub refresh_token: RefreshToken,
    /// The deployment it was issued for.
    pub deployment_id: String,
}

/// The answer to a refresh (Genesys' `SignedData`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignedData {
    /// The renewed guest credential.
    pub jwt: GuestJwt,
}

impl GenesysClient {
    /// Exchanges the identity provider's authorization code for a guest `jwt`. Never retried
    /// once the request may have reached Genesys: the code is single-use.
    pub async fn exchange_guest_code(
        &self,
        request: &WebDeploymentsOAuthExchangeRequest,
    ) -> Result<WebDeploymentsAuthorizationResponse, ApiError> {
        let body =
            serde_json::to_vec(request).map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
        self.anonymous_post(
            "api/v2/webdeployments/token/oauthcodegrantjwtexchange",
            body,
            Idempotency::SingleUse,
        )
        .await
    }

    /// A fresh `jwt` for a guest session (the refresh token is not rotated, so retrying is
    /// harmless).
    pub async fn refresh_guest_jwt(
        &self,
        deployment_id: &str,
        refresh_token: &RefreshToken,
    ) -> Result<GuestJwt, ApiError> {
        let request = WebDeploymentsRefreshJwtRequest {
            refresh_token: refresh_token.clone(),
            deployment_id: deployment_id.to_string(),
        };
        let body =
            serde_json::to_vec(&request).map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
        let signed: SignedData = self
            .anonymous_post(
                "api/v2/webdeployments/token/refresh",
                body,
                Idempotency::Idempotent,
            )
            .await?;
        Ok(signed.jwt)
    }

    /// Ends a guest session: the `jwt` and its refresh token die, and Genesys logs the guest's
    /// open sockets out.
    pub async fn revoke_guest_jwt(&self, jwt: &GuestJwt) -> Result<(), ApiError> {
        let url = self.inner.env.api_url("api/v2/webdeployments/token/revoke");
        self.check_api_origin(&url)?;
        let mut bearer =
            HeaderValue::from_str(&format!("bearer {}", jwt.secret())).map_err(|_| {
                ApiError::InvalidRequest("the jwt has characters a header cannot carry".into())
            })?;
        bearer.set_sensitive(true);
        self.send(Idempotency::Idempotent, None, MAX_API_BODY, || {
            self.inner
                .http
                .request(Method::DELETE, url.clone())
                .header(AUTHORIZATION, bearer.clone())
        })
        .await
        .map_err(api_error)?;
        Ok(())
    }

    /// A JSON POST to the api host without credentials, as the Messenger sends these.
    async fn anonymous_post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: Vec<u8>,
        idempotency: Idempotency,
    ) -> Result<T, ApiError> {
        let url = self.inner.env.api_url(path);
        self.check_api_origin(&url)?;
        let raw = self
            .send(idempotency, None, MAX_API_BODY, || {
                self.inner
                    .http
                    .post(url.clone())
                    .header(CONTENT_TYPE, "application/json")
                    .header(ACCEPT, "application/json")
                    .body(body.clone())
            })
            .await
            .map_err(api_error)?;
        serde_json::from_slice(&raw.body)
            .map_err(|e| ApiError::Malformed(format!("the body is not the expected JSON ({e})")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exchange_body_has_genesys_field_names_and_omits_what_was_not_sent() {
        let request = WebDeploymentsOAuthExchangeRequest {
            deployment_id: "d".into(),
            journey_context: None,
            oauth: WebDeploymentsOAuthRequestParameters {
                code: "c".into(),
                redirect_uri: "https://portal.example.com/guest".into(),
                nonce: Some("n".into()),
                max_age: None,
                code_verifier: Some("v".repeat(43)),
                iss: None,
            },
        };
        let json = serde_json::to_value(&request).unwrap();
        assert_eq!(json["deploymentId"], "d");
        assert_eq!(
            json["oauth"]["redirectUri"],
            "https://portal.example.com/guest"
        );
        assert_eq!(json["oauth"]["codeVerifier"].as_str().unwrap().len(), 43);
        assert!(json["oauth"].get("maxAge").is_none());
        assert!(json.get("journeyContext").is_none());
        assert!(!format!("{:?}", request.oauth).contains("vvvv"));
    }

    #[test]
    fn answers_read_jwt_and_refresh_token() {
        let a: WebDeploymentsAuthorizationResponse =
            serde_json::from_str(r#"{"jwt":"j","refreshToken":"r"}"#).unwrap();
        assert_eq!((a.jwt.secret(), a.refresh_token.secret()), ("j", "r"));
        assert!(!format!("{a:?}").contains("\"j\""));
    }
}
