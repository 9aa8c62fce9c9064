//! "Export all to CSV" as a background job per request, shared by every replica through the
//! database: pages stream in through the `genesys` all-pages stream and go to the store a page
//! at a time (a chunk each), so the org is never held in memory at once; any replica shows a
//! job's progress, cancels it and serves its file. The replica running a job keeps its
//! heartbeat fresh and watches its cancel flag; a job whose replica stopped says so.

pub mod csv;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use futures::{Stream, StreamExt};
use genesys::{AllPagesOptions, GenesysClient, TokenGuard, TokenProvider, User, UserListQuery};
use sqlx::Row;
use tokio_util::sync::CancellationToken;

use super::{
    clock::now_unix_ms,
    db::Db,
    errors::from_api,
    ids::random_id,
    mapping::{sort_order, state_filter},
    session::store_error,
};
use crate::model::{AppError, ExportProgress, ExportStatus, Sort, StateView};

/// The tokens an export runs with, held until the export ends.
pub enum TokenLease {
    /// The signed-in user's tokens, refreshed when they expire during the export (a large
    /// org's export can outlive an access token): `access::GrantTokens`.
    User(Arc<dyn TokenProvider>),
    /// A guard on the service identity's token: it pins the token, so a rotation waits
    /// (drains) for this export instead of cutting it off.
    Service(TokenGuard),
}

impl TokenLease {
    fn source(&self) -> Arc<dyn TokenProvider> {
        match self {
            TokenLease::User(tokens) => tokens.clone(),
            TokenLease::Service(guard) => Arc::new(guard.token().clone()),
        }
    }
}

/// How long a finished export stays downloadable, counted from when it finished.
pub const KEEP_FOR: Duration = Duration::from_secs(30 * 60);
/// Exports running at once on this replica; a start beyond that is refused at once, with a
/// clear error.
const MAX_RUNNING: usize = 4;
/// How often the replica running an export stamps its heartbeat and reads its cancel flag.
const HEARTBEAT: Duration = Duration::from_secs(1);
/// A running export whose heartbeat is older than this lost its replica.
pub const STALE_AFTER: Duration = Duration::from_secs(10);
/// Chunks read from the store at a time while a file is served.
const CHUNKS_PER_READ: i64 = 8;

/// The export jobs of every replica, and the ones this replica runs.
pub struct ExportJobs {
    db: Db,
    replica: String,
    /// This replica's running exports: owner and cancel token by job id.
    local: Mutex<HashMap<String, (String, CancellationToken)>>,
}

impl ExportJobs {
    /// Jobs kept in `db`, run here as `replica`. Exports this replica was running when it last
    /// stopped are marked as failed at once (nothing runs them any more).
    pub async fn open(db: Db, replica: &str) -> Result<Self, sqlx::Error> {
        let jobs = Self {
            db,
            replica: replica.to_string(),
            local: Mutex::default(),
        };
        let orphans: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM export_jobs WHERE status = 'running' AND replica = $1",
        )
        .bind(replica)
        .fetch_all(jobs.db.pool())
        .await?;
        for id in orphans {
            jobs.mark_lost(&id, i64::MAX).await?;
        }
        Ok(jobs)
    }

    fn local(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, CancellationToken)>> {
        self.local.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Exports running now on this replica.
    pub fn running(&self) -> usize {
        self.local().len()
    }

    /// Drops the jobs that finished more than [`KEEP_FOR`] ago and their files, and marks the
    /// running ones whose replica stopped. Runs on a timer (every replica's) as well as at
    /// every start, so files do not outlive their time when nobody exports.
    pub async fn reap(&self) -> Result<u64, sqlx::Error> {
        self.reap_at(now_unix_ms()).await
    }

    async fn reap_at(&self, now_ms: i64) -> Result<u64, sqlx::Error> {
        let cutoff = now_ms - KEEP_FOR.as_millis() as i64;
        let stale: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM export_jobs WHERE status = 'running' AND heartbeat_ms < $1",
        )
        .bind(now_ms - STALE_AFTER.as_millis() as i64)
        .fetch_all(self.db.pool())
        .await?;
        for id in stale {
            self.mark_lost(&id, now_ms).await?;
        }
        sqlx::query(
            "DELETE FROM export_chunks WHERE job_id IN \
             (SELECT id FROM export_jobs WHERE finished_ms < $1)",
        )
        .bind(cutoff)
        .execute(self.db.pool())
        .await?;
        let r = sqlx::query("DELETE FROM export_jobs WHERE finished_ms < $1")
            .bind(cutoff)
            .execute(self.db.pool())
            .await?;
        Ok(r.rows_affected())
    }

    /// Marks `id` failed because its replica stopped, when it still runs with a heartbeat
    /// older than [`STALE_AFTER`] before `now_ms`; its chunks go.
    async fn mark_lost(&self, id: &str, now_ms: i64) -> Result<(), sqlx::Error> {
        let row = sqlx::query("SELECT replica FROM export_jobs WHERE id = $1")
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        let Some(row) = row else { return Ok(()) };
        let replica: String = row.try_get(0)?;
        let failure = AppError::Internal {
            message: format!(
                "The portal replica running this export ({replica}) stopped before it finished; start it again."
            ),
        };
        let stamp = now_ms.min(now_unix_ms());
        let r = sqlx::query(
            "UPDATE export_jobs SET status = 'failed', failure = $1, finished_ms = $2 \
             WHERE id = $3 AND status = 'running' AND heartbeat_ms < $4",
        )
        .bind(serde_json::to_string(&failure).unwrap_or_default())
        .bind(stamp)
        .bind(id)
        .bind(now_ms.saturating_sub(STALE_AFTER.as_millis() as i64))
        .execute(self.db.pool())
        .await?;
        if r.rows_affected() == 1 {
            tracing::warn!(export = %id, %replica, "an export's replica stopped: marked failed");
            self.delete_chunks(id).await?;
        }
        Ok(())
    }

    async fn delete_chunks(&self, id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM export_chunks WHERE job_id = $1")
            .bind(id)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Cancels and deletes every export of `owner` (a session's grant id), files included,
    /// on whichever replica it runs: at sign-out and whenever the session ends. Returns how
    /// many there were.
    pub async fn forget_owner(&self, owner: &str) -> Result<u64, sqlx::Error> {
        self.local().retain(|_, (o, cancel)| {
            if o == owner {
                cancel.cancel();
            }
            o != owner
        });
        sqlx::query(
            "DELETE FROM export_chunks WHERE job_id IN (SELECT id FROM export_jobs WHERE owner = $1)",
        )
        .bind(owner)
        .execute(self.db.pool())
        .await?;
        // A job running on another replica finds its row gone at its next heartbeat, stops
        // and deletes what it wrote since.
        let r = sqlx::query("DELETE FROM export_jobs WHERE owner = $1")
            .bind(owner)
            .execute(self.db.pool())
            .await?;
        Ok(r.rows_affected())
    }

    /// Starts exporting every user in `state`, sorted by name, as `owner`.
    pub async fn start(
        self: &Arc<Self>,
        genesys: GenesysClient,
        lease: TokenLease,
        owner: &str,
        state: StateView,
        sort: Sort,
    ) -> Result<String, AppError> {
        self.reap().await.map_err(store_error)?;
        if self.running() >= MAX_RUNNING {
            return Err(AppError::RateLimited {
                retry_after_secs: 10,
                context_id: None,
            });
        }
        let still_running = || AppError::BadRequest {
            message: "An export of yours is still running: wait for it or cancel it first.".into(),
        };
        let id = random_id();
        let now = now_unix_ms();
        let inserted = sqlx::query(
            "INSERT INTO export_jobs (id, owner, replica, status, as_service, started_ms, heartbeat_ms) \
             VALUES ($1, $2, $3, 'running', $4, $5, $5)",
        )
        .bind(&id)
        .bind(owner)
        .bind(&self.replica)
        .bind(i64::from(matches!(lease, TokenLease::Service(_))))
        .bind(now)
        .execute(self.db.pool())
        .await;
        match inserted {
            Ok(_) => {}
            // The index allows one running export per owner, whichever replica runs it.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Err(still_running()),
            Err(e) => return Err(store_error(e)),
        }
        let cancel = CancellationToken::new();
        self.local()
            .insert(id.clone(), (owner.to_string(), cancel.clone()));
        // 500 a page: Genesys' largest, the fewest requests for a whole org.
        let query = UserListQuery::by_state(state_filter(state), sort_order(sort), 1, 500);
        let jobs = self.clone();
        let job_id = id.clone();
        tokio::spawn(async move {
            let tokens = lease.source();
            let job = JobRef {
                jobs: &jobs,
                id: &job_id,
            };
            let outcome = capture(async {
                tokio::select! {
                    r = job.run(genesys, tokens, query) => r,
                    _ = job.watch(&cancel) => Err(None),
                    _ = cancel.cancelled() => Err(None),
                }
            })
            .await;
            job.conclude(outcome).await;
            jobs.local().remove(&job_id);
            drop(lease);
        });
        Ok(id)
    }

    async fn row(&self, id: &str, owner: &str) -> Result<JobRow, AppError> {
        // Another user's job is as invisible as one that does not exist.
        let row = sqlx::query(
            "SELECT status, failure, pages_done, pages_total, users, as_service, started_ms, \
             finished_ms, heartbeat_ms FROM export_jobs WHERE id = $1 AND owner = $2",
        )
        .bind(id)
        .bind(owner)
        .fetch_optional(self.db.pool())
        .await
        .map_err(store_error)?
        .ok_or(AppError::NotFound)?;
        JobRow::read(&row).map_err(store_error)
    }

    pub async fn progress(&self, id: &str, owner: &str) -> Result<ExportProgress, AppError> {
        let mut row = self.row(id, owner).await?;
        let now = now_unix_ms();
        if row.status == "running" && row.heartbeat_ms < now - STALE_AFTER.as_millis() as i64 {
            self.mark_lost(id, now).await.map_err(store_error)?;
            row = self.row(id, owner).await?;
        }
        Ok(row.progress(id, now))
    }

    /// Asks the job to stop, wherever it runs (at once here, within a heartbeat elsewhere).
    pub async fn cancel(&self, id: &str, owner: &str) -> Result<(), AppError> {
        let r =
            sqlx::query("UPDATE export_jobs SET cancel_requested = 1 WHERE id = $1 AND owner = $2")
                .bind(id)
                .bind(owner)
                .execute(self.db.pool())
                .await
                .map_err(store_error)?;
        if r.rows_affected() == 0 {
            return Err(AppError::NotFound);
        }
        if let Some((_, cancel)) = self.local().get(id) {
            cancel.cancel();
        }
        Ok(())
    }

    /// The finished file of a job, read from the store a few pages at a time.
    pub async fn file(
        self: &Arc<Self>,
        id: &str,
        owner: &str,
    ) -> Result<impl Stream<Item = Result<String, sqlx::Error>> + Send + 'static, AppError> {
        let row = self.row(id, owner).await?;
        if row.status != "done" {
            return Err(AppError::BadRequest {
                message: "This export has not finished.".into(),
            });
        }
        let jobs = self.clone();
        let id = id.to_string();
        let batches = futures::stream::try_unfold(Some(0i64), move |next| {
            let jobs = jobs.clone();
            let id = id.clone();
            async move {
                let Some(from) = next else { return Ok(None) };
                let rows = sqlx::query(
                    "SELECT seq, data FROM export_chunks WHERE job_id = $1 AND seq >= $2 \
                     ORDER BY seq LIMIT $3",
                )
                .bind(&id)
                .bind(from)
                .bind(CHUNKS_PER_READ)
                .fetch_all(jobs.db.pool())
                .await?;
                if rows.is_empty() {
                    return Ok(None);
                }
                let mut last = from;
                let mut text = String::new();
                for row in &rows {
                    last = row.try_get(0)?;
                    text.push_str(row.try_get::<&str, _>(1)?);
                }
                let more = rows.len() as i64 == CHUNKS_PER_READ;
                Ok(Some((text, more.then_some(last + 1))))
            }
        });
        Ok(batches)
    }
}

/// One job's row, as the store holds it.
struct JobRow {
    status: String,
    failure: Option<String>,
    pages_done: i64,
    pages_total: i64,
    users: i64,
    as_service: bool,
    started_ms: i64,
    finished_ms: Option<i64>,
    heartbeat_ms: i64,
}

impl JobRow {
    fn read(row: &sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            status: row.try_get(0)?,
            failure: row.try_get(1)?,
            pages_done: row.try_get(2)?,
            pages_total: row.try_get(3)?,
            users: row.try_get(4)?,
            as_service: row.try_get::<i64, _>(5)? != 0,
            started_ms: row.try_get(6)?,
            finished_ms: row.try_get(7)?,
            heartbeat_ms: row.try_get(8)?,
        })
    }

    fn progress(&self, id: &str, now_ms: i64) -> ExportProgress {
        let status = match self.status.as_str() {
            "running" => ExportStatus::Running,
            "done" => ExportStatus::Done,
            "cancelled" => ExportStatus::Cancelled,
            _ => ExportStatus::Failed(
                self.failure
                    .as_deref()
                    .and_then(|f| serde_json::from_str(f).ok())
                    .unwrap_or_else(|| AppError::internal("the export failed")),
            ),
        };
        let end = self.finished_ms.unwrap_or(now_ms);
        ExportProgress {
            id: id.to_string(),
            pages_done: self.pages_done.clamp(0, u32::MAX as i64) as u32,
            pages_total: self.pages_total.clamp(0, u32::MAX as i64) as u32,
            users: self.users.max(0) as u64,
            status,
            elapsed_ms: end.saturating_sub(self.started_ms).max(0) as u64,
            as_service: self.as_service,
        }
    }
}

/// A job this replica runs.
struct JobRef<'a> {
    jobs: &'a ExportJobs,
    id: &'a str,
}

impl JobRef<'_> {
    fn pool(&self) -> &sqlx::AnyPool {
        self.jobs.db.pool()
    }

    /// Stamps the heartbeat every [`HEARTBEAT`] and ends when the job was cancelled from any
    /// replica or deleted (its session ended).
    async fn watch(&self, cancel: &CancellationToken) {
        let mut tick = tokio::time::interval(HEARTBEAT);
        loop {
            tick.tick().await;
            let flag: Result<Option<i64>, _> = sqlx::query_scalar(
                "UPDATE export_jobs SET heartbeat_ms = $1 WHERE id = $2 RETURNING cancel_requested",
            )
            .bind(now_unix_ms())
            .bind(self.id)
            .fetch_optional(self.pool())
            .await;
            match flag {
                Ok(Some(0)) => {}
                Ok(_) => {
                    cancel.cancel();
                    return;
                }
                // A blip in the store: the next page's write tells whether it lasts.
                Err(e) => tracing::warn!(export = %self.id, error = %e, "export heartbeat"),
            }
        }
    }

    async fn chunk(&self, seq: i64, data: &str) -> Result<(), Option<AppError>> {
        sqlx::query("INSERT INTO export_chunks (job_id, seq, data) VALUES ($1, $2, $3)")
            .bind(self.id)
            .bind(seq)
            .bind(data)
            .execute(self.pool())
            .await
            .map_err(|e| Some(store_error(e)))?;
        Ok(())
    }

    async fn run(
        &self,
        genesys: GenesysClient,
        tokens: Arc<dyn TokenProvider>,
        query: UserListQuery,
    ) -> Result<(), Option<AppError>> {
        let mut buf = String::new();
        csv::write_record(&mut buf, csv::HEADER);
        self.chunk(0, &buf).await?;
        let options = AllPagesOptions {
            concurrency: 4,
            max_pages: 1_000,
            // Nobody waits on a page for an export: outlast a short outage rather than fail.
            page_retries: 4,
            ..Default::default()
        };
        let mut pages = std::pin::pin!(genesys.all_users(tokens, query, options));
        let mut seq = 0;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| Some(from_api(e)))?;
            buf.clear();
            for user in &page.entities {
                row(&mut buf, user);
            }
            seq += 1;
            self.chunk(seq, &buf).await?;
            let updated = sqlx::query(
                "UPDATE export_jobs SET pages_done = pages_done + 1, pages_total = $1, \
                 users = users + $2, heartbeat_ms = $3 WHERE id = $4",
            )
            .bind(i64::from(page.pages().max(1)))
            .bind(page.entities.len() as i64)
            .bind(now_unix_ms())
            .bind(self.id)
            .execute(self.pool())
            .await
            .map_err(|e| Some(store_error(e)))?;
            if updated.rows_affected() == 0 {
                // Deleted under it: its session ended.
                return Err(None);
            }
        }
        Ok(())
    }

    /// Records how the job ended. Anything but a finished file leaves no chunks behind.
    async fn conclude(&self, outcome: Result<(), Option<AppError>>) {
        let (status, failure) = match &outcome {
            Ok(()) => ("done", None),
            Err(None) => ("cancelled", None),
            Err(Some(e)) => ("failed", serde_json::to_string(e).ok()),
        };
        let result = sqlx::query(
            "UPDATE export_jobs SET status = $1, failure = $2, finished_ms = $3 WHERE id = $4",
        )
        .bind(status)
        .bind(failure)
        .bind(now_unix_ms())
        .bind(self.id)
        .execute(self.pool())
        .await;
        if let Err(e) = &result {
            // The row stays "running" and goes stale: whoever looks next sees it failed.
            tracing::error!(export = %self.id, error = %e, "could not record an export's end");
        }
        if status != "done" {
            if let Err(e) = self.jobs.delete_chunks(self.id).await {
                tracing::error!(export = %self.id, error = %e, "could not delete an export's chunks");
            }
        }
        tracing::info!(export = %self.id, status, "export finished");
    }
}

/// Runs an export's work. A panic in the work is a failure like any other: the job never
/// stays "Running" after its task is gone.
async fn capture(
    work: impl std::future::Future<Output = Result<(), Option<AppError>>>,
) -> Result<(), Option<AppError>> {
    use futures::FutureExt;
    std::panic::AssertUnwindSafe(work)
        .catch_unwind()
        .await
        .unwrap_or_else(|_| {
            Err(Some(AppError::Internal {
                message: "The export stopped unexpectedly; start it again.".into(),
            }))
        })
}

fn row(out: &mut String, u: &User) {
    let presence = u
        .presence
        .as_ref()
        .and_then(|p| p.system_presence())
        .unwrap_or("");
    csv::write_record(
        out,
        [
            u.id.as_str(),
            u.name.as_str(),
            u.email.as_deref().unwrap_or(""),
            u.username.as_deref().unwrap_or(""),
            u.title.as_deref().unwrap_or(""),
            u.department.as_deref().unwrap_or(""),
            u.division
                .as_ref()
                .and_then(|d| d.name.as_deref())
                .unwrap_or(""),
            u.state.map_or("", |s| s.as_str()),
            presence,
            u.manager.as_ref().map(|m| m.id.as_str()).unwrap_or(""),
        ],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn jobs(dir: &std::path::Path, replica: &str) -> Arc<ExportJobs> {
        let url = format!("sqlite://{}?mode=rwc", dir.join("portal.db").display());
        let db = Db::open(&url, 2).await.unwrap();
        Arc::new(ExportJobs::open(db, replica).await.unwrap())
    }

    /// A row as a replica would have left it.
    async fn add(
        jobs: &ExportJobs,
        id: &str,
        owner: &str,
        status: &str,
        finished_ms: Option<i64>,
        heartbeat_ms: i64,
    ) {
        sqlx::query(
            "INSERT INTO export_jobs (id, owner, replica, status, started_ms, finished_ms, heartbeat_ms) \
             VALUES ($1, $2, 'replica-b', $3, $4, $5, $4)",
        )
        .bind(id)
        .bind(owner)
        .bind(status)
        .bind(heartbeat_ms)
        .bind(finished_ms)
        .execute(jobs.db.pool())
        .await
        .unwrap();
        sqlx::query("INSERT INTO export_chunks (job_id, seq, data) VALUES ($1, 0, 'id\r\n')")
            .bind(id)
            .execute(jobs.db.pool())
            .await
            .unwrap();
    }

    async fn chunks(jobs: &ExportJobs, id: &str) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM export_chunks WHERE job_id = $1")
            .bind(id)
            .fetch_one(jobs.db.pool())
            .await
            .unwrap()
    }

    /// One running export per sign-in is the database's rule (a unique index), so that two
    /// replicas asked at once cannot both start one; finished ones do not count.
    #[tokio::test]
    async fn one_running_export_per_owner_is_the_databases_rule() {
        let dir = tempfile::tempdir().unwrap();
        let jobs = jobs(dir.path(), "replica-a").await;
        let now = now_unix_ms();
        add(&jobs, "done", "a", "done", Some(now), now).await;
        add(&jobs, "one", "a", "running", None, now).await;
        let second = sqlx::query(
            "INSERT INTO export_jobs (id, owner, replica, status, started_ms, heartbeat_ms) \
             VALUES ('two', 'a', 'replica-b', 'running', 0, 0)",
        )
        .execute(jobs.db.pool())
        .await;
        assert!(
            matches!(&second, Err(sqlx::Error::Database(e)) if e.is_unique_violation()),
            "{second:?}"
        );
        add(&jobs, "other", "b", "running", None, now).await;
    }

    #[tokio::test]
    async fn a_panicking_export_is_a_failure_that_says_to_start_again() {
        let outcome = capture(async { panic!("an overflow deep in the export") }).await;
        assert!(
            matches!(&outcome, Err(Some(AppError::Internal { message })) if message.contains("start it again")),
            "{outcome:?}"
        );
    }

    /// Thirty minutes from when an export finished, not from when it started; running ones
    /// stay, and a session's end removes its exports (and their files) at once.
    #[tokio::test]
    async fn finished_exports_are_reaped_from_their_end_and_at_sign_out() {
        let dir = tempfile::tempdir().unwrap();
        let jobs = jobs(dir.path(), "replica-a").await;
        let now = now_unix_ms();
        let keep = KEEP_FOR.as_millis() as i64;
        add(
            &jobs,
            "old",
            "a",
            "done",
            Some(now - keep - 1_000),
            now - keep,
        )
        .await;
        add(&jobs, "fresh", "a", "done", Some(now - keep + 60_000), now).await;
        add(&jobs, "running", "a", "running", None, now).await;
        add(&jobs, "other", "b", "cancelled", Some(now), now).await;
        assert_eq!(jobs.reap_at(now).await.unwrap(), 1);
        assert_eq!(chunks(&jobs, "old").await, 0, "its file went with it");
        for id in ["fresh", "running"] {
            assert!(jobs.progress(id, "a").await.is_ok(), "{id} stays");
        }
        assert_eq!(jobs.forget_owner("a").await.unwrap(), 2);
        assert_eq!(jobs.progress("fresh", "a").await, Err(AppError::NotFound));
        assert_eq!(
            chunks(&jobs, "fresh").await + chunks(&jobs, "running").await,
            0
        );
        assert_eq!(
            chunks(&jobs, "other").await,
            1,
            "another session's export stays"
        );
        assert_eq!(
            jobs.progress("other", "a").await,
            Err(AppError::NotFound),
            "and is invisible to this one"
        );
    }

    /// A running export whose replica stopped stamping its heartbeat is told as failed, with
    /// the replica's name, and frees its owner to start another; a recent heartbeat is not.
    #[tokio::test]
    async fn an_export_whose_replica_stopped_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let jobs = jobs(dir.path(), "replica-a").await;
        let now = now_unix_ms();
        let stale = now - STALE_AFTER.as_millis() as i64 - 1_000;
        add(&jobs, "slow", "a", "running", None, now - 2_000).await;
        add(&jobs, "lost", "b", "running", None, stale).await;
        assert_eq!(
            jobs.progress("slow", "a").await.unwrap().status,
            ExportStatus::Running
        );
        let lost = jobs.progress("lost", "b").await.unwrap();
        match &lost.status {
            ExportStatus::Failed(AppError::Internal { message }) => {
                assert!(
                    message.contains("replica-b") && message.contains("stopped"),
                    "{message}"
                )
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(chunks(&jobs, "lost").await, 0);
        assert!(lost.elapsed_ms > 0);
        // The index no longer holds "b" to its dead export.
        add(&jobs, "next", "b", "running", None, now).await;
    }

    /// A replica that restarts marks the exports it was running as failed at once.
    #[tokio::test]
    async fn a_restarted_replica_fails_the_exports_it_was_running() {
        let dir = tempfile::tempdir().unwrap();
        let first = jobs(dir.path(), "replica-b").await;
        add(&first, "j", "a", "running", None, now_unix_ms()).await;
        let again = jobs(dir.path(), "replica-b").await;
        assert!(matches!(
            again.progress("j", "a").await.unwrap().status,
            ExportStatus::Failed(_)
        ));
    }

    #[tokio::test]
    async fn outcomes_map_to_statuses_and_only_a_finished_file_keeps_its_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let jobs = jobs(dir.path(), "replica-a").await;
        for (n, (outcome, expected)) in [
            (Ok(()), ExportStatus::Done),
            (Err(None), ExportStatus::Cancelled),
            (
                Err(Some(AppError::UpstreamTimeout)),
                ExportStatus::Failed(AppError::UpstreamTimeout),
            ),
        ]
        .into_iter()
        .enumerate()
        {
            let id = format!("j{n}");
            add(&jobs, &id, "a", "running", None, now_unix_ms()).await;
            JobRef {
                jobs: &jobs,
                id: &id,
            }
            .conclude(outcome)
            .await;
            let progress = jobs.progress(&id, "a").await.unwrap();
            assert_eq!(progress.status, expected);
            let kept = chunks(&jobs, &id).await;
            assert_eq!(kept, i64::from(expected == ExportStatus::Done), "{id}");
            // Finished jobs are downloadable, the others are not.
            assert_eq!(
                jobs.file(&id, "a").await.is_ok(),
                expected == ExportStatus::Done
            );
            // The owner is free to start again.
            jobs.forget_owner("a").await.unwrap();
        }
    }

    #[tokio::test]
    async fn a_file_is_served_from_its_chunks_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let jobs = jobs(dir.path(), "replica-a").await;
        add(&jobs, "j", "a", "done", Some(now_unix_ms()), now_unix_ms()).await;
        // More chunks than one read takes, inserted out of order.
        for seq in (1..=(CHUNKS_PER_READ * 2 + 3)).rev() {
            sqlx::query("INSERT INTO export_chunks (job_id, seq, data) VALUES ('j', $1, $2)")
                .bind(seq)
                .bind(format!("{seq}\r\n"))
                .execute(jobs.db.pool())
                .await
                .unwrap();
        }
        let parts: Vec<String> = jobs
            .file("j", "a")
            .await
            .unwrap()
            .map(|part| part.unwrap())
            .collect()
            .await;
        let expected: String = std::iter::once("id\r\n".to_string())
            .chain((1..=(CHUNKS_PER_READ * 2 + 3)).map(|s| format!("{s}\r\n")))
            .collect();
        assert_eq!(parts.concat(), expected);
        assert_eq!(parts.len(), 3, "read a few pages at a time");
        assert_eq!(
            jobs.file("j", "b").await.err(),
            Some(AppError::NotFound),
            "nobody else's"
        );
    }
}
