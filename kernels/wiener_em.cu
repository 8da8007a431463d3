// Wiener post-filter kernels: openunmix's filtering.wiener (see include/unmix/wiener.h) in float32.
//
//   peak               max |x|^2 per window (block reduction, one atomicMax per block)
//   initial_estimates  one thread per (frame, bin): magnitude + mixture phase or soft mask, residual, scaling
//   covariance         one thread per (source, window, bin): walks the window's frames for v_j and R_j
//   update             one thread per (frame, bin): Cxx = sqrt(eps) I + sum v_j R_j, its inverse, y_j = v_j R_j Cxx^-1 x
//
// Threads of a warp take neighbouring bins, so every access to a [.][frame][bin] array is coalesced.
#include <cuda_runtime.h>

#include "../src/gpu/wiener_gpu.h"

namespace unmix::gpu::wiener_detail {

namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ float2 cadd(float2 a, float2 b) { return make_float2(a.x + b.x, a.y + b.y); }
__device__ __forceinline__ float2 csub(float2 a, float2 b) { return make_float2(a.x - b.x, a.y - b.y); }
__device__ __forceinline__ float2 cmul(float2 a, float2 b) {
  return make_float2(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}
__device__ __forceinline__ float2 cscale(float s, float2 a) { return make_float2(s * a.x, s * a.y); }
__device__ __forceinline__ float2 cconj(float2 a) { return make_float2(a.x, -a.y); }
__device__ __forceinline__ float cnorm2(float2 a) { return a.x * a.x + a.y * a.y; }
// openunmix's _inv: conj(z) / |z|^2
__device__ __forceinline__ float2 cinv(float2 z) {
  const float n = cnorm2(z);
  return make_float2(z.x / n, -z.y / n);
}

__device__ __forceinline__ float window_scale(const KernelArgs& a, int w) {
  return fmaxf(1.f, sqrtf(__uint_as_float(a.peak[w])) / a.scale_factor);
}

__device__ __forceinline__ size_t source_index(const KernelArgs& a, int j, int c, int t, int f) {
  return ((static_cast<size_t>(j) * a.channels + c) * a.frames + t) * a.bins + f;
}

__global__ void peak_kernel(KernelArgs a) {
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
    const float2 x = a.mix[(static_cast<size_t>(c) * a.frames + first) * a.bins + rest];
    peak = fmaxf(peak, cnorm2(x));
  }
  for (int offset = 16; offset > 0; offset /= 2) peak = fmaxf(peak, __shfl_down_sync(0xffffffffu, peak, offset));
  __shared__ float warp_peaks[kThreads / 32];
  if (threadIdx.x % 32 == 0) warp_peaks[threadIdx.x / 32] = peak;
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int k = 1; k < static_cast<int>(blockDim.x) / 32; ++k) peak = fmaxf(peak, warp_peaks[k]);
    atomicMax(&a.peak[w], __float_as_uint(peak));
  }
}

template <int C>
__global__ void initial_estimates_kernel(KernelArgs a) {
  const long long index = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (index >= static_cast<long long>(a.frames) * a.bins) return;
  const int t = static_cast<int>(index / a.bins), f = static_cast<int>(index % a.bins);
  const float inv_scale = a.scaled ? 1.f / window_scale(a, t / a.window) : 1.f;
  for (int c = 0; c < C; ++c) {
    const float2 x = a.mix[(static_cast<size_t>(c) * a.frames + t) * a.bins + f];
    const int mch = a.magnitude_channels == 1 ? 0 : c;
    auto magnitude = [&](int j) {
      return a.magnitudes[((static_cast<size_t>(j) * a.frames + t) * a.magnitude_channels + mch) * a.bins + f];
    };
    float2 rest = x;
    float total = 0.f;
    if (a.softmask)
      for (int j = 0; j < a.targets; ++j) total += magnitude(j);
    const float r = hypotf(x.x, x.y);
    const float2 phase = r > 0.f ? make_float2(x.x / r, x.y / r) : make_float2(1.f, 0.f);
    for (int j = 0; j < a.targets; ++j) {
      const float2 y = a.softmask ? cscale(magnitude(j) / (a.eps + total), x) : cscale(magnitude(j), phase);
      rest = csub(rest, y);
      a.sources[source_index(a, j, c, t, f)] = cscale(inv_scale, y);
    }
    if (a.residual) a.sources[source_index(a, a.targets, c, t, f)] = cscale(inv_scale, rest);
  }
}

template <int C>
__global__ void covariance_kernel(KernelArgs a) {
  const int f = blockIdx.x * blockDim.x + threadIdx.x;
  const int j = blockIdx.y, w = blockIdx.z;
  if (f >= a.bins) return;
  const int first = w * a.window, last = min(a.frames, first + a.window);
  float2 sum[C][C];
  for (int p = 0; p < C; ++p)
    for (int q = 0; q < C; ++q) sum[p][q] = make_float2(0.f, 0.f);
  float weight = a.eps;
  for (int t = first; t < last; ++t) {
    float2 y[C];
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
  float2* out = a.covariance + ((static_cast<size_t>(j) * a.windows + w) * a.bins + f) * (C * C);
  for (int p = 0; p < C; ++p)
    for (int q = 0; q < C; ++q) out[p * C + q] = make_float2(sum[p][q].x / weight, sum[p][q].y / weight);
}

template <int C>
__global__ void update_kernel(KernelArgs a, bool last) {
  const long long index = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (index >= static_cast<long long>(a.frames) * a.bins) return;
  const int t = static_cast<int>(index / a.bins), f = static_cast<int>(index % a.bins);
  const int w = t / a.window;
  const float scale = window_scale(a, w);
  const float inv_scale = 1.f / scale;
  float2 x[C];
  for (int c = 0; c < C; ++c) x[c] = cscale(inv_scale, a.mix[(static_cast<size_t>(c) * a.frames + t) * a.bins + f]);

  auto covariance = [&](int j) {
    return a.covariance + ((static_cast<size_t>(j) * a.windows + w) * a.bins + f) * (C * C);
  };
  auto power = [&](int j) { return a.power[(static_cast<size_t>(j) * a.frames + t) * a.bins + f]; };

  float2 cxx[C][C];
  const float regularization = sqrtf(a.eps);
  for (int p = 0; p < C; ++p)
    for (int q = 0; q < C; ++q) cxx[p][q] = make_float2(p == q ? regularization : 0.f, 0.f);
  for (int j = 0; j < a.sources_count; ++j) {
    const float v = power(j);
    const float2* R = covariance(j);
    for (int p = 0; p < C; ++p)
      for (int q = 0; q < C; ++q) cxx[p][q] = cadd(cxx[p][q], cscale(v, R[p * C + q]));
  }
  // openunmix's _invert: adjugate over the determinant
  float2 inv[C][C];
  if constexpr (C == 1) {
    inv[0][0] = cinv(cxx[0][0]);
  } else {
    const float2 inv_det = cinv(csub(cmul(cxx[0][0], cxx[1][1]), cmul(cxx[0][1], cxx[1][0])));
    const float2 neg_inv_det = make_float2(-inv_det.x, -inv_det.y);
    inv[0][0] = cmul(inv_det, cxx[1][1]);
    inv[1][0] = cmul(neg_inv_det, cxx[1][0]);
    inv[0][1] = cmul(neg_inv_det, cxx[0][1]);
    inv[1][1] = cmul(inv_det, cxx[0][0]);
  }
  const float out_scale = last ? scale : 1.f;
  for (int j = 0; j < a.sources_count; ++j) {
    const float v = power(j);
    const float2* R = covariance(j);
    for (int p = 0; p < C; ++p) {
      float2 y = make_float2(0.f, 0.f);
      for (int q = 0; q < C; ++q) {
        float2 g = make_float2(0.f, 0.f);
        for (int k = 0; k < C; ++k) g = cadd(g, cmul(R[p * C + k], inv[k][q]));
        y = cadd(y, cmul(cscale(v, g), x[q]));
      }
      a.sources[source_index(a, j, p, t, f)] = cscale(out_scale, y);
    }
  }
}

// One thread per (frame, bin), bins fastest.
unsigned frame_bin_blocks(const KernelArgs& a) {
  return static_cast<unsigned>((static_cast<long long>(a.frames) * a.bins + kThreads - 1) / kThreads);
}

}  // namespace

void launch_peak(const KernelArgs& a, cudaStream_t stream) {
  // Enough blocks to fill the device for a window of a few hundred frames; each thread strides the rest.
  const dim3 grid(64, static_cast<unsigned>(a.windows));
  peak_kernel<<<grid, kThreads, 0, stream>>>(a);
  UNMIX_WIENER_LAUNCHED();
}

void launch_initial_estimates(const KernelArgs& a, cudaStream_t stream) {
  if (a.channels == 1)
    initial_estimates_kernel<1><<<frame_bin_blocks(a), kThreads, 0, stream>>>(a);
  else
    initial_estimates_kernel<2><<<frame_bin_blocks(a), kThreads, 0, stream>>>(a);
  UNMIX_WIENER_LAUNCHED();
}

void launch_covariance(const KernelArgs& a, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>((a.bins + kThreads - 1) / kThreads), static_cast<unsigned>(a.sources_count),
                  static_cast<unsigned>(a.windows));
  if (a.channels == 1)
    covariance_kernel<1><<<grid, kThreads, 0, stream>>>(a);
  else
    covariance_kernel<2><<<grid, kThreads, 0, stream>>>(a);
  UNMIX_WIENER_LAUNCHED();
}

void launch_update(const KernelArgs& a, bool last, cudaStream_t stream) {
  if (a.channels == 1)
    update_kernel<1><<<frame_bin_blocks(a), kThreads, 0, stream>>>(a, last);
  else
    update_kernel<2><<<frame_bin_blocks(a), kThreads, 0, stream>>>(a, last);
  UNMIX_WIENER_LAUNCHED();
}

}  // namespace unmix::gpu::wiener_detail
