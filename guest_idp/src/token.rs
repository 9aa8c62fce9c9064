//! `POST /token` (RFC 6749 §3.2): the authorization code grant with PKCE (§4.1.3, RFC 7636
//! §4.6) and the refresh token grant with rotation and replay detection (§6, RFC 9700 §4.14.2).

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::client_auth::{authenticate, presented};
use crate::clock::{ms, now_ms};
use crate::config::RelyingParty;
use crate::form::Params;
use crate::id_token::IdTokenRequest;
use crate::limits::RemoteAddr;
use crate::oauth_error::TokenError;
use crate::pages;
use crate::secret::{ct_eq_str, random_token, s256, token_hash};
use crate::store;
use crate::store::grants::{CodeUse, RefreshUse, TokenGrant};
use crate::Idp;

const MAX_BODY: usize = 16 * 1024;

pub(crate) async fn token(
    State(idp): State<Idp>,
    addr: RemoteAddr,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match handle(&idp, &addr, &headers, body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn handle(
    idp: &Idp,
    addr: &RemoteAddr,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, TokenError> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| {
            essence
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form {
        return Err(TokenError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| TokenError::invalid_request("the body is too large or unreadable"))?;
    let params = Params::parse(&bytes).map_err(TokenError::invalid_request)?;
    let credentials = presented(headers, &params);
    // Only registered ids get a bucket of their own, so made-up ids cannot grow the limiter.
    let known_client = credentials
        .as_ref()
        .ok()
        .map(|c| c.client_id.as_str())
        .filter(|id| idp.config().client(id).is_some());
    if let Err(wait) = idp.limits().token(addr, known_client) {
        return Ok(too_many(wait));
    }
    let client = authenticate(idp.config(), &credentials?)?;
    match params.get("grant_type") {
        Some("authorization_code") => idp.code_grant(client, &params).await,
        Some("refresh_token") => idp.refresh_grant(client, &params).await,
        Some(_) => Err(TokenError::new(
            "unsupported_grant_type",
            "use authorization_code or refresh_token",
        )),
        None => Err(TokenError::invalid_request("grant_type is required")),
    }
}

fn too_many(wait: u64) -> Response {
    let body = serde_json::json!({ "error": "temporarily_unavailable", "error_description": "too many requests" });
    let mut r = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    pages::no_store(r.headers_mut());
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(wait));
    r
}

/// RFC 7636 §4.1: 43 to 128 characters of `A-Z a-z 0-9 - . _ ~`.
fn verifier_is_valid(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

impl Idp {
    async fn code_grant(&self, client: &RelyingParty, p: &Params) -> Result<Response, TokenError> {
        let code = p
            .get("code")
            .ok_or_else(|| TokenError::invalid_request("code is required"))?;
        let redirect_uri = p
            .get("redirect_uri")
            .ok_or_else(|| TokenError::invalid_request("redirect_uri is required"))?;
        let verifier = p
            .get("code_verifier")
            .ok_or_else(|| TokenError::invalid_request("code_verifier is required"))?;
        if !verifier_is_valid(verifier) {
            return Err(TokenError::invalid_request(
                "code_verifier must be 43 to 128 unreserved characters",
            ));
        }
        let actor = format!("client:{}", client.client_id);
        let record = match store::grants::use_code(self.pool(), &token_hash(code)).await? {
            CodeUse::Fresh(r) => r,
            CodeUse::Unknown => return Err(TokenError::invalid_grant("the code is invalid")),
            CodeUse::Replayed(family) => {
                // RFC 6749 §4.1.2: a code used twice revokes what it was exchanged for.
                store::grants::revoke_family(self.pool(), &family).await?;
                self.record(
                    &actor,
                    "token.code_replayed",
                    None,
                    Some(format!("family {family} revoked")),
                )
                .await;
                return Err(TokenError::invalid_grant("the code was already used"));
            }
        };
        let refuse = |why: &str| Err(TokenError::invalid_grant(why));
        if record.expires_ms <= now_ms() {
            return refuse("the code has expired");
        }
        if record.client_id != client.client_id {
            return refuse("the code was issued to another client");
        }
        if record.redirect_uri != redirect_uri {
            return refuse("redirect_uri differs from the authorization request");
        }
        if !ct_eq_str(&s256(verifier), &record.code_challenge) {
            return refuse("the code_verifier does not match the code_challenge");
        }
        let grant = TokenGrant {
            family_id: record.family_id,
            client_id: record.client_id,
            guest_id: record.guest_id,
            scope: record.scope,
            auth_time: record.auth_time,
        };
        let response = self
            .issue(&grant, &grant.scope, record.nonce.as_deref(), true)
            .await?;
        self.record(
            &actor,
            "token.issued",
            Some(&grant.guest_id),
            Some(format!("family {}", grant.family_id)),
        )
        .await;
        Ok(response)
    }

    async fn refresh_grant(
        &self,
        client: &RelyingParty,
        p: &Params,
    ) -> Result<Response, TokenError> {
        let token = p
            .get("refresh_token")
            .ok_or_else(|| TokenError::invalid_request("refresh_token is required"))?;
        let actor = format!("client:{}", client.client_id);
        let grant =
            match store::grants::use_refresh(self.pool(), &token_hash(token), now_ms()).await? {
                RefreshUse::Fresh(g) => g,
                RefreshUse::Invalid => {
                    return Err(TokenError::invalid_grant(
                        "the refresh token is invalid or expired",
                    ))
                }
                RefreshUse::Replayed(family) => {
                    store::grants::revoke_family(self.pool(), &family).await?;
                    self.record(
                        &actor,
                        "token.refresh_replayed",
                        None,
                        Some(format!("family {family} revoked")),
                    )
                    .await;
                    return Err(TokenError::invalid_grant(
                        "the refresh token was already used",
                    ));
                }
            };
        if grant.client_id != client.client_id {
            store::grants::revoke_family(self.pool(), &grant.family_id).await?;
            return Err(TokenError::invalid_grant(
                "the refresh token was issued to another client",
            ));
        }
        // RFC 6749 §6: a narrower scope applies to the new access token; the grant keeps its own.
        let scope = match p.get("scope") {
            None => grant.scope.clone(),
            Some(s) => {
                let granted: Vec<&str> = grant.scope.split(' ').collect();
                let within = s
                    .split(' ')
                    .filter(|x| !x.is_empty())
                    .all(|x| granted.contains(&x));
                if !within || !s.split(' ').any(|x| x == "openid") {
                    // The client's mistake must not burn its token (the next use would look
                    // like a replay and revoke the family).
                    store::grants::unspend_refresh(self.pool(), &token_hash(token)).await?;
                    return Err(TokenError::new(
                        "invalid_scope",
                        "the scope exceeds the original grant",
                    ));
                }
                s.to_owned()
            }
        };
        let response = self.issue(&grant, &scope, None, false).await?;
        self.record(
            &actor,
            "token.refreshed",
            Some(&grant.guest_id),
            Some(format!("family {}", grant.family_id)),
        )
        .await;
        Ok(response)
    }

    /// Issues access token, ID token and (with `offline_access` in the grant) a refresh token.
    async fn issue(
        &self,
        grant: &TokenGrant,
        scope: &str,
        nonce: Option<&str>,
        first: bool,
    ) -> Result<Response, TokenError> {
        let guest = store::guests::get(self.pool(), &grant.guest_id).await?;
        let Some(guest) = guest.filter(|g| !g.disabled) else {
            store::grants::revoke_family(self.pool(), &grant.family_id).await?;
            return Err(TokenError::invalid_grant(
                "the guest is disabled or deleted",
            ));
        };
        let config = self.config();
        let now = now_ms();
        let access_token = random_token();
        store::grants::insert_access(
            self.pool(),
            &token_hash(&access_token),
            &TokenGrant {
                scope: scope.to_owned(),
                ..grant.clone()
            },
            now.saturating_add(ms(config.access_token_ttl)),
        )
        .await?;
        let id_token = self.id_token(
            &guest,
            &IdTokenRequest {
                client_id: &grant.client_id,
                nonce,
                auth_time: grant.auth_time,
                scope,
            },
        )?;
        let mut body = serde_json::json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": config.access_token_ttl.as_secs().max(1),
            "id_token": id_token,
            "scope": scope,
        });
        let offline = grant.scope.split(' ').any(|s| s == "offline_access");
        if offline {
            let refresh = random_token();
            store::grants::insert_refresh(
                self.pool(),
                &token_hash(&refresh),
                grant,
                now.saturating_add(ms(config.refresh_token_ttl)),
            )
            .await?;
            body["refresh_token"] = refresh.into();
        }
        // A replay that raced this request revoked the family before these rows existed.
        if store::grants::family_revoked(self.pool(), &grant.family_id).await? {
            store::grants::revoke_family(self.pool(), &grant.family_id).await?;
            return Err(TokenError::invalid_grant("the grant was revoked"));
        }
        tracing::debug!(guest_id = %guest.id, first, offline, kid = %self.signing_kid(), "guest IdP tokens issued");
        let mut r = Json(body).into_response();
        pages::no_store(r.headers_mut());
        Ok(r)
    }
}
