// MPI_COMM_WORLD as a Communicator (built only with MPI). Sums are a reduce-scatter and an all-gather done
// by hand so that the order of additions is fixed: rank r owns the r-th slice of the buffer, receives every
// rank's copy of that slice (MPI_Alltoallv), adds them in rank order and sends the result to all
// (MPI_Allgatherv). Same traffic as a ring all-reduce, O(buffer) memory, bitwise reproducible.
#include <mpi.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "unmix/error.h"
#include "unmix/parallel/communicator.h"

namespace unmix::parallel {

namespace {

using Clock = std::chrono::steady_clock;

template <typename T>
MPI_Datatype mpi_type();
template <>
MPI_Datatype mpi_type<float>() { return MPI_FLOAT; }
template <>
MPI_Datatype mpi_type<double>() { return MPI_DOUBLE; }

class MpiWorld final : public Communicator {
 public:
  explicit MpiWorld(double timeout_seconds) : timeout_(timeout_seconds) {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    // Errors end the job (the default for MPI_COMM_WORLD, made explicit): a failed peer never leaves us waiting.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &local_rank_);
    MPI_Comm_free(&node);
    watchdog_ = std::thread([this] { watch(); });
  }
  ~MpiWorld() override {
    {
      std::lock_guard lock(mutex_);
      closing_ = true;
    }
    changed_.notify_all();
    watchdog_.join();
    MPI_Finalize();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  std::string description() const override { return "MPI, " + std::to_string(size_) + " ranks"; }

  void sum(std::span<float> values, const char* what) override { ordered_sum(values, what); }
  void sum(std::span<double> values, const char* what) override { ordered_sum(values, what); }

  void broadcast(std::vector<std::byte>& bytes, int root, const char* what) override {
    if (size_ == 1) return;
    const Timed timed(*this, what);
    std::uint64_t length = bytes.size();
    MPI_Bcast(&length, 1, MPI_UINT64_T, root, MPI_COMM_WORLD);
    if (length > INT_MAX) fail("mpi", std::string(what) + ": broadcast too large");
    bytes.resize(length);
    MPI_Bcast(bytes.data(), static_cast<int>(length), MPI_BYTE, root, MPI_COMM_WORLD);
  }

  void barrier_untimed() override {
    if (size_ > 1) MPI_Barrier(MPI_COMM_WORLD);
  }

  [[noreturn]] void abort(const std::string& message, int code) override {
    std::fprintf(stderr, "%s\n", message.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);
  }

 private:
  // Arms the watchdog for one collective.
  class Timed {
   public:
    Timed(MpiWorld& world, const char* what) : world_(world) {
      std::lock_guard lock(world_.mutex_);
      world_.what_ = what;
      world_.deadline_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                            std::chrono::duration<double>(world_.timeout_));
      world_.armed_ = true;
    }
    ~Timed() {
      std::lock_guard lock(world_.mutex_);
      world_.armed_ = false;
    }

   private:
    MpiWorld& world_;
  };

  void watch() {
    std::unique_lock lock(mutex_);
    while (!closing_) {
      changed_.wait_for(lock, std::chrono::milliseconds(200));
      if (armed_ && Clock::now() > deadline_) {
        // No MPI call from this thread (MPI_THREAD_FUNNELED): exiting non-zero makes mpirun end the job.
        std::fprintf(stderr, "train: rank %d: no answer from the other ranks for %g s in %s (a rank died or hangs); "
                             "ending the job\n", rank_, timeout_, what_);
        std::fflush(stderr);
        std::_Exit(1);
      }
    }
  }

  template <typename T>
  void ordered_sum(std::span<T> values, const char* what) {
    if (size_ == 1 || values.empty()) return;
    const Timed timed(*this, what);
    const auto n = static_cast<std::int64_t>(values.size());
    if (n > INT_MAX) fail("mpi", std::string(what) + ": buffer too large for one sum");
    const auto P = static_cast<std::int64_t>(size_);
    counts_.resize(size_);
    offsets_.resize(size_);
    for (int r = 0; r < size_; ++r) {
      const std::int64_t begin = n * r / P, end = n * (r + 1) / P;
      offsets_[r] = static_cast<int>(begin);
      counts_[r] = static_cast<int>(end - begin);
    }
    const int mine = counts_[rank_];
    // Every rank's copy of my slice, [rank][mine].
    std::vector<T>& gathered = scratch<T>();
    gathered.resize(static_cast<std::size_t>(mine) * size_ + 1);
    recv_counts_.assign(size_, mine);
    recv_offsets_.resize(size_);
    for (int r = 0; r < size_; ++r) recv_offsets_[r] = r * mine;
    MPI_Alltoallv(values.data(), counts_.data(), offsets_.data(), mpi_type<T>(), gathered.data(), recv_counts_.data(),
                  recv_offsets_.data(), mpi_type<T>(), MPI_COMM_WORLD);
    T* slice = values.data() + offsets_[rank_];
    for (int i = 0; i < mine; ++i) {
      T s = gathered[static_cast<std::size_t>(i)];
      for (int r = 1; r < size_; ++r) s += gathered[static_cast<std::size_t>(r) * mine + i];
      slice[i] = s;
    }
    MPI_Allgatherv(MPI_IN_PLACE, 0, mpi_type<T>(), values.data(), counts_.data(), offsets_.data(), mpi_type<T>(),
                   MPI_COMM_WORLD);
  }

  template <typename T>
  std::vector<T>& scratch() {
    if constexpr (std::is_same_v<T, float>) return float_scratch_;
    else return double_scratch_;
  }

  int rank_ = 0, size_ = 1, local_rank_ = 0;
  double timeout_;
  std::vector<int> counts_, offsets_, recv_counts_, recv_offsets_;
  std::vector<float> float_scratch_;
  std::vector<double> double_scratch_;

  std::mutex mutex_;
  std::condition_variable changed_;
  bool closing_ = false, armed_ = false;
  Clock::time_point deadline_{};
  const char* what_ = "";
  std::thread watchdog_;
};

}  // namespace

std::unique_ptr<Communicator> make_mpi_communicator(double timeout_seconds) {
  return std::make_unique<MpiWorld>(timeout_seconds);
}

}  // namespace unmix::parallel
