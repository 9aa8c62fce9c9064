//! For tests of the sandbox and of what signs in to it (feature `test-support`): answering
//! the sign-in page the way a browser does, from the form the page really serves.

mod form;

use reqwest::header::LOCATION;
use reqwest::{Client, IntoUrl, Response, StatusCode, Url};

use form::{decode_entities, forms, strip_tags};

/// Answers the sandbox's sign-in page like a browser: reads the form the page serves, picks
/// the user, presses Allow or Deny, and returns the redirect to the app's callback.
///
/// ```no_run
/// # async fn demo(authorize_url: url::Url) -> Result<(), sandbox::test_support::SignInError> {
/// use sandbox::test_support::SignInScript;
/// let http = reqwest::Client::builder()
///     .redirect(reqwest::redirect::Policy::none())
///     .build()?;
/// let callback = SignInScript::new(&http).run(authorize_url).await?;
/// let code = callback.code().expect("a code");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SignInScript<'a> {
    http: &'a Client,
    user: SignInAs,
    decision: Decision,
}

/// Whom the script signs in as.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SignInAs {
    /// The user the page preselects (the first it offers), as when the form is sent untouched.
    #[default]
    Preselected,
    /// The offered user with this id (the value of a radio button).
    Offered(String),
    /// This username, typed into the username field.
    Typed(String),
}

/// The button the script presses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Decision {
    #[default]
    Allow,
    Deny,
}

impl Decision {
    fn label(self) -> &'static str {
        match self {
            Decision::Allow => "Allow",
            Decision::Deny => "Deny",
        }
    }
}

/// Why a scripted sign-in did not reach the callback redirect.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("HTTP: {0}")]
    Http(#[from] reqwest::Error),
    #[error("the sign-in page answered {status}: {body}")]
    Page { status: StatusCode, body: String },
    #[error("the sign-in page has no {0}")]
    Missing(&'static str),
    #[error("the sign-in page has no form with a {0} button")]
    NoButton(&'static str),
    #[error("the sign-in page does not offer the user {0}")]
    NotOffered(String),
    #[error("the sign-in form's action {0:?} is not a URL")]
    Action(String),
    #[error("the answer to the sign-in page was {status}, not a 302 redirect: {body}")]
    Answer { status: StatusCode, body: String },
    #[error("the redirect's Location {0:?} is not a URL")]
    Location(String),
}

/// Where the sandbox sent the browser after the sign-in page: the app's callback with `code`
/// and `state`, or with `error` and `state`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInRedirect {
    location: Url,
}

impl SignInRedirect {
    pub fn location(&self) -> &Url {
        &self.location
    }

    /// The value of the query parameter `name`, if it is there.
    pub fn param(&self, name: &str) -> Option<String> {
        self.location
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    pub fn code(&self) -> Option<String> {
        self.param("code")
    }

    pub fn state(&self) -> Option<String> {
        self.param("state")
    }
}

impl<'a> SignInScript<'a> {
    /// Allow, as the preselected user. `http` must not follow redirects: the answer is the
    /// redirect to the callback, and following it would leave the sandbox.
    pub fn new(http: &'a Client) -> Self {
        Self {
            http,
            user: SignInAs::default(),
            decision: Decision::default(),
        }
    }

    pub fn sign_in_as(mut self, user: SignInAs) -> Self {
        self.user = user;
        self
    }

    pub fn decision(mut self, decision: Decision) -> Self {
        self.decision = decision;
        self
    }

    /// Opens the authorize URL (which must show the sign-in page) and answers the page.
    pub async fn run(&self, authorize_url: impl IntoUrl) -> Result<SignInRedirect, SignInError> {
        let page = self.http.get(authorize_url).send().await?;
        self.answer(page).await
    }

    /// Answers a sign-in page already fetched (`page` must be a 200 with the page).
    pub async fn answer(&self, page: Response) -> Result<SignInRedirect, SignInError> {
        let page_url = page.url().clone();
        let status = page.status();
        let html = page.text().await?;
        if status != StatusCode::OK {
            return Err(SignInError::Page {
                status,
                body: excerpt(&html),
            });
        }
        let label = self.decision.label();
        let form = forms(&html)
            .into_iter()
            .find(|f| f.has_button(label))
            .ok_or(SignInError::NoButton(label))?;
        if !form.method.eq_ignore_ascii_case("post") {
            return Err(SignInError::Missing("form sent by POST"));
        }
        let action = page_url
            .join(&form.action)
            .map_err(|_| SignInError::Action(form.action.clone()))?;
        let fields = form.submission(&self.user, label)?;
        let answer = self.http.post(action).form(&fields).send().await?;
        let status = answer.status();
        if status != StatusCode::FOUND {
            let body = answer.text().await.unwrap_or_default();
            return Err(SignInError::Answer {
                status,
                body: excerpt(&body),
            });
        }
        let raw = answer
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let location = Url::parse(raw).map_err(|_| SignInError::Location(raw.to_string()))?;
        Ok(SignInRedirect { location })
    }
}

/// The start of a page's text (an HTML page's body without its tags), for error messages.
fn excerpt(page: &str) -> String {
    let body = page.find("<body").map_or(page, |at| &page[at..]);
    let text = decode_entities(&strip_tags(body));
    let words: Vec<&str> = text.split_whitespace().collect();
    words.join(" ").chars().take(600).collect()
}
