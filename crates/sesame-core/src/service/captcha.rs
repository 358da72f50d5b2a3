//! The anti-robot check on the login, forgot-password and activation forms: challenges
//! harder for a number or an address that keeps failing, each solution accepted once.

use super::{BrowserContext, Provider, ServiceError};
use crate::audit::AuditKind;
use crate::captcha::{self, CaptchaError, Challenge};
use crate::number::CohortNumber;

/// Wrong passwords on a number from which its challenges get harder.
const RAISE_AFTER: u64 = 3;

impl Provider {
    /// A challenge for a form about to be posted for `number` (as typed so far).
    pub async fn captcha_challenge(
        &self,
        number: &str,
        ctx: &BrowserContext,
    ) -> Result<Challenge, ServiceError> {
        let max = self.captcha_difficulty(number, ctx).await?;
        let expires = self.now() + self.policy.captcha.ttl;
        Ok(captcha::challenge(
            &self.captcha_key,
            self.deps.random.as_ref(),
            max,
            expires,
        ))
    }

    async fn captcha_difficulty(
        &self,
        number: &str,
        ctx: &BrowserContext,
    ) -> Result<u64, ServiceError> {
        let raised = match CohortNumber::parse(number) {
            Ok(number) => self.needs_harder_captcha(&number, ctx, RAISE_AFTER).await?,
            Err(_) => self.address_is_suspect(ctx).await?,
        };
        let policy = &self.policy.captcha;
        Ok(if raised {
            policy.raised_max_number
        } else {
            policy.max_number
        })
    }

    /// Checks the `altcha` field of a form posted for `number`: genuine, alive, solved
    /// at the difficulty now required, and never seen before.
    pub(crate) async fn captcha_passes(
        &self,
        field: &str,
        number: &str,
        ctx: &BrowserContext,
    ) -> Result<bool, ServiceError> {
        let required = self.captcha_difficulty(number, ctx).await?;
        let outcome = match captcha::verify(&self.captcha_key, field, required, self.now()) {
            Ok(challenge) => {
                let key = format!("captcha-used:{challenge}");
                let ttl = self.policy.captcha.ttl + chrono::Duration::minutes(1);
                if self.deps.state.put_new(&key, b"1".to_vec(), ttl).await? {
                    Ok(())
                } else {
                    Err(CaptchaError::Forged)
                }
            }
            Err(error) => Err(error),
        };
        if let Err(error) = outcome {
            let detail = serde_json::json!({ "reason": format!("{error:?}") });
            self.audit_from(ctx.ip, AuditKind::CaptchaRefused, None, None, detail)
                .await;
            return Ok(false);
        }
        Ok(true)
    }
}
