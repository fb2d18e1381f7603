//! Cookie affinity: the balancer pins a user to the pod that served them.
//!
//! Modelled on ingress-nginx's `affinity: cookie` in `persistent` mode and nginx's
//! `sticky cookie` (`../shared/reference/state.md` §3.2, §3.4; `kubernetes/ingress-nginx`
//! `rootfs/etc/nginx/lua/balancer/sticky_persistent.lua`): the cookie names one endpoint; while
//! that endpoint is in the balancer's view the request goes there, whatever the policy or the
//! version weights; when it has left the endpoints (or refused the connection, on a retry) a new
//! endpoint is chosen as for a new client and the cookie is re-set to it. So affinity breaks
//! exactly when its pod goes away — with in-memory sessions, the session breaks with it.
//!
//! One `u32` per user (the pinned pod + 1, 0: none); nothing per request.

use super::Balancer;
use crate::model::ids::PodId;
use crate::model::traffic::Request;

/// Per-user pins.
#[derive(Debug, Default)]
pub struct Affinity {
    pin: Vec<u32>,
}

impl Affinity {
    /// No user pinned yet, for `users` users.
    pub fn new(users: u32) -> Self {
        Affinity {
            pin: vec![0; users as usize],
        }
    }

    /// The pod `request`'s cookie names, if it is still an endpoint of `lb`. Only a client's
    /// first attempt follows the cookie (a retry goes elsewhere, as after a failed upstream).
    #[inline]
    pub fn pinned(&self, request: &Request, lb: &Balancer) -> Option<PodId> {
        if request.attempts > 0 || request.synthetic_for.is_some() {
            return None;
        }
        let p = *self.pin.get(request.user as usize)?;
        let pod = PodId(p.checked_sub(1)?);
        lb.in_view(pod).then_some(pod)
    }

    /// The cookie now names `pod` (the endpoint that accepted the request).
    #[inline]
    pub fn set(&mut self, user: u32, pod: PodId) {
        if let Some(p) = self.pin.get_mut(user as usize) {
            *p = pod.0 + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SimTime;
    use crate::model::ids::VersionId;

    #[test]
    fn a_pin_holds_while_its_pod_is_an_endpoint_and_breaks_when_it_leaves() {
        let mut lb = Balancer::new(crate::model::lb::tests::nginx_spec(), 1, 1);
        let _ = lb.set_member(PodId(0), VersionId(0), true);
        let _ = lb.set_member(PodId(1), VersionId(0), true);
        let mut a = Affinity::new(2);
        let r = Request {
            arrived: SimTime::ZERO,
            user: 1,
            luck: 0,
            idempotent: true,
            attempts: 0,
            last_pod: None,
            synthetic_for: None,
            handshake: false,
        };
        assert_eq!(a.pinned(&r, &lb), None);
        a.set(1, PodId(1));
        assert_eq!(a.pinned(&r, &lb), Some(PodId(1)));
        let retry = Request { attempts: 1, ..r };
        assert_eq!(a.pinned(&retry, &lb), None);
        let _ = lb.set_member(PodId(1), VersionId(0), false);
        assert_eq!(a.pinned(&r, &lb), None);
    }
}
