//! The Client App (embedded) mode as the pages see it: what the Genesys Cloud host told the
//! portal through URL interpolation (checked), and the interaction widget's view of one
//! conversation.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What the host's interpolated URL said, after every value was checked: the host origin is
/// on the allow-list, the target environment is this portal's, the language tag is
/// well-formed and the conversation id is a UUID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostContext {
    /// The Genesys apps host framing the portal, e.g. `https://apps.mypurecloud.ie`.
    pub host_origin: String,
    /// A BCP 47 language tag (`en-US`, `de`, `pt-BR`): the page's `lang` and how dates read.
    pub lang: String,
    /// `Some(true)`: the host uses its dark theme; `None`: the system's preference decides.
    pub dark: Option<bool>,
    /// The conversation an interaction widget is shown next to.
    pub conversation_id: Option<String>,
}

impl HostContext {
    /// The `data-theme` of the page: `dark`, `light`, or none.
    pub fn theme(&self) -> Option<&'static str> {
        self.dark.map(|d| if d { "dark" } else { "light" })
    }

    /// Where a framed, signed-in agent goes: the interaction widget when a conversation was
    /// named, else the dashboard.
    pub fn landing(&self) -> String {
        match &self.conversation_id {
            Some(id) => format!("/embed/conversation/{id}"),
            None => "/dashboard".to_string(),
        }
    }
}

/// What the frame needs before its agent signs in: the pending frame's id (in the popup's URL)
/// and its secret (kept in this page only; the exchange must present it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FrameStart {
    pub frame_id: String,
    pub frame_secret: String,
}

/// The interaction widget: the conversation's customer, and when the customer is a verified
/// guest of this portal's identity provider, who they are according to the provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationView {
    pub conversation_id: String,
    /// ISO-8601, as Genesys wrote it.
    pub started: Option<String>,
    /// The name Genesys shows for the customer.
    pub customer_name: Option<String>,
    /// Whether the customer's messaging session is connected.
    pub connected: bool,
    pub guest: GuestIdentity,
    /// The participant data Genesys holds for the customer (custom attributes), which the
    /// guest's browser may have set: shown apart from the verified identity.
    pub participant_data: BTreeMap<String, String>,
}

/// Who the customer is, as far as the portal can vouch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum GuestIdentity {
    /// No verified identity: an anonymous Web Messaging guest (or not a messaging customer).
    Anonymous,
    /// Genesys verified a subject this portal's provider does not know.
    Unknown { sub: String },
    /// A guest of this portal's provider, from the provider's own record.
    Verified {
        sub: String,
        name: String,
        email: String,
        attributes: BTreeMap<String, String>,
        disabled: bool,
    },
}
