//! Pass 1: stream the tomogram, preprocess every slice (Z window → band-pass → Laplacian) on
//! worker threads and collect each slice's dark-outlier regions.
//!
//! Slices are processed in fixed pairs (2q, 2q+1), packed into one complex FFT, whatever the
//! thread count; workers take consecutive pairs of a batch and the results are stored by slice
//! index, so the output is bitwise identical for any number of threads. While the workers run,
//! the calling thread reads the next batch's slices, so I/O overlaps the filtering. Memory: a
//! ring of the raw slices the current batch needs (2·threads + 4), the next batch's new slices
//! (2·threads) and per-worker scratch.
use std::collections::VecDeque;

use super::assemble::Cand2;
use crate::detect::{bandpass::BandPass, label, laplace, zwin, Complex32};
use crate::host::alloc::zeroed;
use crate::host::fft::RustFft;
use crate::host::{report_progress, Error, Progress, Result, SliceSource};

/// Circularity (area / minimum-enclosing-circle area) a 2D region needs.
pub const MIN_CIRCULARITY: f64 = 0.75;

/// What pass 1 hands on.
pub struct SliceOutput {
    /// Candidates per slice.
    pub candidates: Vec<Vec<Cand2>>,
    /// Threshold used (central-slab mode), else NaN.
    pub threshold: f64,
}

/// How the dark-outlier threshold μ − k·σ gets its statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThresholdMode {
    /// One μ, σ from the central `number_samp_slices` preprocessed slices (clamped to the
    /// volume), like the original but without its vanishing slab.
    CentralSlab,
    /// Each slice's own μ, σ (the paper's description).
    PerSlice,
}

struct Worker {
    a: Vec<f32>,
    b: Vec<f32>,
    spec: Vec<Complex32>,
    lap: Vec<f32>,
    labels: Vec<u32>,
    queue: Vec<u32>,
    fft: RustFft,
}

struct Ring {
    first: usize,
    slices: VecDeque<Vec<f32>>,
    spare: Vec<Vec<f32>>,
    /// Slices read ahead (in order, starting right after the ring's last one) while the
    /// workers were busy with the previous batch.
    ahead: VecDeque<(usize, Vec<f32>)>,
}

/// Per-slice result: (Σv, Σv², voxel count of the statistics, candidates).
type SliceResult = (f64, f64, usize, Vec<Cand2>);

pub(super) struct Pass<'a> {
    pub src: &'a dyn SliceSource,
    pub bp: BandPass,
    pub threads: usize,
    pub min_area: usize,
    pub sd_thr: f64,
    pub mode: ThresholdMode,
    pub samp_slices: usize,
    /// Border frame (px) left out of the threshold statistics: its candidates are discarded
    /// anyway, and beads cut by the slice edge ring strongly in the band-pass.
    pub frame: usize,
}

impl Pass<'_> {
    fn dims(&self) -> [usize; 3] {
        self.src.dims()
    }

    /// Makes the ring hold raw slices lo..=hi, taking read-ahead slices first and reading
    /// (and checking) what is still missing.
    fn fill_ring(&self, ring: &mut Ring, lo: usize, hi: usize) -> Result<()> {
        if lo < ring.first || lo > ring.first + ring.slices.len() {
            ring.spare.extend(ring.slices.drain(..));
            ring.first = lo;
        }
        while ring.first < lo {
            if let Some(s) = ring.slices.pop_front() {
                ring.spare.push(s);
            }
            ring.first += 1;
        }
        while ring.first + ring.slices.len() <= hi {
            let z = ring.first + ring.slices.len();
            let buf = match ring.ahead.front() {
                Some((k, _)) if *k == z => ring.ahead.pop_front().expect("front exists").1,
                _ => {
                    let buf = ring.spare.pop();
                    self.read_checked(z, buf)?
                }
            };
            ring.slices.push_back(buf);
        }
        // Read-ahead that the ring skipped over (it never does in one sequential run).
        while let Some((k, buf)) = ring.ahead.pop_front() {
            if k > hi {
                ring.ahead.push_front((k, buf));
                break;
            }
            ring.spare.push(buf);
        }
        Ok(())
    }

    /// Reads slice `z` into `buf` (or a new buffer) and rejects non-finite voxels.
    fn read_checked(&self, z: usize, buf: Option<Vec<f32>>) -> Result<Vec<f32>> {
        let [nx, ny, _] = self.dims();
        let mut buf = match buf {
            Some(b) => b,
            None => zeroed(nx * ny, "a tomogram slice")?,
        };
        self.src.read_slice(z, &mut buf)?;
        super::check_finite_slice(z, nx, &buf)?;
        Ok(buf)
    }

    /// The raw slices lo..=hi that batch `q..q + batch` of pairs needs.
    fn batch_slices(&self, q: usize, batch: usize) -> (usize, usize) {
        let nz = self.dims()[2];
        let lo = (2 * q).saturating_sub(zwin::Z_HALF);
        let hi = (2 * (q + batch) - 1 + zwin::Z_HALF).min(nz - 1);
        (lo, hi)
    }

    /// Processes pairs `pairs` and calls `sink(slice, result)` in slice order on the calling
    /// thread (an error from it stops the pass). With
    /// `threshold = None` in central-slab mode only the statistics are computed.
    fn run(
        &self,
        pairs: std::ops::Range<usize>,
        threshold: Option<f32>,
        workers: &mut [Worker],
        ring: &mut Ring,
        sink: &mut dyn FnMut(usize, SliceResult) -> Result<()>,
    ) -> Result<()> {
        let [nx, ny, nz] = self.dims();
        let mut q = pairs.start;
        while q < pairs.end {
            let batch = (pairs.end - q).min(workers.len());
            let (lo, hi) = self.batch_slices(q, batch);
            self.fill_ring(ring, lo, hi)?;
            // While the workers run, this thread reads the next batch's new slices.
            let next = q + batch;
            let to_read = if next < pairs.end {
                let (nlo, nhi) = self.batch_slices(next, (pairs.end - next).min(workers.len()));
                nlo.max(hi + 1)..nhi + 1
            } else {
                0..0
            };
            let Ring {
                first,
                slices,
                spare,
                ahead,
            } = ring;
            let view = (*first, &*slices);
            let (results, read_ahead) = std::thread::scope(|s| {
                let handles: Vec<_> = workers[..batch]
                    .iter_mut()
                    .enumerate()
                    .map(|(i, w)| {
                        let pair = q + i;
                        s.spawn(move || self.work(w, pair, threshold, view, nx, ny, nz))
                    })
                    .collect();
                let read_ahead: Result<()> = to_read.clone().try_for_each(|z| {
                    let buf = self.read_checked(z, spare.pop())?;
                    ahead.push_back((z, buf));
                    Ok(())
                });
                let results: Vec<Result<Vec<(usize, SliceResult)>>> = handles
                    .into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| {
                            Err(Error::Invalid(
                                "fiducial detector: a worker thread panicked".into(),
                            ))
                        })
                    })
                    .collect();
                (results, read_ahead)
            });
            for r in results {
                for (k, res) in r? {
                    sink(k, res)?;
                }
            }
            // A read error surfaces once this batch's results are in, in slice order.
            read_ahead?;
            q = next;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn work(
        &self,
        w: &mut Worker,
        pair: usize,
        threshold: Option<f32>,
        (first, slices): (usize, &VecDeque<Vec<f32>>),
        nx: usize,
        ny: usize,
        nz: usize,
    ) -> Result<Vec<(usize, SliceResult)>> {
        let kerr = |what: &str, e| Error::Invalid(format!("fiducial detector: {what}: {e:?}"));
        let k0 = 2 * pair;
        let has_b = k0 + 1 < nz;
        for (k, out) in [(k0, &mut w.a), (k0 + 1, &mut w.b)] {
            if k >= nz {
                break;
            }
            let (f, l) = zwin::window(k, nz);
            let inputs: Vec<&[f32]> = (f..=l).map(|z| slices[z - first].as_slice()).collect();
            zwin::mean_of(&inputs, out).map_err(|e| kerr("Z window", e))?;
        }
        let b = if has_b {
            Some(w.b.as_mut_slice())
        } else {
            None
        };
        self.bp
            .apply_pair(&mut w.a, b, &mut w.spec, &mut w.fft)
            .map_err(|e| kerr("band-pass", e))?;
        let mut out = Vec::with_capacity(2);
        for (k, v) in [(k0, &mut w.a), (k0 + 1, &mut w.b)] {
            if k >= nz {
                break;
            }
            laplace::apply(v, nx, ny, &mut w.lap).map_err(|e| kerr("Laplacian", e))?;
            let f = self.frame.min(nx / 4).min(ny / 4);
            let (s1, s2, count) = clipped_sums(v, nx, ny, f);
            let t = match (self.mode, threshold) {
                (ThresholdMode::PerSlice, _) => {
                    let n = count.max(1) as f64;
                    let mu = s1 / n;
                    let sd = (s2 / n - mu * mu).max(0.0).sqrt();
                    (sd > 0.0).then_some((mu - self.sd_thr * sd) as f32)
                }
                (ThresholdMode::CentralSlab, t) => t,
            };
            let mut cands = Vec::new();
            if let Some(t) = t {
                let min_area = self.min_area.max(1);
                label::label_regions(v, nx, ny, t, min_area, &mut w.labels, &mut w.queue, |r| {
                    if r.area >= min_area && r.circularity >= MIN_CIRCULARITY {
                        cands.push(Cand2 {
                            x: r.cx,
                            y: r.cy,
                            area: r.area,
                        });
                    }
                })
                .map_err(|e| kerr("labelling", e))?;
            }
            out.push((k, (s1, s2, count, cands)));
        }
        Ok(out)
    }
}

/// Runs pass 1 over the whole source.
pub(super) fn slice_candidates(pass: &Pass, progress: Option<Progress<'_>>) -> Result<SliceOutput> {
    let [nx, ny, nz] = pass.dims();
    let n = nx * ny;
    let threads = pass.threads.max(1);
    // Every worker owns a few slice-sized buffers: the memory that grows with the thread count.
    let mut workers: Vec<Worker> = (0..threads)
        .map(|_| -> Result<Worker> {
            Ok(Worker {
                a: zeroed(n, "a detector slice buffer")?,
                b: zeroed(n, "a detector slice buffer")?,
                spec: zeroed(pass.bp.scratch_len(), "the band-pass spectrum")?,
                lap: zeroed(laplace::scratch_len(nx), "the Laplacian scratch")?,
                labels: zeroed(label::buffer_len(nx, ny), "the label map")?,
                queue: zeroed(label::buffer_len(nx, ny), "the labelling queue")?,
                fft: RustFft::default(),
            })
        })
        .collect::<Result<_>>()?;
    let mut ring = Ring {
        first: 0,
        slices: VecDeque::new(),
        spare: Vec::new(),
        ahead: VecDeque::new(),
    };
    let npairs = nz.div_ceil(2);
    let mut threshold = f64::NAN;
    let mut t32 = None;
    if pass.mode == ThresholdMode::CentralSlab {
        // The slab: the central `number_samp_slices` slices, clamped to [1, nz].
        let (s0, s1) = pass_slab(nz, pass.samp_slices);
        let (mut sum, mut sum2, mut count) = (0.0f64, 0.0f64, 0usize);
        pass.run(
            s0 / 2..(s1 - 1) / 2 + 1,
            None,
            &mut workers,
            &mut ring,
            &mut |k, (a, b, c, _)| {
                if (s0..s1).contains(&k) {
                    sum += a;
                    sum2 += b;
                    count += c;
                }
                Ok(())
            },
        )?;
        let mu = sum / count.max(1) as f64;
        let sd = (sum2 / count.max(1) as f64 - mu * mu).max(0.0).sqrt();
        threshold = mu - pass.sd_thr * sd;
        // A flat slab (constant volume) has no outliers at all.
        t32 = (sd > 0.0 && threshold.is_finite()).then_some(threshold as f32);
        report_progress(progress, 0.05)?;
        if t32.is_none() {
            return Ok(SliceOutput {
                candidates: vec![Vec::new(); nz],
                threshold,
            });
        }
    }
    let mut candidates = vec![Vec::new(); nz];
    let mut done = 0usize;
    let mut sink = |k: usize, (_, _, _, c): SliceResult| {
        candidates[k] = c;
        done += 1;
        report_progress(progress, 0.05 + 0.75 * done as f32 / nz as f32)
    };
    pass.run(0..npairs, t32, &mut workers, &mut ring, &mut sink)?;
    Ok(SliceOutput {
        candidates,
        threshold,
    })
}

/// Slab [start, end) of `n` slices centred on the middle of `nz`, clamped to 1 … nz slices.
pub fn pass_slab(nz: usize, n: usize) -> (usize, usize) {
    let n = n.clamp(1, nz);
    let start = (nz / 2).saturating_sub(n / 2).min(nz - n);
    (start, start + n)
}

/// Σv, Σv² and the count over the slice interior (a frame of `f` px left out), after one
/// 3σ clipping round: bead pixels are the outliers being looked for, so they must not inflate
/// the σ that defines them (with several beads per slice they otherwise raise it by 30 % or
/// more). The clipped σ of pure Gaussian noise is 1.3 % low, which is negligible here.
fn clipped_sums(v: &[f32], nx: usize, ny: usize, f: usize) -> (f64, f64, usize) {
    let width = nx - 2 * f;
    let rows = || {
        v[f * nx..(ny - f) * nx]
            .chunks_exact(nx)
            .map(|r| &r[f..nx - f])
    };
    // Per-column f32 accumulators (a column holds at most ny values), summed in f64 at the
    // end: element-wise adds vectorise, a running scalar sum would not.
    let total = |lo: f32, hi: f32| {
        let (mut s, mut q, mut n) = (
            vec![0.0f32; width],
            vec![0.0f32; width],
            vec![0.0f32; width],
        );
        for row in rows() {
            for (((s, q), n), &x) in s.iter_mut().zip(q.iter_mut()).zip(n.iter_mut()).zip(row) {
                let keep = x >= lo && x <= hi;
                let v = if keep { x } else { 0.0 };
                *s += v;
                *q += v * v;
                *n += if keep { 1.0 } else { 0.0 };
            }
        }
        let sum = |a: &[f32]| a.iter().map(|&x| x as f64).sum::<f64>();
        (sum(&s), sum(&q), sum(&n) as usize)
    };
    let (s1, s2, n) = total(f32::NEG_INFINITY, f32::INFINITY);
    if n == 0 {
        return (0.0, 0.0, 0);
    }
    let mu = s1 / n as f64;
    let sd = (s2 / n as f64 - mu * mu).max(0.0).sqrt();
    total((mu - 3.0 * sd) as f32, (mu + 3.0 * sd) as f32)
}
