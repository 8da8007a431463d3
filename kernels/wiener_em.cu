// Wiener post-filter kernels: openunmix's filtering.wiener in float32, one kernel per stage of
// unmix/wiener_stages.h (the CPU twins).
//
//   peak               max |x|^2 per window (block reduction, one atomicMax per block)
//   initial_estimates  one thread per (frame, bin): magnitude + mixture phase or soft mask, residual, scaling
//   covariance         one thread per (source, window, bin): walks the window's frames for v_j and R_j
//   update             one thread per (frame, bin): Cxx = sqrt(eps) I + sum v_j R_j, its inverse, y_j = v_j R_j Cxx^-1 x
//
// Threads of a warp take neighbouring bins, so every access to a [.][frame][bin] array is coalesced.
#include "common.cuh"
#include "unmix/gpu/kernels.h"

namespace unmix::gpu {

namespace {

using detail::kThreads;

__device__ __forceinline__ Complex cadd(Complex a, Complex b) { return {a.re + b.re, a.im + b.im}; }
__device__ __forceinline__ Complex csub(Complex a, Complex b) { return {a.re - b.re, a.im - b.im}; }
__device__ __forceinline__ Complex cmul(Complex a, Complex b) {
  return {a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re};
}
__device__ __forceinline__ Complex cscale(float s, Complex a) { return {s * a.re, s * a.im}; }
__device__ __forceinline__ Complex cconj(Complex a) { return {a.re, -a.im}; }
__device__ __forceinline__ float cnorm2(Complex a) { return a.re * a.re + a.im * a.im; }
// openunmix's _inv: conj(z) / |z|^2
__device__ __forceinline__ Complex cinv(Complex z) {
  const float n = cnorm2(z);
  return {z.re / n, -z.im / n};
}

__device__ __forceinline__ float window_scale(const WienerArgs& a, int w) {
  return fmaxf(1.f, sqrtf(__uint_as_float(a.peak[w])) / a.scale_factor);
}

__device__ __forceinline__ size_t source_index(const WienerArgs& a, int j, int c, int t, int f) {
  return ((static_cast<size_t>(j) * a.channels + c) * a.frames + t) * a.bins + f;
}

__global__ void peak_kernel(WienerArgs a) {
  const int w = blockIdx.y;
  const int first = w * a.window;
  const int count = min(a.frames, first + a.window) - first;
  const long long per_channel = static_cast<long long>(count) * a.bins;
  const long long total = per_channel * a.channels;
  float peak = 0.f;
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<long long>(gridDim.x) * blockDim.x) {
    const int c = static_cast<int>(i / per_channel);
    const long long rest = i % per_channel;
    peak = fmaxf(peak, cnorm2(a.mix[(static_cast<size_t>(c) * a.frames + first) * a.bins + rest]));
  }
  for (int offset = 16; offset > 0; offset /= 2) peak = fmaxf(peak, __shfl_down_sync(0xffffffffu, peak, offset));
  __shared__ float warp_peaks[kThreads / 32];
  if (threadIdx.x % 32 == 0) warp_peaks[threadIdx.x / 32] = peak;
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int k = 1; k < kThreads / 32; ++k) peak = fmaxf(peak, warp_peaks[k]);
    atomicMax(&a.peak[w], __float_as_uint(peak));
  }
}

template <int C>
__global__ void initial_estimates_kernel(WienerArgs a) {
  const long long index = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (index >= static_cast<long long>(a.frames) * a.bins) return;
  const int t = static_cast<int>(index / a.bins), f = static_cast<int>(index % a.bins);
  const float inv_scale = a.scaled ? 1.f / window_scale(a, t / a.window) : 1.f;
  for (int c = 0; c < C; ++c) {
    const Complex x = a.mix[(static_cast<size_t>(c) * a.frames + t) * a.bins + f];
    const int mch = a.magnitude_channels == 1 ? 0 : c;
    auto magnitude = [&](int j) {
      return a.magnitudes[((static_cast<size_t>(j) * a.frames + t) * a.magnitude_channels + mch) * a.bins + f];
    };
    Complex rest = x;
    float total = 0.f;
    if (a.softmask)
      for (int j = 0; j < a.targets; ++j) total += magnitude(j);
    const float r = hypotf(x.re, x.im);
    const Complex phase = r > 0.f ? Complex{x.re / r, x.im / r} : Complex{1.f, 0.f};
    for (int j = 0; j < a.targets; ++j) {
      const Complex y = a.softmask ? cscale(magnitude(j) / (a.eps + total), x) : cscale(magnitude(j), phase);
      rest = csub(rest, y);
      a.sources[source_index(a, j, c, t, f)] = cscale(inv_scale, y);
    }
    if (a.residual) a.sources[source_index(a, a.targets, c, t, f)] = cscale(inv_scale, rest);
  }
}

template <int C>
__global__ void covariance_kernel(WienerArgs a) {
  const int f = blockIdx.x * blockDim.x + threadIdx.x;
  const int j = blockIdx.y, w = blockIdx.z;
  if (f >= a.bins) return;
  const int first = w * a.window, last = min(a.frames, first + a.window);
  Complex sum[C][C];
  for (int p = 0; p < C; ++p)
    for (int q = 0; q < C; ++q) sum[p][q] = Complex{0.f, 0.f};
  float weight = a.eps;
  for (int t = first; t < last; ++t) {
    Complex y[C];
    float power = 0.f;
    for (int c = 0; c < C; ++c) {
      y[c] = a.sources[source_index(a, j, c, t, f)];
      power += cnorm2(y[c]);
    }
    power /= C;
    a.power[(static_cast<size_t>(j) * a.frames + t) * a.bins + f] = power;
    weight += power;
    for (int p = 0; p < C; ++p)
      for (int q = 0; q < C; ++q) sum[p][q] = cadd(sum[p][q], cmul(y[p], cconj(y[q])));
  }
  Complex* out = a.covariance + ((static_cast<size_t>(j) * a.windows + w) * a.bins + f) * (C * C);
  for (int p = 0; p < C; ++p)
    for (int q = 0; q < C; ++q) out[p * C + q] = Complex{sum[p][q].re / weight, sum[p][q].im / weight};
}

template <int C>
__global__ void update_kernel(WienerArgs a, bool last) {
  const long long index = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (index >= static_cast<long long>(a.frames) * a.bins) return;
  const int t = static_cast<int>(index / a.bins), f = static_cast<int>(index % a.bins);
  const int w = t / a.window;
  const float scale = window_scale(a, w);
  const float inv_scale = 1.f / scale;
  Complex x[C];
  for (int c = 0; c < C; ++c) x[c] = cscale(inv_scale, a.mix[(static_cast<size_t>(c) * a.frames + t) * a.bins + f]);

  auto covariance = [&](int j) {
    return a.covariance + ((static_cast<size_t>(j) * a.windows + w) * a.bins + f) * (C * C);
  };
  auto power = [&](int j) { return a.power[(static_cast<size_t>(j) * a.frames + t) * a.bins + f]; };

  Complex cxx[C][C];
  const float regularization = sqrtf(a.eps);
  for (int p = 0; p < C; ++p)
    for (int q = 0; q < C; ++q) cxx[p][q] = Complex{p == q ? regularization : 0.f, 0.f};
  for (int j = 0; j < a.sources_count; ++j) {
    const float v = power(j);
    const Complex* R = covariance(j);
    for (int p = 0; p < C; ++p)
      for (int q = 0; q < C; ++q) cxx[p][q] = cadd(cxx[p][q], cscale(v, R[p * C + q]));
  }
  // openunmix's _invert: adjugate over the determinant
  Complex inv[C][C];
  if constexpr (C == 1) {
    inv[0][0] = cinv(cxx[0][0]);
  } else {
    const Complex inv_det = cinv(csub(cmul(cxx[0][0], cxx[1][1]), cmul(cxx[0][1], cxx[1][0])));
    const Complex neg_inv_det{-inv_det.re, -inv_det.im};
    inv[0][0] = cmul(inv_det, cxx[1][1]);
    inv[1][0] = cmul(neg_inv_det, cxx[1][0]);
    inv[0][1] = cmul(neg_inv_det, cxx[0][1]);
    inv[1][1] = cmul(inv_det, cxx[0][0]);
  }
  const float out_scale = last ? scale : 1.f;
  for (int j = 0; j < a.sources_count; ++j) {
    const float v = power(j);
    const Complex* R = covariance(j);
    for (int p = 0; p < C; ++p) {
      Complex y{0.f, 0.f};
      for (int q = 0; q < C; ++q) {
        Complex g{0.f, 0.f};
        for (int k = 0; k < C; ++k) g = cadd(g, cmul(R[p * C + k], inv[k][q]));
        y = cadd(y, cmul(cscale(v, g), x[q]));
      }
      a.sources[source_index(a, j, p, t, f)] = cscale(out_scale, y);
    }
  }
}

// One thread per (frame, bin), bins fastest.
unsigned frame_bin_blocks(const WienerArgs& a) {
  return static_cast<unsigned>((static_cast<long long>(a.frames) * a.bins + kThreads - 1) / kThreads);
}

}  // namespace

void launch_wiener_peak(const WienerArgs& a, cudaStream_t stream) {
  // Enough blocks to fill the device for a window of a few hundred frames; each thread strides the rest.
  const dim3 grid(64, static_cast<unsigned>(a.windows));
  peak_kernel<<<grid, kThreads, 0, stream>>>(a);
  UNMIX_CUDA_LAUNCH();
}

void launch_wiener_initial_estimates(const WienerArgs& a, cudaStream_t stream) {
  if (a.channels == 1)
    initial_estimates_kernel<1><<<frame_bin_blocks(a), kThreads, 0, stream>>>(a);
  else
    initial_estimates_kernel<2><<<frame_bin_blocks(a), kThreads, 0, stream>>>(a);
  UNMIX_CUDA_LAUNCH();
}

void launch_wiener_covariance(const WienerArgs& a, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>((a.bins + kThreads - 1) / kThreads), static_cast<unsigned>(a.sources_count),
                  static_cast<unsigned>(a.windows));
  if (a.channels == 1)
    covariance_kernel<1><<<grid, kThreads, 0, stream>>>(a);
  else
    covariance_kernel<2><<<grid, kThreads, 0, stream>>>(a);
  UNMIX_CUDA_LAUNCH();
}

void launch_wiener_update(const WienerArgs& a, bool last, cudaStream_t stream) {
  if (a.channels == 1)
    update_kernel<1><<<frame_bin_blocks(a), kThreads, 0, stream>>>(a, last);
  else
    update_kernel<2><<<frame_bin_blocks(a), kThreads, 0, stream>>>(a, last);
  UNMIX_CUDA_LAUNCH();
}

}  // namespace unmix::gpu
