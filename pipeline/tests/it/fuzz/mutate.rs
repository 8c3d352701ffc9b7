//! The fuzzers' input generator: random bytes, bit flips, truncations,
//! splices, overwrites with boundary values, and token soups, all from one
//! seeded [`Rng`] so a case replays from its seed.

use pipeline::dsp::rng::Rng;

/// Uniform in `0..n` (`n > 0`).
pub fn below(r: &mut Rng, n: usize) -> usize {
    (r.next_u64() % n.max(1) as u64) as usize
}

/// One element of `xs`.
pub fn pick<'a, T>(r: &mut Rng, xs: &'a [T]) -> &'a T {
    &xs[below(r, xs.len())]
}

/// True with probability `1 / n`.
pub fn one_in(r: &mut Rng, n: usize) -> bool {
    below(r, n) == 0
}

/// A length, mostly small, sometimes up to `max`.
pub fn len(r: &mut Rng, max: usize) -> usize {
    match below(r, 4) {
        0 => below(r, 8),
        1 | 2 => below(r, 64.min(max) + 1),
        _ => below(r, max + 1),
    }
}

/// `n` random bytes.
pub fn bytes(r: &mut Rng, n: usize) -> Vec<u8> {
    (0..n).map(|_| r.next_u64() as u8).collect()
}

/// Little-endian values that break header arithmetic.
const BOUNDARY: [u64; 12] = [
    0,
    1,
    2,
    0x7f,
    0x80,
    0xff,
    0x7fff,
    0x8000,
    0xffff,
    0x7fff_ffff,
    0xffff_ffff,
    0x1_0000,
];

/// A mutation of `base`: 1 to 4 edits of random kinds; `others` are
/// spliced in.
pub fn mutate(r: &mut Rng, base: &[u8], others: &[Vec<u8>], alphabet: &[u8]) -> Vec<u8> {
    let mut v = base.to_vec();
    for _ in 0..1 + below(r, 4) {
        let at = below(r, v.len() + 1);
        match below(r, 9) {
            0 if !v.is_empty() => {
                // Bit flips.
                for _ in 0..1 + below(r, 8) {
                    let i = below(r, v.len());
                    v[i] ^= 1 << below(r, 8);
                }
            }
            1 => v.truncate(at),
            2 if !others.is_empty() => {
                // Splice: our prefix, another input's suffix.
                let o = pick(r, others);
                let from = below(r, o.len() + 1);
                v.truncate(at);
                v.extend_from_slice(&o[from..]);
            }
            3 => {
                // A boundary value written over the bytes at `at` (header fields).
                let x = pick(r, &BOUNDARY).to_le_bytes();
                let w = *pick(r, &[1usize, 2, 4, 8]);
                for (k, b) in x.iter().take(w).enumerate() {
                    if let Some(slot) = v.get_mut(at + k) {
                        *slot = *b;
                    }
                }
            }
            4 => {
                let n = len(r, 64);
                let ins = bytes(r, n);
                v.splice(at..at, ins);
            }
            5 => {
                let n = len(r, 64).min(v.len() - at);
                v.drain(at..at + n);
            }
            6 if !v.is_empty() => {
                // A chunk repeated.
                let s = at.min(v.len() - 1);
                let n = len(r, 256).min(v.len() - s);
                let chunk = v[s..s + n].to_vec();
                v.splice(s..s, chunk);
            }
            7 if !alphabet.is_empty() => {
                let n = len(r, 32);
                let ins: Vec<u8> = (0..n).map(|_| *pick(r, alphabet)).collect();
                v.splice(at..at, ins);
            }
            _ => {
                let n = len(r, 16).min(v.len() - at);
                for b in &mut v[at..at + n] {
                    *b = r.next_u64() as u8;
                }
            }
        }
    }
    v
}

/// An input for a byte reader: mostly a mutated seed, sometimes pure noise
/// or a seed as is.
pub fn input(r: &mut Rng, seeds: &[Vec<u8>], alphabet: &[u8], max: usize) -> Vec<u8> {
    match below(r, 10) {
        0 => {
            let n = len(r, max);
            bytes(r, n)
        }
        1 if !seeds.is_empty() => pick(r, seeds).clone(),
        _ if !seeds.is_empty() => {
            let base = pick(r, seeds).clone();
            mutate(r, &base, seeds, alphabet)
        }
        _ => Vec::new(),
    }
}

/// A string from `tokens` (valid words, separators, odd numbers) and
/// random characters, then maybe mutated as bytes.
pub fn soup(r: &mut Rng, tokens: &[&str], max_tokens: usize) -> String {
    let mut s = String::new();
    for _ in 0..1 + below(r, max_tokens) {
        match below(r, 8) {
            0 => s.push(odd_char(r)),
            _ => s.push_str(pick::<&str>(r, tokens)),
        }
    }
    if one_in(r, 4) {
        let b = mutate(r, s.as_bytes(), &[], b"0123456789-_:/.,e ");
        s = String::from_utf8_lossy(&b).into_owned();
    }
    s
}

/// A character that tends to break string handling.
pub fn odd_char(r: &mut Rng) -> char {
    *pick(
        r,
        &[
            '\0', '\t', '\n', '\r', ' ', '"', '\'', ',', ';', ':', '/', '\\', '.', '-', '+', '_',
            'é', 'ß', '٣', '\u{feff}', '\u{202e}', '\u{fffd}', '日', '🙂', '\u{7f}', 'e', 'E',
        ],
    )
}

/// A number as text: boundary cases, then random magnitudes.
pub fn number_text(r: &mut Rng) -> String {
    const SPECIAL: [&str; 28] = [
        "0",
        "-0",
        "1",
        "-1",
        "2",
        "nan",
        "NaN",
        "inf",
        "-inf",
        "infinity",
        "1e309",
        "-1e309",
        "1e-320",
        "4.9e-324",
        "18446744073709551615",
        "18446744073709551616",
        "9223372036854775808",
        "4294967296",
        "0x10",
        " 1",
        "1 ",
        "+1",
        "",
        "1.",
        ".5",
        "1e",
        "١",
        "1_000",
    ];
    match below(r, 3) {
        0 => pick(r, &SPECIAL).to_string(),
        _ => {
            let x = number(r);
            match below(r, 3) {
                0 => format!("{x}"),
                1 => format!("{x:e}"),
                _ => format!("{}", x as i64),
            }
        }
    }
}

/// An `f64`: boundary cases (zero, signs, NaN, infinities, extremes) and
/// random magnitudes.
pub fn number(r: &mut Rng) -> f64 {
    const SPECIAL: [f64; 16] = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MAX,
        f64::MIN,
        f64::MIN_POSITIVE,
        1e-320,
        f64::EPSILON,
        1e30,
        1e-30,
        10.0,
    ];
    if one_in(r, 3) {
        return *pick(r, &SPECIAL);
    }
    let sign = if one_in(r, 4) { -1.0 } else { 1.0 };
    sign * r.uniform() * 10f64.powi(below(r, 24) as i32 - 8)
}

/// A `usize`: boundary cases and random magnitudes.
pub fn count(r: &mut Rng) -> usize {
    const SPECIAL: [usize; 10] = [0, 1, 2, 3, 7, 16, 64, 1 << 20, usize::MAX / 2, usize::MAX];
    if one_in(r, 2) {
        return *pick(r, &SPECIAL);
    }
    (r.next_u64() >> below(r, 64)) as usize
}
