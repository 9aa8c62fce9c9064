//! Just enough HTML reading for the simulated agents: a page's forms (method, action, hidden
//! and radio inputs, submit buttons), links, and `data-*` markers, as a browser without
//! JavaScript would use them.

/// One `<form>` and the controls the soak's pages use.
#[derive(Debug, Clone, Default)]
pub struct Form {
    pub method: String,
    pub action: String,
    /// `(name, value)` of every hidden or text input, in order.
    pub fields: Vec<(String, String)>,
    /// `(name, value)` of every radio button, in order.
    pub radios: Vec<(String, String)>,
    /// `(name, value, testid)` of every submit button.
    pub buttons: Vec<(String, String, String)>,
}

impl Form {
    /// The entry list a browser sends when the button named `name` with `value` is pressed
    /// and the radio group (if any) has its `pick`-th option chosen.
    pub fn submission(&self, button: Option<(&str, &str)>, pick: usize) -> Vec<(String, String)> {
        let mut entries = self.fields.clone();
        if let Some((name, _)) = self.radios.first() {
            let group: Vec<_> = self.radios.iter().filter(|(n, _)| n == name).collect();
            let (n, v) = group[pick % group.len()];
            entries.push((n.clone(), v.clone()));
        }
        if let Some((name, value)) = button {
            entries.push((name.to_string(), value.to_string()));
        }
        entries
    }

    pub fn has_button_value(&self, value: &str) -> bool {
        self.buttons.iter().any(|(_, v, _)| v == value)
    }
}

/// Every form of `html`.
pub fn forms(html: &str) -> Vec<Form> {
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find("<form") {
        let tail = &rest[at..];
        let Some(end_of_tag) = tail.find('>') else {
            break;
        };
        let attrs = attributes(&tail[..end_of_tag]);
        let body_end = tail.find("</form>").unwrap_or(tail.len());
        let body = &tail[end_of_tag..body_end];
        let mut form = Form {
            method: get(&attrs, "method").unwrap_or_else(|| "get".into()),
            action: get(&attrs, "action").unwrap_or_default(),
            ..Form::default()
        };
        for (tag, attrs) in tags(body) {
            let name = get(&attrs, "name").unwrap_or_default();
            let value = get(&attrs, "value").unwrap_or_default();
            let kind = get(&attrs, "type").unwrap_or_default().to_ascii_lowercase();
            match (tag.as_str(), kind.as_str()) {
                ("input", "radio") => form.radios.push((name, value)),
                ("input", "hidden") if !name.is_empty() => form.fields.push((name, value)),
                ("button", "submit" | "") => {
                    let testid = get(&attrs, "data-testid").unwrap_or_default();
                    form.buttons.push((name, value, testid));
                }
                _ => {}
            }
        }
        found.push(form);
        rest = &tail[body_end..];
    }
    found
}

/// The forms of `html` whose action is `action`, or starts with it when it ends in `*`.
pub fn form_to(html: &str, action: &str) -> Option<Form> {
    forms(html)
        .into_iter()
        .find(|f| match action.strip_suffix('*') {
            Some(prefix) => f.action.starts_with(prefix),
            None => f.action == action,
        })
}

/// Every `href` of `html` that starts with `prefix`.
pub fn links(html: &str, prefix: &str) -> Vec<String> {
    tags(html)
        .into_iter()
        .filter(|(t, _)| t == "a")
        .filter_map(|(_, attrs)| get(&attrs, "href"))
        .filter(|h| h.starts_with(prefix))
        .collect()
}

/// The value of `attribute` on the first element with `data-testid="testid"`.
pub fn testid_attribute(html: &str, testid: &str, attribute: &str) -> Option<String> {
    tags(html)
        .into_iter()
        .find(|(_, attrs)| get(attrs, "data-testid").as_deref() == Some(testid))
        .and_then(|(_, attrs)| get(&attrs, attribute))
}

pub fn has_testid(html: &str, testid: &str) -> bool {
    html.contains(&format!("data-testid=\"{testid}\""))
}

type Attributes = Vec<(String, Option<String>)>;

fn get(attrs: &Attributes, name: &str) -> Option<String> {
    attrs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone().unwrap_or_default())
}

/// Every start tag of `html` with its name (lower case) and attributes.
fn tags(html: &str) -> Vec<(String, Attributes)> {
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        let tail = &rest[at + 1..];
        let name: String = tail
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        let end = tail.find('>').unwrap_or(tail.len());
        if !name.is_empty() {
            found.push((name, attributes(&tail[..end])));
        }
        rest = &tail[end.min(tail.len())..];
    }
    found
}

/// The attributes of a start tag's text (from its name to before `>`).
fn attributes(tag: &str) -> Attributes {
    let mut attrs = Vec::new();
    let mut chars = tag
        .trim_start_matches('<')
        .trim_start_matches(|c: char| c.is_ascii_alphanumeric())
        .chars()
        .peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace() || *c == '/').is_some() {}
        let name: String = std::iter::from_fn(|| {
            chars.next_if(|c| !c.is_whitespace() && *c != '=' && *c != '>' && *c != '/')
        })
        .collect();
        if name.is_empty() {
            break;
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let value = if chars.next_if_eq(&'=').is_some() {
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
            let raw: String = match chars.next_if(|c| *c == '"' || *c == '\'') {
                Some(quote) => {
                    let v = std::iter::from_fn(|| chars.next_if(|c| *c != quote)).collect();
                    chars.next();
                    v
                }
                None => std::iter::from_fn(|| chars.next_if(|c| !c.is_whitespace())).collect(),
            };
            Some(decode(&raw))
        } else {
            None
        };
        attrs.push((name.to_ascii_lowercase(), value));
    }
    attrs
}

/// The character references the portal and sandbox write into attribute values.
fn decode(raw: &str) -> String {
    raw.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGN_IN: &str = r#"<form method="post" action="authorize">
        <input type="hidden" name="pending" value="p&amp;1">
        <label><input type="radio" name="user" value="u1" checked> One</label>
        <label><input type="radio" name="user" value="u2"> Two</label>
        <input type="text" name="username" autocomplete="username">
        <button type="submit" name="decision" value="allow">Allow</button>
        <button type="submit" name="decision" value="deny">Deny</button></form>"#;

    #[test]
    fn a_sign_in_form_is_answered_as_a_browser_would() {
        let form = form_to(SIGN_IN, "authorize").unwrap();
        assert_eq!(form.method, "post");
        assert!(form.has_button_value("allow"));
        let entries = form.submission(Some(("decision", "allow")), 3);
        assert_eq!(
            entries,
            [("pending", "p&1"), ("user", "u2"), ("decision", "allow")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
        );
    }

    #[test]
    fn links_and_markers_are_found_with_their_attributes() {
        let html = r#"<a href="/users/1" data-testid="user-name">A</a><a href='/x'>x</a>
            <p data-testid="export-status" data-state="done">"#;
        assert_eq!(links(html, "/users/"), ["/users/1"]);
        assert_eq!(
            testid_attribute(html, "export-status", "data-state").as_deref(),
            Some("done")
        );
        assert!(has_testid(html, "user-name"));
        assert!(form_to(html, "/api/start_export*").is_none());
    }
}
