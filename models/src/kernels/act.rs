//! Gate activations for the LSTM kernel: `sigmoid` and `tanh` written
//! with plain arithmetic so the compiler vectorises whole rows (libm's
//! `expf`/`tanhf` are scalar calls and cost a fifth of an LSTM epoch).
//!
//! `f32` uses Cephes' `expf` (range reduction by ln 2, degree-6
//! polynomial, < 2 ulp) and `tanhf` (odd polynomial below |x| 0.625, the
//! exponential form above); `f64` (the finite-difference checks) uses the
//! standard library. The LSTM tests compare the f32 kernel with dfdx's ops
//! (which call libm) within 1e-5.

/// Element-wise activations of a kernel's float type.
pub trait Activations: Copy {
    /// `1 / (1 + e^-x)`.
    fn sigmoid(self) -> Self;
    /// `tanh(x)`.
    fn tanh_act(self) -> Self;
}

impl Activations for f64 {
    fn sigmoid(self) -> f64 {
        1.0 / (1.0 + (-self).exp())
    }
    fn tanh_act(self) -> f64 {
        self.tanh()
    }
}

/// `e^x` for `x` in roughly [-87, 88] (clamped there), Cephes' `expf`.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    // n = round(x / ln 2), by the 1.5 * 2^23 trick (vectorises without SSE4.1).
    const SHIFT: f32 = 12_582_912.0;
    let n = (x * std::f32::consts::LOG2_E + SHIFT) - SHIFT;
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 5e-1;
    let y = p * r * r + r + 1.0;
    y * f32::from_bits(((n as i32 + 127) << 23) as u32)
}

impl Activations for f32 {
    #[inline(always)]
    fn sigmoid(self) -> f32 {
        1.0 / (1.0 + exp_f32(-self))
    }

    #[inline(always)]
    fn tanh_act(self) -> f32 {
        let a = self.abs();
        // Small |x|: tanh(x) = x + x^3 P(x^2) (Cephes tanhf).
        let z = a * a;
        let small = ((((-5.704_988_7e-3 * z + 2.063_909e-2) * z - 5.373_971_6e-2) * z
            + 1.333_144_2e-1)
            * z
            - 3.333_328e-1)
            * z
            * a
            + a;
        let large = 1.0 - 2.0 / (exp_f32(2.0 * a) + 1.0);
        let t = if a < 0.625 { small } else { large };
        t.copysign(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_activations_match_libm() {
        let mut worst = (0f32, 0f32, 0f32);
        for i in -200_000..=200_000 {
            let x = i as f32 * 1e-4 * (1.0 + (i % 7) as f32 * 0.13);
            let e = (x.exp() - exp_f32(x)).abs() / x.exp();
            let s = (1.0 / (1.0 + (-x).exp()) - x.sigmoid()).abs();
            let t = (x.tanh() - x.tanh_act()).abs() / x.tanh().abs().max(1e-30);
            worst = (worst.0.max(e), worst.1.max(s), worst.2.max(t));
        }
        assert!(worst.0 < 5e-7, "exp relative error {}", worst.0);
        assert!(worst.1 < 5e-7, "sigmoid absolute error {}", worst.1);
        assert!(worst.2 < 5e-7, "tanh relative error {}", worst.2);
        assert_eq!(0f32.tanh_act(), 0.0);
        assert_eq!(100f32.tanh_act(), 1.0);
        assert!((-100f32).sigmoid() < 1e-30);
    }
}
