//! Simulation parameters, their realistic defaults and their validation.
use crate::host::{Error, Result};

/// Tilt range and order. Angles run `min_deg, min_deg + step_deg, …, max_deg`.
#[derive(Clone, Debug, PartialEq)]
pub struct TiltScheme {
    /// Most negative tilt (degrees).
    pub min_deg: f32,
    /// Most positive tilt (degrees).
    pub max_deg: f32,
    /// Angular step (degrees, > 0).
    pub step_deg: f32,
    /// Acquisition order: dose-symmetric (0, +s, −s, +2s, −2s, …) when true, otherwise
    /// bidirectional (from the tilt nearest 0 up to `max_deg`, then from just below it down to
    /// `min_deg`). The order matters for birds (drift grows along the acquisition).
    pub dose_symmetric: bool,
}

impl Default for TiltScheme {
    fn default() -> Self {
        TiltScheme {
            min_deg: -60.0,
            max_deg: 60.0,
            step_deg: 3.0,
            dose_symmetric: false,
        }
    }
}

/// Alignment errors applied when the images are *formed*; the reconstruction uses the nominal
/// geometry, exactly as a wrongly aligned tilt series is reconstructed. All zero = aligned.
///
/// Each measured image `k` is `A_k(u, v) = P_k(R_α·(u, v) + d_k)` where `P_k` is the true
/// projection, `R_α` the in-plane rotation by `twister_deg` about the field centre and
/// `d_k = (banana_a + jx_k, bird_k + jy_k)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Misalignment {
    /// Constant X (⟂ tilt axis) offset of every image, Å (wrong tilt-axis position): bananas.
    pub banana_a: f32,
    /// Constant in-plane rotation of every image about the field centre, degrees (wrong
    /// tilt-axis angle): twisters. The displacement grows with the distance from the centre.
    pub twister_deg: f32,
    /// Y drift growing linearly along the acquisition order from `−bird_a` (first image) to
    /// `+bird_a` (last image), Å: birds.
    pub bird_a: f32,
    /// Standard deviation of independent random X and Y shifts per image, Å: jitter.
    pub jitter_a: f32,
}

impl Misalignment {
    /// No error at all.
    pub fn aligned() -> Self {
        Self::default()
    }

    /// A label from the magnitudes (see docs/simulator.md): "strong" when any error reaches
    /// the paper's 90 %-detection limits (Table 2: banana 79 Å, twister 2°, bird ±27 Å) or a
    /// jitter of 20 Å; "aligned" when every error is below the residual of a good alignment
    /// (banana 10 Å, twister 0.25°, bird 4 Å, jitter 3 Å); "weak" otherwise.
    pub fn label(&self) -> &'static str {
        let (b, t, y, j) = (
            self.banana_a.abs(),
            self.twister_deg.abs(),
            self.bird_a.abs(),
            self.jitter_a.abs(),
        );
        if b >= 79.0 || t >= 2.0 || y >= 27.0 || j >= 20.0 {
            "strong"
        } else if b <= 10.0 && t <= 0.25 && y <= 4.0 && j <= 3.0 {
            "aligned"
        } else {
            "weak"
        }
    }

    /// The kinds of error present ("banana", "twister", "bird", "jitter"), or ["none"].
    pub fn kinds(&self) -> Vec<&'static str> {
        let mut k = Vec::new();
        if self.banana_a != 0.0 {
            k.push("banana");
        }
        if self.twister_deg != 0.0 {
            k.push("twister");
        }
        if self.bird_a != 0.0 {
            k.push("bird");
        }
        if self.jitter_a != 0.0 {
            k.push("jitter");
        }
        if k.is_empty() {
            k.push("none");
        }
        k
    }

    fn validate(&self) -> Result<()> {
        let v = [self.banana_a, self.twister_deg, self.bird_a, self.jitter_a];
        if v.iter().any(|x| !x.is_finite()) {
            return Err(Error::Invalid(format!(
                "simulate: misalignment magnitudes must be finite, got {self:?}"
            )));
        }
        if self.jitter_a < 0.0 || self.twister_deg.abs() > 45.0 {
            return Err(Error::Invalid(format!(
                "simulate: jitter must be ≥ 0 and |twister| ≤ 45°, got {self:?}"
            )));
        }
        Ok(())
    }
}

/// Microscope and dose settings of a simulated tilt series (not [`crate::host::Acquisition`],
/// the voxel size and bead diameter of a tomogram).
#[derive(Clone, Debug, PartialEq)]
pub struct Microscope {
    /// Tilt range, step and order.
    pub tilt: TiltScheme,
    /// Total dose over the whole series, e⁻/Å², split evenly over the images.
    pub total_dose: f32,
    /// Acquisition pixel size, Å. Images are formed at this size and binned to the tomogram
    /// sampling; the renderer integrates every binned pixel (exactly for Gaussians, by
    /// `ceil(sampling / pixel_a)`² sub-samples, at least 3², for disc edges).
    pub pixel_a: f32,
    /// Defocus in µm, negative = underfocus (−2 … −8 typical). `None` = no CTF: pure
    /// amplitude-like contrast `exp(−projection)` with row-wise filtering only.
    pub defocus_um: Option<f32>,
    /// With a CTF: flip the phases of the images before reconstruction (CTF correction).
    pub phase_flip: bool,
    /// Envelope B-factor (Å²) damping the CTF, `exp(−B k²/4)`; used only with a CTF.
    pub bfactor_a2: f32,
    /// Multiplies the signal-to-noise ratio of every image (1 = the physical dose; larger =
    /// cleaner; `f32::INFINITY` = noise-free).
    pub snr_scale: f32,
    /// Inelastic mean free path, Å: images at tilt θ keep `exp(−t / (λ cos θ))` of the dose
    /// (t = slab thickness), so high tilts are noisier.
    pub mean_free_path_a: f32,
    /// WBP taper: the ramp filter is multiplied by a Gaussian fall-off beyond this frequency
    /// (cycles/pixel, IMOD's "radial" first value; Nyquist = 0.5).
    pub radial_cutoff: f32,
    /// WBP taper: Gaussian σ of the fall-off (cycles/pixel; IMOD's second "radial" value).
    pub radial_falloff: f32,
}

impl Default for Microscope {
    fn default() -> Self {
        Microscope {
            tilt: TiltScheme::default(),
            total_dose: 120.0,
            pixel_a: 2.0,
            defocus_um: None,
            phase_flip: false,
            bfactor_a2: 200.0,
            snr_scale: 1.0,
            mean_free_path_a: 3500.0,
            radial_cutoff: 0.35,
            radial_falloff: 0.035,
        }
    }
}

impl Microscope {
    /// Tilt angles in degrees in increasing order (validated).
    pub fn angles_deg(&self) -> Result<Vec<f32>> {
        let t = &self.tilt;
        let ok = [t.min_deg, t.max_deg, t.step_deg]
            .iter()
            .all(|v| v.is_finite());
        if !ok || t.step_deg <= 0.0 || t.min_deg > t.max_deg {
            return Err(Error::Invalid(format!(
                "simulate: tilt scheme needs finite min ≤ max and step > 0, got {}..{} by {}",
                t.min_deg, t.max_deg, t.step_deg
            )));
        }
        if t.min_deg <= -89.0 || t.max_deg >= 89.0 {
            return Err(Error::Invalid(format!(
                "simulate: tilts must stay within ±89°, got {}..{}",
                t.min_deg, t.max_deg
            )));
        }
        let n = ((t.max_deg - t.min_deg) / t.step_deg + 1e-3).floor() as usize + 1;
        if n > 1000 {
            return Err(Error::Invalid(format!(
                "simulate: {n} tilt images is more than the 1000 supported"
            )));
        }
        Ok((0..n).map(|i| t.min_deg + i as f32 * t.step_deg).collect())
    }

    pub(crate) fn validate(&self) -> Result<()> {
        self.angles_deg()?;
        let pos = |v: f32| v.is_finite() && v > 0.0;
        if !pos(self.total_dose) || !pos(self.pixel_a) || !pos(self.mean_free_path_a) {
            return Err(Error::Invalid(format!(
                "simulate: dose, pixel size and mean free path must be finite and > 0, got {}, {}, {}",
                self.total_dose, self.pixel_a, self.mean_free_path_a
            )));
        }
        if self.snr_scale.is_nan() || self.snr_scale <= 0.0 {
            return Err(Error::Invalid(format!(
                "simulate: snr_scale must be > 0 (infinity = noise-free), got {}",
                self.snr_scale
            )));
        }
        if let Some(d) = self.defocus_um {
            if !d.is_finite() || d.abs() > 50.0 {
                return Err(Error::Invalid(format!(
                    "simulate: defocus must be finite and within ±50 µm, got {d}"
                )));
            }
        }
        if !self.bfactor_a2.is_finite() || self.bfactor_a2 < 0.0 {
            return Err(Error::Invalid(format!(
                "simulate: B-factor must be finite and ≥ 0, got {}",
                self.bfactor_a2
            )));
        }
        if !pos(self.radial_cutoff) || !pos(self.radial_falloff) || self.radial_cutoff > 0.5 {
            return Err(Error::Invalid(format!(
                "simulate: radial cutoff must be in (0, 0.5] and fall-off > 0, got {} / {}",
                self.radial_cutoff, self.radial_falloff
            )));
        }
        Ok(())
    }
}

/// What the specimen looks like besides the beads. Densities are numbers of objects per
/// (100 nm)³ = 10⁹ Å³ of slab; contrasts are relative to protein.
#[derive(Clone, Debug, PartialEq)]
pub struct PhantomParams {
    /// Specimen (ice) thickness, Å.
    pub slab_thickness_a: f32,
    /// Height of the slab's mid-plane above the tomogram's mid-plane (z = 0), Å.
    pub slab_z_a: f32,
    /// Slab tilt about Y and about X, degrees (the mid-plane is `z = tan(a)·x + tan(b)·y`).
    pub slab_tilt_deg: [f32; 2],
    /// Ribosome-sized Gaussian blobs per 10⁹ Å³.
    pub blobs: f32,
    /// Vesicles (closed bilayers, two leaflets 40 Å apart) per 10⁹ Å³.
    pub vesicles: f32,
    /// Filaments (chains of Gaussian subunits) per 10⁹ Å³.
    pub filaments: f32,
    /// Large dark ice-contamination balls on the slab surfaces, per µm² of field.
    pub ice_per_um2: f32,
    /// Fraction of beads that sit on the two slab surfaces (the rest are inside the slab).
    pub beads_on_surface: f32,
    /// Probability that a bead of the full tomogram is part of a small cluster.
    pub cluster_fraction: f32,
    /// Gold contrast relative to protein (per Å of path).
    pub gold_contrast: f32,
    /// Fraction of the gold contrast that is amplitude contrast (scattering outside the
    /// aperture), which the CTF does not modulate: keeps beads solidly dark under defocus.
    pub gold_amplitude: f32,
}

impl Default for PhantomParams {
    fn default() -> Self {
        PhantomParams {
            slab_thickness_a: 1800.0,
            slab_z_a: 0.0,
            slab_tilt_deg: [0.0, 0.0],
            blobs: 60.0,
            vesicles: 0.4,
            filaments: 1.0,
            ice_per_um2: 0.5,
            beads_on_surface: 0.6,
            cluster_fraction: 0.2,
            gold_contrast: 40.0,
            gold_amplitude: 0.6,
        }
    }
}

impl PhantomParams {
    /// No background at all: beads in an empty slab (for tests and clean pictures).
    pub fn empty() -> Self {
        PhantomParams {
            blobs: 0.0,
            vesicles: 0.0,
            filaments: 0.0,
            ice_per_um2: 0.0,
            cluster_fraction: 0.0,
            ..Self::default()
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        let v = [
            self.slab_thickness_a,
            self.slab_z_a,
            self.slab_tilt_deg[0],
            self.slab_tilt_deg[1],
            self.blobs,
            self.vesicles,
            self.filaments,
            self.ice_per_um2,
            self.beads_on_surface,
            self.cluster_fraction,
            self.gold_contrast,
            self.gold_amplitude,
        ];
        let nonneg = [
            self.blobs,
            self.vesicles,
            self.filaments,
            self.ice_per_um2,
            self.gold_contrast,
        ];
        if v.iter().any(|x| !x.is_finite())
            || nonneg.iter().any(|&x| x < 0.0)
            || self.slab_thickness_a <= 0.0
            || !(0.0..=1.0).contains(&self.beads_on_surface)
            || !(0.0..=1.0).contains(&self.cluster_fraction)
            || !(0.0..=1.0).contains(&self.gold_amplitude)
            || self.slab_tilt_deg.iter().any(|a| a.abs() > 30.0)
            || self.blobs > 2000.0
        {
            return Err(Error::Invalid(format!(
                "simulate: bad phantom parameters {self:?} (need finite values, thickness > 0, \
                 fractions in [0,1] (incl. gold_amplitude), slab tilt ≤ 30°, densities ≥ 0, blobs ≤ 2000)"
            )));
        }
        Ok(())
    }
}

pub(crate) fn check_misalignment(m: &Misalignment) -> Result<()> {
    m.validate()
}
