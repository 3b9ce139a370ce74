//! PNG slices through a point of a volume, for looking at artifacts.
use std::path::{Path, PathBuf};

use crate::host::image::{auto_range, write_png_gray};
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
    let (lo, hi) = auto_range(&all, 0.005);
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
        write_png_gray(&path, zw, zh, &big, lo, hi)?;
        out.push(path);
    }
    Ok(out)
}
