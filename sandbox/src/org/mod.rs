//! The seeded org: users generated deterministically from a seed, stored compactly, with
//! indexes for id and username lookups and for name-sorted, state-filtered paging.

mod vocabulary;

use std::collections::HashMap;

use genesys::{
    Contact, EntityRef, Geolocation, PresenceDefinition, RoutingStatus, SortOrder, StateFilter,
    User, UserAuthorization, UserChat, UserImage, UserPresence, UserState, UserStation,
    UserStations,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;
use vocabulary::{
    CITIES, DEPARTMENTS, DIVISIONS, FIRST_NAMES, IMAGE_RESOLUTIONS, LAST_NAMES, PRESENCES, ROLES,
    SPECIAL_USERS, TITLES,
};

/// A small, stable PRNG (SplitMix64): the org must not change when a dependency does.
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn uuid(&mut self) -> Uuid {
        let hi = u128::from(self.next_u64()) << 64;
        let lo = u128::from(self.next_u64());
        uuid::Builder::from_random_bytes((hi | lo).to_be_bytes()).into_uuid()
    }
}

/// The domain of every seeded email and username.
pub const EMAIL_DOMAIN: &str = "sandbox.example.com";

/// The fixed "now" of the seeded presences, so that the org is the same on every run.
const PRESENCE_EPOCH: i64 = 1_767_258_000; // 2026-01-01T09:00:00Z

/// The domain of the seeded chat addresses (`chat.jabberId`), as Genesys' `orgspan.com` ones.
pub const JABBER_DOMAIN: &str = "sandbox.orgspan.com";

/// What one user answer carries besides the fields Genesys always sends: the `expand` values
/// that add a field, the sandbox's own base URL (profile images are served there), and the
/// `sparseUsers` fault.
#[derive(Debug, Clone, Default)]
pub(crate) struct WireOptions {
    pub(crate) presence: bool,
    /// `integrationPresenceSource` (with `presence`): whose presence is reported.
    pub(crate) presence_source: Option<&'static str>,
    pub(crate) routing_status: bool,
    pub(crate) geolocation: bool,
    pub(crate) station: bool,
    pub(crate) authorization: bool,
    pub(crate) unused_roles: bool,
    pub(crate) date_last_login: bool,
    /// e.g. `http://127.0.0.1:8081` (no trailing slash).
    pub(crate) base: String,
    /// Only `id` and `name`, as the least a user answer may hold.
    pub(crate) sparse: bool,
}

/// One user, compact: the wire `User` is built only for the users a response carries.
pub(crate) struct SeededUser {
    pub(crate) id: Uuid,
    pub(crate) name: Box<str>,
    /// Also the email.
    pub(crate) username: Box<str>,
    pub(crate) state: UserState,
    title: u16,
    department: u16,
    division: u8,
    manager: Option<u32>,
    presence: u8,
    presence_age_minutes: u32,
    version: u16,
}

struct Division {
    id: String,
    name: &'static str,
}

/// The seeded organisation.
pub(crate) struct Org {
    pub(crate) id: Uuid,
    pub(crate) name: String,
    users: Vec<SeededUser>,
    divisions: Vec<Division>,
    presence_ids: Vec<String>,
    by_id: HashMap<Uuid, u32>,
    by_username: HashMap<Box<str>, u32>,
    /// Every user, sorted by name (case-insensitive), then id.
    sorted: Vec<u32>,
    /// The position of each user in `sorted`.
    rank: Vec<u32>,
    /// `sorted` split by state: active, inactive, deleted.
    sorted_by_state: [Vec<u32>; 3],
}

fn state_slot(state: UserState) -> usize {
    match state {
        UserState::Active => 0,
        UserState::Inactive => 1,
        UserState::Deleted => 2,
    }
}

/// Folds a name into the ASCII letters of an email local part.
fn ascii_local_part(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let folded = match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' | 'Á' | 'Å' | 'Ä' => "a",
            'é' | 'è' | 'ê' | 'ë' | 'É' => "e",
            'í' | 'ì' | 'î' | 'ï' | 'ı' => "i",
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' | 'Ø' | 'Ö' => "o",
            'ú' | 'ù' | 'û' | 'ü' | 'Ü' => "u",
            'ñ' => "n",
            'ç' => "c",
            'ł' | 'Ł' => "l",
            'ż' | 'ź' | 'Ż' => "z",
            'ễ' => "e",
            'ğ' => "g",
            'ş' => "s",
            _ if c.is_ascii_alphanumeric() => {
                out.push(c.to_ascii_lowercase());
                continue;
            }
            _ => "",
        };
        out.push_str(folded);
    }
    out
}

fn hashed_uuid(parts: &[&[u8]]) -> Uuid {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

impl Org {
    /// Generates `count` users from `seed`.
    pub(crate) fn generate(count: usize, seed: u64) -> Org {
        let mut rng = SplitMix64::new(seed);
        let org_id = rng.uuid();
        let divisions = DIVISIONS
            .iter()
            .map(|name| Division {
                id: rng.uuid().to_string(),
                name,
            })
            .collect::<Vec<_>>();
        let presence_ids = PRESENCES
            .iter()
            .map(|p| hashed_uuid(&[b"presence:", p.as_bytes()]).to_string())
            .collect();

        let mut users = Vec::with_capacity(count);
        let mut taken: HashMap<String, u32> = HashMap::with_capacity(count);
        for i in 0..count {
            // Special users sit at odd positions 1, 3, 5, ... so the sign-in page shows them.
            let special = (i % 2 == 1).then(|| SPECIAL_USERS.get(i / 2)).flatten();
            let (name, local) = match special {
                Some((name, local)) => ((*name).to_string(), (*local).to_string()),
                None => {
                    let first = rng.pick(FIRST_NAMES);
                    let last = rng.pick(LAST_NAMES);
                    let local = format!("{}.{}", ascii_local_part(first), ascii_local_part(last));
                    (format!("{first} {last}"), local)
                }
            };
            let n = taken.entry(local.clone()).or_insert(0);
            *n += 1;
            let username = if *n == 1 {
                format!("{local}@{EMAIL_DOMAIN}")
            } else {
                format!("{local}{n}@{EMAIL_DOMAIN}")
            };
            let roll = rng.below(100);
            let state = if i < 2 * SPECIAL_USERS.len() || roll < 88 {
                UserState::Active
            } else if roll < 96 {
                UserState::Inactive
            } else {
                UserState::Deleted
            };
            let presence = if state == UserState::Active {
                rng.below(PRESENCES.len())
            } else {
                3
            };
            let manager = (i > 0 && rng.below(10) != 0).then(|| rng.below(i.min(64)) as u32);
            users.push(SeededUser {
                id: rng.uuid(),
                name: name.into(),
                username: username.into(),
                state,
                title: rng.below(TITLES.len()) as u16,
                department: rng.below(DEPARTMENTS.len()) as u16,
                division: rng.below(DIVISIONS.len()) as u8,
                manager,
                presence: presence as u8,
                presence_age_minutes: rng.below(60 * 24 * 14) as u32,
                version: 1 + rng.below(7) as u16,
            });
        }

        let by_id = users
            .iter()
            .enumerate()
            .map(|(i, u)| (u.id, i as u32))
            .collect();
        let by_username = users
            .iter()
            .enumerate()
            .map(|(i, u)| (u.username.clone(), i as u32))
            .collect();
        let mut sorted: Vec<u32> = (0..users.len() as u32).collect();
        sorted.sort_by_cached_key(|&i| {
            let u = &users[i as usize];
            (u.name.to_lowercase(), u.id)
        });
        let mut rank = vec![0u32; users.len()];
        let mut sorted_by_state: [Vec<u32>; 3] = Default::default();
        for (pos, &i) in sorted.iter().enumerate() {
            rank[i as usize] = pos as u32;
            sorted_by_state[state_slot(users[i as usize].state)].push(i);
        }

        Org {
            id: org_id,
            name: "Genesys Cloud Sandbox".into(),
            users,
            divisions,
            presence_ids,
            by_id,
            by_username,
            sorted,
            rank,
            sorted_by_state,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.users.len()
    }

    pub(crate) fn user(&self, index: u32) -> &SeededUser {
        &self.users[index as usize]
    }

    pub(crate) fn index_of_id(&self, id: &str) -> Option<u32> {
        let id = Uuid::parse_str(id).ok()?;
        self.by_id.get(&id).copied()
    }

    /// Looks a username (or email) up, case-insensitively.
    pub(crate) fn index_of_username(&self, username: &str) -> Option<u32> {
        let wanted = username.trim().to_lowercase();
        self.by_username.get(wanted.as_str()).copied()
    }

    /// The first `n` active users in org order (for the sign-in page).
    pub(crate) fn first_active(&self, n: usize) -> impl Iterator<Item = u32> + '_ {
        self.users
            .iter()
            .enumerate()
            .filter(|(_, u)| u.state == UserState::Active)
            .map(|(i, _)| i as u32)
            .take(n)
    }

    /// The users matching `filter`, in name order.
    pub(crate) fn sorted_slice(&self, filter: StateFilter) -> &[u32] {
        match filter {
            StateFilter::Any => &self.sorted,
            StateFilter::Active => &self.sorted_by_state[0],
            StateFilter::Inactive => &self.sorted_by_state[1],
            StateFilter::Deleted => &self.sorted_by_state[2],
        }
    }

    /// Sorts user indexes into name order.
    pub(crate) fn sort_by_name(&self, indexes: &mut [u32]) {
        indexes.sort_by_key(|&i| self.rank[i as usize]);
    }

    pub(crate) fn title(&self, u: &SeededUser) -> &'static str {
        TITLES[u.title as usize]
    }

    pub(crate) fn department(&self, u: &SeededUser) -> &'static str {
        DEPARTMENTS[u.department as usize]
    }

    pub(crate) fn division_ref(&self, u: &SeededUser) -> EntityRef {
        let d = &self.divisions[u.division as usize];
        EntityRef {
            id: d.id.clone(),
            name: Some(d.name.to_string()),
            self_uri: Some(format!("/api/v2/authorization/divisions/{}", d.id)),
        }
    }

    /// The wire `User` for one seeded user. Fields not drawn when the org was generated come
    /// from the bits of the user's id, so the seeded org stays the same as before they existed.
    pub(crate) fn to_wire(&self, index: u32, opts: &WireOptions) -> User {
        let u = self.user(index);
        let id = u.id.to_string();
        if opts.sparse {
            return User::minimal(id, u.name.to_string());
        }
        let bits = u.id.as_u128();
        let manager = u.manager.map(|m| {
            let mid = self.user(m).id.to_string();
            EntityRef {
                self_uri: Some(format!("/api/v2/users/{mid}")),
                id: mid,
                name: None,
            }
        });
        let phone = (!bits.is_multiple_of(4)).then(|| {
            let line = (bits >> 4) % 10_000;
            Contact {
                address: Some(format!("+1317555{line:04}")),
                display: Some(format!("+1 317-555-{line:04}")),
                media_type: Some("PHONE".into()),
                kind: Some("WORK".into()),
                extension: None,
                country_code: Some("US".into()),
                integration: None,
            }
        });
        let mut primary = vec![Contact {
            address: Some(u.username.to_string()),
            media_type: Some("EMAIL".into()),
            kind: Some("PRIMARY".into()),
            ..Contact::default()
        }];
        if let Some(p) = &phone {
            primary.push(Contact {
                kind: Some("PRIMARY".into()),
                ..p.clone()
            });
        }
        let images = (!(bits >> 16).is_multiple_of(3)).then(|| {
            IMAGE_RESOLUTIONS
                .iter()
                .map(|r| UserImage {
                    resolution: Some((*r).to_string()),
                    image_uri: Some(format!("{}/sandbox/profile-images/{id}/{r}.svg", opts.base)),
                })
                .collect()
        });
        User {
            self_uri: Some(format!("/api/v2/users/{id}")),
            name: u.name.to_string(),
            email: Some(u.username.to_string()),
            username: Some(u.username.to_string()),
            state: Some(u.state),
            title: Some(self.title(u).to_string()),
            department: Some(self.department(u).to_string()),
            division: Some(self.division_ref(u)),
            manager,
            chat: Some(UserChat {
                jabber_id: Some(jabber_id(u)),
            }),
            primary_contact_info: Some(primary),
            addresses: Some(phone.into_iter().collect()),
            acd_auto_answer: Some((bits >> 8).is_multiple_of(5)),
            images,
            presence: opts
                .presence
                .then(|| self.presence(u, opts.presence_source)),
            routing_status: opts.routing_status.then(|| self.routing_status(u)),
            geolocation: opts.geolocation.then(|| geolocation(u)),
            station: opts.station.then(|| station(u)),
            authorization: opts
                .authorization
                .then(|| authorization(u, opts.unused_roles)),
            date_last_login: if opts.date_last_login {
                date_last_login(u).map(iso_millis)
            } else {
                None
            },
            version: Some(i64::from(u.version)),
            id,
        }
    }

    /// The user whose chat address is `jabber_id`.
    pub(crate) fn index_of_jabber_id(&self, jabber: &str) -> Option<u32> {
        let (local, domain) = jabber.trim().split_once('@')?;
        if !domain.eq_ignore_ascii_case(JABBER_DOMAIN) || local.len() != 32 {
            return None;
        }
        let id = Uuid::try_parse(local).ok()?;
        self.by_id.get(&id).copied()
    }

    fn presence(&self, u: &SeededUser, source: Option<&'static str>) -> UserPresence {
        let p = u.presence as usize;
        let modified = presence_since(u);
        UserPresence {
            source: Some(source.unwrap_or("PURECLOUD").into()),
            primary: source.is_none(),
            presence_definition: Some(PresenceDefinition {
                id: self.presence_ids[p].clone(),
                system_presence: Some(PRESENCES[p].to_string()),
                self_uri: Some(format!(
                    "/api/v2/presencedefinitions/{}",
                    self.presence_ids[p]
                )),
            }),
            message: None,
            modified_date: Some(iso_millis(modified)),
        }
    }

    fn routing_status(&self, u: &SeededUser) -> RoutingStatus {
        let on_queue = PRESENCES[u.presence as usize] == "On Queue";
        let status = match (on_queue, u.id.as_u128() % 3) {
            (false, _) => "OFF_QUEUE",
            (true, 0) => "INTERACTING",
            (true, _) => "IDLE",
        };
        RoutingStatus {
            user_id: Some(u.id.to_string()),
            status: Some(status.into()),
            start_time: Some(iso_millis(presence_since(u))),
        }
    }

    /// Pages through `indexes` (already in ascending name order) in `order`.
    pub(crate) fn page<'a>(
        indexes: &'a [u32],
        order: SortOrder,
        page_size: usize,
        page_number: usize,
    ) -> Box<dyn Iterator<Item = u32> + 'a> {
        let skip = page_size.saturating_mul(page_number.saturating_sub(1));
        match order {
            SortOrder::Ascending => Box::new(indexes.iter().copied().skip(skip).take(page_size)),
            SortOrder::Descending => {
                Box::new(indexes.iter().rev().copied().skip(skip).take(page_size))
            }
        }
    }
}

/// Since when the user's presence (and routing status and station) has been what it is.
fn presence_since(u: &SeededUser) -> i64 {
    PRESENCE_EPOCH - i64::from(u.presence_age_minutes) * 60
}

/// `chat.jabberId`: the id's 32 hex digits at the sandbox's chat domain.
fn jabber_id(u: &SeededUser) -> String {
    format!("{}@{JABBER_DOMAIN}", u.id.simple())
}

/// When the user last signed in: within 90 days before the seeded "now", or never (one user in
/// ten, and every deleted one).
fn date_last_login(u: &SeededUser) -> Option<i64> {
    let bits = u.id.as_u128();
    if u.state == UserState::Deleted || (bits >> 24).is_multiple_of(10) {
        return None;
    }
    let back = ((bits >> 32) % (90 * 24 * 3600)) as i64;
    Some(PRESENCE_EPOCH - back)
}

fn geolocation(u: &SeededUser) -> Geolocation {
    let bits = u.id.as_u128();
    let (city, region, country, lat, lon) = CITIES[((bits >> 40) % CITIES.len() as u128) as usize];
    Geolocation {
        id: None,
        name: None,
        kind: Some("USER".into()),
        primary: Some(true),
        latitude: Some(lat),
        longitude: Some(lon),
        country: Some(country.into()),
        region: Some(region.into()),
        city: Some(city.into()),
        self_uri: Some(format!("/api/v2/users/{}/geolocations/sandbox", u.id)),
    }
}

/// A WebRTC phone for one active user in two; nobody else has a station.
fn station(u: &SeededUser) -> UserStations {
    let bits = u.id.as_u128();
    if u.state != UserState::Active || (bits >> 48).is_multiple_of(2) {
        return UserStations::default();
    }
    let id = hashed_uuid(&[b"station:", u.id.as_bytes()]).to_string();
    let me = EntityRef {
        id: u.id.to_string(),
        name: None,
        self_uri: Some(format!("/api/v2/users/{}", u.id)),
    };
    let station = UserStation {
        id: Some(id),
        name: Some(format!("WebRTC - {}", u.name)),
        kind: Some("inin_webrtc_softphone.v2".into()),
        associated_user: Some(me.clone()),
        associated_date: Some(iso_millis(presence_since(u))),
        default_user: Some(me),
    };
    UserStations {
        associated_station: Some(station.clone()),
        effective_station: Some(station.clone()),
        default_station: Some(station),
        last_associated_station: None,
    }
}

/// Every user has the employee role; some are agents, a few supervisors or admins.
fn authorization(u: &SeededUser, unused: bool) -> UserAuthorization {
    let bits = u.id.as_u128();
    let extra = (bits >> 56) % 8;
    let granted: Vec<usize> = match extra {
        0 => vec![0, 3],
        1 | 2 => vec![0, 1, 2],
        _ => vec![0, 1],
    };
    let role = |i: usize| EntityRef {
        id: hashed_uuid(&[b"role:", ROLES[i].0.as_bytes()]).to_string(),
        name: Some(ROLES[i].0.to_string()),
        self_uri: None,
    };
    let mut permissions: Vec<String> = granted
        .iter()
        .flat_map(|&i| ROLES[i].1.iter().map(|p| (*p).to_string()))
        .collect();
    permissions.sort();
    permissions.dedup();
    UserAuthorization {
        roles: Some(granted.iter().map(|&i| role(i)).collect()),
        // A third role, when a user has one, has not been used lately.
        unused_roles: unused.then(|| granted.iter().skip(2).map(|&i| role(i)).collect()),
        permissions: Some(permissions),
    }
}

/// A profile image: the user's initials on a colour drawn from the id, as an SVG of `size`
/// pixels (what `GET /sandbox/profile-images/{id}/{resolution}.svg` answers).
pub(crate) fn profile_image_svg(self_org: &Org, id: &str, resolution: &str) -> Option<String> {
    let size: u32 = resolution.strip_prefix('x')?.parse().ok()?;
    if !IMAGE_RESOLUTIONS.contains(&resolution) {
        return None;
    }
    let u = self_org.user(self_org.index_of_id(id)?);
    let initials: String = u
        .name
        .split_whitespace()
        .filter_map(|w| w.chars().find(|c| c.is_alphanumeric()))
        .take(2)
        .flat_map(char::to_uppercase)
        .collect();
    let hue = u.id.as_u128() % 360;
    let half = size / 2;
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{size}\" height=\"{size}\" viewBox=\"0 0 {size} {size}\">\
<rect width=\"{size}\" height=\"{size}\" fill=\"hsl({hue},45%,40%)\"/>\
<text x=\"{half}\" y=\"{half}\" dy=\".35em\" text-anchor=\"middle\" font-family=\"sans-serif\" font-size=\"{}\" fill=\"#fff\">{}</text></svg>",
        size * 2 / 5,
        xml_escape(&initials)
    ))
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `2026-01-01T09:00:00.000Z`, the way Genesys writes dates.
pub(crate) fn iso_millis(unix_secs: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(unix_secs)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_org_other_seed_other_org() {
        let a = Org::generate(300, 7);
        let b = Org::generate(300, 7);
        let c = Org::generate(300, 8);
        let all = WireOptions {
            presence: true,
            routing_status: true,
            geolocation: true,
            station: true,
            authorization: true,
            unused_roles: true,
            date_last_login: true,
            base: "http://sandbox".into(),
            ..WireOptions::default()
        };
        assert_eq!(a.to_wire(10, &all), b.to_wire(10, &all));
        assert_ne!(a.user(10).id, c.user(10).id);
    }

    #[test]
    fn usernames_are_unique_and_special_names_present() {
        let org = Org::generate(5_000, 1);
        assert_eq!(org.by_username.len(), 5_000);
        assert_eq!(&*org.user(1).name, "<img src=x onerror=alert(1)>");
        let states: std::collections::HashSet<_> = org.users.iter().map(|u| u.state).collect();
        assert_eq!(states.len(), 3);
    }

    #[test]
    fn sorted_slices_are_in_name_order() {
        let org = Org::generate(2_000, 3);
        let names: Vec<String> = org
            .sorted_slice(StateFilter::Any)
            .iter()
            .map(|&i| org.user(i).name.to_lowercase())
            .collect();
        assert!(names.windows(2).all(|w| w[0] <= w[1]));
        let total: usize = org.sorted_by_state.iter().map(Vec::len).sum();
        assert_eq!(total, 2_000);
    }

    #[test]
    fn iso_dates() {
        assert_eq!(iso_millis(PRESENCE_EPOCH), "2026-01-01T09:00:00.000Z");
    }
}
