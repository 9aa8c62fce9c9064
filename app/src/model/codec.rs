//! The server functions' JSON, read as text in the browser.
//!
//! Leptos reads an island's props with `serde_json::from_str` and, by default, a server
//! function's answer with `serde_json::from_slice`. Each of the two readers instantiates its own
//! copy of every model type's deserializer, so the wasm held each of those twice. Reading
//! answers as text too leaves one copy (and a body that is not UTF-8 was never valid JSON).

use leptos::server_fn::{codec::Post, Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::{de::DeserializeOwned, Serialize};

/// JSON, decoded from text. Same wire format as Leptos' `JsonEncoding`.
pub struct TextJson;

/// A server function answered with [`TextJson`] in a `POST`'s body: `#[server(output = Json)]`.
pub type Json = Post<TextJson>;

impl ContentType for TextJson {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for TextJson {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for TextJson {
    type Error = serde_json::Error;

    fn encode(output: &T) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(output).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for TextJson {
    type Error = serde_json::Error;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        let text = std::str::from_utf8(&bytes).map_err(serde::de::Error::custom)?;
        serde_json::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AppError;

    #[test]
    fn reads_what_it_writes_and_refuses_what_is_not_utf8_json() {
        let error = AppError::BadRequest {
            message: "ünïcode".into(),
        };
        let bytes = <TextJson as Encodes<AppError>>::encode(&error).unwrap();
        assert_eq!(
            <TextJson as Decodes<AppError>>::decode(bytes).unwrap(),
            error
        );
        let broken = Bytes::from_static(b"{\"BadRequest\":{\"message\":\"\xff\"}}");
        let e = <TextJson as Decodes<AppError>>::decode(broken).unwrap_err();
        assert!(e.to_string().contains("utf-8"), "{e}");
    }
}
