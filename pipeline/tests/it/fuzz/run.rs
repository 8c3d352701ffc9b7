//! The fuzz driver: case seeds and budget, the child process that runs a
//! target's cases (so a crash names its case), the watchdog, and what a
//! failure prints.

use std::io::{BufRead, BufReader, Read, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pipeline::dsp::rng::{fnv1a, Rng};

use super::{KNOWN, TARGETS};

/// One call taking longer than this is a hang.
pub const HANG: Duration = Duration::from_secs(10);
/// Cases every target runs even on a slow machine.
const MIN_CASES: u64 = 50;
const DEFAULT_SEED: u64 = 0x5e2f_0019;
const DEFAULT_SECS: f64 = 30.0;
/// Set in the child: the case number to start at.
const CHILD: &str = "SER_FUZZ_CHILD";
/// Set in the child: its share of the budget, seconds.
const CHILD_SECS: &str = "SER_FUZZ_CHILD_SECS";
/// The child's stdout lines: a case about to run, and the end.
const CASE: &str = "\u{1}fuzz-case ";
const DONE: &str = "\u{1}fuzz-done ";
/// The child's address space: a runaway allocation fails (and is
/// reported) instead of taking the machine's memory.
#[cfg(unix)]
const ADDRESS_SPACE: u64 = 16 << 30;

fn env_num<T: std::str::FromStr>(name: &str) -> Option<T> {
    let v = std::env::var(name).ok()?;
    match v.trim().parse() {
        Ok(n) => Some(n),
        Err(_) => panic!("{name}={v}: not a number"),
    }
}

fn base_seed() -> u64 {
    env_num("SER_FUZZ_SEED").unwrap_or(DEFAULT_SEED)
}

fn strict() -> bool {
    std::env::var("SER_FUZZ_STRICT").is_ok_and(|v| v == "1")
}

/// The seed of case `i` of `target`.
fn case_seed(base: u64, target: &str, i: u64) -> u64 {
    Rng::new(base ^ fnv1a(target.as_bytes()) ^ i.wrapping_mul(0x9e37_79b9_7f4a_7c15)).next_u64()
}

fn known(target: &str, failure: &str) -> Option<&'static str> {
    KNOWN
        .iter()
        .find(|(t, text, _)| *t == target && failure.contains(text))
        .map(|(_, _, what)| *what)
}

fn replay_line(target: &str, seed: u64) -> String {
    format!(
        "replay: SER_FUZZ_REPLAY={seed} cargo test --release --workspace --test it -- \
         fuzz::{target} --exact --nocapture"
    )
}

/// One line on stderr, past the test harness's capture (`make test` shows it).
fn say(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// An error's text, or a failure if it is blank.
pub fn reason(what: &str, e: impl std::fmt::Display) -> Result<(), String> {
    if e.to_string().trim().is_empty() {
        Err(format!("{what}: rejected without a reason"))
    } else {
        Ok(())
    }
}

/// Bytes shown in a failure: escaped, the first 300 of them.
pub fn show_bytes(b: &[u8]) -> String {
    let head: String = b
        .iter()
        .take(300)
        .flat_map(|&c| std::ascii::escape_default(c))
        .map(char::from)
        .collect();
    let more = if b.len() > 300 { "…" } else { "" };
    format!("{} bytes: b\"{head}\"{more}", b.len())
}

/// Runs fuzz target `target` (the test `fuzz::<target>`) for its share of
/// the budget: `make` builds an input from the case's generator, `check`
/// calls the library on it and says what is wrong (a panic inside it is
/// caught and reported too).
pub fn fuzz<I>(
    target: &'static str,
    make: impl FnMut(&mut Rng) -> I,
    show: impl Fn(&I) -> String,
    check: impl FnMut(&I) -> Result<(), String>,
) {
    if let Some(seed) = env_num::<u64>("SER_FUZZ_REPLAY") {
        note_panic_locations();
        let mut cases = Cases::new(target, make, show, check, true);
        cases.run(seed);
        cases.finish();
    } else if let Some(start) = env_num::<u64>(CHILD) {
        note_panic_locations();
        child(
            target,
            start,
            Cases::new(target, make, show, check, strict()),
        );
    } else {
        parent(target);
    }
}

/// A target's cases as one process runs them.
struct Cases<I, M, S, C> {
    target: &'static str,
    make: M,
    show: S,
    check: C,
    strict: bool,
    dog: Watchdog,
    failures: Vec<String>,
    tolerated: Vec<(&'static str, u64)>,
    _input: std::marker::PhantomData<I>,
}

impl<I, M, S, C> Cases<I, M, S, C>
where
    M: FnMut(&mut Rng) -> I,
    S: Fn(&I) -> String,
    C: FnMut(&I) -> Result<(), String>,
{
    fn new(target: &'static str, make: M, show: S, check: C, strict: bool) -> Self {
        Cases {
            target,
            make,
            show,
            check,
            strict,
            dog: Watchdog::start(target),
            failures: Vec::new(),
            tolerated: Vec::new(),
            _input: std::marker::PhantomData,
        }
    }

    /// Runs the case of `seed`, recording what went wrong.
    fn run(&mut self, seed: u64) {
        let input = (self.make)(&mut Rng::new(seed));
        if env_num::<u64>("SER_FUZZ_REPLAY").is_some() {
            // A replayed case names its input first: a hang aborts before any report.
            say(&format!(
                "fuzz {}: input: {}",
                self.target,
                (self.show)(&input)
            ));
        }
        self.dog.arm(seed);
        let check = &mut self.check;
        let outcome = catch_unwind(AssertUnwindSafe(|| check(&input)));
        self.dog.disarm();
        let why = match outcome {
            Ok(Ok(())) => return,
            Ok(Err(why)) => why,
            Err(p) => {
                let at = LAST_PANIC
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .take()
                    .unwrap_or_default();
                format!("PANIC at {at}: {}", panic_text(p.as_ref()))
            }
        };
        let target = self.target;
        if let Some(what) = known(target, &why).filter(|_| !self.strict) {
            match self.tolerated.iter_mut().find(|(w, _)| *w == what) {
                Some((_, n)) => *n += 1,
                None => {
                    say(&format!("fuzz {target}: KNOWN (case seed {seed}): {what}"));
                    self.tolerated.push((what, 1));
                }
            }
            return;
        }
        self.failures.push(format!(
            "case seed {seed}: {why}\n    input: {}\n    {}",
            (self.show)(&input),
            replay_line(target, seed)
        ));
    }

    fn known_count(&self) -> u64 {
        self.tolerated.iter().map(|(_, n)| n).sum()
    }

    fn finish(&self) {
        assert!(
            self.failures.is_empty(),
            "fuzz {}: {} failing case(s):\n{}",
            self.target,
            self.failures.len(),
            self.failures.join("\n")
        );
    }
}

/// The child: runs cases from number `start` until its budget is spent,
/// announcing each on stdout before it runs (the parent names the case
/// if the process dies in it).
fn child<I, M, S, C>(target: &'static str, start: u64, mut cases: Cases<I, M, S, C>)
where
    M: FnMut(&mut Rng) -> I,
    S: Fn(&I) -> String,
    C: FnMut(&I) -> Result<(), String>,
{
    let base = base_seed();
    let budget = Duration::from_secs_f64(env_num(CHILD_SECS).unwrap_or(0.0f64).max(0.0));
    let t0 = Instant::now();
    let mut i = start;
    while i - start < MIN_CASES || t0.elapsed() < budget {
        let seed = case_seed(base, target, i);
        let _ = writeln!(std::io::stdout(), "{CASE}{i} {seed}");
        cases.run(seed);
        i += 1;
        if cases.failures.len() >= 5 {
            break;
        }
    }
    let _ = writeln!(
        std::io::stdout(),
        "{DONE}{} {}",
        i - start,
        cases.known_count()
    );
    cases.finish();
}

/// The parent: runs the target's cases in a child process, again after a
/// known crash (from the next case), and reports.
fn parent(target: &'static str) {
    let base = base_seed();
    let secs: f64 = env_num("SER_FUZZ_SECS").unwrap_or(DEFAULT_SECS);
    let budget = Duration::from_secs_f64(secs.max(0.0) / TARGETS as f64);
    let t0 = Instant::now();
    let (mut start, mut cases, mut known_n) = (0u64, 0u64, 0u64);
    loop {
        let left = budget.saturating_sub(t0.elapsed());
        let run = run_child(target, start, left);
        if let Some((n, k)) = run.done {
            cases += n;
            known_n += k;
        }
        if run.ok {
            break;
        }
        let tail = tail(&run.stderr, 40);
        if run.done.is_some() {
            panic!("fuzz {target}: failing cases (child's report):\n{tail}");
        }
        let Some((i, seed)) = run.last else {
            panic!(
                "fuzz {target}: the child died before its first case ({}):\n{tail}",
                run.status
            );
        };
        match known(target, &run.stderr).filter(|_| !strict()) {
            Some(what) => {
                say(&format!(
                    "fuzz {target}: KNOWN crash ({}, case seed {seed}): {what}",
                    run.status
                ));
                cases += i + 1 - start;
                known_n += 1;
                start = i + 1;
            }
            None => panic!(
                "fuzz {target}: the process died ({}) in case seed {seed}:\n{tail}\n{}",
                run.status,
                replay_line(target, seed)
            ),
        }
    }
    say(&format!(
        "fuzz {target}: {cases} cases in {:.1}s (base seed {base}), {known_n} known failures",
        t0.elapsed().as_secs_f64()
    ));
}

/// What a child run left.
struct ChildRun {
    ok: bool,
    status: String,
    /// The last case announced: `(number, seed)`.
    last: Option<(u64, u64)>,
    /// Cases run and known failures, if it got to the end.
    done: Option<(u64, u64)>,
    stderr: String,
}

fn run_child(target: &str, start: u64, secs: Duration) -> ChildRun {
    let exe = std::env::current_exe().expect("the test binary");
    let mut cmd = Command::new(exe);
    cmd.args([
        &format!("fuzz::{target}"),
        "--exact",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD, start.to_string())
    .env(CHILD_SECS, secs.as_secs_f64().to_string())
    .env_remove("SER_FUZZ_REPLAY")
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    limit_memory(&mut cmd);
    let mut child = cmd.spawn().expect("start the fuzz child");
    let mut err = child.stderr.take().expect("child stderr");
    let errors = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let (mut last, mut done) = (None, None);
    let out = BufReader::new(child.stdout.take().expect("child stdout"));
    for line in out.lines().map_while(Result::ok) {
        let pair = |s: &str| {
            let (a, b) = s.split_once(' ')?;
            Some((a.parse().ok()?, b.parse().ok()?))
        };
        if let Some(rest) = line.strip_prefix(CASE) {
            last = pair(rest);
        } else if let Some(rest) = line.strip_prefix(DONE) {
            done = pair(rest);
        }
    }
    let status = child.wait().expect("wait for the fuzz child");
    let stderr = errors.join().unwrap_or_default();
    for line in stderr.lines().filter(|l| l.contains(": KNOWN (")) {
        say(line);
    }
    ChildRun {
        ok: status.success(),
        status: status.to_string(),
        last,
        done,
        stderr,
    }
}

#[cfg(unix)]
fn limit_memory(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: only setrlimit (async-signal-safe) runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: ADDRESS_SPACE as libc::rlim_t,
                rlim_max: ADDRESS_SPACE as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(unix))]
fn limit_memory(_: &mut Command) {}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Where the last panic happened (`file:line`), for the failure's text.
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Keeps each panic's location in [`LAST_PANIC`] (then prints it as
/// usual). Only in a process running one target: the hook is global.
fn note_panic_locations() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if let Some(l) = info.location() {
            *LAST_PANIC.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(format!("{}:{}", l.file(), l.line()));
        }
        default(info);
    }));
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

/// Aborts the process when a watched call runs past [`HANG`], naming the case.
struct Watchdog {
    armed: Arc<Mutex<Option<(Instant, u64)>>>,
    stop: Arc<AtomicBool>,
}

impl Watchdog {
    fn start(target: &'static str) -> Watchdog {
        let armed: Arc<Mutex<Option<(Instant, u64)>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (a, s) = (armed.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                let now = *a.lock().unwrap_or_else(|p| p.into_inner());
                if let Some((t0, seed)) = now {
                    if t0.elapsed() > HANG {
                        say(&format!(
                            "fuzz {target}: HANG: case seed {seed} ran more than {}s\n{}",
                            HANG.as_secs(),
                            replay_line(target, seed)
                        ));
                        std::process::abort();
                    }
                }
            }
        });
        Watchdog { armed, stop }
    }

    fn arm(&self, seed: u64) {
        *self.armed.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), seed));
    }

    fn disarm(&self) {
        *self.armed.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
