//! Trainer for the misalign networks.
