//! PNG slices through a point of a volume, for looking at artifacts.
use std::path::{Path, PathBuf};

use crate::host::fsutil::write_atomic;
use crate::host::report::image::{encode_png_gray, percentile_range};
use crate::host::{Error, Result, Volume};

/// Writes the XY, XZ and YZ slices through voxel `centre` of `v` as `<stem>_xy.png`,
/// `<stem>_xz.png` (z upwards… stored top row = highest z) and `<stem>_yz.png` in `dir`, each
/// enlarged `zoom`× (nearest neighbour) and sharing one grey range (0.5 % / 99.5 % quantiles
/// of the three slices). Returns the paths written.
pub fn write_slices(
    v: &Volume,
    centre: [f64; 3],
    dir: &Path,
    stem: &str,
    zoom: usize,
) -> Result<Vec<PathBuf>> {
    let [nx, ny, nz] = v.dims;
    if nx == 0 || ny == 0 || nz == 0 || v.data.len() != nx * ny * nz {
        return Err(Error::Invalid(format!(
            "write_slices: bad volume {:?}",
            v.dims
        )));
    }
    if !(1..=16).contains(&zoom) || centre.iter().any(|c| !c.is_finite()) {
        return Err(Error::Invalid(format!(
            "write_slices: zoom must be 1…16 and the centre finite, got {zoom}, {centre:?}"
        )));
    }
    let idx = |a: usize, n: usize| (centre[a].round().max(0.0) as usize).min(n - 1);
    let (cx, cy, cz) = (idx(0, nx), idx(1, ny), idx(2, nz));
    let xy: Vec<f32> = (0..ny)
        .flat_map(|y| (0..nx).map(move |x| (x, y)))
        .map(|(x, y)| v.get(x, y, cz))
        .collect();
    // Highest z on top, as tomogram viewers show XZ views.
    let xz: Vec<f32> = (0..nz)
        .rev()
        .flat_map(|z| (0..nx).map(move |x| (x, z)))
        .map(|(x, z)| v.get(x, cy, z))
        .collect();
    let yz: Vec<f32> = (0..nz)
        .rev()
        .flat_map(|z| (0..ny).map(move |y| (y, z)))
        .map(|(y, z)| v.get(cx, y, z))
        .collect();
    let all: Vec<f32> = xy.iter().chain(&xz).chain(&yz).copied().collect();
    // 0.5 % clipped at each end so a few gold voxels do not wash out the rest.
    let (lo, hi) = percentile_range(&all, 0.5, 99.5);
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let mut out = Vec::new();
    for (name, w, h, data) in [
        ("xy", nx, ny, &xy),
        ("xz", nx, nz, &xz),
        ("yz", ny, nz, &yz),
    ] {
        let (zw, zh) = (w * zoom, h * zoom);
        let big: Vec<f32> = (0..zh)
            .flat_map(|r| (0..zw).map(move |c| (r, c)))
            .map(|(r, c)| data[(r / zoom) * w + c / zoom])
            .collect();
        let path = dir.join(format!("{stem}_{name}.png"));
        write_atomic(&path, &encode_png_gray(zw, zh, &big, lo, hi)?)?;
        out.push(path);
    }
    Ok(out)
}

/// The darkest point of the 3×3×3 box-averaged volume within `radius` voxels of `guess`
/// (where a misaligned bead actually ended up), as voxel coordinates.
pub fn darkest_near(v: &Volume, guess: [f64; 3], radius: f64) -> [f64; 3] {
    let [nx, ny, nz] = v.dims;
    let mut best = (f32::INFINITY, guess);
    let lo = |a: usize, n: usize| {
        ((guess[a] - radius).floor().max(1.0) as usize).min(n.saturating_sub(2))
    };
    let hi = |a: usize, n: usize| {
        ((guess[a] + radius).ceil().max(0.0) as usize).min(n.saturating_sub(2))
    };
    if nx < 3 || ny < 3 || nz < 3 {
        return guess;
    }
    for z in lo(2, nz)..=hi(2, nz) {
        for y in lo(1, ny)..=hi(1, ny) {
            for x in lo(0, nx)..=hi(0, nx) {
                let d2 = (x as f64 - guess[0]).powi(2)
                    + (y as f64 - guess[1]).powi(2)
                    + (z as f64 - guess[2]).powi(2);
                if d2 > radius * radius {
                    continue;
                }
                let mut s = 0.0;
                for dz in 0..3 {
                    for dy in 0..3 {
                        for dx in 0..3 {
                            s += v.get(x + dx - 1, y + dy - 1, z + dz - 1);
                        }
                    }
                }
                if s < best.0 {
                    best = (s, [x as f64, y as f64, z as f64]);
                }
            }
        }
    }
    best.1
}

/// The `edge³` cube of `v` centred on voxel `round(centre)` (zero outside `v`), and the
/// centre's coordinates in the cube.
pub fn crop(v: &Volume, centre: [f64; 3], edge: usize) -> Result<(Volume, [f64; 3])> {
    if centre.iter().any(|c| !c.is_finite()) || edge == 0 || edge > 1024 {
        return Err(Error::Invalid(format!(
            "crop: bad centre {centre:?} or edge {edge}"
        )));
    }
    let h = (edge / 2) as i64;
    let c = centre.map(|x| x.round() as i64);
    let mut out = Volume::zeros([edge; 3], v.voxel_size)?;
    for z in 0..edge {
        for y in 0..edge {
            for x in 0..edge {
                let (sx, sy, sz) = (
                    c[0] - h + x as i64,
                    c[1] - h + y as i64,
                    c[2] - h + z as i64,
                );
                let inside = [sx, sy, sz]
                    .iter()
                    .zip(v.dims)
                    .all(|(&s, n)| s >= 0 && (s as usize) < n);
                if inside {
                    let i = out.index(x, y, z);
                    out.data[i] = v.get(sx as usize, sy as usize, sz as usize);
                }
            }
        }
    }
    let local = [0, 1, 2].map(|a| centre[a] - (c[a] - h) as f64);
    Ok((out, local))
}
