//! Networks as opaque heap handles (the std layer): load from a file or from bytes, score many
//! cubes on several threads, free.
use std::ffi::c_char;

use super::error::{guard, misalign_status, Failure};
use super::ptr;
use crate::host::infer::{load_weights, score_cubes};
use crate::net::forward::Prepared;
use crate::net::topology::CUBE_LEN;
use crate::net::weights::WeightFile;

/// A loaded network (opaque). Create with `misalign_network_from_file` or
/// `misalign_network_from_bytes`, release with `misalign_network_free`. Immutable once created:
/// any number of threads may score with the same handle at the same time.
pub struct misalign_network {
    pub(crate) net: Box<Prepared>,
}

/// Stores a new handle in `*out`.
fn hand_out(out: &mut *mut misalign_network, net: Box<Prepared>) {
    *out = Box::into_raw(Box::new(misalign_network { net }));
}

/// Loads a `.mlw` weight file (ours, or converted from Keras by tools/keras_to_misalign.py).
/// On success `*out` receives a new handle the caller must free with `misalign_network_free`;
/// on error `*out` is set to NULL.
///
/// Errors: `NULL_POINTER`, `INVALID_ARGUMENT` (empty path), `IO` (cannot read the file),
/// `WEIGHTS` (invalid contents); the message names the file.
///
/// # Safety
/// `path` must be a NUL-terminated string; `out` must point to a writable pointer.
#[no_mangle]
pub unsafe extern "C" fn misalign_network_from_file(
    path: *const c_char,
    out: *mut *mut misalign_network,
) -> misalign_status {
    guard(|| {
        // SAFETY: the caller's promises.
        let out = unsafe { ptr::out(out, "out") }?;
        *out = std::ptr::null_mut();
        // SAFETY: as above.
        let path = unsafe { ptr::path(path, "path") }?;
        hand_out(out, load_weights(&path)?);
        Ok(())
    })
}

/// Loads a network from the bytes of a `.mlw` weight file held in memory (copied; the buffer
/// may be freed afterwards). On success `*out` receives a new handle to free with
/// `misalign_network_free`; on error `*out` is set to NULL.
///
/// Errors: `NULL_POINTER`, `WEIGHTS` (truncated, corrupt, wrong topology, bad checksum).
///
/// # Safety
/// `bytes` must point to `len` readable bytes; `out` must point to a writable pointer.
#[no_mangle]
pub unsafe extern "C" fn misalign_network_from_bytes(
    bytes: *const u8,
    len: usize,
    out: *mut *mut misalign_network,
) -> misalign_status {
    guard(|| {
        // SAFETY: the caller's promises.
        let out = unsafe { ptr::out(out, "out") }?;
        *out = std::ptr::null_mut();
        if bytes.is_null() {
            return Err(Failure::null("bytes"));
        }
        // SAFETY: as above.
        let b = unsafe { ptr::slice(bytes, len, "bytes") }?;
        let wf = WeightFile::parse(b)?;
        hand_out(out, Prepared::boxed(&wf));
        Ok(())
    })
}

/// A network built into the library (`MISALIGN_NET_STRONG` or `MISALIGN_NET_WEAK`). On
/// success `*out` receives a new handle to free with `misalign_network_free`; on error NULL.
///
/// Errors: `NULL_POINTER`, `INVALID_ARGUMENT` (unknown kind), `WEIGHTS` (a corrupt build).
///
/// # Safety
/// `out` must point to a writable pointer.
#[no_mangle]
pub unsafe extern "C" fn misalign_network_baked(
    kind: super::cube::misalign_net_kind,
    out: *mut *mut misalign_network,
) -> misalign_status {
    guard(|| {
        // SAFETY: the caller's promise.
        let out = unsafe { ptr::out(out, "out") }?;
        *out = std::ptr::null_mut();
        let wf = WeightFile::parse(super::cube::baked_bytes(kind)?)?;
        hand_out(out, Prepared::boxed(&wf));
        Ok(())
    })
}

/// Frees a network handle. NULL is allowed and ignored. The handle must not be used afterwards
/// (nor freed twice), and no other thread may be using it.
///
/// # Safety
/// `net` must be NULL or a handle returned by this library and not yet freed.
#[no_mangle]
pub unsafe extern "C" fn misalign_network_free(net: *mut misalign_network) {
    if net.is_null() {
        return;
    }
    // A panic in a destructor of plain f32 arrays cannot happen, but stay unwind-free anyway.
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: a pointer from Box::into_raw in `hand_out`, freed once (caller's promise).
        drop(unsafe { Box::from_raw(net) });
    });
}

/// Scores `n_cubes` cubes of 32³ stored one after another in `cubes` (`n_cubes *
/// MISALIGN_CUBE_LEN` floats, each x fastest, then y, then z), writing one score in [0, 1] per
/// cube (1 = aligned) to `scores[0 .. n_cubes)`, in input order. With `normalize`, each cube is
/// first brought to mean 0 / sd 1 (on a private copy; `cubes` is not modified); pass `false`
/// for cubes already normalised. `threads` worker threads (0 = one per available CPU).
/// Allocates per call (one scratch per worker). Thread-safe for a shared `net`.
///
/// Errors: `NULL_POINTER`, `INVALID_ARGUMENT` (`n_cubes` overflows, a NaN or infinite voxel —
/// the message names the cube), `BUFFER_TOO_SMALL` (`scores_capacity < n_cubes`). `scores` is
/// written only on success. `n_cubes == 0` succeeds and writes nothing.
///
/// # Safety
/// `net` must be a live handle; `cubes` must point to `n_cubes * MISALIGN_CUBE_LEN` readable
/// floats and `scores` to `scores_capacity` writable floats that nobody else accesses meanwhile.
#[no_mangle]
pub unsafe extern "C" fn misalign_network_score(
    net: *const misalign_network,
    cubes: *const f32,
    n_cubes: usize,
    normalize: bool,
    threads: u32,
    scores: *mut f32,
    scores_capacity: usize,
) -> misalign_status {
    guard(|| {
        // SAFETY: the caller's promise that `net` is a live handle.
        let net = unsafe { ptr::input(net, "net") }?;
        let values = n_cubes
            .checked_mul(CUBE_LEN)
            .ok_or_else(|| Failure::invalid(format!("n_cubes = {n_cubes} overflows")))?;
        if n_cubes > 0 && cubes.is_null() {
            return Err(Failure::null("cubes"));
        }
        if scores.is_null() && n_cubes > 0 {
            return Err(Failure::null("scores"));
        }
        if scores_capacity < n_cubes {
            return Err(Failure::new(
                misalign_status::BufferTooSmall,
                format!("scores has room for {scores_capacity} values, {n_cubes} cubes given"),
            ));
        }
        ptr::disjoint(
            cubes as *const u8,
            values.saturating_mul(4),
            scores as *const u8,
            n_cubes.saturating_mul(4),
            "cubes and scores",
        )?;
        // SAFETY: the caller's promises; lengths, alignment and disjointness checked.
        let (input, output) = unsafe {
            (
                ptr::slice(cubes, values, "cubes")?,
                ptr::slice_mut(scores, n_cubes, "scores")?,
            )
        };
        let s = score_cubes(&net.net, input, normalize, threads as usize)?;
        output.copy_from_slice(&s);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loading_errors_name_the_problem_and_null_the_handle() {
        let mut h: *mut misalign_network = 1usize as *mut misalign_network;
        // SAFETY: valid C strings and out pointers.
        unsafe {
            let st = misalign_network_from_file(c"/nonexistent/x.mlw".as_ptr(), &mut h);
            assert_eq!(st, misalign_status::Io);
            assert!(h.is_null());
            let junk = [7u8; 100];
            let st = misalign_network_from_bytes(junk.as_ptr(), junk.len(), &mut h);
            assert_eq!(st, misalign_status::Weights);
            assert!(h.is_null());
            let st = misalign_network_from_file(std::ptr::null(), &mut h);
            assert_eq!(st, misalign_status::NullPointer);
            misalign_network_free(std::ptr::null_mut());
        }
    }

    #[test]
    fn batch_scoring_checks_capacity_and_matches_single_cubes() {
        let p = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/keras-golden/model.mlw\0"
        );
        let mut h = std::ptr::null_mut();
        // SAFETY: NUL-terminated path, valid out pointer; buffers of the stated sizes.
        unsafe {
            let st = misalign_network_from_file(p.as_ptr() as *const c_char, &mut h);
            assert_eq!(st, misalign_status::Ok);
            let cubes: Vec<f32> = (0..2 * CUBE_LEN)
                .map(|i| ((i * 7919) % 13) as f32)
                .collect();
            let mut scores = [f32::NAN; 2];
            let st = misalign_network_score(h, cubes.as_ptr(), 2, true, 2, scores.as_mut_ptr(), 1);
            assert_eq!(st, misalign_status::BufferTooSmall);
            assert!(scores[0].is_nan());
            let st = misalign_network_score(h, cubes.as_ptr(), 2, true, 2, scores.as_mut_ptr(), 2);
            assert_eq!(st, misalign_status::Ok);
            assert!(scores.iter().all(|s| (0.0..=1.0).contains(s)));
            let st = misalign_network_score(
                h,
                cubes.as_ptr(),
                usize::MAX,
                true,
                1,
                scores.as_mut_ptr(),
                2,
            );
            assert_eq!(st, misalign_status::InvalidArgument);
            misalign_network_free(h);
        }
    }
}
