//! Many tomograms: input expansion (paths, globs, list files), a bounded pool of scoped threads,
//! resumable output folders and `--watch` for on-the-fly acquisition.
//!
//! A folder whose `report.json` exists is complete: the report writer writes it last and
//! atomically, so a killed run leaves no folder that looks done but is not.
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use crate::host::check::{check_tomogram, CheckOutcome, CheckParams};
use crate::host::coords::star::{parse_star, read_text, StarBlock};
use crate::host::networks::Networks;
use crate::host::{resolve_threads, AcquisitionInput, Error, Result};

/// Expands command-line inputs into tomogram paths, in a stable order without duplicates.
///
/// Each input is a path to an `.mrc`/`.rec`/`.st`… file, a glob (`tomos/*.mrc`), or a list file:
/// `.txt`/`.lst` (one path per line, `#` comments) or `.star` (RELION/Xmipp/Scipion tables: the
/// tomogram column chosen by label, e.g. RELION 5's `_rlnTomoReconstructedTomogram`, else the
/// first column whose values end in `.mrc` or `.rec`). Relative paths inside a list are relative
/// to it.
pub fn expand_inputs(inputs: &[String]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut push = |p: PathBuf, out: &mut Vec<PathBuf>| {
        if seen.insert(p.clone()) {
            out.push(p);
        }
    };
    for input in inputs {
        if input.contains(['*', '?', '[']) {
            let paths = glob::glob(input)
                .map_err(|e| Error::Invalid(format!("bad glob pattern {input}: {e}")))?;
            let mut matched: Vec<PathBuf> = paths.filter_map(|p| p.ok()).collect();
            if matched.is_empty() {
                return Err(Error::Invalid(format!("{input} matches no file")));
            }
            matched.sort();
            for p in matched {
                push(p, &mut out);
            }
            continue;
        }
        let path = PathBuf::from(input);
        match extension(&path).as_str() {
            "txt" | "lst" | "list" => {
                for p in read_list_file(&path)? {
                    push(p, &mut out);
                }
            }
            "star" => {
                for p in read_star_list(&path)? {
                    push(p, &mut out);
                }
            }
            _ => push(path, &mut out),
        }
    }
    Ok(out)
}

fn extension(p: &Path) -> String {
    p.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

fn relative_to(list: &Path, entry: &str) -> PathBuf {
    let p = PathBuf::from(entry);
    if p.is_absolute() {
        return p;
    }
    list.parent().unwrap_or(Path::new("")).join(p)
}

fn read_list_file(path: &Path) -> Result<Vec<PathBuf>> {
    Ok(read_text(path)?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| relative_to(path, l))
        .collect())
}

/// STAR labels that name a tomogram file, most specific first: RELION 5 `tomograms.star`, the
/// Xmipp/Scipion file labels, then RELION's generic image labels.
const TOMOGRAM_LABELS: [&str; 6] = [
    "rlnTomoReconstructedTomogram",
    "tomoFile",
    "fileName",
    "rlnMicrographName",
    "rlnImageName",
    "image",
];

/// Does a STAR value name a volume file (`.mrc`, `.rec`, `.mrcs`, or Xmipp's `file:mrc`)?
fn names_volume(value: &str) -> bool {
    let v = value.to_ascii_lowercase();
    [".mrc", ".rec", ".mrcs", ":mrc"]
        .iter()
        .any(|e| v.ends_with(e))
}

/// The block and column listing the tomograms: the first label of [`TOMOGRAM_LABELS`] that any
/// block has (first such block), else the first column, in file order, whose first value names a
/// volume file (for tables with other labels).
fn tomogram_column(blocks: &[StarBlock]) -> Option<(&StarBlock, usize)> {
    let with_rows = || blocks.iter().filter(|b| !b.rows.is_empty());
    TOMOGRAM_LABELS
        .iter()
        .find_map(|l| with_rows().find_map(|b| b.column(l).map(|c| (b, c))))
        .or_else(|| {
            with_rows().find_map(|b| {
                b.rows[0]
                    .iter()
                    .position(|v| names_volume(v))
                    .map(|c| (b, c))
            })
        })
}

/// Tomogram paths from a RELION/Xmipp/Scipion STAR table (see [`tomogram_column`]), read with the
/// shared STAR parser, so quoted names and multi-block files work. Relative paths are relative to
/// the STAR file's folder.
fn read_star_list(path: &Path) -> Result<Vec<PathBuf>> {
    let name = path.display().to_string();
    let blocks = parse_star(&read_text(path)?, &name)?;
    let paths: Vec<PathBuf> = tomogram_column(&blocks)
        .map(|(block, col)| {
            block
                .rows
                .iter()
                .map(|r| r[col].trim_end_matches(":mrc"))
                .filter(|v| !v.is_empty())
                .map(|v| relative_to(path, v))
                .collect()
        })
        .unwrap_or_default();
    if paths.is_empty() {
        let labels: Vec<String> = TOMOGRAM_LABELS.iter().map(|l| format!("_{l}")).collect();
        return Err(Error::Format(format!(
            "{name} lists no tomogram: no data block has a column {} or values ending in \
             .mrc/.rec",
            labels.join(", ")
        )));
    }
    Ok(paths)
}

/// The output folder of one tomogram: `out` itself for a single input, else `out/<stem>/`.
pub fn output_dir(out: &Path, tomogram: &Path, single: bool) -> PathBuf {
    if single {
        return out.to_path_buf();
    }
    let stem = tomogram
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "tomogram".into());
    out.join(stem)
}

/// Is this folder's report complete (so a resumed run may skip it)?
pub fn is_complete(dir: &Path) -> bool {
    let path = dir.join("report.json");
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|v| v.get("verdict").is_some())
}

/// What happened to one input of a batch.
#[derive(Debug)]
pub enum ItemResult {
    Done(CheckOutcome),
    /// Skipped because a complete report exists (resume).
    AlreadyDone(PathBuf),
    Failed(PathBuf, Error),
}

/// Options of a batch run.
pub struct BatchOptions<'a> {
    pub out: &'a Path,
    /// Recompute even when a complete report exists.
    pub force: bool,
    /// Total threads (0 = every core); split between concurrent tomograms and the work inside
    /// each.
    pub threads: usize,
    /// Force `out/<stem>/` folders even for one tomogram (watch mode).
    pub always_subdirs: bool,
    /// Called after each tomogram, from worker threads (progress display).
    pub on_item: &'a (dyn Fn(usize, usize, &ItemResult) + Sync),
}

/// Checks every tomogram with a bounded pool of scoped threads. Results are in input order.
///
/// With T threads and N tomograms, min(T, N) tomograms run at once and each gets T / that many
/// threads inside: streaming detection is light on memory, so running tomograms side by side
/// keeps both cores busy through the serial parts (header reads, report writing).
pub fn run_batch(
    tomograms: &[PathBuf],
    acquisition: &AcquisitionInput,
    params: &CheckParams,
    nets: &Networks,
    opts: &BatchOptions,
) -> Vec<ItemResult> {
    let n = tomograms.len();
    let threads = resolve_threads(opts.threads);
    let workers = threads.min(n).max(1);
    let mut inner = params.clone();
    inner.threads = (threads / workers).max(1);
    let single = n == 1 && !opts.always_subdirs;

    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<ItemResult>>> = Mutex::new((0..n).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let tomo = &tomograms[i];
                let dir = output_dir(opts.out, tomo, single);
                let item = if !opts.force && is_complete(&dir) {
                    ItemResult::AlreadyDone(tomo.clone())
                } else {
                    match check_tomogram(tomo, acquisition, &inner, nets, &dir) {
                        Ok(o) => ItemResult::Done(o),
                        Err(e) => ItemResult::Failed(tomo.clone(), e),
                    }
                };
                let k = done.fetch_add(1, Ordering::Relaxed) + 1;
                (opts.on_item)(k, n, &item);
                if let Ok(mut r) = results.lock() {
                    r[i] = Some(item);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .zip(tomograms)
        .map(|(r, t)| {
            r.unwrap_or_else(|| {
                ItemResult::Failed(t.clone(), Error::Invalid("worker thread panicked".into()))
            })
        })
        .collect()
}

/// Options of `--watch`.
pub struct WatchOptions {
    pub poll: Duration,
    /// Stop after this long without a new tomogram (`None`: run until killed).
    pub idle_exit: Option<Duration>,
}

/// Watches `dir` for new tomograms (`*.mrc`, `*.rec`) and checks each once its size has stopped
/// changing for one poll interval (a microscope or reconstruction may still be writing it).
/// Existing complete reports are skipped, so a restarted watcher resumes where it stopped.
pub fn watch(
    dir: &Path,
    acquisition: &AcquisitionInput,
    params: &CheckParams,
    nets: &Networks,
    opts: &BatchOptions,
    wopts: &WatchOptions,
) -> Result<Vec<ItemResult>> {
    let mut sizes: std::collections::HashMap<PathBuf, (u64, SystemTime)> = Default::default();
    let mut handled: HashSet<PathBuf> = HashSet::new();
    let mut results = Vec::new();
    let mut last_new = Instant::now();
    loop {
        let mut ready = Vec::new();
        let entries = std::fs::read_dir(dir)
            .map_err(|e| Error::io(format!("watching {}", dir.display()), e))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let ext = extension(&path);
            if !(ext == "mrc" || ext == "rec") || handled.contains(&path) {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue };
            let stamp = (
                meta.len(),
                meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            );
            // Ready when unchanged since the previous poll.
            if sizes.get(&path) == Some(&stamp) {
                ready.push(path);
            } else {
                sizes.insert(path, stamp);
            }
        }
        ready.sort();
        if !ready.is_empty() {
            last_new = Instant::now();
            handled.extend(ready.iter().cloned());
            let watch_opts = BatchOptions {
                out: opts.out,
                force: opts.force,
                threads: opts.threads,
                always_subdirs: true,
                on_item: opts.on_item,
            };
            results.extend(run_batch(&ready, acquisition, params, nets, &watch_opts));
        }
        if let Some(idle) = wopts.idle_exit {
            if last_new.elapsed() >= idle {
                return Ok(results);
            }
        }
        std::thread::sleep(wopts.poll);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("misalign-batch-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn list_and_star_inputs_expand_relative_to_the_list() {
        let d = temp_dir("lists");
        std::fs::write(d.join("l.txt"), "# tomograms\na.mrc\n\nsub/b.mrc\na.mrc\n").unwrap();
        std::fs::write(
            d.join("t.star"),
            "data_global\nloop_\n_rlnTomoName #1\n_rlnTomoReconstructedTomogram #2\nTS_01 rec/TS_01.mrc\nTS_02 rec/TS_02.mrc\n",
        )
        .unwrap();
        let got = expand_inputs(&[
            d.join("l.txt").display().to_string(),
            d.join("t.star").display().to_string(),
        ])
        .unwrap();
        assert_eq!(
            got,
            vec![
                d.join("a.mrc"),
                d.join("sub/b.mrc"),
                d.join("rec/TS_01.mrc"),
                d.join("rec/TS_02.mrc")
            ]
        );
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn empty_glob_is_an_error() {
        let d = temp_dir("glob");
        let pattern = d.join("*.mrc").display().to_string();
        assert!(expand_inputs(std::slice::from_ref(&pattern)).is_err());
        std::fs::write(d.join("x.mrc"), b"").unwrap();
        assert_eq!(expand_inputs(&[pattern]).unwrap(), vec![d.join("x.mrc")]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn completeness_needs_a_parsable_report_with_a_verdict() {
        let d = temp_dir("complete");
        assert!(!is_complete(&d));
        std::fs::write(d.join("report.json"), "{\"verdict\": \"aligned\"").unwrap();
        assert!(!is_complete(&d));
        std::fs::write(d.join("report.json"), "{\"verdict\": \"aligned\"}").unwrap();
        assert!(is_complete(&d));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn single_input_writes_into_out_itself() {
        let out = Path::new("/o");
        assert_eq!(
            output_dir(out, Path::new("/d/t1.mrc"), true),
            PathBuf::from("/o")
        );
        assert_eq!(
            output_dir(out, Path::new("/d/t1.mrc"), false),
            PathBuf::from("/o/t1")
        );
    }
}
