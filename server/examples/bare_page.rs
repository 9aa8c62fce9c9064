//! The baseline of the directory benchmark: a bare axum handler returning a fixed HTML page
//! of a given size, so the portal's SSR cost can be read against the framework's floor.
//! `cargo run --release -p server --example bare_page -- PORT BYTES`

use axum::{response::Html, routing::get, Router};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let port: u16 = args
        .next()
        .and_then(|a| a.parse().ok())
        .expect("usage: bare_page PORT BYTES");
    let bytes: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .expect("usage: bare_page PORT BYTES");
    let mut page = String::from("<!DOCTYPE html><html><body><table>");
    while page.len() + 30 < bytes {
        page.push_str("<tr><td>row of the page</td></tr>");
    }
    page.push_str("</table></body></html>");
    let page: &'static str = Box::leak(page.into_boxed_str());
    let app = Router::new().route("/", get(move || async move { Html(page) }));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
