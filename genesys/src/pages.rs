//! Every user of an org as one stream of pages: page 1 tells `pageCount`, the rest are fetched a
//! few at a time (in order, sharing one rate-limit gate), and a hard cap bounds the work. A
//! listing that outlives its token asks its [`TokenProvider`] for a fresh one after a 401, and a
//! page that still fails after the client's retries may be tried again after a pause.

use std::sync::Arc;
use std::time::Duration;

use futures::future::{ready, BoxFuture};
use futures::stream::{self, BoxStream, Stream, StreamExt};

use crate::api::{ApiError, UserListQuery};
use crate::client::GenesysClient;
use crate::retry::RateGate;
use crate::secret::AccessToken;
use crate::wire::UserEntityListing;

/// How [`GenesysClient::all_users`] fetches.
#[derive(Debug, Clone)]
pub struct AllPagesOptions {
    /// Pages fetched at once after page 1 (at least 1). At most this many fetched pages wait
    /// in memory for the consumer.
    pub concurrency: usize,
    /// The most pages the stream will fetch; a listing with more fails with
    /// [`ApiError::TooManyPages`] before any page past the first is fetched.
    pub max_pages: u32,
    /// Requests the stream may start in any 60 s (Genesys allows about 300 a minute per token);
    /// `None` relies on 429 back-off alone.
    pub requests_per_minute: Option<u32>,
    /// How many more times a page is fetched after the client's own retries gave up on a
    /// transient failure (429, 5xx, timeout, transport), after a pause: background work such
    /// as an export can afford more patience than a page a person waits for.
    pub page_retries: u32,
}

impl Default for AllPagesOptions {
    /// 4 at once, at most 1,000 pages, at most 300 requests a minute, no extra page retries.
    fn default() -> Self {
        AllPagesOptions {
            concurrency: 4,
            max_pages: 1000,
            requests_per_minute: Some(300),
            page_retries: 0,
        }
    }
}

/// The longest pause before a page retry (a `Retry-After` beyond it is cut to it).
const MAX_PAGE_PAUSE: Duration = Duration::from_secs(30);

/// Where a listing gets its bearer token. Asked once at the start, and again with the refused
/// token after Genesys answers 401, so that a long listing (a large org's export) carries on
/// when its token expires or is replaced meanwhile.
pub trait TokenProvider: Send + Sync + 'static {
    /// A token to call with; `refused` is the one Genesys just answered 401 to, if any.
    fn token(
        &self,
        refused: Option<&AccessToken>,
    ) -> BoxFuture<'static, Result<AccessToken, ApiError>>;
}

/// A fixed token: a 401 ends the listing.
impl TokenProvider for AccessToken {
    fn token(
        &self,
        refused: Option<&AccessToken>,
    ) -> BoxFuture<'static, Result<AccessToken, ApiError>> {
        let answer = match refused {
            None => Ok(self.clone()),
            Some(_) => Err(ApiError::Unauthorized { body: None }),
        };
        Box::pin(ready(answer))
    }
}

/// A shared source (such as `Arc<dyn TokenProvider>`).
impl<T: TokenProvider + ?Sized> TokenProvider for Arc<T> {
    fn token(
        &self,
        refused: Option<&AccessToken>,
    ) -> BoxFuture<'static, Result<AccessToken, ApiError>> {
        (**self).token(refused)
    }
}

/// Whether a page that failed after the client's retries may succeed later.
fn transient(error: &ApiError) -> bool {
    matches!(
        error,
        ApiError::RateLimited { .. }
            | ApiError::Upstream { .. }
            | ApiError::Timeout
            | ApiError::Transport(_)
    )
}

/// The pause before page retry `n` (1, 2, ...): a 429's `Retry-After`, else 1 s doubling.
fn pause(error: &ApiError, n: u32) -> Duration {
    let wait = match error {
        ApiError::RateLimited { retry_after, .. } => *retry_after,
        _ => Duration::from_secs(1u64 << n.saturating_sub(1).min(5)),
    };
    wait.min(MAX_PAGE_PAUSE)
}

type PageResult = Result<UserEntityListing, ApiError>;

impl GenesysClient {
    /// Every page of `GET /api/v2/users` for `query` (its `page_number` is ignored), in order.
    ///
    /// Page 1 is fetched alone to learn `pageCount`; pages 2.. are then fetched with up to
    /// `concurrency` requests in flight. All fetches share one [`RateGate`]: a 429 seen by
    /// one makes all of them wait, and the gate keeps them under `requests_per_minute`. The
    /// stream ends after the first error (which it yields). Users added or removed while
    /// paging can shift entries between pages, as with any page-number listing.
    ///
    /// `tokens` is an [`AccessToken`] for a listing that ends at the first 401, or a
    /// [`TokenProvider`] that can replace a refused token.
    pub fn all_users(
        &self,
        tokens: impl TokenProvider,
        query: UserListQuery,
        options: AllPagesOptions,
    ) -> impl Stream<Item = PageResult> + Send + 'static {
        let gate = Arc::new(match options.requests_per_minute {
            Some(limit) => RateGate::with_requests_per_minute(limit),
            None => RateGate::new(),
        });
        let concurrency = options.concurrency.max(1);
        let max_pages = options.max_pages;
        let fetcher = PageFetcher {
            client: self.clone(),
            tokens: Arc::new(tokens),
            current: Arc::new(tokio::sync::Mutex::new(None)),
            query: Arc::new(query),
            gate,
            page_retries: options.page_retries,
        };

        let first = {
            let fetcher = fetcher.clone();
            async move { fetcher.fetch(1).await }
        };
        let pages = stream::once(first)
            .map(move |first| -> BoxStream<'static, PageResult> {
                let page = match first {
                    Ok(page) => page,
                    Err(error) => return stream::once(ready(Err(error))).boxed(),
                };
                if page.pages() > max_pages {
                    return stream::once(ready(Err(ApiError::TooManyPages {
                        page_count: page.pages(),
                        max_pages,
                    })))
                    .boxed();
                }
                let fetcher = fetcher.clone();
                let rest = stream::iter(2..=page.pages())
                    .map(move |number| {
                        let fetcher = fetcher.clone();
                        async move { fetcher.fetch(number).await }
                    })
                    .buffered(concurrency);
                stream::once(ready(Ok(page))).chain(rest).boxed()
            })
            .flatten();

        // After an error the stream ends without polling the pages again: fetches still in
        // flight (perhaps waiting out a long back-off) are dropped, not awaited.
        stream::unfold(Some(pages.boxed()), |state| async move {
            let mut pages = state?;
            let item = pages.next().await?;
            let more = item.is_ok().then_some(pages);
            Some((item, more))
        })
    }
}

/// What each page fetch needs, cheap to clone into every future.
#[derive(Clone)]
struct PageFetcher {
    client: GenesysClient,
    tokens: Arc<dyn TokenProvider>,
    /// The token in use, shared by every fetch (`None` until the source was first asked).
    /// Held while the source is asked, so concurrent fetches refused together ask it once.
    current: Arc<tokio::sync::Mutex<Option<AccessToken>>>,
    query: Arc<UserListQuery>,
    gate: Arc<RateGate>,
    page_retries: u32,
}

impl PageFetcher {
    /// The token in use, asking the source the first time.
    async fn token(&self) -> Result<AccessToken, ApiError> {
        let mut current = self.current.lock().await;
        if let Some(token) = current.as_ref() {
            return Ok(token.clone());
        }
        let token = self.tokens.token(None).await?;
        Ok(current.insert(token).clone())
    }

    /// A replacement for `refused`: the one another fetch already got, or the source's.
    async fn replace(&self, refused: &AccessToken) -> Result<AccessToken, ApiError> {
        let mut current = self.current.lock().await;
        if let Some(token) = current.as_ref().filter(|t| !t.ct_eq(refused.secret())) {
            return Ok(token.clone());
        }
        let fresh = self.tokens.token(Some(refused)).await?;
        Ok(current.insert(fresh).clone())
    }

    /// One page: with a fresh token once after a 401, and again after a pause while a
    /// transient failure has page retries left.
    async fn fetch(&self, number: u32) -> PageResult {
        let query = UserListQuery {
            page_number: number,
            ..(*self.query).clone()
        };
        let mut retries = 0;
        loop {
            match self.fetch_once(&query).await {
                Err(e) if transient(&e) && retries < self.page_retries => {
                    retries += 1;
                    tokio::time::sleep(pause(&e, retries)).await;
                }
                other => return other,
            }
        }
    }

    async fn fetch_once(&self, query: &UserListQuery) -> PageResult {
        let number = query.page_number;
        let token = self.token().await?;
        let page = match self
            .client
            .list_users_gated(&token, query, Some(&self.gate))
            .await
        {
            Err(e) if e.is_unauthorized() => {
                let fresh = match self.replace(&token).await {
                    Ok(fresh) => fresh,
                    // The source cannot replace it: the 401 is the answer.
                    Err(ApiError::Unauthorized { .. }) => return Err(e),
                    Err(other) => return Err(other),
                };
                self.client
                    .list_users_gated(&fresh, query, Some(&self.gate))
                    .await?
            }
            other => other?,
        }
        .body;
        if page.page_number != number {
            return Err(ApiError::Malformed(format!(
                "asked for page {number}, got page {}",
                page.page_number
            )));
        }
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_stay_within_genesys_limits() {
        let options = AllPagesOptions::default();
        // Genesys allows 300 API requests a minute per token (GENESYS.md, limits).
        assert!(options
            .requests_per_minute
            .is_some_and(|r| (1..=300).contains(&r)));
        assert!(options.concurrency >= 1);
        // The largest org the sandbox seeds (100,000 users) fits at the largest page (500).
        assert!(u64::from(options.max_pages) * 500 >= 100_000);
    }
}
