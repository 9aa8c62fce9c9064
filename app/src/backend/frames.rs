//! The Client App mode's state, apart from the flow that uses it (`embed`): the settings,
//! the checks of the host's interpolated URL, and the pending frames with their one-time
//! handoff codes (in the database, for every replica). Imports nothing of the portal, so the
//! portal can own it.

use std::{collections::HashMap, sync::Arc, time::Duration};

use sha2::{Digest, Sha256};
use sqlx::Row;
use subtle::ConstantTimeEq;

use super::{clock::now_unix_ms, db::Db, ids::random_id, sealing::Sealer, session::SignedIn};
use crate::model::{AppError, FrameStart, HostContext};

/// Where the framed portal starts (the URL registered in Genesys, with the placeholders).
pub const ENTRY_PATH: &str = "/embed";
/// Where the popup lands after its sign-in, to post the handoff code to its frame.
pub const DONE_PATH: &str = "/embed/done";
/// How long a pending frame waits for its agent to sign in.
pub const FRAME_TTL: Duration = Duration::from_secs(10 * 60);
/// How long a handoff code may wait for its frame.
pub const CODE_TTL: Duration = Duration::from_secs(60);
/// The most pending frames kept at once (the oldest go first).
const MAX_FRAMES: i64 = 10_000;
/// The participant-data prefix of the verified claims (see the sandbox's conversations API).
pub const AUTHENTICATED_PREFIX: &str = "authenticated.";

/// The embedded mode's settings (off unless `PORTAL_EMBED=true`).
#[derive(Debug, Clone)]
pub struct EmbedSettings {
    /// The exact origins that may frame the portal: the region's apps host plus the extra
    /// origins configured (`PORTAL_EMBED_ORIGINS`).
    pub allowed_origins: Vec<String>,
    /// The `{{gcTargetEnv}}` this portal's org is in (`prod-euw1`; the sandbox's is set by
    /// `PORTAL_EMBED_TARGET_ENV`, `local` by default).
    pub target_env: String,
    /// The region domain `{{pcEnvironment}}` must name, when the org is in a region.
    pub region_domain: Option<String>,
}

impl EmbedSettings {
    /// The `frame-ancestors` sources of a framable page.
    pub fn frame_ancestors(&self) -> String {
        self.allowed_origins.join(" ")
    }
}

fn refused(message: impl Into<String>) -> AppError {
    AppError::BadRequest {
        message: message.into(),
    }
}

/// The longest query the host may send (its placeholders are short).
const MAX_QUERY: usize = 4096;

/// Reads and checks the host's interpolated URL. Every value is untrusted: a parameter given
/// twice, a host origin not on the allow-list, another region's environment, a malformed
/// language tag, theme flag or conversation id is refused with what was wrong.
pub fn check_host(settings: &EmbedSettings, raw_query: &str) -> Result<HostContext, AppError> {
    if raw_query.len() > MAX_QUERY {
        return Err(refused("The address is too long to be Genesys Cloud's."));
    }
    let mut values: HashMap<String, String> = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw_query.as_bytes()) {
        let known = matches!(
            k.as_ref(),
            "gcHostOrigin"
                | "gcTargetEnv"
                | "gcLangTag"
                | "gcConversationId"
                | "gcUseDarkTheme"
                | "pcEnvironment"
                | "pcLangTag"
        );
        if known && values.insert(k.to_string(), v.to_string()).is_some() {
            return Err(refused(format!("`{k}` was given twice.")));
        }
    }
    let get = |k: &str| {
        values
            .get(k)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty() && !v.contains("{{"))
    };
    // The target environment first: a host of another region is a mix-up, whatever it says.
    match (get("gcTargetEnv"), get("pcEnvironment")) {
        (None, None) => {
            return Err(refused(
                "The app's URL in Genesys Cloud must pass the environment: add \
                 `gcTargetEnv={{gcTargetEnv}}` to it.",
            ))
        }
        (Some(env), _) if !env.eq_ignore_ascii_case(&settings.target_env) => {
            return Err(refused(format!(
                "This portal serves the Genesys Cloud environment `{}`, not `{}`: open the \
                 app from your own org, or ask your administrator for the portal of that region.",
                settings.target_env,
                clip(env)
            )))
        }
        (_, Some(domain)) => {
            let expected = settings.region_domain.as_deref().unwrap_or("localhost");
            if !domain.eq_ignore_ascii_case(expected) {
                return Err(refused(format!(
                    "This portal serves Genesys Cloud at `{expected}`, not `{}`.",
                    clip(domain)
                )));
            }
        }
        _ => {}
    }
    let host_origin = match get("gcHostOrigin") {
        Some(origin) => origin.to_string(),
        None => {
            return Err(refused(
                "The app's URL in Genesys Cloud must pass the host: add \
                 `gcHostOrigin={{gcHostOrigin}}` to it.",
            ))
        }
    };
    let host_origin = normalise_origin(&host_origin)
        .filter(|o| settings.allowed_origins.iter().any(|a| a == o))
        .ok_or_else(|| {
            refused(format!(
                "`{}` may not frame this portal (allowed: {}).",
                clip(&host_origin),
                settings.allowed_origins.join(", ")
            ))
        })?;
    let lang = match get("gcLangTag").or(get("pcLangTag")) {
        None => "en-US".to_string(),
        Some(tag) => language_tag(tag)
            .ok_or_else(|| refused(format!("`{}` is not a language tag.", clip(tag))))?,
    };
    let dark = match get("gcUseDarkTheme") {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(other) => {
            return Err(refused(format!(
                "`gcUseDarkTheme` is `true` or `false`, not `{}`.",
                clip(other)
            )))
        }
    };
    let conversation_id = match get("gcConversationId") {
        None => None,
        Some(id) => Some(
            uuid::Uuid::parse_str(id)
                .ok()
                .filter(|_| id.len() == 36)
                .map(|u| u.to_string())
                .ok_or_else(|| refused(format!("`{}` is not a conversation id.", clip(id))))?,
        ),
    };
    Ok(HostContext {
        host_origin,
        lang,
        dark,
        conversation_id,
    })
}

/// At most 64 characters of a refused value, for the message.
fn clip(value: &str) -> String {
    value.chars().take(64).collect()
}

/// `scheme://host[:port]` of a URL that is nothing but an origin (a trailing `/` allowed),
/// lower-cased as browsers serialise it; `None` for anything else (paths, credentials,
/// queries, `null`).
pub fn normalise_origin(value: &str) -> Option<String> {
    let url = url::Url::parse(value).ok()?;
    if !matches!(url.scheme(), "https" | "http")
        || !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
        || url.path() != "/"
        || value.trim_end_matches('/').len() != url.as_str().trim_end_matches('/').len()
    {
        return None;
    }
    let origin = url.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

/// A well-formed BCP 47 tag (language, then subtags of 1–8 letters or digits), at most 35
/// characters, in its usual case (`en-US`, `zh-Hant-TW`).
pub fn language_tag(tag: &str) -> Option<String> {
    if tag.len() > 35 {
        return None;
    }
    let mut parts = tag.split(['-', '_']);
    let language = parts.next()?;
    if !(2..=3).contains(&language.len()) || !language.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let mut out = language.to_ascii_lowercase();
    for part in parts {
        if part.is_empty() || part.len() > 8 || !part.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        out.push('-');
        let cased = match part.len() {
            2 if part.bytes().all(|b| b.is_ascii_alphabetic()) => part.to_ascii_uppercase(),
            4 if part.bytes().all(|b| b.is_ascii_alphabetic()) => {
                let mut c = part.to_ascii_lowercase();
                c[..1].make_ascii_uppercase();
                c
            }
            _ => part.to_ascii_lowercase(),
        };
        out.push_str(&cased);
    }
    Some(out)
}

/// Why a handoff code was not exchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Unknown, already used or expired.
    UnknownCode,
    /// The code was issued for another frame, or the frame's secret is wrong.
    WrongFrame,
}

/// The pending frames and the handoff codes, in the database, so that the popup's callback
/// and the frame's exchange may land on any replica. Codes are single use and live a minute;
/// a frame lives ten minutes or until its code is redeemed. Secrets (the frame's, the code)
/// are kept only as their SHA-256; the sign-in a code hands over is sealed.
pub struct Handoffs {
    db: Db,
    sealer: Arc<Sealer>,
}

fn sha256_hex(value: &str) -> String {
    Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn ms(d: Duration) -> i64 {
    d.as_millis() as i64
}

impl Handoffs {
    pub fn new(db: Db, sealer: Arc<Sealer>) -> Self {
        Self { db, sealer }
    }

    /// A new pending frame for this host context: its id (for the popup's URL) and secret
    /// (for the frame's page only).
    pub async fn start_frame(&self, context: HostContext) -> Result<FrameStart, sqlx::Error> {
        let now = now_unix_ms();
        let pool = self.db.pool();
        sqlx::query("DELETE FROM embed_frames WHERE created_ms < $1")
            .bind(now - ms(FRAME_TTL))
            .execute(pool)
            .await?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM embed_frames")
            .fetch_one(pool)
            .await?;
        if count >= MAX_FRAMES {
            // The oldest go first.
            sqlx::query(
                "DELETE FROM embed_frames WHERE frame_id IN \
                 (SELECT frame_id FROM embed_frames ORDER BY created_ms LIMIT $1)",
            )
            .bind(count - MAX_FRAMES + 1)
            .execute(pool)
            .await?;
        }
        let start = FrameStart {
            frame_id: random_id(),
            frame_secret: format!("{}{}", random_id(), random_id()),
        };
        sqlx::query(
            "INSERT INTO embed_frames (frame_id, secret_hash, context, created_ms) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(&start.frame_id)
        .bind(sha256_hex(&start.frame_secret))
        .bind(serde_json::to_string(&context).unwrap_or_default())
        .bind(now)
        .execute(pool)
        .await?;
        Ok(start)
    }

    /// Whether `frame_id` is a frame still waiting for its sign-in.
    pub async fn is_pending(&self, frame_id: &str) -> Result<bool, sqlx::Error> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT created_ms FROM embed_frames WHERE frame_id = $1 AND created_ms >= $2",
        )
        .bind(frame_id)
        .bind(now_unix_ms() - ms(FRAME_TTL))
        .fetch_optional(self.db.pool())
        .await?;
        Ok(found.is_some())
    }

    /// A one-time code that hands `user` to the frame `frame_id`; `None` when that frame is
    /// no longer waiting.
    pub async fn issue(
        &self,
        frame_id: &str,
        user: SignedIn,
    ) -> Result<Option<String>, sqlx::Error> {
        if !self.is_pending(frame_id).await? {
            return Ok(None);
        }
        let now = now_unix_ms();
        let pool = self.db.pool();
        sqlx::query("DELETE FROM embed_handoffs WHERE created_ms < $1")
            .bind(now - ms(CODE_TTL))
            .execute(pool)
            .await?;
        let code = format!("{}{}", random_id(), random_id());
        let code_hash = sha256_hex(&code);
        let user = serde_json::to_string(&user).unwrap_or_default();
        sqlx::query(
            "INSERT INTO embed_handoffs (code_hash, frame_id, user_data, created_ms) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(&code_hash)
        .bind(frame_id)
        .bind(
            self.sealer
                .seal(&user, &format!("embed_handoffs:{code_hash}")),
        )
        .bind(now)
        .execute(pool)
        .await?;
        Ok(Some(code))
    }

    /// Takes the code (whatever happens next, it is spent) and checks it belongs to this
    /// frame, whose secret must match; the frame is spent too. Returns the sign-in and the
    /// frame's host context. A code or a frame is taken once, by one replica.
    pub async fn take(
        &self,
        code: &str,
        frame_id: &str,
        frame_secret: &str,
    ) -> Result<Result<(SignedIn, HostContext), Refusal>, sqlx::Error> {
        let pool = self.db.pool();
        let now = now_unix_ms();
        let code_hash = sha256_hex(code);
        let row = sqlx::query(
            "DELETE FROM embed_handoffs WHERE code_hash = $1 \
             RETURNING frame_id, user_data, created_ms",
        )
        .bind(&code_hash)
        .fetch_optional(pool)
        .await?;
        let Some(row) = row else {
            return Ok(Err(Refusal::UnknownCode));
        };
        let (code_frame, sealed, created): (String, String, i64) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        if created < now - ms(CODE_TTL) {
            return Ok(Err(Refusal::UnknownCode));
        }
        let user: Option<SignedIn> = self
            .sealer
            .open(&sealed, &format!("embed_handoffs:{code_hash}"))
            .ok()
            .and_then(|o| serde_json::from_str(&o.plain).ok());
        let Some(user) = user else {
            return Ok(Err(Refusal::UnknownCode));
        };
        if code_frame != frame_id {
            return Ok(Err(Refusal::WrongFrame));
        }
        let frame = sqlx::query(
            "SELECT secret_hash, context, created_ms FROM embed_frames WHERE frame_id = $1",
        )
        .bind(frame_id)
        .fetch_optional(pool)
        .await?;
        let Some(frame) = frame else {
            return Ok(Err(Refusal::WrongFrame));
        };
        let (secret_hash, context, created): (String, String, i64) =
            (frame.try_get(0)?, frame.try_get(1)?, frame.try_get(2)?);
        let secret_ok: bool = secret_hash
            .as_bytes()
            .ct_eq(sha256_hex(frame_secret).as_bytes())
            .into();
        if !secret_ok || created < now - ms(FRAME_TTL) {
            return Ok(Err(Refusal::WrongFrame));
        }
        let Ok(context) = serde_json::from_str::<HostContext>(&context) else {
            return Ok(Err(Refusal::WrongFrame));
        };
        // Spent here, once: of two exchanges for one frame, one deletes it.
        let spent = sqlx::query("DELETE FROM embed_frames WHERE frame_id = $1")
            .bind(frame_id)
            .execute(pool)
            .await?;
        if spent.rows_affected() != 1 {
            return Ok(Err(Refusal::WrongFrame));
        }
        Ok(Ok((user, context)))
    }

    /// Frames and codes waiting now (for tests and metrics).
    pub async fn waiting(&self) -> Result<(usize, usize), sqlx::Error> {
        let frames: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM embed_frames")
            .fetch_one(self.db.pool())
            .await?;
        let codes: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM embed_handoffs")
            .fetch_one(self.db.pool())
            .await?;
        Ok((frames as usize, codes as usize))
    }
}

/// The embedded mode's state in the portal: its settings and handoffs.
pub struct Embed {
    pub settings: EmbedSettings,
    pub handoffs: Handoffs,
}

impl Embed {
    pub fn new(settings: EmbedSettings, db: Db, sealer: Arc<Sealer>) -> Self {
        Self {
            settings,
            handoffs: Handoffs::new(db, sealer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> EmbedSettings {
        EmbedSettings {
            allowed_origins: vec![
                "https://apps.mypurecloud.ie".into(),
                "http://127.0.0.2:4100".into(),
            ],
            target_env: "prod-euw1".into(),
            region_domain: Some("mypurecloud.ie".into()),
        }
    }

    fn user() -> SignedIn {
        SignedIn {
            grant_id: "g".into(),
            user_id: "u".into(),
            user_name: "Agent".into(),
            username: None,
            email: None,
            org_name: "Org".into(),
            issuer: "https://login.mypurecloud.ie".into(),
            scopes: vec![],
            signed_in_unix: 0,
        }
    }

    #[test]
    fn the_host_url_is_checked_value_by_value() {
        let s = settings();
        let ok = check_host(
            &s,
            "gcHostOrigin=https%3A%2F%2Fapps.mypurecloud.ie&gcTargetEnv=prod-euw1&gcLangTag=de-de\
             &gcUseDarkTheme=true&gcConversationId=0b1e6a4e-9b5c-4d71-8f57-0b0c2c7b8e11",
        )
        .unwrap();
        assert_eq!(ok.host_origin, "https://apps.mypurecloud.ie");
        assert_eq!(ok.lang, "de-DE");
        assert_eq!(ok.dark, Some(true));
        assert_eq!(
            ok.landing(),
            "/embed/conversation/0b1e6a4e-9b5c-4d71-8f57-0b0c2c7b8e11"
        );
        let base = "gcHostOrigin=https://apps.mypurecloud.ie&gcTargetEnv=prod-euw1";
        assert_eq!(check_host(&s, base).unwrap().lang, "en-US");
        // Older placeholders.
        let old = check_host(
            &s,
            "gcHostOrigin=https://apps.mypurecloud.ie&pcEnvironment=mypurecloud.ie&pcLangTag=fr",
        )
        .unwrap();
        assert_eq!(old.lang, "fr");
        for (bad, says) in [
            (
                "gcHostOrigin=https://evil.example&gcTargetEnv=prod-euw1",
                "may not frame",
            ),
            (
                "gcHostOrigin=https://apps.mypurecloud.ie.evil.example&gcTargetEnv=prod-euw1",
                "may not frame",
            ),
            (
                "gcHostOrigin=https://apps.mypurecloud.ie/path&gcTargetEnv=prod-euw1",
                "may not frame",
            ),
            (
                "gcHostOrigin=https://user@apps.mypurecloud.ie&gcTargetEnv=prod-euw1",
                "may not frame",
            ),
            ("gcHostOrigin=null&gcTargetEnv=prod-euw1", "may not frame"),
            (
                "gcHostOrigin=https://apps.mypurecloud.ie&gcTargetEnv=prod",
                "not `prod`",
            ),
            (
                "gcHostOrigin=https://apps.mypurecloud.ie&gcTargetEnv=prod-euw1&gcTargetEnv=prod",
                "twice",
            ),
            (
                "gcHostOrigin=https://apps.mypurecloud.ie",
                "gcTargetEnv={{gcTargetEnv}}",
            ),
            (
                "gcHostOrigin={{gcHostOrigin}}&gcTargetEnv=prod-euw1",
                "gcHostOrigin={{gcHostOrigin}}",
            ),
            (
                "gcHostOrigin=https://apps.mypurecloud.ie&pcEnvironment=mypurecloud.com",
                "not `mypurecloud.com`",
            ),
            (&format!("{base}&gcLangTag=en-US;x"), "not a language tag"),
            (&format!("{base}&gcLangTag=e"), "not a language tag"),
            (&format!("{base}&gcUseDarkTheme=yes"), "not `yes`"),
            (
                &format!("{base}&gcConversationId=42"),
                "not a conversation id",
            ),
            (
                &format!("{base}&gcConversationId=0b1e6a4e9b5c4d718f570b0c2c7b8e11"),
                "not a conversation id",
            ),
        ] {
            let e = check_host(&s, bad).expect_err(bad).to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn origins_and_language_tags_are_read_strictly() {
        assert_eq!(
            normalise_origin("https://apps.mypurecloud.ie/").as_deref(),
            Some("https://apps.mypurecloud.ie")
        );
        assert_eq!(
            normalise_origin("HTTPS://Apps.MyPureCloud.ie").as_deref(),
            Some("https://apps.mypurecloud.ie")
        );
        assert_eq!(
            normalise_origin("http://127.0.0.2:4100").as_deref(),
            Some("http://127.0.0.2:4100")
        );
        for bad in [
            "apps.mypurecloud.ie",
            "https://a.b/c",
            "https://a.b?x",
            "https://a.b#x",
            "javascript:alert(1)",
            "data:text/html,x",
            "https://a.b//",
        ] {
            assert_eq!(normalise_origin(bad), None, "{bad}");
        }
        assert_eq!(language_tag("zh_hant_tw").as_deref(), Some("zh-Hant-TW"));
        assert_eq!(language_tag("pt-br").as_deref(), Some("pt-BR"));
        for bad in [
            "",
            "e",
            "english",
            "en--US",
            "en-US-toolongsubtag",
            "en US",
            "<script>",
        ] {
            assert_eq!(language_tag(bad), None, "{bad}");
        }
    }

    fn context() -> HostContext {
        HostContext {
            host_origin: "https://apps.mypurecloud.ie".into(),
            lang: "en-US".into(),
            dark: None,
            conversation_id: None,
        }
    }

    async fn handoffs(dir: &std::path::Path) -> Handoffs {
        let url = format!("sqlite://{}?mode=rwc", dir.join("portal.db").display());
        let db = Db::open(&url, 2).await.unwrap();
        let key = crate::backend::sealing::TokenKey::generate();
        Handoffs::new(db, Arc::new(Sealer::new(&key, None)))
    }

    #[tokio::test]
    async fn a_handoff_code_is_single_use_and_bound_to_its_frame() {
        let dir = tempfile::tempdir().unwrap();
        let h = handoffs(dir.path()).await;
        let frame = h.start_frame(context()).await.unwrap();
        let other = h.start_frame(context()).await.unwrap();
        let issue = |frame_id: String| {
            let h = &h;
            async move { h.issue(&frame_id, user()).await.unwrap() }
        };
        let take = |code: String, frame: &FrameStart, secret: Option<&str>| {
            let h = &h;
            let frame_id = frame.frame_id.clone();
            let secret = secret.unwrap_or(&frame.frame_secret).to_string();
            async move { h.take(&code, &frame_id, &secret).await.unwrap() }
        };
        let code = issue(frame.frame_id.clone()).await.unwrap();
        // Another frame, even with its own right secret, cannot take it; the code is spent.
        assert_eq!(
            take(code.clone(), &other, None).await.unwrap_err(),
            Refusal::WrongFrame
        );
        assert_eq!(
            take(code, &frame, None).await.unwrap_err(),
            Refusal::UnknownCode
        );
        // The right frame with a wrong secret: refused, and the code is spent.
        let code = issue(frame.frame_id.clone()).await.unwrap();
        assert_eq!(
            take(code.clone(), &frame, Some("not-the-secret"))
                .await
                .unwrap_err(),
            Refusal::WrongFrame
        );
        assert_eq!(
            take(code, &frame, None).await.unwrap_err(),
            Refusal::UnknownCode
        );
        // The right frame and secret: once.
        let code = issue(frame.frame_id.clone()).await.unwrap();
        let (signed_in, ctx) = take(code.clone(), &frame, None).await.unwrap();
        assert_eq!(signed_in.user_id, "u");
        assert_eq!(ctx, context());
        assert_eq!(
            take(code, &frame, None).await.unwrap_err(),
            Refusal::UnknownCode
        );
        // The frame is spent too: no second code for it.
        assert!(issue(frame.frame_id.clone()).await.is_none());
        assert!(issue("no-such-frame".into()).await.is_none());
        // Nothing secret is stored as it is: the codes and frame secrets are hashes, the
        // sign-in is sealed.
        let code = issue(other.frame_id.clone()).await.unwrap();
        let row: (String, String) = sqlx::query_as::<_, (String, String)>(
            "SELECT code_hash, user_data FROM embed_handoffs",
        )
        .fetch_one(h.db.pool())
        .await
        .unwrap();
        assert_ne!(row.0, code);
        assert!(!row.1.contains("\"grant_id\""), "{}", row.1);
        let secret: String = sqlx::query_scalar("SELECT secret_hash FROM embed_frames")
            .fetch_one(h.db.pool())
            .await
            .unwrap();
        assert_ne!(secret, other.frame_secret);
        assert_eq!(h.waiting().await.unwrap(), (1, 1));
    }

    #[tokio::test]
    async fn codes_and_frames_expire() {
        let dir = tempfile::tempdir().unwrap();
        let h = handoffs(dir.path()).await;
        let frame = h.start_frame(context()).await.unwrap();
        let code = h.issue(&frame.frame_id, user()).await.unwrap().unwrap();
        let age = |table: &'static str, by: Duration| {
            let pool = h.db.pool().clone();
            async move {
                // A second past it: issue and take may fall in one millisecond.
                sqlx::query(&format!(
                    "UPDATE {table} SET created_ms = created_ms - {}",
                    (by + Duration::from_secs(1)).as_millis()
                ))
                .execute(&pool)
                .await
                .unwrap();
            }
        };
        // Age the code past its minute.
        age("embed_handoffs", CODE_TTL).await;
        assert_eq!(
            h.take(&code, &frame.frame_id, &frame.frame_secret)
                .await
                .unwrap()
                .unwrap_err(),
            Refusal::UnknownCode
        );
        // Age the frame past its ten minutes: no code is issued for it, and a code issued
        // just before is refused.
        let code = h.issue(&frame.frame_id, user()).await.unwrap().unwrap();
        age("embed_frames", FRAME_TTL).await;
        assert!(h.issue(&frame.frame_id, user()).await.unwrap().is_none());
        assert_eq!(
            h.take(&code, &frame.frame_id, &frame.frame_secret)
                .await
                .unwrap()
                .unwrap_err(),
            Refusal::WrongFrame
        );
        // Expired frames are deleted when the next one starts.
        h.start_frame(context()).await.unwrap();
        assert_eq!(h.waiting().await.unwrap().0, 1);
    }
}
