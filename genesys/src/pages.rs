//! Every user of an org as one stream of pages: page 1 tells `pageCount`, the rest are fetched a
//! few at a time (in order, sharing one rate-limit gate), and a hard cap bounds the work.

use std::sync::Arc;

use futures::future::ready;
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
}

impl Default for AllPagesOptions {
    /// 4 at once, at most 1,000 pages, at most 300 requests a minute.
    fn default() -> Self {
        AllPagesOptions {
            concurrency: 4,
            max_pages: 1000,
            requests_per_minute: Some(300),
        }
    }
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
    pub fn all_users(
        &self,
        token: AccessToken,
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
            token: Arc::new(token),
            query: Arc::new(query),
            gate,
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
                if page.page_count > max_pages {
                    return stream::once(ready(Err(ApiError::TooManyPages {
                        page_count: page.page_count,
                        max_pages,
                    })))
                    .boxed();
                }
                let fetcher = fetcher.clone();
                let rest = stream::iter(2..=page.page_count)
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
    token: Arc<AccessToken>,
    query: Arc<UserListQuery>,
    gate: Arc<RateGate>,
}

impl PageFetcher {
    async fn fetch(&self, number: u32) -> PageResult {
        let query = UserListQuery {
            page_number: number,
            ..(*self.query).clone()
        };
        let page = self
            .client
            .list_users_gated(&self.token, &query, Some(&self.gate))
            .await?
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
