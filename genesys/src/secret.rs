//! Newtypes for every secret the protocol handles. They print `[redacted]` in `Debug` and
//! `Display`, have no `PartialEq` (compare in constant time where comparing is needed).

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

macro_rules! secret_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        ///
        /// Shared, not copied: a clone is one reference-count increment (the service token is
        /// read on every request).
        pub struct $name(std::sync::Arc<str>);

        impl $name {
            /// Wraps a secret value.
            pub fn new(value: impl Into<String>) -> Self {
                Self(std::sync::Arc::from(value.into()))
            }

            /// The secret itself. Every call site is a place where the secret leaves its
            /// wrapper: keep them few and never log the result.
            pub fn secret(&self) -> &str {
                &self.0
            }

            /// Compares with `other` in constant time (for equal lengths).
            pub fn ct_eq(&self, other: &str) -> bool {
                self.0.as_bytes().ct_eq(other.as_bytes()).into()
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                String::deserialize(deserializer).map(Self::new)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("[redacted]")
            }
        }
    };
}

secret_type!(
    /// An OAuth access token (opaque in Genesys Cloud: never decode it).
    #[derive(Clone)]
    AccessToken
);
secret_type!(
    /// An OAuth refresh token.
    #[derive(Clone)]
    RefreshToken
);
secret_type!(
    /// An OAuth client secret.
    #[derive(Clone)]
    ClientSecret
);
secret_type!(
    /// An authorization code from the callback (single use).
    AuthorizationCode
);
secret_type!(
    /// The `state` value of an authorization request (≥128 bits from a CSPRNG).
    #[derive(Clone)]
    CsrfState
);
secret_type!(
    /// A PKCE code verifier (RFC 7636). Deliberately not `Clone`: it is used once.
    PkceVerifier
);
secret_type!(
    /// The `jwt` Genesys' Web Messaging issues an authenticated guest (the Messenger's
    /// session credential; bearer for `token/revoke`).
    #[derive(Clone)]
    GuestJwt
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_redact_themselves() {
        let t = AccessToken::new("very-secret-token");
        assert_eq!(format!("{t}"), "[redacted]");
        assert_eq!(format!("{t:?}"), "AccessToken([redacted])");
        assert!(!format!("{:?}", PkceVerifier::new("abc")).contains("abc"));
    }

    #[test]
    fn constant_time_comparison() {
        let s = CsrfState::new("abcdef");
        assert!(s.ct_eq("abcdef"));
        assert!(!s.ct_eq("abcdeg"));
        assert!(!s.ct_eq("abc"));
    }
}
