//! Times the fiducial detector on a 1440×1024×300 float32 tomogram.
//!
//! `cargo run --release --example detector_bench [-- threads nx ny nz]`: renders a procedural
//! tomogram with planted beads into an MRC file in the system temp directory (once; reused
//! while it exists), then times the detector reading that file the way `misalign check` does.
//! Prints wall seconds, peak RSS (VmHWM) and per-stage timings, plus recall against the
//! planted beads. The file is read warm from the page cache after the first run.
mod synth;

use std::time::Instant;

use misalign::host::detector::{detect, DetectorParams};
use misalign::host::mrc::{MrcFile, MrcMode, MrcWriter};
use misalign::host::{Acquisition, SliceSource};

/// Writes `src` to `path` slice by slice (the whole volume is never in memory).
fn render(src: &synth::Synthetic, path: &std::path::Path) -> misalign::host::Result<()> {
    let [nx, ny, nz] = src.dims;
    let mut w = MrcWriter::create(path, src.dims, src.voxel_size(), MrcMode::Float32)?;
    let mut slice = vec![0.0f32; nx * ny];
    for z in 0..nz {
        src.read_slice(z, &mut slice)?;
        w.write_slice(&slice)?;
    }
    w.finish()
}

fn vm_hwm_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let threads = args.first().copied().unwrap_or(2);
    let dims = [
        args.get(1).copied().unwrap_or(1440),
        args.get(2).copied().unwrap_or(1024),
        args.get(3).copied().unwrap_or(300),
    ];
    let truth = synth::Synthetic::new(dims, 150, 10.0, 0.4);
    let path = std::env::temp_dir().join(format!(
        "misalign-detector-bench-{}x{}x{}.mrc",
        dims[0], dims[1], dims[2]
    ));
    if !path.exists() {
        let t = Instant::now();
        if let Err(e) = render(&truth, &path) {
            eprintln!("detector_bench: writing {}: {e}", path.display());
            std::process::exit(1);
        }
        println!(
            "rendered {} in {:.1} s (not timed below)",
            path.display(),
            t.elapsed().as_secs_f64()
        );
    }
    let src = match MrcFile::open(&path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("detector_bench: {e}");
            std::process::exit(1);
        }
    };
    let acq = Acquisition {
        sampling_a: 10.0,
        bead_diameter_a: 100.0,
    };
    let p = DetectorParams {
        threads,
        ..DetectorParams::default()
    };
    let t0 = Instant::now();
    let det = match detect(&src, &acq, &p, None) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("detector_bench: {e}");
            std::process::exit(1);
        }
    };
    let secs = t0.elapsed().as_secs_f64();
    let found = truth
        .beads
        .iter()
        .filter(|t| {
            det.beads
                .iter()
                .any(|b| (0..3).map(|a| (b[a] - t[a]).powi(2)).sum::<f64>() < 25.0)
        })
        .count();
    println!(
        "volume {}x{}x{} float32 ({}), {threads} threads",
        dims[0],
        dims[1],
        dims[2],
        path.display()
    );
    println!(
        "total {secs:.2} s, peak RSS {:.1} MiB",
        vm_hwm_mib().unwrap_or(f64::NAN)
    );
    let t = det.timings;
    println!(
        "stages: slices {:.2} s, assemble {:.3} s, centring {:.3} s, filters {:.3} s",
        t.slices, t.assemble, t.centring, t.filters
    );
    println!("counts: {:?}", det.counts);
    println!(
        "planted {} beads, {} found within 5 px, {} reported",
        truth.beads.len(),
        found,
        det.beads.len()
    );
}
