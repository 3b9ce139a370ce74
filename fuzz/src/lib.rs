//! Shared pieces of the fuzz targets: a scratch file for the readers that take a path, and
//! small synthetic tomograms (dims, values, dark beads and a few hostile voxels) built from the
//! fuzzer's bytes for the pipeline and the C ABI.
//!
//! Everything here goes through entry points a user calls; nothing reaches into internals.
use std::ffi::c_void;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use misalign::ffi::detect::{misalign_detect_options, misalign_detect_options_default};
use misalign::ffi::error::misalign_last_error;
use misalign::ffi::volume::misalign_volume;
use misalign::host::coords::{
    read_coordinates, read_coordinates_as, write_coordinates, CoordContext, CoordFormat,
};

/// Largest edge of a synthetic volume: big enough for the detector's 8×8×5 minimum and a few
/// beads, small enough for hundreds of pipeline runs per second per core.
pub const MAX_EDGE: usize = 48;

/// Largest bead diameter in voxels handed to the pipeline: its extraction box (2 × 16 · ds ≤ 128
/// voxels) keeps one run in milliseconds. Larger beads are legal up to the 512-voxel box limit
/// but cost seconds per run; invalid diameters are still drawn through [`bead_diameter_a`].
pub const MAX_BEAD_PX: f64 = 64.0;

/// This process's scratch folder: `$MISALIGN_FUZZ_TMP` (CI points it at a folder it removes),
/// else `/dev/shm` (memory, no disk wear), else the system temp folder; one sub-folder per
/// process so parallel fuzzing jobs (`-jobs=N`) never share a file.
fn scratch_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = std::env::var_os("MISALIGN_FUZZ_TMP")
            .map(PathBuf::from)
            .or_else(|| Some(PathBuf::from("/dev/shm")).filter(|p| p.is_dir()))
            .unwrap_or_else(std::env::temp_dir);
        let dir = base.join(format!("misalign-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create the scratch folder {}: {e}", dir.display()));
        dir
    })
}

/// Writes `bytes` to the file `name` in the scratch folder (replacing the previous input) and
/// returns its path, for readers whose public API takes a path.
pub fn scratch_file(name: &str, bytes: &[u8]) -> PathBuf {
    let path = scratch_dir().join(name);
    std::fs::write(&path, bytes)
        .unwrap_or_else(|e| panic!("cannot write the scratch file {}: {e}", path.display()));
    path
}

/// Voxel values no well-behaved tomogram has, planted at a few positions.
const HOSTILE: [f32; 7] = [
    f32::NAN,
    f32::INFINITY,
    f32::NEG_INFINITY,
    f32::MAX,
    -f32::MAX,
    f32::MIN_POSITIVE / 4.0,
    -0.0,
];

/// Overall intensity scales: the pipeline must not depend on them (issue #11, item 5), and the
/// extremes probe overflow in the statistics.
const SCALES: [f32; 6] = [1.0, 1e-30, 1e-3, 1e3, 1e20, -1.0];

/// A synthetic tomogram: `[nx, ny, nz]` and `nx·ny·nz` values, x fastest.
#[derive(Clone, Debug)]
pub struct SynthVolume {
    pub dims: [usize; 3],
    pub data: Vec<f32>,
}

impl SynthVolume {
    /// Background texture from the input bytes, up to eight dark (or, for contrast < 0,
    /// bright) spheres, everything times an intensity scale, and now and then a hostile voxel.
    pub fn arbitrary(u: &mut Unstructured<'_>) -> Result<Self> {
        let mut dims = [0usize; 3];
        for d in &mut dims {
            *d = u.int_in_range(1..=MAX_EDGE)?;
        }
        let n = dims.iter().product::<usize>();
        let scale = *u.choose(&SCALES)?;
        let offset = f32::from(u.int_in_range(-100i8..=100)?) * scale;
        let texture_len = u.int_in_range(1usize..=64)?;
        let texture: Vec<u8> = (0..texture_len)
            .map(|_| u.arbitrary())
            .collect::<Result<_>>()?;
        let amp = f32::from(u.int_in_range(0u8..=40)?) / 20.0;
        let mut data: Vec<f32> = (0..n)
            .map(|i| {
                // A prime stride spreads the short texture over the whole volume.
                let t = texture[(i.wrapping_mul(7919)) % texture_len];
                offset + scale * amp * (f32::from(t) / 255.0 - 0.5)
            })
            .collect();
        let beads = u.int_in_range(0usize..=8)?;
        for _ in 0..beads {
            let mut c = [0.0; 3];
            for (k, v) in c.iter_mut().enumerate() {
                *v = dims[k] as f64 * f64::from(u.int_in_range(0u8..=255)?) / 255.0;
            }
            let r = f64::from(u.int_in_range(1u8..=48)?) / 4.0;
            let contrast = f32::from(u.int_in_range(-20i8..=60)?) / 10.0;
            paint_sphere(&mut data, dims, c, r, contrast * scale);
        }
        let hostile = u.int_in_range(0usize..=2)?;
        for _ in 0..hostile {
            let at = u.choose_index(n)?;
            data[at] = *u.choose(&HOSTILE)?;
        }
        Ok(SynthVolume { dims, data })
    }
}

/// Darkens the voxels within `r` of `centre` by `depth` (gold is dark).
fn paint_sphere(data: &mut [f32], dims: [usize; 3], centre: [f64; 3], r: f64, depth: f32) {
    let [nx, ny, nz] = dims;
    let range = |k: usize, n: usize| {
        let lo = (centre[k] - r).floor().max(0.0) as usize;
        let hi = ((centre[k] + r).ceil().max(0.0) as usize).min(n - 1);
        lo..=hi
    };
    for z in range(2, nz) {
        for y in range(1, ny) {
            for x in range(0, nx) {
                let d2 = (x as f64 - centre[0]).powi(2)
                    + (y as f64 - centre[1]).powi(2)
                    + (z as f64 - centre[2]).powi(2);
                if d2 <= r * r {
                    data[(z * ny + y) * nx + x] -= depth;
                }
            }
        }
    }
}

/// A voxel size in Å/voxel: mostly ordinary (0.5 … 32 Å), sometimes one the API must refuse.
pub fn sampling_a(u: &mut Unstructured<'_>) -> Result<f64> {
    Ok(if u.ratio(1u8, 16)? {
        *u.choose(&[0.0, -1.0, f64::NAN, f64::INFINITY, 1e-300, 1e300])?
    } else {
        f64::from(u.int_in_range(1u16..=64)?) / 2.0
    })
}

/// A bead diameter in Å for `sampling_a`: mostly 2 … [`MAX_BEAD_PX`] voxels, sometimes one the
/// API must refuse (zero, negative, NaN, infinite, or far beyond the extraction box).
pub fn bead_diameter_a(u: &mut Unstructured<'_>, sampling_a: f64) -> Result<f64> {
    Ok(if u.ratio(1u8, 16)? {
        *u.choose(&[0.0, -100.0, f64::NAN, f64::INFINITY, 1e9, 1.0])?
    } else {
        let px = 2.0 + (MAX_BEAD_PX - 2.0) * f64::from(u.int_in_range(0u16..=1000)?) / 1000.0;
        px * sampling_a
    })
}

/// Up to `max` bead positions for a `dims` volume: mostly inside it, some on or beyond the
/// border, now and then a non-finite or absurd one.
pub fn positions(u: &mut Unstructured<'_>, dims: [usize; 3], max: usize) -> Result<Vec<[f64; 3]>> {
    let n = u.int_in_range(0..=max)?;
    (0..n)
        .map(|_| {
            let mut p = [0.0; 3];
            for (k, v) in p.iter_mut().enumerate() {
                *v = if u.ratio(1u8, 32)? {
                    *u.choose(&[f64::NAN, f64::INFINITY, -1e300, 1e300, -0.5, -0.49])?
                } else {
                    // -2 … dims + 2, in quarter voxels.
                    let span = 4 * (dims[k] + 4);
                    f64::from(u.int_in_range(0..=span as u32)?) / 4.0 - 2.0
                };
            }
            Ok(p)
        })
        .collect()
}

/// The [`CoordContext`] selected by one byte: bit 0 gives dims, bit 1 a sampling, bit 2 a
/// tomogram name; the high bits pick among ordinary and extreme values of each.
pub fn coord_context(sel: u8) -> CoordContext {
    const DIMS: [[usize; 3]; 4] = [
        [100, 100, 50],
        [1, 1, 1],
        [4096, 4096, 2048],
        [usize::MAX; 3],
    ];
    const SAMPLING: [f64; 4] = [10.0, 1e-300, -1.0, f64::NAN];
    const NAMES: [&str; 4] = ["A", "particles", "", "b c"];
    let pick = usize::from(sel >> 3) % 4;
    let pick2 = usize::from(sel >> 5) % 4;
    CoordContext {
        dims: (sel & 1 != 0).then_some(DIMS[pick]),
        sampling: (sel & 2 != 0).then_some(SAMPLING[pick2]),
        tomo_name: (sel & 4 != 0).then(|| NAMES[usize::from(sel >> 6)].to_string()),
    }
}

/// One coordinate reader on fuzzed text: the first byte selects the context (see
/// [`coord_context`]), the rest is the file, written as `file_name` (whose extension selects
/// `format` for [`read_coordinates`]). Accepted coordinates must be finite (every stage after
/// the reader relies on it) and must survive a CSV round trip bit for bit.
pub fn fuzz_coordinates(bytes: &[u8], file_name: &str, format: CoordFormat) {
    let Some((&sel, text)) = bytes.split_first() else {
        return;
    };
    let ctx = coord_context(sel);
    let path = scratch_file(file_name, text);
    let by_name = read_coordinates(&path, &ctx);
    let points = match read_coordinates_as(&path, format, &ctx) {
        Ok(p) => p,
        Err(e) => {
            // Errors must say something; the extension route must fail the same way.
            assert!(!e.to_string().is_empty());
            if CoordFormat::from_path(&path).ok() == Some(format) {
                assert!(
                    by_name.is_err(),
                    "format by extension accepted what {format:?} refused"
                );
            }
            return;
        }
    };
    if CoordFormat::from_path(&path).ok() == Some(format) {
        assert_eq!(
            by_name.as_ref().ok(),
            Some(&points),
            "format by extension read differently"
        );
    }
    if let Some(p) = points.iter().find(|p| p.iter().any(|v| !v.is_finite())) {
        panic!("{format:?} reader returned the non-finite coordinate {p:?}");
    }
    let csv = scratch_dir().join("roundtrip.csv");
    write_coordinates(&csv, &points, CoordFormat::Csv, &ctx).expect("finite points write");
    let back = read_coordinates_as(&csv, CoordFormat::Csv, &ctx).expect("own CSV reads back");
    assert_eq!(back.len(), points.len());
    for (a, b) in back.iter().zip(&points) {
        assert_eq!(a.map(f64::to_bits), b.map(f64::to_bits), "CSV round trip");
    }
}

/// A progress callback that records what it is told and cancels after `cancel_after` calls
/// (`None`: never), for checking the progress contract (0 … 1, non-decreasing) and that a
/// cancellation really stops the work.
pub struct ProgressLog {
    seen: std::cell::RefCell<Vec<f32>>,
    cancel_after: Option<usize>,
}

impl ProgressLog {
    pub fn new(cancel_after: Option<usize>) -> Self {
        ProgressLog {
            seen: std::cell::RefCell::new(Vec::new()),
            cancel_after,
        }
    }

    /// The callback body: record `fraction`, say whether to go on.
    pub fn report(&self, fraction: f32) -> bool {
        let mut seen = self.seen.borrow_mut();
        seen.push(fraction);
        self.cancel_after.is_none_or(|n| seen.len() <= n)
    }

    /// Whether the callback asked to stop at some point.
    pub fn cancelled(&self) -> bool {
        self.cancel_after
            .is_some_and(|n| self.seen.borrow().len() > n)
    }

    /// Panics unless every fraction was in 0 … 1 and none went backwards.
    pub fn check(&self) {
        let seen = self.seen.borrow();
        assert!(
            seen.iter().all(|f| (0.0..=1.0).contains(f)),
            "progress outside 0 … 1: {seen:?}"
        );
        assert!(
            seen.windows(2).all(|w| w[0] <= w[1]),
            "progress went backwards: {seen:?}"
        );
    }
}

/// The C progress callback over a [`ProgressLog`] passed as `user_data`.
///
/// # Safety
/// `user_data` must point to a live `ProgressLog` (the targets pass one on their stack).
pub unsafe extern "C" fn progress_callback(fraction: f32, user_data: *mut c_void) -> bool {
    // SAFETY: the caller's promise.
    unsafe { &*(user_data as *const ProgressLog) }.report(fraction)
}

/// Detector options for the C ABI: the defaults with every field fuzzed over its valid range
/// and somewhat beyond (the call must refuse what it cannot use). Threads stay at 0 … 2:
/// huge counts are bounded separately (issue #11, item 11).
pub fn detect_options(
    u: &mut Unstructured<'_>,
    sampling_a: f64,
) -> Result<misalign_detect_options> {
    let mut o = misalign_detect_options_default();
    o.fiducial_size_a = bead_diameter_a(u, sampling_a)?;
    o.threads = u.int_in_range(0..=2)?;
    o.sd_thr = f64::from(u.int_in_range(-20i8..=80)?) / 10.0;
    o.min_area = u.int_in_range(0..=60)?;
    o.box_size = *u.choose(&[32, 0, 7, 8, 16, 64, 65, u32::MAX])?;
    o.mirror_corr_thr = f64::from(u.int_in_range(-10i8..=10)?) / 10.0;
    o.mahalanobis_thr = f64::from(u.int_in_range(-10i8..=100)?) / 10.0;
    if u.ratio(1u8, 16)? {
        o.sd_thr = *u.choose(&[f64::NAN, f64::INFINITY, -f64::INFINITY])?;
    }
    o.relaxed_min = u.int_in_range(0..=5)?;
    o.per_slice_threshold = u.arbitrary()?;
    o.bin = *u.choose(&[0, 1, 2, 3, 7, 1000, u32::MAX])?;
    Ok(o)
}

/// The C description of `vol` (borrowing its data) at `sampling_a` Å/voxel; now and then one
/// dimension is described as 0 (a caller's mistake the call must refuse).
pub fn c_volume(
    u: &mut Unstructured<'_>,
    vol: &SynthVolume,
    sampling_a: f32,
) -> Result<misalign_volume> {
    let mut dims = vol.dims;
    if u.ratio(1u8, 32)? {
        dims[u.choose_index(3)?] = 0;
    }
    Ok(misalign_volume {
        data: vol.data.as_ptr(),
        nx: dims[0],
        ny: dims[1],
        nz: dims[2],
        sampling_a,
    })
}

/// The last error message of this thread (non-empty after any failed call).
pub fn last_error() -> String {
    let p = misalign_last_error();
    assert!(!p.is_null(), "misalign_last_error returned NULL");
    // SAFETY: the library returns a NUL-terminated string valid until the next call.
    unsafe { std::ffi::CStr::from_ptr(p) }
        .to_string_lossy()
        .into_owned()
}
