// The single-process communicator and the choice between it and MPI.
#include "unmix/parallel/communicator.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "unmix/error.h"

namespace unmix::parallel {

#ifdef UNMIX_WITH_MPI
std::unique_ptr<Communicator> make_mpi_communicator(double timeout_seconds);  // communicator_mpi.cpp
#endif

namespace {

class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_rank() const override { return 0; }
  std::string description() const override { return "1 process"; }
  void sum(std::span<float>, const char*) override {}
  void sum(std::span<double>, const char*) override {}
  void broadcast(std::vector<std::byte>&, int, const char*) override {}
  void barrier_untimed() override {}
  [[noreturn]] void abort(const std::string& message, int code) override {
    std::fprintf(stderr, "%s\n", message.c_str());
    std::exit(code);
  }
};

// The world size an MPI launcher announces in the environment; 0 when not started by one.
int launcher_world_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"})
    if (const char* value = std::getenv(name)) return std::max(1, std::atoi(value));
  if (std::getenv("PMIX_RANK")) return 1;
  return 0;
}

}  // namespace

bool Communicator::any(bool flag, const char* what) {
  if (size() == 1) return flag;
  double value = flag ? 1.0 : 0.0;
  sum(std::span<double>(&value, 1), what);
  return value > 0;
}

std::unique_ptr<Communicator> make_single_process() { return std::make_unique<SingleProcess>(); }

bool mpi_built() {
#ifdef UNMIX_WITH_MPI
  return true;
#else
  return false;
#endif
}

std::unique_ptr<Communicator> make_communicator(double timeout_seconds) {
  const int world = launcher_world_size();
  if (world == 0) return make_single_process();
#ifdef UNMIX_WITH_MPI
  return make_mpi_communicator(timeout_seconds);
#else
  (void)timeout_seconds;
  if (world > 1)
    fail("mpirun", "started as one of " + std::to_string(world) +
                       " ranks, but this build has no MPI (install libopenmpi-dev and rebuild); the ranks would "
                       "train independently");
  return make_single_process();
#endif
}

}  // namespace unmix::parallel
