/*
 * The certification noise z ~ N(0, I) in WebAssembly SIMD: Philox4x32-10
 * (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011), a
 * counter-based generator, feeding the Box-Muller transform.
 *
 * Built by ./build-noise.sh into noise-wasm.ts (the module's bytes, base64)
 * and driven by ./noise.ts, which documents the stream (what each draw is a
 * function of) and holds a float64 reference of the same definition that the
 * tests compare this code with.
 *
 * Definition, for sample j of a stream with key (k0, k1) and D values:
 *   tuple t (t = 0, 1, ...): (w0, w1, w2, w3) = Philox4x32-10(counter (t, j mod 2^32, j / 2^32, 0), key (k0, k1))
 *   values 4t .. 4t+3:       (r cos a, r sin a) from (w0, w1), then the same from (w2, w3), with
 *                            r = sqrt(-2 ln((w_even + 1/2) / 2^32)), a = 2 pi w_odd / 2^32
 *   out[k] = base[k] + sigma * z[k]
 * Every value is a function of (key, j, k) alone, so any batch schedule and any
 * worker split give the same draws.
 *
 * Float32 throughout: ln via the Cephes logf polynomial, sin/cos via the
 * Cephes sinf/cosf polynomials on [-pi/4, pi/4] after an exact octant
 * reduction of w_odd, each within a few float32 ulps. ln((w + 1/2) / 2^32)
 * for w >= 2^31 is evaluated as log1p(-v) with v = (~w + 1/2) / 2^32, so r
 * keeps float32 precision near 0 too (a plain float32 uniform would round
 * u = 1 - 2^-32 to 1 and r to 0).
 *
 * No globals, no static data, no stack arrays: the caller's memory holds
 * everything.
 */
#include <wasm_simd128.h>

typedef unsigned int u32;

#define EXPORT(name) __attribute__((export_name(#name)))

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

/* Lane-wise 32 x 32 -> 64-bit products of a and m: low and high words. */
static inline void mulhilo(v128_t a, v128_t m, v128_t *lo, v128_t *hi) {
  v128_t p01 = wasm_u64x2_extmul_low_u32x4(a, m);
  v128_t p23 = wasm_u64x2_extmul_high_u32x4(a, m);
  *lo = wasm_i32x4_shuffle(p01, p23, 0, 2, 4, 6);
  *hi = wasm_i32x4_shuffle(p01, p23, 1, 3, 5, 7);
}

/* Philox4x32-10 on four counters at once (lane l holds counter l). */
static inline void philox4(v128_t *c0, v128_t *c1, v128_t *c2, v128_t *c3, u32 k0, u32 k1) {
  const v128_t m0 = wasm_i32x4_splat((int)PHILOX_M0), m1 = wasm_i32x4_splat((int)PHILOX_M1);
  v128_t x0 = *c0, x1 = *c1, x2 = *c2, x3 = *c3;
  for (int round = 0; round < 10; round++) {
    v128_t lo0, hi0, lo1, hi1;
    mulhilo(x0, m0, &lo0, &hi0);
    mulhilo(x2, m1, &lo1, &hi1);
    v128_t key0 = wasm_i32x4_splat((int)k0), key1 = wasm_i32x4_splat((int)k1);
    x0 = wasm_v128_xor(wasm_v128_xor(hi1, x1), key0);
    x1 = lo1;
    x2 = wasm_v128_xor(wasm_v128_xor(hi0, x3), key1);
    x3 = lo0;
    k0 += PHILOX_W0;
    k1 += PHILOX_W1;
  }
  *c0 = x0;
  *c1 = x1;
  *c2 = x2;
  *c3 = x3;
}

/* -2 ln((w + 1/2) / 2^32), lane-wise, in float32 (see the header). */
static inline v128_t minus_two_ln_uniform(v128_t w) {
  const v128_t half = wasm_f32x4_splat(0.5f), two_m32 = wasm_f32x4_splat(2.3283064365386963e-10f);
  const v128_t sqrth = wasm_f32x4_splat(0.70710678118654752f);
  const v128_t one = wasm_f32x4_splat(1.0f);
  // Case A (w < 2^31, u <= 1/2): u itself, split into 2^e * m with m in [sqrt(1/2), sqrt(2)).
  v128_t u = wasm_f32x4_mul(wasm_f32x4_add(wasm_f32x4_convert_u32x4(w), half), two_m32);
  v128_t e_a = wasm_i32x4_sub(wasm_u32x4_shr(u, 23), wasm_i32x4_splat(126));
  v128_t m = wasm_v128_or(wasm_v128_and(u, wasm_i32x4_splat(0x007fffff)), wasm_i32x4_splat(0x3f000000)); /* [0.5, 1) */
  v128_t low = wasm_f32x4_lt(m, sqrth);
  e_a = wasm_i32x4_add(e_a, low); /* true lanes are -1 */
  v128_t f_a = wasm_f32x4_sub(wasm_v128_bitselect(wasm_f32x4_add(m, m), m, low), one);
  // Case B (w >= 2^31, u > 1/2): v = 1 - u exactly from the complement; ln u = ln(1 - v).
  v128_t v = wasm_f32x4_mul(wasm_f32x4_add(wasm_f32x4_convert_u32x4(wasm_v128_not(w)), half), two_m32);
  v128_t near1 = wasm_f32x4_le(v, wasm_f32x4_splat(0.29289321881345248f)); /* 1 - v >= sqrt(1/2) */
  v128_t f_b = wasm_v128_bitselect(wasm_f32x4_neg(v), wasm_f32x4_sub(one, wasm_f32x4_add(v, v)), near1);
  v128_t e_b = wasm_v128_andnot(wasm_i32x4_splat(-1), near1); /* 0 or -1 */
  v128_t caseB = wasm_i32x4_lt(w, wasm_i32x4_splat(0));
  v128_t f = wasm_v128_bitselect(f_b, f_a, caseB);
  v128_t fe = wasm_f32x4_convert_i32x4(wasm_v128_bitselect(e_b, e_a, caseB));
  // Cephes logf: ln(2^e (1 + f)) = e ln 2 + f - f^2 / 2 + f^3 P(f).
  v128_t z = wasm_f32x4_mul(f, f);
  v128_t p = wasm_f32x4_splat(7.0376836292E-2f);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, f), wasm_f32x4_splat(-1.1514610310E-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, f), wasm_f32x4_splat(1.1676998740E-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, f), wasm_f32x4_splat(-1.2420140846E-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, f), wasm_f32x4_splat(1.4249322787E-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, f), wasm_f32x4_splat(-1.6668057665E-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, f), wasm_f32x4_splat(2.0000714765E-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, f), wasm_f32x4_splat(-2.4999993993E-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, f), wasm_f32x4_splat(3.3333331174E-1f));
  v128_t y = wasm_f32x4_mul(wasm_f32x4_mul(p, f), z);
  y = wasm_f32x4_add(y, wasm_f32x4_mul(fe, wasm_f32x4_splat(-2.12194440e-4f)));
  y = wasm_f32x4_sub(y, wasm_f32x4_mul(half, z));
  v128_t ln = wasm_f32x4_add(f, y);
  ln = wasm_f32x4_add(ln, wasm_f32x4_mul(fe, wasm_f32x4_splat(0.693359375f)));
  return wasm_f32x4_mul(ln, wasm_f32x4_splat(-2.0f));
}

/* (cos a, sin a) for a = 2 pi w / 2^32, lane-wise, in float32. */
static inline void cos_sin_turn(v128_t w, v128_t *cos_a, v128_t *sin_a) {
  // Octant o = w >> 29; a = o pi/4 + (w mod 2^29) 2^-29 pi/4 = q pi/2 + b, b in [-pi/4, pi/4]:
  // q = (o + 1) >> 1, and b is the octant fraction minus 1 in odd octants (exact in integers).
  v128_t o = wasm_u32x4_shr(w, 29);
  v128_t odd = wasm_i32x4_neg(wasm_v128_and(o, wasm_i32x4_splat(1))); /* 0 or -1 */
  v128_t frac = wasm_v128_and(w, wasm_i32x4_splat(0x1fffffff));
  frac = wasm_i32x4_sub(frac, wasm_v128_and(odd, wasm_i32x4_splat(0x20000000)));
  v128_t b = wasm_f32x4_mul(wasm_f32x4_convert_i32x4(frac), wasm_f32x4_splat(1.4629180792671596e-9f)); /* pi/4 / 2^29 */
  v128_t q = wasm_u32x4_shr(wasm_i32x4_add(o, wasm_i32x4_splat(1)), 1);
  v128_t z = wasm_f32x4_mul(b, b);
  v128_t s = wasm_f32x4_splat(-1.9515295891E-4f);
  s = wasm_f32x4_add(wasm_f32x4_mul(s, z), wasm_f32x4_splat(8.3321608736E-3f));
  s = wasm_f32x4_add(wasm_f32x4_mul(s, z), wasm_f32x4_splat(-1.6666654611E-1f));
  s = wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_mul(s, z), b), b);
  v128_t c = wasm_f32x4_splat(2.443315711809948E-005f);
  c = wasm_f32x4_add(wasm_f32x4_mul(c, z), wasm_f32x4_splat(-1.388731625493765E-003f));
  c = wasm_f32x4_add(wasm_f32x4_mul(c, z), wasm_f32x4_splat(4.166664568298827E-002f));
  c = wasm_f32x4_mul(wasm_f32x4_mul(c, z), z);
  c = wasm_f32x4_add(wasm_f32x4_sub(c, wasm_f32x4_mul(wasm_f32x4_splat(0.5f), z)), wasm_f32x4_splat(1.0f));
  // Rotate by q quarter turns: q odd swaps cos and sin; cos is negated for q in {1, 2}, sin for q in {2, 3}.
  v128_t swap = wasm_i32x4_neg(wasm_v128_and(q, wasm_i32x4_splat(1)));
  v128_t cc = wasm_v128_bitselect(s, c, swap);
  v128_t ss = wasm_v128_bitselect(c, s, swap);
  v128_t cos_neg = wasm_i32x4_shl(wasm_v128_and(wasm_i32x4_add(q, wasm_i32x4_splat(1)), wasm_i32x4_splat(2)), 30);
  v128_t sin_neg = wasm_i32x4_shl(wasm_v128_and(q, wasm_i32x4_splat(2)), 30);
  *cos_a = wasm_v128_xor(cc, cos_neg);
  *sin_a = wasm_v128_xor(ss, sin_neg);
}

/* Box-Muller, lane-wise: (z0, z1) from (w0, w1) and (z2, z3) from (w2, w3). */
static inline void box_muller(v128_t w0, v128_t w1, v128_t w2, v128_t w3, v128_t *z0, v128_t *z1, v128_t *z2, v128_t *z3) {
  v128_t r01 = wasm_f32x4_sqrt(minus_two_ln_uniform(w0));
  v128_t r23 = wasm_f32x4_sqrt(minus_two_ln_uniform(w2));
  v128_t c01, s01, c23, s23;
  cos_sin_turn(w1, &c01, &s01);
  cos_sin_turn(w3, &c23, &s23);
  *z0 = wasm_f32x4_mul(r01, c01);
  *z1 = wasm_f32x4_mul(r01, s01);
  *z2 = wasm_f32x4_mul(r23, c23);
  *z3 = wasm_f32x4_mul(r23, s23);
}

/* sigma * z for values 4t .. 4t+15 of sample (j_lo, j_hi), in memory order (v0 = values 4t .. 4t+3, ...). */
__attribute__((always_inline)) static inline void sigma_z16(u32 t, v128_t cj_lo, v128_t cj_hi, u32 k0, u32 k1, v128_t sg, v128_t *v0, v128_t *v1, v128_t *v2, v128_t *v3) {
  v128_t w0 = wasm_i32x4_make((int)t, (int)(t + 1), (int)(t + 2), (int)(t + 3));
  v128_t w1 = cj_lo, w2 = cj_hi, w3 = wasm_i32x4_splat(0);
  philox4(&w0, &w1, &w2, &w3, k0, k1);
  v128_t z0, z1, z2, z3;
  box_muller(w0, w1, w2, w3, &z0, &z1, &z2, &z3);
  // Lane l of z_i is value 4 (t + l) + i: transpose to memory order.
  v128_t a = wasm_i32x4_shuffle(z0, z1, 0, 4, 1, 5), b = wasm_i32x4_shuffle(z2, z3, 0, 4, 1, 5);
  v128_t c = wasm_i32x4_shuffle(z0, z1, 2, 6, 3, 7), d = wasm_i32x4_shuffle(z2, z3, 2, 6, 3, 7);
  *v0 = wasm_f32x4_mul(sg, wasm_i32x4_shuffle(a, b, 0, 1, 4, 5));
  *v1 = wasm_f32x4_mul(sg, wasm_i32x4_shuffle(a, b, 2, 3, 6, 7));
  *v2 = wasm_f32x4_mul(sg, wasm_i32x4_shuffle(c, d, 0, 1, 4, 5));
  *v3 = wasm_f32x4_mul(sg, wasm_i32x4_shuffle(c, d, 2, 3, 6, 7));
}

/*
 * out[k] = base[k] + sigma * z[k], k < D rounded up to a multiple of 16, for
 * sample j (j_lo + 2^32 j_hi) of the stream with key (k0, k1). out and base
 * are 16-byte aligned and hold that many floats (the caller pads base).
 */
EXPORT(fill_sample)
void fill_sample(u32 k0, u32 k1, u32 j_lo, u32 j_hi, u32 D, float sigma, const float *base, float *out) {
  const v128_t sg = wasm_f32x4_splat(sigma);
  const v128_t cj_lo = wasm_i32x4_splat((int)j_lo), cj_hi = wasm_i32x4_splat((int)j_hi);
  for (u32 t = 0; 4 * t < D; t += 4) {
    v128_t v0, v1, v2, v3;
    sigma_z16(t, cj_lo, cj_hi, k0, k1, sg, &v0, &v1, &v2, &v3);
    float *o = out + 4 * t;
    const float *u = base + 4 * t;
    wasm_v128_store(o, wasm_f32x4_add(wasm_v128_load(u), v0));
    wasm_v128_store(o + 4, wasm_f32x4_add(wasm_v128_load(u + 4), v1));
    wasm_v128_store(o + 8, wasm_f32x4_add(wasm_v128_load(u + 8), v2));
    wasm_v128_store(o + 12, wasm_f32x4_add(wasm_v128_load(u + 12), v3));
  }
}

/*
 * m consecutive samples j, j + 1, ..., j + m - 1 (j = j_lo + 2^32 j_hi),
 * packed: out[s * D + k] = base[k] + sigma * z_{j+s}[k] for k < D exactly.
 * Neither out nor base needs alignment or padding: nothing outside the m * D
 * outputs and the D base values is read or written (the last partial block of
 * 16 values of each sample is stored lane by lane). So out can be a tensor's
 * own buffer in the tfjs wasm backend's heap (lib/smoothing/philox.ts).
 * The values are those of fill_sample, bit for bit.
 */
EXPORT(fill_samples)
void fill_samples(u32 k0, u32 k1, u32 j_lo, u32 j_hi, u32 m, u32 D, float sigma, const float *base, float *out) {
  const v128_t sg = wasm_f32x4_splat(sigma);
  for (u32 s = 0; s < m; s++) {
    const u32 lo = j_lo + s;
    const u32 hi = j_hi + (lo < j_lo); /* carry into the high word */
    const v128_t cj_lo = wasm_i32x4_splat((int)lo), cj_hi = wasm_i32x4_splat((int)hi);
    float *o = out + s * D;
    u32 t = 0;
    for (; 4 * t + 16 <= D; t += 4) {
      v128_t v0, v1, v2, v3;
      sigma_z16(t, cj_lo, cj_hi, k0, k1, sg, &v0, &v1, &v2, &v3);
      wasm_v128_store(o + 4 * t, wasm_f32x4_add(wasm_v128_load(base + 4 * t), v0));
      wasm_v128_store(o + 4 * t + 4, wasm_f32x4_add(wasm_v128_load(base + 4 * t + 4), v1));
      wasm_v128_store(o + 4 * t + 8, wasm_f32x4_add(wasm_v128_load(base + 4 * t + 8), v2));
      wasm_v128_store(o + 4 * t + 12, wasm_f32x4_add(wasm_v128_load(base + 4 * t + 12), v3));
    }
    if (4 * t < D) {
      v128_t v0, v1, v2, v3;
      sigma_z16(t, cj_lo, cj_hi, k0, k1, sg, &v0, &v1, &v2, &v3);
      float *ot = o + 4 * t;
      const float *ut = base + 4 * t;
      const u32 r = D - 4 * t; /* 1 .. 15 values left */
      /* Constant lane indices only: a variable one would put the vectors on a stack, which the module does not have. */
#define PUT(v, l, i) if ((i) < r) ot[i] = ut[i] + wasm_f32x4_extract_lane(v, l)
      PUT(v0, 0, 0); PUT(v0, 1, 1); PUT(v0, 2, 2); PUT(v0, 3, 3);
      PUT(v1, 0, 4); PUT(v1, 1, 5); PUT(v1, 2, 6); PUT(v1, 3, 7);
      PUT(v2, 0, 8); PUT(v2, 1, 9); PUT(v2, 2, 10); PUT(v2, 3, 11);
      PUT(v3, 0, 12); PUT(v3, 1, 13); PUT(v3, 2, 14);
#undef PUT
    }
  }
}

/* The raw Philox4x32-10 words of counters (c0 + l, c1, c2, c3), l = 0..3, into out[4l .. 4l+3] (for the known-answer tests). */
EXPORT(philox_words)
void philox_words(u32 c0, u32 c1, u32 c2, u32 c3, u32 k0, u32 k1, u32 *out) {
  v128_t w0 = wasm_i32x4_make((int)c0, (int)(c0 + 1), (int)(c0 + 2), (int)(c0 + 3));
  v128_t w1 = wasm_i32x4_splat((int)c1), w2 = wasm_i32x4_splat((int)c2), w3 = wasm_i32x4_splat((int)c3);
  philox4(&w0, &w1, &w2, &w3, k0, k1);
  v128_t a = wasm_i32x4_shuffle(w0, w1, 0, 4, 1, 5), b = wasm_i32x4_shuffle(w2, w3, 0, 4, 1, 5);
  v128_t c = wasm_i32x4_shuffle(w0, w1, 2, 6, 3, 7), d = wasm_i32x4_shuffle(w2, w3, 2, 6, 3, 7);
  wasm_v128_store(out, wasm_i32x4_shuffle(a, b, 0, 1, 4, 5));
  wasm_v128_store(out + 4, wasm_i32x4_shuffle(a, b, 2, 3, 6, 7));
  wasm_v128_store(out + 8, wasm_i32x4_shuffle(c, d, 0, 1, 4, 5));
  wasm_v128_store(out + 12, wasm_i32x4_shuffle(c, d, 2, 3, 6, 7));
}

/* The Box-Muller transform alone (for the tests): words w[0..15] as the four lane vectors w0..w3, out[0..15] = z0..z3 (lane order, not transposed). */
EXPORT(box_muller_words)
void box_muller_words(const u32 *w, float *out) {
  v128_t z0, z1, z2, z3;
  box_muller(wasm_v128_load(w), wasm_v128_load(w + 4), wasm_v128_load(w + 8), wasm_v128_load(w + 12), &z0, &z1, &z2, &z3);
  wasm_v128_store(out, z0);
  wasm_v128_store(out + 4, z1);
  wasm_v128_store(out + 8, z2);
  wasm_v128_store(out + 12, z3);
}
