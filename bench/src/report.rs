//! The results as Markdown tables for docs/benchmarks.md: a summary with both systems, their
//! ratio and the goal (issue 15's where it set one, issue 6's otherwise), then each scenario in
//! detail.

use std::fmt::Write;

use crate::cluster::SystemKind::{Atendo, SocketIo};
use crate::results::Results;

const KIB: f64 = 1024.0;
const MIB: f64 = 1024.0 * 1024.0;

struct Row {
    metric: String,
    atendo: String,
    socketio: String,
    ratio: String,
    goal: &'static str,
}

/// "4.2× less" / "3.0× more": how Atendo compares, where the better direction is known.
fn ratio(atendo: f64, socketio: f64, lower_is_better: bool) -> String {
    if atendo <= 0.0 || socketio <= 0.0 {
        return "–".into();
    }
    if lower_is_better {
        format!("{:.1}× less", socketio / atendo)
    } else {
        format!("{:.1}× more", atendo / socketio)
    }
}

fn opt_ms(v: Option<f64>) -> String {
    v.map_or("not reached".into(), |v| format!("{v:.0} ms"))
}

fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn summary(r: &Results) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut sizes: Vec<u64> = r.idle.iter().map(|i| i.connections).collect();
    sizes.sort_unstable();
    sizes.dedup();
    for n in sizes {
        if let (Some(a), Some(s)) = (r.idle_of(Atendo, n), r.idle_of(SocketIo, n)) {
            rows.push(Row {
                metric: format!(
                    "memory per idle connection, N = {} ({} / {} replicas)",
                    count(n),
                    a.replicas,
                    s.replicas
                ),
                atendo: format!("{:.1} KiB", a.total_per_conn() / KIB),
                socketio: format!("{:.1} KiB", s.total_per_conn() / KIB),
                ratio: ratio(a.total_per_conn(), s.total_per_conn(), true),
                goal: "≤ 4 KiB, ≥ 3× denser",
            });
        }
    }
    for size in [100, 1024] {
        if let (Some(a), Some(s)) = (r.fanout_of(Atendo, size), r.fanout_of(SocketIo, size))
            && let (Some(ab), Some(sb)) = (a.best(), s.best())
        {
            rows.push(Row {
                metric: format!(
                    "fan-out deliveries/s with p99 ≤ {:.0} ms, {size} B",
                    a.p99_limit_ms
                ),
                atendo: count(ab.deliveries_per_sec as u64),
                socketio: count(sb.deliveries_per_sec as u64),
                ratio: ratio(ab.deliveries_per_sec, sb.deliveries_per_sec, false),
                goal: "≥ 5×",
            });
            rows.push(Row {
                metric: format!("server CPU-s per million deliveries (at that step), {size} B"),
                atendo: format!("{:.2}", ab.cpu_s_per_million),
                socketio: format!("{:.2}", sb.cpu_s_per_million),
                ratio: ratio(ab.cpu_s_per_million, sb.cpu_s_per_million, true),
                goal: if size == 100 { "≤ 5" } else { "" },
            });
            if let (Some(ac), Some(sc)) = (ab.client_cpu_s_per_million, sb.client_cpu_s_per_million)
            {
                rows.push(Row {
                    metric: format!(
                        "the load tool's own CPU-s per million deliveries (at that step), {size} B"
                    ),
                    atendo: format!("{ac:.2}"),
                    socketio: format!("{sc:.2}"),
                    ratio: "".into(),
                    goal: "below the server's",
                });
            }
        }
    }
    for rate in Results::rates_of(&r.latency, |l| (l.system, l.rate)) {
        let (Some(a), Some(s)) = (r.latency_of(Atendo, rate), r.latency_of(SocketIo, rate)) else {
            continue;
        };
        for (name, av, sv, goal) in [
            ("p50", a.latency.p50_ms, s.latency.p50_ms, ""),
            ("p99", a.latency.p99_ms, s.latency.p99_ms, "≤ 50 ms"),
            ("p99.9", a.latency.p999_ms, s.latency.p999_ms, "≤ 100 ms"),
        ] {
            rows.push(Row {
                metric: format!(
                    "latency {name}, {} clients, {} publishes/s",
                    count(a.totals.subscribers),
                    count(rate as u64)
                ),
                atendo: format!("{av:.2} ms"),
                socketio: format!("{sv:.2} ms"),
                ratio: ratio(av, sv, true),
                goal,
            });
        }
        rows.push(Row {
            metric: format!(
                "latency, {} publishes/s: lost / duplicated deliveries",
                count(rate as u64)
            ),
            atendo: format!("{} / {}", count(a.totals.lost), count(a.totals.duplicates)),
            socketio: format!("{} / {}", count(s.totals.lost), count(s.totals.duplicates)),
            ratio: "".into(),
            goal: "0 / 0",
        });
    }
    for rate in Results::rates_of(&r.storm, |s| (s.system, s.rate)) {
        let (Some(a), Some(s)) = (r.storm_of(Atendo, rate), r.storm_of(SocketIo, rate)) else {
            continue;
        };
        rows.push(Row {
            metric: format!(
                "replica killed ({} subscribers, {} publishes/s): 95% / 100% rejoined",
                count(a.subscribers),
                count(rate as u64)
            ),
            atendo: format!("{} / {}", opt_ms(a.t95_ms), opt_ms(a.t100_ms)),
            socketio: format!("{} / {}", opt_ms(s.t95_ms), opt_ms(s.t100_ms)),
            ratio: match (a.t100_ms, s.t100_ms) {
                (Some(x), Some(y)) => ratio(x, y, true),
                _ => "–".into(),
            },
            goal: "100% ≤ 5 s",
        });
        rows.push(Row {
            metric: format!(
                "replica killed, {} publishes/s: lost / duplicated deliveries",
                count(rate as u64)
            ),
            atendo: format!("{} / {}", count(a.totals.lost), count(a.totals.duplicates)),
            socketio: format!("{} / {}", count(s.totals.lost), count(s.totals.duplicates)),
            ratio: "".into(),
            goal: "0 / 0",
        });
    }
    if let (Some(a), Some(s)) = (r.tenant_of(Atendo), r.tenant_of(SocketIo)) {
        rows.push(Row {
            metric: "idle server process (one tenant), RSS".into(),
            atendo: format!("{:.1} MiB", a.rss as f64 / MIB),
            socketio: format!("{:.1} MiB", s.rss as f64 / MIB),
            ratio: ratio(a.rss as f64, s.rss as f64, true),
            goal: "≤ 10 MiB",
        });
        rows.push(Row {
            metric: "idle server process, private (anonymous) part of RSS".into(),
            atendo: format!("{:.1} MiB", a.rss_anon as f64 / MIB),
            socketio: format!("{:.1} MiB", s.rss_anon as f64 / MIB),
            ratio: ratio(a.rss_anon as f64, s.rss_anon as f64, true),
            goal: "",
        });
    }
    if let Some(a) = r.tenants_of(Atendo) {
        let s = r.tenants_of(SocketIo);
        rows.push(Row {
            metric: format!(
                "idle tenant's share of a node with {} idle tenants (PSS)",
                a.tenants
            ),
            atendo: format!("{:.1} MiB", a.pss.unwrap_or(0) as f64 / MIB),
            socketio: s.map_or("–".into(), |s| {
                format!("{:.1} MiB", s.pss.unwrap_or(0) as f64 / MIB)
            }),
            ratio: s.map_or("".into(), |s| {
                ratio(a.pss.unwrap_or(0) as f64, s.pss.unwrap_or(0) as f64, true)
            }),
            goal: "",
        });
    }
    rows
}

/// The summary table and the per-scenario details, as Markdown.
pub fn markdown(r: &Results) -> String {
    let mut out = String::new();
    let m = &r.machine;
    let _ = writeln!(
        out,
        "Machine: {} × {}, {} GiB RAM, Linux {}, node {}, {}.\n",
        m.cpus, m.cpu_model, m.memory_gib, m.kernel, m.node, m.redis
    );
    let _ = writeln!(
        out,
        "| metric | Atendo | Socket.IO | Atendo vs Socket.IO | goal |"
    );
    let _ = writeln!(out, "|---|---:|---:|---|---|");
    for row in summary(r) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            row.metric, row.atendo, row.socketio, row.ratio, row.goal
        );
    }
    if !r.idle.is_empty() {
        let _ = writeln!(out, "\n#### Idle connections\n");
        let _ = writeln!(
            out,
            "| system | N | replicas | server RSS before → after | per conn: server | … of it private | per conn: kernel TCP buffers | TCP sockets added |"
        );
        let _ = writeln!(out, "|---|---:|---:|---|---:|---:|---:|---:|");
        for i in &r.idle {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {:.0} → {:.0} MiB | {:.2} KiB | {} | {:.2} KiB | {} |",
                i.system.label(),
                count(i.connections),
                i.replicas,
                i.rss_before as f64 / MIB,
                i.rss_after as f64 / MIB,
                i.rss_per_conn / KIB,
                i.anon_per_conn
                    .map_or("–".to_string(), |a| format!("{:.2} KiB", a / KIB)),
                i.kernel_per_conn / KIB,
                count(i.tcp_sockets_added)
            );
        }
    }
    for f in &r.fanout {
        let _ = writeln!(
            out,
            "\n#### Fan-out, {}, {} B bodies, {} rooms × {} subscribers\n",
            f.system.label(),
            f.body_size,
            f.rooms,
            f.per_room
        );
        let _ = writeln!(
            out,
            "| publishes/s asked | deliveries/s | p50 ms | p99 ms | p99.9 ms | server CPU-s / M deliveries | Redis CPU-s / M | complete |"
        );
        let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|---|");
        for s in &f.steps {
            let redis = s
                .redis_cpu_s
                .filter(|_| s.delivered > 0)
                .map_or("–".into(), |c| {
                    format!("{:.2}", c / s.delivered as f64 * 1e6)
                });
            let _ = writeln!(
                out,
                "| {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} |",
                count(s.target_rate as u64),
                count(s.deliveries_per_sec as u64),
                s.latency.p50_ms,
                s.latency.p99_ms,
                s.latency.p999_ms,
                s.cpu_s_per_million,
                redis,
                if s.complete && s.shed == 0 {
                    "yes"
                } else {
                    "no"
                }
            );
        }
    }
    if !r.shards.is_empty() {
        let _ = writeln!(
            out,
            "\n#### Redis Cluster: Atendo's fan-out on 1 vs 3 shards (sharded pub/sub)\n"
        );
        let _ = writeln!(
            out,
            "| shards | rooms × subscribers | body | best deliveries/s, p99 ≤ limit | publishes/s asked | p99 ms | server CPU-s / M | Redis CPU-s per master at that step |"
        );
        let _ = writeln!(out, "|---:|---|---:|---:|---:|---:|---:|---|");
        for s in &r.shards {
            let f = &s.fanout;
            let row = f.best().map_or_else(
                || "not reached | – | – | – | –".to_string(),
                |b| {
                    format!(
                        "{} | {} | {:.2} | {:.2} | {}",
                        count(b.deliveries_per_sec as u64),
                        count(b.target_rate as u64),
                        b.latency.p99_ms,
                        b.cpu_s_per_million,
                        b.redis_cpu_per_master_s
                            .iter()
                            .map(|c| format!("{c:.2}"))
                            .collect::<Vec<_>>()
                            .join(" / ")
                    )
                },
            );
            let _ = writeln!(
                out,
                "| {} | {} × {} | {} B | {row} |",
                s.shards, f.rooms, f.per_room, f.body_size
            );
        }
    }
    for l in &r.latency {
        let _ = writeln!(
            out,
            "\n#### Latency, {}: {} s at {:.0} publishes/s to {} rooms × {}: p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.1} ms; {} deliveries/s; {:.2} server CPU-s per million{}; {} delivered, {} lost, {} duplicated, {} reconnects; load {:.2}",
            l.system.label(),
            l.seconds,
            l.rate,
            l.rooms,
            l.per_room,
            l.latency.p50_ms,
            l.latency.p99_ms,
            l.latency.p999_ms,
            l.latency.max_ms,
            count(l.deliveries_per_sec as u64),
            l.cpu_s_per_million,
            latency_split(l),
            count(l.totals.delivered),
            count(l.totals.lost),
            count(l.totals.duplicates),
            count(l.totals.reconnects),
            l.load_avg
        );
    }
    for s in &r.storm {
        let _ = writeln!(
            out,
            "\n#### Reconnect storm, {} at {} publishes/s: {} of {} rejoined; 95% after {}, 100% after {}; {} published, {} lost, {} duplicated",
            s.system.label(),
            count(s.rate as u64),
            count(s.rejoined),
            count(s.subscribers),
            opt_ms(s.t95_ms),
            opt_ms(s.t100_ms),
            count(s.totals.published),
            count(s.totals.lost),
            count(s.totals.duplicates)
        );
    }
    out
}

/// Where the latency run's CPU went, for runs that recorded it (older results files did not).
fn latency_split(l: &crate::scenario::latency::LatencyResult) -> String {
    let parts: Vec<String> = [
        (
            "subscribers' replica",
            l.subscriber_cpu_s_per_million,
            "µs per delivery",
        ),
        (
            "publishers' replica",
            l.publisher_cpu_us_per_publish,
            "µs per publish",
        ),
        ("Redis", l.redis_cpu_s_per_million, "µs per delivery"),
        ("load tool", l.client_cpu_s_per_million, "µs per delivery"),
    ]
    .into_iter()
    .filter_map(|(what, x, unit)| Some(format!("{what} {:.2} {unit}", x?)))
    .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_say_which_way_atendo_is_better() {
        assert_eq!(ratio(2.0, 10.0, true), "5.0× less");
        assert_eq!(ratio(30.0, 10.0, false), "3.0× more");
        assert_eq!(ratio(0.0, 10.0, true), "–");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(count(12), "12");
    }
}
