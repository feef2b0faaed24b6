//! The subscribers' own threads: one single-threaded tokio runtime per core, each holding an
//! equal share of the sockets. On the shared work-stealing runtime every frame's wake-up could
//! land on the other core's queue (and be stolen back), which is the load tool spending CPU the
//! servers need on a 2-core machine; a socket here is only ever polled by the thread it lives on.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle as ThreadHandle;

use tokio::runtime::{Builder, Handle};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub struct ClientThreads {
    handles: Vec<Handle>,
    next: AtomicUsize,
    /// Dropped (or sent) to end each thread's runtime; its tasks are dropped with it.
    stops: Vec<oneshot::Sender<()>>,
    threads: Vec<ThreadHandle<()>>,
}

impl ClientThreads {
    /// `n` threads (at least one), each running its own runtime until this is dropped.
    pub fn start(n: usize) -> std::io::Result<Self> {
        let mut pool = Self {
            handles: Vec::new(),
            next: AtomicUsize::new(0),
            stops: Vec::new(),
            threads: Vec::new(),
        };
        for i in 0..n.max(1) {
            let rt = Builder::new_current_thread().enable_all().build()?;
            let (stop, stopped) = oneshot::channel::<()>();
            pool.handles.push(rt.handle().clone());
            pool.stops.push(stop);
            pool.threads.push(
                std::thread::Builder::new()
                    .name(format!("subscribers-{i}"))
                    .spawn(move || {
                        let _ = rt.block_on(stopped);
                    })?,
            );
        }
        Ok(pool)
    }

    /// One thread per CPU this process may run on.
    pub fn per_core() -> std::io::Result<Self> {
        Self::start(std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// Runs `task` on the next thread in turn; the handle may be awaited from any runtime.
    pub fn spawn<F>(&self, task: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.handles.len();
        self.handles[i].spawn(task)
    }
}

impl Drop for ClientThreads {
    fn drop(&mut self) {
        self.stops.clear();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ClientThreads;

    #[tokio::test]
    async fn tasks_run_on_the_pools_threads_in_turn_and_are_awaited_from_outside() {
        let pool = ClientThreads::start(2).unwrap();
        let mut names = Vec::new();
        for _ in 0..4 {
            let name = pool
                .spawn(async {
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                    std::thread::current().name().map(str::to_string)
                })
                .await
                .unwrap();
            names.push(name.unwrap_or_default());
        }
        assert_eq!(
            names,
            [
                "subscribers-0",
                "subscribers-1",
                "subscribers-0",
                "subscribers-1"
            ]
        );
    }
}
