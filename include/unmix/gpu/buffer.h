#pragma once
// Owning device memory. Buffers grow but never shrink, so a workspace sized for one (batch, frames)
// shape is reused without cudaMalloc in the step loop.
//
// Every copy and fill names its stream: work on a cudaStreamNonBlocking stream (every model's) is not
// ordered with the legacy default stream, so a host read that defaulted to it could see a buffer before the
// model's kernels wrote it. upload() and download() wait for their stream, so the host data is complete
// (or free to reuse) when they return; zero() and poison() are queued on the stream like a kernel.
#include <cuda_runtime_api.h>

#include <cstddef>
#include <span>
#include <utility>
#include <vector>

#include "unmix/gpu/check.h"

namespace unmix::gpu {

template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t count) { reserve(count); }
  ~DeviceBuffer() { release(); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& other) noexcept { swap(other); }
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    swap(other);
    return *this;
  }

  // Ensures room for `count` elements; contents are not preserved when it has to grow.
  void reserve(std::size_t count) {
    if (count <= capacity_) {
      size_ = count;
      return;
    }
    release();
    if (count > 0) UNMIX_CUDA(cudaMalloc(reinterpret_cast<void**>(&ptr_), count * sizeof(T)));
    capacity_ = size_ = count;
  }

  T* data() { return ptr_; }
  const T* data() const { return ptr_; }
  std::size_t size() const { return size_; }
  std::size_t bytes() const { return size_ * sizeof(T); }

  void upload(std::span<const T> host, cudaStream_t stream) {
    reserve(host.size());
    UNMIX_CUDA(cudaMemcpyAsync(ptr_, host.data(), host.size_bytes(), cudaMemcpyHostToDevice, stream));
    UNMIX_CUDA(cudaStreamSynchronize(stream));
  }
  std::vector<T> download(cudaStream_t stream) const {
    std::vector<T> host(size_);
    UNMIX_CUDA(cudaMemcpyAsync(host.data(), ptr_, bytes(), cudaMemcpyDeviceToHost, stream));
    UNMIX_CUDA(cudaStreamSynchronize(stream));
    return host;
  }
  void zero(cudaStream_t stream) {
    if (size_) UNMIX_CUDA(cudaMemsetAsync(ptr_, 0, bytes(), stream));
  }
  // Fills with 0xFF bytes (NaN for floats) so a kernel that skips an element is caught by the tests.
  void poison(cudaStream_t stream) {
    if (size_) UNMIX_CUDA(cudaMemsetAsync(ptr_, 0xFF, bytes(), stream));
  }

 private:
  void release() {
    if (ptr_) cudaFree(ptr_);  // no check: may run during unwinding
    ptr_ = nullptr;
    capacity_ = size_ = 0;
  }
  void swap(DeviceBuffer& o) noexcept {
    std::swap(ptr_, o.ptr_);
    std::swap(size_, o.size_);
    std::swap(capacity_, o.capacity_);
  }
  T* ptr_ = nullptr;
  std::size_t size_ = 0, capacity_ = 0;
};

}  // namespace unmix::gpu
