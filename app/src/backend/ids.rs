//! Identifiers the backend hands out (grant ids, export ids): 128 random bits, so they cannot
//! be guessed or enumerated.

/// A 128-bit random identifier, hex encoded.
pub fn random_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
