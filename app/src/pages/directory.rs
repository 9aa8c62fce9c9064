//! `/users`: the directory table. The view is the URL's query (bookmarkable, shareable). The
//! server renders the page the query names; in the browser the directory is one island: the
//! filters, the pager and the Name header change the view in place (the URL follows, Back and
//! Forward restore it), and the old page stays visible, marked stale, while a new one loads.
//! Without JavaScript the filters are a GET form and the pager plain links.

use leptos::{either::Either, prelude::*};
use leptos_router::hooks::use_query_map;

use crate::{
    api::{list_directory, StartExport},
    model::{AppError, DirectoryQuery, Sort, StateView, UserPage, PAGE_SIZES},
    ui::{presence_class, Avatar, ErrorView, Loading, Post, PostForm},
};

#[component]
pub fn DirectoryPage() -> impl IntoView {
    let (query, problems) = use_query_map()
        .with_untracked(|m| DirectoryQuery::parse(m.latest_values().map(|(k, v)| (k.as_ref(), v))));
    let page = ArcResource::new(
        {
            let query = query.clone();
            move || query.clone()
        },
        list_directory,
    );
    view! {
        <section class="card">
            <Suspense fallback=|| view! { <h1>"Directory"</h1><Loading what="users"/> }>
                {let page = page.clone(); move || {
                    let (page, query, problems) = (page.clone(), query.clone(), problems.clone());
                    Suspend::new(async move {
                        view! { <DirectoryLive query problems answer=page.await/> }
                    })
                }}
            </Suspense>
        </section>
    }
}

/// How the view changes: to this query, as a new history entry or in place of the current one.
type Go = Callback<(DirectoryQuery, bool)>;

/// The directory in the browser. `wanted` is the view the URL names, `shown` the one the table
/// holds: the table is stale exactly while they differ. Derived, never a flag set and cleared,
/// so no sequence of navigations can leave it marked.
#[island(lazy)]
fn DirectoryLive(
    query: DirectoryQuery,
    problems: Vec<String>,
    answer: Result<UserPage, AppError>,
) -> impl IntoView {
    let wanted = RwSignal::new(query.clone());
    let problems = RwSignal::new(problems);
    let shown = RwSignal::new((query, answer));
    let search_text = RwSignal::new(wanted.get_untracked().q);
    let stale = move || shown.with(|(q, _)| wanted.with(|w| q != w));
    let go: Go = Callback::new(move |(q, replace): (DirectoryQuery, bool)| {
        #[cfg(feature = "hydrate")]
        if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
            let href = q.href();
            let nothing = wasm_bindgen::JsValue::NULL;
            let _ = if replace {
                history.replace_state_with_url(&nothing, "", Some(&href))
            } else {
                history.push_state_with_url(&nothing, "", Some(&href))
            };
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = replace;
        problems.set(Vec::new());
        wanted.set(q);
    });
    #[cfg(feature = "hydrate")]
    {
        // Back and Forward: the URL is the view.
        let listener = window_event_listener(leptos::ev::popstate, move |_| {
            let search = web_sys::window()
                .and_then(|w| w.location().search().ok())
                .unwrap_or_default();
            let (q, p) = DirectoryQuery::from_search(&search);
            search_text.set(q.q.clone());
            problems.set(p);
            wanted.set(q);
        });
        on_cleanup(move || listener.remove());
        // A view asked for is fetched, and shown if it is still the one wanted when it comes.
        Effect::new(move |_| {
            let want = wanted.get();
            if shown.with_untracked(|(q, _)| *q == want) {
                return;
            }
            leptos::task::spawn_local(async move {
                let answer = list_directory(want.clone()).await;
                if wanted.try_get_untracked().as_ref() == Some(&want) {
                    shown.try_set((want, answer));
                }
            });
        });
    }
    view! {
        <div class="toolbar">
            <h1>"Directory"</h1>
            <ExportButton wanted/>
        </div>
        <DirectoryFilters wanted search_text go/>
        <ul class="notice" data-testid="query-problems">
            {move || problems.try_get().unwrap_or_default().into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}
        </ul>
        <div class:stale=stale aria-busy=move || stale().to_string() data-testid="directory">
            {move || shown.with(|(query, answer)| match answer {
                Ok(p) => Either::Left(view! { <UserTable page=p.clone() query=query.clone() go/> }),
                Err(error) => Either::Right(view! { <ErrorView error=error.clone()/> }),
            })}
        </div>
    }
}

/// "Export all to CSV" of the state and sort in view: a form POST that lands on the export's
/// progress page, or shows why it could not start.
#[component]
fn ExportButton(wanted: RwSignal<DirectoryQuery>) -> AnyView {
    let export = Post::<StartExport>::new();
    let started = export.latest();
    view! {
        <PostForm post=export class="inline-form">
            <input type="hidden" name="state" value=move || wanted.try_get().map(|w| w.state.as_str())/>
            <input type="hidden" name="sort" value=move || wanted.try_get().map(|w| w.sort.as_str())/>
            <button type="submit" class="button" data-testid="export">"Export all to CSV"</button>
        </PostForm>
        {move || started().and_then(|r| r.err()).map(|error| view! { <ErrorView error/> })}
    }
    .into_any()
}

/// Search, state, sort and page size. A plain GET form without JavaScript; in the island each
/// control changes the view by itself (search after a pause in typing).
#[component]
fn DirectoryFilters(
    wanted: RwSignal<DirectoryQuery>,
    search_text: RwSignal<String>,
    go: Go,
) -> AnyView {
    let typing_generation = StoredValue::new(0u64);
    let on_search_input = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        search_text.set(value.clone());
        typing_generation.update_value(|g| *g += 1);
        let generation = typing_generation.get_value();
        leptos::task::spawn_local(async move {
            #[cfg(feature = "hydrate")]
            gloo_timers::future::TimeoutFuture::new(300).await;
            // A newer keystroke (or a page that is gone) makes this one stale.
            if typing_generation.try_get_value() != Some(generation) {
                return;
            }
            let current = wanted.get_untracked();
            if current.q != value.trim() {
                go.run((
                    DirectoryQuery {
                        q: value.trim().to_string(),
                        page: 1,
                        ..current
                    },
                    true,
                ));
            }
        });
    };
    let on_select = move |field: &'static str| {
        move |ev: leptos::ev::Event| {
            go.run((
                wanted
                    .get_untracked()
                    .with_choice(field, &event_target_value(&ev)),
                false,
            ));
        }
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        // In the island the controls change the view by themselves; the form is for browsers
        // without JavaScript.
        ev.prevent_default();
        let current = wanted.get_untracked();
        let q = search_text.get_untracked().trim().to_string();
        go.run((
            DirectoryQuery {
                q,
                page: 1,
                ..current
            },
            false,
        ));
    };
    view! {
        <form method="get" action="/users" class="filters" on:submit=on_submit role="search">
            <label>
                "Search "
                <input type="search" name="q" placeholder="Name or email" maxlength="100" data-testid="search"
                    value=wanted.get_untracked().q prop:value=move || search_text.try_get().unwrap_or_default() on:input=on_search_input/>
            </label>
            <label>
                "State "
                <select name="state" data-testid="state" on:change=on_select("state")>
                    {StateView::ALL.iter().map(|s| {
                        let s = *s;
                        view! { <option value=s.as_str() selected=move || wanted.try_get().is_some_and(|w| w.state == s)>{s.label()}</option> }
                    }).collect_view()}
                </select>
            </label>
            <label>
                "Sort "
                <select name="sort" data-testid="sort" on:change=on_select("sort")>
                    <option value="ascending" selected=move || wanted.try_get().is_some_and(|w| w.sort == Sort::Ascending)>"Name A–Z"</option>
                    <option value="descending" selected=move || wanted.try_get().is_some_and(|w| w.sort == Sort::Descending)>"Name Z–A"</option>
                </select>
            </label>
            <label>
                "Per page "
                <select name="size" data-testid="size" on:change=on_select("size")>
                    {PAGE_SIZES.iter().map(|n| {
                        let n = *n;
                        view! { <option value=n.to_string() selected=move || wanted.try_get().is_some_and(|w| w.size == n)>{n}</option> }
                    }).collect_view()}
                </select>
            </label>
            <button type="submit" class="button button-small">"Apply"</button>
        </form>
    }
    .into_any()
}

/// A link to another view of the directory: a plain link, which in the island changes the
/// view in place (a click with a modifier key still opens a new tab or window).
fn view_link(go: Go, to: DirectoryQuery) -> impl Fn(leptos::ev::MouseEvent) + 'static {
    move |ev: leptos::ev::MouseEvent| {
        let plain =
            ev.button() == 0 && !(ev.ctrl_key() || ev.meta_key() || ev.shift_key() || ev.alt_key());
        if plain {
            ev.prevent_default();
            go.run((to.clone(), false));
        }
    }
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
fn UserTable(page: UserPage, query: DirectoryQuery, go: Go) -> impl IntoView {
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
    let to = |n: u32| view_link(go, query.at_page(n));
    let (to_first, to_prev, to_next, to_last) = (to(1), to(previous), to(next), to(last));
    // The Name header sorts: a link to the other order, from page 1 (a plain link without JS).
    let (sort_state, sort_arrow, sort_title, other) = match query.sort {
        Sort::Ascending => ("ascending", "▲", "Sort by name, Z to A", Sort::Descending),
        Sort::Descending => ("descending", "▼", "Sort by name, A to Z", Sort::Ascending),
    };
    let resorted = DirectoryQuery {
        sort: other,
        page: 1,
        ..query.clone()
    };
    let sort_href = resorted.href();
    let to_resorted = view_link(go, resorted);
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
                            <a href=sort_href on:click=to_resorted class="sort-link" data-testid="sort-by-name" title=sort_title>"Name " <span aria-hidden="true">{sort_arrow}</span></a>
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
            <a href=first_href on:click=to_first class="button button-small" class:disabled=at_start aria-disabled=at_start.to_string() data-testid="first">"« First"</a>
            <a href=prev_href on:click=to_prev class="button button-small" class:disabled=at_start aria-disabled=at_start.to_string() data-testid="previous">"‹ Previous"</a>
            <span>"Page " {current} " of " {last}</span>
            <a href=next_href on:click=to_next class="button button-small" class:disabled=at_end aria-disabled=at_end.to_string() data-testid="next">"Next ›"</a>
            <a href=last_href on:click=to_last class="button button-small" class:disabled=at_end aria-disabled=at_end.to_string() data-testid="last">"Last »"</a>
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
