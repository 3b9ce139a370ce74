/*
 * misalign from C: score a bead cube with a network from a weight file.
 *
 * Usage: example <weights.mlw>
 *
 * Shows both ways of scoring: the allocation-free core (caller-owned prepared network and
 * scratch) and a network handle. A 32^3 cube holding a dark sphere of 16 voxels diameter stands
 * in for a bead cut out of a tomogram (the bead spans 16 voxels at the network's sampling).
 */
#include <stdio.h>
#include <stdlib.h>

#include "misalign.h"

/* Prints the failing call and the library's message; returns 1 on failure. */
static int failed(misalign_status st, const char *what) {
    if (st == MISALIGN_STATUS_OK) return 0;
    fprintf(stderr, "%s failed: %s: %s\n", what, misalign_status_name(st), misalign_last_error());
    return 1;
}

/* Reads a whole file into a new buffer. */
static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0, got;
    if (!f) return NULL;
    do {
        if (n == cap) {
            unsigned char *grown = realloc(buf, cap = cap ? 2 * cap : 65536);
            if (!grown) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = grown;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    fclose(f);
    *len = n;
    return buf;
}

int main(int argc, char **argv) {
    static float prepared[MISALIGN_PREPARED_LEN]; /* 432 KiB: static, not on the stack */
    static float scratch[MISALIGN_SCRATCH_LEN];   /* one per thread */
    static float cube[MISALIGN_CUBE_LEN];
    float score = 0.0f, batch = 0.0f;
    misalign_network *net = NULL;
    unsigned char *weights;
    size_t len = 0;
    int x, y, z, rc = 1;

    if (argc != 2) {
        fprintf(stderr, "usage: %s <weights.mlw>\n", argv[0]);
        return 2;
    }
    printf("misalign %s (ABI %u)\n", misalign_version(), misalign_abi_version());

    /* A dark bead of radius 8 voxels centred at voxel (16, 16, 16) on a grey background. */
    for (z = 0; z < MISALIGN_CUBE_EDGE; ++z)
        for (y = 0; y < MISALIGN_CUBE_EDGE; ++y)
            for (x = 0; x < MISALIGN_CUBE_EDGE; ++x) {
                int dx = x - 16, dy = y - 16, dz = z - 16;
                float v = dx * dx + dy * dy + dz * dz <= 64 ? -1.0f : 0.0f;
                cube[(z * MISALIGN_CUBE_EDGE + y) * MISALIGN_CUBE_EDGE + x] = v;
            }
    if (failed(misalign_normalize_cube(cube, MISALIGN_CUBE_LEN), "normalize")) return 1;

    /* 1. The core: no allocation inside the library. */
    weights = slurp(argv[1], &len);
    if (!weights) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 1;
    }
    if (failed(misalign_prepare(weights, len, prepared, MISALIGN_PREPARED_LEN), "prepare") ||
        failed(misalign_score_cube(prepared, MISALIGN_PREPARED_LEN, cube, MISALIGN_CUBE_LEN,
                                   scratch, MISALIGN_SCRATCH_LEN, &score),
               "score_cube"))
        goto done;

    /* 2. A handle: loads the file itself, scores batches on several threads. */
    if (failed(misalign_network_from_file(argv[1], &net), "network_from_file") ||
        failed(misalign_network_score(net, cube, 1, false, 0, &batch, 1), "network_score"))
        goto done;

    printf("score of the synthetic bead cube: %.6f (core) %.6f (handle)\n", score, batch);
    rc = score == batch ? 0 : 1;
done:
    misalign_network_free(net);
    free(weights);
    return rc;
}
