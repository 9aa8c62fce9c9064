//! The seeded org: users generated deterministically from a seed, stored compactly, with
//! indexes for id and username lookups and for name-sorted, state-filtered paging.

mod vocabulary;

use std::collections::HashMap;

use genesys::{
    EntityRef, PresenceDefinition, SortOrder, StateFilter, User, UserPresence, UserState,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;
use vocabulary::{
    DEPARTMENTS, DIVISIONS, FIRST_NAMES, LAST_NAMES, PRESENCES, SPECIAL_USERS, TITLES,
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

    /// The wire `User` for one seeded user.
    pub(crate) fn to_wire(&self, index: u32, with_presence: bool) -> User {
        let u = self.user(index);
        let id = u.id.to_string();
        User {
            self_uri: Some(format!("/api/v2/users/{id}")),
            id,
            name: u.name.to_string(),
            email: Some(u.username.to_string()),
            username: Some(u.username.to_string()),
            state: u.state,
            title: Some(self.title(u).to_string()),
            department: Some(self.department(u).to_string()),
            division: Some(self.division_ref(u)),
            manager: u.manager.map(|m| {
                let mid = self.user(m).id.to_string();
                EntityRef {
                    self_uri: Some(format!("/api/v2/users/{mid}")),
                    id: mid,
                    name: None,
                }
            }),
            images: None,
            presence: with_presence.then(|| self.presence(u)),
            version: Some(i64::from(u.version)),
        }
    }

    fn presence(&self, u: &SeededUser) -> UserPresence {
        let p = u.presence as usize;
        let modified = PRESENCE_EPOCH - i64::from(u.presence_age_minutes) * 60;
        UserPresence {
            source: Some("PURECLOUD".into()),
            primary: true,
            presence_definition: PresenceDefinition {
                id: self.presence_ids[p].clone(),
                system_presence: PRESENCES[p].to_string(),
                self_uri: Some(format!(
                    "/api/v2/presencedefinitions/{}",
                    self.presence_ids[p]
                )),
            },
            message: None,
            modified_date: Some(iso_millis(modified)),
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
        assert_eq!(a.to_wire(10, true), b.to_wire(10, true));
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
