//! The weight-file parser (`WeightFile::parse`, also behind `misalign_network_from_bytes`).
//!
//! First byte 0: the rest is parsed as a file (headers, lengths, magic). Any other first byte:
//! the rest is a list of 4-byte patches (24-bit offset, new byte) applied to the built-in strong
//! weights, and with bit 1 set the CRC is recomputed, so mutations reach the per-value checks
//! behind the checksum; with bit 2 set the file also goes through `misalign_network_from_bytes`,
//! which must agree; with bit 3 set an accepted file must re-encode to exactly its own bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use misalign::ffi::error::misalign_status;
use misalign::ffi::network::{misalign_network_free, misalign_network_from_bytes};
use misalign::net::baked::STRONG_MLW;
use misalign::net::topology::PARAM_COUNT;
use misalign::net::weights::{crc32, encode, CHECKSUM_LEN, FILE_LEN};
use misalign::net::WeightFile;

fuzz_target!(|bytes: &[u8]| {
    let Some((&mode, rest)) = bytes.split_first() else {
        return;
    };
    let patched;
    let file: &[u8] = if mode == 0 {
        rest
    } else {
        let mut f = STRONG_MLW.to_vec();
        for p in rest.chunks_exact(4) {
            let at = u32::from_le_bytes([p[0], p[1], p[2], 0]) as usize % FILE_LEN;
            f[at] = p[3];
        }
        if mode & 2 != 0 {
            let body = FILE_LEN - CHECKSUM_LEN;
            let crc = crc32(&f[..body]).to_le_bytes();
            f[body..].copy_from_slice(&crc);
        }
        patched = f;
        &patched
    };
    let parsed = WeightFile::parse(file);
    // Bit 2: also through the C ABI (it expands the network: slow, so not on every input).
    if mode & 4 != 0 {
        let mut net = std::ptr::null_mut();
        // SAFETY: `file` is a live slice and `net` a writable pointer.
        let status = unsafe { misalign_network_from_bytes(file.as_ptr(), file.len(), &mut net) };
        assert_ne!(status, misalign_status::Panic);
        assert_eq!(
            status == misalign_status::Ok,
            parsed.is_ok(),
            "C ABI and parse disagree"
        );
        assert_eq!(net.is_null(), parsed.is_err());
        // SAFETY: NULL or a handle the call above created, freed once.
        unsafe { misalign_network_free(net) };
    }
    match parsed {
        Err(e) => assert!(!e.to_string().is_empty()),
        Ok(wf) => {
            assert_eq!(wf.param_count(), PARAM_COUNT);
            // Bit 3: the re-encoding check (f16 conversion of every value: slow too).
            if mode & 8 == 0 {
                return;
            }
            let values: Vec<f32> = (0..PARAM_COUNT).map(|k| wf.value(k).unwrap()).collect();
            assert!(values.iter().all(|v| v.is_finite()));
            let again = encode(&values, wf.epsilon()).expect("a parsed file's values encode");
            assert!(again == file, "re-encoding a parsed file changed its bytes");
        }
    }
});
