//! The last resort for a bug: work on one input that panics becomes an
//! error naming that input (`internal error: …`), and the batch goes on.
//! The panic is not printed by the default hook while it is caught here
//! (the error carries its message and place instead); panics elsewhere are
//! printed as usual.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// Inside [`catch`] on this thread: the hook keeps quiet.
    static CATCHING: Cell<bool> = const { Cell::new(false) };
    /// Where the last quiet panic happened.
    static PLACE: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

fn install_hook() {
    HOOK.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if CATCHING.with(Cell::get) {
                let place = info
                    .location()
                    .map(|l| format!("{}:{}", l.file(), l.line()));
                PLACE.with(|p| *p.borrow_mut() = place);
            } else {
                default(info);
            }
        }));
    });
}

/// Runs `f`; a panic inside it is returned as
/// `Err("internal error: MESSAGE (at FILE:LINE)")`.
pub fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    install_hook();
    let outer = CATCHING.with(|c| c.replace(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    CATCHING.with(|c| c.set(outer));
    result.map_err(|payload| {
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".to_string());
        match PLACE.with(|p| p.borrow_mut().take()) {
            Some(place) => format!("internal error: {msg} (at {place}; please report it)"),
            None => format!("internal error: {msg} (please report it)"),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_and_values_pass_through() {
        assert_eq!(catch(|| 3), Ok(3));
        let e = catch(|| -> u8 { panic!("boom {}", 7) }).unwrap_err();
        assert!(e.starts_with("internal error: boom 7"), "{e}");
        assert!(e.contains("panic_guard.rs"), "{e}");
    }
}
