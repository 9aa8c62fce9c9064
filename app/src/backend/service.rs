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
    Ok(service_status(
        snapshot,
        now_unix().max(0) as u64,
        upstream,
        &portal.replica_id,
    ))
}

/// How often a replica looks for a rotation another replica was asked for.
pub const FOLLOW_EVERY: Duration = Duration::from_secs(2);

/// Rotates this replica's service token whenever another replica's admin asked for a rotation
/// ([`super::signals::SERVICE_ROTATION`]); runs for the life of the process. Rotations asked
/// for before this replica started are not replayed.
pub async fn follow_rotations(portal: Arc<Portal>) {
    use std::sync::atomic::Ordering;
    let Some(manager) = portal.service.clone() else {
        return;
    };
    let signal = super::signals::SERVICE_ROTATION;
    if let Ok(now) = portal.signals.generation(signal).await {
        portal.seen_rotation.fetch_max(now, Ordering::SeqCst);
    }
    let mut tick = tokio::time::interval(FOLLOW_EVERY);
    loop {
        tick.tick().await;
        let Ok(generation) = portal.signals.generation(signal).await else {
            continue;
        };
        if portal.seen_rotation.fetch_max(generation, Ordering::SeqCst) >= generation {
            continue;
        }
        match manager.rotate().await {
            Ok(drain) => tracing::info!(
                new_generation = ?drain.new_generation(),
                replica = %portal.replica_id,
                "service token rotated at another replica's request"
            ),
            Err(e) => tracing::warn!(error = %e, "a rotation another replica asked for failed"),
        }
    }
}

/// Rotates the service token now: new requests get the new one at once; this waits (up to
/// [`DRAIN_WAIT`]) for the requests still holding the old one.
pub async fn rotate(portal: &Portal, session: &Session) -> Result<Rotation, AppError> {
    let manager = admin_manager(portal, session).await?;
    let started = std::time::Instant::now();
    // The other replicas rotate theirs when they see the signal (within a few seconds); this
    // one rotates here, and its poller skips the generation it raised.
    let all_replicas = match portal
        .signals
        .raise(super::signals::SERVICE_ROTATION, &portal.replica_id)
        .await
    {
        Ok(generation) => {
            portal
                .seen_rotation
                .fetch_max(generation, std::sync::atomic::Ordering::SeqCst);
            true
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not signal the other replicas to rotate");
            false
        }
    };
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
        replica = %portal.replica_id,
        "service token rotated by an admin"
    );
    Ok(Rotation {
        old_generation,
        new_generation: Some(new_generation),
        held_at_rotation,
        drained,
        waited_ms: started.elapsed().as_millis() as u64,
        all_replicas,
    })
}
