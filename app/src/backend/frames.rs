//! The Client App mode's state, apart from the flow that uses it (`embed`): the settings,
//! the checks of the host's interpolated URL, and the pending frames with their one-time
//! handoff codes. Imports nothing of the portal, so the portal can own it.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use subtle::ConstantTimeEq;

use super::{ids::random_id, session::SignedIn};
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
const MAX_FRAMES: usize = 10_000;
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

/// A frame waiting for its agent to sign in.
struct PendingFrame {
    secret: String,
    context: HostContext,
    created: Instant,
}

/// A sign-in finished in a popup, waiting for its frame to take it.
struct Handoff {
    frame_id: String,
    user: SignedIn,
    created: Instant,
}

/// Why a handoff code was not exchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Unknown, already used or expired.
    UnknownCode,
    /// The code was issued for another frame, or the frame's secret is wrong.
    WrongFrame,
}

/// The pending frames and the handoff codes, in this process. Codes are single use and live
/// a minute; a frame lives ten minutes or until its code is redeemed.
#[derive(Default)]
pub struct Handoffs {
    frames: Mutex<HashMap<String, PendingFrame>>,
    codes: Mutex<HashMap<String, Handoff>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Handoffs {
    /// A new pending frame for this host context: its id (for the popup's URL) and secret
    /// (for the frame's page only).
    pub fn start_frame(&self, context: HostContext) -> FrameStart {
        let mut frames = lock(&self.frames);
        frames.retain(|_, f| f.created.elapsed() < FRAME_TTL);
        while frames.len() >= MAX_FRAMES {
            let oldest = frames
                .iter()
                .min_by_key(|(_, f)| f.created)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => frames.remove(&k),
                None => break,
            };
        }
        let start = FrameStart {
            frame_id: random_id(),
            frame_secret: format!("{}{}", random_id(), random_id()),
        };
        frames.insert(
            start.frame_id.clone(),
            PendingFrame {
                secret: start.frame_secret.clone(),
                context,
                created: Instant::now(),
            },
        );
        start
    }

    /// Whether `frame_id` is a frame still waiting for its sign-in.
    pub fn is_pending(&self, frame_id: &str) -> bool {
        lock(&self.frames)
            .get(frame_id)
            .is_some_and(|f| f.created.elapsed() < FRAME_TTL)
    }

    /// A one-time code that hands `user` to the frame `frame_id`; `None` when that frame is
    /// no longer waiting.
    pub fn issue(&self, frame_id: &str, user: SignedIn) -> Option<String> {
        if !self.is_pending(frame_id) {
            return None;
        }
        let code = format!("{}{}", random_id(), random_id());
        let mut codes = lock(&self.codes);
        codes.retain(|_, h| h.created.elapsed() < CODE_TTL);
        codes.insert(
            code.clone(),
            Handoff {
                frame_id: frame_id.to_string(),
                user,
                created: Instant::now(),
            },
        );
        Some(code)
    }

    /// Takes the code (whatever happens next, it is spent) and checks it belongs to this
    /// frame, whose secret must match; the frame is spent too. Returns the sign-in and the
    /// frame's host context.
    pub fn take(
        &self,
        code: &str,
        frame_id: &str,
        frame_secret: &str,
    ) -> Result<(SignedIn, HostContext), Refusal> {
        let handoff = lock(&self.codes)
            .remove(code)
            .filter(|h| h.created.elapsed() < CODE_TTL)
            .ok_or(Refusal::UnknownCode)?;
        if handoff.frame_id != frame_id {
            return Err(Refusal::WrongFrame);
        }
        let mut frames = lock(&self.frames);
        let frame = frames.get(frame_id).ok_or(Refusal::WrongFrame)?;
        let secret_ok: bool = frame
            .secret
            .as_bytes()
            .ct_eq(frame_secret.as_bytes())
            .into();
        if !secret_ok || frame.created.elapsed() >= FRAME_TTL {
            return Err(Refusal::WrongFrame);
        }
        let frame = frames.remove(frame_id).expect("found above");
        Ok((handoff.user, frame.context))
    }

    /// Codes and frames waiting now (for tests and metrics).
    pub fn waiting(&self) -> (usize, usize) {
        (lock(&self.frames).len(), lock(&self.codes).len())
    }
}

/// The embedded mode's state in the portal: its settings and handoffs.
pub struct Embed {
    pub settings: EmbedSettings,
    pub handoffs: Handoffs,
}

impl Embed {
    pub fn new(settings: EmbedSettings) -> Self {
        Self {
            settings,
            handoffs: Handoffs::default(),
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

    #[test]
    fn a_handoff_code_is_single_use_and_bound_to_its_frame() {
        let h = Handoffs::default();
        let frame = h.start_frame(context());
        let other = h.start_frame(context());
        let code = h.issue(&frame.frame_id, user()).unwrap();
        // Another frame, even with its own right secret, cannot take it; the code is spent.
        assert_eq!(
            h.take(&code, &other.frame_id, &other.frame_secret)
                .unwrap_err(),
            Refusal::WrongFrame
        );
        assert_eq!(
            h.take(&code, &frame.frame_id, &frame.frame_secret)
                .unwrap_err(),
            Refusal::UnknownCode
        );
        // The right frame with a wrong secret: refused, and the code is spent.
        let code = h.issue(&frame.frame_id, user()).unwrap();
        assert_eq!(
            h.take(&code, &frame.frame_id, "not-the-secret")
                .unwrap_err(),
            Refusal::WrongFrame
        );
        assert_eq!(
            h.take(&code, &frame.frame_id, &frame.frame_secret)
                .unwrap_err(),
            Refusal::UnknownCode
        );
        // The right frame and secret: once.
        let code = h.issue(&frame.frame_id, user()).unwrap();
        let (signed_in, ctx) = h.take(&code, &frame.frame_id, &frame.frame_secret).unwrap();
        assert_eq!(signed_in.user_id, "u");
        assert_eq!(ctx, context());
        assert_eq!(
            h.take(&code, &frame.frame_id, &frame.frame_secret)
                .unwrap_err(),
            Refusal::UnknownCode
        );
        // The frame is spent too: no second code for it.
        assert!(h.issue(&frame.frame_id, user()).is_none());
        assert!(h.issue("no-such-frame", user()).is_none());
    }

    #[test]
    fn codes_and_frames_expire() {
        let h = Handoffs::default();
        let frame = h.start_frame(context());
        let code = h.issue(&frame.frame_id, user()).unwrap();
        // Age the code past its minute.
        lock(&h.codes).get_mut(&code).unwrap().created -= CODE_TTL;
        assert_eq!(
            h.take(&code, &frame.frame_id, &frame.frame_secret)
                .unwrap_err(),
            Refusal::UnknownCode
        );
        // Age the frame past its ten minutes: no code is issued for it, and a code issued
        // just before is refused.
        let code = h.issue(&frame.frame_id, user()).unwrap();
        lock(&h.frames).get_mut(&frame.frame_id).unwrap().created -= FRAME_TTL;
        assert!(h.issue(&frame.frame_id, user()).is_none());
        assert_eq!(
            h.take(&code, &frame.frame_id, &frame.frame_secret)
                .unwrap_err(),
            Refusal::WrongFrame
        );
    }
}
