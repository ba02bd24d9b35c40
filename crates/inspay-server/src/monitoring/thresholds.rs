//! Threshold alerts (clause 5.4.4.1): CPU averaged over a window, memory and disk as sampled.
//! A resource that reaches its threshold raises one alert; while it stays there nothing more
//! is raised; once it is clearly back under ([`RECOVERY_MARGIN_PERCENT`] below the threshold,
//! so a value hovering at the line does not alert every sample) one recovery is recorded.
//!
//! Pure state: the caller records what [`Watch::observe`] returns.

use std::collections::VecDeque;

/// How far under its threshold a resource must fall to count as recovered, in percentage
/// points.
pub const RECOVERY_MARGIN_PERCENT: f64 = 2.0;

/// Most CPU samples kept for the window (a day of one-second samples); past it the oldest go.
pub const CPU_SAMPLES_MAX: usize = 86_400;

/// A watched resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// CPU, averaged over `monitoring.cpu_window_s`.
    Cpu,
    /// Memory in use.
    Memory,
    /// The data directory's disk.
    Disk,
}

impl Resource {
    /// Every resource, in the order metrics list them.
    pub const ALL: [Resource; 3] = [Resource::Cpu, Resource::Memory, Resource::Disk];

    /// The label in metrics and logs.
    pub fn name(self) -> &'static str {
        match self {
            Resource::Cpu => "cpu",
            Resource::Memory => "memory",
            Resource::Disk => "disk",
        }
    }

    /// The setting that holds its threshold.
    pub fn setting(self) -> &'static str {
        match self {
            Resource::Cpu => "monitoring.cpu_percent_max",
            Resource::Memory => "monitoring.memory_percent_max",
            Resource::Disk => "monitoring.disk_percent_max",
        }
    }

    /// The security-event kind of a crossing or a recovery.
    pub fn event_kind(self, transition: Transition) -> &'static str {
        match (self, transition) {
            (Resource::Cpu, Transition::Crossed) => "monitoring.cpu-high",
            (Resource::Cpu, Transition::Recovered) => "monitoring.cpu-recovered",
            (Resource::Memory, Transition::Crossed) => "monitoring.memory-high",
            (Resource::Memory, Transition::Recovered) => "monitoring.memory-recovered",
            (Resource::Disk, Transition::Crossed) => "monitoring.disk-high",
            (Resource::Disk, Transition::Recovered) => "monitoring.disk-recovered",
        }
    }

    /// The fixed text of the event.
    pub fn event_detail(self, transition: Transition) -> &'static str {
        match (self, transition) {
            (Resource::Cpu, Transition::Crossed) => {
                "average CPU use over the window reached monitoring.cpu_percent_max"
            }
            (Resource::Cpu, Transition::Recovered) => {
                "average CPU use over the window is back under monitoring.cpu_percent_max"
            }
            (Resource::Memory, Transition::Crossed) => {
                "memory use reached monitoring.memory_percent_max"
            }
            (Resource::Memory, Transition::Recovered) => {
                "memory use is back under monitoring.memory_percent_max"
            }
            (Resource::Disk, Transition::Crossed) => {
                "disk use of the data directory reached monitoring.disk_percent_max"
            }
            (Resource::Disk, Transition::Recovered) => {
                "disk use of the data directory is back under monitoring.disk_percent_max"
            }
        }
    }
}

/// A change worth recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The value reached the threshold.
    Crossed,
    /// The value is back under it.
    Recovered,
}

/// Whether one resource is over its threshold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Watch {
    above: bool,
}

impl Watch {
    /// Whether the resource is over its threshold now.
    pub fn above(self) -> bool {
        self.above
    }

    /// Takes a new value; returns the transition to record, if any.
    pub fn observe(&mut self, percent: f64, percent_max: u32) -> Option<Transition> {
        let max = f64::from(percent_max);
        if !self.above && percent >= max {
            self.above = true;
            return Some(Transition::Crossed);
        }
        if self.above && percent < max - RECOVERY_MARGIN_PERCENT {
            self.above = false;
            return Some(Transition::Recovered);
        }
        None
    }
}

/// One CPU measurement: the ticks between two readings and how long apart they were.
#[derive(Debug, Clone, Copy)]
struct CpuSpan {
    duration_ms: i64,
    busy: u64,
    total: u64,
}

/// CPU use over a sliding window: the busy share of all ticks in the spans that cover the
/// last `window_ms`.
#[derive(Debug, Default)]
pub struct CpuWindow {
    spans: VecDeque<CpuSpan>,
    covered_ms: i64,
}

impl CpuWindow {
    /// Adds the span between two readings and drops spans no longer needed to cover
    /// `window_ms`.
    pub fn push(&mut self, duration_ms: i64, busy: u64, total: u64, window_ms: i64) {
        debug_assert!(busy <= total, "busy ticks are part of all ticks");
        if duration_ms <= 0 || total == 0 {
            return;
        }
        self.spans.push_back(CpuSpan {
            duration_ms,
            busy,
            total,
        });
        self.covered_ms += duration_ms;
        while let Some(oldest) = self.spans.front()
            && (self.covered_ms - oldest.duration_ms >= window_ms
                || self.spans.len() > CPU_SAMPLES_MAX)
        {
            self.covered_ms -= oldest.duration_ms;
            self.spans.pop_front();
        }
    }

    /// The average over the window, once the spans cover all of it; `None` before (a spike
    /// in the first seconds is not "85 % over five minutes").
    pub fn average_percent(&self, window_ms: i64) -> Option<f64> {
        if self.covered_ms < window_ms {
            return None;
        }
        let (busy, total) = self.spans.iter().fold((0u64, 0u64), |(busy, total), span| {
            (
                busy.saturating_add(span.busy),
                total.saturating_add(span.total),
            )
        });
        Some(crate::monitoring::host::percent(busy, total))
    }

    /// The latest span's use, whatever the window.
    pub fn latest_percent(&self) -> Option<f64> {
        self.spans
            .back()
            .map(|span| crate::monitoring::host::percent(span.busy, span.total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One alert when a threshold is reached, none while it stays reached, one recovery once
    /// clearly back under, and a fresh alert after that.
    /// req: 5.4.4.1
    #[test]
    fn a_watch_alerts_once_and_recovers_once() {
        let mut watch = Watch::default();
        assert_eq!(watch.observe(50.0, 90), None);
        assert_eq!(watch.observe(90.0, 90), Some(Transition::Crossed));
        assert_eq!(watch.observe(95.0, 90), None);
        assert_eq!(watch.observe(89.0, 90), None, "inside the margin");
        assert!(watch.above());
        assert_eq!(watch.observe(80.0, 90), Some(Transition::Recovered));
        assert_eq!(watch.observe(80.0, 90), None);
        assert_eq!(watch.observe(99.0, 90), Some(Transition::Crossed));
    }

    /// The CPU average needs the whole window covered, weighs spans by their ticks, and
    /// forgets spans older than the window.
    /// req: 5.4.4.1
    #[test]
    fn the_cpu_window_averages_over_its_length() {
        let mut window = CpuWindow::default();
        window.push(10_000, 100, 100, 30_000);
        window.push(10_000, 100, 100, 30_000);
        assert_eq!(window.average_percent(30_000), None, "20 s of 30");
        window.push(10_000, 0, 100, 30_000);
        let average = window.average_percent(30_000).expect("covered");
        assert!((average - 200.0 / 3.0).abs() < 1e-9, "{average}");
        window.push(10_000, 0, 100, 30_000);
        window.push(10_000, 0, 100, 30_000);
        assert_eq!(
            window.average_percent(30_000),
            Some(0.0),
            "old busy spans dropped"
        );
        assert_eq!(window.latest_percent(), Some(0.0));
    }
}
