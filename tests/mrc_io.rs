//! MRC reader/writer tests. Headers are built byte by byte here, independently of the crate's
//! own encoder, so a shared misunderstanding of the layout cannot hide.
use std::path::PathBuf;

use misalign::host::mrc::{
    read_volume, write_volume, ByteOrder, MrcFile, MrcMode, MrcWriter, HEADER_LEN,
};
use misalign::host::{SliceSource, Volume};

fn tmp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("misalign-mrc-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Hand-made header builder: field offsets written out literally from the MRC2014 table.
struct Hdr {
    b: Vec<u8>,
    big: bool,
}

impl Hdr {
    fn new(dims: [i32; 3], mode: i32, big: bool) -> Hdr {
        let mut h = Hdr {
            b: vec![0u8; 1024],
            big,
        };
        h.i(0, dims[0]).i(4, dims[1]).i(8, dims[2]).i(12, mode);
        h.i(28, dims[0]).i(32, dims[1]).i(36, dims[2]);
        h.i(64, 1).i(68, 2).i(72, 3);
        h.b[208..212].copy_from_slice(b"MAP ");
        let stamp: [u8; 4] = if big {
            [0x11, 0x11, 0, 0]
        } else {
            [0x44, 0x44, 0, 0]
        };
        h.b[212..216].copy_from_slice(&stamp);
        h
    }
    fn i(&mut self, off: usize, v: i32) -> &mut Self {
        let bytes = if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.b[off..off + 4].copy_from_slice(&bytes);
        self
    }
    fn f(&mut self, off: usize, v: f32) -> &mut Self {
        self.i(off, v.to_bits() as i32)
    }
}

/// Encodes values in the given mode and byte order (independent encoder).
fn encode(mode: i32, big: bool, vals: &[f32]) -> Vec<u8> {
    let mut out = Vec::new();
    for &v in vals {
        match mode {
            0 => out.push(v as i8 as u8),
            1 => {
                let x = v as i16;
                out.extend(if big {
                    x.to_be_bytes()
                } else {
                    x.to_le_bytes()
                })
            }
            6 => {
                let x = v as u16;
                out.extend(if big {
                    x.to_be_bytes()
                } else {
                    x.to_le_bytes()
                })
            }
            12 => {
                let x = half::f16::from_f32(v).to_bits();
                out.extend(if big {
                    x.to_be_bytes()
                } else {
                    x.to_le_bytes()
                })
            }
            2 => out.extend(if big {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }),
            _ => unreachable!(),
        }
    }
    out
}

fn write_file(path: &PathBuf, header: &Hdr, ext: &[u8], data: &[u8]) {
    let mut all = header.b.clone();
    all.extend_from_slice(ext);
    all.extend_from_slice(data);
    std::fs::write(path, all).unwrap();
}

/// Values exactly representable in every mode (small integers, non-negative for uint16).
fn test_values(n: usize, signed: bool) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let v = (i * 7 % 23) as f32;
            if signed {
                v - 11.0
            } else {
                v
            }
        })
        .collect()
}

#[test]
fn every_mode_both_byte_orders_and_ext_header() {
    let dir = tmp_dir("modes");
    let dims = [5, 4, 3];
    for &mode in &[0, 1, 2, 6, 12] {
        for &big in &[false, true] {
            for &ext_len in &[0usize, 96] {
                let vals = test_values(60, mode != 6);
                let mut h = Hdr::new(dims, mode, big);
                h.i(92, ext_len as i32);
                h.f(40, 5.0 * 2.5).f(44, 4.0 * 2.5).f(48, 3.0 * 3.5);
                let p = dir.join(format!("m{mode}-{big}-{ext_len}.mrc"));
                write_file(&p, &h, &vec![0xAB; ext_len], &encode(mode, big, &vals));
                let f = MrcFile::open(&p).unwrap();
                let hd = f.header();
                assert_eq!(hd.dims(), [5, 4, 3]);
                assert_eq!(hd.mode.code(), mode);
                assert_eq!(hd.ext_header_len, ext_len);
                let want = if big {
                    ByteOrder::Big
                } else {
                    ByteOrder::Little
                };
                assert_eq!(hd.byte_order, want);
                assert_eq!(f.voxel_size(), [2.5, 2.5, 3.5]);
                let v = f.read_volume().unwrap();
                assert_eq!(v.data, vals, "mode {mode} big {big} ext {ext_len}");
                let mut s = vec![0.0; 20];
                f.read_slice(2, &mut s).unwrap();
                assert_eq!(&s[..], &vals[40..60]);
            }
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_stamp_falls_back_to_plausible_order() {
    let dir = tmp_dir("stamp");
    for &big in &[false, true] {
        let mut h = Hdr::new([3, 2, 2], 2, big);
        h.b[212..216].fill(0);
        let vals: Vec<f32> = (0..12).map(|v| v as f32 * 0.5).collect();
        let p = dir.join(format!("s{big}.mrc"));
        write_file(&p, &h, &[], &encode(2, big, &vals));
        let f = MrcFile::open(&p).unwrap();
        assert_eq!(f.header().byte_order == ByteOrder::Big, big);
        assert_eq!(f.read_volume().unwrap().data, vals);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn zero_grid_gives_zero_voxel_size() {
    let dir = tmp_dir("mx0");
    let mut h = Hdr::new([2, 2, 2], 2, false);
    h.i(28, 0).f(40, 10.0).f(44, 10.0).f(48, 10.0);
    let p = dir.join("a.mrc");
    write_file(&p, &h, &[], &[0u8; 32]);
    assert_eq!(MrcFile::open(&p).unwrap().voxel_size(), [0.0, 5.0, 5.0]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Every non-standard axis order: a file whose columns/rows/sections run along permuted axes
/// must come back in [x, y, z] order. Reference: value = 100·x + 10·y + z computed per voxel.
#[test]
fn non_standard_axis_orders() {
    let dir = tmp_dir("axes");
    let xyz = [4usize, 3, 2];
    let perms = [
        [1, 2, 3],
        [1, 3, 2],
        [2, 1, 3],
        [2, 3, 1],
        [3, 1, 2],
        [3, 2, 1],
    ];
    for perm in perms {
        // File axis k (col, row, sec) runs along xyz axis perm[k]-1.
        let fdims = [0, 1, 2].map(|k| xyz[perm[k] - 1]);
        let mut vals = Vec::new();
        for s in 0..fdims[2] {
            for r in 0..fdims[1] {
                for c in 0..fdims[0] {
                    let mut p = [0usize; 3];
                    p[perm[0] - 1] = c;
                    p[perm[1] - 1] = r;
                    p[perm[2] - 1] = s;
                    vals.push((100 * p[0] + 10 * p[1] + p[2]) as f32);
                }
            }
        }
        let mut h = Hdr::new(fdims.map(|d| d as i32), 2, false);
        h.i(64, perm[0] as i32)
            .i(68, perm[1] as i32)
            .i(72, perm[2] as i32);
        let p = dir.join(format!("p{perm:?}.mrc"));
        write_file(&p, &h, &[], &encode(2, false, &vals));
        let f = MrcFile::open(&p).unwrap();
        assert_eq!(f.dims(), xyz, "{perm:?}");
        let v = f.read_volume().unwrap();
        for z in 0..2 {
            for y in 0..3 {
                for x in 0..4 {
                    assert_eq!(v.get(x, y, z), (100 * x + 10 * y + z) as f32, "{perm:?}");
                }
            }
        }
        let mut blk = vec![0.0; 2 * 2];
        f.read_block([1, 1, 1], [2, 2, 1], &mut blk).unwrap();
        assert_eq!(blk, vec![111.0, 211.0, 121.0, 221.0], "{perm:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sub_blocks_match_the_whole_volume() {
    let dir = tmp_dir("block");
    let dims = [7usize, 6, 5];
    let data: Vec<f32> = (0..210).map(|v| (v as f32).sin()).collect();
    let vol = Volume::from_data(dims, [1.0; 3], data).unwrap();
    let p = dir.join("b.mrc");
    write_volume(&p, &vol, MrcMode::Float32).unwrap();
    let f = MrcFile::open(&p).unwrap();
    for (o, n) in [
        ([0, 0, 0], [7, 6, 5]),
        ([2, 1, 3], [3, 4, 2]),
        ([6, 5, 4], [1, 1, 1]),
        // Whole rows from an inner y and z: the direct (no staging buffer) float32 path.
        ([0, 2, 1], [7, 3, 3]),
    ] {
        let mut out = vec![0.0; n[0] * n[1] * n[2]];
        f.read_block(o, n, &mut out).unwrap();
        let mut k = 0;
        for z in 0..n[2] {
            for y in 0..n[1] {
                for x in 0..n[0] {
                    assert_eq!(out[k], vol.get(o[0] + x, o[1] + y, o[2] + z));
                    k += 1;
                }
            }
        }
    }
    let mut out = vec![0.0; 8];
    assert!(f.read_block([6, 0, 0], [2, 2, 2], &mut out).is_err());
    assert!(f.read_block([0, 0, 0], [2, 2, 1], &mut out).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn writer_round_trip_and_header_fields() {
    let dir = tmp_dir("rt");
    let dims = [9usize, 8, 7];
    let data: Vec<f32> = (0..504)
        .map(|v| ((v * 37 % 101) as f32 - 50.0) * 0.25)
        .collect();
    let vol = Volume::from_data(dims, [2.0, 2.0, 3.0], data.clone()).unwrap();
    for mode in [MrcMode::Float32, MrcMode::Float16] {
        let p = dir.join(format!("{}.mrc", mode.name()));
        write_volume(&p, &vol, mode).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(bytes.len(), HEADER_LEN + 504 * mode.bytes());
        let rd = |off: usize| i32::from_le_bytes(bytes[off..off + 4].try_into().unwrap());
        let rf = |off: usize| f32::from_bits(rd(off) as u32);
        assert_eq!([rd(0), rd(4), rd(8)], [9, 8, 7]);
        assert_eq!(rd(12), mode.code());
        assert_eq!([rd(28), rd(32), rd(36)], [9, 8, 7]);
        assert_eq!([rf(40), rf(44), rf(48)], [18.0, 16.0, 21.0]);
        assert_eq!([rd(64), rd(68), rd(72)], [1, 2, 3]);
        assert_eq!(rd(108), 20141);
        assert_eq!(&bytes[208..212], b"MAP ");
        assert_eq!(&bytes[212..214], &[0x44, 0x44]);
        // Independent f64 statistics (all values are exact in float16 too: multiples of 0.25).
        let n = data.len() as f64;
        let mean = data.iter().map(|&v| v as f64).sum::<f64>() / n;
        let sd = (data.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
        assert_eq!(rf(76), -12.5);
        assert_eq!(rf(80), 12.5);
        assert!((rf(84) as f64 - mean).abs() < 1e-5);
        assert!((rf(216) as f64 - sd).abs() < 1e-5);
        let back = read_volume(&p).unwrap();
        assert_eq!(back.dims, dims);
        assert_eq!(back.voxel_size, [2.0, 2.0, 3.0]);
        assert_eq!(back.data, data);
    }
    // No temporaries left behind.
    let names: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(names.len(), 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn writer_rejects_bad_input_and_leaves_no_file() {
    let dir = tmp_dir("wbad");
    let p = dir.join("x.mrc");
    let nan = Volume::from_data([2, 1, 1], [1.0; 3], vec![0.0, f32::NAN]).unwrap();
    assert!(write_volume(&p, &nan, MrcMode::Float32).is_err());
    let big = Volume::from_data([2, 1, 1], [1.0; 3], vec![0.0, 1e6]).unwrap();
    assert!(write_volume(&p, &big, MrcMode::Float16).is_err());
    assert!(write_volume(&p, &big, MrcMode::Int16).is_err());
    let mut w = MrcWriter::create(&p, [2, 2, 2], [1.0; 3], MrcMode::Float32).unwrap();
    w.write_slice(&[1.0; 4]).unwrap();
    assert!(w.write_slice(&[1.0; 3]).is_err());
    assert!(
        w.finish().is_err(),
        "finishing with a missing slice must fail"
    );
    let w = MrcWriter::create(&p, [2, 2, 2], [1.0; 3], MrcMode::Float32).unwrap();
    drop(w);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn streaming_writer_matches_whole_writer() {
    let dir = tmp_dir("stream");
    let dims = [6usize, 5, 4];
    let data: Vec<f32> = (0..120).map(|v| (v as f32 * 0.37).cos() * 3.0).collect();
    let vol = Volume::from_data(dims, [1.5; 3], data).unwrap();
    write_volume(dir.join("a.mrc"), &vol, MrcMode::Float32).unwrap();
    let mut w = MrcWriter::create(dir.join("b.mrc"), dims, [1.5; 3], MrcMode::Float32).unwrap();
    for z in 0..4 {
        w.write_slice(vol.slice(z)).unwrap();
    }
    w.finish().unwrap();
    assert_eq!(
        std::fs::read(dir.join("a.mrc")).unwrap(),
        std::fs::read(dir.join("b.mrc")).unwrap()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_files_are_errors_naming_the_file() {
    let dir = tmp_dir("bad");
    let cases: Vec<(&str, Hdr, usize)> = vec![
        ("trunc", Hdr::new([10, 10, 10], 2, false), 3999),
        ("mode", Hdr::new([2, 2, 2], 3, false), 64),
        ("mode99", Hdr::new([2, 2, 2], 99, false), 64),
        ("zero", Hdr::new([0, 2, 2], 2, false), 64),
        ("neg", Hdr::new([-5, 2, 2], 2, false), 64),
        (
            "huge",
            Hdr::new([i32::MAX, i32::MAX, i32::MAX], 2, false),
            64,
        ),
        (
            "overflowish",
            Hdr::new([1 << 24, 1 << 24, 1 << 24], 2, false),
            64,
        ),
        (
            "bigext",
            {
                let mut h = Hdr::new([2, 2, 2], 2, false);
                h.i(92, i32::MAX);
                h
            },
            32,
        ),
        (
            "negext",
            {
                let mut h = Hdr::new([2, 2, 2], 2, false);
                h.i(92, -4);
                h
            },
            32,
        ),
        (
            "axes",
            {
                let mut h = Hdr::new([2, 2, 2], 2, false);
                h.i(64, 1).i(68, 1).i(72, 3);
                h
            },
            32,
        ),
    ];
    for (name, h, data_len) in cases {
        let p = dir.join(format!("{name}.mrc"));
        write_file(&p, &h, &[], &vec![0u8; data_len]);
        let e = MrcFile::open(&p).expect_err(name).to_string();
        assert!(e.contains(&format!("{name}.mrc")), "{name}: {e}");
    }
    let short = dir.join("short.mrc");
    std::fs::write(&short, [0u8; 100]).unwrap();
    assert!(MrcFile::open(&short).is_err());
    assert!(MrcFile::open(dir.join("missing.mrc")).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn concurrent_slice_reads() {
    let dir = tmp_dir("threads");
    let dims = [16usize, 8, 12];
    let data: Vec<f32> = (0..dims[0] * dims[1] * dims[2]).map(|v| v as f32).collect();
    let vol = Volume::from_data(dims, [1.0; 3], data).unwrap();
    write_volume(dir.join("t.mrc"), &vol, MrcMode::Float32).unwrap();
    let f = MrcFile::open(dir.join("t.mrc")).unwrap();
    std::thread::scope(|s| {
        for t in 0..4 {
            let (f, vol) = (&f, &vol);
            s.spawn(move || {
                let mut buf = vec![0.0; 128];
                for z in (t..12).step_by(4) {
                    f.read_slice(z, &mut buf).unwrap();
                    assert_eq!(&buf[..], vol.slice(z));
                }
            });
        }
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Mode 0: signed per MRC2014, unsigned in old IMOD files (IMOD stamp with flag bit 0 clear).
#[test]
fn mode0_signedness_follows_imod_flags() {
    let dir = tmp_dir("mode0");
    let raw = [0u8, 1, 127, 128, 200, 255];
    for (flags, want) in [
        (None, [0.0, 1.0, 127.0, -128.0, -56.0, -1.0]),
        (Some(1), [0.0, 1.0, 127.0, -128.0, -56.0, -1.0]),
        (Some(0), [0.0, 1.0, 127.0, 128.0, 200.0, 255.0]),
    ] {
        let mut h = Hdr::new([6, 1, 1], 0, false);
        if let Some(f) = flags {
            h.i(152, 1_146_047_817).i(156, f);
        }
        let p = dir.join(format!("m0-{flags:?}.mrc"));
        write_file(&p, &h, &[], &raw);
        assert_eq!(read_volume(&p).unwrap().data, want, "flags {flags:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
