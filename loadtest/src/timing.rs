//! When simulated participants act: the arrival curve (everyone at T0, or staggered over
//! a window) and the think time before each answer (fixed, uniform or exponential).

use std::time::Duration;

use rand::Rng as _;

/// How participants arrive after T0.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Arrival {
    /// Everyone presses Start at T0: the 10:00:00 storm.
    AllAtOnce,
    /// Arrivals spread uniformly at random over the window.
    Staggered { window: Duration },
    /// Arrivals spread evenly over the window, in participant order.
    Linear { window: Duration },
}

impl Arrival {
    /// Staggered over `window`, or all at once for a zero window.
    pub fn over(window: Duration) -> Self {
        if window.is_zero() {
            Self::AllAtOnce
        } else {
            Self::Staggered { window }
        }
    }

    /// How long after T0 participant `index` of `participants` arrives.
    pub fn delay(&self, index: usize, participants: usize) -> Duration {
        match *self {
            Self::AllAtOnce => Duration::ZERO,
            Self::Staggered { window } => {
                let window_us = window.as_micros().max(1) as u64;
                Duration::from_micros(rand::rng().random_range(0..window_us))
            }
            Self::Linear { window } => window.mul_f64(index as f64 / participants.max(1) as f64),
        }
    }
}

/// The shape of think time; its bounds are `LoadConfig::think_time_ms`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum ThinkTime {
    /// Uniform between the bounds.
    #[default]
    Uniform,
    /// Exponential with this mean (a Poisson stream of answers per participant), clamped
    /// to the bounds.
    Exponential { mean_ms: u64 },
}

impl ThinkTime {
    /// One think time, in milliseconds, within `(low, high)`.
    pub fn sample_ms(&self, (low, high): (u64, u64)) -> u64 {
        let mut rng = rand::rng();
        let drawn = match *self {
            Self::Uniform if high > low => rng.random_range(low..=high),
            Self::Uniform => low,
            Self::Exponential { mean_ms } => {
                let uniform: f64 = rng.random_range(f64::EPSILON..1.0);
                (-uniform.ln() * mean_ms as f64) as u64
            }
        };
        drawn.clamp(low, high.max(low))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn think_times_stay_within_their_bounds() {
        for _ in 0..1_000 {
            let uniform = ThinkTime::Uniform.sample_ms((10, 20));
            assert!((10..=20).contains(&uniform));
            let exponential = ThinkTime::Exponential { mean_ms: 500 }.sample_ms((5, 2_000));
            assert!((5..=2_000).contains(&exponential));
        }
    }

    #[test]
    fn linear_arrivals_spread_evenly_and_a_zero_window_is_a_storm() {
        let linear = Arrival::Linear {
            window: Duration::from_secs(10),
        };
        assert_eq!(linear.delay(5, 10), Duration::from_secs(5));
        assert_eq!(Arrival::over(Duration::ZERO).delay(3, 10), Duration::ZERO);
    }
}
