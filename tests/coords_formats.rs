//! Coordinate formats: the Xmipp writer against the spec's examples byte for byte, tolerant
//! readers on hand-made files, and unit/origin conversions.
use std::path::PathBuf;

use misalign::host::coords::xmd::{read_xmd, write_xmd, xmd_text, MetaData, Value};
use misalign::host::coords::{
    read_coordinates, read_coordinates_as, write_coordinates, CoordContext, CoordFormat,
};

fn tmp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("misalign-coords-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

const HEAD: &str = "# XMIPP_STAR_1 * \n# \ndata_noname\nloop_\n";

#[test]
fn xmd_detector_output_matches_spec_5_1() {
    let want = format!(
        "{HEAD} _xcoor\n _ycoor\n _zcoor\n                 211                  873                   97 \n                 604                  150                  102 \n                 955                  612                   88 \n"
    );
    let dir = tmp_dir("x51");
    let p = dir.join("tomo.xmd");
    let pts = [
        [211.7, 873.2, 97.9],
        [604.0, 150.5, 102.1],
        [955.3, 612.0, 88.99],
    ];
    write_coordinates(&p, &pts, CoordFormat::Xmd, &CoordContext::default()).unwrap();
    assert_eq!(std::fs::read_to_string(&p).unwrap(), want);
    // 7 lines of header before the rows: the Scipion reader skips exactly 7.
    assert_eq!(
        want.lines().take_while(|l| !l.starts_with("   ")).count(),
        7
    );
    let back = read_coordinates(&p, &CoordContext::default()).unwrap();
    assert_eq!(
        back,
        vec![
            [211.0, 873.0, 97.0],
            [604.0, 150.0, 102.0],
            [955.0, 612.0, 88.0]
        ]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn xmd_eleven_columns_in_enum_order_spec_5_2() {
    let want = format!(
        "{HEAD} _anglePsi\n _angleRot\n _angleTilt\n _flip\n _itemId\n _shiftX\n _shiftY\n _shiftZ\n _xcoor\n _ycoor\n _zcoor\n    0.000000     0.000000     0.000000 0                    1     0.000000     0.000000     0.000000                  211                  873                   97 \n    0.000000     0.000000     0.000000 0                    2     0.000000     0.000000     0.000000                  604                  150                  102 \n"
    );
    // Labels given in a scrambled order: the writer must sort them into Xmipp's enum order.
    let labels = [
        "xcoor",
        "shiftZ",
        "itemId",
        "anglePsi",
        "ycoor",
        "flip",
        "angleTilt",
        "shiftX",
        "zcoor",
        "angleRot",
        "shiftY",
    ];
    let mut md = MetaData::with_labels(&labels);
    for (id, [x, y, z]) in [(1, [211, 873, 97]), (2, [604, 150, 102])] {
        let row = labels
            .iter()
            .map(|l| match *l {
                "xcoor" => Value::Int(x),
                "ycoor" => Value::Int(y),
                "zcoor" => Value::Int(z),
                "itemId" => Value::Int(id),
                "flip" => Value::Bool(false),
                _ => Value::Double(0.0),
            })
            .collect();
        md.push(row).unwrap();
    }
    let text = xmd_text(&md).unwrap();
    assert_eq!(text, want);
    // 15 header lines before the rows (the coordinates-with-alignment reader skips 15).
    assert_eq!(
        text.lines()
            .take_while(|l| !l.starts_with("    0."))
            .count(),
        15
    );
    // The reader maps by name, regardless of order.
    let dir = tmp_dir("x52");
    let p = dir.join("subtomo_coords.xmd");
    write_xmd(&p, &md).unwrap();
    let back = read_xmd(&p).unwrap();
    assert_eq!(back.get(1, "itemId"), Some(&Value::Int(2)));
    assert_eq!(back.get(0, "flip"), Some(&Value::Bool(false)));
    assert_eq!(back.get(1, "zcoor"), Some(&Value::Int(102)));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn xmd_extractor_list_spec_5_3() {
    let want = format!(
        "{HEAD} _image\n _xcoor\n _ycoor\n _zcoor\nsubtomo_coords-1.mrc                  211                  873                   97 \nsubtomo_coords-2.mrc                  604                  150                  102 \n"
    );
    let mut md = MetaData::with_labels(&["image", "xcoor", "ycoor", "zcoor"]);
    md.push(vec![
        Value::Str("subtomo_coords-1.mrc".into()),
        Value::Int(211),
        Value::Int(873),
        Value::Int(97),
    ])
    .unwrap();
    md.push(vec![
        Value::Str("subtomo_coords-2.mrc".into()),
        Value::Int(604),
        Value::Int(150),
        Value::Int(102),
    ])
    .unwrap();
    assert_eq!(xmd_text(&md).unwrap(), want);
}

#[test]
fn xmd_score_files_spec_5_4_and_5_5() {
    let want = format!(
        "{HEAD} _max\n _min\n    0.987412     0.731150 \n    0.954003     0.402977 \n    0.999210     0.618845 \n"
    );
    // Given min before max: still written max, min.
    let mut md = MetaData::with_labels(&["min", "max"]);
    for (mx, mn) in [
        (0.987412, 0.731150),
        (0.954003, 0.402977),
        (0.999210, 0.618845),
    ] {
        md.push(vec![Value::Double(mn), Value::Double(mx)]).unwrap();
    }
    assert_eq!(xmd_text(&md).unwrap(), want);
    let mut t = MetaData::with_labels(&["max", "min"]);
    t.push(vec![Value::Double(3.0), Value::Double(0.584324)])
        .unwrap();
    assert_eq!(
        xmd_text(&t).unwrap(),
        format!("{HEAD} _max\n _min\n    3.000000     0.584324 \n")
    );
    let mut s = MetaData::with_labels(&["max", "min"]);
    s.push(vec![Value::Double(0.2), Value::Double(-1.0)])
        .unwrap();
    assert_eq!(
        xmd_text(&s).unwrap(),
        format!("{HEAD} _max\n _min\n    0.200000    -1.000000 \n")
    );
}

#[test]
fn xmd_value_formatting_edge_cases() {
    let mut md = MetaData::with_labels(&["max", "min", "image"]);
    md.push(vec![
        Value::Double(1.23456e-4),
        Value::Double(-0.0005),
        Value::Str("a b".into()),
    ])
    .unwrap();
    md.push(vec![
        Value::Double(0.001),
        Value::Int(2),
        Value::Str(String::new()),
    ])
    .unwrap();
    md.push(vec![
        Value::Double(1234567.5),
        Value::Double(1e-300),
        Value::Str("it's".into()),
    ])
    .unwrap();
    let text = xmd_text(&md).unwrap();
    let rows: Vec<&str> = text.lines().skip(7).collect();
    // Enum order puts image before max and min.
    assert_eq!(rows[0], "'a b' 1.234560e-04 -5.000000e-04 ");
    assert_eq!(rows[1], "''     0.001000     2.000000 ");
    assert_eq!(rows[2], "\"it's\" 1234567.500000 1.000000e-300 ");
    // Empty table: only the four header lines.
    assert_eq!(xmd_text(&MetaData::with_labels(&[])).unwrap(), HEAD);
    // A string where an int label is expected is an error, not a silent conversion.
    let mut bad = MetaData::with_labels(&["xcoor"]);
    bad.push(vec![Value::Str("x".into())]).unwrap();
    assert!(xmd_text(&bad).is_err());
}

#[test]
fn xmd_tolerant_reader() {
    let dir = tmp_dir("xr");
    let p = dir.join("odd.xmd");
    std::fs::write(
        &p,
        "# a comment\n\ndata_first\nloop_\n _Xcoor  # old alias with a comment\n _ycoor\n _zcoor\n _image\n _unknownLabel\n\
         12.0 7 3.9 'my file.mrc' foo\n  5 6 7 plain.mrc bar\n\ndata_second\n _max 0.5\n _min 0.25\n",
    )
    .unwrap();
    let md = read_xmd(&p).unwrap();
    assert_eq!(md.block, "first");
    assert_eq!(md.get(0, "xcoor"), Some(&Value::Int(12)));
    assert_eq!(md.get(0, "zcoor"), Some(&Value::Int(3)));
    assert_eq!(md.get(0, "image"), Some(&Value::Str("my file.mrc".into())));
    assert_eq!(md.get(1, "unknownLabel"), Some(&Value::Str("bar".into())));
    let second = read_xmd(format!("second@{}", p.display())).unwrap();
    assert_eq!(second.rows.len(), 1);
    assert_eq!(second.get(0, "max"), Some(&Value::Double(0.5)));
    assert_eq!(second.get(0, "min"), Some(&Value::Double(0.25)));
    let pts = read_coordinates(&p, &CoordContext::default()).unwrap();
    assert_eq!(pts, vec![[12.0, 7.0, 3.0], [5.0, 6.0, 7.0]]);
    // Wrong number of values on a row names the file and line.
    let q = dir.join("bad.xmd");
    std::fs::write(&q, "data_noname\nloop_\n _xcoor\n _ycoor\n1 2 3\n").unwrap();
    let e = read_xmd(&q).unwrap_err().to_string();
    assert!(e.contains("bad.xmd:5"), "{e}");
    let r = dir.join("badint.xmd");
    std::fs::write(&r, "data_noname\nloop_\n _xcoor\nabc\n").unwrap();
    assert!(read_xmd(&r).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn star_pixels_centred_angst_blocks_and_tomo_names() {
    let dir = tmp_dir("star");
    let ctx = CoordContext {
        dims: Some([400, 300, 100]),
        sampling: Some(10.0),
        tomo_name: None,
    };
    // RELION 5 style: optics block first, then particles with centred Å and a tomo name.
    let p = dir.join("particles.star");
    std::fs::write(
        &p,
        "\n# version 50001\n\ndata_optics\n\nloop_\n_rlnOpticsGroup #1\n_rlnImagePixelSize #2\n1 10.0\n\n\
         data_particles\n\nloop_\n_rlnTomoName #1\n_rlnCenteredCoordinateXAngst #2\n_rlnCenteredCoordinateYAngst #3\n_rlnCenteredCoordinateZAngst #4\n\
         TS_01 0.0 0.0 0.0\nTS_01 -2000.0 150.0 -495.0\n",
    )
    .unwrap();
    let pts = read_coordinates(&p, &ctx).unwrap();
    // centre = dims / 2 = (200, 150, 50); x = Å / 10 + centre.
    assert_eq!(pts, vec![[200.0, 150.0, 50.0], [0.0, 165.0, 0.5]]);
    // Without dims/sampling the centred file cannot be converted: error, not a guess.
    assert!(read_coordinates(&p, &CoordContext::default()).is_err());
    // Round trip through our centred writer.
    let q = dir.join("ours.star");
    write_coordinates(&q, &pts, CoordFormat::StarCentredAngst, &ctx).unwrap();
    assert_eq!(read_coordinates(&q, &ctx).unwrap(), pts);
    // Pixel columns (no loop_: key/value pairs) are taken as they are.
    let s = dir.join("pairs.star");
    std::fs::write(
        &s,
        "data_\n_rlnCoordinateX 12.5\n_rlnCoordinateY 3\n_rlnCoordinateZ 4\n",
    )
    .unwrap();
    assert_eq!(
        read_coordinates(&s, &CoordContext::default()).unwrap(),
        vec![[12.5, 3.0, 4.0]]
    );
    // Two tomograms in one table: needs a name.
    let m = dir.join("multi.star");
    std::fs::write(
        &m,
        "data_particles\nloop_\n_rlnTomoName\n_rlnCoordinateX\n_rlnCoordinateY\n_rlnCoordinateZ\nA 1 2 3\nB 4 5 6\nA 7 8 9\n",
    )
    .unwrap();
    assert!(read_coordinates(&m, &CoordContext::default()).is_err());
    let pick = CoordContext {
        tomo_name: Some("A".into()),
        ..Default::default()
    };
    assert_eq!(
        read_coordinates(&m, &pick).unwrap(),
        vec![[1.0, 2.0, 3.0], [7.0, 8.0, 9.0]]
    );
    let absent = CoordContext {
        tomo_name: Some("C".into()),
        ..Default::default()
    };
    assert!(
        read_coordinates(&m, &absent).is_err(),
        "an unknown tomogram is an error, not an empty list"
    );
    // Pixel writer round-trips exactly.
    let w = dir.join("px.star");
    let odd = [[0.1, 1e-7, 12345.678901234], [-3.0, 0.0, 7.5]];
    write_coordinates(&w, &odd, CoordFormat::Star, &CoordContext::default()).unwrap();
    assert_eq!(read_coordinates(&w, &CoordContext::default()).unwrap(), odd);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn csv_by_header_name() {
    let dir = tmp_dir("csv");
    let p = dir.join("a.csv");
    std::fs::write(
        &p,
        "# picked by hand\nscore, Z ,\"y\",x\n0.9,3,2,1\n\n0.1,6.5,5,4\n",
    )
    .unwrap();
    assert_eq!(
        read_coordinates(&p, &CoordContext::default()).unwrap(),
        vec![[1.0, 2.0, 3.0], [4.0, 5.0, 6.5]]
    );
    let q = dir.join("b.csv");
    std::fs::write(&q, "x,y\n1,2\n").unwrap();
    assert!(read_coordinates(&q, &CoordContext::default()).is_err());
    let r = dir.join("c.csv");
    std::fs::write(&r, "x,y,z\n1,2,nan\n").unwrap();
    assert!(read_coordinates(&r, &CoordContext::default()).is_err());
    let w = dir.join("w.csv");
    let pts = [[1.25, 2.5, 3.75]];
    write_coordinates(&w, &pts, CoordFormat::Csv, &CoordContext::default()).unwrap();
    assert_eq!(
        std::fs::read_to_string(&w).unwrap(),
        "x,y,z\n1.25,2.5,3.75\n"
    );
    assert_eq!(read_coordinates(&w, &CoordContext::default()).unwrap(), pts);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn imod_points_and_xyz() {
    let dir = tmp_dir("imod");
    let ctx = CoordContext::default();
    // model2point variants: x y z / contour x y z / object contour x y z.
    let p = dir.join("beads.txt");
    std::fs::write(&p, "  10.50  20.50  3.00\n").unwrap();
    assert_eq!(read_coordinates(&p, &ctx).unwrap(), vec![[10.0, 20.0, 3.0]]);
    let q = dir.join("beads.pt");
    std::fs::write(&q, "1 2 0.5 0.5 0\n1 3 100.0 50.25 12\n").unwrap();
    assert_eq!(
        read_coordinates(&q, &ctx).unwrap(),
        vec![[0.0, 0.0, 0.0], [99.5, 49.75, 12.0]]
    );
    // tiltalign .xyz: point number first, extra columns after z.
    let x = dir.join("fid.xyz");
    std::fs::write(
        &x,
        " 3-D point coordinates, pix:   1.230\n   1   100.50   200.50   -5.25    1    1\n   2    10.5    20.5     7.0    1    2\n",
    )
    .unwrap();
    assert_eq!(
        read_coordinates(&x, &ctx).unwrap(),
        vec![[100.0, 200.0, -5.25], [10.0, 20.0, 7.0]]
    );
    // Forced format regardless of extension.
    let f = dir.join("points.dat");
    std::fs::write(&f, "1.5 2.5 3\n").unwrap();
    assert!(read_coordinates(&f, &ctx).is_err());
    assert_eq!(
        read_coordinates_as(&f, CoordFormat::from_name("imod").unwrap(), &ctx).unwrap(),
        vec![[1.0, 2.0, 3.0]]
    );
    let bad = dir.join("bad.txt");
    std::fs::write(&bad, "1 2\n").unwrap();
    assert!(read_coordinates(&bad, &ctx).is_err());
    std::fs::write(&bad, "1 2 x\n").unwrap();
    assert!(read_coordinates(&bad, &ctx).is_err());
    assert!(write_coordinates(&bad, &[[1.0, 2.0, 3.0]], CoordFormat::ImodPoints, &ctx).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}
