//! The simulated cluster: traffic, pods, ReplicaSets, nodes and the load balancer.
//!
//! The model knows nothing of rollout strategies. A controller changes it only by scaling
//! ReplicaSets and setting traffic weights; the model answers with pod and endpoint changes that
//! unfold over simulated time, each one an event on the engine's queue.

mod cluster;
mod connections;
pub mod database;
mod dependency;
mod dist;
mod fault;
mod ids;
mod lb;
mod pod;
mod pod_wait;
mod session;
mod spec;
mod traffic;

pub use cluster::{Census, Cluster, ReplicaSet};
pub use connections::{Backoff, CloseOn, ConnectionSpec, Connections};
pub use database::{Database, DatabaseSpec, DatabaseStats, DbEvent, OnExhausted};
pub use dependency::{
    Call, CallAccept, Dependencies, Dependency, DependencyId, DependencySpec, DependencyStats,
    Started,
};
pub use dist::Dist;
pub use fault::{conversion_probability, crash_backoff, Fault, FaultEffect, FaultKind};
pub use ids::{PodId, RsId, VersionId};
pub use lb::{
    Affinity, Balancer, HealthScope, LbPolicy, LbSpec, Pick, Propagation, TargetHealthCheck, Update,
};
pub use pod::{draw_service, Accept, Phase, Pod, ServiceOutcome};
pub use pod_wait::{pod_wait, PodWait};
pub use session::{
    JwtSpec, OnLoss, SessionCheck, SessionSpec, SessionStore, Sessions, SharedStoreSpec,
};
pub use spec::{
    ClusterSpec, OnSigterm, PodSpec, ProbeSpec, RateProfile, TrafficSpec, UserDistribution,
    VersionSpec, WarmupSpec,
};
pub use traffic::{Request, TrafficSource};

use crate::engine::SimTime;

/// Why a request failed. The names are part of the output contract (`summary.json`,
/// `timeseries.csv`): extend, never rename.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FailCause {
    /// The chosen endpoint was not listening (pod gone, not started, or stopped accepting after
    /// SIGTERM) and no retry rescued the request.
    ConnectionRefused,
    /// The pod was killed (SIGKILL at the grace period, or exit on SIGTERM) while it held the
    /// request, before any response.
    ResetOnShutdown,
    /// The load balancer had no endpoint to send to (HTTP 503).
    NoEndpoints,
    /// The pod's accept queue was full (the server answered 503 at once).
    QueueFull,
    /// The client gave up after its timeout.
    Timeout,
    /// The application answered with an error (its version's error rate).
    AppError,
    /// Still in flight when the run's drain period ended.
    InFlightAtEnd,
    /// The request found no session: its pod held none for the user (in-memory sessions on
    /// another or a gone pod), rejected its token's signing key (JWT), or could not reach the
    /// shared session store.
    SessionLost,
    /// The pod's connection pool holds no database connection (PostgreSQL refused them all,
    /// `max_connections` reached) and the application fails requests rather than readiness.
    DbConnectionsExhausted,
    /// The database did not answer in time: no pool connection within `connection_timeout`
    /// (HikariCP), or a statement cancelled by `statement_timeout` (PostgreSQL).
    DbTimeout,
    /// A query of the serving version did not fit the database's schema now: it named a column
    /// that does not exist (PostgreSQL SQLSTATE 42703) or left a `NOT NULL` column null (23502).
    SchemaError,
}

impl FailCause {
    /// Every cause, in reporting order.
    pub const ALL: [FailCause; 11] = [
        FailCause::ConnectionRefused,
        FailCause::ResetOnShutdown,
        FailCause::NoEndpoints,
        FailCause::QueueFull,
        FailCause::Timeout,
        FailCause::AppError,
        FailCause::InFlightAtEnd,
        FailCause::SessionLost,
        FailCause::DbConnectionsExhausted,
        FailCause::DbTimeout,
        FailCause::SchemaError,
    ];

    /// The contract name of this cause.
    pub fn as_str(self) -> &'static str {
        match self {
            FailCause::ConnectionRefused => "connection_refused",
            FailCause::ResetOnShutdown => "reset_on_shutdown",
            FailCause::NoEndpoints => "no_endpoints",
            FailCause::QueueFull => "queue_full",
            FailCause::Timeout => "timeout",
            FailCause::AppError => "app_error",
            FailCause::InFlightAtEnd => "in_flight_at_end",
            FailCause::SessionLost => "session_lost",
            FailCause::DbConnectionsExhausted => "db_connections_exhausted",
            FailCause::DbTimeout => "db_timeout",
            FailCause::SchemaError => "schema_error",
        }
    }

    /// Position in [`FailCause::ALL`], for counter arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Model-level events: everything that happens to pods and endpoints on its own schedule once
/// a controller has asked for it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ModelEvent {
    /// A worker slot of `pod` finishes the request it holds, if the pod's `epoch` still matches
    /// (a killed pod bumps its epoch, turning its pending completions into no-ops).
    ServiceDone {
        /// The serving pod.
        pod: PodId,
        /// The worker slot.
        slot: u32,
        /// The pod's epoch when service started.
        epoch: u32,
    },
    /// A call from `pod`'s worker `slot` to dependency `dep` finishes. The dependency's worker
    /// frees up whatever the pod's `epoch` is now; the result reaches the request only if it
    /// still matches.
    CallDone {
        /// The dependency.
        dep: DependencyId,
        /// The calling pod.
        pod: PodId,
        /// The worker slot waiting on the call.
        slot: u32,
        /// The pod's epoch when the call started.
        epoch: u32,
    },
    /// A database event (a query leaves its core, a pool wait times out).
    Db(DbEvent),
    /// The container of `pod` is running (image pulled, process started).
    ContainerStarted(PodId),
    /// The application in `pod` opened its listening socket.
    Listening(PodId),
    /// A readiness probe of `pod` runs (ignored if the pod's epoch moved on: it restarted).
    Probe {
        /// The probed pod.
        pod: PodId,
        /// The pod's epoch when the probe chain started.
        epoch: u32,
    },
    /// A crash-looping container of `pod` dies (ignored if the epoch moved on).
    Crash {
        /// The crashing pod.
        pod: PodId,
        /// The pod's epoch when the crash was scheduled.
        epoch: u32,
    },
    /// `pod` has been Ready for minReadySeconds: it now counts as available.
    MinReadyElapsed(PodId),
    /// The preStop hook of `pod` finished; the kubelet sends SIGTERM.
    PreStopDone(PodId),
    /// The termination grace period of `pod` expired; the kubelet sends SIGKILL.
    GraceExpired(PodId),
    /// The load balancer learns the endpoint state of `pod` as of publication `generation`.
    EndpointUpdate {
        /// The pod whose endpoint changed.
        pod: PodId,
        /// Monotonic per pod; stale updates (overtaken by a later one) are ignored.
        generation: u32,
        /// Whether the endpoint should receive traffic.
        serving: bool,
    },
}

/// Where model code schedules its events. The world's queue implements it, so the model never
/// names the world's event type.
pub trait Schedule {
    /// Schedule `event` at `at`.
    fn schedule(&mut self, at: SimTime, event: ModelEvent);
}

/// What a model operation needs from the world at one instant: the simulated time, where to
/// schedule the events it causes, and where to put the requests a pod drops without a response
/// (killed, crashed, exited on SIGTERM) so the world can retry or fail them. One value instead
/// of the same three parameters on every lifecycle call.
pub struct Ctx<'a> {
    /// The current simulated time.
    pub now: SimTime,
    /// Where follow-up events go.
    pub sched: &'a mut dyn Schedule,
    /// Requests dropped by pods during this operation, in the order they were dropped.
    pub dropped: &'a mut Vec<Request>,
}

impl<'a> Ctx<'a> {
    /// A context at `now`.
    pub fn new(now: SimTime, sched: &'a mut dyn Schedule, dropped: &'a mut Vec<Request>) -> Self {
        Ctx {
            now,
            sched,
            dropped,
        }
    }

    /// Schedules `event` at `at`.
    pub fn schedule(&mut self, at: SimTime, event: ModelEvent) {
        self.sched.schedule(at, event);
    }
}
