//! The user directory: `GET /api/v2/users` paged, sorted and filtered by state, searched through
//! `POST /api/v2/users/search`, one user's details, and the CSV export. The view is the URL.

pub mod csv;
pub mod export;
pub mod query;

use leptos::{either::Either, prelude::*};
use leptos_router::{
    hooks::{use_navigate, use_params_map, use_query_map},
    NavigateOptions,
};
use serde::{Deserialize, Serialize};

use crate::{
    components::{Avatar, ErrorView, Loading},
    error::AppError,
};
use export::{ExportProgress, ExportStatus};
use query::{DirectoryQuery, Sort, StateView, PAGE_SIZES};

/// One row of the table: text only, whatever the API sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub title: Option<String>,
    pub department: Option<String>,
    pub division: Option<String>,
    pub state: String,
    pub presence: Option<String>,
    pub image_url: Option<String>,
}

/// One page of the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPage {
    pub users: Vec<UserRow>,
    pub total: u64,
    pub page: u32,
    pub page_count: u32,
    pub size: u32,
    pub searched: bool,
}

/// Everything the API says about one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDetail {
    pub row: UserRow,
    pub username: Option<String>,
    pub manager_id: Option<String>,
    pub division_id: Option<String>,
    pub version: Option<i64>,
    pub presence_modified: Option<String>,
}

#[cfg(feature = "ssr")]
mod ssr {
    use genesys::wire::{SortOrder, StateFilter, User};

    use super::{
        query::{Sort, StateView},
        UserRow,
    };

    pub fn sort_order(s: Sort) -> SortOrder {
        match s {
            Sort::Ascending => SortOrder::Ascending,
            Sort::Descending => SortOrder::Descending,
        }
    }

    pub fn state_filter(s: StateView) -> StateFilter {
        match s {
            StateView::Active => StateFilter::Active,
            StateView::Inactive => StateFilter::Inactive,
            StateView::Deleted => StateFilter::Deleted,
            StateView::Any => StateFilter::Any,
        }
    }

    pub fn row(u: User) -> UserRow {
        let image_url = crate::genesys_errors::picture(u.images.as_deref(), "x48");
        UserRow {
            id: u.id,
            name: u.name,
            email: u.email,
            title: u.title,
            department: u.department,
            division: u.division.and_then(|d| d.name),
            state: u.state.as_str().to_string(),
            presence: u.presence.map(|p| p.presence_definition.system_presence),
            image_url,
        }
    }
}

#[server]
pub async fn list_directory(query: DirectoryQuery) -> Result<UserPage, AppError> {
    use genesys::{
        wire::{SearchCriterion, UserSearchRequest},
        UserListQuery,
    };

    use crate::session;
    let portal = crate::request::portal()?;
    let session = crate::request::session().await?;
    if query.q.is_empty() {
        let list = UserListQuery {
            page_size: query.size,
            page_number: query.page,
            sort_order: ssr::sort_order(query.sort),
            state: ssr::state_filter(query.state),
            expand: vec!["presence".into()],
            ids: Vec::new(),
        };
        let (_, page) = session::with_user_token(&portal, &session, |token| {
            let (genesys, list) = (portal.genesys.clone(), list.clone());
            async move { genesys.list_users(&token, &list).await }
        })
        .await?;
        let page = page.body;
        Ok(UserPage {
            users: page.entities.into_iter().map(ssr::row).collect(),
            total: page.total,
            page: page.page_number,
            page_count: page.page_count,
            size: page.page_size,
            searched: false,
        })
    } else {
        let mut criteria = vec![SearchCriterion {
            kind: "QUERY_STRING".into(),
            fields: vec!["name".into(), "email".into()],
            value: Some(query.q.clone()),
        }];
        if query.state != StateView::Any {
            criteria.push(SearchCriterion {
                kind: "EXACT".into(),
                fields: vec!["state".into()],
                value: Some(query.state.as_str().into()),
            });
        }
        let request = UserSearchRequest {
            page_size: query.size,
            page_number: query.page,
            sort_order: Some(ssr::sort_order(query.sort)),
            sort_by: Some("name".into()),
            query: criteria,
            expand: vec!["presence".into()],
        };
        let (_, found) = session::with_user_token(&portal, &session, |token| {
            let (genesys, request) = (portal.genesys.clone(), request.clone());
            async move { genesys.search_users(&token, &request).await }
        })
        .await?;
        let found = found.body;
        Ok(UserPage {
            users: found.results.into_iter().map(ssr::row).collect(),
            total: found.total,
            page: found.page_number,
            page_count: found.page_count,
            size: found.page_size,
            searched: true,
        })
    }
}

#[server]
pub async fn get_user_detail(id: String) -> Result<UserDetail, AppError> {
    use crate::session;
    // Genesys user ids are UUIDs; anything else is not worth a request.
    if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(AppError::NotFound);
    }
    let portal = crate::request::portal()?;
    let session = crate::request::session().await?;
    let (_, user) = session::with_user_token(&portal, &session, |token| {
        let (genesys, id) = (portal.genesys.clone(), id.clone());
        async move { genesys.get_user(&token, &id, &["presence"]).await }
    })
    .await?;
    let user = user.body;
    let username = user.username.clone();
    let manager_id = user.manager.as_ref().map(|m| m.id.clone());
    let division_id = user.division.as_ref().map(|d| d.id.clone());
    let version = user.version;
    let presence_modified = user.presence.as_ref().and_then(|p| p.modified_date.clone());
    Ok(UserDetail {
        row: ssr::row(user),
        username,
        manager_id,
        division_id,
        version,
        presence_modified,
    })
}

#[server]
pub async fn start_export(state: String, sort: String) -> Result<String, AppError> {
    use crate::session;
    let portal = crate::request::portal()?;
    let session = crate::request::session().await?;
    let (user, user_token) = session::access_token(&portal, &session).await?;
    let (q, _) = DirectoryQuery::parse([("state", state.as_str()), ("sort", sort.as_str())]);
    // The export runs as the signed-in user, or as the portal itself when so configured.
    let (token, keep_alive): (_, Option<Box<dyn std::any::Any + Send>>) =
        match (&portal.service, portal.export_as_service) {
            (Some(manager), true) => {
                let guard = manager
                    .acquire()
                    .await
                    .map_err(|e| AppError::UpstreamUnavailable {
                        detail: format!("the portal's service identity has no token: {e}"),
                        context_id: None,
                    })?;
                (guard.token().clone(), Some(Box::new(guard)))
            }
            _ => (user_token, None),
        };
    let id = portal.exports.start(
        portal.genesys.clone(),
        token,
        &user.grant_id,
        q.state,
        q.sort,
        keep_alive,
    )?;
    leptos_axum::redirect(&format!("/users/export/{id}"));
    Ok(id)
}

#[server]
pub async fn get_export_progress(id: String) -> Result<ExportProgress, AppError> {
    let portal = crate::request::portal()?;
    let session = crate::request::session().await?;
    let user = crate::session::signed_in(&portal, &session)
        .await?
        .ok_or(AppError::NotSignedIn)?;
    portal.exports.progress(&id, &user.grant_id)
}

#[server]
pub async fn cancel_export(id: String) -> Result<(), AppError> {
    let portal = crate::request::portal()?;
    let session = crate::request::session().await?;
    let user = crate::session::signed_in(&portal, &session)
        .await?
        .ok_or(AppError::NotSignedIn)?;
    portal.exports.cancel(&id, &user.grant_id)
}

/// `/users`: the directory table.
#[component]
pub fn DirectoryPage() -> impl IntoView {
    let query_map = use_query_map();
    let parsed = Memo::new(move |_| {
        query_map.with(|m| DirectoryQuery::parse(m.latest_values().map(|(k, v)| (k.as_ref(), v))))
    });
    let view_query = Memo::new(move |_| parsed.get().0);
    let problems = Memo::new(move |_| parsed.get().1);
    let page = ArcResource::new(move || view_query.get(), list_directory);
    // While a page the user asked for loads, the old one stays visible, marked as stale. Set
    // by the controls, cleared when the page arrives; never on the server (no Transition
    // `set_pending`: its effect runs on the server too, after the request is gone).
    let pending = RwSignal::new(false);
    let navigate = use_navigate();
    let go = move |q: DirectoryQuery, replace: bool| {
        if q != view_query.get_untracked() {
            pending.set(true);
        }
        navigate(
            &q.href(),
            NavigateOptions {
                replace,
                scroll: false,
                ..Default::default()
            },
        );
    };

    // Searching as you type, once hydrated: wait for a pause before asking the server.
    let search_text = RwSignal::new(view_query.get_untracked().q);
    let typing_generation = StoredValue::new(0u64);
    let on_search_input = {
        let go = go.clone();
        move |ev: leptos::ev::Event| {
            let value = event_target_value(&ev);
            search_text.set(value.clone());
            typing_generation.update_value(|g| *g += 1);
            let generation = typing_generation.get_value();
            let go = go.clone();
            leptos::task::spawn_local(async move {
                #[cfg(feature = "hydrate")]
                gloo_timers::future::TimeoutFuture::new(300).await;
                if typing_generation.try_get_value() == Some(generation) {
                    let current = view_query.get_untracked();
                    if current.q != value.trim() {
                        go(
                            DirectoryQuery {
                                q: value.trim().to_string(),
                                page: 1,
                                ..current
                            },
                            true,
                        );
                    }
                }
            });
        }
    };
    let on_select = {
        let go = go.clone();
        move |field: &'static str| {
            let go = go.clone();
            move |ev: leptos::ev::Event| {
                let value = event_target_value(&ev);
                let current = view_query.get_untracked();
                let (parsed, _) = DirectoryQuery::parse([
                    ("size", if field == "size" { value.as_str() } else { "" }),
                    ("sort", if field == "sort" { value.as_str() } else { "" }),
                    ("state", if field == "state" { value.as_str() } else { "" }),
                ]);
                let next = match field {
                    "size" => DirectoryQuery {
                        size: parsed.size,
                        page: 1,
                        ..current
                    },
                    "sort" => DirectoryQuery {
                        sort: parsed.sort,
                        page: 1,
                        ..current
                    },
                    _ => DirectoryQuery {
                        state: parsed.state,
                        page: 1,
                        ..current
                    },
                };
                go(next, false);
            }
        }
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        // Once hydrated the controls navigate by themselves; the form is for browsers without JS.
        ev.prevent_default();
        let current = view_query.get_untracked();
        go(
            DirectoryQuery {
                q: search_text.get_untracked().trim().to_string(),
                page: 1,
                ..current
            },
            false,
        );
    };
    let export = ServerAction::<StartExport>::new();

    view! {
        <section class="card">
            <div class="toolbar">
                <h1>"Directory"</h1>
                <ActionForm action=export attr:class="inline-form">
                    <input type="hidden" name="state" value=move || view_query.get().state.as_str()/>
                    <input type="hidden" name="sort" value=move || view_query.get().sort.as_str()/>
                    <button type="submit" class="button" data-testid="export">"Export all to CSV"</button>
                </ActionForm>
            </div>
            {move || export.value().get().and_then(|r| r.err()).map(|error| view! { <ErrorView error/> })}
            <form method="get" action="/users" class="filters" on:submit=on_submit role="search">
                <label>
                    "Search "
                    <input type="search" name="q" placeholder="Name or email" maxlength="100" data-testid="search"
                        prop:value=move || search_text.get() on:input=on_search_input/>
                </label>
                <label>
                    "State "
                    <select name="state" data-testid="state" on:change=on_select("state")>
                        {StateView::ALL.iter().map(|s| {
                            let s = *s;
                            view! { <option value=s.as_str() selected=move || view_query.get().state == s>{s.label()}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label>
                    "Sort "
                    <select name="sort" data-testid="sort" on:change=on_select("sort")>
                        <option value="ascending" selected=move || view_query.get().sort == Sort::Ascending>"Name A–Z"</option>
                        <option value="descending" selected=move || view_query.get().sort == Sort::Descending>"Name Z–A"</option>
                    </select>
                </label>
                <label>
                    "Per page "
                    <select name="size" data-testid="size" on:change=on_select("size")>
                        {PAGE_SIZES.iter().map(|n| {
                            let n = *n;
                            view! { <option value=n.to_string() selected=move || view_query.get().size == n>{n}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <button type="submit" class="button button-small">"Apply"</button>
            </form>
            <ul class="notice" data-testid="query-problems">
                {move || problems.get().into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}
            </ul>
            <Transition fallback=|| view! { <Loading what="users"/> }>
                // `try_get` inside suspended views: Leptos may re-run them once the page is gone.
                <div class:stale=move || pending.try_get().unwrap_or(false) aria-busy=move || pending.try_get().unwrap_or(false).to_string() data-testid="directory">
                    {move || {
                        // Read now, in the render: the async block below may run after the page is gone.
                        let query = view_query.try_get().unwrap_or_default();
                        let page = page.clone();
                        Suspend::new(async move {
                            let answer = page.await;
                            if pending.try_get_untracked() == Some(true) {
                                pending.try_set(false);
                            }
                            match answer {
                                Ok(p) => Either::Left(view! { <UserTable page=p query/> }),
                                Err(error) => Either::Right(view! { <ErrorView error/> }),
                            }
                        })
                    }}
                </div>
            </Transition>
        </section>
    }
}

#[component]
fn UserTable(page: UserPage, query: DirectoryQuery) -> impl IntoView {
    if page.users.is_empty() {
        let message = if page.searched {
            "No user matches this search."
        } else {
            "No users in this state."
        };
        return Either::Left(view! { <p class="empty" data-testid="empty">{message}</p> });
    }
    let last = page.page_count.max(1);
    let current = page.page.min(last);
    let link = |n: u32| query.at_page(n).href();
    let (first_href, prev_href, next_href, last_href) = (
        link(1),
        link(current.saturating_sub(1).max(1)),
        link((current + 1).min(last)),
        link(last),
    );
    let at_start = current <= 1;
    let at_end = current >= last;
    Either::Right(view! {
        <p class="muted" data-testid="summary">
            <span data-testid="total">{page.total}</span> {if page.total == 1 { " user" } else { " users" }}
            " · page " <span data-testid="page-number">{current}</span> " of " <span data-testid="page-count">{last}</span>
        </p>
        <div class="table-wrap">
            <table class="users">
                <thead>
                    <tr><th></th><th>"Name"</th><th>"Email"</th><th>"Title"</th><th>"Department"</th><th>"Division"</th><th>"State"</th><th>"Presence"</th></tr>
                </thead>
                <tbody>
                    {page.users.into_iter().map(|u| {
                        let href = format!("/users/{}", u.id);
                        let presence_class = format!("presence presence-{}", u.presence.as_deref().unwrap_or("unknown").to_lowercase().replace(' ', "-"));
                        view! {
                            <tr data-testid="user-row">
                                <td><Avatar name=u.name.clone() image_url=u.image_url.clone() small=true/></td>
                                <td><a href=href data-testid="user-name">{u.name}</a></td>
                                <td>{u.email.unwrap_or_default()}</td>
                                <td>{u.title.unwrap_or_default()}</td>
                                <td>{u.department.unwrap_or_default()}</td>
                                <td>{u.division.unwrap_or_default()}</td>
                                <td><span class=format!("state state-{}", u.state)>{u.state.clone()}</span></td>
                                <td><span class=presence_class>{u.presence.unwrap_or_else(|| "—".into())}</span></td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        <nav class="pager" aria-label="Pages">
            <a href=first_href class="button button-small" class:disabled=at_start aria-disabled=at_start.to_string() data-testid="first">"« First"</a>
            <a href=prev_href class="button button-small" class:disabled=at_start aria-disabled=at_start.to_string() data-testid="previous">"‹ Previous"</a>
            <span>"Page " {current} " of " {last}</span>
            <a href=next_href class="button button-small" class:disabled=at_end aria-disabled=at_end.to_string() data-testid="next">"Next ›"</a>
            <a href=last_href class="button button-small" class:disabled=at_end aria-disabled=at_end.to_string() data-testid="last">"Last »"</a>
        </nav>
    })
}

/// `/users/:id`: one user.
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

/// `/users/export/:id`: the progress of an export, live once hydrated (refreshing without JS).
#[component]
pub fn ExportPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").unwrap_or_default()));
    let progress = ArcResource::new(move || id.get(), get_export_progress);
    let cancel = ServerAction::<CancelExport>::new();
    // Poll while running: one fetch 500 ms after each answer, until the job ends or the page is left.
    #[cfg(feature = "hydrate")]
    {
        let alive = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let on_leave = alive.clone();
        on_cleanup(move || on_leave.store(false, std::sync::atomic::Ordering::Relaxed));
        let progress = progress.clone();
        Effect::new(move |_| {
            if let Some(Ok(ExportProgress {
                status: ExportStatus::Running,
                ..
            })) = progress.get()
            {
                let alive = alive.clone();
                let progress = progress.clone();
                leptos::task::spawn_local(async move {
                    gloo_timers::future::TimeoutFuture::new(500).await;
                    if alive.load(std::sync::atomic::Ordering::Relaxed) {
                        progress.refetch();
                    }
                });
            }
        });
    }
    Effect::new({
        let progress = progress.clone();
        move |_| {
            if cancel.value().get().is_some() {
                progress.refetch();
            }
        }
    });
    view! {
        <section class="card">
            <h1>"Export to CSV"</h1>
            <Transition fallback=|| view! { <Loading what="the export"/> }>
                {let progress = progress.clone(); move || { let progress = progress.clone(); Suspend::new(async move {
                    match progress.await {
                        Ok(p) => Either::Left(view! { <ExportView p=p cancel=cancel/> }),
                        Err(error) => Either::Right(view! { <ErrorView error/> }),
                    }
                })}}
            </Transition>
        </section>
    }
}

#[component]
fn ExportView(p: ExportProgress, cancel: ServerAction<CancelExport>) -> impl IntoView {
    let percent = p.percent();
    let total = if p.pages_total == 0 {
        "?".to_string()
    } else {
        p.pages_total.to_string()
    };
    let status = match &p.status {
        ExportStatus::Running => "Exporting…".to_string(),
        ExportStatus::Done => format!("Done in {:.1} s.", p.elapsed_ms as f64 / 1000.0),
        ExportStatus::Cancelled => "Cancelled. Nothing was kept.".to_string(),
        ExportStatus::Failed(e) => format!("Failed: {e}"),
    };
    let running = p.status == ExportStatus::Running;
    let done = p.status == ExportStatus::Done;
    let id = p.id.clone();
    view! {
        {running.then(|| view! { <noscript><meta http-equiv="refresh" content="2"/></noscript> })}
        <progress max="100" value=percent data-testid="export-progress">{percent}"%"</progress>
        <p data-testid="export-status" data-state=format!("{:?}", p.status).to_lowercase()>
            <span data-testid="export-pages">{p.pages_done}" of "{total}" pages"</span>
            " · " <span data-testid="export-users">{p.users}</span>" users · " {status}
        </p>
        {running.then(|| view! {
            <ActionForm action=cancel>
                <input type="hidden" name="id" value=id.clone()/>
                <button type="submit" class="button" data-testid="export-cancel">"Cancel"</button>
            </ActionForm>
        })}
        {done.then(|| view! {
            <a class="button button-primary" href=format!("/export/{}/users.csv", p.id) download="genesys-users.csv" data-testid="export-download" rel="external">
                "Download CSV"
            </a>
        })}
        <p><a href="/users">"← Directory"</a></p>
    }
}
