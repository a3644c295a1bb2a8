/*
 * WebAssembly SIMD kernels that run directly on the tfjs wasm backend's heap.
 *
 * Built by ./build-simd.sh into simd-wasm.ts (the module's bytes, base64) and
 * instantiated by ./simd.ts with the backend's own WebAssembly.Memory as its
 * memory, so every pointer below is an offset of a tensor on that heap: no
 * copies in or out.
 *
 * Rules that keep this module from touching memory it does not own: no
 * globals, no static data, no stack arrays (the linker's stack would sit in
 * the backend's memory). Everything a function writes is an output or a
 * scratch buffer the caller allocated on the heap.
 *
 * Layout is channels-last throughout: a tensor of N rows (pixels) and C
 * channels is row r, channel c at x[r*C + c].
 */
#include <wasm_simd128.h>

typedef unsigned int u32;

#define EXPORT(name) __attribute__((export_name(#name)))

/* Rows summed in float32 before they are added into the float64 totals. */
#define BLOCK 64

/*
 * acc[c] += sum_r f(x[r*C + c]) over N rows, with f the identity (mean == 0,
 * squared == 0) or (x - mean[c])^2 (squared == 1). Float32 partial sums over
 * BLOCK rows, float64 totals: float32-level accuracy however large N is.
 * part: C floats of scratch. Vector path when C % 4 == 0.
 */
static void channel_sums(const float *x, u32 N, u32 C, const float *mean, int squared, float *part, double *acc) {
  for (u32 r0 = 0; r0 < N; r0 += BLOCK) {
    u32 r1 = r0 + BLOCK < N ? r0 + BLOCK : N;
    for (u32 c = 0; c < C; c++) part[c] = 0.0f;
    if ((C & 3) == 0) {
      for (u32 r = r0; r < r1; r++) {
        const float *row = x + (unsigned long)r * C;
        for (u32 c = 0; c < C; c += 4) {
          v128_t v = wasm_v128_load(row + c);
          if (squared) {
            v = wasm_f32x4_sub(v, wasm_v128_load(mean + c));
            v = wasm_f32x4_mul(v, v);
          }
          wasm_v128_store(part + c, wasm_f32x4_add(wasm_v128_load(part + c), v));
        }
      }
    } else {
      for (u32 r = r0; r < r1; r++) {
        const float *row = x + (unsigned long)r * C;
        for (u32 c = 0; c < C; c++) {
          float v = row[c];
          if (squared) {
            v -= mean[c];
            v *= v;
          }
          part[c] += v;
        }
      }
    }
    for (u32 c = 0; c < C; c++) acc[c] += part[c];
  }
}

/*
 * Batch norm in training mode, forward: per-channel batch mean and (biased)
 * variance, as tf.moments computes them (variance = mean((x - mean)^2), two
 * passes), then y = (x - mean) * gamma / sqrt(var + eps) + beta written as
 * y = x * s + t.
 * scratch: 2*C floats + 2*C doubles (8-byte aligned).
 */
EXPORT(bn_forward)
void bn_forward(const float *x, float *y, u32 N, u32 C, const float *gamma, const float *beta, float eps,
                float *mean, float *var, float *scratch) {
  float *part = scratch;
  float *s = scratch + C;
  double *acc = (double *)(scratch + 2 * C);
  double *t = acc + C;
  for (u32 c = 0; c < C; c++) acc[c] = 0.0;
  channel_sums(x, N, C, 0, 0, part, acc);
  for (u32 c = 0; c < C; c++) {
    mean[c] = (float)(acc[c] / N);
    acc[c] = 0.0;
  }
  channel_sums(x, N, C, mean, 1, part, acc);
  for (u32 c = 0; c < C; c++) {
    var[c] = (float)(acc[c] / N);
    double inv = 1.0 / __builtin_sqrt((double)var[c] + (double)eps);
    s[c] = (float)(gamma[c] * inv);
    t[c] = beta[c] - (double)mean[c] * gamma[c] * inv;
  }
  /* t as float32 in part[] for the vector loop */
  for (u32 c = 0; c < C; c++) part[c] = (float)t[c];
  if ((C & 3) == 0) {
    for (u32 r = 0; r < N; r++) {
      const float *xr = x + (unsigned long)r * C;
      float *yr = y + (unsigned long)r * C;
      for (u32 c = 0; c < C; c += 4)
        wasm_v128_store(yr + c, wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(xr + c), wasm_v128_load(s + c)), wasm_v128_load(part + c)));
    }
  } else {
    for (u32 r = 0; r < N; r++)
      for (u32 c = 0; c < C; c++) y[(unsigned long)r * C + c] = x[(unsigned long)r * C + c] * s[c] + part[c];
  }
}

/*
 * Batch norm backward, reduction pass: sums[c] = sum_r dy, sums[C + c] =
 * sum_r dy * (x - mean) (float64). scratch: 2*C floats.
 */
EXPORT(bn_backward_sums)
void bn_backward_sums(const float *dy, const float *x, u32 N, u32 C, const float *mean, double *sums, float *scratch) {
  float *p0 = scratch;
  float *p1 = scratch + C;
  for (u32 c = 0; c < 2 * C; c++) sums[c] = 0.0;
  for (u32 r0 = 0; r0 < N; r0 += BLOCK) {
    u32 r1 = r0 + BLOCK < N ? r0 + BLOCK : N;
    for (u32 c = 0; c < 2 * C; c++) scratch[c] = 0.0f;
    if ((C & 3) == 0) {
      for (u32 r = r0; r < r1; r++) {
        const float *g = dy + (unsigned long)r * C;
        const float *xr = x + (unsigned long)r * C;
        for (u32 c = 0; c < C; c += 4) {
          v128_t d = wasm_v128_load(g + c);
          v128_t xc = wasm_f32x4_sub(wasm_v128_load(xr + c), wasm_v128_load(mean + c));
          wasm_v128_store(p0 + c, wasm_f32x4_add(wasm_v128_load(p0 + c), d));
          wasm_v128_store(p1 + c, wasm_f32x4_add(wasm_v128_load(p1 + c), wasm_f32x4_mul(d, xc)));
        }
      }
    } else {
      for (u32 r = r0; r < r1; r++)
        for (u32 c = 0; c < C; c++) {
          float d = dy[(unsigned long)r * C + c];
          p0[c] += d;
          p1[c] += d * (x[(unsigned long)r * C + c] - mean[c]);
        }
    }
    for (u32 c = 0; c < C; c++) {
      sums[c] += p0[c];
      sums[C + c] += p1[c];
    }
  }
}

/* dx = a * dy + b * x + k, per channel a, b, k (the batch-norm input gradient with its coefficients folded). */
EXPORT(bn_backward_dx)
void bn_backward_dx(const float *dy, const float *x, float *dx, u32 N, u32 C, const float *a, const float *b, const float *k) {
  if ((C & 3) == 0) {
    for (u32 r = 0; r < N; r++) {
      const float *g = dy + (unsigned long)r * C;
      const float *xr = x + (unsigned long)r * C;
      float *o = dx + (unsigned long)r * C;
      for (u32 c = 0; c < C; c += 4) {
        v128_t v = wasm_f32x4_mul(wasm_v128_load(g + c), wasm_v128_load(a + c));
        v = wasm_f32x4_add(v, wasm_f32x4_mul(wasm_v128_load(xr + c), wasm_v128_load(b + c)));
        wasm_v128_store(o + c, wasm_f32x4_add(v, wasm_v128_load(k + c)));
      }
    }
  } else {
    for (u32 r = 0; r < N; r++)
      for (u32 c = 0; c < C; c++) {
        unsigned long i = (unsigned long)r * C + c;
        dx[i] = dy[i] * a[c] + x[i] * b[c] + k[c];
      }
  }
}

/* ReLU's gradient: dx = dy where x > 0, else 0 (tfjs-core's rule: step(x) * dy, step(0) = 0). */
EXPORT(relu_grad)
void relu_grad(const float *dy, const float *x, float *dx, u32 n) {
  u32 i = 0;
  v128_t zero = wasm_f32x4_splat(0.0f);
  for (; i + 4 <= n; i += 4) {
    v128_t m = wasm_f32x4_gt(wasm_v128_load(x + i), zero);
    wasm_v128_store(dx + i, wasm_v128_and(wasm_v128_load(dy + i), m));
  }
  for (; i < n; i++) dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
}

/*
 * Zero-padded copy for the convolution gradients: xp [B, Hp, Wp, Cp] with
 * x [B, H, W, C] at rows top.., columns left.., channels 0..C-1; zeros
 * elsewhere (Cp >= C rounds the channels up to a multiple of 4).
 */
EXPORT(pad_nhwc)
void pad_nhwc(const float *x, float *xp, u32 B, u32 H, u32 W, u32 C, u32 Hp, u32 Wp, u32 Cp, u32 top, u32 left) {
  unsigned long total = (unsigned long)B * Hp * Wp * Cp;
  for (unsigned long i = 0; i < total; i++) xp[i] = 0.0f;
  for (u32 b = 0; b < B; b++)
    for (u32 h = 0; h < H; h++) {
      const float *src = x + (((unsigned long)b * H + h) * W) * C;
      float *dst = xp + (((unsigned long)b * Hp + h + top) * Wp + left) * Cp;
      for (u32 w = 0; w < W; w++)
        for (u32 c = 0; c < C; c++) dst[(unsigned long)w * Cp + c] = src[(unsigned long)w * C + c];
    }
}

/*
 * Filter gradient of a 2-D convolution, from the padded input:
 *   dw[(di*fw + dj)*Cp + c][o] += sum_{b,i,j} xp[b, i*sh + di, j*sw + dj, c] * dy[b, i, j, o]
 * xp [B, Hp, Wp, Cp] (padded so that every tap is in range), dy [B, oH, oW, O],
 * Cp % 4 == 0, O % 8 == 0; dw [fh*fw*Cp, O] must be zeroed by the caller.
 * Register block: 4 input channels x 8 output channels (8 accumulators),
 * summed over the pixels of one image; one image's xp and dy stay in cache
 * while all taps and channel blocks pass over them.
 */
EXPORT(conv_filter_grad)
void conv_filter_grad(const float *xp, const float *dy, float *dw, u32 B, u32 Hp, u32 Wp, u32 Cp, u32 oH, u32 oW, u32 O,
                      u32 fh, u32 fw, u32 sh, u32 sw) {
  const unsigned long xStep = (unsigned long)sw * Cp;
  for (u32 b = 0; b < B; b++) {
    const float *ximg = xp + (unsigned long)b * Hp * Wp * Cp;
    const float *gimg = dy + (unsigned long)b * oH * oW * O;
    for (u32 di = 0; di < fh; di++)
      for (u32 dj = 0; dj < fw; dj++) {
        float *dwTap = dw + (unsigned long)(di * fw + dj) * Cp * O;
        for (u32 c = 0; c < Cp; c += 4)
          for (u32 o = 0; o < O; o += 8) {
            float *w0 = dwTap + (unsigned long)c * O + o;
            v128_t a00 = wasm_v128_load(w0), a01 = wasm_v128_load(w0 + 4);
            v128_t a10 = wasm_v128_load(w0 + O), a11 = wasm_v128_load(w0 + O + 4);
            v128_t a20 = wasm_v128_load(w0 + 2 * O), a21 = wasm_v128_load(w0 + 2 * O + 4);
            v128_t a30 = wasm_v128_load(w0 + 3 * O), a31 = wasm_v128_load(w0 + 3 * O + 4);
            for (u32 i = 0; i < oH; i++) {
              const float *xr = ximg + ((unsigned long)(i * sh + di) * Wp + dj) * Cp + c;
              const float *gr = gimg + (unsigned long)i * oW * O + o;
              for (u32 j = 0; j < oW; j++, xr += xStep, gr += O) {
                v128_t g0 = wasm_v128_load(gr), g1 = wasm_v128_load(gr + 4);
                v128_t x0 = wasm_v128_load32_splat(xr), x1 = wasm_v128_load32_splat(xr + 1);
                v128_t x2 = wasm_v128_load32_splat(xr + 2), x3 = wasm_v128_load32_splat(xr + 3);
                a00 = wasm_f32x4_add(a00, wasm_f32x4_mul(x0, g0));
                a01 = wasm_f32x4_add(a01, wasm_f32x4_mul(x0, g1));
                a10 = wasm_f32x4_add(a10, wasm_f32x4_mul(x1, g0));
                a11 = wasm_f32x4_add(a11, wasm_f32x4_mul(x1, g1));
                a20 = wasm_f32x4_add(a20, wasm_f32x4_mul(x2, g0));
                a21 = wasm_f32x4_add(a21, wasm_f32x4_mul(x2, g1));
                a30 = wasm_f32x4_add(a30, wasm_f32x4_mul(x3, g0));
                a31 = wasm_f32x4_add(a31, wasm_f32x4_mul(x3, g1));
              }
            }
            wasm_v128_store(w0, a00), wasm_v128_store(w0 + 4, a01);
            wasm_v128_store(w0 + O, a10), wasm_v128_store(w0 + O + 4, a11);
            wasm_v128_store(w0 + 2 * O, a20), wasm_v128_store(w0 + 2 * O + 4, a21);
            wasm_v128_store(w0 + 3 * O, a30), wasm_v128_store(w0 + 3 * O + 4, a31);
          }
      }
  }
}

/*
 * Direct 2-D convolution (correlation, as tf.conv2d) from the padded input:
 *   y[b, i, j, o] = sum_{di, dj, c} xp[b, i*sh + di, j*sw + dj, c] * w[di, dj, c, o]
 * xp [B, Hp, Wp, Cp] padded so that every tap is in range, w [fh, fw, Cp, O]
 * (zero rows for padded channels), Cp % 4 == 0, O % 8 == 0.
 * y[b, i, j, o] is stored at y + b*yImg + i*yRow + j*yPix + o (a dense
 * [B, oH, oW, O] tensor has yImg = oH*oW*O, yRow = oW*O, yPix = O; the
 * strided input gradient writes every s-th row and column of dx).
 * Register block: 4 neighbouring output pixels x 8 output channels (8
 * accumulators), summed over all taps and input channels, stored once.
 * Loop order per image: output-channel block outermost, so the 8 columns of
 * w it needs (fh*fw*Cp*8 floats) stay in L1 while the image passes by.
 */
EXPORT(conv_forward)
void conv_forward(const float *xp, const float *w, float *y, u32 B, u32 Hp, u32 Wp, u32 Cp, u32 oH, u32 oW, u32 O,
                  u32 fh, u32 fw, u32 sh, u32 sw, u32 yImg, u32 yRow, u32 yPix) {
  const unsigned long px = (unsigned long)sw * Cp; /* next output pixel's input offset */
  for (u32 b = 0; b < B; b++) {
    const float *ximg = xp + (unsigned long)b * Hp * Wp * Cp;
    float *yimg = y + (unsigned long)b * yImg;
    for (u32 o = 0; o < O; o += 8)
      for (u32 i = 0; i < oH; i++) {
        const float *xrow = ximg + (unsigned long)(i * sh) * Wp * Cp;
        float *yrow = yimg + (unsigned long)i * yRow + o;
        u32 j = 0;
        for (; j + 4 <= oW; j += 4) {
          v128_t a00 = wasm_f32x4_splat(0.0f), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
          for (u32 di = 0; di < fh; di++)
            for (u32 dj = 0; dj < fw; dj++) {
              const float *xs = xrow + ((unsigned long)di * Wp + (unsigned long)j * sw + dj) * Cp;
              const float *ws = w + (unsigned long)(di * fw + dj) * Cp * O + o;
              for (u32 c = 0; c < Cp; c++, xs++, ws += O) {
                v128_t g0 = wasm_v128_load(ws), g1 = wasm_v128_load(ws + 4);
                v128_t x0 = wasm_v128_load32_splat(xs), x1 = wasm_v128_load32_splat(xs + px);
                v128_t x2 = wasm_v128_load32_splat(xs + 2 * px), x3 = wasm_v128_load32_splat(xs + 3 * px);
                a00 = wasm_f32x4_add(a00, wasm_f32x4_mul(x0, g0));
                a01 = wasm_f32x4_add(a01, wasm_f32x4_mul(x0, g1));
                a10 = wasm_f32x4_add(a10, wasm_f32x4_mul(x1, g0));
                a11 = wasm_f32x4_add(a11, wasm_f32x4_mul(x1, g1));
                a20 = wasm_f32x4_add(a20, wasm_f32x4_mul(x2, g0));
                a21 = wasm_f32x4_add(a21, wasm_f32x4_mul(x2, g1));
                a30 = wasm_f32x4_add(a30, wasm_f32x4_mul(x3, g0));
                a31 = wasm_f32x4_add(a31, wasm_f32x4_mul(x3, g1));
              }
            }
          float *yo = yrow + (unsigned long)j * yPix;
          wasm_v128_store(yo, a00), wasm_v128_store(yo + 4, a01);
          wasm_v128_store(yo + yPix, a10), wasm_v128_store(yo + yPix + 4, a11);
          wasm_v128_store(yo + 2 * yPix, a20), wasm_v128_store(yo + 2 * yPix + 4, a21);
          wasm_v128_store(yo + 3 * yPix, a30), wasm_v128_store(yo + 3 * yPix + 4, a31);
        }
        for (; j < oW; j++) {
          v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0;
          for (u32 di = 0; di < fh; di++)
            for (u32 dj = 0; dj < fw; dj++) {
              const float *xs = xrow + ((unsigned long)di * Wp + (unsigned long)j * sw + dj) * Cp;
              const float *ws = w + (unsigned long)(di * fw + dj) * Cp * O + o;
              for (u32 c = 0; c < Cp; c++, xs++, ws += O) {
                v128_t x0 = wasm_v128_load32_splat(xs);
                a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(x0, wasm_v128_load(ws)));
                a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(x0, wasm_v128_load(ws + 4)));
              }
            }
          float *yo = yrow + (unsigned long)j * yPix;
          wasm_v128_store(yo, a0), wasm_v128_store(yo + 4, a1);
        }
      }
  }
}

/*
 * Winograd F(2x2, 3x3) (Lavin & Gray, 2016) for 3x3 stride-1 correlations:
 * each 2x2 block of outputs comes from a 4x4 input tile d as
 *   Y = A^T [ U (.) (B^T d B) ] A,   U = G g G^T (per input/output channel pair),
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  A^T = [1 1 1 0; 0 1 -1 -1],
 * i.e. 16 products per output pair and tile where the direct form needs 36:
 * the channel sums become 16 small matrix products (tiles x Cp) . (Cp x O).
 * xp [B, Hp, Wp, Cp] padded as for conv_forward with fh = fw = 3 (the tile
 * of output block (ti, tj) is xp rows 2ti..2ti+3, columns 2tj..2tj+3);
 * oH, oW even; U [16, Cp, O] (the caller transforms the filter); Cp % 4 == 0,
 * O % 8 == 0; output strides as conv_forward. Tiles are processed in chunks
 * of WINO_T through the scratch buffers V [16, WINO_T, Cp] and M [16, WINO_T, O].
 */
#define WINO_T 16

EXPORT(winograd_f2k3)
void winograd_f2k3(const float *xp, const float *U, float *y, u32 B, u32 Hp, u32 Wp, u32 Cp, u32 oH, u32 oW, u32 O,
                   u32 yImg, u32 yRow, u32 yPix, float *V, float *M) {
  const u32 tw = oW / 2, nT = (oH / 2) * tw;
  const unsigned long rowX = (unsigned long)Wp * Cp;
  for (u32 b = 0; b < B; b++) {
    const float *ximg = xp + (unsigned long)b * Hp * rowX;
    float *yimg = y + (unsigned long)b * yImg;
    for (u32 t0 = 0; t0 < nT; t0 += WINO_T) {
      const u32 T = nT - t0 < WINO_T ? nT - t0 : WINO_T;
      /* input transform: V[xi][t][c] = (B^T d B)[xi] */
      for (u32 t = 0; t < T; t++) {
        const u32 ti = (t0 + t) / tw, tj = (t0 + t) % tw;
        const float *d = ximg + (unsigned long)(2 * ti) * rowX + (unsigned long)(2 * tj) * Cp;
        for (u32 c = 0; c < Cp; c += 4) {
          v128_t x[4][4], u[4][4];
          for (u32 r = 0; r < 4; r++)
            for (u32 q = 0; q < 4; q++) x[r][q] = wasm_v128_load(d + r * rowX + (unsigned long)q * Cp + c);
          for (u32 q = 0; q < 4; q++) {
            u[0][q] = wasm_f32x4_sub(x[0][q], x[2][q]);
            u[1][q] = wasm_f32x4_add(x[1][q], x[2][q]);
            u[2][q] = wasm_f32x4_sub(x[2][q], x[1][q]);
            u[3][q] = wasm_f32x4_sub(x[1][q], x[3][q]);
          }
          for (u32 r = 0; r < 4; r++) {
            float *v = V + (unsigned long)(r * 4) * WINO_T * Cp + (unsigned long)t * Cp + c;
            const unsigned long xs = (unsigned long)WINO_T * Cp;
            wasm_v128_store(v, wasm_f32x4_sub(u[r][0], u[r][2]));
            wasm_v128_store(v + xs, wasm_f32x4_add(u[r][1], u[r][2]));
            wasm_v128_store(v + 2 * xs, wasm_f32x4_sub(u[r][2], u[r][1]));
            wasm_v128_store(v + 3 * xs, wasm_f32x4_sub(u[r][1], u[r][3]));
          }
        }
      }
      /* 16 products M[xi] (T x O) = V[xi] (T x Cp) . U[xi] (Cp x O), 4 tiles x 8 channels per block */
      for (u32 xi = 0; xi < 16; xi++) {
        const float *Vx = V + (unsigned long)xi * WINO_T * Cp;
        const float *Ux = U + (unsigned long)xi * Cp * O;
        float *Mx = M + (unsigned long)xi * WINO_T * O;
        for (u32 o = 0; o < O; o += 8) {
          u32 t = 0;
          for (; t + 4 <= T; t += 4) {
            v128_t a00 = wasm_f32x4_splat(0.0f), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
            const float *vs = Vx + (unsigned long)t * Cp;
            const float *us = Ux + o;
            for (u32 c = 0; c < Cp; c++, vs++, us += O) {
              v128_t g0 = wasm_v128_load(us), g1 = wasm_v128_load(us + 4);
              v128_t x0 = wasm_v128_load32_splat(vs), x1 = wasm_v128_load32_splat(vs + Cp);
              v128_t x2 = wasm_v128_load32_splat(vs + 2 * Cp), x3 = wasm_v128_load32_splat(vs + 3 * Cp);
              a00 = wasm_f32x4_add(a00, wasm_f32x4_mul(x0, g0));
              a01 = wasm_f32x4_add(a01, wasm_f32x4_mul(x0, g1));
              a10 = wasm_f32x4_add(a10, wasm_f32x4_mul(x1, g0));
              a11 = wasm_f32x4_add(a11, wasm_f32x4_mul(x1, g1));
              a20 = wasm_f32x4_add(a20, wasm_f32x4_mul(x2, g0));
              a21 = wasm_f32x4_add(a21, wasm_f32x4_mul(x2, g1));
              a30 = wasm_f32x4_add(a30, wasm_f32x4_mul(x3, g0));
              a31 = wasm_f32x4_add(a31, wasm_f32x4_mul(x3, g1));
            }
            float *mo = Mx + (unsigned long)t * O + o;
            wasm_v128_store(mo, a00), wasm_v128_store(mo + 4, a01);
            wasm_v128_store(mo + O, a10), wasm_v128_store(mo + O + 4, a11);
            wasm_v128_store(mo + 2 * O, a20), wasm_v128_store(mo + 2 * O + 4, a21);
            wasm_v128_store(mo + 3 * O, a30), wasm_v128_store(mo + 3 * O + 4, a31);
          }
          for (; t < T; t++) {
            v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0;
            const float *vs = Vx + (unsigned long)t * Cp;
            const float *us = Ux + o;
            for (u32 c = 0; c < Cp; c++, vs++, us += O) {
              v128_t x0 = wasm_v128_load32_splat(vs);
              a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(x0, wasm_v128_load(us)));
              a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(x0, wasm_v128_load(us + 4)));
            }
            float *mo = Mx + (unsigned long)t * O + o;
            wasm_v128_store(mo, a0), wasm_v128_store(mo + 4, a1);
          }
        }
      }
      /* output transform: Y = A^T M A per tile and channel */
      for (u32 t = 0; t < T; t++) {
        const u32 ti = (t0 + t) / tw, tj = (t0 + t) % tw;
        float *yo = yimg + (unsigned long)(2 * ti) * yRow + (unsigned long)(2 * tj) * yPix;
        for (u32 o = 0; o < O; o += 4) {
          v128_t m[4][4], z[2][4];
          for (u32 r = 0; r < 4; r++)
            for (u32 q = 0; q < 4; q++) m[r][q] = wasm_v128_load(M + (unsigned long)(r * 4 + q) * WINO_T * O + (unsigned long)t * O + o);
          for (u32 q = 0; q < 4; q++) {
            z[0][q] = wasm_f32x4_add(wasm_f32x4_add(m[0][q], m[1][q]), m[2][q]);
            z[1][q] = wasm_f32x4_sub(wasm_f32x4_sub(m[1][q], m[2][q]), m[3][q]);
          }
          for (u32 r = 0; r < 2; r++) {
            float *row = yo + (unsigned long)r * yRow + o;
            wasm_v128_store(row, wasm_f32x4_add(wasm_f32x4_add(z[r][0], z[r][1]), z[r][2]));
            wasm_v128_store(row + yPix, wasm_f32x4_sub(wasm_f32x4_sub(z[r][1], z[r][2]), z[r][3]));
          }
        }
      }
    }
  }
}

/*
 * Filter gradient of a 3x3 stride-1 correlation by Winograd F(3x3, 2x2):
 * dW = G^T [ sum over tiles of (A g A^T) (.) (B^T d B) ] G, where d is the
 * 4x4 input tile and g the 2x2 block of dy at block (ti, tj), and A, B, G
 * are those of F(2x2, 3x3) above (the same bilinear algorithm, transposed:
 * sum_i dy_i y_i = sum_j g_j dW_j). The sum over tiles stays in the
 * transform domain: M [16, Cp, O] += V[xi]^T . D[xi] over all tiles and
 * images (4 input x 8 output channels per register block), and the caller
 * applies G^T M G once. xp, dy, oH, oW even, Cp, O as winograd_f2k3;
 * M must be zeroed by the caller. Scratch V [16, WINO_DW_T, Cp], D [16, WINO_DW_T, O].
 */
#define WINO_DW_T 32

EXPORT(winograd_filter_grad)
void winograd_filter_grad(const float *xp, const float *dy, float *M, u32 B, u32 Hp, u32 Wp, u32 Cp, u32 oH, u32 oW, u32 O,
                          float *V, float *D) {
  const u32 tw = oW / 2, nT = (oH / 2) * tw;
  const unsigned long rowX = (unsigned long)Wp * Cp, rowG = (unsigned long)oW * O;
  const unsigned long vs = (unsigned long)WINO_DW_T * Cp, ds = (unsigned long)WINO_DW_T * O;
  for (u32 b = 0; b < B; b++) {
    const float *ximg = xp + (unsigned long)b * Hp * rowX;
    const float *gimg = dy + (unsigned long)b * oH * rowG;
    for (u32 t0 = 0; t0 < nT; t0 += WINO_DW_T) {
      const u32 T = nT - t0 < WINO_DW_T ? nT - t0 : WINO_DW_T;
      for (u32 t = 0; t < T; t++) {
        const u32 ti = (t0 + t) / tw, tj = (t0 + t) % tw;
        const float *d = ximg + (unsigned long)(2 * ti) * rowX + (unsigned long)(2 * tj) * Cp;
        for (u32 c = 0; c < Cp; c += 4) {
          v128_t x[4][4], u[4][4];
          for (u32 r = 0; r < 4; r++)
            for (u32 q = 0; q < 4; q++) x[r][q] = wasm_v128_load(d + r * rowX + (unsigned long)q * Cp + c);
          for (u32 q = 0; q < 4; q++) {
            u[0][q] = wasm_f32x4_sub(x[0][q], x[2][q]);
            u[1][q] = wasm_f32x4_add(x[1][q], x[2][q]);
            u[2][q] = wasm_f32x4_sub(x[2][q], x[1][q]);
            u[3][q] = wasm_f32x4_sub(x[1][q], x[3][q]);
          }
          for (u32 r = 0; r < 4; r++) {
            float *v = V + (unsigned long)(r * 4) * vs + (unsigned long)t * Cp + c;
            wasm_v128_store(v, wasm_f32x4_sub(u[r][0], u[r][2]));
            wasm_v128_store(v + vs, wasm_f32x4_add(u[r][1], u[r][2]));
            wasm_v128_store(v + 2 * vs, wasm_f32x4_sub(u[r][2], u[r][1]));
            wasm_v128_store(v + 3 * vs, wasm_f32x4_sub(u[r][1], u[r][3]));
          }
        }
        const float *g = gimg + (unsigned long)(2 * ti) * rowG + (unsigned long)(2 * tj) * O;
        for (u32 o = 0; o < O; o += 4) {
          v128_t g00 = wasm_v128_load(g + o), g01 = wasm_v128_load(g + O + o);
          v128_t g10 = wasm_v128_load(g + rowG + o), g11 = wasm_v128_load(g + rowG + O + o);
          /* A g: rows g0, g0 + g1, g0 - g1, -g1 (per column) */
          v128_t h[4][2];
          h[0][0] = g00, h[0][1] = g01;
          h[1][0] = wasm_f32x4_add(g00, g10), h[1][1] = wasm_f32x4_add(g01, g11);
          h[2][0] = wasm_f32x4_sub(g00, g10), h[2][1] = wasm_f32x4_sub(g01, g11);
          h[3][0] = wasm_f32x4_neg(g10), h[3][1] = wasm_f32x4_neg(g11);
          for (u32 r = 0; r < 4; r++) {
            float *e = D + (unsigned long)(r * 4) * ds + (unsigned long)t * O + o;
            wasm_v128_store(e, h[r][0]);
            wasm_v128_store(e + ds, wasm_f32x4_add(h[r][0], h[r][1]));
            wasm_v128_store(e + 2 * ds, wasm_f32x4_sub(h[r][0], h[r][1]));
            wasm_v128_store(e + 3 * ds, wasm_f32x4_neg(h[r][1]));
          }
        }
      }
      for (u32 xi = 0; xi < 16; xi++) {
        const float *Vx = V + (unsigned long)xi * vs;
        const float *Dx = D + (unsigned long)xi * ds;
        float *Mx = M + (unsigned long)xi * Cp * O;
        for (u32 c = 0; c < Cp; c += 4)
          for (u32 o = 0; o < O; o += 8) {
            float *w0 = Mx + (unsigned long)c * O + o;
            v128_t a00 = wasm_v128_load(w0), a01 = wasm_v128_load(w0 + 4);
            v128_t a10 = wasm_v128_load(w0 + O), a11 = wasm_v128_load(w0 + O + 4);
            v128_t a20 = wasm_v128_load(w0 + 2 * O), a21 = wasm_v128_load(w0 + 2 * O + 4);
            v128_t a30 = wasm_v128_load(w0 + 3 * O), a31 = wasm_v128_load(w0 + 3 * O + 4);
            const float *xv = Vx + c;
            const float *gv = Dx + o;
            for (u32 t = 0; t < T; t++, xv += Cp, gv += O) {
              v128_t g0 = wasm_v128_load(gv), g1 = wasm_v128_load(gv + 4);
              v128_t x0 = wasm_v128_load32_splat(xv), x1 = wasm_v128_load32_splat(xv + 1);
              v128_t x2 = wasm_v128_load32_splat(xv + 2), x3 = wasm_v128_load32_splat(xv + 3);
              a00 = wasm_f32x4_add(a00, wasm_f32x4_mul(x0, g0));
              a01 = wasm_f32x4_add(a01, wasm_f32x4_mul(x0, g1));
              a10 = wasm_f32x4_add(a10, wasm_f32x4_mul(x1, g0));
              a11 = wasm_f32x4_add(a11, wasm_f32x4_mul(x1, g1));
              a20 = wasm_f32x4_add(a20, wasm_f32x4_mul(x2, g0));
              a21 = wasm_f32x4_add(a21, wasm_f32x4_mul(x2, g1));
              a30 = wasm_f32x4_add(a30, wasm_f32x4_mul(x3, g0));
              a31 = wasm_f32x4_add(a31, wasm_f32x4_mul(x3, g1));
            }
            wasm_v128_store(w0, a00), wasm_v128_store(w0 + 4, a01);
            wasm_v128_store(w0 + O, a10), wasm_v128_store(w0 + O + 4, a11);
            wasm_v128_store(w0 + 2 * O, a20), wasm_v128_store(w0 + 2 * O + 4, a21);
            wasm_v128_store(w0 + 3 * O, a30), wasm_v128_store(w0 + 3 * O + 4, a31);
          }
      }
    }
  }
}

/* y = x * s + t per channel (batch norm in inference mode, with s and t folded by the caller). */
EXPORT(scale_shift)
void scale_shift(const float *x, float *y, u32 N, u32 C, const float *s, const float *t) {
  if ((C & 3) == 0) {
    for (u32 r = 0; r < N; r++) {
      const float *xr = x + (unsigned long)r * C;
      float *yr = y + (unsigned long)r * C;
      for (u32 c = 0; c < C; c += 4)
        wasm_v128_store(yr + c, wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(xr + c), wasm_v128_load(s + c)), wasm_v128_load(t + c)));
    }
  } else {
    for (u32 r = 0; r < N; r++)
      for (u32 c = 0; c < C; c++) y[(unsigned long)r * C + c] = x[(unsigned long)r * C + c] * s[c] + t[c];
  }
}
