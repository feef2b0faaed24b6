//! Agent passwords: argon2id in PHC strings. Hashing is deliberately slow, so it runs on the
//! blocking pool and never stalls sockets.
//!
//! Each hash or verify holds about 19 MiB (argon2's default m=19456 KiB) while it runs, and the
//! blocking pool allows 512 threads: unbounded, 16 concurrent wrong logins took a server from 14
//! to 338 MiB. [`Passwords`] lets a fixed number run at once (a gate shared by hashing, verifying
//! and the dummy verify of unknown emails), on as many threads of its own. Each hash maps its
//! working memory from the kernel and unmaps it when done ([`Workspace`]), so memory is
//! slots x 19 MiB at the peak of a burst of logins and nothing once it is over. Not argon2's own
//! heap allocation: glibc raises its mmap threshold after the first 19 MiB free, later blocks
//! come from thread arenas, and they were not given back (RSS grew 19 MiB with every sequential
//! login). Nor one buffer per thread kept for life: a tenant whose server created its bootstrap
//! admin at start then idled at 30 MiB instead of 11. Callers that cannot get a slot within a
//! short wait are told the server is busy instead of queueing without bound.

use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use argon2::password_hash::{Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::{Semaphore, oneshot};

/// How long a login or agent creation waits for a hashing slot before it is refused. Hashes take
/// tens of milliseconds, so this covers a queue of dozens; beyond it the server is flooded.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(3);

/// The default's cap on slots: 4 x 19 MiB stays well inside the smallest plan's 256 MiB on a pod
/// without a CPU limit on a large node, and 4 slots still check about a hundred logins a second.
pub const DEFAULT_MAX_CONCURRENCY: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Every slot stayed taken for the whole wait.
    #[error("password checks are saturated; retry shortly")]
    Busy,
    #[error("{0}")]
    Failed(String),
}

type Job = Box<dyn FnOnce() + Send>;

/// The gate every password hash and verify passes through, and the threads that run them.
#[derive(Clone, Debug)]
pub struct Passwords {
    gate: Arc<Semaphore>,
    wait: Duration,
    jobs: mpsc::Sender<Job>,
}

impl Default for Passwords {
    /// One slot per CPU (the container's CPU limit, where one is set), at most
    /// [`DEFAULT_MAX_CONCURRENCY`]: argon2 is CPU-bound, so more at once adds memory, not
    /// throughput.
    fn default() -> Self {
        let cpus = std::thread::available_parallelism().map_or(2, usize::from);
        Self::new(cpus.min(DEFAULT_MAX_CONCURRENCY), DEFAULT_WAIT)
    }
}

impl Passwords {
    /// Starts `concurrency` hashing threads; they end when the last clone is dropped.
    pub fn new(concurrency: usize, wait: Duration) -> Self {
        let concurrency = concurrency.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..concurrency {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("password-{n}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while taking a job, never while running it.
                        let job = match queue.lock() {
                            Ok(q) => q.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                })
                .expect("start a password hashing thread");
        }
        Self {
            gate: Arc::new(Semaphore::new(concurrency)),
            wait,
            jobs,
        }
    }

    pub async fn hash(&self, password: String) -> Result<String, PasswordError> {
        self.run(move || {
            hash_now(password.as_bytes())
                .map_err(|e| PasswordError::Failed(format!("could not hash password: {e}")))
        })
        .await?
    }

    /// `Ok(false)` for a wrong password and for a hash this build cannot parse.
    pub async fn verify(&self, password: String, phc: String) -> Result<bool, PasswordError> {
        self.run(move || match verify_now(password.as_bytes(), &phc) {
            Ok(matches) => Ok(matches),
            Err(ComputeError::Hash(_)) => Ok(false),
            Err(e @ ComputeError::Memory { .. }) => Err(PasswordError::Failed(e.to_string())),
        })
        .await?
    }

    /// Runs `work` on a hashing thread once a slot is free; the slot is held until it returns,
    /// so a thread never has more than one job waiting.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        let permit = tokio::time::timeout(self.wait, self.gate.clone().acquire_owned())
            .await
            .map_err(|_| PasswordError::Busy)?
            .map_err(|_| PasswordError::Failed("password gate closed".into()))?;
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(work());
        });
        self.jobs
            .send(job)
            .map_err(|_| PasswordError::Failed("password threads stopped".into()))?;
        let out = result
            .await
            .map_err(|_| PasswordError::Failed("password hashing job failed".into()));
        drop(permit);
        out
    }
}

/// Why a hash could not be computed.
#[derive(Debug, thiserror::Error)]
enum ComputeError {
    /// Malformed parameters, salt or PHC string.
    #[error("{0}")]
    Hash(argon2::password_hash::Error),
    #[error("could not map {mib} MiB of working memory for argon2: {source}")]
    Memory { mib: usize, source: std::io::Error },
}

impl From<argon2::password_hash::Error> for ComputeError {
    fn from(e: argon2::password_hash::Error) -> Self {
        Self::Hash(e)
    }
}

impl From<argon2::Error> for ComputeError {
    fn from(e: argon2::Error) -> Self {
        Self::Hash(e.into())
    }
}

/// argon2's working memory for one hash: an anonymous mapping, returned to the kernel when
/// dropped. Mapping and filling 19 MiB anew makes a hash 15.4 -> 20.1 ms (release, this 2-core
/// machine); logins are rare next to messages, and an idle tenant keeps nothing.
struct Workspace(memmap2::MmapMut);

impl Workspace {
    fn map(blocks: usize) -> Result<Self, ComputeError> {
        let len = blocks * std::mem::size_of::<Block>();
        // MAP_POPULATE: the kernel fills all the pages in this call rather than in one fault per
        // page as argon2 first writes them.
        memmap2::MmapOptions::new()
            .len(len)
            .populate()
            .map_anon()
            .map(Self)
            .map_err(|source| ComputeError::Memory {
                mib: len >> 20,
                source,
            })
    }

    fn blocks(&mut self) -> &mut [Block] {
        let len = self.0.len() / std::mem::size_of::<Block>();
        // SAFETY: the mapping is page-aligned (a Block needs 64 bytes' alignment), at least
        // `len` Blocks long, and zero-filled by the kernel; a Block is 128 plain u64 words, for
        // which zero bytes are a valid value. The slice borrows `self` mutably, so nothing else
        // reaches the mapping while it lives.
        unsafe { std::slice::from_raw_parts_mut(self.0.as_mut_ptr().cast::<Block>(), len) }
    }
}

/// argon2 in a workspace of its own, unmapped as soon as the hash is out.
fn compute(
    algorithm: Algorithm,
    version: Version,
    params: Params,
    password: &[u8],
    salt: Salt<'_>,
    output_len: usize,
) -> Result<Output, ComputeError> {
    let mut salt_bytes = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_bytes)?;
    let mut workspace = Workspace::map(params.block_count())?;
    let argon2 = Argon2::new(algorithm, version, params);
    Ok(Output::init_with(output_len, |out| {
        Ok(argon2.hash_password_into_with_memory(password, salt, out, workspace.blocks())?)
    })?)
}

/// A new argon2id PHC string with the default parameters and a random salt.
fn hash_now(password: &[u8]) -> Result<String, ComputeError> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    let params = Params::default();
    let output = compute(
        Algorithm::default(),
        Version::default(),
        params.clone(),
        password,
        salt.as_salt(),
        Params::DEFAULT_OUTPUT_LEN,
    )?;
    Ok(PasswordHash {
        algorithm: Algorithm::default().ident(),
        version: Some(Version::default().into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    }
    .to_string())
}

/// Recomputes a PHC string's hash with its own algorithm, version, parameters and salt;
/// `Output`'s comparison takes constant time.
fn verify_now(password: &[u8], phc: &str) -> Result<bool, ComputeError> {
    let parsed = PasswordHash::new(phc)?;
    let algorithm = Algorithm::try_from(parsed.algorithm)?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()?
        .unwrap_or_default();
    let params = Params::try_from(&parsed)?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Ok(false);
    };
    let computed = compute(algorithm, version, params, password, salt, expected.len())?;
    Ok(computed == expected)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{PasswordError, Passwords};

    #[test]
    fn hashes_made_by_argon2_itself_verify_here_and_the_other_way_round() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let salt = argon2::password_hash::SaltString::generate(
            &mut argon2::password_hash::rand_core::OsRng,
        );
        let theirs = argon2::Argon2::default()
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        assert!(super::verify_now(b"correct horse", &theirs).unwrap());
        assert!(!super::verify_now(b"wrong", &theirs).unwrap());
        let ours = super::hash_now(b"correct horse").unwrap();
        let parsed = argon2::password_hash::PasswordHash::new(&ours).unwrap();
        assert!(
            argon2::Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
    }

    #[tokio::test]
    async fn the_right_password_verifies_and_a_wrong_one_does_not() {
        let p = Passwords::default();
        let h = p.hash("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert_eq!(p.verify("correct horse".into(), h.clone()).await, Ok(true));
        assert_eq!(p.verify("wrong".into(), h).await, Ok(false));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_caller_finding_every_slot_taken_past_the_wait_is_told_busy() {
        let p = Passwords::new(1, Duration::from_millis(50));
        let hash = p.hash("correct horse".into()).await.unwrap();
        // One verify holds the only slot; more queue behind it.
        let calls: Vec<_> = (0..8)
            .map(|_| {
                let (p, hash) = (p.clone(), hash.clone());
                tokio::spawn(async move { p.verify("wrong".into(), hash).await })
            })
            .collect();
        let started = Instant::now();
        let mut busy = 0;
        for c in calls {
            if c.await.unwrap() == Err(PasswordError::Busy) {
                busy += 1;
            }
        }
        assert!(
            busy > 0,
            "with one slot and a 50 ms wait, some of 8 verifies are refused"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_hash_gives_its_working_memory_back_when_it_is_done() {
        use crate::heap::private_kib;
        let p = Passwords::new(2, super::DEFAULT_WAIT);
        let before = private_kib();
        let hash = p.hash("correct horse".into()).await.unwrap();
        assert_eq!(p.verify("correct horse".into(), hash).await, Ok(true));
        let after = private_kib();
        // Each hash works in 19 MiB; what it kept would show here whole.
        assert!(
            after < before + 8 * 1024,
            "private memory grew {} KiB over a hash and a verify ({before} -> {after} KiB)",
            after.saturating_sub(before)
        );
    }
}
