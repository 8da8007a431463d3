#pragma once
// Shared launch helpers and the deterministic column reduction used by BatchNorm, the input and output
// stages: sums over the rows of a row-major [rows][cols] view, per column, in a fixed order (per-thread
// strided partial sums, a fixed shared-memory tree, then chunks summed in index order), so results are
// bitwise reproducible run to run. Values are accumulated in double.
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "unmix/gpu/check.h"

namespace unmix::gpu::detail {

constexpr int kThreads = 256;

inline unsigned blocks_for(std::size_t count, int threads = kThreads) {
  const std::size_t blocks = (count + threads - 1) / threads;
  return static_cast<unsigned>(blocks < 65535u * 16u ? blocks : 65535u * 16u);  // grid-stride loops cover the rest
}

// Column reduction geometry: 32 columns x 8 row-lanes per block, rows split into chunks.
constexpr int kReduceCols = 32;
constexpr int kReduceLanes = 8;
constexpr int kRowsPerChunk = 256;

inline int reduce_chunks(std::int64_t rows) {
  return static_cast<int>((rows + kRowsPerChunk - 1) / kRowsPerChunk);
}
inline std::size_t reduce_partials_size(int k, std::int64_t rows, int cols) {
  return static_cast<std::size_t>(k) * static_cast<std::size_t>(reduce_chunks(rows)) * static_cast<std::size_t>(cols);
}

template <int K>
struct Sums {
  double v[K];
};

// value(row, col) returns Sums<K>; partials laid out [K][chunks][cols].
template <int K, typename Value>
__global__ void column_partial_sums(std::int64_t rows, int cols, Value value, double* partials) {
  const int col = blockIdx.x * kReduceCols + threadIdx.x;
  const std::int64_t row0 = static_cast<std::int64_t>(blockIdx.y) * kRowsPerChunk;
  std::int64_t row1 = row0 + kRowsPerChunk;
  if (row1 > rows) row1 = rows;
  double acc[K];
#pragma unroll
  for (int k = 0; k < K; ++k) acc[k] = 0.0;
  if (col < cols) {
    for (std::int64_t r = row0 + threadIdx.y; r < row1; r += kReduceLanes) {
      const Sums<K> s = value(r, col);
#pragma unroll
      for (int k = 0; k < K; ++k) acc[k] += s.v[k];
    }
  }
  __shared__ double shared[K][kReduceLanes][kReduceCols];
#pragma unroll
  for (int k = 0; k < K; ++k) shared[k][threadIdx.y][threadIdx.x] = acc[k];
  __syncthreads();
  if (threadIdx.y == 0 && col < cols) {
    const int chunks = gridDim.y;
#pragma unroll
    for (int k = 0; k < K; ++k) {
      double s = 0.0;
      for (int lane = 0; lane < kReduceLanes; ++lane) s += shared[k][lane][threadIdx.x];
      partials[(static_cast<std::size_t>(k) * chunks + blockIdx.y) * cols + col] = s;
    }
  }
}

// finish(col, Sums<K>) receives the column totals.
template <int K, typename Finish>
__global__ void column_finalize(int cols, int chunks, const double* partials, Finish finish) {
  const int col = blockIdx.x * blockDim.x + threadIdx.x;
  if (col >= cols) return;
  Sums<K> total;
#pragma unroll
  for (int k = 0; k < K; ++k) {
    double s = 0.0;
    for (int c = 0; c < chunks; ++c) s += partials[(static_cast<std::size_t>(k) * chunks + c) * cols + col];
    total.v[k] = s;
  }
  finish(col, total);
}

template <int K, typename Value, typename Finish>
void column_reduce(std::int64_t rows, int cols, Value value, Finish finish, double* partials, cudaStream_t stream) {
  const int chunks = reduce_chunks(rows);
  if (chunks == 0 || cols == 0) return;
  const dim3 grid((cols + kReduceCols - 1) / kReduceCols, static_cast<unsigned>(chunks));
  const dim3 block(kReduceCols, kReduceLanes);
  column_partial_sums<K><<<grid, block, 0, stream>>>(rows, cols, value, partials);
  UNMIX_CUDA_LAUNCH();
  column_finalize<K><<<(cols + kThreads - 1) / kThreads, kThreads, 0, stream>>>(cols, chunks, partials, finish);
  UNMIX_CUDA_LAUNCH();
}

}  // namespace unmix::gpu::detail
