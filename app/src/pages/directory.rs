//! `/users`: the directory table. The view is the URL's query (bookmarkable, shareable); the
//! filters navigate, the table shows the page the query names, and the old page stays visible,
//! marked stale, while a new one loads.

use leptos::{either::Either, prelude::*};
use leptos_router::{
    hooks::{use_navigate, use_query_map},
    NavigateOptions,
};

use crate::{
    api::{list_directory, StartExport},
    model::{DirectoryQuery, Sort, StateView, UserPage, PAGE_SIZES},
    ui::{presence_class, Avatar, ErrorView, Loading},
};

#[component]
pub fn DirectoryPage() -> impl IntoView {
    let query_map = use_query_map();
    let parsed = Memo::new(move |_| {
        query_map.with(|m| DirectoryQuery::parse(m.latest_values().map(|(k, v)| (k.as_ref(), v))))
    });
    let view_query = Memo::new(move |_| parsed.get().0);
    let problems = Memo::new(move |_| parsed.get().1);
    let page = ArcResource::new(move || view_query.get(), list_directory);
    // While a page the user asked for loads, the old one stays visible, marked as stale: the
    // table is stale exactly while the query it shows differs from the URL's. Derived, not a
    // flag the controls set and the page clears: a navigation that ends on the query already
    // shown (a shared `?q=` link, a repeated search) can never leave it stale. Never on the
    // server (no Transition `set_pending`: its effect runs on the server too, after the
    // request is gone).
    let shown = RwSignal::new(None::<DirectoryQuery>);
    let stale = move || {
        let shown = shown.try_get().flatten();
        let wanted = view_query.try_get();
        matches!((shown, wanted), (Some(s), Some(w)) if s != w)
    };
    let navigate = use_navigate();
    let go = move |q: DirectoryQuery, replace: bool| {
        let options = NavigateOptions {
            replace,
            scroll: false,
            ..Default::default()
        };
        navigate(&q.href(), options);
    };
    view! {
        <section class="card">
            <div class="toolbar">
                <h1>"Directory"</h1>
                <ExportButton view_query/>
            </div>
            <DirectoryFilters view_query go/>
            <ul class="notice" data-testid="query-problems">
                {move || problems.get().into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}
            </ul>
            <Transition fallback=|| view! { <Loading what="users"/> }>
                // `try_get` inside suspended views: Leptos may re-run them once the page is gone.
                <div class:stale=stale aria-busy=move || stale().to_string() data-testid="directory">
                    {move || {
                        // Read now, in the render: the async block below may run after the page is gone.
                        let query = view_query.try_get().unwrap_or_default();
                        let page = page.clone();
                        Suspend::new(async move {
                            let answer = page.await;
                            if shown.try_get_untracked().flatten().as_ref() != Some(&query) {
                                shown.try_set(Some(query.clone()));
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

/// "Export all to CSV" of the state and sort in view: a form POST that lands on the export's
/// progress page, or shows why it could not start.
#[component]
fn ExportButton(view_query: Memo<DirectoryQuery>) -> AnyView {
    let export = ServerAction::<StartExport>::new();
    view! {
        <ActionForm action=export attr:class="inline-form">
            <input type="hidden" name="state" value=move || view_query.get().state.as_str()/>
            <input type="hidden" name="sort" value=move || view_query.get().sort.as_str()/>
            <button type="submit" class="button" data-testid="export">"Export all to CSV"</button>
        </ActionForm>
        {move || export.value().get().and_then(|r| r.err()).map(|error| view! { <ErrorView error/> })}
    }
    .into_any()
}

/// Search, state, sort and page size. A plain GET form without JavaScript; once hydrated each
/// control navigates by itself (search after a pause in typing).
#[component]
fn DirectoryFilters<F>(view_query: Memo<DirectoryQuery>, go: F) -> AnyView
where
    F: Fn(DirectoryQuery, bool) + Clone + 'static,
{
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
                // A newer keystroke (or a page that is gone) makes this one stale.
                if typing_generation.try_get_value() != Some(generation) {
                    return;
                }
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
            });
        }
    };
    let on_select = {
        let go = go.clone();
        move |field: &'static str| {
            let go = go.clone();
            move |ev: leptos::ev::Event| {
                go(
                    view_query
                        .get_untracked()
                        .with_choice(field, &event_target_value(&ev)),
                    false,
                );
            }
        }
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        // Once hydrated the controls navigate by themselves; the form is for browsers without JS.
        ev.prevent_default();
        let current = view_query.get_untracked();
        let q = search_text.get_untracked().trim().to_string();
        go(
            DirectoryQuery {
                q,
                page: 1,
                ..current
            },
            false,
        );
    };
    view! {
        <form method="get" action="/users" class="filters" on:submit=on_submit role="search">
            <label>
                "Search "
                <input type="search" name="q" placeholder="Name or email" maxlength="100" data-testid="search"
                    value=view_query.get_untracked().q prop:value=move || search_text.get() on:input=on_search_input/>
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
    }
    .into_any()
}

/// The pager's page numbers, from what Genesys answered (any `u32`, the extremes included).
#[derive(Debug, PartialEq, Eq)]
struct Pager {
    current: u32,
    last: u32,
    previous: u32,
    next: u32,
}

impl Pager {
    fn of(page: u32, page_count: u32) -> Self {
        let last = page_count.max(1);
        let current = page.clamp(1, last);
        Pager {
            current,
            last,
            previous: current.saturating_sub(1).max(1),
            next: current.saturating_add(1).min(last),
        }
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
    let Pager {
        current,
        last,
        previous,
        next,
    } = Pager::of(page.page, page.page_count);
    let link = |n: u32| query.at_page(n).href();
    let (first_href, prev_href, next_href, last_href) =
        (link(1), link(previous), link(next), link(last));
    // The Name header sorts: a link to the other order, from page 1 (a plain link without JS).
    let (sort_state, sort_arrow, sort_title, other) = match query.sort {
        Sort::Ascending => ("ascending", "▲", "Sort by name, Z to A", Sort::Descending),
        Sort::Descending => ("descending", "▼", "Sort by name, A to Z", Sort::Ascending),
    };
    let sort_href = DirectoryQuery {
        sort: other,
        page: 1,
        ..query.clone()
    }
    .href();
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
                    <tr>
                        <th scope="col"><span class="visually-hidden">"Photo"</span></th>
                        <th scope="col" aria-sort=sort_state>
                            <a href=sort_href class="sort-link" data-testid="sort-by-name" title=sort_title>"Name " <span aria-hidden="true">{sort_arrow}</span></a>
                        </th>
                        <th scope="col">"Email"</th><th scope="col">"Title"</th><th scope="col">"Department"</th><th scope="col">"Division"</th><th scope="col">"State"</th><th scope="col">"Presence"</th>
                    </tr>
                </thead>
                <tbody>
                    {page.users.into_iter().map(|u| {
                        let href = format!("/users/{}", u.id);
                        let presence_class = presence_class(u.presence.as_deref());
                        view! {
                            <tr data-testid="user-row">
                                <td class="cell-avatar"><Avatar name=u.name.clone() image_url=u.image_url.clone() small=true/></td>
                                <td class="cell-name"><a href=href data-testid="user-name">{u.name}</a></td>
                                <td class="cell-email" data-label="Email">{u.email.unwrap_or_default()}</td>
                                <td class="cell-title" data-label="Title">{u.title.unwrap_or_default()}</td>
                                <td class="cell-department" data-label="Department">{u.department.unwrap_or_default()}</td>
                                <td class="cell-division" data-label="Division">{u.division.unwrap_or_default()}</td>
                                <td class="cell-state" data-label="State"><span class=format!("state state-{}", u.state)>{u.state.clone()}</span></td>
                                <td class="cell-presence" data-label="Presence"><span class=presence_class>{u.presence.unwrap_or_else(|| "—".into())}</span></td>
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

#[cfg(test)]
mod tests {
    use super::Pager;

    #[test]
    fn the_pager_holds_at_the_extremes() {
        let p = |current, last, previous, next| Pager {
            current,
            last,
            previous,
            next,
        };
        assert_eq!(Pager::of(3, 10), p(3, 10, 2, 4));
        assert_eq!(Pager::of(1, 0), p(1, 1, 1, 1));
        assert_eq!(Pager::of(0, 5), p(1, 5, 1, 2));
        assert_eq!(Pager::of(99, 5), p(5, 5, 4, 5));
        assert_eq!(
            Pager::of(u32::MAX, u32::MAX),
            p(u32::MAX, u32::MAX, u32::MAX - 1, u32::MAX)
        );
    }
}
