//! `misalign info FILE.mrc...`: header summary and data statistics of MRC files.
use std::path::PathBuf;

use crate::term::{errln, outln};
use clap::Args as ClapArgs;
use misalign::host::mrc::{MrcFile, RunningStats};
use misalign::host::{Error, Result, SliceSource};

/// Options of `misalign info`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// MRC files to describe.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Print one JSON object per line per file instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Data statistics streamed slice by slice, over the finite voxels only.
struct DataStats {
    stats: RunningStats,
    non_finite: u64,
}

fn data_stats(f: &MrcFile) -> Result<DataStats> {
    let [nx, ny, nz] = f.dims();
    let mut buf = vec![0f32; nx * ny];
    let mut stats = RunningStats::default();
    let mut non_finite = 0u64;
    for z in 0..nz {
        f.read_slice(z, &mut buf)?;
        let bad = buf.iter().filter(|v| !v.is_finite()).count();
        if bad == 0 {
            stats.merge(&RunningStats::of(&buf));
        } else {
            non_finite += bad as u64;
            let finite: Vec<f32> = buf.iter().copied().filter(|v| v.is_finite()).collect();
            stats.merge(&RunningStats::of(&finite));
        }
    }
    Ok(DataStats { stats, non_finite })
}

fn describe(path: &PathBuf, json: bool) -> Result<String> {
    let f = MrcFile::open(path)?;
    let d = data_stats(&f)?;
    let h = f.header();
    let [nx, ny, nz] = h.dims();
    let vs = h.voxel_size();
    let s = &d.stats;
    if json {
        let v = serde_json::json!({
            "file": path.display().to_string(),
            "nx": nx, "ny": ny, "nz": nz,
            "mode": h.mode.code(),
            "mode_name": h.mode.name(),
            "voxel_size": vs,
            "origin": h.origin,
            "axis_map": h.axis_map,
            "byte_order": h.byte_order.name(),
            "ext_header_len": h.ext_header_len,
            "ext_type": h.ext_type,
            "header_min": h.dmin, "header_max": h.dmax, "header_mean": h.dmean, "header_rms": h.rms,
            "min": s.min, "max": s.max, "mean": s.mean, "sd": s.sd(),
            "non_finite": d.non_finite,
        });
        return Ok(v.to_string());
    }
    let [fc, fr, fs] = h.file_dims;
    let [mc, mr, ms] = h.axis_map;
    let st = h.machine_stamp;
    let mut out = format!(
        "{}\n  dimensions (x, y, z)   : {nx} x {ny} x {nz}\n  file order             : {fc} x {fr} x {fs} (MAPC/MAPR/MAPS {mc},{mr},{ms})\n  mode                   : {} ({})\n  voxel size (Å)         : {} x {} x {}\n  origin (Å)             : {} {} {}\n  byte order             : {} (MACHST {:02x} {:02x} {:02x} {:02x})\n  extended header        : {} bytes{}\n  header min/max/mean/rms: {} / {} / {} / {}\n  data min/max/mean/sd   : {} / {} / {} / {}\n",
        path.display(),
        h.mode.code(),
        h.mode.name(),
        vs[0], vs[1], vs[2],
        h.origin[0], h.origin[1], h.origin[2],
        h.byte_order.name(), st[0], st[1], st[2], st[3],
        h.ext_header_len,
        if h.ext_type.is_empty() { String::new() } else { format!(" (type {})", h.ext_type) },
        h.dmin, h.dmax, h.dmean, h.rms,
        s.min, s.max, s.mean, s.sd(),
    );
    if d.non_finite > 0 {
        out.push_str(&format!(
            "  WARNING: {} NaN/infinite voxels (excluded from the statistics)\n",
            d.non_finite
        ));
    }
    Ok(out)
}

/// Describes every file; a bad file is reported on stderr and makes the exit code non-zero,
/// but the other files are still described.
pub fn run(args: Args) -> Result<()> {
    let mut failed = 0;
    for path in &args.files {
        match describe(path, args.json) {
            Ok(text) if args.json => outln!("{text}"),
            Ok(text) => crate::term::out(format_args!("{text}")),
            Err(e) => {
                failed += 1;
                errln!("misalign info: {}: {e}", path.display());
            }
        }
    }
    if failed > 0 {
        return Err(Error::Invalid(format!(
            "{failed} of {} files could not be read",
            args.files.len()
        )));
    }
    Ok(())
}
