//! The allocation-free core: expand a weight file into caller memory, normalise a cube, score
//! one cube with a caller scratch buffer. Nothing here touches the heap, so it suits hosts that
//! manage all memory themselves (or real-time threads); the sizes are header constants.
use super::error::{guard, misalign_status, Failure};
use super::ptr;
use crate::net::forward::{self, Prepared, Scratch, PREPARED_LEN, SCRATCH_LEN};
use crate::net::topology::{CUBE_LEN, EDGE};
use crate::net::weights::{WeightFile, FILE_LEN};

/// Edge of a network cube in voxels.
pub const MISALIGN_CUBE_EDGE: usize = 32;
/// Voxels (floats) in one cube: 32·32·32, x fastest, then y, then z.
pub const MISALIGN_CUBE_LEN: usize = 32768;
/// Floats of scratch memory one `misalign_score_cube` call needs (308 KiB); one buffer per
/// thread, contents irrelevant between calls.
pub const MISALIGN_SCRATCH_LEN: usize = 78944;
/// Floats of a prepared network (432 KiB): the expanded parameters plus a 4-float tag that
/// `misalign_score_cube` checks, so an unprepared buffer is refused rather than scored.
pub const MISALIGN_PREPARED_LEN: usize = 110645;
/// Bytes of a `.mlw` weight file (f16 parameters, header and CRC-32).
pub const MISALIGN_WEIGHTS_LEN: usize = 221822;

/// Floats in front of the parameters in a prepared buffer.
const TAG_LEN: usize = 4;
/// First tag word: "MLNP" (misalign prepared network).
const TAG_MAGIC: u32 = u32::from_le_bytes(*b"MLNP");

// The header constants are literals (cbindgen cannot evaluate the topology); pin them here.
const _: () = assert!(MISALIGN_CUBE_EDGE == EDGE && MISALIGN_CUBE_LEN == CUBE_LEN);
const _: () = assert!(MISALIGN_SCRATCH_LEN == SCRATCH_LEN);
const _: () = assert!(MISALIGN_PREPARED_LEN == PREPARED_LEN + TAG_LEN);
const _: () = assert!(MISALIGN_WEIGHTS_LEN == FILE_LEN);
// The casts below view caller float buffers as these types: same size, f32 alignment, and every
// bit pattern valid (they hold only f32 values).
const _: () = assert!(std::mem::size_of::<Prepared>() == 4 * PREPARED_LEN);
const _: () = assert!(std::mem::align_of::<Prepared>() == 4);
const _: () = assert!(std::mem::size_of::<Scratch>() == 4 * SCRATCH_LEN);
const _: () = assert!(std::mem::align_of::<Scratch>() == 4);

/// The tag a prepared buffer starts with.
fn tag() -> [f32; TAG_LEN] {
    [
        f32::from_bits(TAG_MAGIC),
        f32::from_bits(super::version::MISALIGN_ABI_VERSION),
        f32::from_bits(PREPARED_LEN as u32),
        f32::from_bits(!TAG_MAGIC),
    ]
}

/// Checks that a caller buffer is exactly `want` floats long.
fn exact_len(len: usize, want: usize, what: &str, constant: &str) -> Result<(), Failure> {
    if len != want {
        return Err(Failure::invalid(format!(
            "{what} has {len} floats, must be {constant} = {want}"
        )));
    }
    Ok(())
}

/// Fills a checked prepared buffer from a validated weight file.
pub(crate) fn prepare_into(buf: &mut [f32], wf: &WeightFile<'_>) {
    let (head, params) = buf.split_at_mut(TAG_LEN);
    // SAFETY: `params` is PREPARED_LEN f32 (checked by the callers), 4-byte aligned, exclusively
    // borrowed; `Prepared` has that exact size and alignment and holds only f32 (asserted above).
    let net = unsafe { &mut *(params.as_mut_ptr() as *mut Prepared) };
    net.load(wf);
    head.copy_from_slice(&tag());
}

/// The prepared network inside a buffer, if it carries the tag.
fn prepared_view(buf: &[f32]) -> Result<&Prepared, Failure> {
    let (head, params) = buf.split_at(TAG_LEN);
    let want = tag();
    if head
        .iter()
        .zip(want.iter())
        .any(|(a, b)| a.to_bits() != b.to_bits())
    {
        return Err(Failure::invalid(
            "prepared network buffer was not filled by misalign_prepare (or was overwritten)",
        ));
    }
    // SAFETY: `params` is PREPARED_LEN f32, aligned, borrowed shared for the result's lifetime;
    // `Prepared` matches in size and alignment and any f32 bits are valid.
    Ok(unsafe { &*(params.as_ptr() as *const Prepared) })
}

/// Validates a `.mlw` weight file held in memory and expands it into `prepared`
/// (`MISALIGN_PREPARED_LEN` floats, caller-owned, e.g. a static array). Allocates nothing.
/// The prepared buffer can then be shared read-only by any number of threads.
///
/// Errors: `NULL_POINTER`, `INVALID_ARGUMENT` (wrong `prepared_len`, overlapping buffers),
/// `WEIGHTS` (truncated, corrupt, wrong topology or checksum). On error `prepared` is unchanged.
///
/// # Safety
/// `weights` must point to `weights_len` readable bytes and `prepared` to `prepared_len`
/// writable floats, neither modified by another thread during the call.
#[no_mangle]
pub unsafe extern "C" fn misalign_prepare(
    weights: *const u8,
    weights_len: usize,
    prepared: *mut f32,
    prepared_len: usize,
) -> misalign_status {
    guard(|| {
        if weights.is_null() {
            return Err(Failure::null("weights"));
        }
        // SAFETY: the caller's promises above.
        let bytes = unsafe { ptr::slice(weights, weights_len, "weights") }?;
        ptr::disjoint(
            weights,
            weights_len,
            prepared as *const u8,
            4_usize.saturating_mul(prepared_len),
            "weights and prepared",
        )?;
        // SAFETY: the caller's promise; disjoint from `weights` (checked).
        unsafe { prepare_from(bytes, prepared, prepared_len) }
    })
}

/// Validates `bytes` as a weight file and expands it into the caller's `prepared` buffer.
///
/// # Safety
/// `prepared` must point to `prepared_len` writable floats that alias nothing else in use.
unsafe fn prepare_from(
    bytes: &[u8],
    prepared: *mut f32,
    prepared_len: usize,
) -> Result<(), Failure> {
    if prepared.is_null() {
        return Err(Failure::null("prepared"));
    }
    exact_len(
        prepared_len,
        MISALIGN_PREPARED_LEN,
        "prepared",
        "MISALIGN_PREPARED_LEN",
    )?;
    // SAFETY: the caller's promise; length checked.
    let buf = unsafe { ptr::slice_mut(prepared, prepared_len, "prepared") }?;
    let wf = WeightFile::parse(bytes)?;
    prepare_into(buf, &wf);
    Ok(())
}

/// Selects one of the networks built into the library.
pub type misalign_net_kind = u32;
/// The strong-misalignment network (first stage).
pub const MISALIGN_NET_STRONG: misalign_net_kind = 1;
/// The weak-misalignment network (second stage).
pub const MISALIGN_NET_WEAK: misalign_net_kind = 2;

/// The weight-file bytes of a built-in network.
pub(crate) fn baked_bytes(kind: misalign_net_kind) -> Result<&'static [u8], Failure> {
    match kind {
        MISALIGN_NET_STRONG => Ok(crate::net::baked::STRONG_MLW),
        MISALIGN_NET_WEAK => Ok(crate::net::baked::WEAK_MLW),
        k => Err(Failure::invalid(format!(
            "network kind {k} is neither MISALIGN_NET_STRONG (1) nor MISALIGN_NET_WEAK (2)"
        ))),
    }
}

/// Expands a network built into the library (`MISALIGN_NET_STRONG` or `MISALIGN_NET_WEAK`)
/// into `prepared` (`MISALIGN_PREPARED_LEN` caller-owned floats). Allocates nothing.
///
/// Errors: `NULL_POINTER`, `INVALID_ARGUMENT` (unknown kind, wrong `prepared_len`), `WEIGHTS`
/// (a corrupt build). On error `prepared` is unchanged.
///
/// # Safety
/// `prepared` must point to `prepared_len` writable floats nobody else accesses meanwhile.
#[no_mangle]
pub unsafe extern "C" fn misalign_prepare_baked(
    kind: misalign_net_kind,
    prepared: *mut f32,
    prepared_len: usize,
) -> misalign_status {
    guard(|| {
        let bytes = baked_bytes(kind)?;
        // SAFETY: the caller's promise; the built-in bytes cannot alias it.
        unsafe { prepare_from(bytes, prepared, prepared_len) }
    })
}

/// Normalises a cube in place to mean 0 and (population) standard deviation 1, as the networks
/// expect; statistics are computed in double precision. A constant cube becomes all zeros.
///
/// Errors: `NULL_POINTER`, `INVALID_ARGUMENT` (`cube_len` is not `MISALIGN_CUBE_LEN`, or the
/// cube holds a NaN or infinite voxel — the cube is then unchanged).
///
/// # Safety
/// `cube` must point to `cube_len` writable floats not accessed by another thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn misalign_normalize_cube(
    cube: *mut f32,
    cube_len: usize,
) -> misalign_status {
    guard(|| {
        if cube.is_null() {
            return Err(Failure::null("cube"));
        }
        exact_len(cube_len, MISALIGN_CUBE_LEN, "cube", "MISALIGN_CUBE_LEN")?;
        // SAFETY: the caller's promise; length checked.
        let c = unsafe { ptr::slice_mut(cube, cube_len, "cube") }?;
        finite_cube(c)?;
        let arr: &mut [f32; CUBE_LEN] =
            c.try_into().map_err(|_| Failure::invalid("cube length"))?;
        forward::normalize_cube(arr);
        Ok(())
    })
}

/// Refuses a cube with a NaN or infinite voxel, naming the first one as (x, y, z).
fn finite_cube(c: &[f32]) -> Result<(), Failure> {
    match c.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(Failure::invalid(format!(
            "cube voxel (x {}, y {}, z {}) is {}",
            i % EDGE,
            (i / EDGE) % EDGE,
            i / (EDGE * EDGE),
            c[i]
        ))),
    }
}

/// Scores one **normalised** 32³ cube (x fastest, then y, then z; see
/// `misalign_normalize_cube`) with a network prepared by `misalign_prepare` (or
/// `misalign_prepare_baked`), writing the sigmoid output in [0, 1] (1 = aligned) to `*score`.
/// Allocates nothing: `scratch` (`MISALIGN_SCRATCH_LEN` floats, any contents) is the working
/// memory. Thread safety: one scratch per thread; `prepared` may be shared.
///
/// Errors: `NULL_POINTER`, `INVALID_ARGUMENT` (a wrong length, an unprepared buffer, a NaN or
/// infinite voxel, `scratch` overlapping another argument). `*score` is written only on success.
///
/// # Safety
/// Each pointer must address its stated number of floats; `scratch` and `score` must be
/// writable and not accessed by anyone else during the call.
#[no_mangle]
pub unsafe extern "C" fn misalign_score_cube(
    prepared: *const f32,
    prepared_len: usize,
    cube: *const f32,
    cube_len: usize,
    scratch: *mut f32,
    scratch_len: usize,
    score: *mut f32,
) -> misalign_status {
    guard(|| {
        for (p, what) in [
            (prepared, "prepared"),
            (cube, "cube"),
            (scratch as *const f32, "scratch"),
            (score as *const f32, "score"),
        ] {
            if p.is_null() {
                return Err(Failure::null(what));
            }
        }
        exact_len(
            prepared_len,
            MISALIGN_PREPARED_LEN,
            "prepared",
            "MISALIGN_PREPARED_LEN",
        )?;
        exact_len(cube_len, MISALIGN_CUBE_LEN, "cube", "MISALIGN_CUBE_LEN")?;
        exact_len(
            scratch_len,
            MISALIGN_SCRATCH_LEN,
            "scratch",
            "MISALIGN_SCRATCH_LEN",
        )?;
        let sb = 4 * scratch_len;
        let s8 = scratch as *const u8;
        ptr::disjoint(
            s8,
            sb,
            prepared as *const u8,
            4 * prepared_len,
            "scratch and prepared",
        )?;
        ptr::disjoint(s8, sb, cube as *const u8, 4 * cube_len, "scratch and cube")?;
        ptr::disjoint(s8, sb, score as *const u8, 4, "scratch and score")?;
        ptr::disjoint(
            score as *const u8,
            4,
            prepared as *const u8,
            4 * prepared_len,
            "score and prepared",
        )?;
        ptr::disjoint(
            score as *const u8,
            4,
            cube as *const u8,
            4 * cube_len,
            "score and cube",
        )?;
        // SAFETY: the caller's promises; lengths, alignment and disjointness checked.
        let (net_buf, cube, scratch_buf, out) = unsafe {
            (
                ptr::slice(prepared, prepared_len, "prepared")?,
                ptr::slice(cube, cube_len, "cube")?,
                ptr::slice_mut(scratch, scratch_len, "scratch")?,
                ptr::out(score, "score")?,
            )
        };
        let net = prepared_view(net_buf)?;
        finite_cube(cube)?;
        let cube: &[f32; CUBE_LEN] = cube
            .try_into()
            .map_err(|_| Failure::invalid("cube length"))?;
        // SAFETY: SCRATCH_LEN f32, aligned, exclusive; `Scratch` has that size and alignment and
        // only f32 fields (asserted above).
        let scratch = unsafe { &mut *(scratch_buf.as_mut_ptr() as *mut Scratch) };
        let s = forward::score(net, cube, scratch);
        if !s.is_finite() {
            return Err(Failure::invalid(
                "the network produced a non-finite score (weights overflow for this cube)",
            ));
        }
        *out = s;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn golden() -> (Vec<u8>, Vec<f32>, Vec<f32>) {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keras-golden");
        let w = std::fs::read(format!("{dir}/model.mlw")).expect("fixture weights");
        let mrc = std::fs::read(format!("{dir}/cubes.mrc")).expect("fixture cubes");
        let cubes = mrc[1024..]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let csv = std::fs::read_to_string(format!("{dir}/expected.csv")).expect("fixture csv");
        let want = csv
            .lines()
            .skip(1)
            .filter_map(|l| l.split(',').nth(1)?.parse().ok())
            .collect();
        (w, cubes, want)
    }

    /// `misalign_score_cube` on whole slices: (status, score; -1 when not written).
    fn score(prep: &[f32], cube: &[f32], scratch: &mut [f32]) -> (misalign_status, f32) {
        let mut s = -1.0f32;
        // SAFETY: pointers and lengths of live slices.
        let st = unsafe {
            misalign_score_cube(
                prep.as_ptr(),
                prep.len(),
                cube.as_ptr(),
                cube.len(),
                scratch.as_mut_ptr(),
                scratch.len(),
                &mut s,
            )
        };
        (st, s)
    }

    #[test]
    fn caller_memory_scoring_matches_keras() {
        let (w, cubes, want) = golden();
        let mut prep = vec![0.0f32; MISALIGN_PREPARED_LEN];
        let mut scratch = vec![0.0f32; MISALIGN_SCRATCH_LEN];
        // SAFETY: buffers of the stated lengths.
        let st = unsafe { misalign_prepare(w.as_ptr(), w.len(), prep.as_mut_ptr(), prep.len()) };
        assert_eq!(st, misalign_status::Ok);
        for (i, want) in want.iter().enumerate().take(4) {
            let (st, s) = score(
                &prep,
                &cubes[i * CUBE_LEN..(i + 1) * CUBE_LEN],
                &mut scratch,
            );
            assert_eq!(st, misalign_status::Ok);
            assert!((s - want).abs() < 1e-4, "cube {i}: {s} vs {want}");
        }
    }

    #[test]
    fn the_built_in_strong_network_prepares_and_scores() {
        let (_, cubes, _) = golden();
        let mut prep = vec![0.0f32; MISALIGN_PREPARED_LEN];
        let mut scratch = vec![0.0f32; MISALIGN_SCRATCH_LEN];
        // SAFETY: buffers of the stated lengths.
        unsafe {
            let st = misalign_prepare_baked(MISALIGN_NET_STRONG, prep.as_mut_ptr(), prep.len());
            assert_eq!(st, misalign_status::Ok);
        }
        let (st, s) = score(&prep, &cubes[..CUBE_LEN], &mut scratch);
        assert_eq!(st, misalign_status::Ok);
        // SAFETY: as above.
        let st = unsafe { misalign_prepare_baked(7, prep.as_mut_ptr(), prep.len()) };
        assert_eq!(st, misalign_status::InvalidArgument);
        assert!((0.0..=1.0).contains(&s));
        // The same network through the Rust API.
        let mut net = Box::new(Prepared::zeroed());
        net.load(&crate::net::baked::strong().expect("baked strong weights"));
        let mut sc = Scratch::boxed();
        let cube: &[f32; CUBE_LEN] = cubes[..CUBE_LEN].try_into().expect("one cube");
        assert_eq!(forward::score(&net, cube, &mut sc), s);
    }

    #[test]
    fn bad_inputs_are_refused_without_writing() {
        let (mut w, cubes, _) = golden();
        let mut prep = vec![0.0f32; MISALIGN_PREPARED_LEN];
        let mut scratch = vec![0.0f32; MISALIGN_SCRATCH_LEN];
        let mut s = -1.0f32;
        // Unprepared buffer.
        let (st, unwritten) = score(&prep, &cubes[..CUBE_LEN], &mut scratch);
        assert_eq!((st, unwritten), (misalign_status::InvalidArgument, -1.0));
        // SAFETY: buffers of the stated lengths (or refused before use).
        unsafe {
            // Corrupt weights.
            w[100] ^= 0x40;
            let st = misalign_prepare(w.as_ptr(), w.len(), prep.as_mut_ptr(), prep.len());
            assert_eq!(st, misalign_status::Weights);
            // Short prepared buffer.
            let st = misalign_prepare(w.as_ptr(), w.len(), prep.as_mut_ptr(), prep.len() - 1);
            assert_eq!(st, misalign_status::InvalidArgument);
            // Scratch overlapping the cube.
            w[100] ^= 0x40;
            let st = misalign_prepare(w.as_ptr(), w.len(), prep.as_mut_ptr(), prep.len());
            assert_eq!(st, misalign_status::Ok);
            let mut big = vec![0.0f32; MISALIGN_SCRATCH_LEN + CUBE_LEN];
            let p = big.as_mut_ptr();
            let st = misalign_score_cube(
                prep.as_ptr(),
                prep.len(),
                p,
                CUBE_LEN,
                p,
                MISALIGN_SCRATCH_LEN,
                &mut s,
            );
            assert_eq!(st, misalign_status::InvalidArgument);
        }
        assert_eq!(s, -1.0);
        // NaN voxel.
        let mut c = cubes[..CUBE_LEN].to_vec();
        c[5] = f32::NAN;
        let (st, unwritten) = score(&prep, &c, &mut scratch);
        assert_eq!((st, unwritten), (misalign_status::InvalidArgument, -1.0));
        // SAFETY: `c` holds CUBE_LEN floats.
        assert_eq!(
            unsafe { misalign_normalize_cube(c.as_mut_ptr(), CUBE_LEN) },
            st
        );
    }
}
