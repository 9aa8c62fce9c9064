//! What the portal's admin pages call: create, list, disable, re-invite and delete guests, read
//! the audit trail, rotate the signing key; and the guest page's session lookup.

use crate::clock::{ms, now_ms, now_unix};
use crate::guests::{Guest, GuestPage, Invitation, NewGuest};
use crate::secret::{random_token, token_hash};
use crate::store;
use crate::{Idp, IdpError};

impl Idp {
    /// The guest whose provider session cookie is in this `Cookie` header, if any (the
    /// portal's own pages ask this; other cookies in the header are ignored).
    pub async fn guest_for_cookies(&self, cookie_header: &str) -> Result<Option<Guest>, IdpError> {
        match crate::form::cookie_in(cookie_header, self.session_cookie_name()) {
            Some(value) => self.guest_for_session(value).await,
            None => Ok(None),
        }
    }

    /// The guest signed in with this session cookie value, if the session is live and the
    /// guest enabled. A garbage value is simply no guest.
    pub async fn guest_for_session(&self, cookie_value: &str) -> Result<Option<Guest>, IdpError> {
        if cookie_value.is_empty() || cookie_value.len() > 256 {
            return Ok(None);
        }
        let Some((guest_id, _)) =
            store::guests::session(self.pool(), &token_hash(cookie_value), now_ms()).await?
        else {
            return Ok(None);
        };
        Ok(store::guests::get(self.pool(), &guest_id)
            .await?
            .filter(|g| !g.disabled))
    }

    /// Creates a guest (validated, see [`NewGuest`]) and its first invitation.
    pub async fn create_guest(
        &self,
        new: NewGuest,
        actor: &str,
    ) -> Result<(Guest, Invitation), IdpError> {
        let new = new.validated()?;
        let guest = Guest {
            id: uuid::Uuid::new_v4().to_string(),
            given_name: new.given_name,
            family_name: new.family_name,
            email: new.email,
            attributes: new.attributes,
            disabled: false,
            created_unix: now_unix(),
            last_sign_in_unix: None,
        };
        store::guests::insert(self.pool(), &guest).await?;
        self.record(actor, "guest.created", Some(&guest.id), None)
            .await;
        let invitation = self.new_invitation(&guest.id).await?;
        Ok((guest, invitation))
    }

    /// One page (from 1) of guests whose name or e-mail contains `search`, case-insensitively.
    /// `page_size` is clamped to 1..=200.
    pub async fn list_guests(
        &self,
        search: &str,
        page: u32,
        page_size: u32,
    ) -> Result<GuestPage, IdpError> {
        let size = page_size.clamp(1, 200);
        let page = page.max(1);
        let search: String = search.chars().take(200).collect();
        let offset = i64::from(page - 1) * i64::from(size);
        let (guests, total) =
            store::guests::search(self.pool(), &search, offset, i64::from(size)).await?;
        let page_count = u32::try_from(total.div_ceil(u64::from(size)).max(1)).unwrap_or(u32::MAX);
        Ok(GuestPage {
            guests,
            total,
            page,
            page_count,
        })
    }

    /// The guest with this id.
    pub async fn guest(&self, id: &str) -> Result<Option<Guest>, IdpError> {
        store::guests::get(self.pool(), id).await
    }

    /// Disables or enables a guest. Disabling ends its sessions at the provider and revokes
    /// its codes, access and refresh tokens.
    pub async fn set_disabled(
        &self,
        id: &str,
        disabled: bool,
        actor: &str,
    ) -> Result<Guest, IdpError> {
        if !store::guests::set_disabled(self.pool(), id, disabled).await? {
            return Err(IdpError::NotFound);
        }
        if disabled {
            store::guests::revoke_all(self.pool(), id).await?;
        }
        let action = if disabled {
            "guest.disabled"
        } else {
            "guest.enabled"
        };
        self.record(actor, action, Some(id), None).await;
        store::guests::get(self.pool(), id)
            .await?
            .ok_or(IdpError::NotFound)
    }

    /// A new invitation link for the guest; earlier unused ones stop working.
    pub async fn reinvite(&self, id: &str, actor: &str) -> Result<Invitation, IdpError> {
        let guest = store::guests::get(self.pool(), id)
            .await?
            .ok_or(IdpError::NotFound)?;
        if guest.disabled {
            return Err(IdpError::invalid(
                "guest",
                "is disabled: enable it before inviting it again",
            ));
        }
        let invitation = self.new_invitation(id).await?;
        self.record(actor, "guest.reinvited", Some(id), None).await;
        Ok(invitation)
    }

    /// Deletes the guest with its invitations, sessions, codes and tokens.
    pub async fn delete_guest(&self, id: &str, actor: &str) -> Result<(), IdpError> {
        if !store::guests::delete(self.pool(), id).await? {
            return Err(IdpError::NotFound);
        }
        self.record(actor, "guest.deleted", Some(id), None).await;
        Ok(())
    }

    /// The newest `limit` (clamped to 1..=1000) audit entries, of one guest or of all.
    pub async fn audit(
        &self,
        guest_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<crate::AuditEntry>, IdpError> {
        store::guests::audit(self.pool(), guest_id, i64::from(limit.clamp(1, 1000))).await
    }

    /// Generates a new signing key: published at once, new tokens carry its `kid` from
    /// `key_publish_ahead` on; the previous public key stays in the JWKS until the tokens it
    /// signed have expired. Returns the new key's `kid`.
    pub async fn rotate_signing_key(&self) -> Result<String, IdpError> {
        let kid = self.inner.keys.rotate().await?;
        self.record("system", "key.rotated", None, Some(format!("kid {kid}")))
            .await;
        Ok(kid)
    }

    /// The `kid` of the key that signs new ID tokens.
    pub fn signing_key_id(&self) -> String {
        self.signing_kid()
    }

    async fn new_invitation(&self, guest_id: &str) -> Result<Invitation, IdpError> {
        let token = random_token();
        let ttl = self.config().invitation_ttl;
        let expires_ms = now_ms().saturating_add(ms(ttl));
        store::guests::replace_invitation(self.pool(), guest_id, &token_hash(&token), expires_ms)
            .await?;
        Ok(Invitation {
            url: self.endpoint(&format!("/invite/{token}")),
            expires_unix: expires_ms / 1000,
        })
    }

    pub(crate) fn signing_kid(&self) -> String {
        self.inner.keys.current_kid()
    }

    pub(crate) fn keys(&self) -> &crate::keys::KeyRing {
        &self.inner.keys
    }

    pub(crate) fn limits(&self) -> &crate::limits::Limits {
        &self.inner.limits
    }
}
