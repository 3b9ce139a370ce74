//! The C ABI (`misalign_*`), see include/misalign.h.
