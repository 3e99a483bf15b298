//! What the probes share: percentiles over sorted samples.

/// The `p`th percentile (nearest rank) of ascending `sorted` samples; -1 when there are none.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return -1.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}
