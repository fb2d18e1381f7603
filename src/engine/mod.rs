//! The discrete-event engine: integer simulated time, a deterministic event queue and named
//! random-number streams.
//!
//! It knows nothing of pods, load balancers or rollouts: the event type is a parameter, and the
//! world that owns the queue decides what an event means. That keeps the determinism rules in
//! one small place that can be tested on its own:
//!
//! * time is an integer number of microseconds ([`SimTime`]), never a float, so no epsilon
//!   comparisons and no drift over long runs;
//! * events at the same instant run in the order they were scheduled (FIFO by a sequence number);
//! * every random draw comes from a named [`RngStream`] derived from the root seed and the stream
//!   name, so adding a consumer of one stream never shifts the draws of another (common random
//!   numbers across strategies).

mod queue;
mod rng;
mod time;

pub use queue::EventQueue;
pub use rng::{keyed_uniform, stream_seed, RngStream, StreamName};
pub use time::{SimDuration, SimTime};
