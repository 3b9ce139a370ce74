// A tiny simulated tomogram for the example and the test: grey noise with dark gold beads.
#ifndef MISALIGN_SYNTHETIC_VOLUME_HPP
#define MISALIGN_SYNTHETIC_VOLUME_HPP

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "misalign.hpp"

namespace synthetic {

/// nz·ny·nx floats, x fastest (as Xmipp's MultidimArray<float>): background 5 with uniform
/// noise of ±0.5 and a soft-edged dark sphere (depth 2) of `diameter_px` voxels at each bead.
inline std::vector<float> volume(std::size_t nx, std::size_t ny, std::size_t nz,
                                 const std::vector<misalign::Position> &beads,
                                 double diameter_px) {
    std::vector<float> v(nx * ny * nz);
    std::uint64_t state = 0x9e3779b97f4a7c15ull; // xorshift64: deterministic noise
    for (std::size_t z = 0; z < nz; ++z)
        for (std::size_t y = 0; y < ny; ++y)
            for (std::size_t x = 0; x < nx; ++x) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                double s = 5.0 + static_cast<double>(state >> 11) / 9007199254740992.0 - 0.5;
                for (const auto &b : beads) {
                    double r = std::sqrt((x - b[0]) * (x - b[0]) + (y - b[1]) * (y - b[1]) +
                                         (z - b[2]) * (z - b[2]));
                    s -= 2.0 / (1.0 + std::exp((r - diameter_px / 2) / 0.7));
                }
                v[(z * ny + y) * nx + x] = static_cast<float>(s);
            }
    return v;
}

} // namespace synthetic

#endif
