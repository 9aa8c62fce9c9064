//! The service identity, for the portal's admins: the client-credentials token manager's state
//! with the upstream's health, and a rotation that waits for requests on the old token.

use std::{sync::Arc, time::Duration};

use genesys::TokenManager;
use tower_sessions::Session;

use super::{
    access::require_user, clock::now_unix, mapping::service_status, portal::Portal,
    summary::check_upstream,
};
use crate::model::{AppError, Rotation, ServiceStatus};

/// How long a rotation waits for the requests still holding the old token.
const DRAIN_WAIT: Duration = Duration::from_secs(20);

/// The token manager, if the signed-in user is an admin and a service identity is configured.
async fn admin_manager(portal: &Portal, session: &Session) -> Result<Arc<TokenManager>, AppError> {
    let user = require_user(portal, session).await?;
    if !portal.admins.allows(&user) {
        return Err(AppError::NotAdmin);
    }
    portal.service.clone().ok_or_else(|| AppError::NotConfigured {
        what: "client-credentials identity (GENESYS_SERVICE_CLIENT_ID and GENESYS_SERVICE_CLIENT_SECRET)".into(),
    })
}

pub async fn status(portal: &Portal, session: &Session) -> Result<ServiceStatus, AppError> {
    let manager = admin_manager(portal, session).await?;
    let snapshot = manager.snapshot();
    let upstream = check_upstream(portal, session).await?;
    Ok(service_status(snapshot, now_unix().max(0) as u64, upstream))
}

/// Rotates the service token now: new requests get the new one at once; this waits (up to
/// [`DRAIN_WAIT`]) for the requests still holding the old one.
pub async fn rotate(portal: &Portal, session: &Session) -> Result<Rotation, AppError> {
    let manager = admin_manager(portal, session).await?;
    let started = std::time::Instant::now();
    let drain = manager.rotate().await.map_err(|e| AppError::Upstream {
        status: 502,
        message: e.to_string(),
        context_id: None,
    })?;
    let held_at_rotation = drain.remaining();
    let old_generation = drain.old_generation();
    let new_generation = drain.new_generation();
    let drained = tokio::time::timeout(DRAIN_WAIT, drain.wait()).await.is_ok();
    tracing::info!(
        ?old_generation,
        ?new_generation,
        held_at_rotation,
        drained,
        "service token rotated by an admin"
    );
    Ok(Rotation {
        old_generation,
        new_generation: Some(new_generation),
        held_at_rotation,
        drained,
        waited_ms: started.elapsed().as_millis() as u64,
    })
}
