//! The directory with the signed-in user's token: a page of `GET /api/v2/users`, or of
//! `POST /api/v2/users/search` when there is search text; one user; and starting an export.

use std::sync::Arc;

use tower_sessions::Session;

use genesys::{UserListQuery, UserSearchRequest};

use super::{
    access::{access_token, require_user, with_user_token, GrantTokens},
    export::TokenLease,
    mapping::{sort_order, state_filter, user_row},
    portal::Portal,
};
use crate::model::{
    AppError, DirectoryQuery, ExportProgress, Sort, StateView, UserDetail, UserPage,
};

/// One page of the directory as `query` describes it.
pub async fn list(
    portal: &Portal,
    session: &Session,
    query: &DirectoryQuery,
) -> Result<UserPage, AppError> {
    let query = &query.validated()?;
    if query.q.is_empty() {
        let list = UserListQuery::by_state(
            state_filter(query.state),
            sort_order(query.sort),
            query.page,
            query.size,
        );
        let (_, page) = with_user_token(portal, session, |token| {
            let (genesys, list) = (portal.genesys.clone(), list.clone());
            async move { genesys.list_users(&token, &list).await }
        })
        .await?;
        let page = page.body;
        let page_count = page.pages();
        Ok(UserPage {
            users: page.entities.into_iter().map(user_row).collect(),
            total: page.total,
            page: page.page_number,
            page_count,
            size: page.page_size,
            searched: false,
        })
    } else {
        let request = UserSearchRequest::by_name_or_email(
            &query.q,
            state_filter(query.state),
            sort_order(query.sort),
            query.page,
            query.size,
        );
        let (_, found) = with_user_token(portal, session, |token| {
            let (genesys, request) = (portal.genesys.clone(), request.clone());
            async move { genesys.search_users(&token, &request).await }
        })
        .await?;
        let found = found.body;
        Ok(UserPage {
            users: found.results.into_iter().map(user_row).collect(),
            total: found.total,
            page: found.page_number,
            page_count: found.page_count,
            size: found.page_size,
            searched: true,
        })
    }
}

/// Everything the API says about the user with `id`.
pub async fn detail(portal: &Portal, session: &Session, id: &str) -> Result<UserDetail, AppError> {
    // Genesys user ids are UUIDs; anything else is not worth a request.
    if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(AppError::NotFound);
    }
    let (_, user) = with_user_token(portal, session, |token| {
        let genesys = portal.genesys.clone();
        let id = id.to_string();
        async move {
            genesys
                .get_user(&token, &id, &["presence", "dateLastLogin"])
                .await
        }
    })
    .await?;
    let user = user.body;
    Ok(UserDetail {
        username: user.username.clone(),
        manager_id: user.manager.as_ref().map(|m| m.id.clone()),
        division_id: user.division.as_ref().map(|d| d.id.clone()),
        version: user.version,
        presence_modified: user.presence.as_ref().and_then(|p| p.modified_date.clone()),
        phones: user
            .addresses
            .iter()
            .flatten()
            .filter(|a| a.media_type.as_deref() == Some("PHONE"))
            .filter_map(|a| {
                let number = a.display.clone().or_else(|| a.address.clone())?;
                Some(match &a.extension {
                    Some(ext) => format!("{number} ext. {ext}"),
                    None => number,
                })
            })
            .collect(),
        last_login: user.date_last_login.clone(),
        row: user_row(user),
    })
}

/// Starts exporting every user in `state`, as the signed-in user or, when so configured, as
/// the portal's service identity. Returns the export's id.
pub async fn start_export(
    portal: &Arc<Portal>,
    session: &Session,
    state: StateView,
    sort: Sort,
) -> Result<String, AppError> {
    // A valid token now, so a sign-in that is over fails here and not in the background.
    let (user, _) = access_token(portal, session).await?;
    // The service identity reads the whole org with its own scopes: only admins may borrow
    // it; everyone else exports with their own token and permissions.
    let as_service = portal.export_as_service && portal.admins.allows(&user);
    let lease = match (&portal.service, as_service) {
        (Some(manager), true) => {
            let guard = manager
                .acquire()
                .await
                .map_err(|e| AppError::UpstreamUnavailable {
                    detail: format!("the portal's service identity has no token: {e}"),
                    context_id: None,
                })?;
            TokenLease::Service(guard)
        }
        _ => TokenLease::User(Arc::new(GrantTokens::new(portal.clone(), user.clone()))),
    };
    portal
        .exports
        .start(portal.genesys.clone(), lease, &user.grant_id, state, sort)
        .await
}

/// The progress of one of the signed-in user's exports.
pub async fn export_progress(
    portal: &Portal,
    session: &Session,
    id: &str,
) -> Result<ExportProgress, AppError> {
    let user = require_user(portal, session).await?;
    portal.exports.progress(id, &user.grant_id).await
}

/// Cancels one of the signed-in user's exports.
pub async fn cancel_export(portal: &Portal, session: &Session, id: &str) -> Result<(), AppError> {
    let user = require_user(portal, session).await?;
    portal.exports.cancel(id, &user.grant_id).await
}

/// The finished file of one of the signed-in user's exports, a part at a time from the store.
pub async fn export_file(
    portal: &Portal,
    session: &Session,
    id: &str,
) -> Result<impl futures::Stream<Item = Result<String, sqlx::Error>> + Send + 'static, AppError> {
    let user = require_user(portal, session).await?;
    portal.exports.file(id, &user.grant_id).await
}
