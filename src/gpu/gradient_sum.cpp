// make_gradient_sum without NCCL: the single-process build's answer (gradient_sum_nccl.cpp has the real one).
#include "unmix/gpu/gradient_sum.h"

#include "unmix/error.h"

namespace unmix::gpu {

#ifndef UNMIX_WITH_NCCL
bool nccl_built() { return false; }

std::unique_ptr<GradientSum> make_gradient_sum(parallel::Communicator&, int) {
  fail("--device cuda", "training on several GPU ranks needs NCCL and MPI, and this build has neither (install "
                        "libopenmpi-dev, have nccl.h and libnccl in the CUDA toolkit, and rebuild)");
}
#endif

}  // namespace unmix::gpu
