//! Reading an HTML form as a browser does, for the controls the sign-in page uses: the form's
//! method and action, its inputs and buttons, and the entry list sent when a button is pressed.

use super::{SignInAs, SignInError};

/// A `<form>` as a browser sees it: method, action and its controls in tree order.
#[derive(Debug)]
pub(super) struct Form {
    pub(super) method: String,
    pub(super) action: String,
    controls: Vec<Control>,
}

#[derive(Debug)]
struct Control {
    tag: Tag,
    attributes: Vec<(String, String)>,
    /// A button's text, which is what a person reads and clicks.
    label: String,
}

#[derive(Debug)]
enum Tag {
    Input,
    Button,
}

impl Control {
    fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn has(&self, name: &str) -> bool {
        self.attribute(name).is_some()
    }

    fn name(&self) -> &str {
        self.attribute("name").unwrap_or("")
    }

    fn value(&self) -> &str {
        self.attribute("value").unwrap_or("")
    }

    /// The `type`, lower-cased, with HTML's defaults (`text` for inputs, `submit` for buttons).
    fn kind(&self) -> String {
        let default = match self.tag {
            Tag::Input => "text",
            Tag::Button => "submit",
        };
        self.attribute("type")
            .unwrap_or(default)
            .to_ascii_lowercase()
    }

    fn is_submit_button(&self) -> bool {
        self.kind() == "submit"
    }

    /// What the button says: its text, or an input's `value`.
    fn caption(&self) -> &str {
        match self.tag {
            Tag::Button => &self.label,
            Tag::Input => self.value(),
        }
    }
}

impl Form {
    pub(super) fn has_button(&self, label: &str) -> bool {
        self.button(label).is_some()
    }

    fn button(&self, label: &str) -> Option<&Control> {
        self.controls
            .iter()
            .find(|c| c.is_submit_button() && c.caption().trim().eq_ignore_ascii_case(label))
    }

    /// The form data a browser sends when `label` is clicked with `user` chosen (HTML's
    /// "constructing the entry list", for the controls this page uses).
    pub(super) fn submission(
        &self,
        user: &SignInAs,
        label: &str,
    ) -> Result<Vec<(String, String)>, SignInError> {
        let pressed = self
            .button(label)
            .ok_or(SignInError::Missing("button to press"))?;
        let picked_group = match user {
            SignInAs::Offered(id) => Some(
                self.controls
                    .iter()
                    .find(|c| c.kind() == "radio" && c.value() == id)
                    .map(|c| c.name().to_string())
                    .ok_or_else(|| SignInError::NotOffered(id.clone()))?,
            ),
            _ => None,
        };
        let typed = match user {
            SignInAs::Typed(name) => {
                if !self
                    .controls
                    .iter()
                    .any(|c| c.attribute("autocomplete") == Some("username"))
                {
                    return Err(SignInError::Missing("username field"));
                }
                Some(name.as_str())
            }
            _ => None,
        };
        let mut fields = Vec::new();
        for control in &self.controls {
            let name = control.name();
            if name.is_empty() || control.has("disabled") {
                continue;
            }
            let value = match control.kind().as_str() {
                _ if control.is_submit_button() => {
                    if !std::ptr::eq(control, pressed) {
                        continue;
                    }
                    control.value()
                }
                "button" | "reset" | "image" | "file" => continue,
                "radio" | "checkbox" => {
                    let checked = match (&picked_group, user) {
                        (Some(group), SignInAs::Offered(id)) if group == name => {
                            control.value() == id
                        }
                        _ => control.has("checked"),
                    };
                    if !checked {
                        continue;
                    }
                    // A checkbox or radio without a value sends "on".
                    control.attribute("value").unwrap_or("on")
                }
                _ => match typed {
                    Some(text) if control.attribute("autocomplete") == Some("username") => text,
                    _ => control.value(),
                },
            };
            fields.push((name.to_string(), value.to_string()));
        }
        Ok(fields)
    }
}

/// Every `<form>` of a page with its `<input>` and `<button>` controls.
pub(super) fn forms(html: &str) -> Vec<Form> {
    let mut forms = Vec::new();
    let mut rest = html;
    while let Some(start) = find_tag(rest, "form") {
        let Some((attributes, inner)) = start_tag(&rest[start..]) else {
            break;
        };
        let end = inner.find("</form>").unwrap_or(inner.len());
        let body = &inner[..end];
        let get = |name: &str| {
            attributes
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        forms.push(Form {
            method: get("method").unwrap_or_else(|| "get".into()),
            action: get("action").unwrap_or_default(),
            controls: controls(body),
        });
        rest = &inner[end..];
    }
    forms
}

fn controls(body: &str) -> Vec<Control> {
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(offset) = body[at..].find('<') {
        let tag_start = at + offset;
        let rest = &body[tag_start..];
        let tag = if tag_name_is(rest, "input") {
            Some(Tag::Input)
        } else if tag_name_is(rest, "button") {
            Some(Tag::Button)
        } else {
            None
        };
        if let Some(tag) = tag {
            if let Some((attributes, after)) = start_tag(rest) {
                let label = match tag {
                    Tag::Button => {
                        let end = after.find("</button>").unwrap_or(after.len());
                        decode_entities(&strip_tags(&after[..end]))
                    }
                    Tag::Input => String::new(),
                };
                found.push(Control {
                    tag,
                    attributes,
                    label,
                });
            }
        }
        at = tag_start + 1;
    }
    found
}

/// Where the first `<name ...>` start tag of `html` begins.
fn find_tag(html: &str, name: &str) -> Option<usize> {
    let mut at = 0;
    while let Some(offset) = html[at..].find('<') {
        let start = at + offset;
        if tag_name_is(&html[start..], name) {
            return Some(start);
        }
        at = start + 1;
    }
    None
}

/// Whether `s` starts with the start tag `<name` (case-insensitive, a whole name).
fn tag_name_is(s: &str, name: &str) -> bool {
    let Some(after) = s.strip_prefix('<') else {
        return false;
    };
    after.len() > name.len()
        && after.is_char_boundary(name.len())
        && after[..name.len()].eq_ignore_ascii_case(name)
        && after[name.len()..]
            .starts_with(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')
}

/// The attributes of the start tag at the beginning of `s` (names lower-cased, values
/// decoded), and the text after the tag.
fn start_tag(s: &str) -> Option<(Vec<(String, String)>, &str)> {
    let s = s.strip_prefix('<')?;
    let mut rest = &s[s.find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')?..];
    let mut attributes = Vec::new();
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix("/>").or_else(|| rest.strip_prefix('>')) {
            return Some((attributes, after));
        }
        let name_len = rest
            .find(|c: char| c.is_ascii_whitespace() || matches!(c, '=' | '>' | '/'))
            .unwrap_or(rest.len());
        if name_len == 0 {
            // A stray '/' or '=': skip it, as a browser does.
            rest = rest.get(1..)?;
            continue;
        }
        let name = rest[..name_len].to_ascii_lowercase();
        rest = rest[name_len..].trim_start();
        let value = match rest.strip_prefix('=') {
            Some(after) => {
                let after = after.trim_start();
                let (raw, tail) = match after.chars().next()? {
                    quote @ ('"' | '\'') => {
                        let end = after[1..].find(quote)? + 1;
                        (&after[1..end], &after[end + 1..])
                    }
                    _ => {
                        let end = after
                            .find(|c: char| c.is_ascii_whitespace() || c == '>')
                            .unwrap_or(after.len());
                        after.split_at(end)
                    }
                };
                rest = tail;
                decode_entities(raw)
            }
            None => String::new(),
        };
        attributes.push((name, value));
    }
}

pub(super) fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// Decodes the character references the sandbox writes (named `amp lt gt quot apos`, and
/// numeric ones); anything else is left as it is.
pub(super) fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest.find(';').and_then(|semi| {
            let entity = &rest[1..semi];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => {
                    let number = entity.strip_prefix('#')?;
                    let code = match number.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => number.parse().ok()?,
                    };
                    char::from_u32(code)
                }
            }?;
            Some((c, semi + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "<p>x</p><FORM method=post action='authorize'>\
        <input type=\"hidden\" name=\"pending\" value=\"p&amp;1\">\
        <label><input type=\"radio\" name=\"user\" value=\"u1\" checked> One</label>\
        <label><input type=\"radio\" name=\"user\" value=\"u2\"> Two</label>\
        <input type=\"text\" name=\"username\" autocomplete=\"username\" placeholder=\"a@b\">\
        <button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\
        <button type=\"submit\" name=\"decision\" value=\"deny\"><b>Deny</b></button></form>";

    fn pairs(fields: &[(String, String)]) -> Vec<(&str, &str)> {
        fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn the_form_is_read_as_a_browser_reads_it() {
        let forms = forms(PAGE);
        assert_eq!(forms.len(), 1);
        let form = &forms[0];
        assert_eq!(
            (form.method.as_str(), form.action.as_str()),
            ("post", "authorize")
        );
        let sent = form.submission(&SignInAs::Preselected, "Allow").unwrap();
        assert_eq!(
            pairs(&sent),
            [
                ("pending", "p&1"),
                ("user", "u1"),
                ("username", ""),
                ("decision", "allow")
            ]
        );
        let sent = form
            .submission(&SignInAs::Offered("u2".into()), "deny")
            .unwrap();
        assert_eq!(
            pairs(&sent),
            [
                ("pending", "p&1"),
                ("user", "u2"),
                ("username", ""),
                ("decision", "deny")
            ]
        );
        let sent = form
            .submission(&SignInAs::Typed("x@y".into()), "Allow")
            .unwrap();
        assert_eq!(pairs(&sent)[2], ("username", "x@y"));
        assert!(matches!(
            form.submission(&SignInAs::Offered("u3".into()), "Allow"),
            Err(SignInError::NotOffered(_))
        ));
    }

    #[test]
    fn character_references_are_decoded() {
        assert_eq!(
            decode_entities("&lt;a&gt; &quot;b&#x27; &#39;c&amp;d &unknown; &"),
            "<a> \"b' 'c&d &unknown; &"
        );
    }
}
