//! One test per module of each plan, against Sesame and against the calibration peer
//! (`node-oidc-provider`, `peer/`): `basic::oidcc_server::sesame`,
//! `basic::oidcc_server::peer`, … A module on the skip list passes with its reason printed.

use sesame_conformance::TargetKind;
use sesame_conformance::modules::{Plan, run};

async fn check(kind: TargetKind, plan: Plan, module: &str) {
    let failure = run(kind, plan, module)
        .await
        .err()
        .map(|e| format!("{e:#}"));
    assert_eq!(failure, None, "{module} against {kind:?}");
}

macro_rules! plan {
    ($name:ident, $plan:expr, [$($module:ident),* $(,)?]) => {
        mod $name {
            use super::*;
            $(
                mod $module {
                    use super::*;
                    #[tokio::test]
                    async fn sesame() {
                        check(TargetKind::Sesame, $plan, stringify!($module)).await;
                    }
                    #[tokio::test]
                    async fn peer() {
                        check(TargetKind::Peer, $plan, stringify!($module)).await;
                    }
                }
            )*
        }
    };
}

macro_rules! basic_modules {
    ($name:ident, $plan:expr) => {
        plan!(
            $name,
            $plan,
            [
                oidcc_server,
                oidcc_response_type_missing,
                oidcc_idtoken_signature,
                oidcc_idtoken_unsigned,
                oidcc_userinfo_get,
                oidcc_userinfo_post_header,
                oidcc_userinfo_post_body,
                oidcc_ensure_request_without_nonce_succeeds_for_code_flow,
                oidcc_scope_profile,
                oidcc_scope_email,
                oidcc_scope_address,
                oidcc_scope_phone,
                oidcc_scope_all,
                oidcc_alternate_happy_flow,
                oidcc_display_page,
                oidcc_display_popup,
                oidcc_prompt_login,
                oidcc_prompt_none_not_logged_in,
                oidcc_prompt_none_logged_in,
                oidcc_max_age_1,
                oidcc_max_age_10000,
                oidcc_ensure_request_with_unknown_parameter_succeeds,
                oidcc_id_token_hint,
                oidcc_login_hint,
                oidcc_ui_locales,
                oidcc_claims_locales,
                oidcc_ensure_request_with_acr_values_succeeds,
                oidcc_codereuse,
                oidcc_codereuse_30seconds,
                oidcc_ensure_registered_redirect_uri,
                oidcc_ensure_post_request_succeeds,
                oidcc_server_client_secret_post,
                oidcc_request_uri_unsigned_supported_correctly_or_rejected_as_unsupported,
                oidcc_unsigned_request_object_supported_correctly_or_rejected_as_unsupported,
                oidcc_claims_essential,
                oidcc_ensure_request_object_with_redirect_uri,
                oidcc_refresh_token,
                oidcc_ensure_request_with_valid_pkce_succeeds,
            ]
        );
    };
}

// oidcc-basic-certification-test-plan
basic_modules!(basic, Plan::Basic);

// oidcc-formpost-basic-certification-test-plan: the same modules, response_mode=form_post.
basic_modules!(form_post, Plan::FormPost);

// oidcc-config-certification-test-plan
plan!(
    config,
    Plan::Config,
    [oidcc_discovery_endpoint_verification]
);

// oidcc-rp-initiated-logout-certification-test-plan
plan!(
    rp_initiated_logout,
    Plan::RpInitiatedLogout,
    [
        oidcc_rp_initiated_logout_discovery_endpoint_verification,
        oidcc_rp_initiated_logout,
        oidcc_rp_initiated_logout_bad_post_logout_redirect_uri,
        oidcc_rp_initiated_logout_query_added_to_post_logout_redirect_uri,
        oidcc_rp_initiated_logout_modified_id_token_hint,
        oidcc_rp_initiated_logout_bad_id_token_hint,
        oidcc_rp_initiated_logout_no_id_token_hint,
        oidcc_rp_initiated_logout_no_params,
        oidcc_rp_initiated_logout_no_post_logout_redirect_uri,
        oidcc_rp_initiated_logout_no_state,
        oidcc_rp_initiated_logout_only_state,
    ]
);

// oidcc-backchannel-rp-initiated-logout-certification-test-plan
plan!(
    backchannel_logout,
    Plan::BackChannelLogout,
    [
        oidcc_backchannel_logout_discovery_endpoint_verification,
        oidcc_backchannel_rp_initiated_logout,
    ]
);
