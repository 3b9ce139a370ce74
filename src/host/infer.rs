//! Scoring many cubes: weight-file loading and threaded batch inference on the no_std network.
use std::path::Path;

use crate::host::{resolve_threads, Error, Result};
use crate::net::forward::{logit, normalize_cube, sigmoid, Prepared, Scratch};
use crate::net::topology::CUBE_LEN;
use crate::net::weights::WeightFile;

impl Prepared {
    /// A prepared network on the heap, built in place (no 432 KiB stack temporary).
    pub fn boxed(wf: &WeightFile<'_>) -> Box<Self> {
        // SAFETY: `Prepared` holds only f32 values, for which all-zero bits are valid.
        let mut p: Box<Self> = unsafe { zeroed_box() };
        p.load(wf);
        p
    }
}

impl Scratch {
    /// A scratch on the heap (no 308 KiB stack temporary).
    pub fn boxed() -> Box<Self> {
        // SAFETY: `Scratch` is an f32 array; all-zero bits are valid.
        unsafe { zeroed_box() }
    }
}

/// Allocates a zeroed `T` directly on the heap.
///
/// # Safety
/// All-zero bits must be a valid `T` and `T` must not be zero-sized.
unsafe fn zeroed_box<T>() -> Box<T> {
    let layout = std::alloc::Layout::new::<T>();
    // SAFETY: non-zero size (caller); null is handled; zero bits are a valid `T` (caller); the
    // pointer comes from the global allocator with `T`'s layout, as `Box::from_raw` requires.
    unsafe {
        let p = std::alloc::alloc_zeroed(layout) as *mut T;
        if p.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        Box::from_raw(p)
    }
}

/// Reads and validates a `.mlw` weight file and expands it for the forward pass.
/// Errors name the file: [`Error::Io`] if it cannot be read, [`Error::Weights`] if it is invalid.
pub fn load_weights(path: &Path) -> Result<Box<Prepared>> {
    load_weights_hashed(path).map(|(net, _)| net)
}

/// [`load_weights`], also giving the FNV-1a 64 hash of the file's bytes (its identity in
/// resume fingerprints). A FIFO or device is refused before it is opened.
pub(crate) fn load_weights_hashed(path: &Path) -> Result<(Box<Prepared>, u64)> {
    let bytes = crate::host::fsutil::read_regular(path).map_err(|e| match e {
        Error::Io { source, .. } => {
            Error::io(format!("reading weight file {}", path.display()), source)
        }
        Error::Invalid(m) => Error::Invalid(format!("weight file {m}")),
        e => e,
    })?;
    let wf = WeightFile::parse(&bytes)
        .map_err(|e| Error::Weights(format!("weight file {}: {e}", path.display())))?;
    Ok((Prepared::boxed(&wf), fnv1a64(&bytes)))
}

/// FNV-1a, 64 bits: a fast, dependency-free identity hash (not cryptographic).
pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Scores `cubes` (N·[`CUBE_LEN`] values, cube after cube, each x fastest then y then z) with
/// `threads` worker threads (1 runs on the calling thread, 0 = every core). With `normalize`, each cube is first
/// brought to mean 0 / sd 1 ([`normalize_cube`]); otherwise it is used as given. Output order is
/// the input order, whatever the thread count.
///
/// Errors: a length that is not a multiple of `CUBE_LEN`, or a cube with a NaN
/// or infinite voxel (named by index).
pub fn score_cubes(
    net: &Prepared,
    cubes: &[f32],
    normalize: bool,
    threads: usize,
) -> Result<Vec<f32>> {
    if cubes.len() % CUBE_LEN != 0 {
        return Err(Error::Invalid(format!(
            "scoring cubes: {} values is not a whole number of {CUBE_LEN}-voxel cubes",
            cubes.len()
        )));
    }
    let threads = resolve_threads(threads);
    let n = cubes.len() / CUBE_LEN;
    let mut scores = vec![0.0f32; n];
    let workers = threads.min(n.max(1));
    let per = n.div_ceil(workers.max(1)).max(1);
    // Non-finite voxels are not checked up front (a serial pass over every cube): the forward
    // pass returns NaN for them, and a NaN score is turned into the error below.
    let run = |inp: &[f32], out: &mut [f32]| {
        let mut scratch = Scratch::boxed();
        let mut cube = Box::new([0.0f32; CUBE_LEN]);
        for (c, s) in inp.chunks_exact(CUBE_LEN).zip(out.iter_mut()) {
            let c: &[f32; CUBE_LEN] = c.try_into().expect("chunks_exact gives whole cubes");
            let input = if normalize {
                cube.copy_from_slice(c);
                normalize_cube(&mut cube);
                &*cube
            } else {
                c
            };
            *s = sigmoid(logit(net, input, &mut scratch));
        }
    };
    if workers <= 1 {
        run(cubes, &mut scores);
    } else {
        std::thread::scope(|s| {
            for (inp, out) in cubes.chunks(per * CUBE_LEN).zip(scores.chunks_mut(per)) {
                s.spawn(move || run(inp, out));
            }
        });
    }
    if let Some(i) = scores.iter().position(|v| v.is_nan()) {
        let c = &cubes[i * CUBE_LEN..(i + 1) * CUBE_LEN];
        return Err(Error::Invalid(if c.iter().any(|v| !v.is_finite()) {
            format!("scoring cubes: cube {i} contains a NaN or infinite voxel")
        } else {
            format!("scoring cubes: cube {i} overflowed in the network (values too large?)")
        }));
    }
    Ok(scores)
}
