//! A small seeded generator (SplitMix64-seeded xoshiro256++, ziggurat
//! normals), written here rather than taken from a crate so that noise and
//! the demo corpus depend only on their seed, never on a dependency's version.

/// FNV-1a, to mix a clip id into the seed.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// xoshiro256++ seeded through SplitMix64.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator whose whole stream is determined by `seed`.
    pub fn new(seed: u64) -> Rng {
        let mut z = seed;
        let mut next = || {
            z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut x = z;
            x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            x ^ (x >> 31)
        };
        Rng {
            s: [next(), next(), next(), next()],
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as i64) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A standard normal (ziggurat, 128 layers; Marsaglia & Tsang 2000,
    /// with the layer, sign and abscissa taken from separate bits of one
    /// 64-bit draw).
    pub fn normal(&mut self) -> f64 {
        self.normal_with(ziggurat())
    }

    /// Fills `out` with `f(standard normal)` for each element, fetching the
    /// tables once.
    pub fn fill_normal(&mut self, out: &mut [f32], mut f: impl FnMut(usize, f64) -> f32) {
        let z = ziggurat();
        for (i, o) in out.iter_mut().enumerate() {
            *o = f(i, self.normal_with(z));
        }
    }

    #[inline(always)]
    fn normal_with(&mut self, z: &Ziggurat) -> f64 {
        loop {
            let u = self.next_u64();
            let i = (u & 127) as usize;
            let sign = if u & 128 == 0 { 1.0 } else { -1.0 };
            let x = ((u >> 11) as i64) as f64 * (1.0 / (1u64 << 53) as f64) * z.x[i];
            if x < z.x[i + 1] {
                return sign * x;
            }
            if i == 0 {
                // The tail beyond r (Marsaglia 1964).
                loop {
                    let a = -(1.0 - self.uniform()).ln() / ZIG_R;
                    let b = -(1.0 - self.uniform()).ln();
                    if 2.0 * b > a * a {
                        return sign * (ZIG_R + a);
                    }
                }
            }
            let y = z.f[i] + self.uniform() * (z.f[i + 1] - z.f[i]);
            if y < (-0.5 * x * x).exp() {
                return sign * x;
            }
        }
    }
}

/// Start of the tail and area of each layer, for 128 layers.
const ZIG_R: f64 = 3.442_619_855_899;
const ZIG_V: f64 = 9.912_563_035_262_17e-3;

/// Layer edges `x` (decreasing, `x[128] = 0`) and `f = exp(-x^2/2)` at them;
/// `x[0]` is the width of the base strip (which includes the tail).
struct Ziggurat {
    x: [f64; 129],
    f: [f64; 129],
}

fn ziggurat() -> &'static Ziggurat {
    static TABLES: std::sync::OnceLock<Ziggurat> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| {
        let pdf = |x: f64| (-0.5 * x * x).exp();
        let mut x = [0f64; 129];
        x[0] = ZIG_V / pdf(ZIG_R);
        x[1] = ZIG_R;
        for i in 1..127 {
            x[i + 1] = (-2.0 * (ZIG_V / x[i] + pdf(x[i])).ln()).sqrt();
        }
        x[128] = 0.0;
        let mut f = [0f64; 129];
        for i in 0..129 {
            f[i] = pdf(x[i]);
        }
        f[0] = 0.0;
        Ziggurat { x, f }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_and_normal_have_the_right_moments() {
        let mut r = Rng::new(1);
        let n = 200_000;
        let mean_u: f64 = (0..n).map(|_| r.uniform()).sum::<f64>() / n as f64;
        assert!((mean_u - 0.5).abs() < 0.01, "{mean_u}");
        let z: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let len = z.len() as f64;
        let m = z.iter().sum::<f64>() / len;
        let v = z.iter().map(|x| (x - m).powi(2)).sum::<f64>() / len;
        let kurt = z.iter().map(|x| (x - m).powi(4)).sum::<f64>() / len / (v * v);
        assert!(m.abs() < 0.01 && (v - 1.0).abs() < 0.02, "mean {m} var {v}");
        assert!((kurt - 3.0).abs() < 0.1, "kurtosis {kurt}");
        // Tails: P(|z| > 2) = 0.0455, P(|z| > 3) = 0.0027, P(|z| > r) = 0.000576.
        let p = |t: f64| z.iter().filter(|x| x.abs() > t).count() as f64 / len;
        assert!((p(2.0) - 0.0455).abs() < 0.003, "p2 {}", p(2.0));
        assert!((p(3.0) - 0.0027).abs() < 0.0006, "p3 {}", p(3.0));
        assert!(
            (p(3.442_62) - 0.000_576).abs() < 0.0003,
            "tail {}",
            p(3.442_62)
        );
        let pos = z.iter().filter(|x| **x > 0.0).count() as f64 / len;
        assert!((pos - 0.5).abs() < 0.005);
    }
}
