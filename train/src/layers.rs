//! The layer kernels of the trainer, forward and backward, on one sample at a time
//! (batch-norm statistics are the only batch-level step; see [`crate::model`]).
//!
//! Activations are channel-major `[c][z][y][x]` with x fastest, the layout of the input cube.
//! Every function takes its sizes explicitly so the gradient checks can run on tiny shapes.

/// Marker in a pool argmax table: the window's maximum was ≤ 0, so ReLU zeroed it and no
/// gradient flows back.
pub const NO_ARGMAX: u32 = u32::MAX;

/// `c ← α·op(a)·op(b) + β·c` with explicit row/column strides (thin wrapper over
/// `matrixmultiply::sgemm`, which checks nothing: every caller passes slices whose lengths are
/// asserted here).
#[allow(clippy::too_many_arguments)]
fn gemm(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    a_strides: (isize, isize),
    b: &[f32],
    b_strides: (isize, isize),
    beta: f32,
    c: &mut [f32],
) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
    // SAFETY: the asserts above bound every index the strides can form: the strides used by the
    // callers address an m×k, k×n and m×n dense matrix inside each slice.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            a_strides.0,
            a_strides.1,
            b.as_ptr(),
            b_strides.0,
            b_strides.1,
            beta,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

/// Rows of the im2col matrix of a 3×3×3 convolution with `cin` input channels.
pub const fn col_rows(cin: usize) -> usize {
    cin * 27
}

/// Unfolds `x` (`[cin][e³]`) into `col` (`[cin·27][e³]`): row `ci·27 + kz·9 + ky·3 + kx` holds the
/// input shifted by `(kx−1, ky−1, kz−1)`, zero outside the volume ("same" padding). The row order
/// matches the kernel layout `[out][in][kz][ky][kx]`.
pub fn im2col(x: &[f32], cin: usize, e: usize, col: &mut [f32]) {
    let n = e * e * e;
    assert!(x.len() == cin * n && col.len() == cin * 27 * n);
    for ci in 0..cin {
        let src = &x[ci * n..(ci + 1) * n];
        for t in 0..27 {
            let (dz, dy, dx) = (t / 9, (t / 3) % 3, t % 3);
            let row = &mut col[(ci * 27 + t) * n..(ci * 27 + t + 1) * n];
            for z in 0..e {
                let sz = z as isize + dz as isize - 1;
                for y in 0..e {
                    let sy = y as isize + dy as isize - 1;
                    let out = &mut row[(z * e + y) * e..(z * e + y + 1) * e];
                    if sz < 0 || sz >= e as isize || sy < 0 || sy >= e as isize {
                        out.fill(0.0);
                        continue;
                    }
                    let line = &src[(sz as usize * e + sy as usize) * e..][..e];
                    // out[x] = line[x + dx − 1] where in range.
                    match dx {
                        0 => {
                            out[0] = 0.0;
                            out[1..].copy_from_slice(&line[..e - 1]);
                        }
                        1 => out.copy_from_slice(line),
                        _ => {
                            out[..e - 1].copy_from_slice(&line[1..]);
                            out[e - 1] = 0.0;
                        }
                    }
                }
            }
        }
    }
}

/// The adjoint of [`im2col`]: adds every entry of `dcol` back onto the input voxel it was read
/// from. `dx` is overwritten.
pub fn col2im(dcol: &[f32], cin: usize, e: usize, dx: &mut [f32]) {
    let n = e * e * e;
    assert!(dx.len() == cin * n && dcol.len() == cin * 27 * n);
    dx.fill(0.0);
    for ci in 0..cin {
        let dst = &mut dx[ci * n..(ci + 1) * n];
        for t in 0..27 {
            let (dz, dy, ddx) = (t / 9, (t / 3) % 3, t % 3);
            let row = &dcol[(ci * 27 + t) * n..(ci * 27 + t + 1) * n];
            for z in 0..e {
                let sz = z as isize + dz as isize - 1;
                if sz < 0 || sz >= e as isize {
                    continue;
                }
                for y in 0..e {
                    let sy = y as isize + dy as isize - 1;
                    if sy < 0 || sy >= e as isize {
                        continue;
                    }
                    let g = &row[(z * e + y) * e..][..e];
                    let line = &mut dst[(sz as usize * e + sy as usize) * e..][..e];
                    match ddx {
                        0 => line[..e - 1]
                            .iter_mut()
                            .zip(&g[1..])
                            .for_each(|(l, v)| *l += v),
                        1 => line.iter_mut().zip(g).for_each(|(l, v)| *l += v),
                        _ => line[1..]
                            .iter_mut()
                            .zip(&g[..e - 1])
                            .for_each(|(l, v)| *l += v),
                    }
                }
            }
        }
    }
}

/// Convolution from an unfolded input: `z[co][v] = Σ_r w[co][r]·col[r][v] + bias[co]`.
pub fn conv_forward(col: &[f32], w: &[f32], bias: &[f32], cin: usize, e: usize, z: &mut [f32]) {
    let (n, k, cout) = (e * e * e, cin * 27, bias.len());
    assert!(w.len() == cout * k && z.len() == cout * n);
    for (co, zc) in z.chunks_exact_mut(n).enumerate() {
        zc.fill(bias[co]);
    }
    gemm(cout, k, n, w, (k as isize, 1), col, (n as isize, 1), 1.0, z);
}

/// Backward of [`conv_forward`]: accumulates `dw += dz·colᵀ` and `dbias += Σ_v dz`, and, when
/// `dcol` is given, writes `dcol = wᵀ·dz` (to be folded back with [`col2im`]).
#[allow(clippy::too_many_arguments)]
pub fn conv_backward(
    col: &[f32],
    w: &[f32],
    dz: &[f32],
    cin: usize,
    e: usize,
    dw: &mut [f32],
    dbias: &mut [f32],
    dcol: Option<&mut [f32]>,
) {
    let (n, k, cout) = (e * e * e, cin * 27, dbias.len());
    assert!(dz.len() == cout * n && dw.len() == cout * k);
    for (co, g) in dz.chunks_exact(n).enumerate() {
        dbias[co] += g.iter().map(|&v| v as f64).sum::<f64>() as f32;
    }
    // dw (cout×k) += dz (cout×n) · colᵀ (n×k)
    gemm(
        cout,
        n,
        k,
        dz,
        (n as isize, 1),
        col,
        (1, n as isize),
        1.0,
        dw,
    );
    if let Some(dcol) = dcol {
        // dcol (k×n) = wᵀ (k×cout) · dz (cout×n)
        gemm(
            k,
            cout,
            n,
            w,
            (1, k as isize),
            dz,
            (n as isize, 1),
            0.0,
            dcol,
        );
    }
}

/// ReLU followed by max pooling with window and stride `p` over `[c][e³]`; `out` and `arg` are
/// `[c][(e/p)³]`. `arg` records the winning voxel (index within its channel) or [`NO_ARGMAX`].
/// ReLU and max commute, so the pool runs on the pre-activation and clamps once.
pub fn relu_pool_forward(
    z: &[f32],
    c: usize,
    e: usize,
    p: usize,
    out: &mut [f32],
    arg: &mut [u32],
) {
    let n = e * e * e;
    let eo = e / p;
    let no = eo * eo * eo;
    assert!(e.is_multiple_of(p) && z.len() == c * n && out.len() == c * no && arg.len() == c * no);
    for ch in 0..c {
        let zc = &z[ch * n..(ch + 1) * n];
        for oz in 0..eo {
            for oy in 0..eo {
                for ox in 0..eo {
                    let mut best = f32::NEG_INFINITY;
                    let mut at = 0usize;
                    for wz in 0..p {
                        for wy in 0..p {
                            let row = ((oz * p + wz) * e + oy * p + wy) * e + ox * p;
                            for (wx, &v) in zc[row..row + p].iter().enumerate() {
                                if v > best {
                                    best = v;
                                    at = row + wx;
                                }
                            }
                        }
                    }
                    let o = ch * no + (oz * eo + oy) * eo + ox;
                    if best > 0.0 {
                        out[o] = best;
                        arg[o] = at as u32;
                    } else {
                        out[o] = 0.0;
                        arg[o] = NO_ARGMAX;
                    }
                }
            }
        }
    }
}

/// Backward of [`relu_pool_forward`]: routes each pooled gradient to its argmax; `dz` is
/// `[c][e³]` and overwritten.
pub fn relu_pool_backward(dout: &[f32], arg: &[u32], c: usize, e: usize, dz: &mut [f32]) {
    let n = e * e * e;
    let no = dout.len() / c;
    assert!(dout.len() == arg.len() && dz.len() == c * n);
    dz.fill(0.0);
    for ch in 0..c {
        for o in 0..no {
            let a = arg[ch * no + o];
            if a != NO_ARGMAX {
                dz[ch * n + a as usize] += dout[ch * no + o];
            }
        }
    }
}

/// Per-channel batch mean and (biased) variance over every sample and voxel, in f64.
/// Each sample is `[c][s]`.
pub fn bn_batch_stats(xs: &[&[f32]], c: usize) -> (Vec<f64>, Vec<f64>) {
    let s = xs[0].len() / c;
    let m = (xs.len() * s) as f64;
    let mut mean = vec![0f64; c];
    let mut var = vec![0f64; c];
    for x in xs {
        for ch in 0..c {
            mean[ch] += x[ch * s..(ch + 1) * s]
                .iter()
                .map(|&v| v as f64)
                .sum::<f64>();
        }
    }
    mean.iter_mut().for_each(|v| *v /= m);
    for x in xs {
        for ch in 0..c {
            let mu = mean[ch];
            var[ch] += x[ch * s..(ch + 1) * s]
                .iter()
                .map(|&v| (v as f64 - mu).powi(2))
                .sum::<f64>();
        }
    }
    var.iter_mut().for_each(|v| *v /= m);
    (mean, var)
}

/// Normalises one sample `[c][s]`: `xhat = (x − mean)/sqrt(var + eps)`, `y = γ·xhat + β`.
#[allow(clippy::too_many_arguments)]
pub fn bn_apply(
    x: &[f32],
    mean: &[f32],
    var: &[f32],
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
    xhat: &mut [f32],
    y: &mut [f32],
) {
    let c = gamma.len();
    let s = x.len() / c;
    for ch in 0..c {
        let inv = 1.0 / (var[ch] + eps).sqrt();
        for i in ch * s..(ch + 1) * s {
            let h = (x[i] - mean[ch]) * inv;
            xhat[i] = h;
            y[i] = gamma[ch] * h + beta[ch];
        }
    }
}

/// Batch sums of the batch-norm backward: per channel `Σ dy` and `Σ dy·xhat` (these are also
/// dβ and dγ).
pub fn bn_grad_sums(dys: &[&[f32]], xhats: &[&[f32]], c: usize) -> (Vec<f64>, Vec<f64>) {
    let s = dys[0].len() / c;
    let mut sdy = vec![0f64; c];
    let mut sdyx = vec![0f64; c];
    for (dy, xh) in dys.iter().zip(xhats) {
        for ch in 0..c {
            for i in ch * s..(ch + 1) * s {
                sdy[ch] += dy[i] as f64;
                sdyx[ch] += dy[i] as f64 * xh[i] as f64;
            }
        }
    }
    (sdy, sdyx)
}

/// Training-mode batch-norm backward for one sample, given the batch sums of
/// [`bn_grad_sums`] over `m` = samples × voxels values per channel:
/// `dx = γ/σ · (dy − Σdy/m − xhat·Σ(dy·xhat)/m)`.
#[allow(clippy::too_many_arguments)]
pub fn bn_backward_sample(
    dy: &[f32],
    xhat: &[f32],
    gamma: &[f32],
    var: &[f32],
    eps: f32,
    sums: (&[f64], &[f64]),
    m: f64,
    dx: &mut [f32],
) {
    let c = gamma.len();
    let s = dy.len() / c;
    for ch in 0..c {
        let k = gamma[ch] / (var[ch] + eps).sqrt();
        let a = (sums.0[ch] / m) as f32;
        let b = (sums.1[ch] / m) as f32;
        for i in ch * s..(ch + 1) * s {
            dx[i] = k * (dy[i] - a - xhat[i] * b);
        }
    }
}

/// Dense layer `y[o] = Σ_i w[o][i]·x[i] + bias[o]`.
pub fn dense_forward(x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32]) {
    let nin = x.len();
    assert!(w.len() == nin * bias.len() && y.len() == bias.len());
    for (o, yo) in y.iter_mut().enumerate() {
        let row = &w[o * nin..(o + 1) * nin];
        *yo = bias[o] + row.iter().zip(x).map(|(a, b)| a * b).sum::<f32>();
    }
}

/// Backward of [`dense_forward`]: `dw += dy ⊗ x`, `dbias += dy`, and `dx = wᵀ·dy` when asked.
pub fn dense_backward(
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    dw: &mut [f32],
    dbias: &mut [f32],
    dx: Option<&mut [f32]>,
) {
    let nin = x.len();
    for (o, &g) in dy.iter().enumerate() {
        dbias[o] += g;
        if g != 0.0 {
            for (d, &xi) in dw[o * nin..(o + 1) * nin].iter_mut().zip(x) {
                *d += g * xi;
            }
        }
    }
    if let Some(dx) = dx {
        dx.fill(0.0);
        for (o, &g) in dy.iter().enumerate() {
            if g != 0.0 {
                for (d, &wi) in dx.iter_mut().zip(&w[o * nin..(o + 1) * nin]) {
                    *d += g * wi;
                }
            }
        }
    }
}

/// Binary cross-entropy of `sigmoid(logit)` against `label` ∈ {0, 1}, computed from the logit
/// without overflow: `max(o,0) − o·y + ln(1 + e^{−|o|})`. Returns (loss, dloss/dlogit).
pub fn bce_with_logit(logit: f32, label: f32) -> (f32, f32) {
    let o = logit as f64;
    let y = label as f64;
    let loss = o.max(0.0) - o * y + (-o.abs()).exp().ln_1p();
    (loss as f32, (sigmoid(o) - y) as f32)
}

/// The logistic function, stable for large |x|.
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}
