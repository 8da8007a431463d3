#include "unmix/safetensors.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <system_error>
#include <tuple>

#include "unmix/error.h"

// Tensor bytes are copied straight into host arrays; safetensors is little-endian.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

namespace unmix::safetensors {
namespace {

using json = nlohmann::json;

struct DTypeInfo {
  DType type;
  std::string_view name;
  std::size_t size;
};
constexpr std::array<DTypeInfo, 13> kDTypes{{{DType::F64, "F64", 8},
                                             {DType::F32, "F32", 4},
                                             {DType::F16, "F16", 2},
                                             {DType::BF16, "BF16", 2},
                                             {DType::I64, "I64", 8},
                                             {DType::I32, "I32", 4},
                                             {DType::I16, "I16", 2},
                                             {DType::I8, "I8", 1},
                                             {DType::U64, "U64", 8},
                                             {DType::U32, "U32", 4},
                                             {DType::U16, "U16", 2},
                                             {DType::U8, "U8", 1},
                                             {DType::BOOL, "BOOL", 1}}};

constexpr std::string_view kMetadataKey = "__metadata__";
// Headers are flat ({name: {dtype, shape, offsets}}); deeper nesting only serves to exhaust memory.
constexpr int kMaxJsonDepth = 8;

// Names and parser messages come from the file: keep error messages one printable line of bounded length.
std::string printable(std::string_view s, std::size_t max_len = 120) {
  std::string out;
  for (char c : s.substr(0, max_len)) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u >= 0x20 && u < 0x7f ? c : '?');
  }
  if (s.size() > max_len) out += "...";
  return out;
}
std::string in_quotes(std::string_view name) {
  std::string out(1, '\'');  // built by append: GCC 12 warns falsely (-Wrestrict) on "'" + str + "'"
  out.append(printable(name)).push_back('\'');
  return out;
}

// Element count of a shape, false on a negative dimension or when count * elem_size overflows.
bool checked_nbytes(std::span<const std::int64_t> shape, std::size_t elem_size, std::uint64_t& nbytes) {
  std::uint64_t n = elem_size;
  for (auto d : shape) {
    if (d < 0) return false;
    const auto ud = static_cast<std::uint64_t>(d);
    if (ud != 0 && n > std::numeric_limits<std::uint64_t>::max() / ud) return false;
    n *= ud;
  }
  nbytes = n;
  return true;
}

// Non-negative JSON integer (nlohmann stores those as number_unsigned).
bool as_unsigned(const json& j, std::uint64_t& out) {
  if (!j.is_number_unsigned()) return false;
  out = j.get<std::uint64_t>();
  return true;
}

Tensor parse_entry(const std::string& source, const std::string& name, const json& info,
                   std::span<const std::byte> buffer, std::uint64_t& begin_out) {
  const std::string what = "tensor " + in_quotes(name);
  if (!info.is_object()) fail(source, what + ": header entry is not an object");
  Tensor t;
  t.name = name;

  const auto dt = info.find("dtype");
  if (dt == info.end() || !dt->is_string()) fail(source, what + ": missing or non-string \"dtype\"");
  if (!parse_dtype(dt->get_ref<const std::string&>(), t.dtype))
    fail(source, what + ": unknown dtype " + in_quotes(dt->get_ref<const std::string&>()));

  const auto sh = info.find("shape");
  if (sh == info.end() || !sh->is_array()) fail(source, what + ": missing or non-array \"shape\"");
  for (const auto& d : *sh) {
    if (d.is_number_integer() && !d.is_number_unsigned()) fail(source, what + ": negative dimension in shape");
    std::uint64_t u = 0;
    if (!as_unsigned(d, u)) fail(source, what + ": shape entries must be integers");
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      fail(source, what + ": shape dimension too large");
    t.shape.push_back(static_cast<std::int64_t>(u));
  }
  std::uint64_t nbytes = 0;
  if (!checked_nbytes(t.shape, dtype_size(t.dtype), nbytes))
    fail(source, what + ": shape " + shape_string(t.shape) + " overflows the element count");

  const auto off = info.find("data_offsets");
  std::uint64_t begin = 0, end = 0;
  if (off == info.end() || !off->is_array() || off->size() != 2 || !as_unsigned((*off)[0], begin) ||
      !as_unsigned((*off)[1], end))
    fail(source, what + ": \"data_offsets\" must be two non-negative integers");
  if (begin > end) fail(source, what + ": data_offsets begin " + std::to_string(begin) + " > end " + std::to_string(end));
  if (end > buffer.size())
    fail(source, what + ": data_offsets end " + std::to_string(end) + " is past the data buffer (" +
                     std::to_string(buffer.size()) + " bytes)");
  if (end - begin != nbytes)
    fail(source, what + ": data_offsets span " + std::to_string(end - begin) + " bytes but shape " +
                     shape_string(t.shape) + " of " + std::string(dtype_name(t.dtype)) + " needs " +
                     std::to_string(nbytes));
  t.data.assign(buffer.begin() + static_cast<std::ptrdiff_t>(begin), buffer.begin() + static_cast<std::ptrdiff_t>(end));
  begin_out = begin;
  return t;
}

json parse_header(std::span<const std::byte> header, const std::string& source) {
  // safetensors requires the header to open with '{'; checking early gives a clearer message.
  if (header.empty() || header[0] != std::byte{'{'}) fail(source, "header is not a JSON object");
  // nlohmann keeps the last of duplicate keys silently; a callback sees every key, so track them per object.
  std::vector<std::set<std::string>> open_objects;
  auto callback = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth > kMaxJsonDepth) fail(source, "header JSON nested too deeply");
    switch (event) {
      case json::parse_event_t::object_start: open_objects.emplace_back(); break;
      case json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open_objects.empty() && !open_objects.back().insert(parsed.get<std::string>()).second)
          fail(source, "duplicate key " + in_quotes(parsed.get<std::string>()) + " in header");
        break;
      default: break;
    }
    return true;
  };
  const auto* first = reinterpret_cast<const char*>(header.data());
  try {
    json j = json::parse(first, first + header.size(), callback);
    if (!j.is_object()) fail(source, "header is not a JSON object");
    return j;
  } catch (const json::exception& e) {
    fail(source, "header is not valid JSON: " + printable(e.what(), 200));
  }
}

}  // namespace

std::string_view dtype_name(DType t) {
  for (const auto& d : kDTypes)
    if (d.type == t) return d.name;
  return "?";
}

std::size_t dtype_size(DType t) {
  for (const auto& d : kDTypes)
    if (d.type == t) return d.size;
  return 1;
}

bool parse_dtype(std::string_view name, DType& out) {
  for (const auto& d : kDTypes) {
    if (d.name == name) {
      out = d.type;
      return true;
    }
  }
  return false;
}

std::size_t Tensor::numel() const {
  std::size_t n = 1;
  for (auto d : shape) n *= static_cast<std::size_t>(d);
  return n;
}

const Tensor* File::find(std::string_view name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

std::string shape_string(std::span<const std::int64_t> shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

File parse(std::span<const std::byte> bytes, const std::string& source) {
  if (bytes.size() < 8)
    fail(source, "file too short (" + std::to_string(bytes.size()) + " bytes) to hold the 8-byte header length");
  std::uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  if (header_len > kMaxHeaderBytes)
    fail(source, "header length " + std::to_string(header_len) + " exceeds the " +
                     std::to_string(kMaxHeaderBytes) + "-byte limit");
  if (header_len > bytes.size() - 8)
    fail(source, "header length " + std::to_string(header_len) + " exceeds the file size (" +
                     std::to_string(bytes.size()) + " bytes)");
  const auto header = bytes.subspan(8, static_cast<std::size_t>(header_len));
  const auto buffer = bytes.subspan(8 + static_cast<std::size_t>(header_len));
  const json j = parse_header(header, source);

  File file;
  // (begin, end, index): sorting gives buffer order, with empty tensors before others at the same offset.
  std::vector<std::tuple<std::uint64_t, std::uint64_t, std::size_t>> order;
  for (const auto& [key, value] : j.items()) {
    if (key == kMetadataKey) {
      if (!value.is_object()) fail(source, "\"__metadata__\" is not an object");
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_string()) fail(source, "metadata value for " + in_quotes(mk) + " is not a string");
        file.metadata[mk] = mv.get<std::string>();
      }
      continue;
    }
    std::uint64_t begin = 0;
    file.tensors.push_back(parse_entry(source, key, value, buffer, begin));
    order.emplace_back(begin, begin + file.tensors.back().data.size(), file.tensors.size() - 1);
  }

  // Overlapping byte ranges mean a corrupt or crafted file; empty tensors occupy no bytes and cannot overlap.
  std::sort(order.begin(), order.end());
  std::uint64_t covered_end = 0;
  const Tensor* covering = nullptr;
  for (const auto& [begin, end, index] : order) {
    const Tensor& t = file.tensors[index];
    if (t.data.empty()) continue;
    if (covering && begin < covered_end)
      fail(source, "tensors " + in_quotes(covering->name) + " and " + in_quotes(t.name) + " overlap in the data buffer");
    covered_end = end;
    covering = &t;
  }
  std::vector<Tensor> sorted;
  sorted.reserve(file.tensors.size());
  for (const auto& [begin, end, index] : order) sorted.push_back(std::move(file.tensors[index]));
  file.tensors = std::move(sorted);
  return file;
}

namespace {

// FNV-1a over 64-bit words: each step is a bijection of the state, so any change to one word always
// changes the result; about a multiply per 8 bytes, so a 100 MB checkpoint costs tens of milliseconds.
constexpr std::uint64_t kFnvPrime = 0x100000001b3ull;
std::uint64_t fnv_mix(std::uint64_t h, const void* data, std::size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * kFnvPrime;
  }
  for (; i < n; ++i) h = (h ^ p[i]) * kFnvPrime;
  return (h ^ n) * kFnvPrime;  // the length too: "ab" + "" differs from "a" + "b"
}

}  // namespace

std::string checksum(const std::vector<Tensor>& tensors, std::string_view also) {
  std::vector<const Tensor*> by_name;
  for (const auto& t : tensors) by_name.push_back(&t);
  std::sort(by_name.begin(), by_name.end(), [](const Tensor* a, const Tensor* b) { return a->name < b->name; });
  std::uint64_t h = fnv_mix(0xcbf29ce484222325ull, also.data(), also.size());
  for (const Tensor* t : by_name) {
    h = fnv_mix(h, t->name.data(), t->name.size());
    const std::string_view dtype = dtype_name(t->dtype);
    h = fnv_mix(h, dtype.data(), dtype.size());
    h = fnv_mix(h, t->shape.data(), t->shape.size() * sizeof(std::int64_t));
    h = fnv_mix(h, t->data.data(), t->data.size());
  }
  char text[32];
  std::snprintf(text, sizeof(text), "fnv1a64:%016llx", static_cast<unsigned long long>(h));
  return text;
}

void verify_checksum(const File& file, const std::string& source, std::string_view also) {
  const auto it = file.metadata.find(std::string(kChecksumKey));
  if (it == file.metadata.end()) return;
  const std::string actual = checksum(file.tensors, also);
  if (it->second != actual)
    fail(source, "checksum mismatch (stored " + printable(it->second, 40) + ", data gives " + actual +
                     "): the file is damaged (a flipped bit or a partial copy)");
}

File read(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) fail(path, "no such file (or not a regular file)");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open for reading");
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) fail(path, "cannot determine the file size");
  in.seekg(0, std::ios::beg);
  std::vector<std::byte> bytes(static_cast<std::size_t>(size));
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size)) fail(path, "read error");
  return parse(bytes, path.string());
}

std::vector<std::byte> serialize(const std::vector<Tensor>& tensors, const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header[std::string(kMetadataKey)] = metadata;
  std::uint64_t offset = 0;
  for (const auto& t : tensors) {
    const std::string what = "safetensors write: tensor " + in_quotes(t.name);
    if (t.name == kMetadataKey) fail(what, "reserved name");
    if (header.contains(t.name)) fail(what, "duplicate name");
    std::uint64_t nbytes = 0;
    if (!checked_nbytes(t.shape, dtype_size(t.dtype), nbytes)) fail(what, "invalid shape " + shape_string(t.shape));
    if (nbytes != t.data.size())
      fail(what, "holds " + std::to_string(t.data.size()) + " bytes but shape " + shape_string(t.shape) + " of " +
                     std::string(dtype_name(t.dtype)) + " needs " + std::to_string(nbytes));
    header[t.name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const json::exception&) {  // a name or metadata value that is not UTF-8 (type_error 316)
    fail("safetensors header", "a tensor name or metadata value is not UTF-8 text");
  }
  // Pad with spaces so the data buffer starts 8-byte aligned, as the reference implementation does.
  text.append((8 - text.size() % 8) % 8, ' ');

  std::vector<std::byte> out(8 + text.size() + static_cast<std::size_t>(offset));
  const std::uint64_t header_len = text.size();
  std::memcpy(out.data(), &header_len, 8);
  std::memcpy(out.data() + 8, text.data(), text.size());
  std::size_t pos = 8 + text.size();
  for (const auto& t : tensors) {
    if (!t.data.empty()) std::memcpy(out.data() + pos, t.data.data(), t.data.size());
    pos += t.data.size();
  }
  return out;
}

void write(const std::filesystem::path& path, const std::vector<Tensor>& tensors,
           const std::map<std::string, std::string>& metadata) {
  const auto bytes = serialize(tensors, metadata);
  AtomicFile file(path);
  {
    std::ofstream out(file.temp_path(), std::ios::binary | std::ios::trunc);
    if (!out) fail(path, "cannot open temporary file " + file.temp_path().string() + " for writing");
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) fail(path, std::string("write error: ") + std::strerror(errno));
  }
  file.commit();
}

Tensor make_f32(std::string name, std::vector<std::int64_t> shape, std::span<const float> values) {
  Tensor t{std::move(name), DType::F32, std::move(shape), {}};
  t.data.resize(values.size_bytes());
  if (!values.empty()) std::memcpy(t.data.data(), values.data(), values.size_bytes());
  return t;
}

Tensor make_i64(std::string name, std::vector<std::int64_t> shape, std::span<const std::int64_t> values) {
  Tensor t{std::move(name), DType::I64, std::move(shape), {}};
  t.data.resize(values.size_bytes());
  if (!values.empty()) std::memcpy(t.data.data(), values.data(), values.size_bytes());
  return t;
}

namespace {
template <typename T>
std::vector<T> typed_copy(const Tensor& t, DType want) {
  if (t.dtype != want)
    fail("tensor " + in_quotes(t.name), "dtype " + std::string(dtype_name(t.dtype)) + ", expected " +
                                         std::string(dtype_name(want)));
  if (t.data.size() % sizeof(T) != 0) fail("tensor " + in_quotes(t.name), "byte size not a multiple of the element size");
  std::vector<T> out(t.data.size() / sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), t.data.data(), t.data.size());
  return out;
}
}  // namespace

std::vector<float> as_f32(const Tensor& t) { return typed_copy<float>(t, DType::F32); }

// _Float16 is IEEE binary16 with round-to-nearest-even conversions (GCC >= 12, Clang >= 15 on x86-64);
// older Clang (the fuzz build) has the same format as the storage type __fp16.
#if defined(__clang__) && __clang_major__ < 15
using Half = __fp16;
#else
using Half = _Float16;
#endif
static_assert(sizeof(Half) == 2);
constexpr float kF16Max = 65504.0f;

bool fits_f16(std::span<const float> values) {
  return std::all_of(values.begin(), values.end(), [](float v) { return std::isfinite(v) && std::abs(v) <= kF16Max; });
}

Tensor make_f16(std::string name, std::vector<std::int64_t> shape, std::span<const float> values) {
  if (!fits_f16(values)) fail("tensor " + in_quotes(name), "has values that F16 cannot hold (non-finite or beyond 65504)");
  Tensor t{std::move(name), DType::F16, std::move(shape), {}};
  t.data.resize(values.size() * 2);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto h = static_cast<Half>(values[i]);
    std::memcpy(t.data.data() + 2 * i, &h, 2);
  }
  return t;
}

std::vector<float> as_float(const Tensor& t) {
  if (t.dtype == DType::F32) return as_f32(t);
  if (t.dtype != DType::F16)
    fail("tensor " + in_quotes(t.name), "dtype " + std::string(dtype_name(t.dtype)) + ", expected F32 or F16");
  if (t.data.size() % 2 != 0) fail("tensor " + in_quotes(t.name), "byte size not a multiple of the element size");
  std::vector<float> out(t.data.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    Half h;
    std::memcpy(&h, t.data.data() + 2 * i, 2);
    out[i] = static_cast<float>(h);
  }
  return out;
}
std::vector<std::int64_t> as_i64(const Tensor& t) { return typed_copy<std::int64_t>(t, DType::I64); }

}  // namespace unmix::safetensors
