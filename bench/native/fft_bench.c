/* Native baseline for bench/fft.bench.ts: times KissFFT's real FFT (kiss_fftr) of N samples.
 * Usage: fft_bench N REPEATS ROUNDS. Prints one line per round: "ns_per_transform <value>",
 * then "check <sum of |X[k]|>" so the compiler cannot drop the work. */
#include <kiss_fftr.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <math.h>

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: fft_bench N REPEATS ROUNDS\n"); return 2; }
    int n = atoi(argv[1]), repeats = atoi(argv[2]), rounds = atoi(argv[3]);
    if (n < 2 || n % 2 != 0 || repeats < 1 || rounds < 1) { fprintf(stderr, "bad arguments\n"); return 2; }
    kiss_fftr_cfg cfg = kiss_fftr_alloc(n, 0, NULL, NULL);
    float *in = malloc(sizeof(float) * (size_t)n);
    kiss_fft_cpx *out = malloc(sizeof(kiss_fft_cpx) * (size_t)(n / 2 + 1));
    if (!cfg || !in || !out) { fprintf(stderr, "out of memory\n"); return 1; }
    unsigned seed = 12345;
    for (int i = 0; i < n; i++) { seed = seed * 1664525u + 1013904223u; in[i] = (float)(seed >> 8) / 16777216.0f - 0.5f; }
    for (int r = 0; r < repeats; r++) kiss_fftr(cfg, in, out); /* warm-up */
    for (int round = 0; round < rounds; round++) {
        double start = now_ns();
        for (int r = 0; r < repeats; r++) kiss_fftr(cfg, in, out);
        printf("ns_per_transform %.1f\n", (now_ns() - start) / repeats);
    }
    double check = 0;
    for (int k = 0; k <= n / 2; k++) check += hypot(out[k].r, out[k].i);
    printf("check %.6f\n", check);
    kiss_fftr_free(cfg);
    free(in);
    free(out);
    return 0;
}
