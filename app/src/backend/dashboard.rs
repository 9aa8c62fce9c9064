//! The signed-in user's dashboard: `/api/v2/users/me` with presence, and the session's facts
//! (scopes, organisation, how long the token lasts and whether it renews).

use tower_sessions::Session;

use super::{access::with_user_token, mapping::picture, portal::Portal, session::store_error};
use crate::model::{AppError, Dashboard};

pub async fn dashboard(portal: &Portal, session: &Session) -> Result<Dashboard, AppError> {
    let (user, me) = with_user_token(portal, session, |token| {
        let genesys = portal.genesys.clone();
        async move { genesys.users_me(&token, &["presence"]).await }
    })
    .await?;
    let me = me.body;
    let grant = portal
        .grants
        .get(&user.grant_id)
        .await
        .map_err(store_error)?
        .ok_or(AppError::SessionExpired)?;
    Ok(Dashboard {
        image_url: picture(me.images.as_deref(), "x96"),
        name: me.name,
        email: me.email,
        title: me.title,
        department: me.department,
        division: me.division.and_then(|d| d.name),
        presence: me
            .presence
            .as_ref()
            .and_then(|p| p.system_presence())
            .map(str::to_owned),
        upstream: portal.upstream.clone(),
        org_name: user.org_name,
        scopes: user.scopes,
        token_expires_in_secs: grant.seconds_left().max(0),
        refreshable: grant.refresh_token.is_some(),
    })
}
