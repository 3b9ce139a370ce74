//! The fused conv → ReLU → pool → batch-norm blocks, dense head and sigmoid.
