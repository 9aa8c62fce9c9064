//! One simulated agent, as a browser without JavaScript: sign in through the sandbox's page,
//! browse and search the directory, open a user, export the directory and download the CSV,
//! sign out; again and again. Every page is checked: no 500, and once signed in, still signed
//! in until the agent signs out.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use goose::prelude::*;
use reqwest::header::{HeaderMap, HeaderValue, ORIGIN, REFERER};

use crate::html;

/// What every agent saw, summed.
#[derive(Debug, Default)]
pub struct Tally {
    pub sign_ins: AtomicU64,
    pub sign_in_refused: AtomicU64,
    pub sign_outs: AtomicU64,
    pub cycles: AtomicU64,
    pub pages: AtomicU64,
    pub upstream_error_pages: AtomicU64,
    pub exports: AtomicU64,
    /// Starts the portal refused (its cap on exports running at once, one per user).
    pub exports_refused: AtomicU64,
    /// Exports that started and then failed, or whose download failed.
    pub exports_failed: AtomicU64,
    pub portal_500s: AtomicU64,
    pub sessions_lost: AtomicU64,
    pub transport_errors: AtomicU64,
    /// Why sign-ins and exports did not succeed, and where sessions were lost, with counts.
    pub reasons: Mutex<BTreeMap<String, u64>>,
}

impl Tally {
    fn note(&self, reason: impl Into<String>) {
        let mut reasons = self.reasons.lock().unwrap_or_else(|e| e.into_inner());
        *reasons.entry(reason.into()).or_default() += 1;
    }
}

pub static TALLY: std::sync::LazyLock<Tally> = std::sync::LazyLock::new(Tally::default);

/// The agent's own state between transactions.
struct Agent {
    /// Which of the sign-in page's users this agent picks.
    index: usize,
    signed_in: bool,
    /// The page the agent is on (the `Referer` of its next form POST).
    on: Option<url::Url>,
}

pub fn scenario() -> Result<Scenario, GooseError> {
    Ok(scenario!("agent")
        .set_wait_time(Duration::from_millis(300), Duration::from_millis(1200))?
        .register_transaction(transaction!(setup).set_on_start().set_name("setup"))
        .register_transaction(transaction!(sign_in).set_sequence(1).set_name("sign in"))
        .register_transaction(transaction!(browse).set_sequence(2).set_name("browse"))
        .register_transaction(transaction!(search).set_sequence(3).set_name("search"))
        .register_transaction(transaction!(export).set_sequence(4).set_name("export"))
        .register_transaction(transaction!(sign_out).set_sequence(5).set_name("sign out")))
}

/// Each agent is its own client behind the trusted proxy: its own cookie jar and its own
/// `X-Forwarded-For` address.
async fn setup(user: &mut GooseUser) -> TransactionResult {
    let index = user.weighted_users_index;
    let mut headers = HeaderMap::new();
    let address = format!("10.77.{}.{}", index / 250, index % 250 + 1);
    // What a browser sends with every navigation: server functions answer a form POST that
    // accepts HTML with a redirect (the no-JavaScript path), not with JSON.
    headers.insert(
        reqwest::header::ACCEPT,
        HeaderValue::from_static("text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"),
    );
    headers.insert(
        "x-forwarded-for",
        HeaderValue::from_str(&address).expect("an address is a header value"),
    );
    let builder = reqwest::Client::builder()
        .cookie_store(true)
        .default_headers(headers)
        .timeout(Duration::from_secs(60))
        .user_agent("genesys-portal-soak");
    user.set_client_builder(builder).await?;
    user.set_session_data(Agent {
        index,
        signed_in: false,
        on: None,
    });
    Ok(())
}

fn agent(user: &mut GooseUser) -> &mut Agent {
    user.get_session_data_unchecked_mut::<Agent>()
}

/// A page as the agent saw it.
struct Page {
    status: u16,
    url: url::Url,
    body: String,
}

/// Sends a request (following redirects), reads the page and checks it: a 500 is a failure,
/// and so is a page that shows the agent signed out while it thinks it is signed in.
async fn load(
    user: &mut GooseUser,
    method: GooseMethod,
    path: &str,
    name: &str,
    form: Option<&[(String, String)]>,
) -> Result<Option<Page>, Box<TransactionError>> {
    let mut builder = user.get_request_builder(&method, path)?;
    if let Some(fields) = form {
        let origin = user.build_url(path)?;
        let origin = url::Url::parse(&origin).map_err(|e| Box::new(TransactionError::Url(e)))?;
        builder = builder
            .header(ORIGIN, origin.origin().ascii_serialization())
            .form(fields);
        if let Some(on) = &agent(user).on {
            builder = builder.header(REFERER, on.as_str());
        }
    }
    let request = GooseRequest::builder()
        .method(method)
        .path(path)
        .name(name)
        .set_request_builder(builder)
        .build();
    let mut goose = user.request(request).await?;
    let response = match goose.response {
        Ok(r) => r,
        Err(e) => {
            TALLY.transport_errors.fetch_add(1, Relaxed);
            TALLY.note(format!("transport error on {name}: {}", e.without_url()));
            return Ok(None);
        }
    };
    let status = response.status().as_u16();
    let url = response.url().clone();
    let body = match response.text().await {
        Ok(body) => body,
        Err(e) => {
            TALLY.transport_errors.fetch_add(1, Relaxed);
            TALLY.note(format!("body cut off on {name}: {}", e.without_url()));
            return Ok(None);
        }
    };
    TALLY.pages.fetch_add(1, Relaxed);
    agent(user).on = Some(url.clone());
    if status == 500 {
        TALLY.portal_500s.fetch_add(1, Relaxed);
        TALLY.note(format!("500 on {name}"));
        return user
            .set_failure("500", &mut goose.request, None, Some(&body))
            .map(|()| None);
    }
    if matches!(status, 429 | 502..=504) {
        TALLY.upstream_error_pages.fetch_add(1, Relaxed);
    }
    if agent(user).signed_in && signed_out(status, &url, &body) {
        TALLY.sessions_lost.fetch_add(1, Relaxed);
        TALLY.note(format!("session lost on {name} ({status} {})", url.path()));
        agent(user).signed_in = false;
        return user
            .set_failure("session lost", &mut goose.request, None, Some(&body))
            .map(|()| None);
    }
    Ok(Some(Page { status, url, body }))
}

/// Whether a page says the visitor is not signed in.
fn signed_out(status: u16, url: &url::Url, body: &str) -> bool {
    if url.path().starts_with("/export/") {
        return status == 401;
    }
    status == 401 || html::has_testid(body, "sign-in") || !html::has_testid(body, "sign-out")
}

async fn get(
    user: &mut GooseUser,
    path: &str,
    name: &str,
) -> Result<Option<Page>, Box<TransactionError>> {
    load(user, GooseMethod::Get, path, name, None).await
}

async fn post(
    user: &mut GooseUser,
    path: &str,
    name: &str,
    fields: &[(String, String)],
) -> Result<Option<Page>, Box<TransactionError>> {
    load(user, GooseMethod::Post, path, name, Some(fields)).await
}

/// The landing page's sign-in button, then the sandbox's sign-in page: Allow as this agent's
/// user; the portal's callback lands on the dashboard.
async fn sign_in(user: &mut GooseUser) -> TransactionResult {
    if agent(user).signed_in {
        return Ok(());
    }
    let Some(landing) = get(user, "/", "landing").await? else {
        return Ok(());
    };
    let Some(form) = html::form_to(&landing.body, "/auth/login") else {
        // Still signed in from an iteration goose cut short: sign out first.
        if html::form_to(&landing.body, "/auth/logout").is_some() {
            post(user, "/auth/logout", "sign out", &[]).await?;
        } else {
            TALLY.note("the landing page has no sign-in form");
        }
        return Ok(());
    };
    let Some(login) = post(user, "/auth/login", "sign in: start", &form.fields).await? else {
        return Ok(());
    };
    if login.status != 200 {
        TALLY.sign_in_refused.fetch_add(1, Relaxed);
        TALLY.note(format!("sign-in start answered {}", login.status));
        return Ok(());
    }
    let Some(consent) = html::forms(&login.body)
        .into_iter()
        .find(|f| f.has_button_value("allow"))
    else {
        TALLY.note(format!("no sign-in page at {}", login.url.path()));
        return Ok(());
    };
    if !consent.method.eq_ignore_ascii_case("post") {
        TALLY.note("the sign-in page's form is not sent by POST");
        return Ok(());
    }
    let action = login
        .url
        .join(&consent.action)
        .map_err(|e| Box::new(TransactionError::Url(e)))?;
    let entries = consent.submission(Some(("decision", "allow")), agent(user).index);
    let Some(landed) = post(user, action.as_str(), "sign in: allow", &entries).await? else {
        return Ok(());
    };
    if landed.url.path() == "/dashboard" && html::has_testid(&landed.body, "sign-out") {
        TALLY.sign_ins.fetch_add(1, Relaxed);
        agent(user).signed_in = true;
    } else {
        TALLY.sign_in_refused.fetch_add(1, Relaxed);
        let reason = landed
            .url
            .query_pairs()
            .find(|(k, _)| k == "reason")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        TALLY.note(format!(
            "sign-in ended on {} {} {reason}",
            landed.status,
            landed.url.path()
        ));
    }
    Ok(())
}

/// The directory's first pages in two orders, and the dashboard.
async fn browse(user: &mut GooseUser) -> TransactionResult {
    if !agent(user).signed_in {
        return Ok(());
    }
    get(user, "/users", "directory").await?;
    let page = 2 + agent(user).index % 5;
    get(user, &format!("/users?page={page}"), "directory page").await?;
    get(user, "/users?sort=descending&size=50", "directory sorted").await?;
    get(user, "/dashboard", "dashboard").await?;
    Ok(())
}

/// A search, then the first user it found.
async fn search(user: &mut GooseUser) -> TransactionResult {
    if !agent(user).signed_in {
        return Ok(());
    }
    const TERMS: [&str; 6] = ["chen", "garcia", "ann", "smith", "kim", "example.com"];
    let term = TERMS[agent(user).index % TERMS.len()];
    let Some(found) = get(user, &format!("/users?q={term}"), "search").await? else {
        return Ok(());
    };
    if let Some(link) = html::links(&found.body, "/users/").into_iter().next() {
        get(user, &link, "user").await?;
    }
    Ok(())
}

/// Exports the directory, follows the progress page until it ends, downloads the CSV.
async fn export(user: &mut GooseUser) -> TransactionResult {
    if !agent(user).signed_in {
        return Ok(());
    }
    // From the directory, whose form it is (the `Referer` a refused start returns to).
    let Some(directory) = get(user, "/users", "directory").await? else {
        return Ok(());
    };
    let Some(action) = html::form_to(&directory.body, "/api/start_export*").map(|f| f.action)
    else {
        TALLY.note("the directory has no export form");
        return Ok(());
    };
    let fields = [("state", "active"), ("sort", "ascending")].map(|(k, v)| (k.into(), v.into()));
    let Some(mut progress) = post(user, &action, "export: start", &fields).await? else {
        return Ok(());
    };
    if !progress.url.path().starts_with("/users/export/") {
        // Without JavaScript a refused start lands back on the directory with the error.
        let kind = html::testid_attribute(&progress.body, "error", "data-kind");
        TALLY.exports_refused.fetch_add(1, Relaxed);
        TALLY.note(match kind {
            Some(kind) => format!("export not started: {kind}"),
            None => format!("export start answered {} without an error", progress.status),
        });
        return Ok(());
    }
    let path = progress.url.path().to_string();
    let started = Instant::now();
    loop {
        let state = html::testid_attribute(&progress.body, "export-status", "data-state")
            .unwrap_or_default();
        if state == "done" {
            break;
        }
        if state != "running" || started.elapsed() > Duration::from_secs(120) {
            TALLY.exports_failed.fetch_add(1, Relaxed);
            TALLY.note(format!("export ended as {state:?} ({})", progress.status));
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
        match get(user, &path, "export: progress").await? {
            Some(p) => progress = p,
            None => return Ok(()),
        }
    }
    let Some(href) = html::testid_attribute(&progress.body, "export-download", "href") else {
        TALLY.exports_failed.fetch_add(1, Relaxed);
        TALLY.note("a finished export without its download link");
        return Ok(());
    };
    let Some(csv) = get(user, &href, "export: download").await? else {
        return Ok(());
    };
    if csv.status == 200 && csv.body.lines().count() > 1 {
        TALLY.exports.fetch_add(1, Relaxed);
    } else {
        TALLY.exports_failed.fetch_add(1, Relaxed);
        TALLY.note(format!("download answered {}", csv.status));
    }
    Ok(())
}

/// The header's sign-out button; the landing page then offers sign-in again.
async fn sign_out(user: &mut GooseUser) -> TransactionResult {
    if !agent(user).signed_in {
        return Ok(());
    }
    let Some(page) = get(user, "/dashboard", "dashboard").await? else {
        return Ok(());
    };
    if html::form_to(&page.body, "/auth/logout").is_none() {
        TALLY.note("the dashboard has no sign-out form");
        return Ok(());
    }
    agent(user).signed_in = false;
    let Some(after) = post(user, "/auth/logout", "sign out", &[]).await? else {
        return Ok(());
    };
    if html::has_testid(&after.body, "sign-in") {
        TALLY.sign_outs.fetch_add(1, Relaxed);
        TALLY.cycles.fetch_add(1, Relaxed);
    } else {
        TALLY.note(format!(
            "sign-out answered {} {}",
            after.status,
            after.url.path()
        ));
    }
    Ok(())
}
