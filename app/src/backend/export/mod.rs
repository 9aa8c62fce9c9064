//! "Export all to CSV" as a background job per request: pages stream in through the `genesys`
//! all-pages stream and go straight to a file, so the org is never held in memory at once; the
//! page polls the job's progress, can cancel it, and downloads the file when it is done.

pub mod csv;

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures::StreamExt;
use genesys::{AllPagesOptions, GenesysClient, TokenGuard, TokenProvider, User, UserListQuery};
use tokio::io::AsyncWriteExt;
use tokio_util::sync::CancellationToken;

use super::{
    errors::from_api,
    ids::random_id,
    mapping::{sort_order, state_filter},
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
/// Exports running at once across the server; a start beyond that is refused at once, with
/// a clear error.
const MAX_RUNNING: usize = 4;

struct Job {
    owner: String,
    started: Instant,
    /// When it ended (done, cancelled or failed); `None` while it runs.
    finished: Mutex<Option<Instant>>,
    progress: Mutex<ExportProgress>,
    cancel: CancellationToken,
    path: PathBuf,
}

/// The export jobs of this server.
pub struct ExportJobs {
    dir: PathBuf,
    jobs: Mutex<HashMap<String, Arc<Job>>>,
}

impl ExportJobs {
    /// Jobs writing their files under `dir` (emptied of older exports first).
    pub fn new(dir: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        for entry in std::fs::read_dir(&dir)?.flatten() {
            if entry.path().extension().is_some_and(|e| e == "csv") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(Self {
            dir,
            jobs: Mutex::default(),
        })
    }

    fn jobs(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Job>>> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Exports running now.
    pub fn running(&self) -> usize {
        self.jobs()
            .values()
            .filter(|job| {
                job.finished
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .is_none()
            })
            .count()
    }

    /// Drops the jobs that finished more than [`KEEP_FOR`] ago, and their files. Runs on a
    /// timer (the server's) as well as at every start, so files do not outlive their time
    /// when nobody exports.
    pub fn reap(&self) {
        self.reap_at(Instant::now());
    }

    fn reap_at(&self, now: Instant) {
        self.jobs().retain(|_, job| {
            let finished = *job.finished.lock().unwrap_or_else(|p| p.into_inner());
            let keep = finished.is_none_or(|at| now.saturating_duration_since(at) < KEEP_FOR);
            if !keep {
                let _ = std::fs::remove_file(&job.path);
            }
            keep
        });
    }

    /// Cancels and deletes every export of `owner` (a session's grant id), files included:
    /// at sign-out and whenever the session ends. Returns how many there were.
    pub fn forget_owner(&self, owner: &str) -> usize {
        let mut forgotten = 0;
        self.jobs().retain(|_, job| {
            if job.owner != owner {
                return true;
            }
            job.cancel.cancel();
            let _ = std::fs::remove_file(&job.path);
            forgotten += 1;
            false
        });
        forgotten
    }

    /// Starts exporting every user in `state`, sorted by name, as `owner`.
    pub fn start(
        self: &Arc<Self>,
        genesys: GenesysClient,
        lease: TokenLease,
        owner: &str,
        state: StateView,
        sort: Sort,
    ) -> Result<String, AppError> {
        self.reap();
        {
            let jobs = self.jobs();
            let running: Vec<_> = jobs.values().filter(|j| is_running(j)).collect();
            if running.iter().any(|j| j.owner == owner) {
                return Err(AppError::BadRequest {
                    message: "An export of yours is still running: wait for it or cancel it first."
                        .into(),
                });
            }
            if running.len() >= MAX_RUNNING {
                return Err(AppError::RateLimited {
                    retry_after_secs: 10,
                    context_id: None,
                });
            }
        }
        let id = random_id();
        let job = Arc::new(Job {
            owner: owner.to_string(),
            started: Instant::now(),
            finished: Mutex::new(None),
            progress: Mutex::new(ExportProgress {
                id: id.clone(),
                pages_done: 0,
                pages_total: 0,
                users: 0,
                status: ExportStatus::Running,
                elapsed_ms: 0,
                as_service: matches!(lease, TokenLease::Service(_)),
            }),
            cancel: CancellationToken::new(),
            path: self.dir.join(format!("{id}.csv")),
        });
        self.jobs().insert(id.clone(), job.clone());
        // 500 a page: Genesys' largest, the fewest requests for a whole org.
        let query = UserListQuery::by_state(state_filter(state), sort_order(sort), 1, 500);
        tokio::spawn(async move {
            let tokens = lease.source();
            conclude(&job, async {
                tokio::select! {
                    r = run(&job, genesys, tokens, query) => r,
                    _ = job.cancel.cancelled() => Err(None),
                }
            })
            .await;
            drop(lease);
        });
        Ok(id)
    }

    fn job(&self, id: &str, owner: &str) -> Result<Arc<Job>, AppError> {
        // Another user's job is as invisible as one that does not exist.
        self.jobs()
            .get(id)
            .filter(|j| j.owner == owner)
            .cloned()
            .ok_or(AppError::NotFound)
    }

    pub fn progress(&self, id: &str, owner: &str) -> Result<ExportProgress, AppError> {
        let job = self.job(id, owner)?;
        let mut p = job
            .progress
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if p.status == ExportStatus::Running {
            p.elapsed_ms = job.started.elapsed().as_millis() as u64;
        }
        Ok(p)
    }

    pub fn cancel(&self, id: &str, owner: &str) -> Result<(), AppError> {
        self.job(id, owner)?.cancel.cancel();
        Ok(())
    }

    /// The finished file of a job.
    pub fn file(&self, id: &str, owner: &str) -> Result<PathBuf, AppError> {
        let job = self.job(id, owner)?;
        let done = job
            .progress
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .status
            == ExportStatus::Done;
        if done {
            Ok(job.path.clone())
        } else {
            Err(AppError::BadRequest {
                message: "This export has not finished.".into(),
            })
        }
    }
}

fn is_running(job: &Job) -> bool {
    job.progress
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .status
        == ExportStatus::Running
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

/// Runs an export's work and records how it ended. A panic in the work is a failure like any
/// other: the job never stays "Running" after its task is gone.
async fn conclude(
    job: &Job,
    work: impl std::future::Future<Output = Result<(), Option<AppError>>>,
) {
    use futures::FutureExt;
    let result = std::panic::AssertUnwindSafe(work)
        .catch_unwind()
        .await
        .unwrap_or_else(|_| {
            Err(Some(AppError::Internal {
                message: "The export stopped unexpectedly; start it again.".into(),
            }))
        });
    let mut p = job.progress.lock().unwrap_or_else(|p| p.into_inner());
    p.elapsed_ms = job.started.elapsed().as_millis() as u64;
    p.status = match result {
        Ok(()) => ExportStatus::Done,
        Err(None) => ExportStatus::Cancelled,
        Err(Some(e)) => ExportStatus::Failed(e),
    };
    if p.status != ExportStatus::Done {
        let _ = std::fs::remove_file(&job.path);
    }
    *job.finished.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    tracing::info!(export = %p.id, users = p.users, pages = p.pages_done, ms = p.elapsed_ms, status = ?p.status, "export finished");
}

async fn run(
    job: &Job,
    genesys: GenesysClient,
    tokens: Arc<dyn TokenProvider>,
    query: UserListQuery,
) -> Result<(), Option<AppError>> {
    let io = |e: std::io::Error| {
        Some(AppError::internal(format!(
            "could not write the export file: {e}"
        )))
    };
    let mut file = tokio::io::BufWriter::new(tokio::fs::File::create(&job.path).await.map_err(io)?);
    let mut buf = String::new();
    csv::write_record(&mut buf, csv::HEADER);
    file.write_all(buf.as_bytes()).await.map_err(io)?;
    let options = AllPagesOptions {
        concurrency: 4,
        max_pages: 1_000,
        // Nobody waits on a page for an export: outlast a short outage rather than fail.
        page_retries: 4,
        ..Default::default()
    };
    let mut pages = std::pin::pin!(genesys.all_users(tokens, query, options));
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| Some(from_api(e)))?;
        buf.clear();
        for user in &page.entities {
            row(&mut buf, user);
        }
        file.write_all(buf.as_bytes()).await.map_err(io)?;
        let mut p = job.progress.lock().unwrap_or_else(|p| p.into_inner());
        p.pages_done += 1;
        p.pages_total = page.pages().max(1);
        p.users += page.entities.len() as u64;
    }
    file.flush().await.map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(dir: &std::path::Path) -> Job {
        Job {
            owner: "u".into(),
            started: Instant::now(),
            finished: Mutex::new(None),
            progress: Mutex::new(ExportProgress {
                id: "j".into(),
                pages_done: 0,
                pages_total: 0,
                users: 0,
                status: ExportStatus::Running,
                elapsed_ms: 0,
                as_service: false,
            }),
            cancel: CancellationToken::new(),
            path: dir.join("j.csv"),
        }
    }

    #[tokio::test]
    async fn a_panicking_export_is_marked_failed_and_its_file_removed() {
        let dir = tempfile::tempdir().unwrap();
        let job = job(dir.path());
        std::fs::write(&job.path, "id,name\r\n").unwrap();
        conclude(&job, async { panic!("an overflow deep in the export") }).await;
        let status = job.progress.lock().unwrap().status.clone();
        assert!(
            matches!(&status, ExportStatus::Failed(AppError::Internal { message }) if message.contains("start it again")),
            "{status:?}"
        );
        assert!(!job.path.exists());
    }

    /// Thirty minutes from when an export finished, not from when it started; running ones
    /// stay, and a session's end removes its exports at once.
    #[test]
    fn finished_exports_are_reaped_from_their_end_and_at_sign_out() {
        let dir = tempfile::tempdir().unwrap();
        let jobs = ExportJobs::new(dir.path().to_path_buf()).unwrap();
        let now = Instant::now();
        let add = |id: &str, owner: &str, finished: Option<Instant>| {
            let mut j = job(dir.path());
            j.owner = owner.into();
            j.path = dir.path().join(format!("{id}.csv"));
            *j.finished.get_mut().unwrap() = finished;
            std::fs::write(&j.path, "x").unwrap();
            let path = j.path.clone();
            jobs.jobs().insert(id.into(), Arc::new(j));
            path
        };
        let old = add("old", "a", Some(now));
        let fresh = add("fresh", "a", Some(now + KEEP_FOR - Duration::from_secs(60)));
        let running = add("running", "a", None);
        let other = add("other", "b", Some(now + KEEP_FOR));
        jobs.reap_at(now + KEEP_FOR + Duration::from_secs(1));
        assert!(!old.exists(), "finished 30 min 1 s ago: gone");
        assert!(fresh.exists() && running.exists() && other.exists());
        assert_eq!(jobs.jobs().len(), 3);
        assert_eq!(jobs.forget_owner("a"), 2);
        assert!(!fresh.exists() && !running.exists());
        assert!(other.exists(), "another session's export stays");
        assert_eq!(jobs.jobs().len(), 1);
    }

    #[tokio::test]
    async fn outcomes_map_to_statuses() {
        let dir = tempfile::tempdir().unwrap();
        for (result, expected) in [
            (Ok(()), ExportStatus::Done),
            (Err(None), ExportStatus::Cancelled),
            (
                Err(Some(AppError::UpstreamTimeout)),
                ExportStatus::Failed(AppError::UpstreamTimeout),
            ),
        ] {
            let job = job(dir.path());
            conclude(&job, async move { result }).await;
            assert_eq!(job.progress.lock().unwrap().status, expected);
        }
    }
}
