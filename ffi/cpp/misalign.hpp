// misalign.hpp — header-only C++17 wrapper of the misalign C ABI (include/misalign.h).
//
// Handles are move-only RAII classes; every failure throws misalign::Error (a
// std::runtime_error carrying the library's message and status). Volumes are passed as a
// VolumeView: a pointer to nx·ny·nz floats stored x fastest, then y, then z — the layout of
// Xmipp's MultidimArray<float> (see misalign::view_of). Coordinates are 0-based voxel x, y, z;
// sampling in Å/voxel; bead diameter in Å; scores in [0, 1], 1 = aligned.
//
// Link with the static library and -lpthread -ldl -lm (CMake: target misalign::misalign).
#ifndef MISALIGN_HPP
#define MISALIGN_HPP

#include <array>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "misalign.h"

namespace misalign {

/// Every failure of the library, with its status code and message.
class Error : public std::runtime_error {
public:
    Error(misalign_status status, const std::string &message)
        : std::runtime_error(message), status_(status) {}
    /// The C status (MISALIGN_STATUS_*).
    misalign_status status() const noexcept { return status_; }

private:
    misalign_status status_;
};

namespace detail {
/// Throws misalign::Error for a non-OK status, with this thread's last-error message.
inline void check(misalign_status st) {
    if (st != MISALIGN_STATUS_OK) {
        throw Error(st, std::string(misalign_status_name(st)) + ": " + misalign_last_error());
    }
}
struct NetworkFree {
    void operator()(misalign_network *p) const noexcept { misalign_network_free(p); }
};

/// A std::function progress callback behind the C callback. An exception thrown by it must not
/// cross the library: it is caught here, cancels the call, and is rethrown by `rethrow_or`.
struct ProgressBridge {
    const std::function<bool(float)> *fn = nullptr;
    std::exception_ptr error;

    static bool call(float fraction, void *self) noexcept {
        auto *b = static_cast<ProgressBridge *>(self);
        try {
            return (*b->fn)(fraction);
        } catch (...) {
            b->error = std::current_exception();
            return false;
        }
    }
    /// Points `progress`/`user_data` at this bridge if `fn` is set.
    template <class Options> void attach(const std::function<bool(float)> &f, Options &c) {
        if (!f) return;
        fn = &f;
        c.progress = &ProgressBridge::call;
        c.progress_user_data = this;
    }
    /// The callback's own exception if it threw, else the usual status check.
    void rethrow_or_check(misalign_status st) const {
        if (error) std::rethrow_exception(error);
        check(st);
    }
};
} // namespace detail

/// Library version string ("0.1.0").
inline std::string version() { return misalign_version(); }

/// Throws if the library was built for another ABI than this header.
inline void check_abi() {
    if (misalign_abi_version() != MISALIGN_ABI_VERSION) {
        throw Error(MISALIGN_STATUS_INVALID_ARGUMENT,
                    "misalign library ABI " + std::to_string(misalign_abi_version()) +
                        " does not match header ABI " + std::to_string(MISALIGN_ABI_VERSION));
    }
}

/// Edge and voxel count of a network cube.
constexpr std::size_t cube_edge = MISALIGN_CUBE_EDGE;
constexpr std::size_t cube_len = MISALIGN_CUBE_LEN;

/// A borrowed volume: nz sections of ny rows of nx floats, x fastest (voxel (x, y, z) at
/// data[(z * ny + y) * nx + x]), sampling in Å/voxel. Nothing is copied or kept.
struct VolumeView {
    const float *data = nullptr;
    std::size_t nx = 0, ny = 0, nz = 0;
    float sampling_a = 0.0f;

    /// The C description of the same volume.
    misalign_volume c() const noexcept { return misalign_volume{data, nx, ny, nz, sampling_a}; }
};

/// A view of any array type with Xmipp's MultidimArray members (data, xdim, ydim, zdim,
/// ndim): `misalign::view_of(tomo(), 13.68f)` for an Image<float>'s MultidimArray. Only a single
/// volume (ndim == 1) can be viewed.
template <class MultidimArray>
VolumeView view_of(const MultidimArray &a, float sampling_a) {
    if (a.ndim != 1) {
        throw Error(MISALIGN_STATUS_INVALID_ARGUMENT,
                    "misalign::view_of: expected one volume, got ndim = " + std::to_string(a.ndim));
    }
    return VolumeView{a.data, static_cast<std::size_t>(a.xdim), static_cast<std::size_t>(a.ydim),
                      static_cast<std::size_t>(a.zdim), sampling_a};
}

/// A bead position in voxels (x, y, z), 0-based.
using Position = std::array<double, 3>;
// Arrays of positions are handed to C as 3 consecutive doubles per bead.
static_assert(sizeof(Position) == 3 * sizeof(double), "std::array<double, 3> must be unpadded");

// ---- The allocation-free core ------------------------------------------------------------

/// Normalises a 32³ cube in place to mean 0, standard deviation 1.
inline void normalize_cube(float *cube, std::size_t len) {
    detail::check(misalign_normalize_cube(cube, len));
}

/// Working memory of one forward pass (308 KiB); one per thread.
class Scratch {
public:
    Scratch() : buf_(MISALIGN_SCRATCH_LEN) {}
    float *data() noexcept { return buf_.data(); }
    std::size_t size() const noexcept { return buf_.size(); }

private:
    std::vector<float> buf_;
};

/// A network expanded into memory the caller owns (432 KiB); scoring with it never allocates.
/// Immutable after construction: share it between threads, each with its own Scratch.
class PreparedNetwork {
public:
    /// From the bytes of a .mlw weight file.
    PreparedNetwork(const std::uint8_t *weights, std::size_t len) : buf_(MISALIGN_PREPARED_LEN) {
        detail::check(misalign_prepare(weights, len, buf_.data(), buf_.size()));
    }
    explicit PreparedNetwork(const std::vector<std::uint8_t> &weights)
        : PreparedNetwork(weights.data(), weights.size()) {}

    /// Score of one normalised cube (cube_len floats).
    float score(const float *cube, std::size_t len, Scratch &scratch) const {
        float s = 0.0f;
        detail::check(misalign_score_cube(buf_.data(), buf_.size(), cube, len, scratch.data(),
                                          scratch.size(), &s));
        return s;
    }

private:
    std::vector<float> buf_;
};

// ---- Network handles ---------------------------------------------------------------------

/// A loaded network (move-only). Thread-safe for concurrent scoring.
class Network {
public:
    /// Loads a .mlw weight file.
    static Network from_file(const std::string &path) {
        misalign_network *h = nullptr;
        detail::check(misalign_network_from_file(path.c_str(), &h));
        return Network(h);
    }
    /// Loads a network from the bytes of a .mlw weight file (copied).
    static Network from_bytes(const std::uint8_t *bytes, std::size_t len) {
        misalign_network *h = nullptr;
        detail::check(misalign_network_from_bytes(bytes, len, &h));
        return Network(h);
    }
    static Network from_bytes(const std::vector<std::uint8_t> &bytes) {
        return from_bytes(bytes.data(), bytes.size());
    }

    /// Scores n_cubes cubes stored back to back (n_cubes * cube_len floats). With normalize,
    /// each is first brought to mean 0 / sd 1 (on a copy). threads = 0: all CPUs.
    std::vector<float> score(const float *cubes, std::size_t n_cubes, bool normalize = true,
                             unsigned threads = 0) const {
        std::vector<float> out(n_cubes);
        detail::check(misalign_network_score(h_.get(), cubes, n_cubes, normalize, threads,
                                             out.data(), out.size()));
        return out;
    }
    std::vector<float> score(const std::vector<float> &cubes, bool normalize = true,
                             unsigned threads = 0) const {
        if (cubes.size() % cube_len != 0) {
            throw Error(MISALIGN_STATUS_INVALID_ARGUMENT,
                        "misalign::Network::score: " + std::to_string(cubes.size()) +
                            " values is not a whole number of 32^3 cubes");
        }
        return score(cubes.data(), cubes.size() / cube_len, normalize, threads);
    }

    /// The C handle (still owned by this object).
    const misalign_network *get() const noexcept { return h_.get(); }

private:
    explicit Network(misalign_network *h) : h_(h) {}
    std::unique_ptr<misalign_network, detail::NetworkFree> h_;
};

// ---- Bead detection ----------------------------------------------------------------------

/// Detector settings (defaults: those of the original Xmipp program, bead 100 Å, all CPUs).
struct DetectOptions {
    misalign_detect_options c = misalign_detect_options_default();

    DetectOptions &fiducial_size_a(double a) { c.fiducial_size_a = a; return *this; }
    DetectOptions &threads(unsigned n) { c.threads = n; return *this; }
    DetectOptions &sd_thr(double k) { c.sd_thr = k; return *this; }
    DetectOptions &min_area(unsigned px) { c.min_area = px; return *this; }
    DetectOptions &relaxed_min(unsigned n) { c.relaxed_min = n; return *this; }
    /// Detect on the volume binned by n (0 = automatic for beads of 20+ voxels, 1 = never).
    DetectOptions &bin(unsigned n) { c.bin = n; return *this; }
    /// Called with the completed fraction (0…1) on the calling thread; return false to cancel
    /// (the call then throws misalign::Error with MISALIGN_STATUS_CANCELLED). An exception it
    /// throws cancels the call and is rethrown to the caller.
    DetectOptions &on_progress(std::function<bool(float)> f) {
        progress = std::move(f);
        return *this;
    }

    std::function<bool(float)> progress;
};

/// Finds the gold beads in a volume; positions in voxels (x, y, z), 0-based.
inline std::vector<Position> detect(const VolumeView &volume,
                                    const DetectOptions &options = DetectOptions()) {
    const misalign_volume v = volume.c();
    misalign_detect_options c = options.c;
    detail::ProgressBridge bridge;
    bridge.attach(options.progress, c);
    std::vector<Position> beads(1024);
    for (;;) {
        std::size_t n = 0;
        misalign_status st =
            misalign_detect(&v, &c, beads.empty() ? nullptr : beads[0].data(), beads.size(), &n);
        if (st == MISALIGN_STATUS_BUFFER_TOO_SMALL && n > beads.size()) {
            beads.resize(n); // rare: more beads than the first guess; run again with room
            continue;
        }
        bridge.rethrow_or_check(st);
        beads.resize(n);
        return beads;
    }
}

// ---- The whole check -----------------------------------------------------------------------

namespace detail {
struct NetworksFree {
    void operator()(misalign_networks *p) const noexcept { misalign_networks_free(p); }
};
} // namespace detail

/// The strong and weak networks of a check (move-only). Thread-safe for concurrent checks.
class Networks {
public:
    /// The networks built into the library.
    static Networks baked() {
        misalign_networks *h = nullptr;
        detail::check(misalign_networks_baked(&h));
        return Networks(h);
    }
    /// Strong and weak .mlw weight files.
    static Networks from_files(const std::string &strong, const std::string &weak) {
        misalign_networks *h = nullptr;
        detail::check(misalign_networks_from_files(strong.c_str(), weak.c_str(), &h));
        return Networks(h);
    }
    /// The C handle (still owned by this object).
    const misalign_networks *get() const noexcept { return h_.get(); }

private:
    explicit Networks(misalign_networks *h) : h_(h) {}
    std::unique_ptr<misalign_networks, detail::NetworksFree> h_;
};

/// Check settings (defaults: bead 100 Å, weak threshold 0.45, mean criterion, per-cube
/// normalisation, border beads skipped, all CPUs).
struct CheckOptions {
    misalign_check_options c = misalign_check_options_default();

    CheckOptions &fiducial_size_a(double a) { c.fiducial_size_a = a; return *this; }
    CheckOptions &weak_threshold(float t) { c.weak_threshold = t; return *this; }
    CheckOptions &threads(unsigned n) { c.threads = n; return *this; }
    CheckOptions &detector(const DetectOptions &d) { c.detector = d.c; return *this; }
    /// Progress of the whole check (detection 0…0.8, then 0.85, 0.9, 1.0); as
    /// DetectOptions::on_progress.
    CheckOptions &on_progress(std::function<bool(float)> f) {
        progress = std::move(f);
        return *this;
    }

    std::function<bool(float)> progress;
};

/// The verdict of one tomogram and the per-bead scores behind it.
struct CheckResult {
    misalign_check_result summary{};
    std::vector<misalign_bead_score> beads;

    misalign_verdict verdict() const noexcept { return summary.verdict; }
    /// "aligned", "weakly misaligned", "strongly misaligned" or "undetermined".
    const char *verdict_name() const noexcept {
        switch (summary.verdict) {
        case MISALIGN_VERDICT_ALIGNED: return "aligned";
        case MISALIGN_VERDICT_WEAK: return "weakly misaligned";
        case MISALIGN_VERDICT_STRONG: return "strongly misaligned";
        default: return "undetermined";
        }
    }
};

namespace detail {
inline CheckResult run_check(const Networks &nets, const VolumeView &volume, const double *xyz,
                             std::size_t n, const CheckOptions &options) {
    const misalign_volume v = volume.c();
    misalign_check_options c = options.c;
    ProgressBridge bridge;
    bridge.attach(options.progress, c);
    CheckResult r;
    r.beads.resize(xyz ? n : 1024);
    for (;;) {
        bridge.rethrow_or_check(misalign_check(nets.get(), &v, xyz, n, &c, &r.summary,
                                               r.beads.data(), r.beads.size()));
        if (r.summary.n_scored <= r.beads.size()) break;
        r.beads.resize(r.summary.n_scored); // rare: more detected beads than the first guess
    }
    r.beads.resize(r.summary.n_scored);
    return r;
}
} // namespace detail

/// Checks a tomogram, detecting its beads.
inline CheckResult check(const Networks &nets, const VolumeView &volume,
                         const CheckOptions &options = CheckOptions()) {
    return detail::run_check(nets, volume, nullptr, 0, options);
}

/// Checks a tomogram at given bead positions (0-based voxels).
inline CheckResult check(const Networks &nets, const VolumeView &volume,
                         const std::vector<Position> &beads,
                         const CheckOptions &options = CheckOptions()) {
    static const double none[3] = {0, 0, 0}; // a valid pointer even for an empty list
    return detail::run_check(nets, volume, beads.empty() ? none : beads[0].data(), beads.size(),
                             options);
}

} // namespace misalign

#endif // MISALIGN_HPP
