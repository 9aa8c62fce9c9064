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
    /// The bearer token for the api host.
    pub access_token: AccessToken,
    /// `bearer` (compared case-insensitively).
    pub token_type: String,
    /// Lifetime in seconds (Genesys: 300 to 172800, set per OAuth client).
    pub expires_in: u64,
    /// A refresh token (certain only for the confidential code grant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<RefreshToken>,
}

/// An error answer of `POST /oauth/token` (RFC 6749 §5.2). Genesys sends `description`, other
/// servers `error_description`: read both.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenErrorBody {
    /// The RFC 6749 §5.2 code (`invalid_grant`, `invalid_client`, ...).
    pub error: String,
    /// Genesys' description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The standard RFC 6749 description.
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
    /// A human-readable message (render as text).
    #[serde(default)]
    pub message: String,
    /// Genesys' error code (`bad.request`, `not.found`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The HTTP status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The message with `{placeholders}` for `messageParams`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_with_params: Option<String>,
    /// The values of the placeholders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_params: Option<std::collections::BTreeMap<String, String>>,
    /// The id support asks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_id: Option<String>,
    /// Further details, as sent.
    #[serde(default)]
    pub details: Vec<serde_json::Value>,
    /// Nested errors, as sent.
    #[serde(default)]
    pub errors: Vec<serde_json::Value>,
}

// ---------------------------------------------------------------------------------------------
// Users

/// `state` of a user.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum UserState {
    /// An active user.
    Active,
    /// A deactivated user.
    Inactive,
    /// A deleted user.
    Deleted,
}

impl UserState {
    /// The wire name.
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
    /// Active users (the default).
    #[default]
    Active,
    /// Inactive users.
    Inactive,
    /// Deleted users.
    Deleted,
    /// Users in any state.
    Any,
}

impl StateFilter {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            StateFilter::Active => "active",
            StateFilter::Inactive => "inactive",
            StateFilter::Deleted => "deleted",
            StateFilter::Any => "any",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "inactive" => Some(Self::Inactive),
            "deleted" => Some(Self::Deleted),
            "any" => Some(Self::Any),
            _ => None,
        }
    }

    /// Whether a user in `state` passes the filter.
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
    /// A to Z (the default).
    #[default]
    Ascending,
    /// Z to A.
    Descending,
}

impl SortOrder {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            SortOrder::Ascending => "ascending",
            SortOrder::Descending => "descending",
        }
    }

    /// Parses the wire name (also `asc`/`desc`), case-insensitively.
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
    /// The entity id.
    pub id: String,
    /// The entity name, when embedded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The entity path on the api host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// One image of a user (`images[]`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UserImage {
    /// e.g. `x96`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    /// Where the image is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_uri: Option<String>,
}

/// `presenceDefinition` inside a presence.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PresenceDefinition {
    /// The presence definition id.
    pub id: String,
    /// `Available`, `Away`, `Busy`, `Offline`, `Idle`, `On Queue`, `Meal`, `Training`, `Break`, `Meeting`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_presence: Option<String>,
    /// The definition path on the api host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// A user's presence (only with `expand=presence`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UserPresence {
    /// Where the presence came from (`PURECLOUD`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Whether this is the primary presence.
    #[serde(default)]
    pub primary: bool,
    /// Which presence it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_definition: Option<PresenceDefinition>,
    /// The status message the user set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When it last changed (ISO 8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_date: Option<String>,
}

impl UserPresence {
    /// The system presence (`Available`, `On Queue`, ...), when Genesys sent one.
    pub fn system_presence(&self) -> Option<&str> {
        self.presence_definition
            .as_ref()
            .and_then(|d| d.system_presence.as_deref())
    }
}

/// `chat` of a user: the address of the user in Genesys' chat service.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct UserChat {
    /// e.g. `5f0c...@example.orgspan.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jabber_id: Option<String>,
}

/// One entry of `primaryContactInfo[]` or `addresses[]` (`Contact` in the API reference).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    /// The address (an e-mail address, or a phone number in E.164).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The address as shown (`+1 317-555-0123`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
    /// `PHONE`, `EMAIL` or `SMS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// `PRIMARY`, `WORK`, `WORK2`, `WORK3`, `WORK4`, `HOME`, `MOBILE`, `MAIN`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// A phone extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
    /// The ISO 3166 country code of a phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    /// Which integration the address comes from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration: Option<String>,
}

/// `routingStatus` of a user (with `expand=routingStatus`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct RoutingStatus {
    /// The user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// `OFF_QUEUE`, `IDLE`, `INTERACTING`, `NOT_RESPONDING` or `COMMUNICATING`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Since when (ISO 8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
}

/// `geolocation` of a user (with `expand=geolocation`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Geolocation {
    /// The geolocation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What it locates (`USER`).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Whether it is the primary one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
    /// Latitude in degrees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latitude: Option<f64>,
    /// Longitude in degrees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longitude: Option<f64>,
    /// ISO 3166 country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// The region (state, province).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The city.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// The path on the api host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// One station of a user (`UserStation`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct UserStation {
    /// The station id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// e.g. `inin_webrtc_softphone.v2`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Who is associated with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub associated_user: Option<EntityRef>,
    /// Since when (ISO 8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub associated_date: Option<String>,
    /// Whose default station it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_user: Option<EntityRef>,
}

/// `station` of a user (with `expand=station`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct UserStations {
    /// The station the user is associated with now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub associated_station: Option<UserStation>,
    /// The station calls go to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_station: Option<UserStation>,
    /// The user's default station.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_station: Option<UserStation>,
    /// The station the user was last associated with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_associated_station: Option<UserStation>,
}

/// `authorization` of a user (with `expand=authorization`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct UserAuthorization {
    /// The roles granted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<EntityRef>>,
    /// The roles granted but not used lately (with `expand=authorization.unusedRoles`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unused_roles: Option<Vec<EntityRef>>,
    /// The permissions they give (`directory:user:view`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
}

/// A Genesys Cloud user (the fields this project uses; unknown fields are ignored). Everything
/// but `id` is optional, as the API reference has it: a user with only an id and a name is a
/// valid answer, and the app shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// The user id.
    pub id: String,
    /// The display name.
    #[serde(default)]
    pub name: String,
    /// The e-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The sign-in name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Active, inactive or deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<UserState>,
    /// The job title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// The division the user belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub division: Option<EntityRef>,
    /// The user's manager.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<EntityRef>,
    /// The user's chat address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat: Option<UserChat>,
    /// The addresses Genesys derives from the profile (the e-mail address first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_contact_info: Option<Vec<Contact>>,
    /// The phone numbers and other addresses on the profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addresses: Option<Vec<Contact>>,
    /// Whether ACD interactions are answered automatically.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acd_auto_answer: Option<bool>,
    /// Profile images, one per resolution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<UserImage>>,
    /// Presence (only with `expand=presence`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence: Option<UserPresence>,
    /// Routing status (only with `expand=routingStatus`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_status: Option<RoutingStatus>,
    /// Where the user is (only with `expand=geolocation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geolocation: Option<Geolocation>,
    /// The user's stations (only with `expand=station`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub station: Option<UserStations>,
    /// Roles and permissions (only with `expand=authorization`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<UserAuthorization>,
    /// The last sign-in (only with `expand=dateLastLogin`; ISO 8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_last_login: Option<String>,
    /// The version, for updates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// The user path on the api host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

impl User {
    /// A user with only an id and a name, the least Genesys may answer.
    pub fn minimal(id: impl Into<String>, name: impl Into<String>) -> User {
        User {
            id: id.into(),
            name: name.into(),
            email: None,
            username: None,
            state: None,
            title: None,
            department: None,
            division: None,
            manager: None,
            chat: None,
            primary_contact_info: None,
            addresses: None,
            acd_auto_answer: None,
            images: None,
            presence: None,
            routing_status: None,
            geolocation: None,
            station: None,
            authorization: None,
            date_last_login: None,
            version: None,
            self_uri: None,
        }
    }
}

/// `UserEntityListing`, the answer of `GET /api/v2/users`. Paging is by page number; the URIs
/// are paths on the api host (never follow one to another host).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UserEntityListing {
    /// The users of this page.
    #[serde(default)]
    pub entities: Vec<User>,
    /// Users per page.
    #[serde(default)]
    pub page_size: u32,
    /// This page (1-based).
    #[serde(default)]
    pub page_number: u32,
    /// Users in all pages.
    #[serde(default)]
    pub total: u64,
    /// How many pages there are.
    #[serde(default)]
    pub page_count: u32,
    /// The first page (a path on the api host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_uri: Option<String>,
    /// This page (a path on the api host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
    /// The previous page, if any (a path on the api host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_uri: Option<String>,
    /// The next page, if any (a path on the api host: never follow it elsewhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_uri: Option<String>,
    /// The last page (a path on the api host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_uri: Option<String>,
}

impl UserEntityListing {
    /// How many pages there are: `pageCount`, or worked out from `total` and `pageSize` when
    /// an answer leaves `pageCount` out.
    pub fn pages(&self) -> u32 {
        if self.page_count > 0 || self.total == 0 || self.page_size == 0 {
            return self.page_count;
        }
        u32::try_from(self.total.div_ceil(u64::from(self.page_size))).unwrap_or(u32::MAX)
    }
}

/// `sortOrder` of `POST /api/v2/users/search`: `ASC`, `DESC` or `SCORE` (by relevance).
/// Searches spell it differently from listings (`ascending`/`descending`, [`SortOrder`]);
/// Genesys answers 400 to a search with any other value.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum SearchSortOrder {
    /// A to Z on `sortBy` (the default).
    #[default]
    Asc,
    /// Z to A on `sortBy`.
    Desc,
    /// By relevance to the query.
    Score,
}

impl From<SortOrder> for SearchSortOrder {
    fn from(order: SortOrder) -> Self {
        match order {
            SortOrder::Ascending => SearchSortOrder::Asc,
            SortOrder::Descending => SearchSortOrder::Desc,
        }
    }
}

fn default_search_page_size() -> u32 {
    25
}

fn first_page() -> u32 {
    1
}

/// One criterion of a user search (`UserSearchCriteria` in Genesys' API reference).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct SearchCriterion {
    /// `EXACT`, `CONTAINS`, `STARTS_WITH`, `TERM`, `TERMS`, `REQUIRED_FIELDS`, `MATCH_ALL`,
    /// `QUERY_STRING`, `RANGE`, `DATE_RANGE`, `LESS_THAN`, `GREATER_THAN`.
    /// (Empty for a criterion that is only a `group`.)
    #[serde(rename = "type", default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// The fields to match (`name`, `email`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// The value to match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Several values to match (any of them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    /// How this criterion combines with the others: `AND` (the default), `OR` or `NOT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// Nested criteria, combined among themselves the same way.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group: Vec<SearchCriterion>,
    /// The lower bound of a `RANGE` / `DATE_RANGE` (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_value: Option<String>,
    /// The upper bound of a `RANGE` / `DATE_RANGE` (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_value: Option<String>,
    /// The format of a `DATE_RANGE`'s values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_format: Option<String>,
}

/// The body of `POST /api/v2/users/search`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UserSearchRequest {
    /// Results per page (25 when absent, as Genesys reads it).
    #[serde(default = "default_search_page_size")]
    pub page_size: u32,
    /// The 1-based page (1 when absent).
    #[serde(default = "first_page")]
    pub page_number: u32,
    /// Sort order (`ASC`, `DESC`, `SCORE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_order: Option<SearchSortOrder>,
    /// The field to sort by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_by: Option<String>,
    /// The criteria (all must match).
    #[serde(default)]
    pub query: Vec<SearchCriterion>,
    /// Several sort keys, the first deciding first (`sort[]`, `SearchSort` in Genesys'
    /// reference). When given, it replaces `sortBy`/`sortOrder`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sort: Vec<SearchSort>,
    /// Extra fields to expand.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expand: Vec<String>,
    /// Only users the caller may view (`enforcePermissions`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforce_permissions: Option<bool>,
}

/// One key of a search's `sort[]`: a field and its direction.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SearchSort {
    /// The field to sort by (`name`, `email`, `department`, ...).
    pub sort_by: String,
    /// `ASC` (the default) or `DESC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_order: Option<SearchSortOrder>,
}

/// The answer of `POST /api/v2/users/search`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UsersSearchResponse {
    /// Matches in all pages.
    #[serde(default)]
    pub total: u64,
    /// How many pages there are.
    #[serde(default)]
    pub page_count: u32,
    /// Results per page.
    #[serde(default)]
    pub page_size: u32,
    /// This page (1-based).
    #[serde(default)]
    pub page_number: u32,
    /// The previous page, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_page: Option<String>,
    /// This page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_page: Option<String>,
    /// The next page, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page: Option<String>,
    /// The entity types searched (`users`).
    #[serde(default)]
    pub types: Vec<String>,
    /// The users found.
    #[serde(default)]
    pub results: Vec<User>,
}

// ---------------------------------------------------------------------------------------------
// Tokens

/// The answer of `GET /api/v2/tokens/me`: what a token is allowed to do and whose it is.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    /// The org the token acts in. Like every field here, optional: the client reads whatever
    /// Genesys sends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<EntityRef>,
    /// The user's home org, when it differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_organization: Option<EntityRef>,
    /// The scopes the token carries.
    #[serde(default)]
    pub authorized_scope: Vec<String>,
    /// The user a cloned token acts for, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloned_user: Option<EntityRef>,
    /// When the token idles out (ISO 8601); absent or `null` when it does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_token_idles: Option<String>,
    /// The OAuth client the token was issued to.
    #[serde(
        rename = "OAuthClient",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub oauth_client: Option<OAuthClientRef>,
}

impl TokenInfo {
    /// The id of the OAuth client the token was issued to, when Genesys named it.
    pub fn client_id(&self) -> Option<&str> {
        self.oauth_client
            .as_ref()
            .map(|c| c.id.as_str())
            .filter(|id| !id.is_empty())
    }

    /// The org's name, else its id, when Genesys named the org.
    pub fn organization_name(&self) -> Option<String> {
        self.organization
            .as_ref()
            .map(|o| o.name.clone().unwrap_or_else(|| o.id.clone()))
    }
}

/// The OAuth client a token was issued to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OAuthClientRef {
    /// The client id.
    #[serde(default)]
    pub id: String,
    /// The client name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The org owning the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<EntityRef>,
    /// The client path on the api host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
    /// `CODE`, `CLIENT-CREDENTIALS`, `TOKEN`, `SAML2-BEARER` or `PASSWORD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorized_grant_type: Option<String>,
    /// The scopes the client may be granted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scope: Vec<String>,
    /// `active`, `disabled`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// `GET /api/v2/conversations/{conversationId}`: a conversation and its participants (the
/// fields this project reads; Genesys sends many more, which are ignored).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Conversation {
    /// The conversation id (a UUID).
    pub id: String,
    /// ISO-8601, e.g. `2026-12-02T10:00:00.000Z`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// When it ended, if it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// Everyone who took part: the customer, agents, flows.
    #[serde(default)]
    pub participants: Vec<Participant>,
    /// The conversation's path on the api host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_uri: Option<String>,
}

/// One participant of a [`Conversation`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    /// The participant id.
    pub id: String,
    /// `customer`, `agent`, `acd`, `workflow`, `external`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// The name Genesys shows for the participant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The agent's user id (agents only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// When the participant joined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// When the participant left, if they have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    /// Participant data: the Messenger's custom attributes and what flows set.
    #[serde(default)]
    pub attributes: std::collections::BTreeMap<String, String>,
    /// The participant's messaging sessions (`type: webmessaging`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<ParticipantMessage>,
}

/// One messaging session of a [`Participant`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantMessage {
    /// The session id.
    pub id: String,
    /// `connected`, `disconnected`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// `webmessaging`, `sms`, …
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "type")]
    pub kind: Option<String>,
}

impl Conversation {
    /// The customer side of the conversation (`purpose: customer`), if it has one.
    pub fn customer(&self) -> Option<&Participant> {
        self.participants
            .iter()
            .find(|p| p.purpose.as_deref() == Some("customer"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_response_is_strict() {
        let ok: TokenResponse = serde_json::from_str(
            r#"{"access_token":"a","token_type":"bearer","expires_in":86399}"#,
        )
        .unwrap();
        assert_eq!(ok.expires_in, 86399);
        assert!(ok.refresh_token.is_none());
        assert!(
            serde_json::from_str::<TokenResponse>(r#"{"token_type":"bearer","expires_in":1}"#)
                .is_err()
        );
        assert!(serde_json::from_str::<TokenResponse>(
            r#"{"access_token":"a","token_type":"bearer","expires_in":"soon"}"#
        )
        .is_err());
    }

    #[test]
    fn token_error_reads_both_description_fields() {
        let g: TokenErrorBody =
            serde_json::from_str(r#"{"error":"invalid_grant","description":"code expired"}"#)
                .unwrap();
        assert_eq!(g.best_description(), Some("code expired"));
        let r: TokenErrorBody =
            serde_json::from_str(r#"{"error":"invalid_client","error_description":"bad secret"}"#)
                .unwrap();
        assert_eq!(r.best_description(), Some("bad secret"));
    }

    #[test]
    fn listing_round_trips_with_genesys_names() {
        let json = r#"{"entities":[{"id":"u1","name":"Ana","state":"active","division":{"id":"d","name":"Home","selfUri":"/api/v2/authorization/divisions/d"}}],
            "pageSize":25,"pageNumber":1,"total":1,"pageCount":1,"firstUri":"/api/v2/users?pageSize=25&pageNumber=1",
            "selfUri":"/api/v2/users?pageSize=25&pageNumber=1","lastUri":"/api/v2/users?pageSize=25&pageNumber=1"}"#;
        let l: UserEntityListing = serde_json::from_str(json).unwrap();
        assert_eq!(
            l.entities[0].division.as_ref().unwrap().name.as_deref(),
            Some("Home")
        );
        let back = serde_json::to_value(&l).unwrap();
        assert!(back.get("pageCount").is_some() && back.get("nextUri").is_none());
    }

    #[test]
    fn token_info_uses_oauthclient_capitalised() {
        let json = r#"{"organization":{"id":"o"},"authorizedScope":["users:readonly"],"OAuthClient":{"id":"c"}}"#;
        let t: TokenInfo = serde_json::from_str(json).unwrap();
        assert_eq!(t.client_id(), Some("c"));
        assert_eq!(t.authorized_scope, vec!["users:readonly"]);
    }

    /// Genesys' whole shape reads, and so does an answer with every optional field missing
    /// or `null`.
    #[test]
    fn token_info_reads_genesys_shape_and_tolerates_missing_fields() {
        let full = r#"{"organization":{"id":"o","name":"Org","selfUri":"/api/v2/organizations/o"},
            "homeOrganization":{"id":"o","name":"Org"},"authorizedScope":["users"],
            "clonedUser":null,"dateTokenIdles":null,
            "OAuthClient":{"id":"c","name":"Portal","authorizedGrantType":"CODE",
              "scope":["users"],"state":"active","organization":{"id":"o","name":"Org"}}}"#;
        let t: TokenInfo = serde_json::from_str(full).unwrap();
        let client = t.oauth_client.as_ref().unwrap();
        assert_eq!(client.authorized_grant_type.as_deref(), Some("CODE"));
        assert_eq!(
            (client.scope.as_slice(), client.state.as_deref()),
            (&["users".to_string()][..], Some("active"))
        );
        assert_eq!(t.date_token_idles, None);
        assert_eq!(t.organization_name().as_deref(), Some("Org"));
        let bare: TokenInfo = serde_json::from_str("{}").unwrap();
        assert_eq!((bare.client_id(), bare.organization_name()), (None, None));
        assert!(bare.authorized_scope.is_empty());
    }
}
