//! Tilt-series and tomogram simulator: phantom, projection, misalignment, weighted back-projection.
