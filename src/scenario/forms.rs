//! Hand-written `Deserialize` for the raw values that take several forms.
//!
//! `#[serde(untagged)]` would try each form in turn and, when none fits, report "data did not
//! match any variant of untagged enum RawDist": a Rust type name, no word on what is expected,
//! and the real problem (say a misspelled key inside `{ dist = …, meen = … }`) thrown away.
//! Each visitor here dispatches on the TOML type it is given, says in its `expecting` what the
//! key accepts, and deserialises a table form with the table's own struct, so an inner error
//! keeps its message and its position.

use std::fmt;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Unexpected, Visitor};

use super::raw::*;

/// What a duration looks like, for every message that expects one.
const DURATION: &str = "a duration such as \"30s\" or \"250ms\", or a number of seconds";

fn int<E: de::Error>(v: u64, exp: &dyn de::Expected) -> Result<i64, E> {
    i64::try_from(v).map_err(|_| E::invalid_value(Unexpected::Unsigned(v), exp))
}

struct DurationV;

impl<'de> Visitor<'de> for DurationV {
    type Value = RawDuration;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(DURATION)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(RawDuration::Secs(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(RawDuration::Secs(v as f64))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(RawDuration::Secs(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(RawDuration::Text(v.to_string()))
    }
}

impl<'de> Deserialize<'de> for RawDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DurationV)
    }
}

struct DistV;

impl<'de> Visitor<'de> for DistV {
    type Value = RawDist;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration such as \"50ms\" or a distribution table such as { dist = \"exponential\", mean = \"50ms\" }")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        DurationV.visit_i64(v).map(RawDist::Fixed)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        DurationV.visit_u64(v).map(RawDist::Fixed)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        DurationV.visit_f64(v).map(RawDist::Fixed)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        DurationV.visit_str(v).map(RawDist::Fixed)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        RawDistTable::deserialize(MapAccessDeserializer::new(map)).map(RawDist::Table)
    }
}

impl<'de> Deserialize<'de> for RawDist {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DistV)
    }
}

struct IntOrPercentV;

impl<'de> Visitor<'de> for IntOrPercentV {
    type Value = RawIntOrPercent;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a whole number of pods or a percent string such as \"25%\"")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(RawIntOrPercent::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        int(v, &self).map(RawIntOrPercent::Int)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(RawIntOrPercent::Text(v.to_string()))
    }
}

impl<'de> Deserialize<'de> for RawIntOrPercent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(IntOrPercentV)
    }
}

struct CountOrWordV;

impl<'de> Visitor<'de> for CountOrWordV {
    type Value = RawCountOrWord;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a whole number or a word such as \"unbounded\"")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(RawCountOrWord::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        int(v, &self).map(RawCountOrWord::Int)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(RawCountOrWord::Word(v.to_string()))
    }
}

impl<'de> Deserialize<'de> for RawCountOrWord {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CountOrWordV)
    }
}

struct ProbeOrBoolV;

impl<'de> Visitor<'de> for ProbeOrBoolV {
    type Value = RawProbeOrBool;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "true, false, or a probe table such as { period = \"5s\", failure_threshold = 3 }",
        )
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(RawProbeOrBool::Flag(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        RawProbe::deserialize(MapAccessDeserializer::new(map)).map(RawProbeOrBool::Probe)
    }
}

impl<'de> Deserialize<'de> for RawProbeOrBool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ProbeOrBoolV)
    }
}

struct DurationsV;

impl<'de> Visitor<'de> for DurationsV {
    type Value = RawDurations;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{DURATION}, or an array of them")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        DurationV.visit_i64(v).map(RawDurations::One)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        DurationV.visit_u64(v).map(RawDurations::One)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        DurationV.visit_f64(v).map(RawDurations::One)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        DurationV.visit_str(v).map(RawDurations::One)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Vec::<RawDuration>::deserialize(SeqAccessDeserializer::new(seq)).map(RawDurations::Many)
    }
}

impl<'de> Deserialize<'de> for RawDurations {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DurationsV)
    }
}

struct PauseV;

impl<'de> Visitor<'de> for PauseV {
    type Value = RawPause;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{DURATION}, the word \"indefinite\", or a table such as {{ duration = \"30s\" }}"
        )
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        DurationV.visit_i64(v).map(RawPause::Duration)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        DurationV.visit_u64(v).map(RawPause::Duration)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        DurationV.visit_f64(v).map(RawPause::Duration)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        DurationV.visit_str(v).map(RawPause::Duration)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        RawPauseTable::deserialize(MapAccessDeserializer::new(map)).map(RawPause::Table)
    }
}

impl<'de> Deserialize<'de> for RawPause {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PauseV)
    }
}
