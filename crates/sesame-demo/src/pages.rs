//! The demo site's HTML pages, in French. Every value that did not come from this file goes
//! through [`escape`].

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

use crate::identity::Identity;

/// The questionnaires every participant of the demo has "in progress".
const QUESTIONNAIRES: [(&str, &str); 2] = [
    (
        "Questionnaire annuel de suivi",
        "À remplir — environ 20 minutes",
    ),
    ("Habitudes de vie et alimentation", "Commencé — 40 % rempli"),
];

/// An HTML answer with `status`.
pub fn html(status: StatusCode, page: String) -> Response {
    let content_type = [(header::CONTENT_TYPE, "text/html; charset=utf-8")];
    (status, content_type, page).into_response()
}

/// The body of the welcome page.
const WELCOME: &str = "<h1>Constances — Mon espace questionnaires</h1>\n\
     <p>Connectez-vous avec votre numéro de participant pour retrouver les questionnaires \
     qui vous attendent.</p>\n\
     <p><a class=\"button\" href=\"/login\">Se connecter</a></p>\n";

/// The page of a visitor who is not logged in.
pub fn welcome() -> String {
    layout("Mon espace questionnaires", WELCOME)
}

/// The welcome page, back from the provider's logout: it says the session ended there too.
pub fn logged_out() -> String {
    let main = format!(
        "<p class=\"notice\">Déconnexion réussie : votre session est fermée sur ce site \
         comme sur le service de connexion.</p>\n{WELCOME}"
    );
    layout("Mon espace questionnaires", &main)
}

/// The page of a logged-in participant: their questionnaires and what the provider said
/// about them.
pub fn dashboard(identity: &Identity) -> String {
    let main = format!(
        "<h1>Vos questionnaires en cours</h1>\n{}{}\
         <h2>Votre identité transmise par Sesame</h2>\n{}\
         <form method=\"post\" action=\"/logout\">\
         <button type=\"submit\" class=\"button secondary\">Se déconnecter</button></form>\n",
        greeting(identity.given_name.as_deref()),
        questionnaire_list(),
        identity_table(identity),
    );
    layout("Vos questionnaires", &main)
}

/// An error page: what happened, an optional detail, and the ways out.
pub fn error(title: &str, message: &str, detail: Option<&str>) -> String {
    let detail = detail
        .map(|text| format!("<p class=\"detail\">{}</p>\n", escape(text)))
        .unwrap_or_default();
    let main = format!(
        "<h1>{}</h1>\n<p class=\"error\">{}</p>\n{detail}\
         <p><a class=\"button\" href=\"/login\">Réessayer la connexion</a> \
         <a href=\"/\">Retour à l'accueil</a></p>\n",
        escape(title),
        escape(message),
    );
    layout(title, &main)
}

/// Escapes text for an HTML element or a quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn layout(title: &str, main: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} — Constances</title>\n\
         <link rel=\"stylesheet\" href=\"/static/demo.css\">\n</head>\n<body>\n\
         <header class=\"site\"><p class=\"brand\">Constances</p>\
         <p class=\"tag\">Site de démonstration</p></header>\n\
         <main>\n{main}</main>\n\
         <footer><p>Application de démonstration de Sesame : aucune donnée réelle.</p></footer>\n\
         </body>\n</html>\n",
        escape(title),
    )
}

fn greeting(given_name: Option<&str>) -> String {
    let hello = match given_name {
        Some(name) => format!("Bonjour {},", escape(name)),
        None => "Bonjour,".to_owned(),
    };
    format!("<p>{hello} voici les questionnaires qui vous attendent.</p>\n")
}

fn questionnaire_list() -> String {
    let item = |(name, status): &(&str, &str)| {
        format!(
            "<li><span class=\"name\">{name}</span> \
             <span class=\"status\">{status}</span></li>\n"
        )
    };
    let items: String = QUESTIONNAIRES.iter().map(item).collect();
    format!("<ul class=\"questionnaires\">\n{items}</ul>\n")
}

fn identity_table(identity: &Identity) -> String {
    let amr = (!identity.amr.is_empty()).then(|| identity.amr.join(", "));
    let auth_time = identity.auth_time.map(format_auth_time);
    let mut rows = vec![
        row("sub", Some(&identity.sub)),
        row("given_name", identity.given_name.as_deref()),
        row("family_name", identity.family_name.as_deref()),
        row("email", identity.email.as_deref()),
    ];
    if let Some(number) = &identity.cohort_number {
        rows.push(row("cohort_number", Some(number)));
    }
    rows.push(row("acr", identity.acr.as_deref()));
    rows.push(row("amr", amr.as_deref()));
    rows.push(row("auth_time", auth_time.as_deref()));
    format!(
        "<table class=\"identity\">\n<tbody>\n{}</tbody>\n</table>\n",
        rows.concat()
    )
}

fn row(claim: &str, value: Option<&str>) -> String {
    let value = match value {
        Some(text) => format!("<code>{}</code>", escape(text)),
        None => "<em>non transmis</em>".to_owned(),
    };
    format!(
        "<tr><th scope=\"row\">{}</th><td>{value}</td></tr>\n",
        escape(claim)
    )
}

fn format_auth_time(time: DateTime<Utc>) -> String {
    time.format("%d/%m/%Y à %H:%M:%S (UTC)").to_string()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    fn hostile() -> Identity {
        Identity {
            sub: "<script>alert(1)</script>".to_owned(),
            given_name: Some("Zoé \"Z\"".to_owned()),
            family_name: Some("O'Brien & fils".to_owned()),
            email: Some("<img src=x>@exemple.fr".to_owned()),
            cohort_number: Some("<b>12345678</b>".to_owned()),
            acr: Some("<i>mfa</i>".to_owned()),
            amr: vec!["pwd".to_owned(), "<otp>".to_owned()],
            auth_time: Utc.with_ymd_and_hms(2025, 3, 14, 9, 26, 53).single(),
        }
    }

    #[test]
    fn escape_replaces_markup_characters() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("Zoé"), "Zoé");
    }

    #[test]
    fn welcome_offers_to_log_in() {
        let page = welcome();
        assert!(page.contains("<html lang=\"fr\">"));
        assert!(page.contains("Constances — Mon espace questionnaires"));
        assert!(page.contains("href=\"/login\">Se connecter</a>"));
        assert!(!page.contains("<script"));
    }

    #[test]
    fn logged_out_says_so_and_offers_to_log_in_again() {
        let page = logged_out();
        assert!(page.contains("<p class=\"notice\">Déconnexion réussie"));
        assert!(page.contains("href=\"/login\">Se connecter</a>"));
        assert!(!welcome().contains("notice"));
    }

    #[test]
    fn dashboard_escapes_every_claim() {
        let page = dashboard(&hostile());
        assert!(page.contains("Vos questionnaires en cours"));
        for raw in [
            "<script>", "<img", "<b>", "<i>", "<otp>", "O'Brien", "\"Z\"",
        ] {
            assert!(!page.contains(raw), "{raw} was not escaped");
        }
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("O&#39;Brien &amp; fils"));
        assert!(page.contains("Bonjour Zoé &quot;Z&quot;,"));
        assert!(page.contains("pwd, &lt;otp&gt;"));
    }

    #[test]
    fn dashboard_shows_auth_time_as_a_date() {
        let page = dashboard(&hostile());
        assert!(page.contains("14/03/2025 à 09:26:53 (UTC)"));
    }

    #[test]
    fn dashboard_lists_two_questionnaires_and_a_logout_button() {
        let page = dashboard(&Identity::with_subject("abc"));
        assert_eq!(page.matches("<li>").count(), 2);
        assert!(page.contains("<form method=\"post\" action=\"/logout\">"));
        assert!(page.contains("Se déconnecter"));
    }

    #[test]
    fn absent_claims_are_marked_and_cohort_number_is_omitted() {
        let page = dashboard(&Identity::with_subject("abc"));
        assert!(page.contains("<code>abc</code>"));
        assert!(page.contains("<em>non transmis</em>"));
        assert!(!page.contains("cohort_number"));
    }

    #[test]
    fn error_page_escapes_its_detail() {
        let page = error("Oups", "Message", Some("<script>x</script>"));
        assert!(page.contains("&lt;script&gt;x&lt;/script&gt;"));
        assert!(!page.contains("<script>"));
    }
}
