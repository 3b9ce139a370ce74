//! Lazy, thread-safe MRC reader: positioned reads of only the rows a caller asks for.
use std::fs::File;
use std::path::{Path, PathBuf};

use super::header::{ByteOrder, MrcHeader, MrcMode, HEADER_LEN};
use crate::host::{Error, Result, SliceSource, Volume};

/// Upper bound on the raw bytes read in one call, so a slice of a huge tomogram does not need a
/// second slice-sized byte buffer.
const CHUNK_BYTES: usize = 1 << 22;

/// An open MRC file. Holds only the header and the file handle; data is read on demand.
///
/// `Sync`: several threads may call [`MrcFile::read_slice`] / [`MrcFile::read_block`] at once
/// (positioned reads on unix; a mutex-guarded seek elsewhere).
///
/// Axis order: files stored with MAPC/MAPR/MAPS other than 1,2,3 are returned in `[x, y, z]`
/// order too. They take the general route: every needed file row is read separately and its
/// values are scattered to their x/y/z place, which is correct but slower (when the x axis is
/// the file's section axis, a slice costs one tiny read per file row).
#[derive(Debug)]
pub struct MrcFile {
    path: PathBuf,
    header: MrcHeader,
    file: Handle,
}

/// The file handle, readable at an offset through `&self`.
#[derive(Debug)]
struct Handle {
    #[cfg(unix)]
    file: File,
    #[cfg(not(unix))]
    file: std::sync::Mutex<File>,
}

impl Handle {
    fn new(file: File) -> Self {
        Handle {
            #[cfg(unix)]
            file,
            #[cfg(not(unix))]
            file: std::sync::Mutex::new(file),
        }
    }

    /// The file's current size.
    fn len(&self) -> std::io::Result<u64> {
        #[cfg(unix)]
        let meta = self.file.metadata();
        #[cfg(not(unix))]
        let meta = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .metadata();
        meta.map(|m| m.len())
    }

    #[cfg(unix)]
    fn read_exact_at(&self, buf: &mut [u8], off: u64) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt;
        self.file.read_exact_at(buf, off)
    }

    #[cfg(not(unix))]
    fn read_exact_at(&self, buf: &mut [u8], off: u64) -> std::io::Result<()> {
        use std::io::{Read, Seek, SeekFrom};
        let mut f = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f.seek(SeekFrom::Start(off))?;
        f.read_exact(buf)
    }
}

impl MrcFile {
    /// Opens `path` and validates its header against the file size. Nothing sized by the
    /// header is allocated before validation succeeds.
    pub fn open(path: impl AsRef<Path>) -> Result<MrcFile> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let file = crate::host::fsutil::open_regular(path)?;
        let len = file
            .metadata()
            .map_err(|e| Error::io(format!("reading size of {name}"), e))?
            .len();
        if len < HEADER_LEN as u64 {
            return Err(Error::Format(format!(
                "{name}: truncated: {len} bytes, shorter than the 1024-byte MRC header"
            )));
        }
        let file = Handle::new(file);
        let mut raw = [0u8; HEADER_LEN];
        file.read_exact_at(&mut raw, 0)
            .map_err(|e| Error::io(format!("reading header of {name}"), e))?;
        let header = MrcHeader::decode(&raw, len, &name)?;
        Ok(MrcFile {
            path: path.to_path_buf(),
            header,
            file,
        })
    }

    /// The decoded header.
    pub fn header(&self) -> &MrcHeader {
        &self.header
    }

    /// The path the file was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the block starting at voxel `origin` (`[x, y, z]`) of `size` voxels into `out`
    /// (x fastest, `out.len()` = product of `size`). Only the file rows that intersect the block
    /// are read. The block must lie inside the volume.
    pub fn read_block(&self, origin: [usize; 3], size: [usize; 3], out: &mut [f32]) -> Result<()> {
        let dims = self.header.dims();
        let fits = (0..3)
            .all(|k| size[k] > 0 && origin[k].checked_add(size[k]).is_some_and(|e| e <= dims[k]));
        let count = size[0]
            .checked_mul(size[1])
            .and_then(|v| v.checked_mul(size[2]));
        if !fits || count != Some(out.len()) {
            return Err(Error::Invalid(format!(
                "{}: block at {origin:?} of size {size:?} (buffer {}) does not fit the {}×{}×{} volume",
                self.path.display(),
                out.len(),
                dims[0],
                dims[1],
                dims[2]
            )));
        }
        if self.header.is_standard_order() {
            self.read_block_standard(origin, size, out)
        } else {
            self.read_block_permuted(origin, size, out)
        }
    }

    /// x fastest in the file: rows are contiguous in `out`; full-width rows are merged.
    fn read_block_standard(&self, o: [usize; 3], n: [usize; 3], out: &mut [f32]) -> Result<()> {
        let [nx, ny, _] = self.header.file_dims;
        let bpv = self.header.mode.bytes();
        let native = match self.header.byte_order {
            ByteOrder::Little => cfg!(target_endian = "little"),
            ByteOrder::Big => cfg!(target_endian = "big"),
        };
        if self.header.mode == MrcMode::Float32 && native && o[0] == 0 && n[0] == nx {
            // The common case (float32 in the host's byte order, whole rows): read straight
            // into `out`, one read per section, with no staging buffer and no decode pass.
            for z in 0..n[2] {
                let first = ((o[2] + z) * ny + o[1]) * nx;
                let dst = &mut out[z * n[1] * nx..(z + 1) * n[1] * nx];
                let off = self.header.data_offset() + first as u64 * 4;
                self.file
                    .read_exact_at(bytemuck::cast_slice_mut(dst), off)
                    .map_err(|e| self.data_error(off, e))?;
            }
            return Ok(());
        }
        let full_rows = o[0] == 0 && n[0] == nx;
        let rows_per_read = if full_rows {
            (CHUNK_BYTES / (nx * bpv)).clamp(1, n[1])
        } else {
            1
        };
        let mut raw = vec![0u8; rows_per_read * n[0] * bpv];
        for z in 0..n[2] {
            let mut y = 0;
            while y < n[1] {
                let rows = rows_per_read.min(n[1] - y);
                let vox = rows * n[0];
                let first = ((o[2] + z) * ny + o[1] + y) * nx + o[0];
                let dst = (z * n[1] + y) * n[0];
                self.read_voxels(first, &mut raw[..vox * bpv], &mut out[dst..dst + vox])?;
                y += rows;
            }
        }
        Ok(())
    }

    /// Any MAPC/MAPR/MAPS: map the x/y/z block to file ranges, read file rows, scatter values.
    fn read_block_permuted(&self, o: [usize; 3], n: [usize; 3], out: &mut [f32]) -> Result<()> {
        let fd = self.header.file_dims;
        let bpv = self.header.mode.bytes();
        // axis[k] = which x/y/z axis runs along file axis k (columns, rows, sections).
        let axis = self.header.axis_map.map(|a| a as usize - 1);
        let fo = axis.map(|a| o[a]);
        let fnn = axis.map(|a| n[a]);
        // Stride in `out` of one step along each x/y/z axis.
        let stride = [1, n[0], n[0] * n[1]];
        let fstride = axis.map(|a| stride[a]);
        let mut raw = vec![0u8; fnn[0] * bpv];
        let mut row = vec![0f32; fnn[0]];
        for s in 0..fnn[2] {
            for r in 0..fnn[1] {
                let first = ((fo[2] + s) * fd[1] + fo[1] + r) * fd[0] + fo[0];
                self.read_voxels(first, &mut raw, &mut row)?;
                let base = s * fstride[2] + r * fstride[1];
                for (c, &v) in row.iter().enumerate() {
                    out[base + c * fstride[0]] = v;
                }
            }
        }
        Ok(())
    }

    /// Reads `out.len()` consecutive voxels starting at file voxel index `first`.
    fn read_voxels(&self, first: usize, raw: &mut [u8], out: &mut [f32]) -> Result<()> {
        let h = &self.header;
        let off = h.data_offset() + first as u64 * h.mode.bytes() as u64;
        self.file
            .read_exact_at(raw, off)
            .map_err(|e| self.data_error(off, e))?;
        decode(h.mode, h.byte_order, h.unsigned_bytes, raw, out);
        Ok(())
    }

    /// A failed data read at byte `off`. The header was checked against the size at open, so
    /// an early end of file means the file shrank since (still being written, or cut).
    fn data_error(&self, off: u64, e: std::io::Error) -> Error {
        if e.kind() != std::io::ErrorKind::UnexpectedEof {
            return Error::io(
                format!("reading data of {} at byte {off}", self.path.display()),
                e,
            );
        }
        let h = &self.header;
        let found = self.file.len().map_or_else(
            |_| "fewer".into(),
            |l| l.saturating_sub(h.data_offset()).to_string(),
        );
        Error::Format(format!(
            "{} is truncated: expected {} bytes of voxel data, found {found} (was it still being \
             written?)",
            self.path.display(),
            h.data_len()
        ))
    }

    /// Reads the whole volume into memory.
    pub fn read_volume(&self) -> Result<Volume> {
        let dims = self.header.dims();
        let mut v = Volume::zeros(dims, self.header.voxel_size())?;
        self.read_block([0; 3], dims, &mut v.data)?;
        Ok(v)
    }
}

impl SliceSource for MrcFile {
    fn dims(&self) -> [usize; 3] {
        self.header.dims()
    }

    fn voxel_size(&self) -> [f32; 3] {
        self.header.voxel_size()
    }

    fn read_slice(&self, z: usize, out: &mut [f32]) -> Result<()> {
        let [nx, ny, _] = self.header.dims();
        self.read_block([0, 0, z], [nx, ny, 1], out)
    }

    fn read_block(&self, origin: [usize; 3], size: [usize; 3], out: &mut [f32]) -> Result<()> {
        // The inherent method: reads only the file rows that intersect the block.
        MrcFile::read_block(self, origin, size, out)
    }
}

/// Converts raw voxels of `mode` to f32.
fn decode(mode: MrcMode, order: ByteOrder, unsigned_bytes: bool, raw: &[u8], out: &mut [f32]) {
    let big = order == ByteOrder::Big;
    let u16_at = |c: &[u8]| {
        if big {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from_le_bytes([c[0], c[1]])
        }
    };
    match mode {
        MrcMode::Int8 if unsigned_bytes => {
            for (o, &b) in out.iter_mut().zip(raw) {
                *o = b as f32;
            }
        }
        MrcMode::Int8 => {
            for (o, &b) in out.iter_mut().zip(raw) {
                *o = b as i8 as f32;
            }
        }
        MrcMode::Int16 => {
            for (o, c) in out.iter_mut().zip(raw.chunks_exact(2)) {
                *o = u16_at(c) as i16 as f32;
            }
        }
        MrcMode::Uint16 => {
            for (o, c) in out.iter_mut().zip(raw.chunks_exact(2)) {
                *o = u16_at(c) as f32;
            }
        }
        MrcMode::Float16 => {
            for (o, c) in out.iter_mut().zip(raw.chunks_exact(2)) {
                *o = half::f16::from_bits(u16_at(c)).to_f32();
            }
        }
        MrcMode::Float32 => {
            for (o, c) in out.iter_mut().zip(raw.chunks_exact(4)) {
                let a = [c[0], c[1], c[2], c[3]];
                *o = if big {
                    f32::from_be_bytes(a)
                } else {
                    f32::from_le_bytes(a)
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::mrc::{write_volume, MrcMode};

    #[test]
    fn a_file_cut_after_open_says_it_is_truncated() {
        let path = std::env::temp_dir().join(format!("misalign-cut-{}.mrc", std::process::id()));
        let vol = Volume::zeros([8, 8, 4], [1.0; 3]).unwrap();
        write_volume(&path, &vol, MrcMode::Float32).unwrap();
        let mrc = MrcFile::open(&path).unwrap();
        let data = 8 * 8 * 4 * 4;
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(HEADER_LEN as u64 + 100)
            .unwrap();
        let e = mrc.read_volume().unwrap_err().to_string();
        let want = format!("is truncated: expected {data} bytes of voxel data, found 100");
        assert!(e.contains(&want), "{e}");
        let mut slice = vec![0.0; 64];
        assert!(mrc.read_slice(3, &mut slice).is_err());
        std::fs::remove_file(&path).unwrap();
    }
}
