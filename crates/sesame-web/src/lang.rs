//! The page language: the participant's own choice (remembered in a cookie), then
//! `ui_locales`, then `Accept-Language`, then French (DESIGN §3).

use crate::theme::LANGUAGES;

/// Picks the language for a page.
pub fn negotiate(
    chosen: Option<&str>,
    ui_locales: &[String],
    accept_language: Option<&str>,
) -> &'static str {
    let candidates = chosen
        .into_iter()
        .map(str::to_owned)
        .chain(ui_locales.iter().cloned())
        .chain(accept_language.map(parse_accept).unwrap_or_default());
    for candidate in candidates {
        if let Some(lang) = supported(&candidate) {
            return lang;
        }
    }
    "fr"
}

/// The supported language matching a tag (`en-GB` → `en`).
pub fn supported(tag: &str) -> Option<&'static str> {
    let primary = tag
        .split(['-', '_'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    LANGUAGES
        .iter()
        .map(|(code, _)| *code)
        .find(|code| *code == primary)
}

/// Tags of an `Accept-Language` header by decreasing weight.
fn parse_accept(header: &str) -> Vec<String> {
    let mut tags: Vec<(String, f32)> = header
        .split(',')
        .filter_map(|part| {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next()?.trim().to_owned();
            let weight = pieces
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            (!tag.is_empty() && weight > 0.0).then_some((tag, weight))
        })
        .collect();
    tags.sort_by(|a, b| b.1.total_cmp(&a.1));
    tags.into_iter().map(|(t, _)| t).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choice_then_ui_locales_then_header_then_french() {
        let ui = vec!["en".to_owned()];
        assert_eq!(negotiate(Some("fr"), &ui, Some("en")), "fr");
        assert_eq!(negotiate(None, &ui, Some("fr")), "en");
        assert_eq!(
            negotiate(None, &[], Some("de, en-GB;q=0.8, fr;q=0.5")),
            "en"
        );
        assert_eq!(negotiate(None, &[], Some("de")), "fr");
        assert_eq!(negotiate(Some("xx"), &[], None), "fr");
    }
}
