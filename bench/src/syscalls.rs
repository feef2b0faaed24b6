//! System calls the servers make during a step, counted by `perf stat` on the
//! `raw_syscalls:sys_enter` tracepoint: how many `send`s, `epoll_wait`s and futex calls one
//! delivery costs is the first thing to know about a fan-out path. `perf` is optional: without
//! it (or without permission to trace), the figure is missing, never made up.

use std::process::{Child, Command, Stdio};

use tempfile::NamedTempFile;

pub struct SyscallCount {
    perf: Child,
    out: NamedTempFile,
}

impl SyscallCount {
    /// Starts counting the system calls of `pids`; `None` when `perf` cannot.
    pub fn start(pids: &[u32]) -> Option<Self> {
        if pids.is_empty() {
            return None;
        }
        let out = NamedTempFile::new().ok()?;
        let list = pids
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let perf = Command::new("perf")
            .args([
                "stat",
                "-x",
                ",",
                "-e",
                "raw_syscalls:sys_enter",
                "-p",
                &list,
                "-o",
            ])
            .arg(out.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        // perf attaches after it starts; a step lasts seconds, so the few milliseconds it takes
        // to attach are within the figure's noise.
        Some(Self { perf, out })
    }

    /// Stops counting; the number of system calls, if perf reported one.
    pub fn stop(mut self) -> Option<u64> {
        // SAFETY: kill has no memory preconditions; the pid is our own child's.
        unsafe {
            libc::kill(self.perf.id() as libc::pid_t, libc::SIGINT);
        }
        self.perf.wait().ok()?;
        let text = std::fs::read_to_string(self.out.path()).ok()?;
        parse(&text)
    }
}

/// The count from `perf stat -x ,` output: `<count>,<unit>,raw_syscalls:sys_enter,...`.
fn parse(text: &str) -> Option<u64> {
    text.lines()
        .find(|l| l.contains("raw_syscalls:sys_enter"))
        .and_then(|l| l.split(',').next())
        .and_then(|count| count.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn reads_the_count_and_refuses_what_perf_could_not_count() {
        let ok = "# started on Sun Dec  6\n\n182734,,raw_syscalls:sys_enter,5001234567,100.00,,\n";
        assert_eq!(parse(ok), Some(182_734));
        let refused = "<not supported>,,raw_syscalls:sys_enter,0,100.00,,\n";
        assert_eq!(parse(refused), None);
        assert_eq!(parse(""), None);
    }
}
