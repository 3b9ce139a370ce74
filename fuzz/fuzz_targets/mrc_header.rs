//! The MRC header: any bytes as a file opened with `MrcFile::open`. An accepted header must
//! describe data that lies inside the file, and re-encoding it must give a header that opens
//! to the same geometry.
#![no_main]
use libfuzzer_sys::fuzz_target;
use misalign::host::mrc::{MrcFile, HEADER_LEN};
use misalign::host::SliceSource;
use misalign_fuzz::scratch_file;

fuzz_target!(|bytes: &[u8]| {
    let path = scratch_file("header.mrc", bytes);
    let Ok(mrc) = MrcFile::open(&path) else {
        return;
    };
    let h = mrc.header().clone();
    let end = h.data_offset() + h.data_len();
    assert!(
        end <= bytes.len() as u64,
        "header accepted with data ending at {end} in a {}-byte file",
        bytes.len()
    );
    assert!(h.dims().iter().all(|&d| d > 0));
    assert_eq!(mrc.dims(), h.dims());
    let _ = (h.voxel_size(), h.is_standard_order(), mrc.voxel_size());

    // Round trip: the encoded header followed by the original data block opens again with the
    // same dimensions, mode and axis order.
    let data = &bytes[h.data_offset() as usize..end as usize];
    let mut again = h.encode().to_vec();
    let ext = &bytes[HEADER_LEN..h.data_offset() as usize];
    again.extend_from_slice(ext);
    again.extend_from_slice(data);
    let path = scratch_file("header-again.mrc", &again);
    let back = MrcFile::open(&path).expect("a re-encoded accepted header must open");
    let b = back.header();
    assert_eq!(b.dims(), h.dims());
    assert_eq!(b.mode, h.mode);
    assert_eq!(b.is_standard_order(), h.is_standard_order());
    assert_eq!(b.ext_header_len, h.ext_header_len);
    assert_eq!(
        b.voxel_size().map(f32::to_bits),
        h.voxel_size().map(f32::to_bits),
        "voxel size changed in the round trip"
    );
});
