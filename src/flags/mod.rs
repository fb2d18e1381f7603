//! Feature flags: dark code paths released per user by a flag schedule.

pub mod bucketing;
