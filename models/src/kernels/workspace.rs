//! Buffers the kernels reuse from step to step: a training step allocates
//! and frees the same large activations every time, so they come from a
//! small pool instead of the allocator (no page faults, no zeroing of
//! buffers that are overwritten anyway). A [`Buf`] goes back to its pool
//! when dropped, also when it is the saved input of a backward pass.

use std::ops::{Deref, DerefMut};
use std::sync::Mutex;

use super::Float;

/// Buffers kept per element type (enough for every live buffer of a step).
const KEEP: usize = 64;

/// A pool of buffers of one element type.
pub struct Pool<E>(Mutex<Vec<Vec<E>>>);

impl<E> Pool<E> {
    /// An empty pool.
    pub const fn new() -> Pool<E> {
        Pool(Mutex::new(Vec::new()))
    }
}

impl<E> Default for Pool<E> {
    fn default() -> Self {
        Pool::new()
    }
}

/// A buffer from the pool of `E`; derefs to `[E]`.
pub struct Buf<E: Float> {
    v: Vec<E>,
}

impl<E: Float> Buf<E> {
    fn take(n: usize) -> Vec<E> {
        let mut pool = E::pool().0.lock().unwrap_or_else(|p| p.into_inner());
        // The smallest buffer that fits.
        let best = pool
            .iter()
            .enumerate()
            .filter(|(_, v)| v.capacity() >= n)
            .min_by_key(|(_, v)| v.capacity())
            .map(|(i, _)| i);
        match best {
            Some(i) => pool.swap_remove(i),
            None => Vec::with_capacity(n),
        }
    }

    /// `n` zeros.
    pub fn zeroed(n: usize) -> Buf<E> {
        let mut v = Self::take(n);
        v.clear();
        v.resize(n, E::zero());
        Buf { v }
    }

    /// `n` elements whose values are whatever the buffer held: for
    /// buffers every element of which is written before it is read.
    pub fn scratch(n: usize) -> Buf<E> {
        let mut v = Self::take(n);
        if v.len() >= n {
            v.truncate(n);
        } else {
            v.resize(n, E::zero());
        }
        Buf { v }
    }
}

impl<E: Float> Deref for Buf<E> {
    type Target = [E];
    fn deref(&self) -> &[E] {
        &self.v
    }
}

impl<E: Float> DerefMut for Buf<E> {
    fn deref_mut(&mut self) -> &mut [E] {
        &mut self.v
    }
}

impl<E: Float> Drop for Buf<E> {
    fn drop(&mut self) {
        let v = std::mem::take(&mut self.v);
        if v.capacity() == 0 {
            return;
        }
        let mut pool = E::pool().0.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < KEEP {
            pool.push(v);
        }
    }
}

impl<E: Float> std::fmt::Debug for Buf<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Buf({} elements)", self.v.len())
    }
}

impl<E: Float> Clone for Buf<E> {
    fn clone(&self) -> Self {
        let mut b = Buf::scratch(self.v.len());
        b.copy_from_slice(&self.v);
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reused_buffers_are_zeroed_when_asked() {
        for _ in 0..3 {
            let mut a = Buf::<f64>::zeroed(1000);
            assert!(
                a.iter().all(|&v| v == 0.0),
                "a reused buffer came back dirty"
            );
            a.fill(7.0);
            let s = Buf::<f64>::scratch(500);
            assert_eq!(s.len(), 500);
        }
        let pool = f64::pool().0.lock().unwrap();
        assert!(pool.len() <= KEEP);
    }
}
