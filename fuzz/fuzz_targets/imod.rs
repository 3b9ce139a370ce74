//! IMOD point text: `model2point` (`.txt`) or tiltalign `.xyz`, chosen by bit 7 of the first
//! byte (which is also the context; rest: the file; see `fuzz_coordinates`).
#![no_main]
use libfuzzer_sys::fuzz_target;
use misalign::host::coords::CoordFormat;

fuzz_target!(|bytes: &[u8]| match bytes.first() {
    Some(b) if b & 0x80 != 0 => {
        misalign_fuzz::fuzz_coordinates(bytes, "in.xyz", CoordFormat::ImodXyz)
    }
    _ => misalign_fuzz::fuzz_coordinates(bytes, "in.txt", CoordFormat::ImodPoints),
});
