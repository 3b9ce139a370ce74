//! RELION `.star` coordinates, pixel or centred-Å columns (first byte: the context, its bit 7
//! also picks the centred-Å format name; rest: the file; see `fuzz_coordinates`).
#![no_main]
use libfuzzer_sys::fuzz_target;
use misalign::host::coords::CoordFormat;

fuzz_target!(|bytes: &[u8]| {
    let format = match bytes.first() {
        Some(b) if b & 0x80 != 0 => CoordFormat::StarCentredAngst,
        _ => CoordFormat::Star,
    };
    misalign_fuzz::fuzz_coordinates(bytes, "in.star", format)
});
