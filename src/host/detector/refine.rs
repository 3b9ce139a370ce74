//! Passes 2 and 3: read small cubes around the 3D candidates (streaming the source once per
//! pass), centre each candidate by mirror correlation, and compute the mirror-correlation and
//! radial-profile scores of the filters.
use crate::detect::{mirror, profile};
use crate::host::alloc::zeroed;
use crate::host::{Error, Result, SliceSource};

/// A cube of edge `edge` whose first voxel is at `origin` (may stick out of the volume;
/// outside voxels take the value of the nearest voxel inside).
#[derive(Clone, Copy, Debug)]
pub struct Cube {
    pub origin: [isize; 3],
    pub edge: usize,
}

/// Reads all `cubes` in one ascending sweep over the slices they touch.
pub fn gather(src: &dyn SliceSource, cubes: &[Cube]) -> Result<Vec<Vec<f32>>> {
    let [nx, ny, nz] = src.dims();
    let mut out: Vec<Vec<f32>> = cubes
        .iter()
        .map(|c| zeroed(c.edge.pow(3), "the candidate cubes"))
        .collect::<Result<_>>()?;
    if cubes.is_empty() {
        return Ok(out);
    }
    let clampi = |v: isize, n: usize| v.clamp(0, n as isize - 1) as usize;
    // For every source slice, the (cube, plane) pairs that read it.
    let mut users: Vec<Vec<(u32, u32)>> = vec![Vec::new(); nz];
    for (i, c) in cubes.iter().enumerate() {
        for t in 0..c.edge {
            users[clampi(c.origin[2] + t as isize, nz)].push((i as u32, t as u32));
        }
    }
    let mut slice = zeroed(nx * ny, "a tomogram slice")?;
    for (z, list) in users.iter().enumerate() {
        if list.is_empty() {
            continue;
        }
        src.read_slice(z, &mut slice)?;
        for &(i, t) in list {
            let c = &cubes[i as usize];
            let e = c.edge;
            let plane = &mut out[i as usize][t as usize * e * e..(t as usize + 1) * e * e];
            for y in 0..e {
                let sy = clampi(c.origin[1] + y as isize, ny);
                let row = &slice[sy * nx..(sy + 1) * nx];
                for x in 0..e {
                    plane[y * e + x] = row[clampi(c.origin[0] + x as isize, nx)];
                }
            }
        }
    }
    Ok(out)
}

/// Geometry of the centring step for beads `d` voxels wide.
#[derive(Clone, Copy, Debug)]
pub struct Centring {
    /// Binning factor (the correlation runs on `bin`³-averaged voxels for large beads).
    pub bin: usize,
    /// Edge of the correlated window (binned voxels) and lag range ±smax.
    pub edge: usize,
    pub smax: usize,
    /// Extra binned voxels gathered on each side so the window can follow the peak.
    pub margin: usize,
    /// Re-centring rounds when the peak sits on the lag boundary.
    pub rounds: usize,
}

impl Centring {
    /// Window of twice the (binned) bead diameter; lags up to ±2 binned voxels per round.
    pub fn new(d: f64) -> Self {
        let bin = ((d / 6.0).round() as usize).max(1);
        let db = d / bin as f64;
        let edge = (2.0 * db.ceil()).max(6.0) as usize;
        Centring {
            bin,
            edge,
            smax: 4,
            margin: 4,
            rounds: 3,
        }
    }

    /// The full-resolution cube to gather around `p`.
    pub fn cube(&self, p: [f64; 3]) -> Cube {
        let g = self.bin * (self.edge + 2 * self.margin);
        let origin = core::array::from_fn(|a| p[a].round() as isize - (g / 2) as isize);
        Cube { origin, edge: g }
    }

    /// Centre of the bead seen in `cube` (gathered by [`Centring::cube`]), or `None` when the
    /// window holds no point-symmetric peak.
    pub fn locate(&self, cube: &Cube, data: &[f32]) -> Result<Option<[f64; 3]>> {
        let (b, lg, l) = (self.bin, self.edge + 2 * self.margin, self.edge);
        let g = cube.edge;
        // Bin the gathered cube.
        let mut binned = vec![0.0f32; lg * lg * lg];
        let inv = 1.0 / (b * b * b) as f32;
        for z in 0..g {
            for y in 0..g {
                for x in 0..g {
                    binned[((z / b) * lg + y / b) * lg + x / b] += data[(z * g + y) * g + x] * inv;
                }
            }
        }
        let mut sub = vec![0.0f32; l * l * l];
        let mut scratch = vec![0.0f32; mirror::centre_scratch_len(l, self.smax)];
        let mut j = [self.margin; 3];
        let mut est = None;
        for _ in 0..=self.rounds {
            for z in 0..l {
                for y in 0..l {
                    let src = ((j[2] + z) * lg + j[1] + y) * lg + j[0];
                    sub[(z * l + y) * l..(z * l + y + 1) * l]
                        .copy_from_slice(&binned[src..src + l]);
                }
            }
            let r = mirror::centre_offset(&mut sub, l, self.smax, &mut scratch)
                .map_err(|e| Error::Invalid(format!("fiducial detector: centring: {e:?}")))?;
            let Some((off, on_edge)) = r else { break };
            let c: [f64; 3] =
                core::array::from_fn(|a| j[a] as f64 + (l as f64 - 1.0) / 2.0 + off[a]);
            est = Some(c);
            if !on_edge {
                break;
            }
            let nj: [usize; 3] = core::array::from_fn(|a| {
                (c[a] - (l as f64 - 1.0) / 2.0)
                    .round()
                    .clamp(0.0, 2.0 * self.margin as f64) as usize
            });
            if nj == j {
                break;
            }
            j = nj;
        }
        Ok(est.map(|c| {
            core::array::from_fn(|a| {
                cube.origin[a] as f64 + c[a] * b as f64 + (b as f64 - 1.0) / 2.0
            })
        }))
    }
}

/// Scores of one candidate for the filters.
pub struct Scores {
    /// Pearson correlation of the box with its point mirror.
    pub mirror_r: f64,
    /// Radial profile (box/2 bins) of the central box/4 slices.
    pub profile: Vec<f64>,
}

/// The box cube around `p`: edge `box_size`, centred on the voxel nearest `p` (the mirror
/// centre then lies half a voxel before it, as in the original).
pub fn box_cube(p: [f64; 3], box_size: usize) -> Cube {
    Cube {
        origin: core::array::from_fn(|a| p[a].round() as isize - (box_size / 2) as isize),
        edge: box_size,
    }
}

/// Mirror correlation and radial profile of the candidate at `p` from its box cube.
pub fn score(p: [f64; 3], cube: &Cube, data: &[f32]) -> Result<Scores> {
    let e = cube.edge;
    let kerr = |e| Error::Invalid(format!("fiducial detector: filter scores: {e:?}"));
    let mirror_r = mirror::mirror_pearson(data, e).map_err(kerr)?;
    let m = (e / 4).max(1);
    let z0 = e / 2 - m / 2;
    let slab = &data[z0 * e * e..(z0 + m) * e * e];
    let centre = (p[0] - cube.origin[0] as f64, p[1] - cube.origin[1] as f64);
    let mut prof = vec![0.0f64; e / 2];
    let mut counts = vec![0u32; e / 2];
    profile::radial_profile(slab, e, m, centre, &mut prof, &mut counts).map_err(kerr)?;
    Ok(Scores {
        mirror_r,
        profile: prof,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::Volume;

    /// A soft-edged dark sphere of diameter `d` at `c` (z stretched 1.4× like a missing-wedge
    /// elongation) on a flat background, plus a faint deterministic ripple as texture.
    fn sphere(dims: [usize; 3], c: [f64; 3], d: f64) -> Volume {
        let [nx, ny, nz] = dims;
        let mut data = vec![0.0f32; nx * ny * nz];
        for z in 0..nz {
            for y in 0..ny {
                for x in 0..nx {
                    let (dx, dy, dz) = (x as f64 - c[0], y as f64 - c[1], (z as f64 - c[2]) / 1.4);
                    let r = (dx * dx + dy * dy + dz * dz).sqrt();
                    let ripple =
                        0.05 * ((0.7 * x as f64).sin() * (1.3 * y as f64 + z as f64).cos());
                    let v = 5.0 + ripple - 1.0 / (1.0 + ((r - d / 2.0) / 0.7).exp());
                    data[(z * ny + y) * nx + x] = v as f32;
                }
            }
        }
        Volume::from_data(dims, [10.0; 3], data).unwrap()
    }

    #[test]
    fn centring_recovers_shifts_of_both_signs() {
        let d = 10.0;
        for s in -3i32..=3 {
            let truth = [32.0 + s as f64, 32.0 - s as f64 * 0.5, 32.0 + s as f64];
            let vol = sphere([64, 64, 64], truth, d);
            let cen = Centring::new(d);
            let cube = cen.cube([32.0, 32.0, 32.0]);
            let data = gather(&vol, &[cube]).unwrap();
            let got = cen.locate(&cube, &data[0]).unwrap().unwrap();
            for a in 0..3 {
                assert!(
                    (got[a] - truth[a]).abs() <= 0.6,
                    "shift {s}: got {got:?}, truth {truth:?}"
                );
            }
        }
    }
}
