// misalign from C++ the way an Xmipp program would use it: a tomogram already in memory (here
// simulated: a MultidimArray-like block of floats, x fastest) → gold beads → verdict with the
// networks built into the library.
//
// Usage: example
#include <cstdio>
#include <exception>
#include <vector>

#include "misalign.hpp"
#include "synthetic_volume.hpp"

int main() {
    try {
        misalign::check_abi();
        std::printf("misalign %s\n", misalign::version().c_str());

        // 1. The tomogram: 128 × 112 × 48 voxels of 10 Å with five 100 Å gold beads.
        //    In Xmipp this is `Image<float> tomo; tomo.read(fn); tomo()`, and
        //    `misalign::view_of(tomo(), sampling)` makes the same view without copying.
        const std::vector<misalign::Position> planted = {
            {30, 30, 24}, {90, 28, 20}, {60, 60, 26}, {28, 85, 22}, {95, 80, 25}};
        std::vector<float> voxels = synthetic::volume(128, 112, 48, planted, 10.0);
        misalign::VolumeView tomo{voxels.data(), 128, 112, 48, 10.0f};

        // 2. The beads (0-based voxel x, y, z).
        auto beads = misalign::detect(tomo, misalign::DetectOptions().fiducial_size_a(100.0));
        std::printf("%zu beads found\n", beads.size());

        // 3. The verdict, with the networks built into the library. (Passing `beads` is what
        //    an Xmipp protocol with its own coordinates does; misalign::check(nets, tomo)
        //    detects them itself.)
        auto nets = misalign::Networks::baked();
        misalign::CheckResult r = misalign::check(nets, tomo, beads);
        const auto &s = r.summary;
        std::printf("verdict: %s (Xmipp class %u)\n", r.verdict_name(), unsigned(r.verdict()));
        std::printf("strong network: mean %.3f over %zu beads\n", s.strong.mean, s.strong.count);
        if (s.has_weak)
            std::printf("weak network:   mean %.3f\n", s.weak.mean);
        else
            std::printf("weak network:   not run (failed the strong stage)\n");
        for (const auto &b : r.beads)
            std::printf("  bead %zu at (%.1f, %.1f, %.1f): strong %.3f  weak %.3f\n",
                        b.input_index, b.x, b.y, b.z, b.strong, b.weak);
        return 0;
    } catch (const misalign::Error &e) {
        std::fprintf(stderr, "misalign error (status %u): %s\n", unsigned(e.status()), e.what());
        return 1;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
}
