//! genesys-portal's server as a library: from a [`Config`], builds the shared state (session
//! store, Genesys client, the embedded sandbox when no org is configured) and the router.

// Release builds (no `erase_components`) compute the layout of deeply nested page views.
#![recursion_limit = "256"]

pub mod assets;
pub mod cli;
pub mod config;
pub mod limits;
pub mod metrics;
pub mod middleware;
pub mod routes;
pub mod scope;
pub mod shutdown;
pub mod startup;

use std::sync::Arc;

use app::backend::portal::Portal;
use axum::{extract::FromRef, Router};
use leptos::prelude::LeptosOptions;

use crate::{config::Config, limits::LoginLimiter, middleware::SiteOrigin};

/// The axum state: Leptos' options plus the portal and the server's own guards.
#[derive(Clone, FromRef)]
pub struct ServerState {
    pub leptos_options: LeptosOptions,
    pub portal: Arc<Portal>,
    pub limiter: LoginLimiter,
    pub site: SiteOrigin,
    pub probes: routes::health::Probes,
    pub metrics: metrics::Metrics,
}

/// A built portal: the router to serve and the handles behind it.
pub struct Built {
    pub router: Router,
    pub portal: Arc<Portal>,
    /// The embedded sandbox, when no org is configured (stops when dropped).
    pub sandbox: Option<sandbox::RunningSandbox>,
}

/// Builds the portal for `config`; every error names the setting or resource at fault.
pub async fn build(config: &Config, leptos_options: LeptosOptions) -> Result<Built, Vec<String>> {
    // Sign-in starts across the whole server: a burst of 600, then 10 a second.
    let limiter = LoginLimiter::new(
        limits::PER_CLIENT,
        limits::SERVER_WIDE,
        config.trusted_proxy_header.clone(),
    );
    build_with_limits(config, leptos_options, limiter).await
}

/// [`build`] with other sign-in limits (the sign-in benchmark starts thousands a second).
pub async fn build_with_limits(
    config: &Config,
    leptos_options: LeptosOptions,
    limiter: LoginLimiter,
) -> Result<Built, Vec<String>> {
    scope::install_executor();
    assets::publish(&leptos_options);
    let storage = startup::storage::open(config).await.map_err(|e| vec![e])?;
    let mut connection = startup::upstream::connect(config)
        .await
        .map_err(|e| vec![e])?;
    let metrics = metrics::Metrics::new();
    let portal = startup::portal::assemble(
        config,
        &connection,
        &storage,
        Some(metrics.upstream_observer()),
    )
    .await
    .map(Arc::new)
    .map_err(|e| vec![e])?;
    if let Some(manager) = &portal.service {
        metrics.add_service(manager);
        tokio::spawn(app::backend::service::follow_rotations(portal.clone()));
    }
    let state = ServerState {
        leptos_options,
        portal: portal.clone(),
        limiter,
        site: SiteOrigin::of(config),
        probes: routes::health::Probes::new(config.metrics_token.clone()),
        metrics,
    };
    Ok(Built {
        router: startup::router::router(config, state, storage.sessions),
        portal,
        sandbox: connection.sandbox.take(),
    })
}
