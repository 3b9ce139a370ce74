//! Xmipp `.xmd` coordinates (first byte: the context, rest: the file; see `fuzz_coordinates`).
#![no_main]
use libfuzzer_sys::fuzz_target;
use misalign::host::coords::CoordFormat;

fuzz_target!(|bytes: &[u8]| misalign_fuzz::fuzz_coordinates(bytes, "in.xmd", CoordFormat::Xmd));
