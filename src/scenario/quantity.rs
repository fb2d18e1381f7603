//! Kubernetes resource quantities (`resource.Quantity`, k8s.io/apimachinery
//! pkg/api/resource/quantity.go), as `resources.requests` and a node's allocatable are written:
//!
//! ```text
//! <quantity>        ::= <signedNumber><suffix>
//! <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
//! <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
//! <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei
//! <decimalSI>       ::= n | u | m | "" | k | M | G | T | P | E
//! <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>
//! ```
//!
//! The value is kept exact (digits × 10ⁿ × 1024ᵏ) and read the way the scheduler reads it:
//! CPU in millicores (`MilliValue`), memory in bytes (`Value`), both rounded up, as
//! `Quantity.ScaledValue` rounds. A negative request is refused, as the API's validation
//! (`ValidateResourceQuantityValue`) refuses it.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// A quantity as written in the scenario: a string (`"500m"`, `"16Gi"`) or a number.
#[derive(Clone, Debug, PartialEq)]
pub struct RawQuantity(pub String);

struct QuantityV;

impl Visitor<'_> for QuantityV {
    type Value = RawQuantity;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Kubernetes quantity such as \"500m\", \"2\" or \"16Gi\", or a number")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(RawQuantity(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(RawQuantity(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // Rust prints a float without an exponent, which the quantity grammar reads.
        Ok(RawQuantity(format!("{v}")))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(RawQuantity(v.to_string()))
    }
}

impl<'de> Deserialize<'de> for RawQuantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(QuantityV)
    }
}

/// An exact non-negative quantity: `digits × 10^exp10 × 1024^bin`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quantity {
    digits: u128,
    exp10: i32,
    bin: u32,
}

/// The suffixes, for messages.
const SUFFIXES: &str = "n, u, m, k, M, G, T, P, E (powers of 1000), Ki, Mi, Gi, Ti, Pi, Ei (powers of 1024), or an exponent such as e3";

/// Parses `s` as `resource.ParseQuantity` does; `Err` says what is wrong in words.
pub fn parse(s: &str) -> Result<Quantity, String> {
    if s.is_empty() {
        return Err("an empty quantity".into());
    }
    if s.contains(char::is_whitespace) {
        return Err("a quantity may not hold spaces".into());
    }
    let (negative, rest) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let end = rest
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(end);
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if frac.contains('.') {
        return Err("a number with two decimal points".into());
    }
    if int.is_empty() && frac.is_empty() {
        return Err("no number (a quantity starts with digits, e.g. \"500m\" or \"1Gi\")".into());
    }
    let frac = frac.trim_end_matches('0'); // "0.50" is "0.5": no digit is lost
    let all = format!("{int}{frac}");
    let significant = all.trim_start_matches('0');
    if significant.len() > 30 {
        return Err("too many digits (at most 30 significant digits)".into());
    }
    let digits: u128 = if significant.is_empty() {
        0
    } else {
        significant
            .parse()
            .map_err(|_| "not a number".to_string())?
    };
    let mut exp10 = -(frac.len() as i32);
    let mut bin = 0;
    match suffix {
        "" => {}
        "n" => exp10 -= 9,
        "u" => exp10 -= 6,
        "m" => exp10 -= 3,
        "k" => exp10 += 3,
        "M" => exp10 += 6,
        "G" => exp10 += 9,
        "T" => exp10 += 12,
        "P" => exp10 += 15,
        "E" => exp10 += 18,
        "Ki" => bin = 1,
        "Mi" => bin = 2,
        "Gi" => bin = 3,
        "Ti" => bin = 4,
        "Pi" => bin = 5,
        "Ei" => bin = 6,
        _ => {
            let exp = suffix
                .strip_prefix('e')
                .or_else(|| suffix.strip_prefix('E'))
                .filter(|e| {
                    let d = e.strip_prefix(['+', '-']).unwrap_or(e);
                    !d.is_empty() && d.len() <= 4 && d.bytes().all(|b| b.is_ascii_digit())
                })
                .and_then(|e| e.parse::<i32>().ok());
            match exp {
                Some(e) => exp10 += e,
                None => {
                    let hint = match suffix {
                        "K" => " (did you mean k, 1000, or Ki, 1024?)",
                        "ki" => " (did you mean Ki?)",
                        "mi" => " (did you mean Mi?)",
                        "gi" | "g" => " (did you mean Gi or G?)",
                        "KB" | "kB" | "MB" | "GB" | "TB" | "Kb" | "Mb" | "Gb" => {
                            " (Kubernetes writes bytes without B: k, M, G or Ki, Mi, Gi)"
                        }
                        _ => "",
                    };
                    return Err(format!(
                        "unknown suffix \"{suffix}\"{hint}; a quantity's suffix is one of {SUFFIXES}"
                    ));
                }
            }
        }
    }
    if negative && digits != 0 {
        return Err("a negative quantity (a resource request must be ≥ 0)".into());
    }
    Ok(Quantity { digits, exp10, bin })
}

impl Quantity {
    /// `⌈value × 10^scale⌉`, or `None` when it does not fit 64 bits. `scale` 3 is
    /// `MilliValue` (millicores), 0 is `Value` (bytes); both round up, as Kubernetes does.
    pub fn ceil_scaled(&self, scale: i32) -> Option<u64> {
        let mut num = self.digits;
        for _ in 0..self.bin {
            num = num.checked_mul(1024)?;
        }
        let e = self.exp10 + scale;
        let v = if e >= 0 {
            num.checked_mul(10u128.checked_pow(e as u32)?)?
        } else if -e > 38 {
            u128::from(num > 0) // below 10⁻³⁸ of a unit: rounds up to one unit
        } else {
            num.div_ceil(10u128.pow((-e) as u32))
        };
        u64::try_from(v).ok()
    }

    /// Millicores (`MilliValue`, rounded up).
    pub fn milli(&self) -> Option<u64> {
        self.ceil_scaled(3)
    }

    /// Units, e.g. bytes (`Value`, rounded up).
    pub fn units(&self) -> Option<u64> {
        self.ceil_scaled(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn milli(s: &str) -> u64 {
        parse(s).unwrap().milli().unwrap()
    }

    fn bytes(s: &str) -> u64 {
        parse(s).unwrap().units().unwrap()
    }

    #[test]
    fn cpu_forms_read_as_millicores() {
        assert_eq!(milli("500m"), 500);
        assert_eq!(milli("0.5"), 500);
        assert_eq!(milli("0.500000000000000000000000000000000"), 500);
        assert_eq!(milli(".5"), 500);
        assert_eq!(milli("1."), 1000);
        assert_eq!(milli("2"), 2000);
        assert_eq!(milli("+2"), 2000);
        assert_eq!(milli("3500m"), 3500);
        assert_eq!(milli("1e3"), 1_000_000);
        assert_eq!(milli("1E-3"), 1);
        // Below a millicore rounds up, as MilliValue does.
        assert_eq!(milli("1n"), 1);
        assert_eq!(milli("100u"), 1);
        assert_eq!(milli("0"), 0);
        assert_eq!(milli("-0"), 0);
    }

    #[test]
    fn memory_forms_read_as_bytes() {
        // The examples of the Kubernetes docs ("Resource units in Kubernetes"): all about 129 M.
        assert_eq!(bytes("128974848"), 128_974_848);
        assert_eq!(bytes("129e6"), 129_000_000);
        assert_eq!(bytes("129M"), 129_000_000);
        assert_eq!(bytes("123Mi"), 123 * 1024 * 1024);
        assert_eq!(bytes("1Gi"), 1 << 30);
        assert_eq!(bytes("1G"), 1_000_000_000);
        assert_eq!(bytes("16Gi"), 16 << 30);
        assert_eq!(bytes("1.5Ki"), 1536);
        assert_eq!(bytes("1k"), 1000);
        assert_eq!(bytes("1E"), 1_000_000_000_000_000_000);
        assert_eq!(bytes("2Ei"), 2 << 60);
        // "400m" of memory is 0.4 bytes: Value rounds it up to 1.
        assert_eq!(bytes("400m"), 1);
    }

    #[test]
    fn bad_quantities_are_refused_with_a_reason() {
        for (s, why) in [
            ("", "empty"),
            ("abc", "no number"),
            ("Gi", "no number"),
            ("1GB", "without B"),
            ("1K", "did you mean k"),
            ("1gi", "did you mean Gi"),
            ("1 Gi", "spaces"),
            (" 1", "spaces"),
            ("1.2.3", "two decimal points"),
            ("-1", "negative"),
            ("-500m", "negative"),
            ("1e", "unknown suffix"),
            ("1e3.5", "unknown suffix"),
            ("1Gii", "unknown suffix"),
            ("5%", "unknown suffix"),
            ("1234567890123456789012345678901", "too many digits"),
        ] {
            let e = parse(s).expect_err(s);
            assert!(e.contains(why), "{s:?}: {e}");
        }
    }

    #[test]
    fn no_string_of_quantity_parts_panics() {
        let parts = [
            "",
            "0",
            "9",
            ".",
            "-",
            "+",
            "e",
            "E",
            "e-",
            "9999",
            "Ki",
            "Ei",
            "m",
            "n",
            " ",
            "é",
            "99999999999999999999",
        ];
        for a in parts {
            for b in parts {
                for c in parts {
                    let s = format!("{a}{b}{c}");
                    if let Ok(q) = parse(&s) {
                        let _ = (q.milli(), q.units());
                    }
                }
            }
        }
    }

    #[test]
    fn values_beyond_64_bits_are_none() {
        assert_eq!(parse("100Ei").unwrap().units(), None);
        assert_eq!(parse("1e30").unwrap().milli(), None);
        assert_eq!(parse("1e-50").unwrap().milli(), Some(1));
    }
}
