//! Fault injection: rules that make the next N matching requests fail on purpose.
//!
//! A rule matches on method and path template (`*` matches any of either) and is used up
//! after `times` matching requests; the oldest rule that still matches wins. Faults act
//! before authentication and rate limiting, like a failure in front of the real API, so a
//! faulted request uses no quota.
//!
//! JSON shape (`POST /__admin/faults`, one rule or a list):
//! `{"method": "POST", "path_template": "/v2/attributes", "times": 2,
//!   "action": {"type": "status", "status": 503, "retry_after": 5}}`, with `action` one of
//! `{"type": "status", "status": u16, "retry_after": secs|null}`, `{"type": "delay",
//! "millis": u64}`, `{"type": "drop_before_write"}`, `{"type": "drop_after_write"}`,
//! `{"type": "delay_after_write", "millis": u64}`, `{"type": "duplicate_after_write"}`,
//! `{"type": "hold_before_write"}`, `{"type": "hold_after_write"}`.
//!
//! The two holds park the request until the test lets it go (`holds.rs`): the way to act
//! while a client is provably mid-request, where a delay could only make it likely.

use serde::{Deserialize, Serialize};

/// One fault rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// HTTP method to match (`GET`, `POST`, ... or `*`), case-insensitive.
    pub method: String,
    /// Path template to match, e.g. `/v2/attributes/{id}`, or `*`.
    pub path_template: String,
    /// How many matching requests the rule applies to (default 1).
    #[serde(default = "one")]
    pub times: u32,
    /// What to do to them.
    pub action: FaultAction,
}

fn one() -> u32 {
    1
}

/// What a fault rule does to a matching request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultAction {
    /// Answer `status` with the error envelope, and `Retry-After: retry_after` if given.
    Status {
        /// The status to answer (e.g. 429, 500, 503).
        status: u16,
        /// Seconds for a `Retry-After` header; none when absent.
        #[serde(default)]
        retry_after: Option<u64>,
    },
    /// Wait this long (on the tokio clock), then handle the request normally.
    Delay {
        /// The delay in milliseconds.
        millis: u64,
    },
    /// Close the connection without answering and without handling the request.
    DropBeforeWrite,
    /// Handle the request (apply its write), then close the connection without answering.
    DropAfterWrite,
    /// Handle the request (apply its write), then wait this long before answering: a client
    /// killed or timing out in between never learns the write was applied.
    DelayAfterWrite {
        /// The delay in milliseconds.
        millis: u64,
    },
    /// Handle the request (apply its write), then answer 400 "already exists", as the API
    /// answers a create retried after its first attempt went through.
    DuplicateAfterWrite,
    /// Hold the request, unhandled, until it is let go
    /// ([`FakeOptimizely::release_held`](crate::FakeOptimizely::release_held) handles and
    /// answers it, [`FakeOptimizely::drop_held`](crate::FakeOptimizely::drop_held) closes the
    /// connection and applies nothing).
    HoldBeforeWrite,
    /// Handle the request (apply its write, log it as answered), then hold the answer until
    /// it is let go ([`FakeOptimizely::release_held`](crate::FakeOptimizely::release_held)
    /// answers, [`FakeOptimizely::drop_held`](crate::FakeOptimizely::drop_held) closes the
    /// connection: the client never learns the write was applied).
    HoldAfterWrite,
}

impl FaultRule {
    fn matches(&self, method: &str, template: &str) -> bool {
        (self.method == "*" || self.method.eq_ignore_ascii_case(method))
            && (self.path_template == "*" || self.path_template == template)
    }
}

/// The active rules.
#[derive(Clone, Debug, Default)]
pub(crate) struct Faults {
    rules: Vec<FaultRule>,
}

impl Faults {
    pub(crate) fn add(&mut self, rule: FaultRule) {
        if rule.times > 0 {
            self.rules.push(rule);
        }
    }

    pub(crate) fn clear(&mut self) {
        self.rules.clear();
    }

    pub(crate) fn list(&self) -> Vec<FaultRule> {
        self.rules.clone()
    }

    /// Takes one use of the first rule matching the request, if any.
    pub(crate) fn take(&mut self, method: &str, template: &str) -> Option<FaultAction> {
        let index = self
            .rules
            .iter()
            .position(|r| r.matches(method, template))?;
        let rule = &mut self.rules[index];
        let action = rule.action.clone();
        rule.times -= 1;
        if rule.times == 0 {
            self.rules.remove(index);
        }
        Some(action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_used_up_in_order() {
        let mut f = Faults::default();
        f.add(FaultRule {
            method: "post".into(),
            path_template: "/v2/attributes".into(),
            times: 2,
            action: FaultAction::DropBeforeWrite,
        });
        f.add(FaultRule {
            method: "*".into(),
            path_template: "*".into(),
            times: 1,
            action: FaultAction::Delay { millis: 5 },
        });
        assert_eq!(
            f.take("POST", "/v2/attributes"),
            Some(FaultAction::DropBeforeWrite)
        );
        assert_eq!(
            f.take("GET", "/v2/attributes"),
            Some(FaultAction::Delay { millis: 5 })
        );
        assert_eq!(
            f.take("POST", "/v2/attributes"),
            Some(FaultAction::DropBeforeWrite)
        );
        assert_eq!(f.take("POST", "/v2/attributes"), None);
    }

    #[test]
    fn json_shape() {
        let rule: FaultRule = serde_json::from_str(
            r#"{"method":"POST","path_template":"/v2/attributes","action":{"type":"status","status":503,"retry_after":7}}"#,
        )
        .unwrap();
        assert_eq!(rule.times, 1);
        assert_eq!(
            rule.action,
            FaultAction::Status {
                status: 503,
                retry_after: Some(7)
            }
        );
        let drop: FaultAction = serde_json::from_str(r#"{"type":"drop_after_write"}"#).unwrap();
        assert_eq!(drop, FaultAction::DropAfterWrite);
        let hold: FaultAction = serde_json::from_str(r#"{"type":"hold_after_write"}"#).unwrap();
        assert_eq!(hold, FaultAction::HoldAfterWrite);
    }
}
