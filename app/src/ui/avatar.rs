//! How a person is drawn: their picture or initials, and their presence as a coloured label.

use leptos::{either::Either, prelude::*};

/// Up to two initials of a name, for avatars without a picture.
pub fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .collect::<String>()
        .to_uppercase()
}

/// The CSS class of a presence label: `presence presence-on-queue` for "On Queue".
pub fn presence_class(presence: Option<&str>) -> String {
    format!(
        "presence presence-{}",
        presence
            .unwrap_or("unknown")
            .to_lowercase()
            .replace(' ', "-")
    )
}

/// A user's picture, or their initials when the API gives none.
#[component]
pub fn Avatar(
    name: String,
    image_url: Option<String>,
    #[prop(optional)] small: bool,
) -> impl IntoView {
    let class = if small {
        "avatar avatar-small"
    } else {
        "avatar"
    };
    match image_url {
        Some(url) => Either::Left(view! { <img class=class src=url alt="" loading="lazy"/> }),
        None => Either::Right(
            view! { <span class=format!("{class} avatar-initials") aria-hidden="true">{initials(&name)}</span> },
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_of_unicode_names() {
        assert_eq!(initials("Ana María López"), "AM");
        assert_eq!(initials("李 小龙"), "李小");
        assert_eq!(initials(""), "");
    }

    #[test]
    fn presence_classes_are_lowercase_and_hyphenated() {
        assert_eq!(
            presence_class(Some("On Queue")),
            "presence presence-on-queue"
        );
        assert_eq!(presence_class(None), "presence presence-unknown");
    }
}
