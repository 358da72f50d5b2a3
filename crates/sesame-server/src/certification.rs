//! `sesame certification suite-config`: the JSON configuration the OpenID Foundation's
//! conformance suite takes for the Basic, Config, Form Post, RP-Initiated and Back-Channel
//! plans against a deployed Sesame, from the `[certification]` profile (its client and test
//! participant) and two more clients of the file (`client2`, and a `client_secret_post`
//! client). The suite's browser logs in on Sesame's pages with the participant's number
//! and password; the profile turns the anti-robot check and the code off for that pair.

use std::path::Path;

use anyhow::{Context, anyhow};
use serde_json::{Value, json};

use crate::config::{self, RawConfig};

/// Prints the suite's configuration; the secrets come from the file (or their `_file`).
pub fn print(
    file: Option<&Path>,
    client2: &str,
    post_client: &str,
    password_file: Option<&Path>,
) -> anyhow::Result<()> {
    let raw = config::read_raw(file, RawConfig::default()).map_err(|e| anyhow!("{e}"))?;
    let validated = config::validate(raw.clone()).map_err(|e| anyhow!("{e}"))?;
    let profile = validated.policy.conformance.as_ref().context(
        "certification: insecure_no_captcha_no_code_for_conformance_suite is off in this file",
    )?;
    let password = match password_file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("--password-file {}", path.display()))?
            .trim_end_matches(['\r', '\n'])
            .to_owned(),
        None => "<the test participant's password>".to_owned(),
    };
    let issuer = validated.issuer.as_str().trim_end_matches('/');
    let participant = profile.number.as_str();
    let value = suite_config(
        &raw,
        issuer,
        &profile.client_id,
        client2,
        post_client,
        participant,
        &password,
    )?;
    println!("{}", serde_json::to_string_pretty(&value)?);
    Ok(())
}

fn secret_of(raw: &RawConfig, id: &str) -> anyhow::Result<String> {
    let client = raw
        .clients
        .iter()
        .find(|c| c.id == id)
        .with_context(|| format!("no client {id} in the file"))?;
    match (&client.secret, &client.secret_file) {
        (Some(secret), _) => Ok(secret.clone()),
        (None, Some(path)) => Ok(std::fs::read_to_string(path)
            .with_context(|| format!("clients[{id}].secret_file"))?
            .trim_end_matches(['\r', '\n'])
            .to_owned()),
        (None, None) => Err(anyhow!(
            "client {id} has no secret: the suite needs confidential clients"
        )),
    }
}

/// The configuration as a value (separate for tests).
pub fn suite_config(
    raw: &RawConfig,
    issuer: &str,
    client: &str,
    client2: &str,
    post_client: &str,
    participant: &str,
    password: &str,
) -> anyhow::Result<Value> {
    let entry = |id: &str| -> anyhow::Result<Value> {
        Ok(json!({ "client_id": id, "client_secret": secret_of(raw, id)? }))
    };
    Ok(json!({
        "alias": "sesame",
        "description": format!("Sesame at {issuer}"),
        "server": { "discoveryUrl": format!("{issuer}/.well-known/openid-configuration") },
        "client": entry(client)?,
        "client2": entry(client2)?,
        "client_secret_post": entry(post_client)?,
        "browser": [{
            "match": format!("{issuer}/authorize*"),
            "tasks": [
                {
                    "task": "Log in on Sesame's page",
                    "match": format!("{issuer}/login*"),
                    "optional": true,
                    "commands": [
                        ["text", "id", "number", participant],
                        ["text", "id", "password", password],
                        ["click", "css", "main form button[type=submit]"]
                    ]
                },
                {
                    "task": "Back at the suite",
                    "match": "*/test/*/callback*",
                    "commands": [["wait", "id", "submission_complete", 10]]
                }
            ]
        }, {
            "match": format!("{issuer}/end_session*"),
            "tasks": [{
                "task": "Confirm the logout",
                "match": format!("{issuer}/end_session*"),
                "optional": true,
                "commands": [["click", "css", "button[autofocus]"]]
            }]
        }]
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::raw::ClientSection;

    #[test]
    fn the_configuration_names_the_clients_the_participant_and_the_endpoints() {
        let raw = RawConfig {
            clients: ["conformance", "conformance2", "conformance-post"]
                .iter()
                .map(|id| ClientSection::new(id, Some(&format!("{id}-secret")), vec![]))
                .collect(),
            ..RawConfig::default()
        };
        let value = suite_config(
            &raw,
            "https://id.example",
            "conformance",
            "conformance2",
            "conformance-post",
            "99999999",
            "pw",
        );
        let Ok(value) = value else {
            unreachable!("{value:?}")
        };
        assert_eq!(
            value["server"]["discoveryUrl"],
            "https://id.example/.well-known/openid-configuration"
        );
        assert_eq!(value["client2"]["client_secret"], "conformance2-secret");
        assert_eq!(value["client_secret_post"]["client_id"], "conformance-post");
        let commands = &value["browser"][0]["tasks"][0]["commands"];
        assert_eq!(commands[0], json!(["text", "id", "number", "99999999"]));
        assert!(suite_config(&raw, "https://id.example", "x", "y", "z", "1", "p").is_err());
    }
}
