//! `misalign`: the command-line tool. A thin layer over the library: each subcommand lives in
//! its own module with its options (`Args`) and a `run` function.
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench;
mod check;
#[cfg(feature = "sim")]
mod demo;
mod infer;
mod info;
mod opts;
mod peak;
mod score;
#[cfg(feature = "sim")]
mod simulate;
mod term;

#[derive(Parser)]
#[command(
    name = "misalign",
    version,
    about = "Detect tilt-series misalignment in cryo-ET tomograms from their gold fiducials"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// How fast this machine scores cubes (the built-in network on synthetic cubes).
    Bench(bench::Args),
    /// Check tomograms for misalignment: beads → cubes → two networks → verdict + report.
    Check(check::Args),
    /// Simulate an aligned and a misaligned tomogram, check both and show the verdicts.
    #[cfg(feature = "sim")]
    Demo(demo::Args),
    /// Xmipp drop-in: score pre-extracted cubes, write the misalignment statistics files.
    Score(score::Args),
    /// Score a stack of 32³ cubes with one network (CSV `index,score`).
    Infer(infer::Args),
    /// Header summary and data statistics of MRC files.
    Info(info::Args),
    /// Find the gold fiducial beads of a tomogram (Xmipp's image_peak_high_contrast).
    Peak(peak::Args),
    /// Simulate a (mis)aligned tomogram with gold beads, its ground truth and PNG slices.
    #[cfg(feature = "sim")]
    Simulate(simulate::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: Result<(), misalign::host::Error> = match cli.command {
        Command::Bench(a) => bench::run(a),
        Command::Check(a) => check::run(a),
        #[cfg(feature = "sim")]
        Command::Demo(a) => demo::run(a),
        Command::Score(a) => score::run(a),
        Command::Infer(a) => infer::run(a),
        Command::Info(a) => info::run(a),
        Command::Peak(a) => peak::run(a),
        #[cfg(feature = "sim")]
        Command::Simulate(a) => simulate::run(a),
    };
    term::exit_code(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Args as _, CommandFactory};
    use misalign::host::detector::DetectorParams;
    use std::collections::BTreeSet;

    fn parse(args: &[&str]) -> Command {
        let argv = std::iter::once("misalign").chain(args.iter().copied());
        Cli::try_parse_from(argv)
            .unwrap_or_else(|e| panic!("{args:?}: {e}"))
            .command
    }

    /// The detector options of `peak` and `check` (in that order).
    fn detector_opts(peak: &[&str], check: &[&str]) -> (opts::DetectorOpts, opts::DetectorOpts) {
        let p = [&["peak", "--vol", "t.mrc"][..], peak].concat();
        let c = [&["check", "t.mrc"][..], check].concat();
        match (parse(&p), parse(&c)) {
            (Command::Peak(p), Command::Check(c)) => (p.detector, c.detector),
            _ => panic!("parsed into the wrong subcommands"),
        }
    }

    /// Each argument of a subcommand: (id, long, aliases, short, defaults).
    type ArgShape = (
        String,
        Option<String>,
        Vec<String>,
        Option<char>,
        Vec<String>,
    );

    fn shapes(cmd: &clap::Command) -> Vec<ArgShape> {
        cmd.get_arguments()
            .map(|a| {
                let mut aliases: Vec<String> = a
                    .get_all_aliases()
                    .unwrap_or_default()
                    .into_iter()
                    .map(String::from)
                    .collect();
                aliases.sort();
                (
                    a.get_id().to_string(),
                    a.get_long().map(String::from),
                    aliases,
                    a.get_short(),
                    a.get_default_values()
                        .iter()
                        .map(|v| v.to_string_lossy().into_owned())
                        .collect(),
                )
            })
            .collect()
    }

    fn subcommand(name: &str) -> clap::Command {
        Cli::command()
            .find_subcommand(name)
            .unwrap_or_else(|| panic!("no subcommand {name}"))
            .clone()
    }

    #[test]
    fn peak_and_check_default_to_the_library_detector() {
        let d = DetectorParams::default();
        let (p, c) = detector_opts(&[], &[]);
        assert_eq!(p, c);
        assert_eq!(p.params(d.threads), d);
    }

    #[test]
    fn peak_and_check_declare_the_same_detector_options() {
        let group = opts::DetectorOpts::augment_args(clap::Command::new("group"));
        let group = shapes(&group);
        let ids: BTreeSet<&str> = group.iter().map(|s| s.0.as_str()).collect();
        let in_group = |name: &str| -> Vec<ArgShape> {
            let mut v: Vec<ArgShape> = shapes(&subcommand(name))
                .into_iter()
                .filter(|s| ids.contains(s.0.as_str()))
                .collect();
            v.sort();
            v
        };
        let mut want = group.clone();
        want.sort();
        assert_eq!(in_group("peak"), want);
        assert_eq!(in_group("check"), want);
        // Everything else of peak is its file, acquisition, threads and quiet: no detector
        // option declared a second time outside the group.
        let rest: BTreeSet<String> = shapes(&subcommand("peak"))
            .into_iter()
            .map(|s| s.0)
            .filter(|id| !ids.contains(id.as_str()))
            .collect();
        let expect = [
            "vol",
            "output",
            "sampling",
            "fiducial_size",
            "threads",
            "quiet",
        ];
        assert_eq!(rest, expect.iter().map(|s| s.to_string()).collect());
    }

    #[test]
    fn xmipp_spellings_set_the_same_detector_options_in_peak_and_check() {
        let xmipp = [
            "--boxSize",
            "40",
            "--numberSampSlices",
            "400",
            "--sdThr",
            "3",
            "--numberOfCoordinatesThr",
            "50",
            "--mirrorCorrelationThr",
            "0.2",
            "--mahalanobisDistanceThr",
            "2.5",
            "--relaxedModeThr",
            "3",
        ];
        let ours = [
            "--box-size",
            "40",
            "--number-samp-slices",
            "400",
            "--sd-thr",
            "3",
            "--min-area",
            "50",
            "--mirror-correlation-thr",
            "0.2",
            "--mahalanobis-distance-thr",
            "2.5",
            "--relaxed-mode-thr",
            "3",
            "--threshold-stats",
            "slab",
            "--bin",
            "1",
            "--bandpass-width",
            "0.03",
        ];
        let extra = [
            "--threshold-stats",
            "slab",
            "--detector-bin",
            "1",
            "--bandpass-width",
            "0.03",
        ];
        let (p, c) = detector_opts(&[&xmipp[..], &extra[..]].concat(), &ours);
        assert_eq!(p, c);
        let d = p.params(1);
        assert_eq!(
            (d.box_size, d.number_samp_slices, d.sd_thr, d.min_area),
            (40, 400, 3.0, 50)
        );
        assert_eq!((d.mirror_corr_thr, d.mahalanobis_thr), (0.2, 2.5));
        assert_eq!((d.relaxed_min, d.bin, d.bandpass_width), (Some(3), 1, 0.03));
        assert_eq!(
            d.threshold_mode,
            misalign::host::detector::ThresholdMode::CentralSlab
        );
    }

    #[test]
    fn every_threads_option_is_dash_j_with_zero_for_every_core() {
        let mut with_threads = Vec::new();
        for sub in Cli::command().get_subcommands() {
            if let Some(a) = sub.get_arguments().find(|a| a.get_id() == "threads") {
                assert_eq!(a.get_short(), Some('j'), "{}", sub.get_name());
                assert_eq!(a.get_long(), Some("threads"), "{}", sub.get_name());
                assert_eq!(a.get_default_values(), ["0"], "{}", sub.get_name());
                with_threads.push(sub.get_name().to_string());
            }
        }
        let want = [
            "bench", "check", "demo", "score", "infer", "peak", "simulate",
        ];
        assert_eq!(with_threads, want);
    }

    #[test]
    fn check_defaults_are_the_pipeline_defaults() {
        let Command::Check(a) = parse(&["check", "t.mrc"]) else {
            panic!("not check")
        };
        let p = a.params();
        let d = misalign::host::check::CheckParams::default();
        assert_eq!(p.threshold, d.threshold);
        assert_eq!(p.criterion, d.criterion);
        assert_eq!(p.normalization, d.normalization);
        assert_eq!(p.border, d.border);
        assert_eq!(p.html, d.html);
        assert_eq!(a.bead.input(), misalign::host::AcquisitionInput::default());
    }

    #[test]
    fn bead_options_keep_the_xmipp_spellings() {
        let Command::Peak(a) = parse(&[
            "peak",
            "--vol",
            "t.mrc",
            "--samplingRate",
            "18.92",
            "--fiducialSize",
            "80",
        ]) else {
            panic!("not peak")
        };
        assert_eq!((a.bead.sampling, a.bead.fiducial_size), (Some(18.92), 80.0));
        let Command::Check(c) = parse(&["check", "t.mrc", "--sampling", "18.92"]) else {
            panic!("not check")
        };
        assert_eq!(c.bead.sampling, Some(18.92));
        assert_eq!(
            c.bead.fiducial_size,
            misalign::host::Acquisition::default().bead_diameter_a
        );
        let acq = a
            .bead
            .acquisition([1.0; 3], std::path::Path::new("t.mrc"))
            .unwrap();
        assert_eq!((acq.sampling_a, acq.bead_diameter_a), (18.92, 80.0));
    }
}
