//! Portable reference kernel: plain loops over fixed sizes (the compiler may auto-vectorise the
//! channel loop). Every other kernel is tested against this one.

/// See [`super::conv_pool_row`]; lengths are checked by the caller.
pub(super) fn conv_pool_row<const CI: usize, const CO: usize, const E: usize, const P: usize>(
    panel: &[f32],
    valid: &[bool; 9],
    w: &[f32],
    bias: &[f32],
    pooled: &mut [f32],
) {
    let row_len = (E + 2) * CI;
    for x in 0..E {
        let mut acc = [0.0f32; CO];
        acc.copy_from_slice(bias);
        for (r, _) in valid.iter().enumerate().filter(|(_, &v)| v) {
            let prow = &panel[r * row_len..(r + 1) * row_len];
            for dx in 0..3 {
                let px = &prow[(x + dx) * CI..(x + dx + 1) * CI];
                let wt = &w[(r * 3 + dx) * CI * CO..(r * 3 + dx + 1) * CI * CO];
                for (ci, &p) in px.iter().enumerate() {
                    let wrow = &wt[ci * CO..(ci + 1) * CO];
                    for (a, &wv) in acc.iter_mut().zip(wrow) {
                        *a += p * wv;
                    }
                }
            }
        }
        let dst = &mut pooled[(x / P) * CO..(x / P + 1) * CO];
        for (m, &v) in dst.iter_mut().zip(&acc) {
            // Branch-free so the loop vectorises; inputs are finite (checked by the caller).
            *m = m.max(v);
        }
    }
}

#[cfg(test)]
super::suite::kernel_tests!(Some(Backend::scalar()));
