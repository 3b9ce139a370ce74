//! The tomogram verdict from per-bead scores (spec/network.md, "Tomogram decision").
//!
//! Two stages: the strong network's scores decide "strongly misaligned" or not; only if the
//! tomogram passes are the weak network's scores consulted. No scores at all is
//! [`Verdict::Undetermined`], never "aligned".

/// How the per-cube scores of one stage are combined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Criterion {
    /// The stage passes if the mean score is above the threshold (default; the paper's advice).
    Mean,
    /// The stage passes if more than half of the cubes score above 0.5.
    Votes,
}

impl Criterion {
    /// The name used in reports and on the command line (`"mean"`, `"votes"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Criterion::Mean => "mean",
            Criterion::Votes => "votes",
        }
    }
}

/// The classification of one tomogram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Aligned,
    /// Weakly misaligned: passed the strong network, failed the weak one.
    Weak,
    /// Strongly misaligned.
    Strong,
    /// No usable bead: nothing can be said.
    Undetermined,
}

impl Verdict {
    /// The lower-case name used in reports (`report.json`'s `"verdict"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Verdict::Aligned => "aligned",
            Verdict::Weak => "weak",
            Verdict::Strong => "strong",
            Verdict::Undetermined => "undetermined",
        }
    }

    /// The verdict as a person reads it at a glance (one-line summaries, the report's banner).
    pub const fn headline(self) -> &'static str {
        match self {
            Verdict::Aligned => "ALIGNED",
            Verdict::Weak => "WEAKLY MISALIGNED",
            Verdict::Strong => "STRONGLY MISALIGNED",
            Verdict::Undetermined => "UNDETERMINED",
        }
    }

    /// Xmipp's class code (1 strong, 2 weak, 3 aligned); 0 for undetermined, which Xmipp lacks.
    pub const fn xmipp_class(self) -> u8 {
        match self {
            Verdict::Strong => 1,
            Verdict::Weak => 2,
            Verdict::Aligned => 3,
            Verdict::Undetermined => 0,
        }
    }
}

/// Summary statistics of one stage's scores.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StageSummary {
    /// Mean score (NaN-free input assumed; see [`summarize`]).
    pub mean: f32,
    /// Fraction of cubes scoring strictly above 0.5 (numpy's `round` sends 0.5 to 0).
    pub vote_fraction: f32,
    /// Number of cubes scoring strictly above 0.5.
    pub votes: usize,
    /// Number of scores.
    pub count: usize,
}

/// Mean and vote fraction of a set of scores; `None` when empty.
pub fn summarize(scores: &[f32]) -> Option<StageSummary> {
    if scores.is_empty() {
        return None;
    }
    // f64 accumulation: thousands of beads must not lose precision.
    let mut sum = 0.0f64;
    let mut votes = 0usize;
    for &s in scores {
        sum += s as f64;
        if s > 0.5 {
            votes += 1;
        }
    }
    let n = scores.len();
    Some(StageSummary {
        mean: (sum / n as f64) as f32,
        vote_fraction: (votes as f64 / n as f64) as f32,
        votes,
        count: n,
    })
}

/// Does the strong stage pass (tomogram is not strongly misaligned)?
pub fn strong_stage_passes(summary: &StageSummary, criterion: Criterion) -> bool {
    match criterion {
        Criterion::Mean => summary.mean > 0.5,
        Criterion::Votes => summary.vote_fraction > 0.5,
    }
}

/// The full decision for one tomogram.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decision {
    pub verdict: Verdict,
    pub strong: Option<StageSummary>,
    /// Present only when the strong stage passed and weak scores were given.
    pub weak: Option<StageSummary>,
}

/// Decides a tomogram from its strong scores and, if the strong stage passed, its weak scores.
///
/// `weak_threshold` is the user threshold t on the weak mean (Scipion's default 0.45): aligned if
/// weak mean > t. As in the original script the weak stage always uses the **mean**, even with
/// [`Criterion::Votes`] (votes decide the strong stage only) — unless `weak_threshold` is `None`,
/// in which case the weak stage uses `criterion` with the neutral 0.5 cut.
///
/// `weak_scores` may be `None` when the strong stage failed (the weak network is not run then).
/// If the strong stage passed but `weak_scores` is `None` or empty, the verdict is
/// `Undetermined`: we never call a tomogram aligned without the second network's word.
pub fn decide(
    strong_scores: &[f32],
    weak_scores: Option<&[f32]>,
    criterion: Criterion,
    weak_threshold: Option<f32>,
) -> Decision {
    let Some(strong) = summarize(strong_scores) else {
        return Decision {
            verdict: Verdict::Undetermined,
            strong: None,
            weak: None,
        };
    };
    if !strong_stage_passes(&strong, criterion) {
        return Decision {
            verdict: Verdict::Strong,
            strong: Some(strong),
            weak: None,
        };
    }
    let weak = weak_scores.and_then(summarize);
    let verdict = match weak {
        None => Verdict::Undetermined,
        Some(w) => {
            let aligned = match weak_threshold {
                Some(t) => w.mean > t,
                None => strong_stage_passes(&w, criterion),
            };
            if aligned {
                Verdict::Aligned
            } else {
                Verdict::Weak
            }
        }
    };
    Decision {
        verdict,
        strong: Some(strong),
        weak,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_beads_is_undetermined() {
        let d = decide(&[], None, Criterion::Mean, Some(0.45));
        assert_eq!(d.verdict, Verdict::Undetermined);
    }

    #[test]
    fn strong_stage_mean_boundary_is_strict() {
        // mean exactly 0.5 fails (original: mean > 0.5 passes).
        let d = decide(&[0.4, 0.6], Some(&[0.9, 0.9]), Criterion::Mean, Some(0.45));
        assert_eq!(d.verdict, Verdict::Strong);
        assert!(d.weak.is_none());
    }

    #[test]
    fn votes_send_half_to_zero() {
        // Two of four above 0.5 is not a majority; 0.5 itself does not vote.
        let s = [0.9, 0.9, 0.5, 0.1];
        let d = decide(&s, Some(&[0.9; 4]), Criterion::Votes, Some(0.45));
        assert_eq!(d.verdict, Verdict::Strong);
        let s = [0.9, 0.9, 0.51, 0.1];
        let d = decide(&s, Some(&[0.9; 4]), Criterion::Votes, Some(0.45));
        assert_eq!(d.verdict, Verdict::Aligned);
    }

    #[test]
    fn weak_threshold_uses_mean_even_in_votes_mode() {
        // Weak votes would say aligned (3 of 4 above 0.5) but the mean 0.4 is below t = 0.45.
        let weak = [0.55, 0.55, 0.55, -0.05];
        let d = decide(&[0.9; 4], Some(&weak), Criterion::Votes, Some(0.45));
        assert_eq!(d.verdict, Verdict::Weak);
        let d = decide(&[0.9; 4], Some(&weak), Criterion::Votes, None);
        assert_eq!(d.verdict, Verdict::Aligned);
    }

    #[test]
    fn passing_strong_without_weak_scores_is_not_aligned() {
        let d = decide(&[0.9], None, Criterion::Mean, Some(0.45));
        assert_eq!(d.verdict, Verdict::Undetermined);
    }

    #[test]
    fn summaries_are_reported() {
        let d = decide(&[0.8, 0.6], Some(&[0.3, 0.5]), Criterion::Mean, Some(0.45));
        assert_eq!(d.verdict, Verdict::Weak);
        assert!((d.strong.unwrap().mean - 0.7).abs() < 1e-6);
        assert!((d.weak.unwrap().mean - 0.4).abs() < 1e-6);
        assert_eq!(d.weak.unwrap().vote_fraction, 0.0);
        assert_eq!((d.strong.unwrap().votes, d.weak.unwrap().votes), (2, 0));
    }

    #[test]
    fn names_are_distinct() {
        let all = [
            Verdict::Aligned,
            Verdict::Weak,
            Verdict::Strong,
            Verdict::Undetermined,
        ];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a.as_str(), b.as_str());
                assert_ne!(a.headline(), b.headline());
                assert_ne!(a.xmipp_class(), b.xmipp_class());
            }
        }
        assert_ne!(Criterion::Mean.as_str(), Criterion::Votes.as_str());
    }
}
