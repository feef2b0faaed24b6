//! PNG charts of a results file, for docs/benchmarks.md.

use std::path::{Path, PathBuf};

use anyhow::Context;
use plotters::prelude::*;

use crate::cluster::SystemKind;
use crate::results::Results;

const FONT: &str = "bench-sans";
const FONT_CANDIDATES: [&str; 2] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
];
const SIZE: (u32, u32) = (900, 560);

fn colour(system: SystemKind) -> RGBColor {
    match system {
        SystemKind::Atendo => RGBColor(11, 95, 255),
        SystemKind::SocketIo => RGBColor(230, 90, 30),
    }
}

/// Registers a TTF for chart text: `CHAT_BENCH_FONT`, else DejaVu or Liberation Sans.
fn register_font() -> anyhow::Result<()> {
    let path = match std::env::var_os("CHAT_BENCH_FONT") {
        Some(p) => PathBuf::from(p),
        None => FONT_CANDIDATES
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .context(
                "no TTF font for chart text: install fonts-dejavu-core or set CHAT_BENCH_FONT",
            )?,
    };
    let bytes = std::fs::read(&path).with_context(|| format!("reading font {}", path.display()))?;
    // plotters keeps fonts for the life of the process.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    plotters::style::register_font(FONT, FontStyle::Normal, bytes)
        .map_err(|_| anyhow::anyhow!("{} is not a usable TTF font", path.display()))
}

type Series = Vec<(SystemKind, Vec<(f64, f64)>)>;

struct Chart<'a> {
    file: PathBuf,
    title: &'a str,
    x_label: &'a str,
    y_label: &'a str,
    log_x: bool,
    log_y: bool,
    /// A horizontal reference line (e.g. the latency limit) and its label.
    limit: Option<(f64, &'a str)>,
}

fn bounds(series: &Series, log: bool, pick: impl Fn(&(f64, f64)) -> f64) -> (f64, f64) {
    let values = series.iter().flat_map(|(_, pts)| pts.iter().map(&pick));
    let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(v), h.max(v)));
    if lo > hi {
        return (0.0, 1.0);
    }
    if log {
        ((lo * 0.8).max(1e-3), hi * 1.25)
    } else {
        (lo.min(0.0), hi * 1.1)
    }
}

fn draw(chart: &Chart, series: &Series) -> anyhow::Result<()> {
    let root = BitMapBackend::new(&chart.file, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let (mut x0, mut x1) = bounds(series, chart.log_x, |p| p.0);
    let (y0, mut y1) = bounds(series, chart.log_y, |p| p.1);
    if let Some((limit, _)) = chart.limit {
        y1 = y1.max(limit * 1.3);
    }
    if x0 == x1 {
        x0 *= 0.9;
        x1 = x1 * 1.1 + 1.0;
    }
    let mut builder = ChartBuilder::on(&root);
    builder
        .caption(chart.title, (FONT, 24))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72);
    macro_rules! body {
        ($ctx:expr) => {{
            let mut ctx = $ctx;
            ctx.configure_mesh()
                .x_desc(chart.x_label)
                .y_desc(chart.y_label)
                .label_style((FONT, 15))
                .axis_desc_style((FONT, 17))
                .draw()?;
            if let Some((limit, label)) = chart.limit {
                ctx.draw_series(LineSeries::new(
                    [(x0, limit), (x1, limit)],
                    BLACK.mix(0.5).stroke_width(1),
                ))?
                .label(label)
                .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK.mix(0.5)));
            }
            for (system, pts) in series {
                let c = colour(*system);
                ctx.draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))?
                    .label(system.label())
                    .legend(move |(x, y)| {
                        PathElement::new([(x, y), (x + 20, y)], c.stroke_width(2))
                    });
                ctx.draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.filled())))?;
            }
            ctx.configure_series_labels()
                .label_font((FONT, 16))
                .background_style(WHITE.mix(0.9))
                .border_style(BLACK.mix(0.3))
                .position(SeriesLabelPosition::UpperLeft)
                .draw()?;
        }};
    }
    match (chart.log_x, chart.log_y) {
        (true, true) => {
            body!(builder.build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())?)
        }
        (false, true) => body!(builder.build_cartesian_2d(x0..x1, (y0..y1).log_scale())?),
        (true, false) => body!(builder.build_cartesian_2d((x0..x1).log_scale(), y0..y1)?),
        (false, false) => body!(builder.build_cartesian_2d(x0..x1, y0..y1)?),
    }
    root.present()
        .with_context(|| format!("writing {}", chart.file.display()))?;
    Ok(())
}

/// Writes every chart the results allow into `dir`; returns the files written.
pub fn plot_all(results: &Results, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    register_font()?;
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for size in [100usize, 1024] {
        let series: Series = SystemKind::ALL
            .iter()
            .filter_map(|&s| results.fanout_of(s, size))
            .map(|f| {
                let pts = f
                    .steps
                    .iter()
                    .filter(|s| s.delivered > 0)
                    .map(|s| {
                        (
                            s.target_rate * f.per_room as f64,
                            s.latency.p99_ms.max(0.01),
                        )
                    })
                    .collect();
                (f.system, pts)
            })
            .collect();
        if series.is_empty() {
            continue;
        }
        let file = dir.join(format!("fanout-{size}b.png"));
        draw(
            &Chart {
                file: file.clone(),
                title: &format!("Fan-out, {size} B bodies: p99 latency as the rate rises"),
                x_label: "deliveries per second offered (publishes/s × 100 subscribers)",
                y_label: "p99 latency (ms)",
                log_x: true,
                log_y: true,
                limit: Some((50.0, "50 ms limit")),
            },
            &series,
        )?;
        written.push(file);
    }
    let series: Series = results
        .latency
        .iter()
        .map(|l| {
            (
                l.system,
                l.curve
                    .iter()
                    .map(|&(q, ms)| (nines(q), ms.max(0.01)))
                    .collect(),
            )
        })
        .collect();
    if !series.is_empty() {
        let file = dir.join("latency-percentiles.png");
        draw(
            &Chart {
                file: file.clone(),
                title: "Latency, 10k clients at 1,000 publishes/s",
                x_label: "percentile (1 = p90, 2 = p99, 3 = p99.9, 4 = p99.99; far right = max)",
                y_label: "latency (ms)",
                log_x: false,
                log_y: true,
                limit: None,
            },
            &series,
        )?;
        written.push(file);
    }
    let series: Series = SystemKind::ALL
        .iter()
        .map(|&s| {
            let pts = results
                .idle
                .iter()
                .filter(|i| i.system == s)
                .map(|i| (i.connections as f64, i.total_per_conn() / 1024.0))
                .collect::<Vec<_>>();
            (s, pts)
        })
        .filter(|(_, pts)| !pts.is_empty())
        .collect();
    if !series.is_empty() {
        let file = dir.join("idle-memory.png");
        draw(
            &Chart {
                file: file.clone(),
                title: "Memory per idle connection (server RSS + kernel TCP buffers)",
                x_label: "idle connections",
                y_label: "KiB per connection",
                log_x: false,
                log_y: false,
                limit: Some((10.0, "10 KiB goal")),
            },
            &series,
        )?;
        written.push(file);
    }
    let series: Series = results
        .storm
        .iter()
        .map(|s| {
            (
                s.system,
                s.curve.iter().map(|&(ms, f)| (ms, f * 100.0)).collect(),
            )
        })
        .collect();
    if !series.is_empty() {
        let file = dir.join("storm-rejoin.png");
        draw(
            &Chart {
                file: file.clone(),
                title: "Replica killed: subscribers rejoined on the survivor",
                x_label: "ms after SIGKILL",
                y_label: "% of subscribers rejoined",
                log_x: false,
                log_y: false,
                limit: None,
            },
            &series,
        )?;
        written.push(file);
    }
    Ok(written)
}

/// Quantile as "number of nines" (0.9 → 1, 0.99 → 2), with the maximum placed one step past
/// the highest quantile measured.
fn nines(q: f64) -> f64 {
    if q >= 1.0 { 5.0 } else { -(1.0 - q).log10() }
}

#[cfg(test)]
mod tests {
    use super::nines;

    #[test]
    fn quantiles_map_to_their_nines() {
        assert!((nines(0.99) - 2.0).abs() < 1e-9);
        assert!((nines(0.9) - 1.0).abs() < 1e-9);
        assert_eq!(nines(1.0), 5.0);
    }
}
