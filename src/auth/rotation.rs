//! Refresh-token rotation with reuse detection, decided from one family's stored state.
//!
//! A login starts a family (a session row). Using its current refresh token rotates it: a new one
//! is minted and the old one becomes the family's *parent*. Because the decision and its write
//! happen in one database transaction ([`crate::store::Store::update_family`]), two concurrent
//! refreshes can never both rotate: the second sees the parent and, within the grace window,
//! gets the same successor back. Any other old token coming back is a copy: the family ends.

use crate::store::{FamilyUpdate, Session, reason};

/// What the refresh settings say.
#[derive(Debug, Clone, Copy)]
pub struct RotationPolicy {
    /// Seconds after a rotation during which the parent still gets the successor.
    pub grace_secs: i64,
    /// A family not used for this long has ended.
    pub idle_secs: i64,
}

/// The outcome of presenting a refresh token to its family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It was the current token; a successor replaced it.
    Rotated,
    /// It was the current token and stays current (rotation is off for this caller).
    Used,
    /// It was the parent, inside the grace window: the current successor is handed out again.
    Replayed,
    /// An old token came back: the family is revoked.
    Reused,
    /// The family had already ended (revoked, expired, idle) or is not this user's.
    Ended,
}

/// Decides what presenting refresh token `jti` of `user_id` does to `family`, and the write
/// that goes with it. `successor` is the `jti` a rotation would mint.
pub fn decide(
    family: &Session,
    jti: &str,
    user_id: i64,
    now: i64,
    policy: RotationPolicy,
    rotate: bool,
    successor: String,
) -> (Outcome, FamilyUpdate) {
    if family.user_id != user_id || !family.is_active(now, policy.idle_secs) {
        return (Outcome::Ended, FamilyUpdate::Keep);
    }
    // A session from before rotation existed has no recorded token: the one it shows is current.
    let current = family.refresh_jti.as_deref().unwrap_or(jti);
    if jti == current {
        return if rotate {
            (
                Outcome::Rotated,
                FamilyUpdate::Rotate {
                    previous: current.to_owned(),
                    jti: successor,
                },
            )
        } else {
            (Outcome::Used, FamilyUpdate::Touch)
        };
    }
    let in_grace = now.saturating_sub(family.refresh_issued_at) < policy.grace_secs;
    if family.previous_jti.as_deref() == Some(jti) && in_grace {
        return (Outcome::Replayed, FamilyUpdate::Keep);
    }
    (
        Outcome::Reused,
        FamilyUpdate::Revoke {
            reason: reason::REUSE,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RotationPolicy = RotationPolicy {
        grace_secs: 10,
        idle_secs: 1000,
    };

    fn family() -> Session {
        Session {
            id: "s".into(),
            user_id: 1,
            created_at: 100,
            expires_at: 10_000,
            last_used_at: 500,
            revoked_at: None,
            revoked_reason: None,
            user_agent: None,
            address: None,
            refresh_jti: Some("child".into()),
            refresh_issued_at: 500,
            previous_jti: Some("parent".into()),
            auth_time: 100,
        }
    }

    fn outcome(family: &Session, jti: &str, now: i64, rotate: bool) -> Outcome {
        decide(family, jti, 1, now, POLICY, rotate, "next".into()).0
    }

    #[test]
    fn the_live_token_rotates_or_is_used() {
        let (outcome, update) = decide(&family(), "child", 1, 501, POLICY, true, "next".into());
        assert_eq!(outcome, Outcome::Rotated);
        assert_eq!(
            update,
            FamilyUpdate::Rotate {
                previous: "child".into(),
                jti: "next".into()
            }
        );
        assert_eq!(
            decide(&family(), "child", 1, 501, POLICY, false, "next".into()),
            (Outcome::Used, FamilyUpdate::Touch)
        );
    }

    #[test]
    fn the_parent_is_replayed_only_inside_the_window() {
        assert_eq!(outcome(&family(), "parent", 509, true), Outcome::Replayed);
        assert_eq!(outcome(&family(), "parent", 510, true), Outcome::Reused);
        assert_eq!(
            outcome(&family(), "grandparent", 501, true),
            Outcome::Reused
        );
        let no_grace = RotationPolicy {
            grace_secs: 0,
            ..POLICY
        };
        let (outcome, _) = decide(&family(), "parent", 1, 500, no_grace, true, "n".into());
        assert_eq!(outcome, Outcome::Reused);
    }

    #[test]
    fn an_ended_family_changes_nothing() {
        let revoked = Session {
            revoked_at: Some(600),
            ..family()
        };
        assert_eq!(outcome(&revoked, "child", 601, true), Outcome::Ended);
        assert_eq!(
            outcome(&family(), "child", 1500, true),
            Outcome::Ended,
            "idle"
        );
        assert_eq!(
            outcome(&family(), "child", 10_000, true),
            Outcome::Ended,
            "expired"
        );
        let (outcome, _) = decide(&family(), "child", 2, 501, POLICY, true, "n".into());
        assert_eq!(outcome, Outcome::Ended, "another user's family");
    }

    #[test]
    fn a_session_from_before_rotation_adopts_the_token_it_is_shown() {
        let legacy = Session {
            refresh_jti: None,
            previous_jti: None,
            ..family()
        };
        assert_eq!(outcome(&legacy, "anything", 501, true), Outcome::Rotated);
    }
}
