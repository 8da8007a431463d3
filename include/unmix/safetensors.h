#pragma once
// Reader and writer for the safetensors format (https://github.com/huggingface/safetensors):
//   u64 little-endian header length N | N bytes of JSON header | byte buffer.
// The header maps tensor names to {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to
// the buffer) plus an optional "__metadata__" object of string -> string.
// The reader treats every file as hostile: any inconsistency throws unmix::Error naming the file.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace unmix::safetensors {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL };

std::string_view dtype_name(DType t);   // "F32", ...
std::size_t dtype_size(DType t);        // bytes per element
bool parse_dtype(std::string_view name, DType& out);  // false for an unknown name

struct Tensor {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;  // row-major; {} is a scalar (one element)
  std::vector<std::byte> data;      // little-endian, numel() * dtype_size(dtype) bytes

  std::size_t numel() const;
};

struct File {
  std::vector<Tensor> tensors;  // in buffer order
  std::map<std::string, std::string> metadata;

  const Tensor* find(std::string_view name) const;  // nullptr when absent
};

// Hard limit on the JSON header; real headers are a few KB, anything near this is an attack or corruption.
inline constexpr std::uint64_t kMaxHeaderBytes = 100u * 1024u * 1024u;

File read(const std::filesystem::path& path);
// Parses an in-memory image of a file; `source` names it in error messages.
File parse(std::span<const std::byte> bytes, const std::string& source);

// Writes atomically (temporary file + rename). Tensors are laid out in the given order; names must be
// unique and not "__metadata__", and each data size must match its shape and dtype.
void write(const std::filesystem::path& path, const std::vector<Tensor>& tensors,
           const std::map<std::string, std::string>& metadata = {});
// The same image as write() produces, in memory.
std::vector<std::byte> serialize(const std::vector<Tensor>& tensors,
                                 const std::map<std::string, std::string>& metadata = {});

// Typed helpers. make_* copy the values in; as_* require the exact dtype (unmix::Error otherwise).
Tensor make_f32(std::string name, std::vector<std::int64_t> shape, std::span<const float> values);
Tensor make_i64(std::string name, std::vector<std::int64_t> shape, std::span<const std::int64_t> values);
// IEEE binary16, rounded to nearest even (half the size of F32: for shipped models); unmix::Error naming the
// tensor when a value is not finite or beyond F16's range (|x| > 65504).
Tensor make_f16(std::string name, std::vector<std::int64_t> shape, std::span<const float> values);
bool fits_f16(std::span<const float> values);  // every value finite and within F16's range
std::vector<float> as_f32(const Tensor& t);
// F32 as stored, or F16 widened exactly to float; unmix::Error for any other dtype.
std::vector<float> as_float(const Tensor& t);
std::vector<std::int64_t> as_i64(const Tensor& t);

std::string shape_string(std::span<const std::int64_t> shape);  // "[2, 3]"

// A checksum of every tensor (name, dtype, shape, bytes; independent of their order), for __metadata__
// under kChecksumKey: the format's own checks cannot see a flipped bit inside the data.
inline constexpr std::string_view kChecksumKey = "unmix.checksum";
// `also`: more text the sum covers (a metadata value that must not change either).
std::string checksum(const std::vector<Tensor>& tensors, std::string_view also = {});  // "fnv1a64:<16 hex>"
// When `file` carries kChecksumKey, throws unmix::Error naming `source` unless it matches the tensors;
// files written without one (older versions, other programs) pass.
void verify_checksum(const File& file, const std::string& source, std::string_view also = {});

}  // namespace unmix::safetensors
