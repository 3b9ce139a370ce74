//! From per-slice 2D candidates to 3D candidates: slice-to-slice voting, chain linking and
//! duplicate merging.

// Index loops read like the geometry they implement.
#![allow(clippy::needless_range_loop)]

/// One 2D candidate: region centroid (pixels, real) and area.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cand2 {
    pub x: f64,
    pub y: f64,
    pub area: usize,
}

#[inline]
fn near(a: &Cand2, b: &Cand2, r2: f64) -> bool {
    let (dx, dy) = (a.x - b.x, a.y - b.y);
    dx * dx + dy * dy < r2
}

/// Removes candidates without a neighbour closer than `r` in the slice above or below,
/// repeating with fresh counts until a pass removes nothing (the paper's iteration; the
/// original never reset its counters, so it stopped after one pass). Returns the survivors.
pub fn vote(slices: &mut [Vec<Cand2>], r: f64) -> usize {
    let r2 = r * r;
    loop {
        let keep: Vec<Vec<bool>> = (0..slices.len())
            .map(|k| {
                slices[k]
                    .iter()
                    .map(|c| {
                        let below = k > 0 && slices[k - 1].iter().any(|o| near(c, o, r2));
                        let above = slices
                            .get(k + 1)
                            .is_some_and(|s| s.iter().any(|o| near(c, o, r2)));
                        below || above
                    })
                    .collect()
            })
            .collect();
        let mut removed = 0;
        for (s, k) in slices.iter_mut().zip(keep) {
            let before = s.len();
            let mut it = k.into_iter();
            s.retain(|_| it.next().unwrap_or(false));
            removed += before - s.len();
        }
        if removed == 0 {
            return slices.iter().map(Vec::len).sum();
        }
    }
}

/// Links candidates of consecutive slices into chains (each candidate joins the chain of the
/// nearest candidate closer than `r` in the slice below, else starts a new chain) and returns
/// each chain's area-weighted centre of mass `[x, y, z]`, in chain-creation order.
pub fn chains(slices: &[Vec<Cand2>], r: f64) -> Vec<[f64; 3]> {
    let r2 = r * r;
    let mut ids: Vec<Vec<usize>> = Vec::with_capacity(slices.len());
    let mut sums: Vec<[f64; 4]> = Vec::new();
    for (k, s) in slices.iter().enumerate() {
        let mut here = Vec::with_capacity(s.len());
        for c in s {
            let mut best: Option<(f64, usize)> = None;
            if k > 0 {
                for (o, &id) in slices[k - 1].iter().zip(&ids[k - 1]) {
                    let d2 = (c.x - o.x).powi(2) + (c.y - o.y).powi(2);
                    if d2 < r2 && best.map_or(true, |(b, _)| d2 < b) {
                        best = Some((d2, id));
                    }
                }
            }
            let id = match best {
                Some((_, id)) => id,
                None => {
                    sums.push([0.0; 4]);
                    sums.len() - 1
                }
            };
            let a = c.area as f64;
            let acc = &mut sums[id];
            acc[0] += a * c.x;
            acc[1] += a * c.y;
            acc[2] += a * k as f64;
            acc[3] += a;
            here.push(id);
        }
        ids.push(here);
    }
    sums.iter()
        .map(|s| [s[0] / s[3], s[1] / s[3], s[2] / s[3]])
        .collect()
}

/// Merges points closer than `radius` (strict, single linkage) into their cluster mean. The
/// output keeps the order of each cluster's first member.
pub fn merge(points: &[[f64; 3]], radius: f64) -> Vec<[f64; 3]> {
    let n = points.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(p: &mut [usize], mut i: usize) -> usize {
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    let r2 = radius * radius;
    for i in 0..n {
        for j in (i + 1)..n {
            let d2: f64 = (0..3).map(|a| (points[i][a] - points[j][a]).powi(2)).sum();
            if d2 < r2 {
                let (ri, rj) = (root(&mut parent, i), root(&mut parent, j));
                if ri != rj {
                    parent[ri.max(rj)] = ri.min(rj);
                }
            }
        }
    }
    let mut sums: Vec<([f64; 3], usize)> = vec![([0.0; 3], 0); n];
    for i in 0..n {
        let r = root(&mut parent, i);
        for a in 0..3 {
            sums[r].0[a] += points[i][a];
        }
        sums[r].1 += 1;
    }
    (0..n)
        .filter(|&i| parent[i] == i)
        .map(|i| {
            let (s, c) = sums[i];
            [s[0] / c as f64, s[1] / c as f64, s[2] / c as f64]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(x: f64, y: f64) -> Cand2 {
        Cand2 { x, y, area: 1 }
    }

    #[test]
    fn voting_iterates_with_fresh_counts() {
        // Slice 0: a lone pair partner; slice 1: supported only by slice 0's point, which is
        // itself supported only by it: both survive. A chain end at slice 3 supported only by
        // slice 2's point survives; an isolated point disappears.
        let mut s = vec![
            vec![c(5.0, 5.0)],
            vec![c(5.5, 5.0), c(50.0, 50.0)],
            vec![],
            vec![],
        ];
        assert_eq!(vote(&mut s, 2.0), 2);
        assert_eq!(s[1], vec![c(5.5, 5.0)]);
    }

    #[test]
    fn chains_average_and_merge_uses_true_means() {
        let s = vec![
            vec![c(1.0, 1.0)],
            vec![c(1.0, 2.0), c(9.0, 9.0)],
            vec![c(1.0, 3.0)],
        ];
        let ch = chains(&s, 2.0);
        assert_eq!(ch, vec![[1.0, 2.0, 1.0], [9.0, 9.0, 1.0]]);
        let m = merge(
            &[[0.0; 3], [1.0, 0.0, 0.0], [2.0, 0.0, 0.0], [10.0, 0.0, 0.0]],
            1.5,
        );
        assert_eq!(m, vec![[1.0, 0.0, 0.0], [10.0, 0.0, 0.0]]);
    }
}
