// misalign from C++ the way an Xmipp program would use it: a tomogram already in memory (here
// simulated: a MultidimArray-like block of floats, x fastest) → gold beads → verdict.
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
        std::printf("%zu beads found:\n", beads.size());
        for (const auto &b : beads) std::printf("  x %6.2f  y %6.2f  z %6.2f\n", b[0], b[1], b[2]);
        return beads.empty() ? 1 : 0;
    } catch (const misalign::Error &e) {
        std::fprintf(stderr, "misalign error (status %u): %s\n", unsigned(e.status()), e.what());
        return 1;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
}
