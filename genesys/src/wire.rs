//! The JSON shapes Genesys Cloud puts on the wire, shared by the client and the sandbox so that
//! both speak exactly one format. Field names follow Genesys (camelCase, `OAuthClient`).

use serde::{Deserialize, Serialize};

use crate::secret::{AccessToken, RefreshToken};

// ---------------------------------------------------------------------------------------------
// Login host: the token endpoint

/// A successful answer of `POST /oauth/token`. Parsing is strict: a missing `access_token` or a
/// non-numeric `expires_in` fails to deserialize; `token_type` is checked by the client.
#[derive(Debug, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: AccessToken,
    pub token_type: String,
    pub expires_in: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<RefreshToken>,
}

/// An error answer of `POST /oauth/token` (RFC 6749 §5.2). Genesys sends `description`, other
/// servers `error_description`: read both.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenErrorBody {
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

impl TokenErrorBody {
    /// The human description, whichever field carried it.
    pub fn best_description(&self) -> Option<&str> {
        self.error_description
            .as_deref()
            .or(self.description.as_deref())
            .filter(|d| !d.is_empty())
    }
}

// ---------------------------------------------------------------------------------------------
// API host: errors

/// Genesys' API error body.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ApiErrorBody {
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_with_params: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_params: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_id: Option<String>,
    #[serde(default)]
    pub details: Vec<serde_json::Value>,
    #[serde(default)]
    pub errors: Vec<serde_json::Value>,
}

// ---------------------------------------------------------------------------------------------
// Users

/// `state` of a user.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum UserState {
    Active,
    Inactive,
    Deleted,
}

impl UserState {
    pub fn as_str(self) -> &'static str {
        match self {
            UserState::Active => "active",
            UserState::Inactive => "inactive",
            UserState::Deleted => "deleted",
        }
    }
}

/// The `state` filter of `GET /api/v2/users` (`any` in addition to the user states).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, Default)]
#[serde(rename_all = "lowercase")]
pub enum StateFilter {
    #[default]
    Active,
    Inactive,
    Deleted,
    Any,
}

impl StateFilter {
    pub fn as_str(self) -> &'static str {
        match self {
            StateFilter::Active => "active",
            StateFilter::Inactive => "inactive",
            StateFilter::Deleted => "deleted",
            StateFilter::Any => "any",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "inactive" => Some(Self::Inactive),
            "deleted" => Some(Self::Deleted),
            "any" => Some(Self::Any),
            _ => None,
        }
    }

    pub fn matches(self, state: UserState) -> bool {
        match self {
            StateFilter::Any => true,
            StateFilter::Active => state == UserState::Active,
            StateFilter::Inactive => state == UserState::Inactive,
            StateFilter::Deleted => state == UserState::Deleted,
        }
    }
}

/// `sortOrder` of listings and searches.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, Default)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    #[default]
    Ascending,
    Descending,
}

impl SortOrder {
    pub fn as_str(self) -> &'static str {
        match self {
            SortOrder::Ascending => "ascending",
            SortOrder::Descending => "descending",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "ascending" | "asc" => Some(Self::Ascending),
            "descending" | "desc" => Some(Self::Descending),
            _ => None,
        }
    }
}

/// A reference to another entity (`{id, name?, selfUri}`), as Genesys embeds divisions,
/// managers and organizations.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct EntityRef {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// One image of a user (`images[]`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UserImage {
    pub resolution: String,
    pub image_uri: String,
}

/// `presenceDefinition` inside a presence.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PresenceDefinition {
    pub id: String,
    /// `Available`, `Away`, `Busy`, `Offline`, `Idle`, `On Queue`, `Meal`, `Training`, `Break`, `Meeting`.
    pub system_presence: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// A user's presence (only with `expand=presence`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UserPresence {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default)]
    pub primary: bool,
    pub presence_definition: PresenceDefinition,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_date: Option<String>,
}

/// A Genesys Cloud user (the fields this project uses; unknown fields are ignored).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    pub state: UserState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub division: Option<EntityRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<EntityRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<UserImage>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence: Option<UserPresence>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// `UserEntityListing`, the answer of `GET /api/v2/users`. Paging is by page number; the URIs
/// are paths on the api host (never follow one to another host).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UserEntityListing {
    #[serde(default)]
    pub entities: Vec<User>,
    pub page_size: u32,
    pub page_number: u32,
    pub total: u64,
    pub page_count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_uri: Option<String>,
}

/// One criterion of a user search.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SearchCriterion {
    /// `QUERY_STRING`, `CONTAINS`, `EXACT`, `STARTS_WITH`, ...
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub fields: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// The body of `POST /api/v2/users/search`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UserSearchRequest {
    pub page_size: u32,
    pub page_number: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_order: Option<SortOrder>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_by: Option<String>,
    #[serde(default)]
    pub query: Vec<SearchCriterion>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expand: Vec<String>,
}

/// The answer of `POST /api/v2/users/search`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UsersSearchResponse {
    pub total: u64,
    pub page_count: u32,
    pub page_size: u32,
    pub page_number: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_page: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_page: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page: Option<String>,
    #[serde(default)]
    pub types: Vec<String>,
    #[serde(default)]
    pub results: Vec<User>,
}

// ---------------------------------------------------------------------------------------------
// Tokens

/// The answer of `GET /api/v2/tokens/me`: what a token is allowed to do and whose it is.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    pub organization: EntityRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_organization: Option<EntityRef>,
    #[serde(default)]
    pub authorized_scope: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloned_user: Option<EntityRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_token_idles: Option<String>,
    #[serde(rename = "OAuthClient")]
    pub oauth_client: OAuthClientRef,
}

/// The OAuth client a token was issued to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OAuthClientRef {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<EntityRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_response_is_strict() {
        let ok: TokenResponse =
            serde_json::from_str(r#"{"access_token":"a","token_type":"bearer","expires_in":86399}"#)
                .unwrap();
        assert_eq!(ok.expires_in, 86399);
        assert!(ok.refresh_token.is_none());
        assert!(serde_json::from_str::<TokenResponse>(r#"{"token_type":"bearer","expires_in":1}"#).is_err());
        assert!(serde_json::from_str::<TokenResponse>(
            r#"{"access_token":"a","token_type":"bearer","expires_in":"soon"}"#
        )
        .is_err());
    }

    #[test]
    fn token_error_reads_both_description_fields() {
        let g: TokenErrorBody =
            serde_json::from_str(r#"{"error":"invalid_grant","description":"code expired"}"#).unwrap();
        assert_eq!(g.best_description(), Some("code expired"));
        let r: TokenErrorBody =
            serde_json::from_str(r#"{"error":"invalid_client","error_description":"bad secret"}"#).unwrap();
        assert_eq!(r.best_description(), Some("bad secret"));
    }

    #[test]
    fn listing_round_trips_with_genesys_names() {
        let json = r#"{"entities":[{"id":"u1","name":"Ana","state":"active","division":{"id":"d","name":"Home","selfUri":"/api/v2/authorization/divisions/d"}}],
            "pageSize":25,"pageNumber":1,"total":1,"pageCount":1,"firstUri":"/api/v2/users?pageSize=25&pageNumber=1",
            "selfUri":"/api/v2/users?pageSize=25&pageNumber=1","lastUri":"/api/v2/users?pageSize=25&pageNumber=1"}"#;
        let l: UserEntityListing = serde_json::from_str(json).unwrap();
        assert_eq!(l.entities[0].division.as_ref().unwrap().name.as_deref(), Some("Home"));
        let back = serde_json::to_value(&l).unwrap();
        assert!(back.get("pageCount").is_some() && back.get("nextUri").is_none());
    }

    #[test]
    fn token_info_uses_oauthclient_capitalised() {
        let json = r#"{"organization":{"id":"o"},"authorizedScope":["users:readonly"],"OAuthClient":{"id":"c"}}"#;
        let t: TokenInfo = serde_json::from_str(json).unwrap();
        assert_eq!(t.oauth_client.id, "c");
        assert_eq!(t.authorized_scope, vec!["users:readonly"]);
    }
}
