//! The MRC reader: the input is 6 bytes choosing a block, then an MRC file. Whatever the mode,
//! byte order or axis order, a block read must give exactly the voxels of the whole-volume read
//! (bit for bit), and so must a slice.
#![no_main]
use libfuzzer_sys::fuzz_target;
use misalign::host::mrc::MrcFile;
use misalign::host::SliceSource;
use misalign_fuzz::scratch_file;

/// Bytes before the file: origin and size of the block, one byte per axis each.
const SPEC: usize = 6;

fuzz_target!(|bytes: &[u8]| {
    if bytes.len() < SPEC {
        return;
    }
    let (spec, file) = bytes.split_at(SPEC);
    let path = scratch_file("reader.mrc", file);
    let Ok(mrc) = MrcFile::open(&path) else {
        return;
    };
    let vol = mrc
        .read_volume()
        .expect("a file whose header was accepted must read completely");
    let dims = vol.dims;
    assert_eq!(vol.data.len(), dims.iter().product::<usize>());

    let origin = [0, 1, 2].map(|k| usize::from(spec[k]) % dims[k]);
    let size = [0, 1, 2].map(|k| 1 + usize::from(spec[3 + k]) % (dims[k] - origin[k]));
    let mut block = vec![0f32; size.iter().product()];
    mrc.read_block(origin, size, &mut block)
        .expect("a block inside the volume must read");
    let mut i = 0;
    for z in 0..size[2] {
        for y in 0..size[1] {
            for x in 0..size[0] {
                let v = vol.get(origin[0] + x, origin[1] + y, origin[2] + z);
                assert_eq!(block[i].to_bits(), v.to_bits(), "block voxel {x},{y},{z}");
                i += 1;
            }
        }
    }

    let z = origin[2];
    let mut slice = vec![0f32; dims[0] * dims[1]];
    mrc.read_slice(z, &mut slice).expect("slice read");
    assert!(slice
        .iter()
        .zip(vol.slice(z))
        .all(|(a, b)| a.to_bits() == b.to_bits()));

    // A block that does not fit is an error, not a panic or an out-of-bounds write.
    let mut one = [0f32; 1];
    assert!(mrc
        .read_block([dims[0], 0, 0], [1, 1, 1], &mut one)
        .is_err());
    assert!(mrc.read_block([0, 0, 0], [1, 1, 2], &mut one).is_err());
});
