//! Genesys' relying-party work at the guest IdP, done with `openidconnect`: discovery (cached
//! for a minute), code redemption, ID-token verification, and re-validation by refresh grant.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use openidconnect::core::{CoreClient, CoreIdToken, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError,
    TokenResponse,
};

use super::config::WebMessagingConfig;

/// The provider's metadata (and JWKS) are re-read after this long, like its `max-age`.
const DISCOVERY_TTL: Duration = Duration::from_secs(60);

/// Why the IdP side failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RpError {
    /// The IdP refused the grant, or its ID token failed verification (401 to the caller).
    #[error("{0}")]
    Refused(String),
    /// The IdP could not be reached or answered nonsense (502 to the caller).
    #[error("{0}")]
    Unavailable(String),
}

/// The guest as the verified ID token names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VerifiedGuest {
    pub(crate) sub: String,
    pub(crate) email: Option<String>,
    pub(crate) given_name: Option<String>,
    pub(crate) family_name: Option<String>,
}

/// What one token response of the IdP gave.
pub(crate) struct IdpGrant {
    /// `None` when a refresh response carried no ID token (the old claims stand).
    pub(crate) guest: Option<VerifiedGuest>,
    /// The IdP access token's `expires_in`.
    pub(crate) expires_in: Option<Duration>,
    /// The (possibly rotated) refresh token, kept server-side only.
    pub(crate) refresh_token: Option<String>,
}

/// The `oauth` object of a code exchange, already checked by Genesys' rules.
pub(crate) struct CodeRedemption {
    pub(crate) code: String,
    pub(crate) redirect_uri: String,
    pub(crate) nonce: Option<String>,
    pub(crate) max_age: Option<u64>,
    pub(crate) code_verifier: Option<String>,
}

pub(crate) struct RelyingParty {
    http: reqwest::Client,
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: ClientSecret,
    discovered: Mutex<Option<(Instant, CoreProviderMetadata)>>,
}

impl RelyingParty {
    pub(crate) fn new(config: &WebMessagingConfig) -> Result<Self, String> {
        // The IdP's answers are never followed elsewhere (SSRF, mix-up): redirects are off.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("web_messaging: HTTP client: {e}"))?;
        let issuer = config.idp_issuer.as_str().trim_end_matches('/').to_string();
        Ok(Self {
            http,
            issuer: IssuerUrl::new(issuer).map_err(|e| format!("web_messaging.idp_issuer: {e}"))?,
            client_id: ClientId::new(config.client_id.clone()),
            client_secret: ClientSecret::new(config.client_secret.clone()),
            discovered: Mutex::new(None),
        })
    }

    /// The issuer as configured (what `oauth.iss` must equal).
    pub(crate) fn issuer(&self) -> &str {
        self.issuer.as_str()
    }

    async fn metadata(&self, fresh: bool) -> Result<CoreProviderMetadata, RpError> {
        if !fresh {
            let cached = self.discovered.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((at, metadata)) = cached.as_ref() {
                if at.elapsed() < DISCOVERY_TTL {
                    return Ok(metadata.clone());
                }
            }
        }
        // Discovery checks that the metadata's issuer is the one asked for, and reads the JWKS.
        let metadata = CoreProviderMetadata::discover_async(self.issuer.clone(), &self.http)
            .await
            .map_err(|e| RpError::Unavailable(format!("OpenID discovery failed: {e}")))?;
        *self.discovered.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now(), metadata.clone()));
        Ok(metadata)
    }

    fn client(&self, metadata: CoreProviderMetadata) -> Client {
        CoreClient::from_provider_metadata(
            metadata,
            self.client_id.clone(),
            Some(self.client_secret.clone()),
        )
    }

    /// Redeems the guest's code (with the PKCE verifier, `client_secret_basic`) and verifies the
    /// ID token: signature by `jwks_uri`, `iss`, `aud`, `exp`, `nonce`, `auth_time` vs `maxAge`.
    pub(crate) async fn redeem(&self, r: CodeRedemption) -> Result<IdpGrant, RpError> {
        let client = self.client(self.metadata(false).await?);
        let redirect = RedirectUrl::new(r.redirect_uri)
            .map_err(|e| RpError::Refused(format!("redirectUri: {e}")))?;
        let mut request = client
            .exchange_code(AuthorizationCode::new(r.code))
            .map_err(|e| RpError::Unavailable(e.to_string()))?
            .set_redirect_uri(std::borrow::Cow::Owned(redirect));
        if let Some(v) = r.code_verifier {
            request = request.set_pkce_verifier(PkceCodeVerifier::new(v));
        }
        let tokens = request
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        let id_token = tokens
            .id_token()
            .ok_or_else(|| RpError::Refused("the IdP's token response has no id_token".into()))?;
        let check = Expectation {
            nonce: r.nonce.as_deref(),
            max_age: r.max_age,
        };
        let guest = match self.verify(&client, id_token, &check) {
            Err(ClaimsVerificationError::SignatureVerification(_)) => {
                // The IdP may have rotated its key since the cached discovery.
                let fresh = self.client(self.metadata(true).await?);
                self.verify(&fresh, id_token, &check)
            }
            other => other,
        }
        .map_err(|e| RpError::Refused(format!("the ID token failed verification: {e}")))?;
        Ok(IdpGrant {
            guest: Some(guest),
            expires_in: tokens.expires_in(),
            refresh_token: tokens.refresh_token().map(|t| t.secret().clone()),
        })
    }

    /// Re-validates the guest at the IdP with its refresh token (`invalid_grant` for a
    /// disabled guest). A refreshed ID token must name the same subject.
    pub(crate) async fn refresh(
        &self,
        refresh_token: &str,
        expected_sub: &str,
    ) -> Result<IdpGrant, RpError> {
        let client = self.client(self.metadata(false).await?);
        let token = RefreshToken::new(refresh_token.to_string());
        let tokens = client
            .exchange_refresh_token(&token)
            .map_err(|e| RpError::Unavailable(e.to_string()))?
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        let guest = match tokens.id_token() {
            None => None,
            Some(id_token) => {
                let guest = self
                    .verify_refreshed(&client, id_token)
                    .map_err(|e| RpError::Refused(format!("refreshed ID token: {e}")))?;
                if guest.sub != expected_sub {
                    return Err(RpError::Refused(
                        "the refreshed ID token names another subject".into(),
                    ));
                }
                Some(guest)
            }
        };
        Ok(IdpGrant {
            guest,
            expires_in: tokens.expires_in(),
            refresh_token: tokens.refresh_token().map(|t| t.secret().clone()),
        })
    }

    fn verify(
        &self,
        client: &Client,
        id_token: &CoreIdToken,
        check: &Expectation<'_>,
    ) -> Result<VerifiedGuest, ClaimsVerificationError> {
        let max_age = check.max_age;
        let verifier =
            client
                .id_token_verifier()
                .set_auth_time_verifier_fn(move |auth_time| match (max_age, auth_time) {
                    (None, _) => Ok(()),
                    (Some(_), None) => {
                        Err("maxAge was sent but the ID token has no auth_time".into())
                    }
                    (Some(max), Some(t)) => {
                        let age = time::OffsetDateTime::now_utc().unix_timestamp() - t.timestamp();
                        if age <= i64::try_from(max).unwrap_or(i64::MAX) {
                            Ok(())
                        } else {
                            Err(format!("auth_time is {age} s old, more than maxAge {max}"))
                        }
                    }
                });
        let expected = check.nonce;
        let claims = id_token.claims(&verifier, |found: Option<&Nonce>| {
            // A nonce must be echoed exactly; one that was not asked for is refused too.
            match (expected, found) {
                (None, None) => Ok(()),
                (Some(e), Some(f)) if constant_time_eq(e, f.secret()) => Ok(()),
                (None, Some(_)) => Err("the ID token has a nonce but none was sent".into()),
                _ => Err("the nonce does not match".into()),
            }
        })?;
        Ok(guest_of(claims))
    }

    /// A refreshed ID token may carry the original nonce (OIDC Core §12.2): not checked.
    fn verify_refreshed(
        &self,
        client: &Client,
        id_token: &CoreIdToken,
    ) -> Result<VerifiedGuest, ClaimsVerificationError> {
        let verifier = client.id_token_verifier();
        let claims = id_token.claims(&verifier, |_: Option<&Nonce>| Ok(()))?;
        Ok(guest_of(claims))
    }
}

type Client = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

struct Expectation<'a> {
    nonce: Option<&'a str>,
    max_age: Option<u64>,
}

fn guest_of(claims: &openidconnect::core::CoreIdTokenClaims) -> VerifiedGuest {
    let localized = |c: Option<&openidconnect::LocalizedClaim<_>>| {
        c.and_then(|n| n.get(None))
            .map(|n: &openidconnect::EndUserGivenName| n.as_str().to_string())
    };
    VerifiedGuest {
        sub: claims.subject().as_str().to_string(),
        email: claims.email().map(|e| e.as_str().to_string()),
        given_name: localized(claims.given_name()),
        family_name: claims
            .family_name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_string()),
    }
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

fn token_error<RE: std::error::Error + 'static>(
    e: RequestTokenError<
        RE,
        openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
    >,
) -> RpError {
    match e {
        RequestTokenError::ServerResponse(r) => RpError::Refused(format!(
            "the IdP refused the grant: {}{}",
            r.error().as_ref(),
            r.error_description()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        )),
        RequestTokenError::Request(e) => RpError::Unavailable(format!("IdP token request: {e}")),
        RequestTokenError::Parse(e, _) => {
            RpError::Unavailable(format!("the IdP's token response is not valid: {e}"))
        }
        RequestTokenError::Other(e) => RpError::Unavailable(format!("IdP token request: {e}")),
    }
}
