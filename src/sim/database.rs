//! The database on the request path (see `model::database`): pools open when a pod's
//! application starts listening and close when its process ends (the cluster's process log),
//! a request's database phase begins after its earlier phases, and the database's own events
//! end phases.

use super::Simulation;
use crate::engine::SimTime;
use crate::model::database::{Begin, Database, DatabaseSpec, DbEvent, OnExhausted};
use crate::model::{Call, DatabaseStats, DependencyId, PodId, VersionId};

impl Simulation {
    /// Puts `spec`'s database behind every variant whose requests query it, and opens the
    /// pools of the pods already listening (the initial fleet). Call it before the first step.
    pub fn add_database(&mut self, spec: DatabaseSpec) {
        debug_assert_eq!(
            self.queue.processed(),
            0,
            "the database is set before the run"
        );
        let mut db = Database::new(spec);
        let callers: Vec<VersionId> = (0..self.scenario.versions.len() as u16)
            .map(VersionId)
            .filter(|v| db.used_by(*v))
            .collect();
        self.deps.call_from(DependencyId::DATABASE, &callers);
        for i in 0..self.cluster.pods.len() {
            if self.cluster.pods[i].listening {
                let got = db.open_pool(PodId(i as u32));
                self.pool_opened(PodId(i as u32), got, &db);
            }
        }
        self.cluster.log_processes = true;
        db.schedule_start(&mut self.queue);
        self.deps.database = Some(Box::new(db));
    }

    /// The database's totals (`None` without a database).
    pub fn database_stats(&self) -> Option<DatabaseStats> {
        self.deps.database.as_ref().map(|d| d.stats())
    }

    /// At a bucket's end: connections open per version slot (the time series'
    /// `db_connections`; the last slot, "no version", holds none). Nothing without a database.
    pub(super) fn sample_db_connections(&mut self) {
        let Some(db) = self.deps.database.as_ref() else {
            return;
        };
        let slots = self.scenario.versions.len() + 1;
        let base = self.db_series.len();
        self.db_series.resize(base + slots, 0);
        self.db_lock_series.resize(base + slots, 0);
        for p in &self.cluster.pods {
            self.db_series[base + p.version.index()] += db.held(p.id);
        }
        let (pods, series) = (&self.cluster.pods, &mut self.db_lock_series);
        db.each_lock_waiter(|pod| series[base + pods[pod.index()].version.index()] += 1);
    }

    /// The `database` section of `summary.json`.
    pub(super) fn database_summary(&self) -> Option<crate::metrics::DatabaseSummary> {
        let db = self.deps.database.as_ref()?;
        let (s, spec) = (db.stats(), db.spec());
        Some(crate::metrics::DatabaseSummary {
            queries: s.queries,
            writes: s.writes,
            connection_errors: s.connection_errors,
            peak_connections: s.peak_connections,
            max_connections: spec.max_connections,
            usable_connections: spec.usable(),
            pool_size: spec.pool_size,
            pool_timeouts: s.pool_timeouts,
            statement_timeouts: s.statement_timeouts,
            blocked_queries: s.blocked_queries,
            lock_wait_s: s.lock_wait_us as f64 / 1e6,
            max_lock_wait_s: s.max_lock_wait_us as f64 / 1e6,
            schema_errors: spec.schema.as_ref().map(|_| s.schema_errors),
            ddl: spec
                .ddl
                .iter()
                .zip(db.ddl_outcomes())
                .map(|(d, o)| crate::metrics::DdlStepSummary {
                    table: spec.tables[d.table as usize].clone(),
                    kind: d.kind.as_str().into(),
                    requested_s: o.requested.map(|t| t.as_secs_f64()),
                    lock_acquired_s: o.acquired.map(|t| t.as_secs_f64()),
                    finished_s: o.finished.map(|t| t.as_secs_f64()),
                    attempts: o.attempts,
                    lock_timeouts: o.lock_timeouts,
                })
                .collect(),
            backfills: spec
                .backfills
                .iter()
                .zip(db.backfill_outcomes())
                .map(|(b, o)| crate::metrics::BackfillSummary {
                    table: spec.tables[b.table as usize].clone(),
                    rows: b.rows,
                    batch_size: b.batch_size,
                    requested_s: o.requested.map(|t| t.as_secs_f64()),
                    started_s: o.started.map(|t| t.as_secs_f64()),
                    finished_s: o.finished.map(|t| t.as_secs_f64()),
                    batches: o.batches,
                    rows_done: o.rows_done,
                    lock_wait_s: o.lock_wait_us as f64 / 1e6,
                })
                .collect(),
        })
    }

    fn pool_opened(&mut self, pod: PodId, got: u32, db: &Database) {
        let p = &mut self.cluster.pods[pod.index()];
        p.db_unready = got == 0 && db.spec().on_exhausted == OnExhausted::FailReadiness;
    }

    /// Pods that started listening or ended since the last event: open or close their pools.
    /// A pool that gets a connection back clears its pod's readiness failure.
    pub(super) fn db_processes(&mut self, now: SimTime) {
        let Some(mut db) = self.deps.database.take() else {
            return;
        };
        let mut log = std::mem::take(&mut self.cluster.process_log);
        for (pod, started) in log.drain(..) {
            if started {
                let got = db.open_pool(pod);
                self.pool_opened(pod, got, &db);
            } else {
                self.cluster.pods[pod.index()].db_unready = false;
                db.close_pool(pod, now, &mut self.queue);
                for p in &mut self.cluster.pods {
                    if p.db_unready && db.held(p.id) > 0 {
                        p.db_unready = false;
                    }
                }
            }
        }
        self.cluster.process_log = log;
        self.deps.database = Some(db);
    }

    /// The request in `call` begins its database phase. Returns whether it is still in
    /// service; `false`: it failed at once (and completes now).
    pub(super) fn db_begin(&mut self, call: Call, now: SimTime) -> bool {
        let p = &mut self.cluster.pods[call.pod.index()];
        let variant = p.variant(call.slot);
        let db = self
            .deps
            .database
            .as_mut()
            .expect("a plan names the database");
        match db.begin(call, variant, now, &mut self.queue) {
            Begin::Running | Begin::Waiting => true,
            Begin::Failed(cause) => {
                p.fail_in_service(call.slot, call.epoch, cause);
                false
            }
        }
    }

    /// A database event: returns the request whose database phase ended (marked failed if it
    /// did), to move on to its next phase.
    pub(super) fn db_event(&mut self, now: SimTime, e: DbEvent) -> Option<(PodId, u32, u32)> {
        let db = self.deps.database.as_mut()?;
        let pods = &self.cluster.pods;
        let end = db.on_event(e, now, &mut self.queue, |c| {
            pods[c.pod.index()].holds(c.slot, c.epoch)
        });
        if let DbEvent::DdlEnd(k) | DbEvent::DdlLockTimeout { ddl: k, .. } = e {
            self.ddl_progress(now, k);
        }
        // A backfill of no rows finishes at its start; otherwise at its last batch's commit.
        if let DbEvent::BackfillStart(b) | DbEvent::BackfillBatchEnd(b) = e {
            self.backfill_progress(now, b);
        }
        let end = end?;
        let Call {
            pod, slot, epoch, ..
        } = end.call;
        if let Some(cause) = end.failed {
            self.cluster.pods[pod.index()].fail_in_service(slot, epoch, cause);
        }
        Some((pod, slot, epoch))
    }
}
