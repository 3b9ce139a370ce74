//! Bead-scaled 32³ cube extraction (spec/subtomo-extraction.md; docs/extraction.md).
//!
//! For each bead coordinate a cubic block of `B_e` tomogram voxels is cut around it and
//! Fourier-resampled to 32³ so that the bead diameter spans 16 voxels (target sampling
//! `s_t = D / 16`). The tomogram is read lazily, slice by slice, through a [`SliceSource`]: only
//! slices some bead needs are read, each at most once, and at most a bounded window of slices is
//! held in memory.
//!
//! Every cube carries the index and coordinate of its input row, so a skipped border bead never
//! shifts the pairing of later cubes (the Scipion pairing bug, spec §4).
mod normalize;
mod plan;
mod resample;

use std::collections::BTreeMap;

use crate::host::alloc::zeroed;
use crate::host::{resolve_threads, Acquisition, Error, Result, SliceSource};
use crate::net::topology::{CUBE_LEN, EDGE};

pub use normalize::{
    in_xmipp_background, normalize_per_cube, normalize_xmipp, standardize_together,
    xmipp_background_mask, XMIPP_MASK_LEN,
};
use plan::BeadPlan;
pub use plan::MAX_BOX_EDGE;
pub use plan::{box_edge, BoxGeometry};
use resample::{apply, operators, SpectrumMap};

/// How cubes are normalised after resampling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Normalization {
    /// Mean 0 / population SD 1 per cube: the paper, and the contract of our own weights.
    #[default]
    PerCube,
    /// The original pipeline: per-cube background-shell standardisation, then all cubes of the
    /// tomogram standardised together ([`normalize_xmipp`]). For imported Xmipp models.
    Xmipp,
    /// No normalisation: the resampled tomogram values (for pictures, tests and trainers that
    /// normalise themselves).
    Raw,
}

/// What happens to a bead whose extraction box leaves the volume.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BorderPolicy {
    /// Drop it and list its input index in [`Extraction::skipped`] (the original behaviour).
    #[default]
    Skip,
    /// Keep it: voxels outside the volume take the mean of the block's voxels inside the volume.
    /// Listed in [`Extraction::padded`].
    Pad,
}

/// How the extraction box edge `B_e` is chosen and cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BoxRule {
    /// Ours: `B_e = 2·round(16·ds)` (even, so the bead lands exactly on voxel 16), box centred on
    /// the rounded coordinate, sub-voxel remainder applied as a Fourier phase ramp, symmetric
    /// Nyquist handling.
    #[default]
    Even,
    /// The V1 Xmipp extractor for imported models: `ds` rounded to 6 decimals, `B_e = ⌊32·ds⌋`,
    /// coordinates truncated to integers, `2·⌊B_e/2⌋` voxels copied (an odd box keeps a zero last
    /// plane), V1's half-spectrum copy — but the odd-edge padding uses the correct frequency copy.
    XmippV1,
}

/// Extraction parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExtractParams {
    /// Tomogram voxel size and bead diameter (the caller decides between the header and a user
    /// value for the voxel size).
    pub acquisition: Acquisition,
    pub normalization: Normalization,
    pub border: BorderPolicy,
    pub box_rule: BoxRule,
    /// Worker threads for resampling; 0 = every core ([`resolve_threads`]).
    pub threads: usize,
}

impl ExtractParams {
    /// Our defaults for a tomogram of this acquisition (per-cube normalisation, skip border
    /// beads, even box, all cores).
    pub fn new(acquisition: Acquisition) -> Self {
        ExtractParams {
            acquisition,
            normalization: Normalization::PerCube,
            border: BorderPolicy::Skip,
            box_rule: BoxRule::Even,
            threads: 0,
        }
    }
}

/// The input row a cube came from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExtractedBead {
    /// Index of the coordinate in the input slice.
    pub input_index: usize,
    /// The input coordinate `[x, y, z]` in tomogram voxels.
    pub position: [f64; 3],
}

/// The cubes of one tomogram and their provenance.
#[derive(Clone, Debug, PartialEq)]
pub struct Extraction {
    /// `beads.len() · CUBE_LEN` values, cube after cube, x fastest.
    pub cubes: Vec<f32>,
    /// One entry per cube, in input order.
    pub beads: Vec<ExtractedBead>,
    /// Input indices dropped because their box left the volume ([`BorderPolicy::Skip`]).
    pub skipped: Vec<usize>,
    /// Input indices kept with padding ([`BorderPolicy::Pad`]).
    pub padded: Vec<usize>,
    /// The extraction box edge `B_e` in tomogram voxels.
    pub box_edge: usize,
    /// The real voxel size of the cubes in Å: `s_tomo · B_e / 32`.
    pub cube_sampling_a: f32,
}

impl Extraction {
    /// Cube `i` (same order as [`Extraction::beads`]).
    pub fn cube(&self, i: usize) -> &[f32] {
        &self.cubes[i * CUBE_LEN..(i + 1) * CUBE_LEN]
    }
}

/// Resamples a `edge³` block (x fastest) to the 32³ cube with the symmetric Fourier crop/pad
/// (no shift). `edge == 32` copies. The block's centre voxel `edge/2` lands on voxel 16 when
/// `edge` is even. Panics if `block.len() != edge³` or `edge == 0` (a caller bug).
pub fn resample_block(block: &[f32], edge: usize, out: &mut [f32; CUBE_LEN]) {
    resample_block_shifted(block, edge, [0.0; 3], out);
}

/// Like [`resample_block`], sampling the block's periodic sinc interpolant at
/// `edge/2 + shift + (o − 16)·edge/32` on each axis, so that block position `edge/2 + shift`
/// (in block voxels, `[x, y, z]`) lands on output voxel 16.
pub fn resample_block_shifted(
    block: &[f32],
    edge: usize,
    shift: [f64; 3],
    out: &mut [f32; CUBE_LEN],
) {
    assert!(
        edge > 0 && block.len() == edge * edge * edge,
        "block is not edge³"
    );
    if edge == EDGE && shift == [0.0; 3] {
        out.copy_from_slice(block);
        return;
    }
    apply(&operators(edge, shift, SpectrumMap::Symmetric), block, out);
}

/// Cuts and resamples one 32³ cube per coordinate (see the module docs and docs/extraction.md).
///
/// Errors: non-positive or non-finite sampling or diameter, a box edge out of range, a
/// non-finite coordinate or one outside the volume (named by row), a failing slice read, or
/// non-finite voxels in a cube.
pub fn extract(
    src: &dyn SliceSource,
    coords: &[[f64; 3]],
    p: &ExtractParams,
) -> Result<Extraction> {
    let dims = src.dims();
    crate::host::volume::voxel_count(dims)?;
    let geom = box_edge(p)?;
    let mut plans = Vec::with_capacity(coords.len());
    let (mut skipped, mut padded) = (Vec::new(), Vec::new());
    for (i, c) in coords.iter().enumerate() {
        let plan = BeadPlan::new(i, *c, dims, &geom)?;
        match (plan.inside, p.border) {
            (false, BorderPolicy::Skip) => skipped.push(i),
            (false, BorderPolicy::Pad) => {
                padded.push(i);
                plans.push(plan);
            }
            (true, _) => plans.push(plan),
        }
    }
    let mut cubes = zeroed(plans.len() * CUBE_LEN, "the bead cubes")?;
    let beads: Vec<ExtractedBead> = plans
        .iter()
        .map(|b| ExtractedBead {
            input_index: b.input_index,
            position: b.position,
        })
        .collect();
    let threads = resolve_threads(p.threads);
    cut_all(src, &plans, &geom, threads, WINDOW_BYTES, &mut cubes)?;
    for (k, b) in beads.iter().enumerate() {
        if cubes[k * CUBE_LEN..(k + 1) * CUBE_LEN]
            .iter()
            .any(|v| !v.is_finite())
        {
            return Err(Error::Invalid(format!(
                "extraction: the cube of coordinate row {} at {:?} contains non-finite values \
                 (NaN or infinite voxels in the tomogram)",
                b.input_index, b.position
            )));
        }
    }
    match p.normalization {
        Normalization::PerCube => cubes
            .chunks_exact_mut(CUBE_LEN)
            .for_each(normalize_per_cube),
        Normalization::Xmipp => normalize_xmipp(&mut cubes),
        Normalization::Raw => {}
    }
    Ok(Extraction {
        cubes,
        beads,
        skipped,
        padded,
        box_edge: geom.edge,
        cube_sampling_a: geom.cube_sampling_a,
    })
}

/// Memory budget for the window of tomogram slices held at once.
const WINDOW_BYTES: usize = 256 << 20;

/// Reads the tomogram and fills `cubes` (slot k ↔ `plans[k]`). Normally through a sliding
/// window of whole slices, each read once (sequential I/O, kind to network file systems); when
/// one box edge of slices would exceed `window_bytes` (very large slices, e.g. unbinned 4k
/// tomograms), bead by bead through block reads instead, so memory stays within the budget.
fn cut_all(
    src: &dyn SliceSource,
    plans: &[BeadPlan],
    geom: &BoxGeometry,
    threads: usize,
    window_bytes: usize,
    cubes: &mut [f32],
) -> Result<()> {
    let dims = src.dims();
    let slice_bytes = dims[0] * dims[1] * 4;
    let mut store = |results: Vec<(usize, Vec<f32>)>| {
        for (k, cube) in results {
            cubes[k * CUBE_LEN..(k + 1) * CUBE_LEN].copy_from_slice(&cube);
        }
    };
    // Process beads by increasing first slice: the window only ever moves forward.
    let mut order: Vec<usize> = (0..plans.len()).collect();
    order.sort_by_key(|&k| plans[k].z_range().0);
    if geom.edge.saturating_mul(slice_bytes) > window_bytes {
        let block_bytes = 4 * geom.edge.pow(3);
        let per_batch = (window_bytes / block_bytes.max(1)).max(1);
        for batch in order.chunks(per_batch) {
            let mut blocks = Vec::with_capacity(batch.len());
            for &k in batch {
                let (origin, size, rel) = plans[k].in_block(dims);
                let mut data = zeroed(size.iter().product(), "a bead's box")?;
                src.read_block(origin, size, &mut data).map_err(|e| {
                    Error::Invalid(format!(
                        "extraction: reading the box of coordinate row {}: {e}",
                        plans[k].input_index
                    ))
                })?;
                blocks.push((size, rel, data));
            }
            let slot: std::collections::HashMap<usize, usize> =
                batch.iter().enumerate().map(|(i, &k)| (k, i)).collect();
            let cut = |k: usize, block: &mut [f32]| {
                let (size, rel, data) = &blocks[slot[&k]];
                let plane = size[0] * size[1];
                rel.cut(|z| &data[z * plane..(z + 1) * plane], *size, geom, block);
            };
            store(resample_batch(&cut, plans, batch, geom, threads));
        }
        return Ok(());
    }
    let window = (window_bytes / slice_bytes.max(1))
        .max(geom.edge)
        .min(dims[2]);
    let mut loaded: BTreeMap<usize, Vec<f32>> = BTreeMap::new();
    let mut spare: Vec<Vec<f32>> = Vec::new();
    let mut i = 0;
    while i < order.len() {
        let lo = plans[order[i]].z_range().0;
        let hi_limit = (lo + window).min(dims[2]);
        let mut end = i;
        while end < order.len() && plans[order[end]].z_range().1 <= hi_limit {
            end += 1;
        }
        debug_assert!(end > i, "the first bead always fits the window");
        // Drop slices below the window; later beads start at or above `lo`.
        let keep = loaded.split_off(&lo);
        spare.extend(std::mem::replace(&mut loaded, keep).into_values());
        for &k in &order[i..end] {
            let (z0, z1) = plans[k].z_range();
            for z in z0..z1 {
                if loaded.contains_key(&z) {
                    continue;
                }
                let mut buf = match spare.pop() {
                    Some(b) => b,
                    None => zeroed(dims[0] * dims[1], "a tomogram slice")?,
                };
                src.read_slice(z, &mut buf).map_err(|e| {
                    Error::Invalid(format!("extraction: reading tomogram slice {z}: {e}"))
                })?;
                loaded.insert(z, buf);
            }
        }
        let cut = |k: usize, block: &mut [f32]| {
            plans[k].cut(|z| &loaded[&z][..], dims, geom, block);
        };
        store(resample_batch(&cut, plans, &order[i..end], geom, threads));
        i = end;
    }
    Ok(())
}

/// Cuts (`cut(slot, block)` fills the `edge³` block of `slot`) and resamples the beads `batch`
/// on `threads` threads; `plans[slot]` gives each one's sub-voxel shift. Returns
/// `(slot, cube)` pairs.
fn resample_batch(
    cut: &(dyn Fn(usize, &mut [f32]) + Sync),
    plans: &[BeadPlan],
    batch: &[usize],
    geom: &BoxGeometry,
    threads: usize,
) -> Vec<(usize, Vec<f32>)> {
    let work = |ks: &[usize]| -> Vec<(usize, Vec<f32>)> {
        let mut block = vec![0.0f32; geom.edge * geom.edge * geom.edge];
        ks.iter()
            .map(|&k| {
                let plan = &plans[k];
                cut(k, &mut block);
                let mut cube = vec![0.0f32; CUBE_LEN];
                let identity = geom.map == SpectrumMap::Symmetric
                    && geom.edge == EDGE
                    && plan.shift == [0.0; 3];
                if geom.resample && !identity {
                    apply(
                        &operators(geom.edge, plan.shift, geom.map),
                        &block,
                        &mut cube,
                    );
                } else {
                    cube.copy_from_slice(&block);
                }
                (k, cube)
            })
            .collect()
    };
    let threads = threads.clamp(1, batch.len().max(1));
    if threads == 1 {
        return work(batch);
    }
    let chunk = batch.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = batch
            .chunks(chunk)
            .map(|c| s.spawn(move || work(c)))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("extraction worker panicked"))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::Volume;
    use std::sync::Mutex;

    struct Counting<'a>(&'a Volume, Mutex<Vec<usize>>);

    impl SliceSource for Counting<'_> {
        fn dims(&self) -> [usize; 3] {
            self.0.dims
        }
        fn voxel_size(&self) -> [f32; 3] {
            self.0.voxel_size
        }
        fn read_slice(&self, z: usize, out: &mut [f32]) -> Result<()> {
            self.1.lock().unwrap().push(z);
            self.0.read_slice(z, out)
        }
    }

    /// A window of one box edge forces the window to slide; every slice is still read once and
    /// the cubes equal those of a whole-volume window.
    #[test]
    fn sliding_window_reads_each_slice_once() {
        let data: Vec<f32> = (0..16 * 16 * 120)
            .map(|i| ((i * 7919) % 1000) as f32)
            .collect();
        let v = Volume::from_data([16, 16, 120], [1.0; 3], data).unwrap();
        let p = ExtractParams {
            normalization: Normalization::Raw,
            border: BorderPolicy::Pad,
            threads: 2,
            ..ExtractParams::new(Acquisition::new(1.0, 8.0).unwrap())
        };
        let geom = box_edge(&p).unwrap();
        assert_eq!(geom.edge, 16);
        let coords = [
            [8.0, 8.0, 100.0],
            [8.0, 8.0, 10.0],
            [7.6, 8.2, 20.4],
            [8.0, 8.0, 60.0],
        ];
        let plans: Vec<BeadPlan> = coords
            .iter()
            .enumerate()
            .map(|(i, c)| BeadPlan::new(i, *c, v.dims, &geom).unwrap())
            .collect();
        let edge_bytes = 16 * (16 * 16 * 4);
        let mut small = vec![0.0; plans.len() * CUBE_LEN];
        let src = Counting(&v, Mutex::new(Vec::new()));
        cut_all(&src, &plans, &geom, 2, edge_bytes, &mut small).unwrap();
        let mut reads = src.1.into_inner().unwrap();
        let n = reads.len();
        reads.sort_unstable();
        reads.dedup();
        assert_eq!(n, reads.len(), "a slice was read twice");
        let want: Vec<usize> = (2..28).chain(52..68).chain(92..108).collect();
        assert_eq!(reads, want);
        let mut big = vec![0.0; plans.len() * CUBE_LEN];
        cut_all(&v, &plans, &geom, 1, WINDOW_BYTES, &mut big).unwrap();
        assert_eq!(small, big);
    }

    /// A budget below one box edge of slices switches to block reads: the same cubes, for
    /// boxes inside, at every border (padded) and with the V1 rule, through a source with its
    /// own block reads and through the trait's slice-by-slice default.
    #[test]
    fn block_reads_give_the_same_cubes_as_the_slice_window() {
        let dims = [40, 36, 50];
        let data: Vec<f32> = (0..40 * 36 * 50)
            .map(|i| ((i * 7919) % 1013) as f32 * 0.01)
            .collect();
        let v = Volume::from_data(dims, [1.0; 3], data).unwrap();
        let coords = [
            [20.0, 18.0, 25.0],
            [2.3, 18.0, 25.0],
            [20.0, 34.6, 25.0],
            [20.0, 18.0, 0.4],
            [39.0, 0.0, 49.0],
            [11.7, 21.2, 30.9],
        ];
        for rule in [BoxRule::Even, BoxRule::XmippV1] {
            let p = ExtractParams {
                normalization: Normalization::Raw,
                border: BorderPolicy::Pad,
                box_rule: rule,
                threads: 2,
                ..ExtractParams::new(Acquisition::new(1.0, 10.0).unwrap())
            };
            let geom = box_edge(&p).unwrap();
            let plans: Vec<BeadPlan> = coords
                .iter()
                .enumerate()
                .map(|(i, c)| BeadPlan::new(i, *c, dims, &geom).unwrap())
                .collect();
            let n = plans.len() * CUBE_LEN;
            let (mut window, mut blocks, mut default) = (vec![0.0; n], vec![1.0; n], vec![2.0; n]);
            cut_all(&v, &plans, &geom, 2, WINDOW_BYTES, &mut window).unwrap();
            cut_all(&v, &plans, &geom, 2, 40 * 36 * 4, &mut blocks).unwrap();
            let counting = Counting(&v, Mutex::new(Vec::new()));
            cut_all(&counting, &plans, &geom, 1, 1, &mut default).unwrap();
            assert_eq!(window, blocks, "{rule:?}: block reads differ");
            assert_eq!(window, default, "{rule:?}: default block reads differ");
            assert!(!counting.1.into_inner().unwrap().is_empty());
            // An MRC file's own block reads (only the rows inside each box).
            let path = std::env::temp_dir().join(format!(
                "misalign-extract-blocks-{}-{rule:?}.mrc",
                std::process::id()
            ));
            crate::host::mrc::write_volume(&path, &v, crate::host::mrc::MrcMode::Float32).unwrap();
            let mrc = crate::host::mrc::MrcFile::open(&path).unwrap();
            let mut from_file = vec![3.0; n];
            cut_all(&mrc, &plans, &geom, 2, 1, &mut from_file).unwrap();
            std::fs::remove_file(&path).unwrap();
            assert_eq!(window, from_file, "{rule:?}: MRC block reads differ");
        }
    }
}
