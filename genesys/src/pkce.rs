//! PKCE (RFC 7636) and the `state` parameter: fresh values from the operating system's CSPRNG,
//! and the S256 challenge that is the only method this crate sends.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};

use crate::secret::{CsrfState, PkceVerifier};

/// The 66 unreserved characters a verifier may use (RFC 7636 §4.1).
pub const VERIFIER_ALPHABET: &[u8; 66] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";

/// The shortest verifier RFC 7636 allows.
pub const MIN_VERIFIER_LEN: usize = 43;
/// The longest verifier RFC 7636 allows.
pub const MAX_VERIFIER_LEN: usize = 128;

/// A verifier length outside 43..=128.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a PKCE verifier must be 43 to 128 characters long, not {0}")]
pub struct VerifierLengthError(pub usize);

impl PkceVerifier {
    /// The recommended verifier: 32 bytes from the OS CSPRNG, base64url without padding
    /// (43 characters).
    pub fn generate() -> PkceVerifier {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        PkceVerifier::new(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A verifier of `len` characters drawn uniformly from the 66-character unreserved
    /// alphabet (what the official JS SDK's `generatePKCECodeVerifier(n)` does).
    pub fn generate_with_length(len: usize) -> Result<PkceVerifier, VerifierLengthError> {
        if !(MIN_VERIFIER_LEN..=MAX_VERIFIER_LEN).contains(&len) {
            return Err(VerifierLengthError(len));
        }
        let mut rng = OsRng;
        let value: String = (0..len)
            .map(|_| char::from(VERIFIER_ALPHABET[rng.gen_range(0..VERIFIER_ALPHABET.len())]))
            .collect();
        Ok(PkceVerifier::new(value))
    }
}

/// A PKCE code challenge. Only S256 is produced: `plain` would put the verifier in the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkceChallenge(String);

impl PkceChallenge {
    /// The S256 challenge of `verifier`: BASE64URL-NOPAD(SHA256(verifier)).
    pub fn s256(verifier: &PkceVerifier) -> PkceChallenge {
        PkceChallenge(PkceChallenge::s256_of(verifier.secret()))
    }

    /// `code_challenge = BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))` (RFC 7636 §4.2): the
    /// S256 transformation of a verifier given as text, without padding. This is also what an
    /// authorization server computes at the token endpoint (RFC 7636 §4.6) to compare with the
    /// challenge it stored, which is why it takes a plain `&str`.
    pub fn s256_of(verifier: &str) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
    }

    /// The challenge (43 base64url characters); it is public and goes in the authorize URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `code_challenge_method`: always `S256`.
    pub fn method(&self) -> &'static str {
        "S256"
    }
}

impl CsrfState {
    /// A fresh `state`: 32 bytes (256 bits) from the OS CSPRNG, base64url without padding.
    pub fn generate() -> CsrfState {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        CsrfState::new(URL_SAFE_NO_PAD.encode(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn in_alphabet(s: &str) -> bool {
        s.bytes().all(|b| VERIFIER_ALPHABET.contains(&b))
    }

    #[test]
    fn rfc7636_appendix_b_vector() {
        let verifier = PkceVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        let challenge = PkceChallenge::s256(&verifier);
        assert_eq!(
            challenge.as_str(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(challenge.method(), "S256");
        assert_eq!(
            PkceChallenge::s256_of("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn default_verifier_is_43_unreserved_characters() {
        let v = PkceVerifier::generate();
        assert_eq!(v.secret().len(), 43);
        assert!(in_alphabet(v.secret()));
        assert!(
            !PkceVerifier::generate().ct_eq(v.secret()),
            "two draws must differ"
        );
    }

    #[test]
    fn lengths_outside_43_to_128_are_refused() {
        for bad in [0, 1, 42, 129, 256] {
            assert_eq!(
                PkceVerifier::generate_with_length(bad).unwrap_err(),
                VerifierLengthError(bad)
            );
        }
        assert_eq!(
            PkceVerifier::generate_with_length(43)
                .unwrap()
                .secret()
                .len(),
            43
        );
        assert_eq!(
            PkceVerifier::generate_with_length(128)
                .unwrap()
                .secret()
                .len(),
            128
        );
    }

    #[test]
    fn state_has_at_least_128_bits() {
        let s = CsrfState::generate();
        // 43 base64url characters carry 256 bits.
        assert_eq!(s.secret().len(), 43);
        assert!(in_alphabet(s.secret()));
        assert!(!CsrfState::generate().ct_eq(s.secret()));
    }

    #[test]
    fn the_whole_alphabet_is_used() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            seen.extend(
                PkceVerifier::generate_with_length(128)
                    .unwrap()
                    .secret()
                    .bytes(),
            );
        }
        assert_eq!(
            seen.len(),
            66,
            "every unreserved character should appear in 25,600 draws"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn any_requested_length_gives_a_valid_verifier(len in 43usize..=128) {
            let v = PkceVerifier::generate_with_length(len).unwrap();
            prop_assert_eq!(v.secret().len(), len);
            prop_assert!(in_alphabet(v.secret()));
        }

        #[test]
        fn challenge_shape_holds(len in 43usize..=128) {
            let v = PkceVerifier::generate_with_length(len).unwrap();
            let c = PkceChallenge::s256(&v);
            prop_assert_eq!(c.as_str().len(), 43);
            prop_assert!(c.as_str().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            prop_assert_eq!(&c, &PkceChallenge::s256(&PkceVerifier::new(v.secret())));
            prop_assert_eq!(PkceChallenge::s256_of(v.secret()), c.as_str());
        }

        #[test]
        fn invalid_lengths_always_fail(len in prop_oneof![0usize..43, 129usize..10_000]) {
            prop_assert!(PkceVerifier::generate_with_length(len).is_err());
        }

        #[test]
        fn generated_verifiers_are_valid(_round in 0u8..=255) {
            let v = PkceVerifier::generate();
            prop_assert_eq!(v.secret().len(), 43);
            prop_assert!(in_alphabet(v.secret()));
            prop_assert_eq!(PkceChallenge::s256(&v).as_str().len(), 43);
        }
    }
}
