/*
 * Tests of the misalign C ABI from C99: every function, its error paths, and the network's
 * scores against the Keras golden fixture (tests/fixtures/keras-golden).
 *
 * Usage: test <fixture dir> [--quick]
 *   <fixture dir> holds model.mlw, cubes.mrc, expected.csv; --quick scores 2 of the 16 cubes
 *   per path (for valgrind, where a forward pass is ~1000x slower).
 * Prints one line per check and exits non-zero if any check failed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "misalign.h"

static int failures = 0;
static int checks = 0;

#define CHECK(cond, ...)                                                                          \
    do {                                                                                          \
        ++checks;                                                                                 \
        if (cond) {                                                                               \
            printf("ok   ");                                                                      \
        } else {                                                                                  \
            ++failures;                                                                           \
            printf("FAIL (%s:%d) ", __FILE__, __LINE__);                                          \
        }                                                                                         \
        printf(__VA_ARGS__);                                                                      \
        printf("\n");                                                                             \
    } while (0)

/* A call must fail with `want` and leave a non-empty message. */
#define EXPECT_STATUS(call, want, what)                                                           \
    do {                                                                                          \
        misalign_status st_ = (call);                                                             \
        CHECK(st_ == (want) && (want == MISALIGN_STATUS_OK || misalign_last_error()[0] != '\0'),  \
              "%s -> %s (%s)", what, misalign_status_name(st_), misalign_last_error());           \
    } while (0)

/* Reads a whole file; returns NULL on failure. */
static unsigned char *read_file(const char *dir, const char *name, size_t *len) {
    char path[4096];
    FILE *f;
    unsigned char *buf;
    long size;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) return NULL;
    f = fopen(path, "rb");
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    buf = malloc((size_t)size + 1);
    if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[size] = 0;
        *len = (size_t)size;
    }
    return buf;
}

static int32_t le32(const unsigned char *p) {
    return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                     (uint32_t)p[3] << 24);
}

static float lef32(const unsigned char *p) {
    uint32_t u = (uint32_t)le32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* The voxels of a little-endian float32 (mode 2) MRC: 1024-byte header + extended header. */
static float *mrc_floats(const unsigned char *b, size_t len, size_t *count) {
    int32_t nx, ny, nz, mode, next;
    size_t n, i, start;
    float *v;
    if (len < 1024) return NULL;
    nx = le32(b), ny = le32(b + 4), nz = le32(b + 8), mode = le32(b + 12), next = le32(b + 92);
    if (mode != 2 || nx <= 0 || ny <= 0 || nz <= 0 || next < 0) return NULL;
    n = (size_t)nx * (size_t)ny * (size_t)nz;
    start = 1024 + (size_t)next;
    if (len != start + 4 * n) return NULL;
    v = malloc(n * sizeof *v);
    if (!v) return NULL;
    for (i = 0; i < n; ++i) v[i] = lef32(b + start + 4 * i);
    *count = n;
    return v;
}

/* expected.csv: "index,score,logit" then one line per cube. Returns the number read. */
static size_t read_expected(const char *text, double *scores, size_t cap) {
    size_t n = 0;
    const char *line = strchr(text, '\n');
    while (line && n < cap) {
        unsigned idx;
        double s, l;
        ++line;
        if (sscanf(line, "%u,%lf,%lf", &idx, &s, &l) != 3 || idx != n) break;
        scores[n++] = s;
        line = strchr(line, '\n');
    }
    return n;
}

static void test_version_and_errors(void) {
    char buf[8];
    size_t n;
    CHECK(misalign_abi_version() == MISALIGN_ABI_VERSION, "ABI version %u matches the header",
          misalign_abi_version());
    CHECK(strlen(misalign_version()) > 0, "library version %s", misalign_version());
    CHECK(strcmp(misalign_status_name(MISALIGN_STATUS_OK), "ok") == 0, "status name of OK");
    CHECK(strcmp(misalign_status_name(12345), "unknown status") == 0, "unknown status name");
    CHECK(misalign_last_error() != NULL && misalign_last_error()[0] == '\0',
          "no error before any call");
    EXPECT_STATUS(misalign_network_from_file(NULL, NULL), MISALIGN_STATUS_NULL_POINTER,
                  "network_from_file(NULL, NULL)");
    n = misalign_last_error_copy(NULL, 0);
    CHECK(n == strlen(misalign_last_error()) && n > 0, "last_error_copy length query = %zu", n);
    n = misalign_last_error_copy(buf, sizeof buf);
    CHECK(n >= sizeof buf && strlen(buf) == sizeof buf - 1 &&
              strncmp(buf, misalign_last_error(), sizeof buf - 1) == 0,
          "last_error_copy truncates like snprintf (\"%s\")", buf);
}

static void test_core(const unsigned char *w, size_t wlen, const float *cubes, size_t ncubes,
                      const double *expected) {
    float *prep = malloc(MISALIGN_PREPARED_LEN * sizeof *prep);
    float *scratch = malloc(MISALIGN_SCRATCH_LEN * sizeof *scratch);
    float *cube = malloc(MISALIGN_CUBE_LEN * sizeof *cube);
    unsigned char *bad = malloc(wlen);
    float score = -1.0f;
    double worst = 0.0, mean = 0.0, var = 0.0;
    size_t i;
    int all_ok = 1;
    if (!prep || !scratch || !cube || !bad) {
        CHECK(0, "allocation");
        return;
    }
    memset(prep, 0, MISALIGN_PREPARED_LEN * sizeof *prep);

    /* An unprepared buffer is refused, not scored. */
    EXPECT_STATUS(misalign_score_cube(prep, MISALIGN_PREPARED_LEN, cubes, MISALIGN_CUBE_LEN,
                                      scratch, MISALIGN_SCRATCH_LEN, &score),
                  MISALIGN_STATUS_INVALID_ARGUMENT, "score_cube with an unprepared buffer");
    CHECK(score == -1.0f, "score untouched on error");

    /* Corrupt and truncated weights. */
    memcpy(bad, w, wlen);
    bad[wlen / 2] ^= 0x10;
    EXPECT_STATUS(misalign_prepare(bad, wlen, prep, MISALIGN_PREPARED_LEN),
                  MISALIGN_STATUS_WEIGHTS, "prepare with a flipped bit");
    EXPECT_STATUS(misalign_prepare(w, wlen - 1, prep, MISALIGN_PREPARED_LEN),
                  MISALIGN_STATUS_WEIGHTS, "prepare with truncated weights");
    EXPECT_STATUS(misalign_prepare(NULL, wlen, prep, MISALIGN_PREPARED_LEN),
                  MISALIGN_STATUS_NULL_POINTER, "prepare with NULL weights");
    EXPECT_STATUS(misalign_prepare(w, wlen, NULL, MISALIGN_PREPARED_LEN),
                  MISALIGN_STATUS_NULL_POINTER, "prepare with NULL output");
    EXPECT_STATUS(misalign_prepare(w, wlen, prep, MISALIGN_PREPARED_LEN - 1),
                  MISALIGN_STATUS_INVALID_ARGUMENT, "prepare into a short buffer");
    EXPECT_STATUS(misalign_prepare(w, wlen, prep, MISALIGN_PREPARED_LEN), MISALIGN_STATUS_OK,
                  "prepare the golden weights");
    CHECK(misalign_last_error()[0] == '\0', "success clears the last error");

    /* Every golden cube, as Keras scored it. */
    for (i = 0; i < ncubes; ++i) {
        misalign_status st =
            misalign_score_cube(prep, MISALIGN_PREPARED_LEN, cubes + i * MISALIGN_CUBE_LEN,
                                MISALIGN_CUBE_LEN, scratch, MISALIGN_SCRATCH_LEN, &score);
        double err = fabs((double)score - expected[i]);
        if (st != MISALIGN_STATUS_OK || !(err <= 1e-4)) all_ok = 0;
        if (err > worst) worst = err;
    }
    CHECK(all_ok && ncubes > 0, "%zu golden cubes match Keras, max |error| = %.2e", ncubes,
          worst);

    /* Argument checks of score_cube. */
    EXPECT_STATUS(misalign_score_cube(prep, MISALIGN_PREPARED_LEN, NULL, MISALIGN_CUBE_LEN,
                                      scratch, MISALIGN_SCRATCH_LEN, &score),
                  MISALIGN_STATUS_NULL_POINTER, "score_cube with a NULL cube");
    EXPECT_STATUS(misalign_score_cube(prep, MISALIGN_PREPARED_LEN, cubes, MISALIGN_CUBE_LEN,
                                      scratch, MISALIGN_SCRATCH_LEN, NULL),
                  MISALIGN_STATUS_NULL_POINTER, "score_cube with a NULL score");
    EXPECT_STATUS(misalign_score_cube(prep, MISALIGN_PREPARED_LEN, cubes, MISALIGN_CUBE_LEN - 1,
                                      scratch, MISALIGN_SCRATCH_LEN, &score),
                  MISALIGN_STATUS_INVALID_ARGUMENT, "score_cube with a short cube");
    EXPECT_STATUS(misalign_score_cube(prep, MISALIGN_PREPARED_LEN, cubes, MISALIGN_CUBE_LEN,
                                      scratch, MISALIGN_SCRATCH_LEN - 1, &score),
                  MISALIGN_STATUS_INVALID_ARGUMENT, "score_cube with a short scratch");
    EXPECT_STATUS(misalign_score_cube(prep, MISALIGN_PREPARED_LEN, scratch, MISALIGN_CUBE_LEN,
                                      scratch, MISALIGN_SCRATCH_LEN, &score),
                  MISALIGN_STATUS_INVALID_ARGUMENT, "score_cube with cube inside scratch");
    memcpy(cube, cubes, MISALIGN_CUBE_LEN * sizeof *cube);
    cube[1234] = (float)NAN;
    EXPECT_STATUS(misalign_score_cube(prep, MISALIGN_PREPARED_LEN, cube, MISALIGN_CUBE_LEN,
                                      scratch, MISALIGN_SCRATCH_LEN, &score),
                  MISALIGN_STATUS_INVALID_ARGUMENT, "score_cube with a NaN voxel");

    /* Normalisation: mean 0, sd 1, computed here independently in double precision. */
    EXPECT_STATUS(misalign_normalize_cube(cube, MISALIGN_CUBE_LEN),
                  MISALIGN_STATUS_INVALID_ARGUMENT, "normalize_cube with a NaN voxel");
    EXPECT_STATUS(misalign_normalize_cube(NULL, MISALIGN_CUBE_LEN), MISALIGN_STATUS_NULL_POINTER,
                  "normalize_cube(NULL)");
    EXPECT_STATUS(misalign_normalize_cube(cube, 7), MISALIGN_STATUS_INVALID_ARGUMENT,
                  "normalize_cube with 7 voxels");
    for (i = 0; i < MISALIGN_CUBE_LEN; ++i) cube[i] = 100.0f + (float)((i * 7919u) % 101u);
    EXPECT_STATUS(misalign_normalize_cube(cube, MISALIGN_CUBE_LEN), MISALIGN_STATUS_OK,
                  "normalize_cube");
    for (i = 0; i < MISALIGN_CUBE_LEN; ++i) mean += cube[i];
    mean /= MISALIGN_CUBE_LEN;
    for (i = 0; i < MISALIGN_CUBE_LEN; ++i) var += (cube[i] - mean) * (cube[i] - mean);
    var /= MISALIGN_CUBE_LEN;
    CHECK(fabs(mean) < 1e-5 && fabs(sqrt(var) - 1.0) < 1e-5, "normalised mean %.1e, sd %.6f",
          mean, sqrt(var));

    free(bad);
    free(cube);
    free(scratch);
    free(prep);
}

static void test_network(const char *dir, const unsigned char *w, size_t wlen, const float *cubes,
                         size_t ncubes, const double *expected) {
    misalign_network *a = NULL, *b = (misalign_network *)&failures;
    float scores[16] = {0}, again[16] = {0};
    char path[4096];
    size_t i;
    double worst = 0.0, diff = 0.0;
    snprintf(path, sizeof path, "%s/model.mlw", dir);

    EXPECT_STATUS(misalign_network_from_file("/nonexistent/none.mlw", &b), MISALIGN_STATUS_IO,
                  "network_from_file on a missing file");
    CHECK(b == NULL, "handle set to NULL on error");
    EXPECT_STATUS(misalign_network_from_file("", &b), MISALIGN_STATUS_INVALID_ARGUMENT,
                  "network_from_file(\"\")");
    EXPECT_STATUS(misalign_network_from_bytes(w, 100, &b), MISALIGN_STATUS_WEIGHTS,
                  "network_from_bytes with 100 bytes");
    EXPECT_STATUS(misalign_network_from_bytes(w, wlen, NULL), MISALIGN_STATUS_NULL_POINTER,
                  "network_from_bytes with NULL out");
    EXPECT_STATUS(misalign_network_from_file(path, &a), MISALIGN_STATUS_OK, "network_from_file");
    EXPECT_STATUS(misalign_network_from_bytes(w, wlen, &b), MISALIGN_STATUS_OK,
                  "network_from_bytes");

    EXPECT_STATUS(misalign_network_score(a, cubes, ncubes, false, 2, scores, ncubes),
                  MISALIGN_STATUS_OK, "network_score, 2 threads");
    for (i = 0; i < ncubes; ++i) {
        double e = fabs((double)scores[i] - expected[i]);
        if (e > worst) worst = e;
    }
    CHECK(worst <= 1e-4, "batch scores match Keras, max |error| = %.2e", worst);
    EXPECT_STATUS(misalign_network_score(b, cubes, ncubes, false, 1, again, ncubes),
                  MISALIGN_STATUS_OK, "network_score from bytes, 1 thread");
    for (i = 0; i < ncubes; ++i) diff = fmax(diff, fabs((double)again[i] - scores[i]));
    CHECK(diff == 0.0, "file and bytes handles, 1 and 2 threads agree exactly");

    EXPECT_STATUS(misalign_network_score(NULL, cubes, 1, false, 1, scores, 1),
                  MISALIGN_STATUS_NULL_POINTER, "network_score with a NULL handle");
    EXPECT_STATUS(misalign_network_score(a, cubes, ncubes, false, 1, scores, ncubes - 1),
                  MISALIGN_STATUS_BUFFER_TOO_SMALL, "network_score with a short output");
    EXPECT_STATUS(misalign_network_score(a, cubes, (size_t)-1, false, 1, scores, 16),
                  MISALIGN_STATUS_INVALID_ARGUMENT, "network_score with an overflowing count");
    EXPECT_STATUS(misalign_network_score(a, NULL, 0, false, 1, NULL, 0), MISALIGN_STATUS_OK,
                  "network_score with zero cubes");

    misalign_network_free(a);
    misalign_network_free(b);
    misalign_network_free(NULL);
}

/* nz*ny*nx floats, x fastest: background 5 with uniform noise of +-0.5 and a soft dark sphere of
 * diameter 10 voxels and depth 2 at each of the n beads. */
static float *planted_volume(size_t nx, size_t ny, size_t nz, const double (*beads)[3], size_t n) {
    float *v = malloc(nx * ny * nz * sizeof *v);
    uint64_t state = 0x9e3779b97f4a7c15u;
    size_t x, y, z, b;
    if (!v) return NULL;
    for (z = 0; z < nz; ++z)
        for (y = 0; y < ny; ++y)
            for (x = 0; x < nx; ++x) {
                double s;
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                s = 5.0 + (double)(state >> 11) / 9007199254740992.0 - 0.5;
                for (b = 0; b < n; ++b) {
                    double dx = x - beads[b][0], dy = y - beads[b][1], dz = z - beads[b][2];
                    s -= 2.0 / (1.0 + exp((sqrt(dx * dx + dy * dy + dz * dz) - 5.0) / 0.7));
                }
                v[(z * ny + y) * nx + x] = (float)s;
            }
    return v;
}

/* Progress recorder: counts calls, checks the fractions never fall, cancels after `stop_after`
 * calls (a negative value never cancels). */
struct progress_log {
    int calls, stop_after, monotone;
    float last;
};

static bool record_progress(float fraction, void *user_data) {
    struct progress_log *log = (struct progress_log *)user_data;
    if (fraction < log->last || fraction < 0.0f || fraction > 1.0f) log->monotone = 0;
    log->last = fraction;
    log->calls += 1;
    return log->stop_after < 0 || log->calls <= log->stop_after;
}

static void test_detect(void) {
    static const double truth[5][3] = {
        {30, 30, 24}, {90, 28, 20}, {60, 60, 26}, {28, 85, 22}, {95, 80, 25}};
    const size_t nx = 128, ny = 112, nz = 48;
    float *data = planted_volume(nx, ny, nz, truth, 5);
    misalign_volume vol;
    misalign_detect_options opts = misalign_detect_options_default();
    double xyz[3 * 16], one[3];
    size_t n = 99, i, j, matched = 0;
    if (!data) {
        CHECK(0, "allocation");
        return;
    }
    vol.data = data, vol.nx = nx, vol.ny = ny, vol.nz = nz, vol.sampling_a = 10.0f;
    CHECK(opts.fiducial_size_a == 100.0 && opts.threads == 0 && opts.bin == 0 &&
              opts.progress == NULL,
          "detect defaults: 100 A, all CPUs, automatic binning, no progress callback");
    opts.threads = 2;
    EXPECT_STATUS(misalign_detect(&vol, &opts, xyz, 16, &n), MISALIGN_STATUS_OK, "detect");
    for (i = 0; i < 5; ++i)
        for (j = 0; j < n && j < 16; ++j) {
            double dx = xyz[3 * j] - truth[i][0], dy = xyz[3 * j + 1] - truth[i][1],
                   dz = xyz[3 * j + 2] - truth[i][2];
            if (sqrt(dx * dx + dy * dy + dz * dz) < 5.0) {
                ++matched;
                break;
            }
        }
    CHECK(matched == 5, "the 5 planted beads found (%zu detections)", n);
    {
        struct progress_log log = {0, -1, 1, 0.0f};
        size_t n2 = 0;
        opts.progress = record_progress;
        opts.progress_user_data = &log;
        EXPECT_STATUS(misalign_detect(&vol, &opts, xyz, 16, &n2), MISALIGN_STATUS_OK,
                      "detect with a progress callback");
        CHECK(n2 == n && log.monotone && log.last == 1.0f && log.calls > (int)nz / 2,
              "progress: %d calls, non-decreasing, ending at %g, same %zu beads", log.calls,
              (double)log.last, n2);
        log.calls = 0, log.stop_after = 3, log.last = 0.0f;
        n2 = 77;
        EXPECT_STATUS(misalign_detect(&vol, &opts, xyz, 16, &n2), MISALIGN_STATUS_CANCELLED,
                      "returning false from the callback cancels detection");
        CHECK(log.calls == 4 && n2 == 0, "cancelled at the 4th report, count 0 (%d, %zu)",
              log.calls, n2);
        opts.progress = NULL;
        opts.progress_user_data = NULL;
    }
    if (n > 1) {
        size_t total = n;
        EXPECT_STATUS(misalign_detect(&vol, NULL, one, 1, &n), MISALIGN_STATUS_BUFFER_TOO_SMALL,
                      "detect into a 1-bead array");
        CHECK(n == total && one[0] == xyz[0] && one[2] == xyz[2],
              "first bead written, total %zu reported", n);
    }
    EXPECT_STATUS(misalign_detect(NULL, NULL, xyz, 16, &n), MISALIGN_STATUS_NULL_POINTER,
                  "detect(NULL volume)");
    CHECK(n == 0, "count is 0 after an error");
    EXPECT_STATUS(misalign_detect(&vol, NULL, xyz, 16, NULL), MISALIGN_STATUS_NULL_POINTER,
                  "detect with NULL count");
    EXPECT_STATUS(misalign_detect(&vol, NULL, NULL, 16, &n), MISALIGN_STATUS_NULL_POINTER,
                  "detect with NULL output and capacity 16");
    vol.sampling_a = (float)NAN;
    EXPECT_STATUS(misalign_detect(&vol, NULL, xyz, 16, &n), MISALIGN_STATUS_INVALID_ARGUMENT,
                  "detect with NaN sampling");
    vol.sampling_a = 10.0f;
    vol.nz = 0;
    EXPECT_STATUS(misalign_detect(&vol, NULL, xyz, 16, &n), MISALIGN_STATUS_INVALID_ARGUMENT,
                  "detect with nz = 0");
    vol.nz = (size_t)-1 / 2;
    EXPECT_STATUS(misalign_detect(&vol, NULL, xyz, 16, &n), MISALIGN_STATUS_INVALID_ARGUMENT,
                  "detect with overflowing dimensions");
    vol.nz = nz;
    vol.data = (const float *)((const char *)data + 1);
    EXPECT_STATUS(misalign_detect(&vol, NULL, xyz, 16, &n), MISALIGN_STATUS_INVALID_ARGUMENT,
                  "detect with misaligned data");
    vol.data = data;
    EXPECT_STATUS(misalign_detect(&vol, NULL, (double *)(void *)data, 16, &n),
                  MISALIGN_STATUS_INVALID_ARGUMENT, "detect writing over its own volume");
    opts.fiducial_size_a = 1.0;
    EXPECT_STATUS(misalign_detect(&vol, &opts, xyz, 16, &n), MISALIGN_STATUS_INVALID_ARGUMENT,
                  "detect with a 0.1-voxel bead");
    data[(7 * ny + 3) * nx + 2] = (float)NAN;
    EXPECT_STATUS(misalign_detect(&vol, NULL, xyz, 16, &n), MISALIGN_STATUS_INVALID_ARGUMENT,
                  "detect in a volume with a NaN voxel");
    CHECK(strstr(misalign_last_error(), "(x 2, y 3, z 7)") != NULL, "the NaN voxel is located");
    free(data);
}

static void test_baked(const float *cubes) {
    float *prep = malloc(MISALIGN_PREPARED_LEN * sizeof *prep);
    float *scratch = malloc(MISALIGN_SCRATCH_LEN * sizeof *scratch);
    misalign_network *net = NULL;
    misalign_net_kind kinds[2] = {MISALIGN_NET_STRONG, MISALIGN_NET_WEAK};
    int k;
    if (!prep || !scratch) {
        CHECK(0, "allocation");
        return;
    }
    for (k = 0; k < 2; ++k) {
        float core = -1.0f, handle = -2.0f;
        EXPECT_STATUS(misalign_prepare_baked(kinds[k], prep, MISALIGN_PREPARED_LEN),
                      MISALIGN_STATUS_OK, "prepare_baked");
        EXPECT_STATUS(misalign_score_cube(prep, MISALIGN_PREPARED_LEN, cubes, MISALIGN_CUBE_LEN,
                                          scratch, MISALIGN_SCRATCH_LEN, &core),
                      MISALIGN_STATUS_OK, "score_cube with a built-in network");
        EXPECT_STATUS(misalign_network_baked(kinds[k], &net), MISALIGN_STATUS_OK,
                      "network_baked");
        EXPECT_STATUS(misalign_network_score(net, cubes, 1, false, 1, &handle, 1),
                      MISALIGN_STATUS_OK, "network_score with a built-in network");
        CHECK(core == handle && core >= 0.0f && core <= 1.0f,
              "built-in network %d: core and handle agree (%.6f)", k + 1, core);
        misalign_network_free(net);
        net = NULL;
    }
    EXPECT_STATUS(misalign_prepare_baked(99, prep, MISALIGN_PREPARED_LEN),
                  MISALIGN_STATUS_INVALID_ARGUMENT, "prepare_baked with kind 99");
    EXPECT_STATUS(misalign_network_baked(0, &net), MISALIGN_STATUS_INVALID_ARGUMENT,
                  "network_baked with kind 0");
    EXPECT_STATUS(misalign_prepare_baked(MISALIGN_NET_WEAK, NULL, MISALIGN_PREPARED_LEN),
                  MISALIGN_STATUS_NULL_POINTER, "prepare_baked into NULL");
    free(scratch);
    free(prep);
}

static void test_check(const char *dir) {
    static const double truth[5][3] = {
        {30, 30, 24}, {90, 28, 20}, {60, 60, 26}, {28, 85, 22}, {95, 80, 25}};
    const size_t nx = 128, ny = 112, nz = 48;
    float *data = planted_volume(nx, ny, nz, truth, 5);
    char path[4096];
    misalign_networks *nets = NULL, *baked = NULL;
    misalign_volume vol;
    misalign_check_options opts = misalign_check_options_default();
    misalign_check_result res, untouched;
    misalign_bead_score rows[8];
    double bad[3] = {30.0, 25.0, 200.0}, strong_sum = 0.0;
    size_t i;
    int consistent;
    if (!data) {
        CHECK(0, "allocation");
        return;
    }
    vol.data = data, vol.nx = nx, vol.ny = ny, vol.nz = nz, vol.sampling_a = 10.0f;
    snprintf(path, sizeof path, "%s/model.mlw", dir);
    CHECK(opts.fiducial_size_a == 100.0 && opts.weak_threshold > 0.449f &&
              opts.weak_threshold < 0.451f && opts.criterion == MISALIGN_CRITERION_MEAN,
          "check defaults: 100 A, weak threshold 0.45, mean criterion");
    EXPECT_STATUS(misalign_networks_from_files(path, "/nonexistent/weak.mlw", &nets),
                  MISALIGN_STATUS_IO, "networks_from_files with a missing weak file");
    CHECK(nets == NULL, "handle NULL after an error");
    EXPECT_STATUS(misalign_networks_from_files(path, path, &nets), MISALIGN_STATUS_OK,
                  "networks_from_files (the golden weights for both stages)");

    /* Given coordinates: the result must follow from its own per-bead scores. */
    opts.threads = 2;
    EXPECT_STATUS(misalign_check(nets, &vol, &truth[0][0], 5, &opts, &res, rows, 8),
                  MISALIGN_STATUS_OK, "check at 5 given beads");
    for (i = 0; i < res.n_scored && i < 8; ++i) strong_sum += rows[i].strong;
    consistent = res.n_beads == 5 && res.n_scored + res.n_skipped == 5 && res.n_scored > 0 &&
                 res.has_strong && res.strong.count == res.n_scored &&
                 fabs(strong_sum / res.n_scored - res.strong.mean) < 1e-6 &&
                 res.cube_sampling_a > 5.5f && res.cube_sampling_a < 7.0f;
    if (res.strong.mean > 0.5f)
        consistent = consistent && res.has_weak &&
                     res.verdict == (res.weak.mean > 0.45f ? MISALIGN_VERDICT_ALIGNED
                                                           : MISALIGN_VERDICT_WEAK);
    else
        consistent = consistent && !res.has_weak && res.verdict == MISALIGN_VERDICT_STRONG &&
                     isnan(rows[0].weak);
    CHECK(consistent, "verdict %u from strong mean %.3f over %zu beads (weak %s %.3f), cubes %.2f A",
          res.verdict, res.strong.mean, res.n_scored, res.has_weak ? "mean" : "not run",
          res.weak.mean, res.cube_sampling_a);
    CHECK(rows[0].input_index < 5 && fabs(rows[0].x - truth[rows[0].input_index][0]) < 1e-9,
          "bead rows carry input index and position");

    /* Progress through a whole check; cancelling leaves the result untouched. */
    {
        struct progress_log log = {0, -1, 1, 0.0f};
        misalign_check_result before = res;
        opts.progress = record_progress;
        opts.progress_user_data = &log;
        EXPECT_STATUS(misalign_check(nets, &vol, &truth[0][0], 5, &opts, &res, rows, 8),
                      MISALIGN_STATUS_OK, "check with a progress callback");
        CHECK(log.monotone && log.last == 1.0f && log.calls >= 3 &&
                  res.verdict == before.verdict,
              "check progress: %d calls ending at %g, same verdict", log.calls,
              (double)log.last);
        log.calls = 0, log.stop_after = 1, log.last = 0.0f;
        memset(&res, 0xcd, sizeof res);
        memset(&before, 0xcd, sizeof before);
        EXPECT_STATUS(misalign_check(nets, &vol, &truth[0][0], 5, &opts, &res, rows, 8),
                      MISALIGN_STATUS_CANCELLED, "cancelled check");
        CHECK(memcmp(&res, &before, sizeof res) == 0, "a cancelled check writes no result");
        opts.progress = NULL;
        opts.progress_user_data = NULL;
    }

    /* No bead at all: undetermined, never aligned. */
    EXPECT_STATUS(misalign_check(nets, &vol, &truth[0][0], 0, NULL, &res, NULL, 0),
                  MISALIGN_STATUS_OK, "check with an empty coordinate list");
    CHECK(res.verdict == MISALIGN_VERDICT_UNDETERMINED && !res.has_strong,
          "no bead gives MISALIGN_VERDICT_UNDETERMINED");

    /* Refusals leave the result untouched. */
    memset(&untouched, 0xab, sizeof untouched);
    res = untouched;
    EXPECT_STATUS(misalign_check(NULL, &vol, NULL, 0, NULL, &res, NULL, 0),
                  MISALIGN_STATUS_NULL_POINTER, "check with NULL networks");
    EXPECT_STATUS(misalign_check(nets, &vol, NULL, 0, NULL, NULL, NULL, 0),
                  MISALIGN_STATUS_NULL_POINTER, "check with NULL result");
    EXPECT_STATUS(misalign_check(nets, &vol, bad, 1, NULL, &res, NULL, 0),
                  MISALIGN_STATUS_INVALID_ARGUMENT, "check at a bead outside the volume");
    bad[2] = NAN;
    EXPECT_STATUS(misalign_check(nets, &vol, bad, 1, NULL, &res, NULL, 0),
                  MISALIGN_STATUS_INVALID_ARGUMENT, "check at a NaN coordinate");
    opts.criterion = 7;
    EXPECT_STATUS(misalign_check(nets, &vol, &truth[0][0], 5, &opts, &res, NULL, 0),
                  MISALIGN_STATUS_INVALID_ARGUMENT, "check with an unknown criterion");
    opts.criterion = MISALIGN_CRITERION_MEAN;
    opts.weak_threshold = 2.0f;
    EXPECT_STATUS(misalign_check(nets, &vol, &truth[0][0], 5, &opts, &res, NULL, 0),
                  MISALIGN_STATUS_INVALID_ARGUMENT, "check with weak threshold 2");
    data[5] = (float)NAN;
    EXPECT_STATUS(misalign_check(nets, &vol, &truth[0][0], 5, NULL, &res, NULL, 0),
                  MISALIGN_STATUS_INVALID_ARGUMENT, "check of a volume with a NaN voxel");
    CHECK(memcmp(&res, &untouched, sizeof res) == 0, "result untouched by refused calls");
    data[5] = 5.0f;

    /* The built-in networks, beads from the detector. */
    EXPECT_STATUS(misalign_networks_baked(&baked), MISALIGN_STATUS_OK, "networks_baked");
    EXPECT_STATUS(misalign_check(baked, &vol, NULL, 0, NULL, &res, rows, 8), MISALIGN_STATUS_OK,
                  "check with detection and the built-in networks");
    CHECK(res.verdict <= MISALIGN_VERDICT_ALIGNED && res.n_beads >= 5,
          "built-in verdict %u over %zu detected beads", res.verdict, res.n_beads);

    misalign_networks_free(baked);
    misalign_networks_free(nets);
    misalign_networks_free(NULL);
    free(data);
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "tests/fixtures/keras-golden";
    size_t wlen = 0, mlen = 0, clen = 0, nvox = 0, ncubes = 0;
    unsigned char *w = read_file(dir, "model.mlw", &wlen);
    unsigned char *mrc = read_file(dir, "cubes.mrc", &mlen);
    unsigned char *csv = read_file(dir, "expected.csv", &clen);
    float *cubes = mrc ? mrc_floats(mrc, mlen, &nvox) : NULL;
    double expected[16];
    int quick;
    if (!w || !mrc || !csv || !cubes) {
        fprintf(stderr, "cannot read the fixtures in %s\n", dir);
        return 2;
    }
    ncubes = nvox / MISALIGN_CUBE_LEN;
    quick = argc > 2 && strcmp(argv[2], "--quick") == 0;
    CHECK(wlen == MISALIGN_WEIGHTS_LEN, "weight file has MISALIGN_WEIGHTS_LEN bytes");
    CHECK(ncubes == 16 && read_expected((const char *)csv, expected, 16) == 16,
          "fixture: 16 cubes and 16 expected scores");

    test_version_and_errors();
    if (quick) ncubes = 2;
    test_core(w, wlen, cubes, ncubes, expected);
    test_network(dir, w, wlen, cubes, ncubes, expected);
    test_detect();
    test_baked(cubes);
    test_check(dir);

    free(cubes);
    free(csv);
    free(mrc);
    free(w);
    printf("%d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
