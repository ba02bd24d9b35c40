//! Gesture patterns on a 3x3 grid (clause 5.2.1.1-d1).
//!
//! Points are numbered 1 to 9, left to right, top to bottom. A pattern has at least 4 points,
//! visits no point twice, and never jumps over a point it has not visited (moving from 1 to 3
//! passes through 2, so 2 must already be in the pattern), which is what "connected" means on
//! a phone's unlock grid. It is stored like a password ([`crate::secret_hash`]).

use core::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Fewest points in a pattern.
pub const POINTS_MIN: usize = 4;
/// Points on the grid.
pub const POINTS_MAX: usize = 9;

/// Why a pattern is refused. Messages never repeat the pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GestureError {
    /// Fewer than [`POINTS_MIN`] points.
    #[error("a gesture connects at least {POINTS_MIN} points")]
    TooShort,
    /// A point is not 1 to 9 or the text is malformed.
    #[error("a gesture is a sequence of grid points 1 to 9")]
    Malformed,
    /// A point appears twice.
    #[error("a gesture visits each point at most once")]
    Repeated,
    /// A move jumps over a point not yet visited.
    #[error("a gesture cannot jump over a point it has not visited")]
    Jump,
}

/// A valid gesture pattern. `Debug` is redacted; zeroised on drop.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Gesture(Vec<u8>);

impl fmt::Debug for Gesture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Gesture([REDACTED])")
    }
}

impl Gesture {
    /// Parses `"1-2-3-6"`, `"1236"` or `"1,2,3,6"`.
    pub fn parse(raw: &str) -> Result<Gesture, GestureError> {
        let mut points = Vec::with_capacity(POINTS_MAX);
        for c in raw.trim().chars() {
            match c {
                '1'..='9' => {
                    if points.len() == POINTS_MAX {
                        return Err(GestureError::Repeated);
                    }
                    points.push(c as u8 - b'0');
                }
                '-' | ',' | ' ' => {}
                _ => return Err(GestureError::Malformed),
            }
        }
        if points.len() < POINTS_MIN {
            return Err(GestureError::TooShort);
        }
        let mut seen = [false; 10];
        for (index, point) in points.iter().enumerate() {
            if seen[usize::from(*point)] {
                return Err(GestureError::Repeated);
            }
            if index > 0
                && let Some(middle) = middle_point(points[index - 1], *point)
                && !seen[usize::from(middle)]
            {
                return Err(GestureError::Jump);
            }
            seen[usize::from(*point)] = true;
        }
        Ok(Gesture(points))
    }

    /// The canonical form hashed for storage: the point digits, e.g. `"1236"`.
    pub fn canonical(&self) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(
            self.0
                .iter()
                .map(|point| char::from(b'0' + point))
                .collect(),
        )
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true for a parsed pattern; present for completeness.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The point a straight move from `a` to `b` passes through, if any.
fn middle_point(a: u8, b: u8) -> Option<u8> {
    let (ax, ay) = (i16::from((a - 1) % 3), i16::from((a - 1) / 3));
    let (bx, by) = (i16::from((b - 1) % 3), i16::from((b - 1) / 3));
    let (dx, dy) = (bx - ax, by - ay);
    if dx % 2 == 0 && dy % 2 == 0 {
        let (mx, my) = (ax + dx / 2, ay + dy / 2);
        u8::try_from(my * 3 + mx + 1).ok()
    } else {
        None
    }
}
