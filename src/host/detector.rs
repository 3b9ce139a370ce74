//! The streaming, multi-threaded fiducial detector driver (spec/fiducial-detector.md).
