//! Where a Genesys Cloud org lives: one of the 17 regions (login and api hosts derived from the
//! region domain) or explicit base URLs for the sandbox, tests and any other server.

use std::fmt;

use url::{Host, Url};

/// The 17 Genesys Cloud region domains, `mypurecloud.com` (us-east-1, the default) first.
pub const ALL_REGION_DOMAINS: [&str; 17] = [
    "mypurecloud.com",
    "mypurecloud.ie",
    "mypurecloud.com.au",
    "mypurecloud.jp",
    "mypurecloud.de",
    "usw2.pure.cloud",
    "cac1.pure.cloud",
    "apne2.pure.cloud",
    "euw2.pure.cloud",
    "aps1.pure.cloud",
    "use2.us-gov-pure.cloud",
    "sae1.pure.cloud",
    "mec1.pure.cloud",
    "apne3.pure.cloud",
    "euc2.pure.cloud",
    "mxc1.pure.cloud",
    "apse1.pure.cloud",
];

/// The AWS region behind each domain of [`ALL_REGION_DOMAINS`] (same order), as the official
/// SDKs name them (`PureCloudRegionHosts`).
const AWS_REGIONS: [&str; 17] = [
    "us-east-1",
    "eu-west-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "eu-central-1",
    "us-west-2",
    "ca-central-1",
    "ap-northeast-2",
    "eu-west-2",
    "ap-south-1",
    "us-east-2",
    "sa-east-1",
    "me-central-1",
    "ap-northeast-3",
    "eu-central-2",
    "mx-central-1",
    "ap-southeast-1",
];

/// One of the Genesys Cloud regions. Each region is a separate authorization server: a login
/// started against one region must be finished against the same one (RFC 9700 §4.4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Region {
    index: usize,
}

impl Region {
    /// The region domains, in the order of [`Region::all`].
    pub const ALL_REGION_DOMAINS: [&'static str; 17] = ALL_REGION_DOMAINS;

    /// `mypurecloud.com` (us-east-1), the default region.
    pub const US_EAST_1: Region = Region { index: 0 };

    /// Every region.
    pub fn all() -> impl Iterator<Item = Region> {
        (0..ALL_REGION_DOMAINS.len()).map(|index| Region { index })
    }

    /// Looks a region up by its exact domain (`mypurecloud.ie`) or AWS name (`eu-west-1`,
    /// `eu_west_1`), case-insensitively.
    pub fn from_domain_or_aws_name(name: &str) -> Option<Region> {
        let name = name.to_ascii_lowercase().replace('_', "-");
        ALL_REGION_DOMAINS
            .iter()
            .position(|d| *d == name)
            .or_else(|| AWS_REGIONS.iter().position(|r| *r == name))
            .map(|index| Region { index })
    }

    /// The region domain, e.g. `mypurecloud.ie`.
    pub fn domain(self) -> &'static str {
        ALL_REGION_DOMAINS[self.index]
    }

    /// The AWS region name, e.g. `eu-west-1`.
    pub fn aws_region(self) -> &'static str {
        AWS_REGIONS[self.index]
    }

    /// The Genesys environment name a Client App is told in `{{gcTargetEnv}}`: `prod` for
    /// us-east-1, else `prod-` and the short AWS name (`prod-euw1`, `prod-apse2`).
    pub fn target_env(self) -> String {
        if self.index == 0 {
            return "prod".to_string();
        }
        let short: String = self
            .aws_region()
            .split('-')
            .map(|part| match part {
                "east" => "e",
                "west" => "w",
                "central" => "c",
                "south" => "s",
                "north" => "n",
                "northeast" => "ne",
                "southeast" => "se",
                other => other,
            })
            .collect();
        format!("prod-{short}")
    }

    /// The region a `{{gcTargetEnv}}` value names (`prod`, `prod-euw1`), case-insensitively.
    pub fn from_target_env(name: &str) -> Option<Region> {
        let name = name.trim().to_ascii_lowercase();
        Region::all().find(|r| r.target_env() == name)
    }

    /// The Genesys apps host's origin, where Client Apps are framed: `https://apps.{domain}`.
    pub fn apps_origin(self) -> String {
        format!("https://apps.{}", self.domain())
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.domain())
    }
}

/// Why an environment could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvironmentError {
    /// The input names no known region.
    #[error("unknown Genesys Cloud region `{input}`; valid regions: {}", ALL_REGION_DOMAINS.join(", "))]
    UnknownRegion {
        /// What was given (trimmed).
        input: String,
    },
    /// A base URL did not parse or has parts a base URL must not have.
    #[error("invalid base URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A base URL uses plain HTTP for a host that is not loopback.
    #[error("base URL `{0}` must use https (plain http is allowed only for loopback hosts)")]
    Insecure(String),
}

/// The login and api base URLs of one Genesys Cloud org, and the region they belong to.
///
/// Base URLs always end with `/`, so endpoint paths are joined relative to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    login_base: Url,
    api_base: Url,
    region: Option<Region>,
}

impl Environment {
    /// The environment of a region.
    pub fn for_region(region: Region) -> Self {
        let parse = |host: &str| {
            Url::parse(&format!("https://{host}.{}/", region.domain()))
                .expect("region domains are valid host names")
        };
        Environment {
            login_base: parse("login"),
            api_base: parse("api"),
            region: Some(region),
        }
    }

    /// Parses what people paste: a region domain (`mypurecloud.ie`), a host of it with or
    /// without scheme and path (`https://api.mypurecloud.ie`, `login.usw2.pure.cloud/`,
    /// `apps.mypurecloud.de`), or an AWS region name (`eu-west-1`); case-insensitive.
    pub fn from_region(input: &str) -> Result<Environment, EnvironmentError> {
        let trimmed = input.trim();
        let unknown = || EnvironmentError::UnknownRegion {
            input: trimmed.to_owned(),
        };
        let mut rest = trimmed.to_ascii_lowercase();
        for scheme in ["https://", "http://"] {
            if let Some(stripped) = rest.strip_prefix(scheme) {
                rest = stripped.to_owned();
                break;
            }
        }
        // Keep the host only: drop a path, query or fragment, then a port.
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = host
            .split(':')
            .next()
            .unwrap_or_default()
            .trim_end_matches('.');
        if host.is_empty() {
            return Err(unknown());
        }
        if let Some(region) = Region::from_domain_or_aws_name(host) {
            return Ok(Self::for_region(region));
        }
        for prefix in ["api.", "login.", "apps."] {
            if let Some(domain) = host.strip_prefix(prefix) {
                if let Some(region) = ALL_REGION_DOMAINS.iter().position(|d| *d == domain) {
                    return Ok(Self::for_region(Region { index: region }));
                }
            }
        }
        Err(unknown())
    }

    /// Explicit base URLs, e.g. the sandbox (`Environment::custom(base, base)`). Each must be
    /// `https`, or `http` with a loopback host (`localhost`, `127.0.0.0/8`, `::1`); no user
    /// info, query or fragment.
    pub fn custom(login_base: &str, api_base: &str) -> Result<Environment, EnvironmentError> {
        Ok(Environment {
            login_base: checked_base(login_base)?,
            api_base: checked_base(api_base)?,
            region: None,
        })
    }

    /// The login host's base URL (`https://login.{domain}/`).
    pub fn login_base(&self) -> &Url {
        &self.login_base
    }

    /// The api host's base URL (`https://api.{domain}/`).
    pub fn api_base(&self) -> &Url {
        &self.api_base
    }

    /// The region, unless the environment is custom.
    pub fn region(&self) -> Option<Region> {
        self.region
    }

    /// The region domain (`mypurecloud.ie`), unless the environment is custom.
    pub fn region_domain(&self) -> Option<&str> {
        self.region.map(Region::domain)
    }

    /// A stable identifier of the authorization server: the login base without its trailing
    /// slash (`https://login.mypurecloud.ie`). Store it with a pending login and compare it
    /// at the callback (mix-up defence).
    pub fn issuer(&self) -> String {
        self.login_base.as_str().trim_end_matches('/').to_owned()
    }

    /// Whether the base URLs were given explicitly rather than derived from a region.
    pub fn is_custom(&self) -> bool {
        self.region.is_none()
    }

    /// `url` joined onto the login base (`oauth/token`, `logout`).
    pub(crate) fn login_url(&self, path: &str) -> Url {
        self.login_base
            .join(path)
            .expect("relative endpoint paths join onto a base URL")
    }

    /// `path` joined onto the api base (`api/v2/users/me`).
    pub(crate) fn api_url(&self, path: &str) -> Url {
        self.api_base
            .join(path)
            .expect("relative endpoint paths join onto a base URL")
    }
}

impl Default for Environment {
    /// `mypurecloud.com` (us-east-1).
    fn default() -> Self {
        Self::for_region(Region::US_EAST_1)
    }
}

/// Whether a host is loopback (where plain HTTP cannot be observed by anyone else).
pub(crate) fn is_loopback(host: Option<Host<&str>>) -> bool {
    match host {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn checked_base(input: &str) -> Result<Url, EnvironmentError> {
    let invalid = |reason: &str| EnvironmentError::InvalidUrl {
        url: input.to_owned(),
        reason: reason.to_owned(),
    };
    let mut url = Url::parse(input.trim()).map_err(|e| invalid(&e.to_string()))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(url.host()) => {}
        "http" => return Err(EnvironmentError::Insecure(input.to_owned())),
        _ => return Err(invalid("the scheme must be https (or http for loopback)")),
    }
    if url.host().is_none() {
        return Err(invalid("no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("user info is not allowed"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("a query or fragment is not allowed"));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

#[cfg(test)]
mod target_env_tests {
    use super::Region;

    #[test]
    fn target_envs_are_genesys_names_and_round_trip() {
        let names: Vec<String> = Region::all().map(Region::target_env).collect();
        assert_eq!(names[0], "prod");
        let ie = Region::from_domain_or_aws_name("mypurecloud.ie").unwrap();
        assert_eq!(ie.target_env(), "prod-euw1");
        let au = Region::from_domain_or_aws_name("mypurecloud.com.au").unwrap();
        assert_eq!(au.target_env(), "prod-apse2");
        let jp = Region::from_domain_or_aws_name("mypurecloud.jp").unwrap();
        assert_eq!(jp.target_env(), "prod-apne1");
        assert_eq!(ie.apps_origin(), "https://apps.mypurecloud.ie");
        for region in Region::all() {
            assert_eq!(Region::from_target_env(&region.target_env()), Some(region));
        }
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
        assert_eq!(Region::from_target_env("prod-xyz9"), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_region_domain_parses_to_login_and_api_hosts() {
        // The 17 region domains as GENESYS.md lists them (not the table under test).
        let documented = [
            "mypurecloud.com",
            "mypurecloud.ie",
            "mypurecloud.com.au",
            "mypurecloud.jp",
            "mypurecloud.de",
            "usw2.pure.cloud",
            "cac1.pure.cloud",
            "apne2.pure.cloud",
            "euw2.pure.cloud",
            "aps1.pure.cloud",
            "use2.us-gov-pure.cloud",
            "sae1.pure.cloud",
            "mec1.pure.cloud",
            "apne3.pure.cloud",
            "euc2.pure.cloud",
            "mxc1.pure.cloud",
            "apse1.pure.cloud",
        ];
        let mut known: Vec<&str> = ALL_REGION_DOMAINS.to_vec();
        let mut listed = documented.to_vec();
        known.sort_unstable();
        listed.sort_unstable();
        assert_eq!(known, listed);
        assert_eq!(Region::all().count(), 17);
        let ie = Environment::from_region("mypurecloud.ie").unwrap();
        assert_eq!(ie.login_base().as_str(), "https://login.mypurecloud.ie/");
        assert_eq!(ie.api_base().as_str(), "https://api.mypurecloud.ie/");
        assert_eq!(ie.issuer(), "https://login.mypurecloud.ie");
        let gov = Environment::from_region("use2.us-gov-pure.cloud").unwrap();
        assert_eq!(
            gov.api_base().as_str(),
            "https://api.use2.us-gov-pure.cloud/"
        );
        for domain in documented {
            let env = Environment::from_region(domain).unwrap();
            assert_eq!(
                env.login_base().as_str(),
                format!("https://login.{domain}/")
            );
            assert_eq!(env.api_base().as_str(), format!("https://api.{domain}/"));
            assert_eq!(env.region_domain(), Some(domain));
            assert_eq!(env.issuer(), format!("https://login.{domain}"));
            assert!(!env.is_custom());
        }
    }

    #[test]
    fn pasted_forms_are_accepted() {
        for input in [
            "mypurecloud.ie",
            "MyPureCloud.IE",
            "  mypurecloud.ie  ",
            "https://api.mypurecloud.ie",
            "https://api.mypurecloud.ie/",
            "https://login.mypurecloud.ie/oauth/authorize?x=1",
            "api.mypurecloud.ie",
            "apps.mypurecloud.ie/directory/",
            "http://mypurecloud.ie:443/",
            "eu-west-1",
            "EU_WEST_1",
        ] {
            let env = Environment::from_region(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(env.region_domain(), Some("mypurecloud.ie"), "{input}");
        }
        let usw2 = Environment::from_region("login.usw2.pure.cloud/").unwrap();
        assert_eq!(usw2.api_base().as_str(), "https://api.usw2.pure.cloud/");
        let gov = Environment::from_region("https://api.use2.us-gov-pure.cloud").unwrap();
        assert_eq!(gov.region().unwrap().aws_region(), "us-east-2");
        // `mypurecloud.com` must not be confused with `mypurecloud.com.au`.
        let au = Environment::from_region("api.mypurecloud.com.au").unwrap();
        assert_eq!(au.region_domain(), Some("mypurecloud.com.au"));
        assert_eq!(
            Environment::default().region_domain(),
            Some("mypurecloud.com")
        );
    }

    #[test]
    fn unknown_regions_list_the_valid_ones() {
        for input in [
            "",
            "   ",
            "https://",
            "mypurecloud.fr",
            "evil.com",
            "api.evil.com",
            "login.mypurecloud.ie.evil.com",
            "xmypurecloud.ie",
            "api.api.mypurecloud.ie",
        ] {
            let err = Environment::from_region(input).unwrap_err();
            let text = err.to_string();
            assert!(
                text.contains("mypurecloud.com.au") && text.contains("apse1.pure.cloud"),
                "{text}"
            );
        }
    }

    #[test]
    fn custom_allows_http_only_on_loopback() {
        let env = Environment::custom("http://127.0.0.1:4000", "http://127.0.0.1:4000/").unwrap();
        assert!(env.is_custom());
        assert_eq!(env.region_domain(), None);
        assert_eq!(env.login_base().as_str(), "http://127.0.0.1:4000/");
        assert_eq!(env.issuer(), "http://127.0.0.1:4000");
        assert_eq!(
            env.login_url("oauth/token").as_str(),
            "http://127.0.0.1:4000/oauth/token"
        );
        assert!(Environment::custom("http://localhost:1", "http://[::1]:2").is_ok());
        assert!(
            Environment::custom("https://login.example.com", "https://api.example.com").is_ok()
        );

        assert!(matches!(
            Environment::custom("http://example.com", "https://api.example.com"),
            Err(EnvironmentError::Insecure(_))
        ));
        assert!(matches!(
            Environment::custom("https://login.example.com", "http://10.0.0.1"),
            Err(EnvironmentError::Insecure(_))
        ));
        for bad in [
            "ftp://127.0.0.1/",
            "not a url",
            "https://user:pw@example.com/",
            "https://example.com/?q=1",
            "https://example.com/#f",
        ] {
            assert!(
                matches!(
                    Environment::custom(bad, bad),
                    Err(EnvironmentError::InvalidUrl { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn custom_base_paths_are_kept() {
        let env = Environment::custom(
            "https://gw.example.com/genesys",
            "https://gw.example.com/api-proxy/",
        )
        .unwrap();
        assert_eq!(
            env.login_url("oauth/token").as_str(),
            "https://gw.example.com/genesys/oauth/token"
        );
        assert_eq!(
            env.api_url("api/v2/users/me").as_str(),
            "https://gw.example.com/api-proxy/api/v2/users/me"
        );
        assert_eq!(env.issuer(), "https://gw.example.com/genesys");
    }
}
