//! Small MRC files written by the Python `mrcfile` package (tests/fixtures/mrc/, generated once;
//! see the regeneration snippet in docs/formats.md). Every file encodes
//! value(x, y, z) = 100·z + 10·y + x (times a per-file scale/offset) on a 4×3×2 grid with voxel
//! size 1.5 × 2.5 × 3.5 Å, so the expected data are computed here independently.
use misalign::host::mrc::{ByteOrder, MrcFile, MrcMode};
use misalign::host::SliceSource;

fn fixture(name: &str) -> MrcFile {
    MrcFile::open(format!(
        "{}/tests/fixtures/mrc/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn expected(scale: f32, offset: f32) -> Vec<f32> {
    let mut v = Vec::new();
    for z in 0..2 {
        for y in 0..3 {
            for x in 0..4 {
                v.push((100 * z + 10 * y + x) as f32 * scale + offset);
            }
        }
    }
    v
}

#[test]
fn files_written_by_mrcfile() {
    let cases = [
        ("int8_le.mrc", MrcMode::Int8, ByteOrder::Little, 0, 1.0, 0.0),
        (
            "int16_be.mrc",
            MrcMode::Int16,
            ByteOrder::Big,
            0,
            1.0,
            -60.0,
        ),
        (
            "float32_be.mrc",
            MrcMode::Float32,
            ByteOrder::Big,
            0,
            0.25,
            0.0,
        ),
        (
            "uint16_ext.mrc",
            MrcMode::Uint16,
            ByteOrder::Little,
            128,
            1.0,
            0.0,
        ),
        (
            "float16_le.mrc",
            MrcMode::Float16,
            ByteOrder::Little,
            0,
            0.5,
            0.0,
        ),
        (
            "float32_mapc312.mrc",
            MrcMode::Float32,
            ByteOrder::Little,
            0,
            1.0,
            0.0,
        ),
    ];
    for (name, mode, order, ext, scale, offset) in cases {
        let f = fixture(name);
        let h = f.header();
        assert_eq!(h.mode, mode, "{name}");
        assert_eq!(h.byte_order, order, "{name}");
        assert_eq!(h.ext_header_len, ext, "{name}");
        assert_eq!(f.dims(), [4, 3, 2], "{name}");
        assert_eq!(f.voxel_size(), [1.5, 2.5, 3.5], "{name}");
        let want = expected(scale, offset);
        assert_eq!(f.read_volume().unwrap().data, want, "{name}");
        let mut s = vec![0.0; 12];
        f.read_slice(1, &mut s).unwrap();
        assert_eq!(&s[..], &want[12..], "{name}");
    }
    assert_eq!(fixture("float32_mapc312.mrc").header().file_dims, [2, 4, 3]);
}
