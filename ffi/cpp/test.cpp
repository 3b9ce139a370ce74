// Tests of the C++ wrapper (misalign.hpp): RAII handles, exceptions, views, detection, scores
// against the Keras golden fixture.
//
// Usage: test <fixture dir>   (tests/fixtures/keras-golden)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "misalign.hpp"
#include "synthetic_volume.hpp"

namespace {

int checks = 0, failures = 0;

void check(bool ok, const std::string &what) {
    ++checks;
    if (!ok) ++failures;
    std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
}

std::vector<std::uint8_t> slurp(const std::string &path) {
    std::ifstream f(path, std::ios::binary);
    return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(f), {});
}

/// Voxels of a little-endian float32 MRC (mode 2), after the 1024-byte header and extension.
std::vector<float> mrc_floats(const std::vector<std::uint8_t> &b) {
    auto word = [&](std::size_t i) {
        std::int32_t v;
        std::memcpy(&v, &b[4 * i], 4);
        return v;
    };
    if (b.size() < 1024 || word(3) != 2) return {};
    std::size_t n = std::size_t(word(0)) * std::size_t(word(1)) * std::size_t(word(2));
    std::size_t start = 1024 + std::size_t(word(23));
    if (b.size() != start + 4 * n) return {};
    std::vector<float> v(n);
    std::memcpy(v.data(), &b[start], 4 * n);
    return v;
}

/// Runs `f` and returns the status of the misalign::Error it throws (OK if none).
template <class F> misalign_status status_of(F f, std::string *message = nullptr) {
    try {
        f();
    } catch (const misalign::Error &e) {
        if (message) *message = e.what();
        return e.status();
    }
    return MISALIGN_STATUS_OK;
}

/// Checks that `f` throws misalign::Error with status `want` and a message containing `needle`.
template <class F>
void expect_error(F f, misalign_status want, const std::string &what, const std::string &needle = "") {
    std::string msg;
    const misalign_status st = status_of(f, &msg);
    check(st == want && msg.find(needle) != std::string::npos, what + " -> " + msg);
}

/// A stand-in with the members of Xmipp's MultidimArray<float>.
struct FakeMultidimArray {
    float *data;
    std::size_t ndim, zdim, ydim, xdim;
};

void test_networks(const std::string &dir) {
    auto weights = slurp(dir + "/model.mlw");
    auto cubes = mrc_floats(slurp(dir + "/cubes.mrc"));
    std::ifstream csv(dir + "/expected.csv");
    std::string line;
    std::vector<double> expected;
    std::getline(csv, line);
    while (std::getline(csv, line)) {
        std::istringstream fields(line);
        std::string idx, score;
        std::getline(fields, idx, ',');
        std::getline(fields, score, ',');
        expected.push_back(std::stod(score));
    }
    check(cubes.size() == 16 * misalign::cube_len && expected.size() == 16, "fixture loaded");

    // The allocation-free core.
    misalign::PreparedNetwork prepared(weights);
    misalign::Scratch scratch;
    double worst = 0;
    for (std::size_t i = 0; i < 16; ++i)
        worst = std::fmax(worst, std::fabs(prepared.score(&cubes[i * misalign::cube_len],
                                                          misalign::cube_len, scratch) -
                                           expected[i]));
    check(worst <= 1e-4, "PreparedNetwork matches Keras, max error " + std::to_string(worst));

    // Handles: from a file and from bytes, moved around.
    auto net = misalign::Network::from_file(dir + "/model.mlw");
    misalign::Network moved = std::move(net);
    check(net.get() == nullptr && moved.get() != nullptr, "a moved-from Network is empty");
    auto scores = moved.score(cubes, false, 2);
    worst = 0;
    for (std::size_t i = 0; i < 16; ++i) worst = std::fmax(worst, std::fabs(scores[i] - expected[i]));
    check(worst <= 1e-4, "Network::score matches Keras, max error " + std::to_string(worst));
    auto again = misalign::Network::from_bytes(weights).score(cubes, false, 1);
    check(again == scores, "from_bytes and from_file give identical scores");

    // Errors are exceptions with status and message.
    expect_error([] { misalign::Network::from_file("/nonexistent/net.mlw"); }, MISALIGN_STATUS_IO,
                 "a missing file throws IO naming it", "/nonexistent/net.mlw");
    auto corrupt = weights;
    corrupt[1000] ^= 1;
    expect_error([&] { misalign::Network::from_bytes(corrupt); }, MISALIGN_STATUS_WEIGHTS,
                 "corrupt weights throw WEIGHTS", "checksum");
    expect_error([&] { misalign::PreparedNetwork p(corrupt); }, MISALIGN_STATUS_WEIGHTS,
                 "PreparedNetwork refuses corrupt weights");
    std::vector<float> partial(misalign::cube_len + 1);
    expect_error([&] { moved.score(partial); }, MISALIGN_STATUS_INVALID_ARGUMENT,
                 "a partial cube is refused");
    std::vector<float> nan_cube(cubes.begin(), cubes.begin() + misalign::cube_len);
    nan_cube[77] = NAN;
    expect_error([&] { moved.score(nan_cube); }, MISALIGN_STATUS_INVALID_ARGUMENT,
                 "a NaN cube is refused", "NaN");
    expect_error([&] { misalign::normalize_cube(nan_cube.data(), nan_cube.size()); },
                 MISALIGN_STATUS_INVALID_ARGUMENT, "normalize_cube refuses NaN");
}

void test_detection() {
    // 128×112×48 voxels of 10 Å, beads of 100 Å = 10 voxels.
    const std::vector<misalign::Position> truth = {
        {30, 30, 24}, {90, 28, 20}, {60, 60, 26}, {28, 85, 22}, {95, 80, 25}};
    auto data = synthetic::volume(128, 112, 48, truth, 10.0);
    FakeMultidimArray arr{data.data(), 1, 48, 112, 128};
    auto view = misalign::view_of(arr, 10.0f);
    check(view.nx == 128 && view.ny == 112 && view.nz == 48 && view.data == data.data(),
          "view_of reads MultidimArray's xdim/ydim/zdim/data");
    auto beads = misalign::detect(view, misalign::DetectOptions().threads(2));
    std::size_t found = 0;
    for (const auto &t : truth)
        for (const auto &b : beads)
            if (std::hypot(b[0] - t[0], b[1] - t[1], b[2] - t[2]) < 5.0) {
                ++found;
                break;
            }
    check(found == truth.size(), "detect finds the " + std::to_string(truth.size()) +
                                     " planted beads (" + std::to_string(beads.size()) +
                                     " detections)");

    // Progress: a std::function sees rising fractions up to 1; false cancels; a throwing
    // callback cancels and its own exception reaches the caller.
    std::vector<float> seen;
    auto again = misalign::detect(
        view, misalign::DetectOptions().threads(2).on_progress([&](float f) {
            seen.push_back(f);
            return true;
        }));
    check(again.size() == beads.size() && !seen.empty() && seen.back() == 1.0f &&
              std::is_sorted(seen.begin(), seen.end()),
          "on_progress: " + std::to_string(seen.size()) + " rising reports ending at 1");
    expect_error([&] {
        misalign::detect(view, misalign::DetectOptions().on_progress([](float) { return false; }));
    }, MISALIGN_STATUS_CANCELLED, "returning false cancels detection", "cancelled");
    bool rethrown = false;
    try {
        misalign::detect(view, misalign::DetectOptions().on_progress([](float f) -> bool {
            if (f > 0.2f) throw std::out_of_range("host gave up");
            return true;
        }));
    } catch (const std::out_of_range &e) {
        rethrown = std::string(e.what()) == "host gave up";
    }
    check(rethrown, "an exception from the callback cancels and is rethrown as is");

    arr.ndim = 2;
    expect_error([&] { misalign::view_of(arr, 10.0f); }, MISALIGN_STATUS_INVALID_ARGUMENT,
                 "view_of refuses a stack of volumes");
    data[(20 * 112 + 10) * 128 + 5] = NAN;
    expect_error([&] { misalign::detect(view); }, MISALIGN_STATUS_INVALID_ARGUMENT,
                 "a NaN voxel is refused and located", "(x 5, y 10, z 20)");
    auto bad = view;
    bad.sampling_a = 0;
    expect_error([&] { misalign::detect(bad); }, MISALIGN_STATUS_INVALID_ARGUMENT,
                 "sampling 0 is refused");
    bad = view;
    bad.nx = static_cast<std::size_t>(-1);
    expect_error([&] { misalign::detect(bad); }, MISALIGN_STATUS_INVALID_ARGUMENT,
                 "overflowing dimensions are refused");
    bad.data = nullptr;
    expect_error([&] { misalign::detect(bad); }, MISALIGN_STATUS_NULL_POINTER,
                 "NULL data is refused");
}

void test_check(const std::string &dir) {
    const std::vector<misalign::Position> truth = {
        {30, 30, 24}, {90, 28, 20}, {60, 60, 26}, {28, 85, 22}, {95, 80, 25}};
    auto data = synthetic::volume(128, 112, 48, truth, 10.0);
    misalign::VolumeView view{data.data(), 128, 112, 48, 10.0f};
    auto nets = misalign::Networks::from_files(dir + "/model.mlw", dir + "/model.mlw");
    auto r = misalign::check(nets, view, truth, misalign::CheckOptions().threads(2));
    double sum = 0;
    for (const auto &b : r.beads) sum += b.strong;
    check(r.summary.n_beads == 5 && r.beads.size() == r.summary.n_scored && !r.beads.empty() &&
              std::fabs(sum / r.beads.size() - r.summary.strong.mean) < 1e-6,
          std::string("check at given beads: ") + r.verdict_name() + ", strong mean " +
              std::to_string(r.summary.strong.mean));
    float last = -1.0f;
    auto detected = misalign::check(misalign::Networks::baked(), view,
                                    misalign::CheckOptions().on_progress([&](float f) {
                                        last = f;
                                        return true;
                                    }));
    check(detected.summary.n_beads >= 5, std::string("check with detection and built-in networks: ") +
                                             detected.verdict_name());
    check(last == 1.0f, "check progress ends at 1");
    expect_error([&] {
        misalign::check(nets, view, misalign::CheckOptions().on_progress([](float f) {
            return f < 0.5f;
        }));
    }, MISALIGN_STATUS_CANCELLED, "a check cancelled mid-detection throws CANCELLED");
    auto none = misalign::check(nets, view, std::vector<misalign::Position>{});
    check(none.verdict() == MISALIGN_VERDICT_UNDETERMINED, "no bead: undetermined");
    const std::vector<misalign::Position> outside = {{30, 25, 500}};
    expect_error([&] { misalign::check(nets, view, outside); },
                 MISALIGN_STATUS_INVALID_ARGUMENT, "a bead outside the volume is refused",
                 "not inside");
    expect_error([&] { misalign::Networks::from_files(dir + "/model.mlw", "/nonexistent.mlw"); },
                 MISALIGN_STATUS_IO, "a missing weight file throws IO", "/nonexistent.mlw");
}

} // namespace

int main(int argc, char **argv) {
    const std::string dir = argc > 1 ? argv[1] : "tests/fixtures/keras-golden";
    try {
        misalign::check_abi();
        check(!misalign::version().empty(), "version " + misalign::version());
        test_networks(dir);
        test_detection();
        test_check(dir);
    } catch (const std::exception &e) {
        check(false, std::string("unexpected exception: ") + e.what());
    }
    std::printf("%d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
