//! Bead-scaled 32³ cube extraction (spec/subtomo-extraction.md).
