//! Sticky percentage bucketing of users for feature flags, as real flag SDKs do it.
//!
//! A flag released to p % of users must pick the same users on every evaluation, on every pod
//! and after every restart (stickiness), must only add users as p grows (monotonic exposure:
//! nobody flips back to the old code path mid-rollout), and must pick independently for
//! different flags. SDKs get all three from a hash of the flag and the user: no state at all.
//!
//! The default scheme is LaunchDarkly's, as its server SDKs implement percentage rollouts
//! (e.g. Ruby's `EvaluatorBucketing.bucket_context`, the JS SDK's `Bucketer`):
//! - hash input: `"{flagKey}.{salt}.{userKey}"` (UTF-8), where `salt` is the flag's salt;
//! - bucket: the first 15 hex digits (60 bits) of the SHA-1 of that input, as an integer,
//!   divided in double precision by `0xFFFFFFFFFFFFFFF`, giving a value in [0, 1];
//! - a user is in a p % rollout when `bucket < p / 100` (SDKs add rollout weights in
//!   thousandths of a percent and take the first variation whose running sum exceeds the bucket).
//!
//! Here the user key is the simulator's numeric user id written in decimal (`42` → `"42"`),
//! which is also how LaunchDarkly buckets an integer-valued attribute. Not modelled: the
//! experiment `seed` that replaces `flagKey.salt`, the legacy `secondary` key, and bucketing by
//! attributes other than the key. Double-precision division lets the top 2⁻⁵⁴ of hash values
//! round to exactly 1.0, as in the JS and Ruby SDKs; [`in_rollout`] therefore treats 100 % as
//! everyone, as SDKs do by falling back to the last variation.
//!
//! The alternative [`BucketingScheme::Unleash`] follows Unleash's `flexibleRollout` strategy:
//! normalized value `murmur3_x86_32("{groupId}:{userId}", seed 0) % 100 + 1` (1..=100, the hash
//! read as unsigned as the Node and Rust clients do), enabled when `percentage > 0 &&
//! normalized <= percentage`. The group id is the flag key (Unleash's default when a strategy
//! names none); Unleash has no salt, so the salt is ignored.
//!
//! Speed: bucketing runs up to millions of times per simulated run, so both hashes stream their
//! input through fixed-size state on the stack (the user id is formatted into a 10-byte buffer);
//! nothing allocates. SHA-1 and MurmurHash3 are implemented here (a few dozen lines each, pinned
//! by published test vectors) rather than pulled in as dependencies.

/// `0xFFFFFFFFFFFFFFF` as the SDKs divide by it: a double (which rounds it to 2⁶⁰).
const LD_SCALE: f64 = 0xFFF_FFFF_FFFF_FFFF_u64 as f64;

/// Which real SDK's bucketing to reproduce.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum BucketingScheme {
    /// LaunchDarkly: SHA-1 of `flagKey.salt.userKey`, 60-bit bucket, `bucket < p/100`.
    #[default]
    LaunchDarkly,
    /// Unleash `flexibleRollout`: murmur3 of `flagKey:userId` into 1..=100, `value <= p`.
    Unleash,
}

impl BucketingScheme {
    /// The user's position in [0, 1] for this flag: the bucket for LaunchDarkly,
    /// `(normalized − 1) / 100` for Unleash.
    pub fn bucket(self, flag_key: &str, salt: &str, user_id: u32) -> f64 {
        match self {
            BucketingScheme::LaunchDarkly => bucket(flag_key, salt, user_id),
            BucketingScheme::Unleash => {
                f64::from(unleash_normalized(flag_key, user_id) - 1) / 100.0
            }
        }
    }

    /// Whether the user is in a rollout to `percent` % (0 to 100) by this scheme's rule.
    pub fn in_rollout(self, flag_key: &str, salt: &str, user_id: u32, percent: f64) -> bool {
        match self {
            BucketingScheme::LaunchDarkly => in_rollout(flag_key, salt, user_id, percent),
            BucketingScheme::Unleash => {
                percent > 0.0 && f64::from(unleash_normalized(flag_key, user_id)) <= percent
            }
        }
    }
}

/// LaunchDarkly's bucket for a user and flag: the top 60 bits of
/// SHA-1(`"{flag_key}.{salt}.{user_id}"`) divided by `0xFFFFFFFFFFFFFFF`, in [0, 1].
pub fn bucket(flag_key: &str, salt: &str, user_id: u32) -> f64 {
    let mut digits = [0u8; 10];
    let mut sha = Sha1::new();
    sha.update(flag_key.as_bytes());
    sha.update(b".");
    sha.update(salt.as_bytes());
    sha.update(b".");
    sha.update(decimal(user_id, &mut digits));
    let h = sha.finish();
    let top60 = (u64::from(h[0]) << 28) | (u64::from(h[1]) >> 4);
    top60 as f64 / LD_SCALE
}

/// Whether the user is in a LaunchDarkly rollout to `percent` %: `bucket < percent / 100`,
/// with ≥ 100 % including everyone and ≤ 0 % (or NaN) no one.
pub fn in_rollout(flag_key: &str, salt: &str, user_id: u32, percent: f64) -> bool {
    percent >= 100.0 || (percent > 0.0 && bucket(flag_key, salt, user_id) < percent / 100.0)
}

/// Unleash's normalized value (1..=100) of a user in a group:
/// `murmur3_x86_32("{group_id}:{user_id}", 0) % 100 + 1`.
pub fn unleash_normalized(group_id: &str, user_id: u32) -> u32 {
    let mut digits = [0u8; 10];
    let mut h = Murmur3::default();
    h.update(group_id.as_bytes());
    h.update(b":");
    h.update(decimal(user_id, &mut digits));
    h.finish() % 100 + 1
}

/// Writes `n` in decimal into the end of `buf`, returning the digits.
fn decimal(mut n: u32, buf: &mut [u8; 10]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

/// Streaming SHA-1 (FIPS 180-4) over a one-block buffer.
struct Sha1 {
    state: [u32; 5],
    block: [u8; 64],
    filled: usize,
    len: u64,
}

impl Sha1 {
    fn new() -> Self {
        Sha1 {
            state: [
                0x6745_2301,
                0xEFCD_AB89,
                0x98BA_DCFE,
                0x1032_5476,
                0xC3D2_E1F0,
            ],
            block: [0; 64],
            filled: 0,
            len: 0,
        }
    }

    fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        while !data.is_empty() {
            let take = (64 - self.filled).min(data.len());
            self.block[self.filled..self.filled + take].copy_from_slice(&data[..take]);
            self.filled += take;
            data = &data[take..];
            if self.filled == 64 {
                compress(&mut self.state, &self.block);
                self.filled = 0;
            }
        }
    }

    /// The digest as five big-endian words.
    fn finish(mut self) -> [u32; 5] {
        let bits = self.len.wrapping_mul(8);
        let mut pad = [0u8; 64];
        pad[0] = 0x80;
        let pad_len = if self.filled < 56 {
            56 - self.filled
        } else {
            120 - self.filled
        };
        self.update(&pad[..pad_len]);
        self.update(&bits.to_be_bytes());
        self.state
    }
}

fn compress(state: &mut [u32; 5], block: &[u8; 64]) {
    let mut w = [0u32; 80];
    for (t, chunk) in block.chunks_exact(4).enumerate() {
        w[t] = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
    }
    for t in 16..80 {
        w[t] = (w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16]).rotate_left(1);
    }
    // One loop per 20-round stage: no per-round branch on the round function.
    let mut s = *state;
    for &wt in &w[..20] {
        s = sha1_round(s, (s[1] & s[2]) | (!s[1] & s[3]), 0x5A82_7999, wt);
    }
    for &wt in &w[20..40] {
        s = sha1_round(s, s[1] ^ s[2] ^ s[3], 0x6ED9_EBA1, wt);
    }
    for &wt in &w[40..60] {
        s = sha1_round(
            s,
            (s[1] & s[2]) | (s[1] & s[3]) | (s[2] & s[3]),
            0x8F1B_BCDC,
            wt,
        );
    }
    for &wt in &w[60..] {
        s = sha1_round(s, s[1] ^ s[2] ^ s[3], 0xCA62_C1D6, wt);
    }
    for (acc, v) in state.iter_mut().zip(s) {
        *acc = acc.wrapping_add(v);
    }
}

#[inline(always)]
fn sha1_round([a, b, c, d, e]: [u32; 5], f: u32, k: u32, wt: u32) -> [u32; 5] {
    let t = a
        .rotate_left(5)
        .wrapping_add(f)
        .wrapping_add(e)
        .wrapping_add(k);
    [t.wrapping_add(wt), a, b.rotate_left(30), c, d]
}

/// Streaming MurmurHash3 x86_32 with seed 0.
#[derive(Default)]
struct Murmur3 {
    h: u32,
    tail: u32,
    tail_len: u32,
    len: u32,
}

const M3_C1: u32 = 0xCC9E_2D51;
const M3_C2: u32 = 0x1B87_3593;

fn m3_scramble(k: u32) -> u32 {
    k.wrapping_mul(M3_C1).rotate_left(15).wrapping_mul(M3_C2)
}

impl Murmur3 {
    fn update(&mut self, data: &[u8]) {
        for &byte in data {
            self.tail |= u32::from(byte) << (8 * self.tail_len);
            self.tail_len += 1;
            if self.tail_len == 4 {
                self.h = (self.h ^ m3_scramble(self.tail)).rotate_left(13);
                self.h = self.h.wrapping_mul(5).wrapping_add(0xE654_6B64);
                self.tail = 0;
                self.tail_len = 0;
            }
        }
        self.len = self.len.wrapping_add(data.len() as u32);
    }

    fn finish(self) -> u32 {
        let mut h = self.h;
        if self.tail_len > 0 {
            h ^= m3_scramble(self.tail);
        }
        h ^= self.len;
        h ^= h >> 16;
        h = h.wrapping_mul(0x85EB_CA6B);
        h ^= h >> 13;
        h = h.wrapping_mul(0xC2B2_AE35);
        h ^ (h >> 16)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha1_hex(parts: &[&[u8]]) -> String {
        let mut sha = Sha1::new();
        parts.iter().for_each(|p| sha.update(p));
        sha.finish().iter().map(|w| format!("{w:08x}")).collect()
    }

    fn murmur(data: &[u8]) -> u32 {
        let mut h = Murmur3::default();
        h.update(data);
        h.finish()
    }

    #[test]
    fn sha1_matches_fips_vectors() {
        assert_eq!(sha1_hex(&[]), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            sha1_hex(&[b"abc"]),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        // 56 bytes: the length no longer fits, so padding spills into a second block.
        let two_blocks = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        assert_eq!(
            sha1_hex(&[two_blocks]),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
        let (head, rest) = two_blocks.split_at(17);
        assert_eq!(sha1_hex(&[head, b"", rest]), sha1_hex(&[two_blocks]));
        // hashlib.sha1(b"a" * 1000): sixteen blocks fed in uneven pieces.
        let a = [b'a'; 1000];
        assert_eq!(
            sha1_hex(&[&a[..1], &a[1..130], &a[130..]]),
            "291e9a6c66994949b57ba5e650361e98fc36b1ba"
        );
    }

    #[test]
    fn murmur3_matches_published_vectors() {
        assert_eq!(murmur(b""), 0);
        assert_eq!(murmur(b"hello"), 0x248B_FA47);
        assert_eq!(
            murmur(b"The quick brown fox jumps over the lazy dog"),
            0x2E4F_F723
        );
        // unleash-client-node: "normalized values are the same across node, java, and go".
        assert_eq!(unleash_normalized("gr1", 123), 73);
        assert_eq!(unleash_normalized("groupX", 999), 25);
    }

    #[test]
    fn pinned_launchdarkly_buckets() {
        // python3: h = hashlib.sha1(b"flag.salt.42").hexdigest()[:15];
        //          int(h, 16) / 0xFFFFFFFFFFFFFFF
        assert_eq!(bucket("flag", "salt", 42), 0.155_060_567_204_300_48);
        assert_eq!(bucket("new-checkout", "", 0), 0.804_797_651_713_197_6);
        // A 90-byte key: the hash spans two SHA-1 blocks; largest user id.
        let long = "checkout-redesign-with-a-really-long-flag-key-that-spans-two-sha1-blocks";
        assert_eq!(bucket(long, "b7f1c2", u32::MAX), 0.971_293_796_311_418_2);
        assert_eq!(
            BucketingScheme::LaunchDarkly.bucket("flag", "salt", 42),
            bucket("flag", "salt", 42)
        );
    }

    #[test]
    fn sticky_and_monotonic() {
        let percents = [
            0.0, 0.5, 1.0, 5.0, 12.5, 25.0, 50.0, 75.0, 90.0, 99.9, 100.0,
        ];
        for scheme in [BucketingScheme::LaunchDarkly, BucketingScheme::Unleash] {
            for user in 0..5_000 {
                let b = scheme.bucket("sticky", "s1", user);
                assert!((0.0..=1.0).contains(&b));
                assert_eq!(b.to_bits(), scheme.bucket("sticky", "s1", user).to_bits());
                let inside: Vec<bool> = percents
                    .iter()
                    .map(|&p| scheme.in_rollout("sticky", "s1", user, p))
                    .collect();
                assert!(
                    !inside[0] && inside[percents.len() - 1],
                    "{scheme:?} {user}"
                );
                assert!(
                    inside.windows(2).all(|w| w[0] <= w[1]),
                    "{scheme:?} user {user} left"
                );
            }
        }
    }

    #[test]
    fn splits_match_targets_on_100k_users() {
        const N: u32 = 100_000;
        let targets = [1.0, 5.0, 25.0, 50.0, 90.0];
        for scheme in [BucketingScheme::LaunchDarkly, BucketingScheme::Unleash] {
            let mut hits = [0u32; 5];
            for user in 0..N {
                for (hit, &p) in hits.iter_mut().zip(&targets) {
                    *hit += u32::from(scheme.in_rollout("split-test", "a1b2", user, p));
                }
            }
            for (&hit, &p) in hits.iter().zip(&targets) {
                let share = 100.0 * f64::from(hit) / f64::from(N);
                assert!((share - p).abs() < 1.0, "{scheme:?}: {share} % for {p} %");
            }
        }
    }

    fn correlation(xs: &[f64], ys: &[f64]) -> f64 {
        let n = xs.len() as f64;
        let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
        let cov: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
        let vx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
        let vy: f64 = ys.iter().map(|y| (y - my).powi(2)).sum();
        cov / (vx * vy).sqrt()
    }

    #[test]
    fn flags_and_salts_bucket_independently() {
        let users = 0..100_000u32;
        let of = |flag: &str, salt: &str| -> Vec<f64> {
            users.clone().map(|u| bucket(flag, salt, u)).collect()
        };
        let a = of("flag-a", "salt");
        // 1/√n ≈ 0.003: six standard errors.
        for other in [of("flag-b", "salt"), of("flag-a", "salt2")] {
            assert!(correlation(&a, &other).abs() < 0.02);
            let both = a
                .iter()
                .zip(&other)
                .filter(|(x, y)| **x < 0.5 && **y < 0.5)
                .count();
            assert!((both as f64 / 100_000.0 - 0.25).abs() < 0.01, "{both}");
        }
        let unleash = |flag| -> Vec<f64> {
            users
                .clone()
                .map(|u| BucketingScheme::Unleash.bucket(flag, "", u))
                .collect()
        };
        assert!(correlation(&unleash("flag-a"), &unleash("flag-b")).abs() < 0.02);
    }

    #[test]
    fn edge_percentages() {
        assert!(!in_rollout("f", "s", 1, f64::NAN) && !in_rollout("f", "s", 1, -5.0));
        assert!(in_rollout("f", "s", 1, 100.0) && in_rollout("f", "s", 1, 150.0));
        assert!(!BucketingScheme::Unleash.in_rollout("f", "s", 1, 0.0));
        assert!(BucketingScheme::Unleash.in_rollout("f", "s", 1, 100.0));
        let mut buf = [0u8; 10];
        assert_eq!(decimal(0, &mut buf), b"0");
        assert_eq!(decimal(u32::MAX, &mut buf), b"4294967295");
    }
}
