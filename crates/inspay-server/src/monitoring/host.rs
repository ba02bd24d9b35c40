//! Host sampling (clause 5.4.4.1): CPU from `/proc/stat`, memory from `/proc/meminfo`, network
//! bytes from `/proc/net/dev`, and the disk holding the data directory from `statvfs(3)`.
//!
//! The parsers are pure functions over the files' text, so they are tested with fixed sample
//! text; [`read`] does the I/O. On a system without `/proc` every figure is simply absent.

use std::path::Path;

/// Cumulative CPU time of the whole host, in clock ticks, from the first line of `/proc/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuTimes {
    /// Ticks spent doing anything but idling or waiting for I/O.
    pub busy: u64,
    /// All ticks.
    pub total: u64,
}

/// Memory of the host, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    /// `MemTotal`.
    pub total_bytes: u64,
    /// `MemAvailable` (or, on kernels before 3.14, `MemFree + Buffers + Cached`).
    pub available_bytes: u64,
}

impl Memory {
    /// The share in use, 0..=100.
    pub fn used_percent(&self) -> f64 {
        percent(
            self.total_bytes.saturating_sub(self.available_bytes),
            self.total_bytes,
        )
    }
}

/// Bytes through every network interface but loopback since boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Network {
    /// Received.
    pub receive_bytes: u64,
    /// Sent.
    pub transmit_bytes: u64,
}

/// The file system holding a path, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disk {
    /// Blocks in use.
    pub used_bytes: u64,
    /// Blocks an unprivileged process may still use (`df`'s "Avail").
    pub available_bytes: u64,
}

impl Disk {
    /// The share in use as `df` reports it (reserved blocks excluded), 0..=100.
    pub fn used_percent(&self) -> f64 {
        percent(self.used_bytes, self.used_bytes + self.available_bytes)
    }
}

/// One reading of the host; a figure that could not be read is `None`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reading {
    /// CPU times.
    pub cpu: Option<CpuTimes>,
    /// Memory.
    pub memory: Option<Memory>,
    /// Network counters.
    pub network: Option<Network>,
    /// The data directory's file system.
    pub disk: Option<Disk>,
}

/// `part` of `whole` in percent; 0 when `whole` is 0.
pub fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    (part as f64 / whole as f64 * 100.0).clamp(0.0, 100.0)
}

/// Parses the aggregate `cpu` line of `/proc/stat`: `cpu user nice system idle iowait irq
/// softirq steal guest guest_nice`. Guest time is already inside user and nice, so it is not
/// added again; idle and iowait are the time not busy.
pub fn parse_stat(text: &str) -> Option<CpuTimes> {
    let line = text.lines().find(|line| {
        line.split_whitespace()
            .next()
            .is_some_and(|label| label == "cpu")
    })?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|field| field.parse::<u64>().ok())
        .collect::<Option<_>>()?;
    // Kernels since 2.6.11 have at least user..steal; older ones at least four fields.
    if fields.len() < 4 {
        return None;
    }
    let total = fields
        .iter()
        .try_fold(0u64, |sum, value| sum.checked_add(*value))?;
    let idle = fields[3].saturating_add(fields.get(4).copied().unwrap_or(0));
    Some(CpuTimes {
        busy: total.saturating_sub(idle),
        total,
    })
}

/// Parses `/proc/meminfo` (values in kB).
pub fn parse_meminfo(text: &str) -> Option<Memory> {
    let field = |name: &str| -> Option<u64> {
        text.lines().find_map(|line| {
            let (label, rest) = line.split_once(':')?;
            if label.trim() != name {
                return None;
            }
            let kilobytes = rest.split_whitespace().next()?.parse::<u64>().ok()?;
            kilobytes.checked_mul(1024)
        })
    };
    let total_bytes = field("MemTotal").filter(|total| *total > 0)?;
    let available_bytes = match field("MemAvailable") {
        Some(available) => available,
        None => field("MemFree")?
            .saturating_add(field("Buffers").unwrap_or(0))
            .saturating_add(field("Cached").unwrap_or(0)),
    };
    Some(Memory {
        total_bytes,
        available_bytes: available_bytes.min(total_bytes),
    })
}

/// Parses `/proc/net/dev`: two header lines, then `name: rx_bytes rx_packets ... (8 receive
/// fields) tx_bytes ...` per interface. Loopback is left out: it is the host talking to
/// itself.
pub fn parse_net_dev(text: &str) -> Option<Network> {
    let mut total = Network::default();
    let mut interfaces = 0usize;
    for line in text.lines().skip(2) {
        let Some((name, counters)) = line.split_once(':') else {
            continue;
        };
        if name.trim() == "lo" {
            continue;
        }
        let fields: Vec<&str> = counters.split_whitespace().collect();
        let (Some(receive), Some(transmit)) = (fields.first(), fields.get(8)) else {
            return None;
        };
        total.receive_bytes = total
            .receive_bytes
            .saturating_add(receive.parse::<u64>().ok()?);
        total.transmit_bytes = total
            .transmit_bytes
            .saturating_add(transmit.parse::<u64>().ok()?);
        interfaces += 1;
    }
    // A file with no interface lines at all is not `/proc/net/dev`.
    (interfaces > 0 || text.lines().count() >= 2).then_some(total)
}

/// The file system holding `path`, through `statvfs(3)` (rustix, no `unsafe` here).
#[cfg(target_os = "linux")]
pub fn disk(path: &Path) -> Option<Disk> {
    let stat = rustix::fs::statvfs(path).ok()?;
    let block = stat.f_frsize.max(1);
    let used_blocks = stat.f_blocks.saturating_sub(stat.f_bfree);
    Some(Disk {
        used_bytes: used_blocks.saturating_mul(block),
        available_bytes: stat.f_bavail.saturating_mul(block),
    })
}

/// Disk figures are read on Linux only.
#[cfg(not(target_os = "linux"))]
pub fn disk(_path: &Path) -> Option<Disk> {
    None
}

/// Reads the host. Small files from `/proc` and one system call: cheap enough to run on the
/// runtime every few seconds without a blocking thread.
pub fn read(data_dir: &Path) -> Reading {
    let file = |path: &str| std::fs::read_to_string(path).ok();
    Reading {
        cpu: file("/proc/stat").as_deref().and_then(parse_stat),
        memory: file("/proc/meminfo").as_deref().and_then(parse_meminfo),
        network: file("/proc/net/dev").as_deref().and_then(parse_net_dev),
        disk: disk(data_dir),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "cpu  4705 356 584 3699 23 23 0 0 0 0\n\
                        cpu0 1393280 32966 572056 13343292 6130 0 17875 0 23933 0\n\
                        intr 114930548 113199788 3 0 5 263 0 4 [... lots more numbers ...]\n\
                        ctxt 1990473\n";

    /// The aggregate line is read, not a per-CPU one; idle and iowait are not busy.
    /// req: 5.4.4.1
    #[test]
    fn proc_stat_is_parsed() {
        let times = parse_stat(STAT).expect("parsed");
        assert_eq!(times.total, 4705 + 356 + 584 + 3699 + 23 + 23);
        assert_eq!(times.busy, 4705 + 356 + 584 + 23);
        for bad in ["", "cpu0 1 2 3 4", "cpu a b c d", "cpu 1 2"] {
            assert_eq!(parse_stat(bad), None, "{bad:?}");
        }
    }

    /// Memory in use is total less available; old kernels without `MemAvailable` use free,
    /// buffers and cache.
    /// req: 5.4.4.1
    #[test]
    fn proc_meminfo_is_parsed() {
        let text = "MemTotal:       16000000 kB\nMemFree:         1000000 kB\n\
                    MemAvailable:    4000000 kB\nBuffers:          500000 kB\n\
                    Cached:          2000000 kB\n";
        let memory = parse_meminfo(text).expect("parsed");
        assert_eq!(memory.total_bytes, 16_000_000 * 1024);
        assert_eq!(memory.available_bytes, 4_000_000 * 1024);
        assert!((memory.used_percent() - 75.0).abs() < 1e-9);
        let old = "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 50 kB\n";
        assert!((parse_meminfo(old).expect("old").used_percent() - 80.0).abs() < 1e-9);
        for bad in [
            "",
            "MemTotal: 0 kB\nMemAvailable: 0 kB\n",
            "MemTotal: x kB\n",
        ] {
            assert_eq!(parse_meminfo(bad), None, "{bad:?}");
        }
    }

    /// Bytes are summed over interfaces, loopback left out.
    /// req: 5.4.4.1
    #[test]
    fn proc_net_dev_is_parsed() {
        let text = "Inter-|   Receive                                                |  Transmit\n \
            face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    \
            lo: 9000000   10000    0    0    0     0          0         0  9000000   10000    0    0    0     0       0          0\n  \
            eth0: 1000   20    0    0    0     0          0         0  2000   30    0    0    0     0       0          0\n  \
            eth1: 300   5    0    0    0     0          0         0  400   6    0    0    0     0       0          0\n";
        assert_eq!(
            parse_net_dev(text),
            Some(Network {
                receive_bytes: 1300,
                transmit_bytes: 2400
            })
        );
        assert_eq!(parse_net_dev("h\nh\n  eth0: 1 2 3\n"), None, "short line");
        assert_eq!(parse_net_dev(""), None);
    }

    /// The disk holding a real directory is read, and its share in use is a percentage.
    /// req: 5.4.4.1
    #[cfg(target_os = "linux")]
    #[test]
    fn the_data_directory_disk_is_read() {
        let dir = std::env::temp_dir();
        let disk = disk(&dir).expect("statvfs");
        assert!(disk.used_bytes + disk.available_bytes > 0);
        assert!((0.0..=100.0).contains(&disk.used_percent()));
        assert_eq!(disk_missing(), None);
    }

    #[cfg(target_os = "linux")]
    fn disk_missing() -> Option<Disk> {
        disk(Path::new("/nonexistent/inspay/data"))
    }
}
