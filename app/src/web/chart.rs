//! Attempts per hour as a server-rendered SVG bar chart (`templates/chart.html`): no script, no
//! CDN. Delivered attempts are solid, failed ones hatched, so the chart reads without colour;
//! every bar has a tooltip with its hour and counts, and the caption gives the totals.

use crate::domain::deliveries::{Bucket, Range};

/// Drawing area, in SVG user units (the SVG scales to its container).
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 180.0;
/// Room for the y labels on the left and the x labels below.
const LEFT: f64 = 40.0;
const BOTTOM: f64 = 20.0;
const TOP: f64 = 8.0;

/// One hour with attempts.
pub struct Bar {
    /// Start of the hour, unix ms (for the tooltip and tests).
    pub hour: i64,
    pub x: String,
    pub width: String,
    pub ok_y: String,
    pub ok_h: String,
    pub failed_y: String,
    pub failed_h: String,
    pub succeeded: u64,
    pub failed: u64,
    /// "14:00–15:00 UTC: 40 delivered, 3 failed".
    pub title: String,
}

/// A horizontal grid line with its label.
pub struct Tick {
    pub y: String,
    pub label: u64,
}

/// Everything `chart.html` draws.
pub struct ChartView {
    /// `24h` or `7d`: also makes the SVG's ids unique on the page.
    pub range: &'static str,
    pub bars: Vec<Bar>,
    pub ticks: Vec<Tick>,
    pub succeeded: u64,
    pub failed: u64,
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub baseline: f64,
    /// "24 h ago" / "7 d ago", under the left edge.
    pub start_label: &'static str,
}

fn num(v: f64) -> String {
    format!("{v:.1}")
}

/// A round scale top at or above `max` (1, 2, 5 × 10ⁿ), so grid lines land on plain numbers.
fn scale_top(max: u64) -> u64 {
    let mut step = 1;
    loop {
        for m in [1, 2, 5] {
            if step * m >= max {
                return step * m;
            }
        }
        step *= 10;
    }
}

impl ChartView {
    /// Lays out `series` (oldest hour first, one bucket per hour of `range`).
    #[must_use]
    pub fn new(series: &[Bucket], range: Range) -> Self {
        let top = scale_top(series.iter().map(|b| b.succeeded + b.failed).max().unwrap_or(0).max(1));
        let plot_h = HEIGHT - TOP - BOTTOM;
        let baseline = HEIGHT - BOTTOM;
        #[expect(clippy::cast_precision_loss, reason = "bar counts and attempt counts are small")]
        let (slot, scale) = ((WIDTH - LEFT) / series.len().max(1) as f64, plot_h / top as f64);
        let bar_w = (slot * 0.8).max(1.0);
        let mut bars = Vec::new();
        for (i, b) in series.iter().enumerate() {
            if b.succeeded + b.failed == 0 {
                continue;
            }
            #[expect(clippy::cast_precision_loss, reason = "small counts")]
            let (x, ok_h, failed_h) = (
                LEFT + slot * i as f64 + (slot - bar_w) / 2.0,
                b.succeeded as f64 * scale,
                b.failed as f64 * scale,
            );
            bars.push(Bar {
                hour: b.start,
                x: num(x),
                width: num(bar_w),
                ok_y: num(baseline - ok_h),
                ok_h: num(ok_h),
                failed_y: num(baseline - ok_h - failed_h),
                failed_h: num(failed_h),
                succeeded: b.succeeded,
                failed: b.failed,
                title: format!(
                    "{}: {} delivered, {} failed",
                    hour_label(b.start),
                    b.succeeded,
                    b.failed
                ),
            });
        }
        #[expect(clippy::cast_precision_loss, reason = "small counts")]
        let ticks = [top / 2, top]
            .into_iter()
            .filter(|t| *t > 0)
            .map(|t| Tick {
                y: num(baseline - t as f64 * scale),
                label: t,
            })
            .collect();
        let (succeeded, failed) = series.iter().fold((0, 0), |(s, f), b| (s + b.succeeded, f + b.failed));
        Self {
            range: range.as_str(),
            bars,
            ticks,
            succeeded,
            failed,
            width: WIDTH,
            height: HEIGHT,
            left: LEFT,
            baseline,
            start_label: match range {
                Range::Day => "24 h ago",
                Range::Week => "7 d ago",
            },
        }
    }
}

/// "2026-11-30 14:00–15:00 UTC".
fn hour_label(start: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(start / 1000).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02} {:02}:00–{:02}:00 UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        (t.hour() + 1) % 24
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(start: i64, succeeded: u64, failed: u64) -> Bucket {
        Bucket {
            start,
            succeeded,
            failed,
        }
    }

    #[test]
    fn only_hours_with_attempts_get_a_bar_and_the_tallest_fits() {
        let mut series: Vec<Bucket> = (0..24).map(|h| bucket(h * 3_600_000, 0, 0)).collect();
        series[3] = bucket(3 * 3_600_000, 8, 2);
        series[20] = bucket(20 * 3_600_000, 0, 4);
        let c = ChartView::new(&series, Range::Day);
        assert_eq!(c.bars.len(), 2);
        assert_eq!((c.succeeded, c.failed), (8, 6));
        // 10 attempts on a scale topped at 10 reach the top margin exactly.
        assert_eq!(c.bars[0].failed_y, num(TOP));
        assert_eq!(c.bars[1].ok_h, "0.0");
        assert_eq!(c.bars[0].title, "1970-01-01 03:00–04:00 UTC: 8 delivered, 2 failed");
    }

    #[test]
    fn scales_round_up_to_plain_numbers() {
        assert_eq!(scale_top(1), 1);
        assert_eq!(scale_top(3), 5);
        assert_eq!(scale_top(11), 20);
        assert_eq!(scale_top(480), 500);
    }
}
