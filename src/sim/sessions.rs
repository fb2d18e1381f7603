//! Login sessions on a request's journey (see `model::session`): cookie affinity when the
//! balancer picks, the session check when a pod starts serving, the shared store as the
//! request's first dependency call, and the `sessions` section of the summary.
//!
//! Nothing here runs without a `[sessions]` table: the world holds `None` and the hot path
//! pays one predictable branch.

use super::Simulation;
use crate::engine::SimDuration;
use crate::metrics::SessionSummary;
use crate::model::{
    Affinity, DependencyId, DependencySpec, FailCause, OnLoss, PodId, Request, ServiceOutcome,
    SessionCheck, SessionStore, Sessions, VersionId,
};

/// The run's session state.
pub(super) struct SessionState {
    sessions: Sessions,
    /// Cookie affinity (`sticky = true`).
    affinity: Option<Affinity>,
    /// The shared store, registered as a dependency.
    store: Option<DependencyId>,
}

impl Simulation {
    /// Builds the session store of the scenario, if it has one. A shared store becomes the
    /// first dependency every version calls.
    pub(super) fn setup_sessions(&mut self) {
        let Some(spec) = self.scenario.sessions.clone() else {
            return;
        };
        let users = self.scenario.traffic.users;
        let store = match &spec.store {
            SessionStore::Shared(s) => {
                let callers: Vec<VersionId> = (0..self.scenario.versions.len() as u16)
                    .map(VersionId)
                    .collect();
                let id = self.add_dependency(
                    DependencySpec {
                        name: "sessions".into(),
                        concurrency: s.capacity,
                        queue: s.queue,
                        service: s.latency.clone(),
                        error_rate: 0.0,
                        on_error: FailCause::SessionLost,
                        on_reject: FailCause::SessionLost,
                    },
                    &callers,
                );
                if let Some((from, to)) = s.outage {
                    self.deps.list[id.index()].set_outage(from, to);
                }
                Some(id)
            }
            _ => None,
        };
        self.sessions = Some(Box::new(SessionState {
            affinity: spec.sticky.then(|| Affinity::new(users)),
            sessions: Sessions::new(spec, users),
            store,
        }));
    }

    /// The pod `request`'s affinity cookie names, if it is still an endpoint.
    #[inline]
    pub(super) fn sticky_pick(&self, request: &Request) -> Option<PodId> {
        let a = self.sessions.as_ref()?.affinity.as_ref()?;
        a.pinned(request, &self.lb)
    }

    /// `pod` accepted `request`: the balancer's cookie now names it.
    #[inline]
    pub(super) fn pin(&mut self, request: &Request, pod: PodId) {
        if request.synthetic_for.is_some() {
            return;
        }
        if let Some(a) = self.sessions.as_mut().and_then(|s| s.affinity.as_mut()) {
            a.set(request.user, pod);
        }
    }

    /// The session check as `pod` of `version` starts serving `request`: a lost session fails
    /// the request (`session_lost`) or adds a login to its service time.
    #[inline]
    pub(super) fn check_session(
        &mut self,
        request: &Request,
        pod: PodId,
        version: VersionId,
        service: (SimDuration, ServiceOutcome),
    ) -> (SimDuration, ServiceOutcome) {
        let Some(s) = self.sessions.as_mut() else {
            return service;
        };
        if request.synthetic_for.is_some()
            || s.sessions.check(request.user, pod, version) == SessionCheck::Found
        {
            return service;
        }
        match s.sessions.spec().on_loss {
            OnLoss::Fail => (service.0, ServiceOutcome::Failed(FailCause::SessionLost)),
            OnLoss::Relogin(cost) => (service.0 + cost, service.1),
        }
    }

    /// The summary's `sessions` section (`None` without a `[sessions]` table).
    pub(super) fn session_summary(&self) -> Option<SessionSummary> {
        let s = self.sessions.as_ref()?;
        let from_store = s.store.map_or(0, |id| {
            let st = self.deps.list[id.index()].stats();
            st.failed + st.rejected
        });
        Some(SessionSummary {
            store: match s.sessions.spec().store {
                SessionStore::InMemory => "in_memory",
                SessionStore::Shared(_) => "shared",
                SessionStore::Jwt(_) => "jwt",
            },
            lost: s.sessions.lost() + from_store,
            users_logged_out: s.sessions.users_logged_out(),
        })
    }
}
