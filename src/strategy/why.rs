//! Why a controller decided what it did, as data: a sentence template and its values, rendered
//! only when someone reads it (`rollsim plan`, a test). A `run` reconciles thousands of times
//! and never formats one of these; a `Why` is `Copy` and allocates nothing.

use std::fmt;

use crate::engine::{SimDuration, SimTime};

/// One value in a reason.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Arg {
    /// Unused slot.
    None,
    /// A count, a weight, a revision.
    Int(u64),
    /// A signed count (an availability budget).
    Signed(i64),
    /// A duration.
    Duration(SimDuration),
    /// A point in simulated time.
    Time(SimTime),
    /// A word chosen by the controller (a role, a cause).
    Text(&'static str),
}

impl From<u32> for Arg {
    fn from(v: u32) -> Self {
        Arg::Int(u64::from(v))
    }
}
impl From<u64> for Arg {
    fn from(v: u64) -> Self {
        Arg::Int(v)
    }
}
impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Signed(v)
    }
}
impl From<usize> for Arg {
    fn from(v: usize) -> Self {
        Arg::Int(v as u64)
    }
}
impl From<SimDuration> for Arg {
    fn from(v: SimDuration) -> Self {
        Arg::Duration(v)
    }
}
impl From<SimTime> for Arg {
    fn from(v: SimTime) -> Self {
        Arg::Time(v)
    }
}
impl From<&'static str> for Arg {
    fn from(v: &'static str) -> Self {
        Arg::Text(v)
    }
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::None => Ok(()),
            Arg::Int(n) => write!(f, "{n}"),
            Arg::Signed(n) => write!(f, "{n}"),
            Arg::Duration(d) => write!(f, "{d}"),
            Arg::Time(t) => write!(f, "{t}"),
            Arg::Text(t) => f.write_str(t),
        }
    }
}

/// Most values one reason holds.
pub const ARGS: usize = 8;

/// One reason: each `{}` of the template takes the next value.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Reason {
    /// The sentence, with `{}` where values go.
    pub template: &'static str,
    /// The values, in order.
    pub args: [Arg; ARGS],
}

impl Reason {
    /// A reason with `values` for the template's `{}`s (at most [`ARGS`]).
    pub fn with(template: &'static str, values: &[Arg]) -> Self {
        debug_assert_eq!(template.matches("{}").count(), values.len(), "{template}");
        let mut args = [Arg::None; ARGS];
        for (slot, v) in args.iter_mut().zip(values) {
            *slot = *v;
        }
        Reason { template, args }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut args = self.args.iter();
        let mut parts = self.template.split("{}");
        if let Some(first) = parts.next() {
            f.write_str(first)?;
        }
        for part in parts {
            write!(f, "{}", args.next().unwrap_or(&Arg::None))?;
            f.write_str(part)?;
        }
        Ok(())
    }
}

impl From<&'static str> for Reason {
    fn from(template: &'static str) -> Self {
        Reason::with(template, &[])
    }
}

/// Why one reconcile did what it did: up to three reasons, shown joined by "; ".
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Why {
    parts: [Option<Reason>; 3],
}

impl Why {
    /// No reason given.
    pub fn is_empty(&self) -> bool {
        self.parts[0].is_none()
    }

    /// Replaces every reason with `r`.
    pub fn set(&mut self, r: impl Into<Reason>) {
        self.parts = [Some(r.into()), None, None];
    }

    /// Adds `r` after the others (the last one is replaced when all slots are taken).
    pub fn push(&mut self, r: impl Into<Reason>) {
        let slot = self.parts.iter().position(Option::is_none).unwrap_or(2);
        self.parts[slot] = Some(r.into());
    }

    /// The reasons, in order.
    pub fn reasons(&self) -> impl Iterator<Item = &Reason> {
        self.parts.iter().flatten()
    }
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.reasons().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

/// `why!("scale the {} ReplicaSet {}→{}", role, from, to)`: a [`Reason`], nothing formatted.
#[macro_export]
macro_rules! why {
    ($t:literal $(, $a:expr)* $(,)?) => {
        $crate::strategy::Reason::with($t, &[$($crate::strategy::Arg::from($a)),*])
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_render_their_values_in_order_and_join() {
        let mut w = Why::default();
        assert!(w.is_empty());
        w.set(crate::why!(
            "scale the {} ReplicaSet {}→{}",
            "canary",
            1u32,
            3u32
        ));
        w.push(crate::why!(
            "pause {} (until {})",
            SimDuration::from_secs(30),
            SimTime::ZERO
        ));
        assert_eq!(
            w.to_string(),
            "scale the canary ReplicaSet 1→3; pause 30s (until 0.000s)"
        );
        w.set("complete");
        assert_eq!(w.to_string(), "complete");
    }
}
