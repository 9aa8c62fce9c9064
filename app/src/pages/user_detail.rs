//! `/users/:id`: everything the API says about one user, with a link to their manager.

use leptos::{either::Either, prelude::*};
use leptos_router::hooks::use_params_map;

use crate::{
    api::get_user_detail,
    model::UserDetail,
    ui::{Avatar, ErrorView, Loading},
};

#[component]
pub fn UserDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").unwrap_or_default()));
    let user = ArcResource::new(move || id.get(), get_user_detail);
    view! {
        <p><a href="/users" data-testid="back-to-directory">"← Directory"</a></p>
        <Suspense fallback=|| view! { <Loading what="the user"/> }>
            {let user = user.clone(); move || { let user = user.clone(); Suspend::new(async move {
                match user.await {
                    Ok(d) => Either::Left(view! { <UserDetailView d/> }),
                    Err(error) => Either::Right(view! { <ErrorView error/> }),
                }
            })}}
        </Suspense>
    }
}

#[component]
fn UserDetailView(d: UserDetail) -> impl IntoView {
    let dash = |v: Option<String>| v.unwrap_or_else(|| "—".to_string());
    let r = d.row;
    view! {
        <section class="card profile">
            <Avatar name=r.name.clone() image_url=r.image_url.clone() small=true/>
            <div>
                <h1 data-testid="detail-name">{r.name.clone()}</h1>
                <p class="muted">{dash(r.title.clone())}</p>
            </div>
        </section>
        <section class="card">
            <dl class="fields">
                <dt>"Email"</dt><dd>{dash(r.email)}</dd>
                <dt>"Username"</dt><dd>{dash(d.username)}</dd>
                <dt>"Department"</dt><dd>{dash(r.department)}</dd>
                <dt>"Division"</dt><dd>{dash(r.division)}</dd>
                <dt>"State"</dt><dd>{r.state}</dd>
                <dt>"Presence"</dt><dd>{dash(r.presence)}</dd>
                <dt>"Presence since"</dt><dd>{dash(d.presence_modified)}</dd>
                <dt>"Phone"</dt>
                <dd data-testid="detail-phones">{if d.phones.is_empty() { "—".to_string() } else { d.phones.join(", ") }}</dd>
                <dt>"Last sign-in"</dt><dd data-testid="detail-last-login">{dash(d.last_login)}</dd>
                <dt>"Manager"</dt>
                <dd>{match d.manager_id {
                    Some(m) => Either::Left(view! { <a href=format!("/users/{m}")>"View manager"</a> }),
                    None => Either::Right("—"),
                }}</dd>
                <dt>"User id"</dt><dd><code>{r.id}</code></dd>
                <dt>"Version"</dt><dd>{d.version.map(|v| v.to_string()).unwrap_or_else(|| "—".into())}</dd>
            </dl>
        </section>
    }
}
