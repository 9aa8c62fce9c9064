//! The baseline of the directory benchmark: what `/users` costs with no portal around it. A
//! bare axum handler that makes the portal's upstream call (`GET /api/v2/users`, active users,
//! by name, 25 a page, presence expanded) with the same `genesys` HTTP client against an
//! embedded sandbox seeded like the portal's, and writes the same table as a string. No
//! session, no grant, no Leptos rendering (the initials and the presence class come from the
//! plain functions in `app::ui` the portal uses). `scripts/bench-directory.sh` runs it next to
//! the portal.
//! `cargo run --release -p server --example bare_directory -- PORT USERS`

use std::{fmt::Write, sync::Arc};

use axum::{extract::State, http::StatusCode, response::Html, routing::get, Router};
use genesys::{
    AccessToken, ClientId, ClientOptions, ClientSecret, Environment, GenesysClient, SortOrder,
    StateFilter, UserListQuery,
};

/// The portal's allocator, so that the ratio measures the portal's code and not the allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Bare {
    genesys: GenesysClient,
    token: AccessToken,
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: bare_directory PORT USERS";
    let port: u16 = args.next().and_then(|a| a.parse().ok()).expect(usage);
    let users: usize = args.next().and_then(|a| a.parse().ok()).expect(usage);
    let sandbox = sandbox::spawn(sandbox::SandboxConfig {
        bind: ([127, 0, 0, 1], 0).into(),
        users,
        // The portal's default SANDBOX_SEED: the same org, so the same 25 users a page.
        seed: 42,
        rate_limit_per_minute: 0,
        ..Default::default()
    })
    .await
    .expect("the sandbox starts");
    let base = sandbox.base_url();
    let env = Environment::custom(base.as_str(), base.as_str()).expect("a loopback URL");
    let genesys = GenesysClient::new(env, ClientOptions::default()).expect("the HTTP client");
    let token = genesys
        .client_credentials(
            &ClientId::new(sandbox::SERVICE_CLIENT_ID),
            &ClientSecret::new(sandbox::SERVICE_CLIENT_SECRET),
            &[],
        )
        .await
        .expect("a service token")
        .access_token;
    let app = Router::new()
        .route("/users", get(directory))
        .with_state(Arc::new(Bare { genesys, token }));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind");
    axum::serve(listener, app).await.expect("serve");
    drop(sandbox);
}

async fn directory(State(bare): State<Arc<Bare>>) -> Result<Html<String>, StatusCode> {
    let query = UserListQuery::by_state(StateFilter::Active, SortOrder::Ascending, 1, 25);
    let page = bare
        .genesys
        .list_users(&bare.token, &query)
        .await
        .map_err(|_| StatusCode::BAD_GATEWAY)?
        .body;
    // The portal's table and pager, element for element and attribute for attribute (classes,
    // test ids, the sort link, the per-cell labels the narrow layout shows): the same HTML
    // the portal sends for them, written as a string.
    let mut html = String::with_capacity(24 * 1024);
    html.push_str(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Directory</title>\
         </head><body><main><h1>Directory</h1><div class=\"table-wrap\"><table class=\"users\">\
         <thead><tr><th scope=\"col\"><span class=\"visually-hidden\">Photo</span></th>\
         <th scope=\"col\" aria-sort=\"ascending\"><a href=\"/users?sort=descending\" \
         data-view=\"\" data-testid=\"sort-by-name\" title=\"Sort by name, Z to A\" class=\"sort-link\">Name \
         <span aria-hidden=\"true\">\u{25b2}</span></a></th><th scope=\"col\">Email</th>\
         <th scope=\"col\">Title</th><th scope=\"col\">Department</th><th scope=\"col\">Division</th>\
         <th scope=\"col\">State</th><th scope=\"col\">Presence</th></tr></thead><tbody>",
    );
    let pages = page.pages();
    for u in page.entities {
        let cell = |v: Option<&str>| escape(v.unwrap_or_default());
        let presence = u.presence.as_ref().and_then(|p| p.system_presence());
        let state = u.state.map_or("unknown", |s| s.as_str());
        let _ = write!(
            html,
            "<tr data-testid=\"user-row\"><td class=\"cell-avatar\"><span aria-hidden=\"true\" \
             class=\"avatar avatar-small avatar-initials\">{initials}</span></td>\
             <td class=\"cell-name\"><a href=\"/users/{id}\" data-testid=\"user-name\">{name}</a></td>\
             <td data-label=\"Email\" class=\"cell-email\">{email}</td>\
             <td data-label=\"Title\" class=\"cell-title\">{title}</td>\
             <td data-label=\"Department\" class=\"cell-department\">{department}</td>\
             <td data-label=\"Division\" class=\"cell-division\">{division}</td>\
             <td data-label=\"State\" class=\"cell-state\"><span class=\"state state-{state}\">{state}</span></td>\
             <td data-label=\"Presence\" class=\"cell-presence\"><span class=\"{presence_class}\">{presence}</span></td></tr>",
            initials = escape(&app::ui::initials(&u.name)),
            id = escape(&u.id),
            name = escape(&u.name),
            email = cell(u.email.as_deref()),
            title = cell(u.title.as_deref()),
            department = cell(u.department.as_deref()),
            division = cell(u.division.as_ref().and_then(|d| d.name.as_deref())),
            presence_class = escape(&app::ui::presence_class(presence)),
            presence = cell(presence),
        );
    }
    let _ = write!(
        html,
        "</tbody></table></div><nav aria-label=\"Pages\" class=\"pager\">\
         <a href=\"/users\" data-view=\"\" aria-disabled=\"true\" data-testid=\"first\" class=\"button button-small disabled\">\u{ab} First</a>\
         <a href=\"/users\" data-view=\"\" aria-disabled=\"true\" data-testid=\"previous\" class=\"button button-small disabled\">\u{2039} Previous</a>\
         <span>Page {number} of {pages}</span>\
         <a href=\"/users?page=2\" data-view=\"\" aria-disabled=\"false\" data-testid=\"next\" class=\"button button-small\">Next \u{203a}</a>\
         <a href=\"/users?page={pages}\" data-view=\"\" aria-disabled=\"false\" data-testid=\"last\" class=\"button button-small\">Last \u{bb}</a>\
         </nav><p>{total} users</p></main></body></html>",
        number = page.page_number,
        total = page.total,
    );
    Ok(Html(html))
}

/// Text-node escaping, as Leptos writes text (`"` needs none outside attributes; the only
/// attribute value from upstream is the id, which is a UUID).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out
}
