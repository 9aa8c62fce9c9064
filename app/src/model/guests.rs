//! Web Messaging guests as the staff pages and the guest's own page show them: who they are,
//! whether they may sign in, what happened to them, and a fresh invitation link.

use serde::{Deserialize, Serialize};

/// One guest of the identity provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestView {
    /// The guest's stable subject (`sub`) at the provider.
    pub id: String,
    pub given_name: String,
    pub family_name: String,
    pub email: String,
    pub attributes: Vec<(String, String)>,
    pub disabled: bool,
    pub created_unix: i64,
    pub last_sign_in_unix: Option<i64>,
}

impl GuestView {
    pub fn name(&self) -> String {
        format!("{} {}", self.given_name, self.family_name)
    }
}

/// One page of guests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestList {
    pub guests: Vec<GuestView>,
    pub total: u64,
    pub page: u32,
    pub page_count: u32,
}

/// One line of a guest's audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestEvent {
    pub at_unix: i64,
    pub actor: String,
    pub action: String,
    pub detail: Option<String>,
    /// The portal replica that recorded it.
    pub replica: Option<String>,
}

/// A guest with their audit trail, and the invitation link made for them just now (shown
/// once, to the staff member who made it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestDetail {
    pub guest: GuestView,
    pub events: Vec<GuestEvent>,
    pub new_invitation: Option<InvitationLink>,
}

/// A one-time sign-in link for a guest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationLink {
    pub url: String,
    pub expires_unix: i64,
}

/// The custom attributes a form sends as `key=value` lines, or what is wrong with them.
pub fn parse_attributes(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!(
                "Attribute line {} has no `=`: write key=value.",
                n + 1
            ));
        };
        let (key, value) = (key.trim(), value.trim());
        if out.iter().any(|(k, _)| k == key) {
            return Err(format!("Attribute `{key}` is given twice."));
        }
        out.push((key.to_string(), value.to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::parse_attributes;

    #[test]
    fn attributes_are_key_value_lines() {
        assert_eq!(
            parse_attributes("tier = gold\n\naccount=42=x\n").unwrap(),
            vec![
                ("tier".into(), "gold".into()),
                ("account".into(), "42=x".into())
            ]
        );
        assert!(parse_attributes("tier").unwrap_err().contains("line 1"));
        assert!(parse_attributes("a=1\na=2").unwrap_err().contains("twice"));
    }
}
