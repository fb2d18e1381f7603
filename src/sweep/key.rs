//! Stable identities: a row's key, a sweep's id (FNV-1a 64 over length-prefixed fields, so
//! they stay the same across Rust releases and platforms, unlike std's `DefaultHasher`), and
//! the shard a grid point belongs to.

/// rollsim's version, part of every key: a new version may simulate differently.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// FNV-1a, 64 bits (Fowler–Noll–Vo; offset basis and prime from the reference).
#[derive(Clone, Copy, Debug)]
pub struct Fnv(u64);

impl Fnv {
    /// A hasher in its initial state.
    pub fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    /// Hashes `bytes` as they are.
    pub fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
        self
    }

    /// Hashes a field: its length, then its bytes (so `ab`,`c` differs from `a`,`bc`).
    pub fn field(&mut self, bytes: &[u8]) -> &mut Self {
        self.bytes(&(bytes.len() as u64).to_le_bytes()).bytes(bytes)
    }

    /// The hash as 16 hex digits.
    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

impl Default for Fnv {
    fn default() -> Self {
        Self::new()
    }
}

/// A row's key: the scenario's bytes, the point's assignments (path, value as written), the
/// seed and rollsim's version. A restarted sweep skips the rows whose key is already written.
pub fn row_key(scenario: &[u8], assignments: &[(&str, &str)], seed: u64) -> String {
    let mut h = Fnv::new();
    h.field(b"rollsim-sweep-row")
        .field(VERSION.as_bytes())
        .field(scenario);
    for (path, value) in assignments {
        h.field(path.as_bytes()).field(value.as_bytes());
    }
    h.bytes(&seed.to_le_bytes()).hex()
}

/// A sweep's id: the scenario's bytes (its `seed` included), the `--set` arguments, the runs,
/// `--seed` if given and rollsim's version. Shards merge only when their ids are equal.
pub fn sweep_id(scenario: &[u8], sets: &[String], runs: u32, seed: Option<u64>) -> String {
    let mut h = Fnv::new();
    h.field(b"rollsim-sweep")
        .field(VERSION.as_bytes())
        .field(scenario);
    for s in sets {
        h.field(s.as_bytes());
    }
    h.bytes(&runs.to_le_bytes());
    match seed {
        Some(s) => h.bytes(&[1]).bytes(&s.to_le_bytes()),
        None => h.bytes(&[0]),
    };
    h.hex()
}

/// One of N disjoint slices of a grid: points `p` with `p mod count == index` (0-based), so
/// slices differ in size by at most one point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    /// 0-based slice index.
    pub index: u32,
    /// Number of slices.
    pub count: u32,
}

impl Shard {
    /// The whole grid.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Whether grid point `point` is in this slice.
    pub fn has(&self, point: u64) -> bool {
        point % u64::from(self.count) == u64::from(self.index)
    }
}

/// Where the shard came from, for messages.
pub const SHARD_HELP: &str = "--shard I/N runs slice I of N, 0-based (0/4 … 3/4); without it the index comes from JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN (Slurm array), and N from --shards, ROLLSIM_SHARDS or SLURM_ARRAY_TASK_COUNT";

/// Parses `I/N`.
pub fn parse_shard(s: &str) -> Result<Shard, String> {
    let (i, n) = s
        .split_once('/')
        .ok_or_else(|| format!("`{s}` is not of the form I/N"))?;
    let index: u32 = i
        .trim()
        .parse()
        .map_err(|_| format!("`{i}` in `{s}` is not a whole number"))?;
    let count: u32 = n
        .trim()
        .parse()
        .map_err(|_| format!("`{n}` in `{s}` is not a whole number"))?;
    if count == 0 {
        return Err(format!("`{s}` has no slices (N is 0)"));
    }
    if index >= count {
        return Err(format!(
            "shard index {index} is out of range for {count} shards: indices are 0-based, 0 to {}",
            count - 1
        ));
    }
    Ok(Shard { index, count })
}

/// The shard to run: `--shard` if given, else from the environment `env` reads
/// (`JOB_COMPLETION_INDEX`, or `SLURM_ARRAY_TASK_ID` − `SLURM_ARRAY_TASK_MIN`), with the count
/// from `shards`, `ROLLSIM_SHARDS` or `SLURM_ARRAY_TASK_COUNT`. `Ok(None)`: not sharded.
pub fn resolve_shard(
    flag: Option<&str>,
    shards: Option<u32>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Shard>, String> {
    if let Some(s) = flag {
        return parse_shard(s).map(Some);
    }
    let num = |name: &str| -> Result<Option<u64>, String> {
        env(name)
            .map(|v| {
                v.trim()
                    .parse::<u64>()
                    .map_err(|_| format!("{name}={v} is not a whole number"))
            })
            .transpose()
    };
    let index = match (num("JOB_COMPLETION_INDEX")?, num("SLURM_ARRAY_TASK_ID")?) {
        (Some(i), _) => i,
        (None, Some(id)) => id
            .checked_sub(num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0))
            .ok_or("SLURM_ARRAY_TASK_ID is below SLURM_ARRAY_TASK_MIN")?,
        (None, None) => return Ok(None),
    };
    let count = match shards {
        Some(n) => u64::from(n),
        None => match (num("ROLLSIM_SHARDS")?, num("SLURM_ARRAY_TASK_COUNT")?) {
            (Some(n), _) | (None, Some(n)) => n,
            (None, None) => {
                return Err(format!(
                    "this is task {index} of an indexed job or array, but the number of shards is not known"
                ))
            }
        },
    };
    parse_shard(&format!("{index}/{count}")).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_reference_vectors_and_keys_are_pinned() {
        // Reference test vectors of FNV-1a 64 (draft-eastlake-fnv).
        assert_eq!(Fnv::new().bytes(b"").hex(), "cbf29ce484222325");
        assert_eq!(Fnv::new().bytes(b"a").hex(), "af63dc4c8601ec8c");
        assert_eq!(Fnv::new().bytes(b"foobar").hex(), "85944171f73967e8");
        // A key is a pure function of its inputs; this value changes only with the version.
        let k = row_key(b"seed = 1\n", &[("rollout.max_surge", "25%")], 42);
        assert_eq!(
            k,
            row_key(b"seed = 1\n", &[("rollout.max_surge", "25%")], 42)
        );
        assert_ne!(
            k,
            row_key(b"seed = 1\n", &[("rollout.max_surge", "25%")], 43)
        );
        assert_ne!(
            k,
            row_key(b"seed = 1\n", &[("rollout.max_surg", "e25%")], 42)
        );
        let pinned = match VERSION {
            "0.1.0" => "a167f6c6f78ecf8e",
            _ => k.as_str(),
        };
        assert_eq!(k, pinned);
        let sets = ["a=1,2".to_string()];
        let id = sweep_id(b"x", &sets, 2, None);
        assert_ne!(id, sweep_id(b"x", &sets, 2, Some(0)));
        assert_ne!(id, sweep_id(b"x", &sets, 3, None));
        assert_ne!(id, sweep_id(b"y", &sets, 2, None));
        assert_eq!(id, sweep_id(b"x", &sets, 2, None));
    }

    #[test]
    fn shards_are_disjoint_balanced_and_cover_the_grid() {
        let shards: Vec<Shard> = (0..3).map(|i| Shard { index: i, count: 3 }).collect();
        let sizes: Vec<usize> = shards
            .iter()
            .map(|s| (0..10).filter(|p| s.has(*p)).count())
            .collect();
        assert_eq!(sizes, [4, 3, 3]);
        for p in 0..10 {
            assert_eq!(shards.iter().filter(|s| s.has(p)).count(), 1);
        }
        assert!((0..10).all(|p| Shard::ALL.has(p)));
    }

    #[test]
    fn shard_specs_and_the_environment() {
        assert_eq!(parse_shard("2/4"), Ok(Shard { index: 2, count: 4 }));
        assert!(parse_shard("4/4").unwrap_err().contains("out of range"));
        assert!(parse_shard("1/0").unwrap_err().contains("N is 0"));
        assert!(parse_shard("x").is_err());
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let none = env(&[]);
        assert_eq!(resolve_shard(None, None, &none), Ok(None));
        assert_eq!(
            resolve_shard(Some("1/2"), None, &none),
            Ok(Some(Shard { index: 1, count: 2 }))
        );
        let k8s = env(&[("JOB_COMPLETION_INDEX", "3"), ("ROLLSIM_SHARDS", "5")]);
        assert_eq!(
            resolve_shard(None, None, &k8s),
            Ok(Some(Shard { index: 3, count: 5 }))
        );
        assert_eq!(
            resolve_shard(None, Some(8), &k8s),
            Ok(Some(Shard { index: 3, count: 8 }))
        );
        let slurm = env(&[
            ("SLURM_ARRAY_TASK_ID", "4"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert_eq!(
            resolve_shard(None, None, &slurm),
            Ok(Some(Shard { index: 3, count: 4 }))
        );
        let no_count = env(&[("JOB_COMPLETION_INDEX", "0")]);
        assert!(resolve_shard(None, None, &no_count)
            .unwrap_err()
            .contains("not known"));
        let out = env(&[("JOB_COMPLETION_INDEX", "5"), ("ROLLSIM_SHARDS", "5")]);
        assert!(resolve_shard(None, None, &out)
            .unwrap_err()
            .contains("out of range"));
    }
}
