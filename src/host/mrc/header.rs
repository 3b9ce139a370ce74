//! The 1024-byte MRC2014 header: decoding with validation, and encoding for the writer.
//!
//! Field offsets follow the CCP-EM MRC2014 description. All multi-byte fields are decoded with an
//! explicit byte order so the reader works on files from either endianness.
use crate::host::{Error, Result};

/// Size of the fixed main header in bytes.
pub const HEADER_LEN: usize = 1024;
/// NVERSION written by our writer (MRC2014, update 1).
pub const NVERSION: i32 = 20141;
/// Largest accepted edge length. Anything bigger is treated as a corrupt header rather than
/// trusted (16 Mi voxels along one axis is far beyond any tomogram).
pub const MAX_DIM: usize = 1 << 24;
/// IMOD's header stamp ("IMOD" read as a little-endian i32 in the `extra` field).
const IMOD_STAMP: i32 = 1_146_047_817;

/// Data modes this crate understands. Values are the MRC `MODE` codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MrcMode {
    /// Mode 0: 8-bit integers (signed per MRC2014; unsigned in old IMOD files, see reader docs).
    Int8,
    /// Mode 1: 16-bit signed integers.
    Int16,
    /// Mode 2: 32-bit IEEE floats.
    Float32,
    /// Mode 6: 16-bit unsigned integers.
    Uint16,
    /// Mode 12: 16-bit IEEE half floats.
    Float16,
}

impl MrcMode {
    /// Mode for an MRC `MODE` code, `None` for codes we do not read (complex, 4-bit, …).
    pub fn from_code(code: i32) -> Option<Self> {
        Some(match code {
            0 => MrcMode::Int8,
            1 => MrcMode::Int16,
            2 => MrcMode::Float32,
            6 => MrcMode::Uint16,
            12 => MrcMode::Float16,
            _ => return None,
        })
    }

    /// The MRC `MODE` code.
    pub fn code(self) -> i32 {
        match self {
            MrcMode::Int8 => 0,
            MrcMode::Int16 => 1,
            MrcMode::Float32 => 2,
            MrcMode::Uint16 => 6,
            MrcMode::Float16 => 12,
        }
    }

    /// Bytes per voxel.
    pub fn bytes(self) -> usize {
        match self {
            MrcMode::Int8 => 1,
            MrcMode::Int16 | MrcMode::Uint16 | MrcMode::Float16 => 2,
            MrcMode::Float32 => 4,
        }
    }

    /// Human-readable name, as `misalign info` prints it.
    pub fn name(self) -> &'static str {
        match self {
            MrcMode::Int8 => "int8",
            MrcMode::Int16 => "int16",
            MrcMode::Float32 => "float32",
            MrcMode::Uint16 => "uint16",
            MrcMode::Float16 => "float16",
        }
    }
}

/// Byte order of the numbers in a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteOrder {
    /// Little-endian (MACHST `44 44` or `44 41`).
    Little,
    /// Big-endian (MACHST `11 11`).
    Big,
}

impl ByteOrder {
    /// "little" or "big".
    pub fn name(self) -> &'static str {
        match self {
            ByteOrder::Little => "little",
            ByteOrder::Big => "big",
        }
    }

    fn i32(self, b: &[u8], off: usize) -> i32 {
        let a = [b[off], b[off + 1], b[off + 2], b[off + 3]];
        match self {
            ByteOrder::Little => i32::from_le_bytes(a),
            ByteOrder::Big => i32::from_be_bytes(a),
        }
    }

    fn f32(self, b: &[u8], off: usize) -> f32 {
        f32::from_bits(self.i32(b, off) as u32)
    }
}

/// A decoded and validated MRC header.
///
/// `file_dims` are in file order (columns, rows, sections); [`MrcHeader::dims`] gives them in
/// `[x, y, z]` order after applying MAPC/MAPR/MAPS.
#[derive(Clone, Debug, PartialEq)]
pub struct MrcHeader {
    /// NX, NY, NZ: columns, rows, sections as stored.
    pub file_dims: [usize; 3],
    /// Data mode.
    pub mode: MrcMode,
    /// NXSTART, NYSTART, NZSTART.
    pub start: [i32; 3],
    /// MX, MY, MZ: grid sampling along X, Y, Z.
    pub grid: [i32; 3],
    /// CELLA: cell edge lengths along X, Y, Z in Å.
    pub cell: [f32; 3],
    /// CELLB: cell angles in degrees.
    pub cell_angles: [f32; 3],
    /// MAPC, MAPR, MAPS: which axis (1 = X, 2 = Y, 3 = Z) runs along columns, rows, sections.
    /// Files with all three zero are read as 1, 2, 3.
    pub axis_map: [u8; 3],
    /// DMIN, DMAX, DMEAN as stored (may be meaningless; `misalign info` also computes them).
    pub dmin: f32,
    /// DMAX as stored.
    pub dmax: f32,
    /// DMEAN as stored.
    pub dmean: f32,
    /// RMS as stored (standard deviation from the mean in MRC2014).
    pub rms: f32,
    /// ISPG (space group; 0 = image stack, 1 = volume).
    pub ispg: i32,
    /// NSYMBT: bytes of extended header between the main header and the data.
    pub ext_header_len: usize,
    /// EXTTYP, e.g. `FEI1`, `CCP4` (raw 4 bytes as text, may be empty).
    pub ext_type: String,
    /// NVERSION.
    pub nversion: i32,
    /// ORIGIN (X, Y, Z) in Å.
    pub origin: [f32; 3],
    /// Raw MACHST bytes.
    pub machine_stamp: [u8; 4],
    /// Byte order actually used to decode the file.
    pub byte_order: ByteOrder,
    /// `true` when mode-0 bytes are unsigned (old IMOD files; see the reader docs).
    pub unsigned_bytes: bool,
    /// The text labels (NLABL of them, trailing spaces removed).
    pub labels: Vec<String>,
}

impl MrcHeader {
    /// `[nx, ny, nz]` in x, y, z order (file dims permuted by MAPC/MAPR/MAPS).
    pub fn dims(&self) -> [usize; 3] {
        let mut d = [0; 3];
        for (i, &ax) in self.axis_map.iter().enumerate() {
            d[ax as usize - 1] = self.file_dims[i];
        }
        d
    }

    /// Voxel size `[x, y, z]` in Å: CELLA / MX per axis, 0 when MX is 0 or the cell is unset.
    pub fn voxel_size(&self) -> [f32; 3] {
        [0, 1, 2].map(|i| {
            let s = self.cell[i] / self.grid[i] as f32;
            if self.grid[i] > 0 && s.is_finite() && s > 0.0 {
                s
            } else {
                0.0
            }
        })
    }

    /// `true` when the file is stored x fastest, then y, then z.
    pub fn is_standard_order(&self) -> bool {
        self.axis_map == [1, 2, 3]
    }

    /// Offset of the first data byte.
    pub fn data_offset(&self) -> u64 {
        HEADER_LEN as u64 + self.ext_header_len as u64
    }

    /// Number of data bytes (checked at decode time not to overflow).
    pub fn data_len(&self) -> u64 {
        self.file_dims.iter().map(|&d| d as u64).product::<u64>() * self.mode.bytes() as u64
    }

    /// Decodes and validates a header; `file_len` is the file size, `name` names the file in
    /// errors. Fails (without allocating anything sized by the header) on unknown modes,
    /// impossible dimensions, bad axis maps, size overflow and truncated files.
    pub fn decode(b: &[u8; HEADER_LEN], file_len: u64, name: &str) -> Result<Self> {
        let bad = |m: String| Error::Format(format!("{name}: {m}"));
        let order = detect_byte_order(b);
        let i = |off| order.i32(b, off);
        let f = |off| order.f32(b, off);
        let raw_dims = [i(0), i(4), i(8)];
        let mut file_dims = [0usize; 3];
        for (k, &d) in raw_dims.iter().enumerate() {
            if d <= 0 || d as usize > MAX_DIM {
                return Err(bad(format!(
                    "impossible dimensions {}×{}×{} (each must be 1..={MAX_DIM})",
                    raw_dims[0], raw_dims[1], raw_dims[2]
                )));
            }
            file_dims[k] = d as usize;
        }
        let code = i(12);
        let mode = MrcMode::from_code(code).ok_or_else(|| {
            bad(format!(
                "unsupported MRC mode {code} (supported: 0 int8, 1 int16, 2 float32, 6 uint16, 12 float16)"
            ))
        })?;
        let raw_map = [i(64), i(68), i(72)];
        let axis_map = match raw_map {
            [0, 0, 0] => [1, 2, 3],
            [a, b2, c] => {
                let mut sorted = [a, b2, c];
                sorted.sort_unstable();
                if sorted != [1, 2, 3] {
                    return Err(bad(format!(
                        "MAPC/MAPR/MAPS = {a},{b2},{c} is not a permutation of 1,2,3"
                    )));
                }
                [a as u8, b2 as u8, c as u8]
            }
        };
        let nsymbt = i(92);
        if nsymbt < 0 {
            return Err(bad(format!(
                "negative extended header size NSYMBT = {nsymbt}"
            )));
        }
        let ext_header_len = nsymbt as usize;
        // Sizes in u128: 3 × 24 bits + 2 bits cannot overflow; everything is compared with the
        // file size before any buffer sized by the header exists.
        let voxels: u128 = file_dims.iter().map(|&d| d as u128).product();
        let needed = HEADER_LEN as u128 + ext_header_len as u128 + voxels * mode.bytes() as u128;
        if usize::try_from(voxels).is_err() {
            return Err(bad(format!("{voxels} voxels do not fit in memory indices")));
        }
        let file_len = file_len as u128;
        if file_len < needed {
            return Err(bad(format!(
                "truncated: header promises {}×{}×{} {} voxels plus {} extended-header bytes \
                 ({needed} bytes) but the file has {file_len} bytes",
                file_dims[0],
                file_dims[1],
                file_dims[2],
                mode.name(),
                ext_header_len
            )));
        }
        let nlabl = i(220).clamp(0, 10) as usize;
        let labels = (0..nlabl)
            .map(|k| {
                let s = &b[224 + 80 * k..224 + 80 * (k + 1)];
                String::from_utf8_lossy(s)
                    .trim_end_matches(['\0', ' '])
                    .to_string()
            })
            .collect();
        // IMOD wrote unsigned bytes until it adopted the signed MRC2014 convention, and marks
        // signed files with bit 0 of its flags; without the IMOD stamp we follow MRC2014.
        let unsigned_bytes = mode == MrcMode::Int8 && i(152) == IMOD_STAMP && i(156) & 1 == 0;
        Ok(MrcHeader {
            file_dims,
            mode,
            start: [i(16), i(20), i(24)],
            grid: [i(28), i(32), i(36)],
            cell: [f(40), f(44), f(48)],
            cell_angles: [f(52), f(56), f(60)],
            axis_map,
            dmin: f(76),
            dmax: f(80),
            dmean: f(84),
            rms: f(216),
            ispg: i(88),
            ext_header_len,
            ext_type: String::from_utf8_lossy(&b[104..108])
                .trim_end_matches(['\0', ' '])
                .to_string(),
            nversion: i(108),
            origin: [f(196), f(200), f(204)],
            machine_stamp: [b[212], b[213], b[214], b[215]],
            byte_order: order,
            unsigned_bytes,
            labels,
        })
    }

    /// Encodes the header little-endian (the writer's only byte order). Labels beyond 10 and
    /// characters beyond 80 per label are dropped.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        let put_i = |b: &mut [u8; HEADER_LEN], off: usize, v: i32| {
            b[off..off + 4].copy_from_slice(&v.to_le_bytes())
        };
        for k in 0..3 {
            put_i(&mut b, 4 * k, self.file_dims[k] as i32);
            put_i(&mut b, 16 + 4 * k, self.start[k]);
            put_i(&mut b, 28 + 4 * k, self.grid[k]);
            put_i(&mut b, 64 + 4 * k, self.axis_map[k] as i32);
        }
        put_i(&mut b, 12, self.mode.code());
        put_i(&mut b, 88, self.ispg);
        put_i(&mut b, 92, self.ext_header_len as i32);
        put_i(&mut b, 108, self.nversion);
        let nlabl = self.labels.len().min(10);
        put_i(&mut b, 220, nlabl as i32);
        let put_f = |b: &mut [u8; HEADER_LEN], off: usize, v: f32| {
            b[off..off + 4].copy_from_slice(&v.to_le_bytes())
        };
        for k in 0..3 {
            put_f(&mut b, 40 + 4 * k, self.cell[k]);
            put_f(&mut b, 52 + 4 * k, self.cell_angles[k]);
            put_f(&mut b, 196 + 4 * k, self.origin[k]);
        }
        put_f(&mut b, 76, self.dmin);
        put_f(&mut b, 80, self.dmax);
        put_f(&mut b, 84, self.dmean);
        put_f(&mut b, 216, self.rms);
        let ext = self.ext_type.as_bytes();
        b[104..104 + ext.len().min(4)].copy_from_slice(&ext[..ext.len().min(4)]);
        b[208..212].copy_from_slice(b"MAP ");
        b[212..216].copy_from_slice(&[0x44, 0x44, 0, 0]);
        for (k, l) in self.labels.iter().take(10).enumerate() {
            let off = 224 + 80 * k;
            // Labels are printable ASCII padded with spaces (what mrcfile and IMOD write).
            b[off..off + 80].fill(b' ');
            for (j, c) in l.bytes().take(80).enumerate() {
                b[off + j] = if c.is_ascii_graphic() || c == b' ' {
                    c
                } else {
                    b'?'
                };
            }
        }
        b
    }
}

/// Picks the byte order: trusted MACHST first, otherwise whichever order makes the mode known
/// and the dimensions plausible (many real files carry a zero stamp).
fn detect_byte_order(b: &[u8; HEADER_LEN]) -> ByteOrder {
    let plausible = |o: ByteOrder| {
        let dims_ok = [0, 4, 8]
            .iter()
            .all(|&off| (1..=MAX_DIM as i64).contains(&(o.i32(b, off) as i64)));
        dims_ok && MrcMode::from_code(o.i32(b, 12)).is_some()
    };
    let stamped = match b[212] {
        0x44 => Some(ByteOrder::Little),
        0x11 => Some(ByteOrder::Big),
        _ => None,
    };
    if let Some(o) = stamped {
        // A stamp that contradicts the numbers loses; a stamp that agrees (or a header that is
        // bad either way) wins so the error message reports the stamped interpretation.
        let other = match o {
            ByteOrder::Little => ByteOrder::Big,
            ByteOrder::Big => ByteOrder::Little,
        };
        if !plausible(o) && plausible(other) {
            return other;
        }
        return o;
    }
    // Neither plausible either: decode little-endian so the caller reports the bad field.
    if !plausible(ByteOrder::Little) && plausible(ByteOrder::Big) {
        ByteOrder::Big
    } else {
        ByteOrder::Little
    }
}
