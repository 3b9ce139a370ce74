//! Radial intensity profiles of bead candidates and their Mahalanobis distance in the plane of
//! the two main principal components.
//!
//! The principal directions come from a deterministic symmetric eigen-decomposition (cyclic
//! Jacobi) of the profiles' population covariance instead of the original's randomly started
//! EM-PCA. In that basis the projected covariance is diag(λ1, λ2), so d² = p1²/λ1 + p2²/λ2.
//! Properties (used by the tests): the mean of d² over the candidates is the number of
//! components used (2), and d² ≤ N − 1.

// Index loops read like the matrix formulas they implement.
#![allow(clippy::needless_range_loop)]

/// Largest profile length supported (box sizes up to 128).
pub const MAX_BINS: usize = 64;

/// Candidates at or below this count get d = 0 (the 2×2 covariance is not estimable).
pub const MIN_CANDIDATES: usize = 3;

/// Cylindrical radial profile of a slab (`slices` × `l` × `l`, x fastest): the slab is
/// standardised (population SD), then every voxel adds to bin ⌊√((x−cx)² + (y−cy)²)⌋ if that
/// bin is below `out.len()`; each bin becomes the mean of its contributions (0 if it has none).
/// `counts` needs `out.len()` entries.
pub fn radial_profile(
    slab: &[f32],
    l: usize,
    slices: usize,
    centre: (f64, f64),
    out: &mut [f64],
    counts: &mut [u32],
) -> Result<(), super::KernelError> {
    let n = l * l * slices;
    if n == 0 || slab.len() != n || counts.len() < out.len() {
        return Err(super::KernelError::BufferSize);
    }
    let mean = slab.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
    let var = slab
        .iter()
        .map(|&v| (v as f64 - mean) * (v as f64 - mean))
        .sum::<f64>()
        / n as f64;
    let inv_sd = if var > 0.0 {
        1.0 / libm::sqrt(var)
    } else {
        0.0
    };
    out.iter_mut().for_each(|v| *v = 0.0);
    counts[..out.len()].iter_mut().for_each(|c| *c = 0);
    for z in 0..slices {
        for y in 0..l {
            for x in 0..l {
                let (dx, dy) = (x as f64 - centre.0, y as f64 - centre.1);
                let b = libm::floor(libm::sqrt(dx * dx + dy * dy)) as usize;
                if b < out.len() {
                    out[b] += (slab[(z * l + y) * l + x] as f64 - mean) * inv_sd;
                    counts[b] += 1;
                }
            }
        }
    }
    for (v, &c) in out.iter_mut().zip(counts.iter()) {
        if c > 0 {
            *v /= c as f64;
        }
    }
    Ok(())
}

/// Mahalanobis distance of each of the `out.len()` profiles (rows of `profiles`, `bins` long)
/// to their mean, in the subspace of the two largest principal components. Components with a
/// negligible variance are dropped (d then uses one or zero components); d = 0 for everyone
/// when there are ≤ [`MIN_CANDIDATES`] profiles.
pub fn mahalanobis(
    profiles: &[f64],
    bins: usize,
    out: &mut [f64],
) -> Result<(), super::KernelError> {
    let n = out.len();
    if bins == 0 || bins > MAX_BINS || profiles.len() != n * bins {
        return Err(super::KernelError::BufferSize);
    }
    out.iter_mut().for_each(|d| *d = 0.0);
    if n <= MIN_CANDIDATES {
        return Ok(());
    }
    let mut mean = [0.0f64; MAX_BINS];
    for row in profiles.chunks_exact(bins) {
        for (m, v) in mean.iter_mut().zip(row) {
            *m += v;
        }
    }
    mean[..bins].iter_mut().for_each(|m| *m /= n as f64);
    let mut cov = [[0.0f64; MAX_BINS]; MAX_BINS];
    for row in profiles.chunks_exact(bins) {
        for i in 0..bins {
            let di = row[i] - mean[i];
            for j in i..bins {
                cov[i][j] += di * (row[j] - mean[j]);
            }
        }
    }
    for i in 0..bins {
        for j in i..bins {
            cov[i][j] /= n as f64;
            cov[j][i] = cov[i][j];
        }
    }
    let mut vecs = [[0.0f64; MAX_BINS]; MAX_BINS];
    jacobi_eigen(&mut cov, &mut vecs, bins);
    // Two largest eigenvalues (ties broken by index, so the choice is deterministic).
    let mut order = [0usize; 2];
    let mut picked = 0;
    for slot in 0..2 {
        let mut best: Option<usize> = None;
        for k in 0..bins {
            if slot == 1 && k == order[0] {
                continue;
            }
            if best.map_or(true, |b| cov[k][k] > cov[b][b]) {
                best = Some(k);
            }
        }
        if let Some(b) = best {
            order[slot] = b;
            picked += 1;
        }
    }
    let total: f64 = (0..bins).map(|k| cov[k][k].max(0.0)).sum();
    let floor = 1e-12 * total.max(f64::MIN_POSITIVE);
    for (row, d) in profiles.chunks_exact(bins).zip(out.iter_mut()) {
        let mut d2 = 0.0;
        for &k in &order[..picked] {
            let lambda = cov[k][k];
            if lambda <= floor {
                continue;
            }
            let p: f64 = (0..bins).map(|i| (row[i] - mean[i]) * vecs[i][k]).sum();
            d2 += p * p / lambda;
        }
        *d = libm::sqrt(d2);
    }
    Ok(())
}

/// Cyclic Jacobi eigen-decomposition of the symmetric top-left `n × n` block of `a`: on return
/// the diagonal holds the eigenvalues and column k of `v` the k-th eigenvector.
fn jacobi_eigen(
    a: &mut [[f64; MAX_BINS]; MAX_BINS],
    v: &mut [[f64; MAX_BINS]; MAX_BINS],
    n: usize,
) {
    for (i, row) in v.iter_mut().enumerate().take(n) {
        row[..n].iter_mut().for_each(|x| *x = 0.0);
        row[i] = 1.0;
    }
    for _sweep in 0..100 {
        let mut off = 0.0;
        let mut diag = 0.0;
        for i in 0..n {
            diag += a[i][i] * a[i][i];
            for j in (i + 1)..n {
                off += a[i][j] * a[i][j];
            }
        }
        if off <= 1e-30 * diag.max(f64::MIN_POSITIVE) || off == 0.0 {
            break;
        }
        for p in 0..n {
            for q in (p + 1)..n {
                if a[p][q] == 0.0 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + libm::sqrt(theta * theta + 1.0));
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / libm::sqrt(t * t + 1.0);
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k][p], a[k][q]);
                    a[k][p] = c * akp - s * akq;
                    a[k][q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p][k], a[q][k]);
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
                for row in v.iter_mut().take(n) {
                    let (vkp, vkq) = (row[p], row[q]);
                    row[p] = c * vkp - s * vkq;
                    row[q] = s * vkp + c * vkq;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_diagonalises_a_known_matrix() {
        let mut a = [[0.0; MAX_BINS]; MAX_BINS];
        a[0][0] = 2.0;
        a[0][1] = 1.0;
        a[1][0] = 1.0;
        a[1][1] = 2.0;
        let mut v = [[0.0; MAX_BINS]; MAX_BINS];
        jacobi_eigen(&mut a, &mut v, 2);
        let mut ev = [a[0][0], a[1][1]];
        ev.sort_by(|x, y| x.partial_cmp(y).unwrap());
        assert!((ev[0] - 1.0).abs() < 1e-12 && (ev[1] - 3.0).abs() < 1e-12);
    }

    #[test]
    fn few_candidates_get_zero_distance() {
        let p = [1.0, 2.0, 3.0, 4.0, 5.0, 7.0];
        let mut d = [9.0; 3];
        mahalanobis(&p, 2, &mut d).unwrap();
        assert_eq!(d, [0.0; 3]);
    }
}
