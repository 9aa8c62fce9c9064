//! The directory view lives in the URL query (`?page=3&size=50&sort=descending&state=inactive&q=ana`),
//! so it can be bookmarked, shared and navigated. Invalid values get a message and a default.

use serde::{Deserialize, Serialize};

use super::error::AppError;

pub const PAGE_SIZES: [u32; 4] = [25, 50, 100, 500];
pub const MAX_SEARCH_LEN: usize = 100;
/// The largest page Genesys' user search answers (the listing goes to 500).
pub const MAX_SEARCH_PAGE_SIZE: u32 = 100;
/// The highest page number a view may ask for.
pub const MAX_PAGE: u32 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Sort {
    #[default]
    Ascending,
    Descending,
}

impl Sort {
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Ascending => "ascending",
            Sort::Descending => "descending",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum StateView {
    #[default]
    Active,
    Inactive,
    Deleted,
    Any,
}

impl StateView {
    pub const ALL: [StateView; 4] = [
        StateView::Active,
        StateView::Inactive,
        StateView::Deleted,
        StateView::Any,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StateView::Active => "active",
            StateView::Inactive => "inactive",
            StateView::Deleted => "deleted",
            StateView::Any => "any",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            StateView::Active => "Active",
            StateView::Inactive => "Inactive",
            StateView::Deleted => "Deleted",
            StateView::Any => "Any state",
        }
    }
}

/// One view of the directory.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DirectoryQuery {
    pub page: u32,
    pub size: u32,
    pub sort: Sort,
    pub state: StateView,
    /// Search text (name or email); empty lists instead of searching.
    pub q: String,
}

impl Default for DirectoryQuery {
    fn default() -> Self {
        Self {
            page: 1,
            size: 25,
            sort: Sort::Ascending,
            state: StateView::Active,
            q: String::new(),
        }
    }
}

impl DirectoryQuery {
    /// The query a server function may act on: what a browser sent is not trusted to have
    /// gone through [`DirectoryQuery::parse`]. Out-of-range values are a 400 naming the field;
    /// a search asks Genesys for at most [`MAX_SEARCH_PAGE_SIZE`] a page.
    pub fn validated(&self) -> Result<DirectoryQuery, AppError> {
        let bad = |message: String| Err(AppError::BadRequest { message });
        if !(1..=MAX_PAGE).contains(&self.page) {
            return bad(format!("page must be between 1 and {MAX_PAGE}"));
        }
        if !PAGE_SIZES.contains(&self.size) {
            return bad("size must be 25, 50, 100 or 500".into());
        }
        if self.q.chars().count() > MAX_SEARCH_LEN {
            return bad(format!("q must be at most {MAX_SEARCH_LEN} characters"));
        }
        let mut q = self.clone();
        q.q = q.q.trim().to_string();
        if !q.q.is_empty() {
            q.size = q.size.min(MAX_SEARCH_PAGE_SIZE);
        }
        Ok(q)
    }

    /// Reads a view from query parameters; every value that cannot be used is named in the
    /// returned messages and replaced by its default.
    pub fn parse<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> (Self, Vec<String>) {
        let mut q = DirectoryQuery::default();
        let mut problems = Vec::new();
        for (key, value) in params {
            let value = value.trim();
            match key {
                "page" => match value.parse::<u32>() {
                    Ok(n) if (1..=MAX_PAGE).contains(&n) => q.page = n,
                    _ => problems.push(format!(
                        "Page “{}” is not a page number; showing page 1.",
                        clip(value)
                    )),
                },
                "size" => match value.parse::<u32>() {
                    Ok(n) if PAGE_SIZES.contains(&n) => q.size = n,
                    _ => problems.push(format!(
                        "Page size “{}” is not one of 25, 50, 100 or 500; showing 25.",
                        clip(value)
                    )),
                },
                "sort" => match value.to_ascii_lowercase().as_str() {
                    "ascending" | "asc" => q.sort = Sort::Ascending,
                    "descending" | "desc" => q.sort = Sort::Descending,
                    _ => problems.push(format!(
                        "Sort “{}” is not ascending or descending; sorting A to Z.",
                        clip(value)
                    )),
                },
                "state" => match StateView::ALL
                    .iter()
                    .find(|s| s.as_str() == value.to_ascii_lowercase())
                {
                    Some(s) => q.state = *s,
                    None => problems.push(format!(
                        "State “{}” is not active, inactive, deleted or any; showing active users.",
                        clip(value)
                    )),
                },
                "q" => {
                    if value.chars().count() > MAX_SEARCH_LEN {
                        problems.push(format!(
                            "The search was cut to {MAX_SEARCH_LEN} characters."
                        ));
                        q.q = value.chars().take(MAX_SEARCH_LEN).collect();
                    } else {
                        q.q = value.to_string();
                    }
                }
                _ => {}
            }
        }
        (q, problems)
    }

    /// Reads a view from a URL's query string (`?q=smith&page=2`, as `location.search` has it).
    pub fn from_search(search: &str) -> (Self, Vec<String>) {
        let pairs = url_params::decode(search.strip_prefix('?').unwrap_or(search));
        Self::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// The query string of this view, defaults left out (`page=2&size=50`).
    pub fn to_query_string(&self) -> String {
        let mut s = url_params::Builder::default();
        if self.page != 1 {
            s.push("page", &self.page.to_string());
        }
        if self.size != 25 {
            s.push("size", &self.size.to_string());
        }
        if self.sort != Sort::Ascending {
            s.push("sort", self.sort.as_str());
        }
        if self.state != StateView::Active {
            s.push("state", self.state.as_str());
        }
        if !self.q.is_empty() {
            s.push("q", &self.q);
        }
        s.finish()
    }

    /// The `/users` URL of this view.
    pub fn href(&self) -> String {
        let qs = self.to_query_string();
        if qs.is_empty() {
            "/users".to_string()
        } else {
            format!("/users?{qs}")
        }
    }

    /// This view searching for `text` (trimmed), from page 1.
    pub fn searching(&self, text: &str) -> Self {
        Self {
            q: text.trim().to_string(),
            page: 1,
            ..self.clone()
        }
    }

    /// The same view at another page.
    pub fn at_page(&self, page: u32) -> Self {
        Self {
            page,
            ..self.clone()
        }
    }

    /// This view after `value` was chosen for `field` (`size`, `sort` or `state`), from page 1.
    /// A value that cannot be used leaves the field at its default, as in a URL.
    pub fn with_choice(&self, field: &str, value: &str) -> Self {
        let (chosen, _) = DirectoryQuery::parse([(field, value)]);
        let mut next = Self {
            page: 1,
            ..self.clone()
        };
        match field {
            "size" => next.size = chosen.size,
            "sort" => next.sort = chosen.sort,
            "state" => next.state = chosen.state,
            _ => return self.clone(),
        }
        next
    }
}

fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

mod url_params {
    /// A tiny `application/x-www-form-urlencoded` writer (no dependency needed in the wasm).
    #[derive(Default)]
    pub struct Builder(String);

    impl Builder {
        pub fn push(&mut self, key: &str, value: &str) {
            if !self.0.is_empty() {
                self.0.push('&');
            }
            self.0.push_str(key);
            self.0.push('=');
            for b in value.bytes() {
                match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                        self.0.push(b as char)
                    }
                    b' ' => self.0.push('+'),
                    _ => self.0.push_str(&format!("%{b:02X}")),
                }
            }
        }

        pub fn finish(self) -> String {
            self.0
        }
    }

    /// The pairs of an `application/x-www-form-urlencoded` string (`+` is a space, `%XX` a
    /// byte; bytes that are not UTF-8 become U+FFFD, a stray `%` stays as it is).
    pub fn decode(query: &str) -> Vec<(String, String)> {
        query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                (unescape(key), unescape(value))
            })
            .collect()
    }

    fn unescape(s: &str) -> String {
        let bytes = s.as_bytes();
        let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' => match (
                    bytes.get(i + 1).and_then(|&b| hex(b)),
                    bytes.get(i + 2).and_then(|&b| hex(b)),
                ) {
                    (Some(high), Some(low)) => {
                        out.push(high << 4 | low);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                },
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> (DirectoryQuery, Vec<String>) {
        DirectoryQuery::parse(pairs.iter().copied())
    }

    #[test]
    fn a_search_keeps_the_view_from_page_one() {
        let view = DirectoryQuery {
            page: 4,
            size: 50,
            sort: Sort::Descending,
            ..DirectoryQuery::default()
        };
        let searched = view.searching("  smith ");
        assert_eq!((searched.q.as_str(), searched.page), ("smith", 1));
        assert_eq!((searched.size, searched.sort), (50, Sort::Descending));
    }

    #[test]
    fn a_choice_changes_its_field_only_and_goes_back_to_page_one() {
        let (view, _) = parse(&[("page", "4"), ("q", "ana"), ("state", "inactive")]);
        let next = view.with_choice("size", "100");
        assert_eq!(
            (next.size, next.page, next.q.as_str(), next.state),
            (100, 1, "ana", StateView::Inactive)
        );
        let next = view.with_choice("sort", "descending");
        assert_eq!((next.sort, next.size, next.page), (Sort::Descending, 25, 1));
        assert_eq!(
            view.with_choice("state", "deleted").state,
            StateView::Deleted
        );
        assert_eq!(view.with_choice("state", "bogus").state, StateView::Active);
        assert_eq!(view.with_choice("colour", "red"), view);
    }

    #[test]
    fn a_full_query_parses() {
        let (q, problems) = parse(&[
            ("page", "3"),
            ("size", "50"),
            ("sort", "descending"),
            ("state", "inactive"),
            ("q", " ana "),
        ]);
        assert!(problems.is_empty());
        assert_eq!(
            q,
            DirectoryQuery {
                page: 3,
                size: 50,
                sort: Sort::Descending,
                state: StateView::Inactive,
                q: "ana".into()
            }
        );
    }

    #[test]
    fn bad_values_fall_back_with_a_message() {
        let (q, problems) = parse(&[
            ("page", "-1"),
            ("size", "7"),
            ("sort", "sideways"),
            ("state", "<script>"),
            ("page", ""),
        ]);
        assert_eq!(q, DirectoryQuery::default());
        assert_eq!(problems.len(), 5);
        assert!(problems[1].contains("25, 50, 100 or 500"));
        let (_, problems) = parse(&[("page", "99999999999999999999")]);
        assert_eq!(problems.len(), 1);
    }

    #[test]
    fn a_search_string_reads_back_the_view_that_wrote_it() {
        let view = DirectoryQuery {
            page: 7,
            size: 100,
            sort: Sort::Descending,
            state: StateView::Any,
            q: "Zoë Ångström-Øster & 100% <b>+co</b>".into(),
        };
        assert_eq!(
            DirectoryQuery::from_search(&format!("?{}", view.to_query_string())),
            (view.clone(), vec![])
        );
        assert_eq!(
            DirectoryQuery::from_search(""),
            (DirectoryQuery::default(), vec![])
        );
        // A stray or broken escape stays as written; bytes that are not UTF-8 are replaced.
        let (q, _) = DirectoryQuery::from_search("q=50%25+off%2&x");
        assert_eq!(q.q, "50% off%2");
        let (q, _) = DirectoryQuery::from_search("?q=%FF%zz");
        assert_eq!(q.q, "\u{FFFD}%zz");
        let (q, problems) = DirectoryQuery::from_search("?page=abc&page=2");
        assert_eq!(q.page, 2);
        assert_eq!(problems.len(), 1);
    }

    #[test]
    fn long_searches_are_cut() {
        let long = "é".repeat(500);
        let (q, problems) = parse(&[("q", &long)]);
        assert_eq!(q.q.chars().count(), MAX_SEARCH_LEN);
        assert_eq!(problems.len(), 1);
    }

    #[test]
    fn query_strings_round_trip_and_leave_defaults_out() {
        assert_eq!(DirectoryQuery::default().href(), "/users");
        let q = DirectoryQuery {
            page: 2,
            size: 100,
            sort: Sort::Descending,
            state: StateView::Any,
            q: "Zoë & co".into(),
        };
        let qs = q.to_query_string();
        assert_eq!(
            qs,
            "page=2&size=100&sort=descending&state=any&q=Zo%C3%AB+%26+co"
        );
        let decoded: Vec<(String, String)> = url::form_urlencoded::parse(qs.as_bytes())
            .into_owned()
            .collect();
        let (back, problems) =
            DirectoryQuery::parse(decoded.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert!(problems.is_empty());
        assert_eq!(back, q);
    }
}

/// Property tests: any query string the browser sends becomes a view that is valid on the
/// server too (what the page parses, `list_directory` accepts), and nothing panics.
#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::*;

    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: crate::model::proptest_cases(),
            ..ProptestConfig::default()
        }
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn any_query_parses_to_a_view_the_server_accepts(
            pairs in prop::collection::vec(
                (prop_oneof![Just("page"), Just("size"), Just("sort"), Just("state"), Just("q"), Just("x")],
                 prop_oneof![any::<String>(), "[0-9]{1,12}", Just("500".to_string()), Just("-1".to_string())]),
                0..8,
            )
        ) {
            let (q, problems) = DirectoryQuery::parse(pairs.iter().map(|(k, v)| (*k, v.as_str())));
            let checked = q.validated();
            prop_assert!(checked.is_ok(), "{:?} from {:?}", checked, pairs);
            let checked = checked.unwrap();
            prop_assert!((1..=MAX_PAGE).contains(&checked.page));
            prop_assert!(PAGE_SIZES.contains(&checked.size));
            prop_assert!(checked.q.chars().count() <= MAX_SEARCH_LEN);
            if !checked.q.is_empty() {
                prop_assert!(checked.size <= MAX_SEARCH_PAGE_SIZE);
            }
            prop_assert!(problems.len() <= pairs.len());
        }
    }
}
