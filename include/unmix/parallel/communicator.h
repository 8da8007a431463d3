#pragma once
// The ranks of a data-parallel run and the few collectives training needs. One process is a Communicator
// of size 1 whose collectives do nothing; under `mpirun` it is MPI_COMM_WORLD (built with MPI only).
//
// Sums are reproducible: every element is added in rank order (rank 0 + rank 1 + ... + rank N-1, left to
// right), whatever the transport, so every rank receives bitwise the same result and a rerun with the same
// rank count repeats it bit for bit. (MPI_Allreduce promises neither.)
//
// A collective that waits longer than the timeout for the other ranks ends this process with a one-line
// error naming the collective; mpirun then ends the whole job, as it does when any rank dies or exits
// non-zero. A job therefore never hangs on a lost rank.
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace unmix::parallel {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual int local_rank() const = 0;  // among the ranks on this node (picks the GPU)
  virtual std::string description() const = 0;  // "1 process" or "MPI, 2 ranks"

  // In-place sum over the ranks, in rank order (see above). `what` names the collective in a timeout error.
  virtual void sum(std::span<float> values, const char* what) = 0;
  virtual void sum(std::span<double> values, const char* what) = 0;
  // The root rank's bytes on every rank (resized on the others).
  virtual void broadcast(std::vector<std::byte>& bytes, int root, const char* what) = 0;
  // Waits for every rank without a timeout (for work of unbounded length on one rank, e.g. building a cache).
  virtual void barrier_untimed() = 0;
  // Ends every rank of the job with exit code `code` (MPI_Abort); the message is printed by this rank first.
  [[noreturn]] virtual void abort(const std::string& message, int code) = 0;

  bool is_root() const { return rank() == 0; }
  // True on every rank when `flag` is true on at least one.
  bool any(bool flag, const char* what);
};

// The single-process communicator.
std::unique_ptr<Communicator> make_single_process();

// True when the library was built with MPI.
bool mpi_built();
// MPI_COMM_WORLD when this process was started by an MPI launcher (mpirun, srun: OMPI_COMM_WORLD_SIZE,
// PMI_SIZE or PMIX_RANK in the environment) and the library has MPI; else the single-process communicator.
// `timeout_seconds` bounds every timed collective. Initializes MPI; the communicator finalizes it.
// Throws unmix::Error when started by a launcher but built without MPI.
std::unique_ptr<Communicator> make_communicator(double timeout_seconds);

}  // namespace unmix::parallel
