//! Hand-written `Deserialize` for the raw values that take several forms.
//!
//! `#[serde(untagged)]` would try each form in turn and, when none fits, report "data did not
//! match any variant of untagged enum RawDist": a Rust type name, no word on what is expected,
//! and the real problem (say a misspelled key inside `{ dist = …, meen = … }`) thrown away.
//! Each visitor here dispatches on the TOML type it is given, says in its `expecting` what the
//! key accepts, and deserialises a table form with the table's own struct, so an inner error
//! keeps its message and its position.
//!
//! `propagation_delay` takes two table forms (a distribution table, or `{ add, remove }`), so
//! its visitor reads the table's first key, picks the form it belongs to, and hands the whole
//! table (that key replayed, the rest read from the file) to the form's own struct: an
//! unknown or misspelled key is then reported at the key, with the keys of the form in use.

use std::fmt;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer, StringDeserializer};
use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Unexpected, Visitor,
};

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

struct HealthCheckOrBoolV;

impl<'de> Visitor<'de> for HealthCheckOrBoolV {
    type Value = RawHealthCheckOrBool;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("true, false, or a health-check table such as { interval = \"30s\", healthy_threshold = 5, unhealthy_threshold = 2 }")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(RawHealthCheckOrBool::Flag(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        RawHealthCheck::deserialize(MapAccessDeserializer::new(map))
            .map(RawHealthCheckOrBool::Table)
    }
}

impl<'de> Deserialize<'de> for RawHealthCheckOrBool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(HealthCheckOrBoolV)
    }
}

/// The keys of a distribution table (`RawDistTable`'s fields).
#[cfg(test)]
const DIST_KEYS: &[&str] = &["dist", "mean", "p99", "min", "max", "value"];
/// The keys of a split propagation delay (`RawPropagationSplit`'s fields).
const SPLIT_KEYS: &[&str] = &["add", "remove"];
/// Either form's keys, for a first key that belongs to neither.
const PROPAGATION_KEYS: &[&str] = &[
    "add", "remove", "dist", "mean", "p99", "min", "max", "value",
];

/// Reads a table's first key, accepting only `keys`; an unknown one is reported at the key.
struct KeyIn(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for KeyIn {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl<'de> Visitor<'de> for KeyIn {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        if self.0.contains(&v) {
            Ok(v.to_string())
        } else {
            Err(E::unknown_field(v, self.0))
        }
    }
}

/// A table whose first key was already read: gives that key again, then the rest of the table.
struct Replay<A> {
    first: Option<String>,
    rest: A,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Replay<A> {
    type Error = A::Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        match self.first.take() {
            Some(k) => seed.deserialize(StringDeserializer::new(k)).map(Some),
            None => self.rest.next_key_seed(seed),
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.rest.next_value_seed(seed)
    }
}

struct PropagationV;

impl<'de> Visitor<'de> for PropagationV {
    type Value = RawPropagation;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration such as \"2s\", a distribution table such as { dist = \"uniform\", min = \"1s\", max = \"3s\" }, or { add = …, remove = … } with a delay for each direction")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        DistV.visit_i64(v).map(RawPropagation::Both)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        DistV.visit_u64(v).map(RawPropagation::Both)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        DistV.visit_f64(v).map(RawPropagation::Both)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        DistV.visit_str(v).map(RawPropagation::Both)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // `{}` changes neither direction, as `{ add = …, remove = … }` with both left out.
        let Some(first) = map.next_key_seed(KeyIn(PROPAGATION_KEYS))? else {
            return Ok(RawPropagation::Split(RawPropagationSplit::default()));
        };
        let split = SPLIT_KEYS.contains(&first.as_str());
        let table = MapAccessDeserializer::new(Replay {
            first: Some(first),
            rest: map,
        });
        if split {
            RawPropagationSplit::deserialize(table).map(RawPropagation::Split)
        } else {
            RawDistTable::deserialize(table).map(|t| RawPropagation::Both(RawDist::Table(t)))
        }
    }
}

impl<'de> Deserialize<'de> for RawPropagation {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PropagationV)
    }
}

struct DurationOrNoneV;

impl<'de> Visitor<'de> for DurationOrNoneV {
    type Value = RawDuration;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{DURATION}, or the word \"none\"")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        DurationV.visit_i64(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        DurationV.visit_u64(v)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        DurationV.visit_f64(v)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        DurationV.visit_str(v)
    }
}

/// For the keys that take a duration or "none" (`#[serde(deserialize_with)]`): the same
/// values as [`RawDuration`], but a wrong type is told that "none" is accepted too.
pub(super) fn duration_or_none<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<RawDuration>, D::Error> {
    d.deserialize_any(DurationOrNoneV).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fields `T` accepts, as serde lists them for a key it does not have.
    fn fields_of<T: for<'de> Deserialize<'de>>() -> Vec<String> {
        let e = toml::from_str::<T>("zzz_unknown = 1")
            .err()
            .expect("rejected");
        let msg = e.message().to_string();
        let (_, list) = msg.split_once("expected").expect("a list");
        list.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn the_key_lists_match_the_structs() {
        assert_eq!(fields_of::<RawDistTable>(), DIST_KEYS);
        assert_eq!(fields_of::<RawPropagationSplit>(), SPLIT_KEYS);
        let mut both: Vec<&str> = SPLIT_KEYS.iter().chain(DIST_KEYS).copied().collect();
        assert_eq!(both, PROPAGATION_KEYS);
        both.dedup();
        assert_eq!(both.len(), PROPAGATION_KEYS.len());
    }
}
