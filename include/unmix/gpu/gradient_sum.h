#pragma once
// Data parallelism on GPUs: sums a device buffer over the ranks with NCCL, on a given stream. One NCCL
// communicator per process (one device per rank), bootstrapped with ncclGetUniqueId on rank 0 broadcast
// over the ranks' Communicator (MPI). NCCL's ring/tree sum is deterministic for a fixed rank count and
// topology, but its order is NCCL's, not Communicator's rank order.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <memory>

#include "unmix/parallel/communicator.h"

namespace unmix::gpu {

class GradientSum {
 public:
  virtual ~GradientSum() = default;
  // In-place sum of `count` floats over the ranks, enqueued on `stream` (returns before it is done).
  virtual void sum(float* device, std::size_t count, cudaStream_t stream) = 0;
};

// True when the library was built with NCCL.
bool nccl_built();
// Collective: every rank calls it with its own device (current device set). Throws unmix::Error when the
// build has no NCCL or NCCL cannot set up (e.g. two ranks on one GPU, which NCCL refuses).
std::unique_ptr<GradientSum> make_gradient_sum(parallel::Communicator& ranks, int device);

}  // namespace unmix::gpu
