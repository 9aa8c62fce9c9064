//! `GET /sandbox/profile-images/{userId}/{resolution}.svg`: the pictures a user's `images[]`
//! point to (Genesys serves them from its own CDN; the sandbox draws the user's initials).

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::org::profile_image_svg;
use crate::SandboxState;

pub(crate) async fn profile_image(
    State(s): State<SandboxState>,
    Path((user_id, file)): Path<(String, String)>,
) -> Response {
    let svg = file
        .strip_suffix(".svg")
        .and_then(|resolution| profile_image_svg(s.org(), &user_id, resolution));
    match svg {
        Some(svg) => (
            [
                (header::CONTENT_TYPE, "image/svg+xml"),
                (header::CACHE_CONTROL, "public, max-age=86400"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                // An SVG opened on its own must not run anything.
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; style-src 'unsafe-inline'",
                ),
            ],
            svg,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such image").into_response(),
    }
}
