//! Robust statistics: median, median absolute deviation, robust z-score, quantiles, and the
//! bounded or binned summaries the baselines keep.
//!
//! Amounts are studied as `ln(amount in fen)`: payments are multiplicative (a premium twice
//! as high is as unusual at 100 yuan as at 10,000 yuan), and in log space their spread is
//! roughly symmetric. Medians and MADs are used instead of means and standard deviations
//! because one past spike must not widen the baseline enough to hide the next one.

use serde::{Deserialize, Serialize};

/// Scales a MAD to estimate the standard deviation of normal data (1 / Φ⁻¹(3/4)).
pub const MAD_SCALE: f64 = 1.4826;

/// The smallest spread (in natural-log units of the amount) a robust z-score divides by.
///
/// A customer who always pays exactly the same premium has a MAD of zero; dividing by it
/// would make a one-fen change infinitely unusual. The floor is an absolute width in log
/// space, 0.2, so one unit of z is a factor of e^0.2 ≈ 1.22 (22 % more), and the default
/// prompt threshold of z = 6 means ×3.3 for such a customer. An absolute floor is used rather
/// than a share of the median's log: `ln(amount)` depends on the unit (fen or yuan), so "5 %
/// of the median in log space" would change meaning with the unit and grow with the amount.
/// The value follows how tariffs move: a renewal or an added cover changes a premium by tens
/// of percent, paying several periods at once by two or three times; neither should alone
/// look like an anomaly, a tenfold jump should.
pub const MIN_LOG_SPREAD: f64 = 0.2;

/// The natural log of an amount in fen; amounts below one fen count as one fen.
pub fn log_amount(amount_fen: i64) -> f64 {
    // i64 → f64 loses precision only above 2^53 fen, far beyond any payment.
    (amount_fen.max(1) as f64).ln()
}

/// The median of `values`, reordering them; `None` when empty. NaNs sort last.
pub fn median_in_place(values: &mut [f64]) -> Option<f64> {
    let count = values.len();
    if count == 0 {
        return None;
    }
    let middle = count / 2;
    let (lower, upper_middle, _) = values.select_nth_unstable_by(middle, f64::total_cmp);
    let upper_middle = *upper_middle;
    if count % 2 == 1 {
        return Some(upper_middle);
    }
    // After selection every element left of `middle` is ≤ it, so their maximum is the
    // lower middle element.
    let lower_middle = lower
        .iter()
        .copied()
        .max_by(f64::total_cmp)
        .unwrap_or(upper_middle);
    Some((lower_middle + upper_middle) / 2.0)
}

/// The median of `values`; `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    median_in_place(&mut values.to_vec())
}

/// The median absolute deviation from `centre`, scaled by [`MAD_SCALE`] so it estimates a
/// standard deviation; reorders and overwrites `values` with the deviations.
pub fn mad_in_place(values: &mut [f64], centre: f64) -> Option<f64> {
    for value in values.iter_mut() {
        *value = (*value - centre).abs();
    }
    median_in_place(values).map(|deviation| deviation * MAD_SCALE)
}

/// The scaled median absolute deviation of `values` from `centre`; `None` when empty.
pub fn mad(values: &[f64], centre: f64) -> Option<f64> {
    mad_in_place(&mut values.to_vec(), centre)
}

/// The `q`-quantile (`q` clamped to 0..=1) with linear interpolation between order statistics
/// (Hyndman and Fan's type 7, as R and NumPy by default); `None` when empty.
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    let position = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let below = position.floor();
    // position ≤ len - 1, so both indexes are in range.
    let below_index = below as usize;
    let above_index = (below_index + 1).min(sorted.len() - 1);
    let fraction = position - below;
    Some(sorted[below_index] + fraction * (sorted[above_index] - sorted[below_index]))
}

/// How many spreads `value` lies from `centre`, dividing by `max(spread, floor)` so a zero
/// spread does not make the score infinite. `floor` should be positive (see
/// [`MIN_LOG_SPREAD`]); a non-positive one is treated as the smallest positive float.
pub fn robust_z(value: f64, centre: f64, spread: f64, floor: f64) -> f64 {
    (value - centre) / spread.max(floor).max(f64::MIN_POSITIVE)
}

/// A robust summary of a sample: its median and scaled MAD.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RobustSummary {
    /// The median.
    pub median: f64,
    /// The MAD scaled by [`MAD_SCALE`] (before any floor).
    pub spread: f64,
    /// How many values were summarised.
    pub count: usize,
}

impl RobustSummary {
    /// The robust z-score of `value`, with the spread floored at `floor`.
    pub fn z(&self, value: f64, floor: f64) -> f64 {
        robust_z(value, self.median, self.spread, floor)
    }
}

/// The robust summary of the logs of amounts in fen; `None` when empty. Works on the stack
/// for up to 64 amounts (every reservoir of the baselines), so scoring does not allocate.
pub fn summarise_log_amounts(amounts_fen: &[i64]) -> Option<RobustSummary> {
    const STACK: usize = 64;
    let mut on_stack = [0.0_f64; STACK];
    let mut on_heap = Vec::new();
    let logs: &mut [f64] = if amounts_fen.len() <= STACK {
        &mut on_stack[..amounts_fen.len()]
    } else {
        on_heap.resize(amounts_fen.len(), 0.0);
        &mut on_heap
    };
    for (log, &amount) in logs.iter_mut().zip(amounts_fen) {
        *log = log_amount(amount);
    }
    let centre = median_in_place(logs)?;
    let spread = mad_in_place(logs, centre)?;
    Some(RobustSummary {
        median: centre,
        spread,
        count: amounts_fen.len(),
    })
}

/// The most recent `N` values (at most), in a ring: pushing is O(1) and memory is bounded.
/// The order of [`RecentValues::values`] is the ring's, not time order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RecentValues<const N: usize> {
    /// The kept values.
    values: Vec<i64>,
    /// The slot the next push overwrites once the ring is full (the oldest value).
    next: usize,
}

impl<const N: usize> RecentValues<N> {
    /// The ring's capacity.
    pub const CAPACITY: usize = N;

    /// Keeps `value`, dropping the oldest one when full.
    pub fn push(&mut self, value: i64) {
        if self.values.len() < N {
            self.values.push(value);
            return;
        }
        // `next` is kept in range, but a stored row could hold anything: reduce it again.
        let slot = self.next % self.values.len().max(1);
        if let Some(oldest) = self.values.get_mut(slot) {
            *oldest = value;
        }
        self.next = (slot + 1) % N.max(1);
    }

    /// The kept values, in ring order.
    pub fn values(&self) -> &[i64] {
        &self.values
    }

    /// How many values are kept.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Width of one bin of a [`LogHistogram`], in natural-log units (a factor of e^0.05 ≈ 1.05).
pub const LOG_BIN_WIDTH: f64 = 0.05;

/// Number of bins of a [`LogHistogram`]: `ln(fen)` from 0 to 25.6, one fen to about 1.3 × 10^11
/// fen (1.3 billion yuan).
pub const LOG_BINS: usize = 512;

/// A histogram of `ln(amount)` in fixed bins: exact to merge and update, unbounded in how many
/// values it summarises, and its quantiles are exact up to the bin width (5 %). Used for
/// products and the global baseline, which see far more operations than a reservoir holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogHistogram {
    /// Count per bin; bin `i` covers `[i, i + 1) × LOG_BIN_WIDTH`.
    counts: Vec<u32>,
    /// Total count.
    total: u64,
}

impl Default for LogHistogram {
    fn default() -> Self {
        Self {
            counts: vec![0; LOG_BINS],
            total: 0,
        }
    }
}

impl LogHistogram {
    /// The bin of a log value, clamped to the histogram's range.
    fn bin_of(log_value: f64) -> usize {
        // Float-to-int `as` saturates (NaN gives 0), then the clamp keeps the top in range.
        ((log_value / LOG_BIN_WIDTH).floor().max(0.0) as usize).min(LOG_BINS - 1)
    }

    /// Counts one log value.
    pub fn add(&mut self, log_value: f64) {
        if self.counts.len() != LOG_BINS {
            self.counts.resize(LOG_BINS, 0);
        }
        if let Some(count) = self.counts.get_mut(Self::bin_of(log_value)) {
            *count = count.saturating_add(1);
            self.total += 1;
        }
    }

    /// How many values were counted.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// How many values lie below `log_value`, assuming values spread evenly within a bin.
    pub fn count_below(&self, log_value: f64) -> f64 {
        let position = (log_value / LOG_BIN_WIDTH).max(0.0);
        let whole_bins = position.floor() as usize;
        let mut below: f64 = self
            .counts
            .iter()
            .take(whole_bins)
            .map(|&count| f64::from(count))
            .sum();
        if let Some(&partial) = self.counts.get(whole_bins) {
            below += f64::from(partial) * (position - whole_bins as f64);
        }
        below
    }

    /// The `q`-quantile (clamped to 0..=1), assuming values spread evenly within a bin;
    /// `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total: f64 = self.counts.iter().map(|&count| f64::from(count)).sum();
        if total <= 0.0 {
            return None;
        }
        let target = q.clamp(0.0, 1.0) * total;
        let mut cumulative = 0.0;
        let mut last_upper_edge = 0.0;
        for (index, &count) in self.counts.iter().enumerate() {
            if count == 0 {
                continue;
            }
            let count = f64::from(count);
            if cumulative + count >= target {
                let fraction = (target - cumulative) / count;
                return Some((index as f64 + fraction) * LOG_BIN_WIDTH);
            }
            cumulative += count;
            last_upper_edge = (index + 1) as f64 * LOG_BIN_WIDTH;
        }
        Some(last_upper_edge)
    }

    /// The median and scaled MAD, interpolated within bins; `None` when empty.
    pub fn summary(&self) -> Option<RobustSummary> {
        let median = self.quantile(0.5)?;
        // prefix[i] = count of values in bins below i.
        let mut prefix = [0.0_f64; LOG_BINS + 1];
        for (index, &count) in self.counts.iter().take(LOG_BINS).enumerate() {
            prefix[index + 1] = prefix[index] + f64::from(count);
        }
        let total = prefix[LOG_BINS];
        let cdf = |log_value: f64| -> f64 {
            let position = (log_value / LOG_BIN_WIDTH).max(0.0);
            let index = position.floor() as usize;
            if index >= LOG_BINS {
                return total;
            }
            prefix[index] + (prefix[index + 1] - prefix[index]) * (position - index as f64)
        };
        // The MAD is the smallest d with half the values within [median - d, median + d]:
        // bisect, since the share within grows with d.
        let (mut low, mut high) = (0.0_f64, LOG_BINS as f64 * LOG_BIN_WIDTH);
        for _ in 0..48 {
            let middle = (low + high) / 2.0;
            if cdf(median + middle) - cdf(median - middle) >= total / 2.0 {
                high = middle;
            } else {
                low = middle;
            }
        }
        Some(RobustSummary {
            median,
            spread: high * MAD_SCALE,
            count: usize::try_from(self.total).unwrap_or(usize::MAX),
        })
    }
}

/// Counts per hour of the day (China time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HourHistogram {
    /// Count per hour, 0..=23.
    counts: [u32; 24],
}

impl HourHistogram {
    /// Counts one operation at `hour` (taken modulo 24).
    pub fn add(&mut self, hour: u8) {
        let count = &mut self.counts[usize::from(hour % 24)];
        *count = count.saturating_add(1);
    }

    /// The counts per hour.
    pub fn counts(&self) -> &[u32; 24] {
        &self.counts
    }

    /// How many operations were counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().map(|&count| u64::from(count)).sum()
    }

    /// Probabilities per hour with Laplace (additive) smoothing: `(count + alpha) / (total +
    /// 24 alpha)`, so an hour never seen still has a small positive probability.
    pub fn laplace_probabilities(&self, alpha: f64) -> [f64; 24] {
        let denominator = self.total() as f64 + 24.0 * alpha;
        let mut probabilities = [1.0 / 24.0; 24];
        if denominator > 0.0 {
            for (probability, &count) in probabilities.iter_mut().zip(&self.counts) {
                *probability = (f64::from(count) + alpha) / denominator;
            }
        }
        probabilities
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ring keeps the most recent values and overwrites the oldest.
    #[test]
    fn the_ring_keeps_the_most_recent_values() {
        let mut ring = RecentValues::<3>::default();
        for value in 1..=5 {
            ring.push(value);
        }
        let mut kept = ring.values().to_vec();
        kept.sort_unstable();
        assert_eq!(kept, vec![3, 4, 5]);
    }

    /// The histogram's median and MAD are those of the values, up to the bin width.
    #[test]
    fn histogram_summary_matches_exact_statistics() {
        let mut histogram = LogHistogram::default();
        let values: Vec<f64> = (0..1000).map(|i| 8.0 + f64::from(i) * 0.004).collect();
        for &value in &values {
            histogram.add(value);
        }
        let summary = histogram.summary().expect("non-empty");
        let exact_median = median(&values).expect("non-empty");
        let exact_mad = mad(&values, exact_median).expect("non-empty");
        assert!((summary.median - exact_median).abs() < LOG_BIN_WIDTH);
        assert!((summary.spread - exact_mad).abs() < LOG_BIN_WIDTH * MAD_SCALE);
        assert_eq!(summary.count, 1000);
        assert!(LogHistogram::default().summary().is_none());
    }

    /// Laplace smoothing gives unseen hours a small share and sums to one.
    #[test]
    fn laplace_smoothing_sums_to_one() {
        let mut hours = HourHistogram::default();
        for _ in 0..10 {
            hours.add(9);
        }
        let probabilities = hours.laplace_probabilities(1.0);
        assert!((probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!((probabilities[9] - 11.0 / 34.0).abs() < 1e-12);
        assert!((probabilities[3] - 1.0 / 34.0).abs() < 1e-12);
    }
}
