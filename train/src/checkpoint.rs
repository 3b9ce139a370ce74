//! Training checkpoints (parameters, Adam state, step, RNG) and the cached data set, both in a
//! small little-endian binary format written atomically.
use std::path::Path;

use half::f16;
use misalign::host::fsutil::{write_atomic, write_atomic_with};
use misalign::host::{Error, Result};
use misalign::net::topology::{CUBE_LEN, PARAM_COUNT};

use crate::adam::Adam;
use crate::data::{plan, Dataset};
use misalign::rng::Rng;

const CKPT_MAGIC: &[u8; 8] = b"MLTRCKP1";
// Version 2: cubes drawn from misalign::rng (a cache made with the trainer's former generator
// is regenerated, not mixed into a run of the new one).
const DATA_MAGIC: &[u8; 8] = b"MLTRDAT2";

/// Everything needed to resume a run exactly.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// Steps completed.
    pub step: u64,
    /// Batch sampler RNG. It draws only integers (no Box–Muller pair is ever pending), so its
    /// four state words are its whole state.
    pub rng: Rng,
    /// Parameters in `TENSORS` order (moving statistics included).
    pub params: Vec<f32>,
    /// Optimiser state.
    pub adam: Adam,
}

fn put_f32s(out: &mut Vec<u8>, v: &[f32]) {
    v.iter()
        .for_each(|x| out.extend_from_slice(&x.to_le_bytes()));
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
    what: String,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        if self.at + n > self.b.len() {
            return Err(Error::Format(format!(
                "{}: truncated at byte {}",
                self.what, self.at
            )));
        }
        self.at += n;
        Ok(&self.b[self.at - n..self.at])
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    fn f32(&mut self) -> Result<f32> {
        Ok(f32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn f32s(&mut self, n: usize) -> Result<Vec<f32>> {
        (0..n).map(|_| self.f32()).collect()
    }
}

impl Checkpoint {
    /// Serialises the checkpoint.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut o = Vec::with_capacity(16 + 3 * 4 * PARAM_COUNT + 64);
        o.extend_from_slice(CKPT_MAGIC);
        o.extend_from_slice(&(PARAM_COUNT as u64).to_le_bytes());
        o.extend_from_slice(&self.step.to_le_bytes());
        self.rng
            .state()
            .iter()
            .for_each(|w| o.extend_from_slice(&w.to_le_bytes()));
        o.extend_from_slice(&self.adam.t.to_le_bytes());
        for x in [
            self.adam.lr,
            self.adam.beta1,
            self.adam.beta2,
            self.adam.eps,
        ] {
            o.extend_from_slice(&x.to_le_bytes());
        }
        put_f32s(&mut o, &self.params);
        put_f32s(&mut o, &self.adam.m);
        put_f32s(&mut o, &self.adam.v);
        o
    }

    /// Parses bytes written by [`Checkpoint::to_bytes`]; `what` names the source in errors.
    pub fn from_bytes(b: &[u8], what: &str) -> Result<Self> {
        let mut r = Reader {
            b,
            at: 0,
            what: what.to_string(),
        };
        if r.take(8)? != CKPT_MAGIC {
            return Err(Error::Format(format!(
                "{what}: not a misalign-train checkpoint"
            )));
        }
        let n = r.u64()? as usize;
        if n != PARAM_COUNT {
            return Err(Error::Format(format!(
                "{what}: {n} parameters, expected {PARAM_COUNT}"
            )));
        }
        let step = r.u64()?;
        let mut s = [0u64; 4];
        for w in &mut s {
            *w = r.u64()?;
        }
        let t = r.u64()?;
        let (lr, beta1, beta2, eps) = (r.f32()?, r.f32()?, r.f32()?, r.f32()?);
        let params = r.f32s(n)?;
        let m = r.f32s(n)?;
        let v = r.f32s(n)?;
        if r.at != b.len() {
            return Err(Error::Format(format!(
                "{what}: {} trailing bytes",
                b.len() - r.at
            )));
        }
        if params.iter().chain(&m).chain(&v).any(|x| !x.is_finite()) {
            return Err(Error::Format(format!("{what}: non-finite values")));
        }
        Ok(Checkpoint {
            step,
            rng: Rng::from_state(s),
            params,
            adam: Adam {
                lr,
                beta1,
                beta2,
                eps,
                m,
                v,
                t,
            },
        })
    }

    /// Writes the checkpoint atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomic(path, &self.to_bytes())
    }

    /// Reads a checkpoint.
    pub fn load(path: &Path) -> Result<Self> {
        let b =
            std::fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        Self::from_bytes(&b, &path.display().to_string())
    }
}

/// Writes a data set (seed, count, f16 cubes) atomically; class/kind follow from [`plan`].
pub fn save_dataset(ds: &Dataset, seed: u64, path: &Path) -> Result<()> {
    write_atomic_with(path, |w| {
        w.write_all(DATA_MAGIC)?;
        w.write_all(&seed.to_le_bytes())?;
        w.write_all(&(ds.len() as u64).to_le_bytes())?;
        for chunk in ds.cubes.chunks(1 << 16) {
            let bytes: Vec<u8> = chunk
                .iter()
                .flat_map(|v| v.to_bits().to_le_bytes())
                .collect();
            w.write_all(&bytes)?;
        }
        Ok(())
    })
}

/// Reads a cached data set if it exists and was made with `seed` and `n` items.
pub fn load_dataset(path: &Path, seed: u64, n: usize) -> Result<Option<Dataset>> {
    let b = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
    };
    let mut r = Reader {
        b: &b,
        at: 0,
        what: path.display().to_string(),
    };
    if r.take(8)? != DATA_MAGIC || r.u64()? != seed || r.u64()? as usize != n {
        return Ok(None);
    }
    let raw = r.take(n * CUBE_LEN * 2)?;
    let cubes = raw
        .chunks_exact(2)
        .map(|c| f16::from_bits(u16::from_le_bytes([c[0], c[1]])))
        .collect();
    let (class, kind) = (0..n).map(plan).unzip();
    Ok(Some(Dataset { cubes, class, kind }))
}
