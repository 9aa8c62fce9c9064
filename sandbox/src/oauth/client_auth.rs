//! Who is calling the token endpoint: a confidential client by HTTP Basic only (RFC 6749
//! §2.3.1, secrets compared in constant time), a public client by its `client_id`.

use axum::http::{header, HeaderMap};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use genesys::ClientSecret;
use subtle::ConstantTimeEq;

use super::Params;
use crate::config::ClientConfig;
use crate::respond::TokenError;
use crate::SandboxState;

/// Who is calling the token endpoint.
pub(super) fn authenticate<'a>(
    s: &'a SandboxState,
    headers: &HeaderMap,
    form: &Params,
) -> Result<&'a ClientConfig, TokenError> {
    if form.get("client_secret").is_some() {
        return Err(TokenError::invalid_client(
            "Send the client secret with HTTP Basic authentication, not in the body.",
        ));
    }
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value.to_str().unwrap_or("");
        let encoded = value
            .strip_prefix("Basic ")
            .or_else(|| value.strip_prefix("basic "))
            .ok_or_else(|| {
                TokenError::invalid_client("Only HTTP Basic client authentication is supported.")
            })?;
        let decoded = STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| TokenError::invalid_client("The Basic credentials are malformed."))?;
        let (id, secret) = decoded
            .split_once(':')
            .ok_or_else(|| TokenError::invalid_client("The Basic credentials are malformed."))?;
        let id = percent_decode(id);
        let secret = ClientSecret::new(percent_decode(secret));
        // Genesys' own descriptions, in its lower case.
        let client = s
            .client(&id)
            .ok_or_else(|| TokenError::invalid_client("client not found"))?;
        let expected = client
            .secret
            .as_deref()
            .ok_or_else(|| TokenError::invalid_client("authentication failed"))?;
        let matches: bool = expected.as_bytes().ct_eq(secret.secret().as_bytes()).into();
        if !matches {
            return Err(TokenError::invalid_client("authentication failed"));
        }
        if form
            .get("client_id")
            .is_some_and(|body_id| body_id != client.id)
        {
            return Err(TokenError::invalid_request(
                "client_id does not match the authenticated client.",
            ));
        }
        return Ok(client);
    }
    let id = form
        .get("client_id")
        .ok_or_else(|| TokenError::invalid_client("Client authentication is required."))?;
    let client = s
        .client(id)
        .ok_or_else(|| TokenError::invalid_client("client not found"))?;
    if !client.is_public() {
        return Err(TokenError::invalid_client(
            "This is a confidential client: authenticate with HTTP Basic.",
        ));
    }
    Ok(client)
}

/// RFC 6749 §2.3.1: the client id and secret are encoded before Basic. `%XX` is decoded;
/// every other byte (`&`, `+`, `=`, a `%` not followed by two hex digits) stands for itself, so
/// a client that sends them unencoded, as most do, authenticates too.
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn credentials_decode_percent_escapes_and_keep_everything_else() {
        assert_eq!(percent_decode("a%26b%2Bc%25d%3Ae"), "a&b+c%d:e");
        assert_eq!(percent_decode("a&b+c=d"), "a&b+c=d");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("50%zz"), "50%zz");
        assert_eq!(percent_decode("plain-Secret_123"), "plain-Secret_123");
    }
}
