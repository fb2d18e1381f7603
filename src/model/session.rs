//! Where a user's login session lives, and what happens to it when pods come and go.
//!
//! Real behaviour modelled (sources in `../shared/reference/state.md` §3):
//! * **In-memory sessions** (§3.1): the session lives in the heap of the pod that created it
//!   (express-session's `MemoryStore`, documented as not shareable between processes). A
//!   request served by any other pod — because the owner pod is gone, or simply because the
//!   balancer sent it elsewhere — finds no session: the user is anonymous again. That is why
//!   in-memory sessions need stickiness, and why stickiness alone is not enough: when the
//!   owner pod leaves, the session leaves with it.
//! * **Shared store** (§3.5, Redis-like): sessions survive pods. The lookup is one more hop,
//!   registered as a dependency (`model::dependency`) with its own latency, capacity and an
//!   optional outage window in which calls fail at once (a stopped Redis refuses connections);
//!   during an outage every pod loses sessions at once, but none is destroyed.
//! * **JWT** (§3.6, RFC 7515 §4.1.4 `kid`, RFC 7517 JWK Set): no server state; a version signs
//!   tokens with its key and accepts a set of keys. A pod that does not accept the key named in
//!   a token's `kid` rejects it, so during a rolling update that switches the signing key, users
//!   bounce between versions and are logged out on each switch, unless every version accepts
//!   both keys (dual-key rotation: publish the new key before anyone signs with it).
//!
//! A session is created by the user's first request (the login is outside the run). A request
//! that finds no session either fails (`session_lost`, what an API answering 401 does) or pays a
//! re-login (`relogin`: the request succeeds after the extra time of a login). Either way the
//! user then holds a new session on the pod (or with the key) that served it.
//!
//! Memory: 4 bytes per user (where the session lives, plus one bit "logged out once"); nothing
//! per request, no hashing and no allocation on the hot path.

use super::ids::{PodId, VersionId};
use super::Dist;
use crate::engine::{SimDuration, SimTime};

/// What a request that finds no session does.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum OnLoss {
    /// It fails with `session_lost` (an API answering 401).
    Fail,
    /// The user logs in again: the request succeeds, this much slower.
    Relogin(SimDuration),
}

/// A Redis-like shared session store: one call per request after the application's work.
#[derive(Clone, Debug)]
pub struct SharedStoreSpec {
    /// Time of one lookup (about one network round trip, §3.5).
    pub latency: Dist,
    /// Lookups served at once.
    pub capacity: u32,
    /// Lookups that may wait (`None`: unbounded).
    pub queue: Option<u32>,
    /// A window `[from, to)` in which the store is down and every lookup fails at once.
    pub outage: Option<(SimTime, SimTime)>,
}

/// JWT signing and verification keys, by version.
#[derive(Clone, Debug)]
pub struct JwtSpec {
    /// Key names, by key id.
    pub keys: Vec<String>,
    /// Per version, the key it signs new tokens with.
    pub signs: Vec<u8>,
    /// Per version, the keys it accepts (a bit set over key ids).
    pub accepts: Vec<u32>,
}

/// Where sessions are kept.
#[derive(Clone, Debug)]
pub enum SessionStore {
    /// In the heap of the pod that created them.
    InMemory,
    /// In a shared store reached over the network.
    Shared(SharedStoreSpec),
    /// In signed tokens the client holds.
    Jwt(JwtSpec),
}

/// The `[sessions]` table, resolved.
#[derive(Clone, Debug)]
pub struct SessionSpec {
    /// Where sessions live.
    pub store: SessionStore,
    /// Cookie affinity at the balancer (user → pod).
    pub sticky: bool,
    /// What a request without its session does.
    pub on_loss: OnLoss,
}

/// A request's session check.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SessionCheck {
    /// The session was there (or the user's first request created it).
    Found,
    /// The session was gone; the user now holds a new one.
    Lost,
}

const NONE: u32 = 0;
const LOGGED_OUT: u32 = 1 << 31;
const HOLDER: u32 = !LOGGED_OUT;

/// Per-user session state and the run's session counters.
#[derive(Debug)]
pub struct Sessions {
    spec: SessionSpec,
    /// Per user: the holder + 1 (the owner pod in memory, the signing key for JWT; 0: none)
    /// in the low 31 bits, and whether the user was ever logged out in the top bit.
    state: Vec<u32>,
    lost: u64,
    users_logged_out: u64,
}

impl Sessions {
    /// No sessions yet for `users` users.
    pub fn new(spec: SessionSpec, users: u32) -> Self {
        let per_user = match spec.store {
            SessionStore::Shared(_) => 0,
            _ => users as usize,
        };
        Sessions {
            spec,
            state: vec![NONE; per_user],
            lost: 0,
            users_logged_out: 0,
        }
    }

    /// The configuration.
    pub fn spec(&self) -> &SessionSpec {
        &self.spec
    }

    /// Checks `user`'s session on `pod` of `version` (the variant serving the request). A
    /// shared store's check is a dependency call instead, so it is always `Found` here.
    #[inline]
    pub fn check(&mut self, user: u32, pod: PodId, version: VersionId) -> SessionCheck {
        let holder = match &self.spec.store {
            SessionStore::Shared(_) => return SessionCheck::Found,
            SessionStore::InMemory => pod.0,
            SessionStore::Jwt(j) => {
                let Some(s) = self.state.get(user as usize) else {
                    return SessionCheck::Found;
                };
                let held = s & HOLDER;
                let v = version.index();
                // A token whose key this version accepts stays valid.
                if held != NONE && j.accepts[v] & (1 << (held - 1)) != 0 {
                    return SessionCheck::Found;
                }
                u32::from(j.signs[v])
            }
        };
        let Some(s) = self.state.get_mut(user as usize) else {
            return SessionCheck::Found;
        };
        let held = *s & HOLDER;
        let mine = holder + 1;
        if held == mine {
            return SessionCheck::Found;
        }
        let first = held == NONE;
        *s = (*s & LOGGED_OUT) | mine;
        if first {
            return SessionCheck::Found;
        }
        self.lost += 1;
        if *s & LOGGED_OUT == 0 {
            *s |= LOGGED_OUT;
            self.users_logged_out += 1;
        }
        SessionCheck::Lost
    }

    /// Requests that found their session gone (in memory or JWT).
    pub fn lost(&self) -> u64 {
        self.lost
    }

    /// Distinct users whose session was destroyed at least once.
    pub fn users_logged_out(&self) -> u64 {
        self.users_logged_out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(store: SessionStore) -> SessionSpec {
        SessionSpec {
            store,
            sticky: false,
            on_loss: OnLoss::Fail,
        }
    }

    #[test]
    fn an_in_memory_session_is_found_only_on_the_pod_that_created_it() {
        let mut s = Sessions::new(spec(SessionStore::InMemory), 3);
        let v = VersionId(0);
        assert_eq!(s.check(0, PodId(4), v), SessionCheck::Found); // login
        assert_eq!(s.check(0, PodId(4), v), SessionCheck::Found);
        assert_eq!(s.check(0, PodId(5), v), SessionCheck::Lost); // another pod
        assert_eq!(s.check(0, PodId(5), v), SessionCheck::Found); // new session there
        assert_eq!(s.check(0, PodId(4), v), SessionCheck::Lost);
        assert_eq!(s.check(1, PodId(4), v), SessionCheck::Found);
        assert_eq!((s.lost(), s.users_logged_out()), (2, 1));
    }

    #[test]
    fn a_jwt_is_rejected_by_a_version_that_does_not_accept_its_key() {
        // v1 signs k1 and accepts k1; v2 signs k2 and accepts k2 (mistake) or both (fix).
        let jwt = |v2_accepts: u32| {
            SessionStore::Jwt(JwtSpec {
                keys: vec!["k1".into(), "k2".into()],
                signs: vec![0, 1],
                accepts: vec![0b01, v2_accepts],
            })
        };
        let (v1, v2) = (VersionId(0), VersionId(1));
        let mut s = Sessions::new(spec(jwt(0b10)), 2);
        assert_eq!(s.check(0, PodId(0), v1), SessionCheck::Found);
        assert_eq!(s.check(0, PodId(9), v2), SessionCheck::Lost);
        assert_eq!(s.check(0, PodId(0), v1), SessionCheck::Lost); // k2 token on v1
        assert_eq!((s.lost(), s.users_logged_out()), (2, 1));
        // Dual key, and v1 already accepting k2 (the key published before use): nothing lost.
        let mut s = Sessions::new(
            spec(SessionStore::Jwt(JwtSpec {
                keys: vec!["k1".into(), "k2".into()],
                signs: vec![0, 1],
                accepts: vec![0b11, 0b11],
            })),
            2,
        );
        for pod_version in [v1, v2, v1, v2] {
            assert_eq!(s.check(0, PodId(0), pod_version), SessionCheck::Found);
        }
        assert_eq!(s.lost(), 0);
    }
}
