//! `/users`: the directory table. The view is the URL's query (bookmarkable, shareable). The
//! server renders the page the query names; in the browser the filters, the pager and the Name
//! header change the view in place (the URL follows, Back and Forward restore it), and the old
//! table stays visible, marked stale, while the next one loads. Everything is server-rendered
//! HTML, each next table too ([`directory_table`], see `ui::live`); the island only brings the
//! controls and links to life. Without JavaScript the filters are a GET form and the pager
//! plain links.

use leptos::{either::Either, prelude::*, server_fn::ServerFn};
use leptos_router::hooks::use_query_map;

use crate::{
    api::list_directory,
    model::{AppError, DirectoryQuery, Json, Sort, StateView, UserPage, PAGE_SIZES},
    ui::{form_error, presence_class, Avatar, ErrorView, Loading},
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
    // The error of an export started without JavaScript, from the page it came back to.
    let export_failed = form_error::<StartExportLive>();
    view! {
        <section class="card">
            {export_failed.map(|error| view! { <ErrorView error/> })}
            <Suspense fallback=|| view! { <h1>"Directory"</h1><Loading what="users"/> }>
                {let page = page.clone(); move || {
                    let (page, query, problems) = (page.clone(), query.clone(), problems.clone());
                    Suspend::new(async move {
                        let answer = page.await;
                        view! {
                            <DirectoryLive>
                                <div class="toolbar">
                                    <h1>"Directory"</h1>
                                    <form method="post" action=StartExportLive::url() class="inline-form" data-live="directory-export-out">
                                        <input type="hidden" name="state" value=query.state.as_str()/>
                                        <input type="hidden" name="sort" value=query.sort.as_str()/>
                                        <button type="submit" class="button" data-testid="export">"Export all to CSV"</button>
                                    </form>
                                </div>
                                <div id="directory-export-out"></div>
                                <DirectoryFilters query=query.clone()/>
                                <ul class="notice" data-testid="query-problems">
                                    {problems.into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}
                                </ul>
                                <div id="directory-table" aria-busy="false" data-testid="directory">
                                    <TableOrError answer query/>
                                </div>
                            </DirectoryLive>
                        }
                    })
                }}
            </Suspense>
        </section>
    }
}

/// The table of a view, as HTML for the island to put in place (the error card when it failed).
#[server(output = Json)]
pub async fn directory_table(search: String) -> Result<String, AppError> {
    let (query, _) = DirectoryQuery::from_search(&search);
    crate::api::page::set_fragment_page(&query.href());
    let answer = list_directory(query.clone()).await;
    Ok(crate::ui::fragment(
        || view! { <TableOrError answer query/> },
    ))
}

/// "Export all to CSV" for a form without JavaScript, and in the island: starts the export and
/// leads to its progress page, or answers why it could not start.
#[server(output = Json)]
pub async fn start_export_live(state: String, sort: String) -> Result<String, AppError> {
    let started = crate::api::start_export(state, sort).await;
    crate::ui::answer(started, |_| ())
}

#[component]
fn TableOrError(answer: Result<UserPage, AppError>, query: DirectoryQuery) -> impl IntoView {
    match answer {
        Ok(page) => Either::Left(view! { <UserTable page query/> }),
        Err(error) => Either::Right(view! { <ErrorView error/> }),
    }
}

/// The directory in the browser: the server's controls and table, brought to life. Each
/// control changes the view (search after a pause in typing), and so do the links to other
/// views (the pager, the Name header); the URL follows, Back and Forward restore it. The view
/// asked for is fetched as the server's table ([`directory_table`]) and shown if it is still
/// the one wanted when it comes; until then the old table stays, marked stale. No view of its
/// own and no props: what the island knows is the URL and the page.
#[island(lazy)]
fn DirectoryLive(children: Children) -> impl IntoView {
    #[cfg(feature = "hydrate")]
    {
        let live = browser::Live::start(DirectoryTable::url());
        let (click, change, input, submit) = (live.clone(), live.clone(), live.clone(), live);
        view! {
            <div class="directory"
                on:click=move |ev| click.on_click(ev)
                on:change=move |ev| change.on_change(ev)
                on:input=move |ev| input.on_input(ev)
                on:submit=move |ev| submit.on_submit(ev)>
                {children()}
            </div>
        }
    }
    #[cfg(not(feature = "hydrate"))]
    view! { <div class="directory">{children()}</div> }
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::{cell::RefCell, rc::Rc};

    use wasm_bindgen::JsCast;
    use web_sys::{Document, Element, HtmlInputElement, HtmlSelectElement};

    use crate::model::DirectoryQuery;

    /// `wanted` is the view the URL names, `shown` the one the table holds: the table is stale
    /// exactly while they differ.
    struct State {
        wanted: DirectoryQuery,
        shown: DirectoryQuery,
        typing: u64,
        /// The URL of the table's server function.
        table_url: &'static str,
    }

    #[derive(Clone)]
    pub struct Live(Rc<RefCell<State>>);

    fn document() -> Option<Document> {
        web_sys::window()?.document()
    }

    fn by_id(id: &str) -> Option<Element> {
        document()?.get_element_by_id(id)
    }

    fn select(name: &str) -> Option<Element> {
        document()?
            .query_selector(&format!("form.filters [name={name}]"))
            .ok()
            .flatten()
    }

    fn current() -> (DirectoryQuery, Vec<String>) {
        let search = web_sys::window()
            .and_then(|w| w.location().search().ok())
            .unwrap_or_default();
        DirectoryQuery::from_search(&search)
    }

    impl Live {
        pub fn start(table_url: &'static str) -> Self {
            let (query, _) = current();
            let live = Live(Rc::new(RefCell::new(State {
                wanted: query.clone(),
                shown: query,
                typing: 0,
                table_url,
            })));
            // Back and Forward: the URL is the view.
            let on_pop = live.clone();
            let listener =
                leptos::prelude::window_event_listener(leptos::ev::popstate, move |_| {
                    let (q, problems) = current();
                    on_pop.controls(&q);
                    on_pop.problems(&problems);
                    on_pop.want(q);
                });
            leptos::prelude::on_cleanup(move || listener.remove());
            live
        }

        /// The controls as `q` has them (after Back or Forward).
        fn controls(&self, q: &DirectoryQuery) {
            if let Some(input) = select("q").and_then(|e| e.dyn_into::<HtmlInputElement>().ok()) {
                input.set_value(&q.q);
            }
            for (name, value) in [
                ("state", q.state.as_str().to_string()),
                ("sort", q.sort.as_str().to_string()),
                ("size", q.size.to_string()),
            ] {
                if let Some(s) = select(name).and_then(|e| e.dyn_into::<HtmlSelectElement>().ok()) {
                    s.set_value(&value);
                }
            }
        }

        fn problems(&self, problems: &[String]) {
            let (Some(list), Some(doc)) = (
                document().and_then(|d| {
                    d.query_selector("[data-testid=query-problems]")
                        .ok()
                        .flatten()
                }),
                document(),
            ) else {
                return;
            };
            list.set_inner_html("");
            for p in problems {
                if let Ok(li) = doc.create_element("li") {
                    li.set_text_content(Some(p));
                    let _ = list.append_child(&li);
                }
            }
        }

        fn mark(&self) {
            let stale = {
                let s = self.0.borrow();
                s.wanted != s.shown
            };
            if let Some(table) = by_id("directory-table") {
                let _ = table.class_list().toggle_with_force("stale", stale);
                let _ = table.set_attribute("aria-busy", if stale { "true" } else { "false" });
            }
        }

        /// Changes the view: a new history entry, or in place of the current one.
        fn go(&self, q: DirectoryQuery, replace: bool) {
            if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
                let href = q.href();
                let nothing = wasm_bindgen::JsValue::NULL;
                let _ = if replace {
                    history.replace_state_with_url(&nothing, "", Some(&href))
                } else {
                    history.push_state_with_url(&nothing, "", Some(&href))
                };
            }
            self.problems(&[]);
            self.want(q);
        }

        fn want(&self, q: DirectoryQuery) {
            // The export takes the state and sort in view.
            for (name, value) in [("state", q.state.as_str()), ("sort", q.sort.as_str())] {
                if let Some(input) = document()
                    .and_then(|d| {
                        d.query_selector(&format!("form[data-live] input[name={name}]"))
                            .ok()
                            .flatten()
                    })
                    .and_then(|e| e.dyn_into::<HtmlInputElement>().ok())
                {
                    input.set_value(value);
                }
            }
            self.0.borrow_mut().wanted = q.clone();
            self.mark();
            if self.0.borrow().shown == q {
                return;
            }
            let live = self.clone();
            leptos::task::spawn_local(async move {
                let href = q.href();
                let search = href.split_once('?').map(|(_, s)| s).unwrap_or("");
                let body = format!("search={}", js_sys::encode_uri_component(search));
                let url = live.0.borrow().table_url;
                let Some(html) = crate::ui::post_for_html(url, &body).await else {
                    return;
                };
                if live.0.borrow().wanted != q {
                    return;
                }
                if let Some(table) = by_id("directory-table") {
                    crate::ui::show(&table, &html);
                }
                live.0.borrow_mut().shown = q;
                live.mark();
            });
        }

        pub fn on_click(&self, ev: leptos::ev::MouseEvent) {
            let plain = ev.button() == 0
                && !(ev.ctrl_key() || ev.meta_key() || ev.shift_key() || ev.alt_key());
            let link = ev
                .target()
                .and_then(|t| t.dyn_into::<Element>().ok())
                .and_then(|e| e.closest("a[data-view]").ok().flatten())
                .and_then(|a| a.get_attribute("href"));
            if let (true, Some(href)) = (plain, link) {
                ev.prevent_default();
                let search = href.split_once('?').map(|(_, s)| s).unwrap_or("");
                self.go(DirectoryQuery::from_search(search).0, false);
            }
        }

        pub fn on_change(&self, ev: leptos::ev::Event) {
            let Some(control) = ev
                .target()
                .and_then(|t| t.dyn_into::<HtmlSelectElement>().ok())
            else {
                return;
            };
            let next = self
                .0
                .borrow()
                .wanted
                .with_choice(&control.name(), &control.value());
            self.go(next, false);
        }

        pub fn on_input(&self, ev: leptos::ev::Event) {
            let Some(input) = ev
                .target()
                .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
            else {
                return;
            };
            if input.name() != "q" {
                return;
            }
            let generation = {
                let mut s = self.0.borrow_mut();
                s.typing += 1;
                s.typing
            };
            let live = self.clone();
            leptos::task::spawn_local(async move {
                gloo_timers::future::TimeoutFuture::new(300).await;
                // A newer keystroke makes this one stale.
                if live.0.borrow().typing != generation {
                    return;
                }
                let next = live.0.borrow().wanted.searching(&input.value());
                if next.q != live.0.borrow().wanted.q {
                    live.go(next, true);
                }
            });
        }

        pub fn on_submit(&self, ev: leptos::ev::SubmitEvent) {
            let Some(form) = ev.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
                return;
            };
            if form.has_attribute("data-live") {
                return crate::ui::live_submit(ev);
            }
            // The filters apply by themselves; their form is for browsers without JavaScript.
            // Any other form (a sign-in in an error card) submits as usual.
            if !form.class_list().contains("filters") {
                return;
            }
            ev.prevent_default();
            let q = select("q")
                .and_then(|e| e.dyn_into::<HtmlInputElement>().ok())
                .map(|i| i.value())
                .unwrap_or_default();
            let next = self.0.borrow().wanted.searching(&q);
            self.go(next, false);
        }
    }
}

/// Search, state, sort and page size: a plain GET form, which the island applies as each
/// control changes.
#[component]
fn DirectoryFilters(query: DirectoryQuery) -> impl IntoView {
    view! {
        <form method="get" action="/users" class="filters" role="search">
            <label>
                "Search "
                <input type="search" name="q" placeholder="Name or email" maxlength="100" data-testid="search" value=query.q.clone()/>
            </label>
            <label>
                "State "
                <select name="state" data-testid="state">
                    {StateView::ALL.iter().map(|s| {
                        view! { <option value=s.as_str() selected=query.state == *s>{s.label()}</option> }
                    }).collect_view()}
                </select>
            </label>
            <label>
                "Sort "
                <select name="sort" data-testid="sort">
                    <option value="ascending" selected=query.sort == Sort::Ascending>"Name A–Z"</option>
                    <option value="descending" selected=query.sort == Sort::Descending>"Name Z–A"</option>
                </select>
            </label>
            <label>
                "Per page "
                <select name="size" data-testid="size">
                    {PAGE_SIZES.iter().map(|n| {
                        view! { <option value=n.to_string() selected=query.size == *n>{*n}</option> }
                    }).collect_view()}
                </select>
            </label>
            <button type="submit" class="button button-small">"Apply"</button>
        </form>
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
    let resorted = DirectoryQuery {
        sort: other,
        page: 1,
        ..query.clone()
    };
    let sort_href = resorted.href();
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
                            <a href=sort_href data-view="" class="sort-link" data-testid="sort-by-name" title=sort_title>"Name " <span aria-hidden="true">{sort_arrow}</span></a>
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
            <a href=first_href data-view="" class="button button-small" class:disabled=at_start aria-disabled=at_start.to_string() data-testid="first">"« First"</a>
            <a href=prev_href data-view="" class="button button-small" class:disabled=at_start aria-disabled=at_start.to_string() data-testid="previous">"‹ Previous"</a>
            <span>"Page " {current} " of " {last}</span>
            <a href=next_href data-view="" class="button button-small" class:disabled=at_end aria-disabled=at_end.to_string() data-testid="next">"Next ›"</a>
            <a href=last_href data-view="" class="button button-small" class:disabled=at_end aria-disabled=at_end.to_string() data-testid="last">"Last »"</a>
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
