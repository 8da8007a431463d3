// GradientSum on NCCL (built only with MPI and NCCL).
#include <nccl.h>

#include <cstring>
#include <string>
#include <vector>

#include "unmix/error.h"
#include "unmix/gpu/check.h"
#include "unmix/gpu/gradient_sum.h"

namespace unmix::gpu {

namespace {

void check_nccl(ncclResult_t status, const char* expr) {
  if (status != ncclSuccess) fail("NCCL", std::string(expr) + ": " + ncclGetErrorString(status));
}
#define UNMIX_NCCL(expr) check_nccl((expr), #expr)

class NcclGradientSum final : public GradientSum {
 public:
  NcclGradientSum(parallel::Communicator& ranks, int device) {
    ncclUniqueId id{};
    if (ranks.is_root()) UNMIX_NCCL(ncclGetUniqueId(&id));
    std::vector<std::byte> bytes(sizeof id);
    std::memcpy(bytes.data(), &id, sizeof id);
    ranks.broadcast(bytes, 0, "NCCL id");
    if (bytes.size() != sizeof id) fail("NCCL", "the broadcast id has the wrong size");
    std::memcpy(&id, bytes.data(), sizeof id);
    UNMIX_CUDA(cudaSetDevice(device));
    UNMIX_NCCL(ncclCommInitRank(&comm_, ranks.size(), id, ranks.rank()));
  }
  ~NcclGradientSum() override {
    if (comm_) ncclCommDestroy(comm_);
  }

  void sum(float* device, std::size_t count, cudaStream_t stream) override {
    UNMIX_NCCL(ncclAllReduce(device, device, count, ncclFloat, ncclSum, comm_, stream));
  }

 private:
  ncclComm_t comm_ = nullptr;
};

}  // namespace

bool nccl_built() { return true; }

std::unique_ptr<GradientSum> make_gradient_sum(parallel::Communicator& ranks, int device) {
  return std::make_unique<NcclGradientSum>(ranks, device);
}

}  // namespace unmix::gpu
