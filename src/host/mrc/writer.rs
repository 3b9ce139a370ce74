//! MRC writer (float32 or float16, little-endian): whole volumes or slice by slice, atomic.
//!
//! The file is written to a hidden temporary next to the target; the header (with statistics of
//! the data as stored) is written last, then the file is synced and renamed into place.
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::header::{ByteOrder, MrcHeader, MrcMode, HEADER_LEN, NVERSION};
use crate::host::{volume::voxel_count, Error, Result, Volume};

/// Writes `vol` to `path` as MRC mode 2 (float32) or 12 (float16), atomically.
/// Fails on non-finite voxels (and on values outside the float16 range in mode 12).
pub fn write_volume(path: impl AsRef<Path>, vol: &Volume, mode: MrcMode) -> Result<()> {
    let mut w = MrcWriter::create(path, vol.dims, vol.voxel_size, mode)?;
    for z in 0..vol.dims[2] {
        w.write_slice(vol.slice(z))?;
    }
    w.finish()
}

/// Streaming writer: create, [`MrcWriter::write_slice`] `nz` times, then [`MrcWriter::finish`].
/// Dropping it unfinished deletes the temporary and leaves the target untouched.
#[derive(Debug)]
pub struct MrcWriter {
    path: PathBuf,
    tmp: PathBuf,
    file: Option<BufWriter<File>>,
    header: MrcHeader,
    next_z: usize,
    stats: RunningStats,
    raw: Vec<u8>,
    stored: Vec<f32>,
}

impl MrcWriter {
    /// Starts writing a `dims = [nx, ny, nz]` volume with voxel size `[x, y, z]` Å.
    /// `mode` must be [`MrcMode::Float32`] or [`MrcMode::Float16`].
    pub fn create(
        path: impl AsRef<Path>,
        dims: [usize; 3],
        voxel_size: [f32; 3],
        mode: MrcMode,
    ) -> Result<MrcWriter> {
        // Through a symbolic link: its target is replaced, the link stays.
        let path = crate::host::fsutil::follow_links(path.as_ref());
        let name = path.display().to_string();
        if !matches!(mode, MrcMode::Float32 | MrcMode::Float16) {
            return Err(Error::Invalid(format!(
                "{name}: the MRC writer writes float32 or float16, not {}",
                mode.name()
            )));
        }
        voxel_count(dims).map_err(|e| Error::Invalid(format!("{name}: {e}")))?;
        if dims.iter().any(|&d| d > i32::MAX as usize) {
            return Err(Error::Invalid(format!(
                "{name}: dimensions {dims:?} do not fit an MRC header"
            )));
        }
        if voxel_size.iter().any(|v| !v.is_finite() || *v < 0.0) {
            return Err(Error::Invalid(format!(
                "{name}: voxel size {voxel_size:?} must be finite and non-negative"
            )));
        }
        let header = MrcHeader {
            file_dims: dims,
            mode,
            start: [0; 3],
            grid: dims.map(|d| d as i32),
            cell: [0, 1, 2].map(|k| dims[k] as f32 * voxel_size[k]),
            cell_angles: [90.0; 3],
            axis_map: [1, 2, 3],
            dmin: 0.0,
            dmax: 0.0,
            dmean: 0.0,
            rms: 0.0,
            ispg: 1,
            ext_header_len: 0,
            ext_type: String::new(),
            nversion: NVERSION,
            origin: [0.0; 3],
            machine_stamp: [0x44, 0x44, 0, 0],
            byte_order: ByteOrder::Little,
            unsigned_bytes: false,
            labels: vec![format!("misalign {}", crate::VERSION)],
        };
        let tmp = temp_path(&path);
        let file = File::create(&tmp).map_err(|e| Error::io(format!("creating {name}"), e))?;
        let mut file = BufWriter::with_capacity(1 << 20, file);
        // Placeholder header; the real one (with statistics) is written by `finish`.
        if let Err(e) = file.write_all(&[0u8; HEADER_LEN]) {
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::io(format!("writing {name}"), e));
        }
        Ok(MrcWriter {
            path,
            tmp,
            file: Some(file),
            header,
            next_z: 0,
            stats: RunningStats::default(),
            raw: Vec::new(),
            stored: Vec::new(),
        })
    }

    /// Sets the ORIGIN field (Å); default 0.
    pub fn set_origin(&mut self, origin: [f32; 3]) {
        self.header.origin = origin;
    }

    /// Appends the next XY slice (`nx * ny` values, x fastest).
    pub fn write_slice(&mut self, slice: &[f32]) -> Result<()> {
        let [nx, ny, nz] = self.header.file_dims;
        let name = self.path.display().to_string();
        if self.next_z >= nz || slice.len() != nx * ny {
            return Err(Error::Invalid(format!(
                "{name}: slice {} of {} values does not fit a {nx}×{ny}×{nz} volume",
                self.next_z,
                slice.len()
            )));
        }
        // Statistics are of the values as stored (float16 rounds), as mrcfile checks them.
        self.stored.clear();
        self.raw.clear();
        match self.header.mode {
            MrcMode::Float16 => {
                for &v in slice {
                    let h = half::f16::from_f32(v);
                    self.stored.push(h.to_f32());
                    self.raw.extend_from_slice(&h.to_bits().to_le_bytes());
                }
            }
            _ => {
                for &v in slice {
                    self.stored.push(v);
                    self.raw.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
        if self.stored.iter().any(|v| !v.is_finite()) {
            return Err(Error::Invalid(format!(
                "{name}: slice {} has NaN/infinite values{}",
                self.next_z,
                if self.header.mode == MrcMode::Float16 {
                    " (or values beyond the float16 range ±65504)"
                } else {
                    ""
                }
            )));
        }
        self.stats.merge(&RunningStats::of(&self.stored));
        let file = self.file.as_mut().expect("writer used after finish");
        file.write_all(&self.raw)
            .map_err(|e| Error::io(format!("writing {name}"), e))?;
        self.next_z += 1;
        Ok(())
    }

    /// Writes the header with the data statistics, syncs and renames into place.
    pub fn finish(mut self) -> Result<()> {
        let name = self.path.display().to_string();
        let nz = self.header.file_dims[2];
        if self.next_z != nz {
            return Err(Error::Invalid(format!(
                "{name}: only {} of {nz} slices were written",
                self.next_z
            )));
        }
        let s = &self.stats;
        self.header.dmin = s.min as f32;
        self.header.dmax = s.max as f32;
        self.header.dmean = s.mean as f32;
        self.header.rms = s.sd() as f32;
        let bytes = self.header.encode();
        let file = self.file.take().expect("finish called once");
        let result = (|| -> std::io::Result<()> {
            let mut file = file.into_inner().map_err(|e| e.into_error())?;
            file.seek(SeekFrom::Start(0))?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            std::fs::rename(&self.tmp, &self.path)
        })();
        result.map_err(|e| {
            let _ = std::fs::remove_file(&self.tmp);
            Error::io(format!("writing {name}"), e)
        })
    }
}

impl Drop for MrcWriter {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Hidden temporary in the target's folder, unique per process and per writer (the extractor
/// writes many cubes from several threads).
fn temp_path(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out.mrc".into());
    // The pid last, as fsutil's sweep of stale temporaries reads it.
    let tmp = format!(".{name}.{n}.{}.tmp", std::process::id());
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.join(tmp),
        _ => PathBuf::from(tmp),
    }
}

/// Running count, mean, sum of squared deviations (Chan et al. merge), min and max, in f64.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RunningStats {
    /// Number of values.
    pub n: u64,
    /// Mean.
    pub mean: f64,
    /// Sum of squared deviations from the mean.
    pub m2: f64,
    /// Minimum (meaningless when `n == 0`).
    pub min: f64,
    /// Maximum (meaningless when `n == 0`).
    pub max: f64,
}

impl RunningStats {
    /// Statistics of `values` (two-pass in f64).
    pub fn of(values: &[f32]) -> RunningStats {
        if values.is_empty() {
            return RunningStats::default();
        }
        let n = values.len() as u64;
        let mut min = f64::INFINITY;
        let mut max = f64::NEG_INFINITY;
        let mut sum = 0.0;
        for &v in values {
            let v = v as f64;
            min = min.min(v);
            max = max.max(v);
            sum += v;
        }
        let mean = sum / n as f64;
        let m2 = values.iter().map(|&v| (v as f64 - mean).powi(2)).sum();
        RunningStats {
            n,
            mean,
            m2,
            min,
            max,
        }
    }

    /// Adds another batch of statistics.
    pub fn merge(&mut self, o: &RunningStats) {
        if o.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *o;
            return;
        }
        let n = self.n + o.n;
        let delta = o.mean - self.mean;
        self.mean += delta * o.n as f64 / n as f64;
        self.m2 += o.m2 + delta * delta * (self.n as f64 * o.n as f64 / n as f64);
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
        self.n = n;
    }

    /// Population standard deviation (what MRC2014 calls RMS).
    pub fn sd(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            (self.m2 / self.n as f64).sqrt()
        }
    }
}
