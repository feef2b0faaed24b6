//! What the tool reads from and asks of the operating system: the file-descriptor limit, and
//! per-process memory and CPU plus the kernel's socket memory from `/proc`.

use std::fs;

#[derive(Debug, thiserror::Error)]
pub enum SysError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} has no {field} line (is this Linux?)")]
    Missing { path: String, field: &'static str },
    #[error("setrlimit(RLIMIT_NOFILE) failed: {0}")]
    Rlimit(std::io::Error),
}

/// Raises the soft file-descriptor limit of this process to its hard limit and returns it.
/// Children started afterwards inherit it.
pub fn raise_fd_limit() -> Result<u64, SysError> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit for the duration of both calls.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return Err(SysError::Rlimit(std::io::Error::last_os_error()));
        }
        lim.rlim_cur = lim.rlim_max;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
            return Err(SysError::Rlimit(std::io::Error::last_os_error()));
        }
    }
    Ok(lim.rlim_cur)
}

fn read(path: &str) -> Result<String, SysError> {
    fs::read_to_string(path).map_err(|source| SysError::Read {
        path: path.to_string(),
        source,
    })
}

/// A `Name:   1234 kB` line of a `/proc/{pid}/{file}`, in bytes.
fn kib_field(pid: u32, file: &str, field: &'static str) -> Result<u64, SysError> {
    let path = format!("/proc/{pid}/{file}");
    let text = read(&path)?;
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map(|kib| kib * 1024)
        .ok_or(SysError::Missing { path, field })
}

/// Resident set size of a process, in bytes.
pub fn rss_bytes(pid: u32) -> Result<u64, SysError> {
    kib_field(pid, "status", "VmRSS")
}

/// Proportional set size of a process, in bytes: its private pages plus each shared page
/// divided by the number of processes mapping it, so that the PSS of every process on a node
/// adds up to the memory they hold together.
pub fn pss_bytes(pid: u32) -> Result<u64, SysError> {
    kib_field(pid, "smaps_rollup", "Pss")
}

/// Anonymous (private, not file-backed) resident memory of a process, in bytes: RSS without
/// the pages of the executable and libraries, which the page cache shares and can reclaim.
pub fn rss_anon_bytes(pid: u32) -> Result<u64, SysError> {
    kib_field(pid, "status", "RssAnon")
}

/// Highest resident set size the process has reached, in bytes.
pub fn peak_rss_bytes(pid: u32) -> Result<u64, SysError> {
    kib_field(pid, "status", "VmHWM")
}

/// User plus system CPU time the process has used, in seconds.
pub fn cpu_seconds(pid: u32) -> Result<f64, SysError> {
    let path = format!("/proc/{pid}/stat");
    let stat = read(&path)?;
    // The command name (field 2) may contain spaces; fields after its closing parenthesis are
    // fixed: utime and stime are the 12th and 13th of them.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(u), Some(s)) => Ok((u + s) as f64 / clock_ticks()),
        _ => Err(SysError::Missing {
            path,
            field: "utime/stime",
        }),
    }
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// The one-minute load average: how busy the machine was around a measurement (other people
/// build on it too).
pub fn load_avg() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

pub fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 { p as u64 } else { 4096 }
}

/// The kernel's TCP socket figures from `/proc/net/sockstat`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SockStat {
    /// TCP sockets in use.
    pub inuse: u64,
    /// Pages of socket buffer memory charged to TCP.
    pub mem_pages: u64,
}

impl SockStat {
    pub fn read() -> Result<Self, SysError> {
        let path = "/proc/net/sockstat";
        parse_sockstat(&read(path)?).ok_or(SysError::Missing {
            path: path.to_string(),
            field: "TCP",
        })
    }

    pub fn mem_bytes(&self) -> u64 {
        self.mem_pages * page_size()
    }
}

fn parse_sockstat(text: &str) -> Option<SockStat> {
    let line = text.lines().find(|l| l.starts_with("TCP:"))?;
    let words: Vec<&str> = line.split_whitespace().collect();
    let field = |name: &str| {
        words
            .iter()
            .position(|w| *w == name)
            .and_then(|i| words.get(i + 1)?.parse().ok())
    };
    Some(SockStat {
        inuse: field("inuse")?,
        mem_pages: field("mem")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockstat_tcp_line_is_parsed() {
        let text =
            "sockets: used 34\nTCP: inuse 7 orphan 0 tw 2 alloc 9 mem 97\nUDP: inuse 0 mem 0\n";
        assert_eq!(
            parse_sockstat(text),
            Some(SockStat {
                inuse: 7,
                mem_pages: 97
            })
        );
        assert_eq!(parse_sockstat("UDP: inuse 0 mem 0\n"), None);
    }

    #[test]
    fn this_process_has_memory_and_cpu_time() {
        let pid = std::process::id();
        let rss = rss_bytes(pid).unwrap();
        assert!(rss > 0);
        // The high-water mark only grows, so reading it second cannot undercut the first read.
        assert!(peak_rss_bytes(pid).unwrap() >= rss);
        // Private and proportional memory are parts of the resident set; reading them after
        // it only lets the resident set grow, so they stay positive but need not stay below.
        assert!(rss_anon_bytes(pid).unwrap() > 0);
        assert!(pss_bytes(pid).unwrap() > 0);
        assert!(cpu_seconds(pid).unwrap() >= 0.0);
    }
}
