// The training cache: index.json plus memory-mapped raw track files (layout in include/unmix/data/cache.h).
#include "unmix/data/cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "unmix/cpu/non_finite.h"
#include "unmix/error.h"
#include "unmix/safetensors.h"

namespace unmix::data {
namespace fs = std::filesystem;
using nlohmann::json;

std::string_view sample_type_name(SampleType type) { return type == SampleType::Int16 ? "int16" : "float32"; }

bool parse_sample_type(std::string_view name, SampleType& out) {
  if (name == "float32") out = SampleType::Float32;
  else if (name == "int16") out = SampleType::Int16;
  else return false;
  return true;
}

void apply_cache_statistics(UmxWeights& weights, const CacheStatistics& stats) {
  const int max_bin = weights.config.max_bin;
  if (stats.frames == 0 || stats.mean.empty()) fail("statistics", "the cache's statistics are empty");
  if (static_cast<int>(stats.mean.size()) < max_bin || stats.std.size() != stats.mean.size())
    fail("statistics", "fewer bins than the model's max_bin");
  auto input_mean = weights["input_mean"];
  auto input_scale = weights["input_scale"];
  for (int f = 0; f < max_bin; ++f) {
    input_mean[f] = -stats.mean[f];
    input_scale[f] = 1.f / (stats.std[f] > 0 ? stats.std[f] : 1.f);
  }
}

void write_cache_statistics(const fs::path& file, const CacheStatistics& stats) {
  const auto bins = static_cast<std::int64_t>(stats.mean.size());
  safetensors::write(file,
                     {safetensors::make_f32("mean", {bins}, stats.mean), safetensors::make_f32("std", {bins}, stats.std)},
                     {{"n_fft", std::to_string(stats.n_fft)},
                      {"n_hop", std::to_string(stats.n_hop)},
                      {"center", "false"},
                      {"frames", std::to_string(stats.frames)},
                      {"what", "per-bin mean and std of the channel-averaged train mix magnitude"}});
}

CacheStatistics read_cache_statistics(const fs::path& file) {
  const safetensors::File f = safetensors::read(file);
  const auto* mean = f.find("mean");
  const auto* std = f.find("std");
  if (!mean || !std) fail(file, "statistics need tensors 'mean' and 'std'");
  CacheStatistics s;
  s.mean = safetensors::as_f32(*mean);
  s.std = safetensors::as_f32(*std);
  if (s.mean.size() != s.std.size() || s.mean.empty()) fail(file, "'mean' and 'std' differ in length or are empty");
  auto number = [&](const char* key) -> std::int64_t {
    const auto it = f.metadata.find(key);
    if (it == f.metadata.end()) fail(file, std::string("metadata has no '") + key + "'");
    try {
      return std::stoll(it->second);
    } catch (const std::exception&) {
      fail(file, std::string("metadata '") + key + "' is not a number");
    }
  };
  s.n_fft = static_cast<int>(number("n_fft"));
  s.n_hop = static_cast<int>(number("n_hop"));
  s.frames = number("frames");
  if (static_cast<std::size_t>(s.n_fft / 2 + 1) != s.mean.size()) fail(file, "bin count does not match n_fft");
  for (const auto* v : {&s.mean, &s.std})
    if (!std::all_of(v->begin(), v->end(), [](float x) { return std::isfinite(x); }))
      fail(file, "statistics hold NaN or infinite values (from a track with non-finite samples?); rerun preprocess");
  return s;
}

namespace {

// A mapped file cut short while mapped (truncated, or rewritten in place by another preprocess) turns
// reads past its new end into SIGBUS. The mapped ranges are recorded in fixed slots, so the handler can
// name the file on one line and exit 1 instead of dying with "Bus error".
struct MappedRange {
  std::atomic<bool> claimed{false};
  std::atomic<std::uintptr_t> begin{0};
  std::size_t size = 0;
  char path[512] = {};
};
constexpr std::size_t kRangeSlots = 4096;
MappedRange g_ranges[kRangeSlots];
struct sigaction g_previous_sigbus {};

void write_stderr(const char* s) {
  for (std::size_t n = std::strlen(s); n > 0;) {
    const ssize_t w = ::write(STDERR_FILENO, s, n);
    if (w <= 0) return;
    s += w;
    n -= static_cast<std::size_t>(w);
  }
}

void on_sigbus(int sig, siginfo_t* info, void* context) {
  const auto addr = reinterpret_cast<std::uintptr_t>(info ? info->si_addr : nullptr);
  for (const MappedRange& r : g_ranges) {
    const std::uintptr_t begin = r.begin.load(std::memory_order_acquire);
    if (begin != 0 && addr >= begin && addr - begin < r.size) {
      write_stderr("error: ");
      write_stderr(r.path);
      write_stderr(": cache file became shorter while being read (truncated or rewritten by another process); "
                   "rerun preprocess, and do not change a cache while training reads it\n");
      ::_exit(1);
    }
  }
  // Not ours: whatever handled SIGBUS before (by default, the signal ends the process).
  if (g_previous_sigbus.sa_flags & SA_SIGINFO) {
    if (g_previous_sigbus.sa_sigaction) return g_previous_sigbus.sa_sigaction(sig, info, context);
  } else if (g_previous_sigbus.sa_handler != SIG_DFL && g_previous_sigbus.sa_handler != SIG_IGN) {
    return g_previous_sigbus.sa_handler(sig);
  }
  ::signal(SIGBUS, SIG_DFL);
  ::raise(SIGBUS);
}

MappedRange* register_range(const void* begin, std::size_t size, const fs::path& path) {
  static const bool installed = [] {
    struct sigaction sa {};
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    return ::sigaction(SIGBUS, &sa, &g_previous_sigbus) == 0;
  }();
  if (!installed) return nullptr;
  for (MappedRange& r : g_ranges) {
    bool expected = false;
    if (!r.claimed.compare_exchange_strong(expected, true)) continue;
    r.size = size;
    std::snprintf(r.path, sizeof(r.path), "%s", path.c_str());
    r.begin.store(reinterpret_cast<std::uintptr_t>(begin), std::memory_order_release);
    return &r;
  }
  return nullptr;  // more maps than slots: those files fault without a name
}

void release_range(MappedRange* r) {
  if (!r) return;
  r->begin.store(0, std::memory_order_release);
  r->claimed.store(false, std::memory_order_release);
}

// A read-only memory map that unmaps itself.
class MappedFile {
 public:
  MappedFile(const fs::path& path, std::size_t expected_bytes) : size_(expected_bytes) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(path, "cannot open cache file: " + std::string(std::strerror(errno)));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || static_cast<std::size_t>(st.st_size) != expected_bytes) {
      ::close(fd);
      fail(path, "cache file has " + std::to_string(st.st_size) + " bytes, the index says " + std::to_string(expected_bytes) +
                     " (rerun preprocess)");
    }
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    if (p == MAP_FAILED) fail(path, "cannot memory-map cache file: " + std::string(std::strerror(errno)));
    data_ = p;
    range_ = register_range(data_, size_, path);
  }
  ~MappedFile() {
    release_range(range_);
    if (data_) ::munmap(data_, size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const void* data() const { return data_; }

 private:
  void* data_ = nullptr;
  std::size_t size_ = 0;
  MappedRange* range_ = nullptr;
};

// A cache written before preprocess checked its samples (or damaged since) may hold NaN or infinite ones,
// which would make training diverge at the track's first excerpt: one pass over the mapped samples at open
// refuses it by name. int16 samples are always finite; only their scale needs looking at.
void check_finite_samples(const MappedFile& map, const fs::path& dir, const std::string& file,
                          const CachedTrack& track, float scale, int channels, SampleType type) {
  const std::string rebuild = ": the cache was written by an older preprocess or damaged; rebuild the track: remove " +
                              (dir / "tracks" / (track.id + ".json")).string() +
                              " and rerun preprocess (which leaves a track with such samples out by name)";
  if (type == SampleType::Int16) {
    if (!std::isfinite(scale) || scale < 0)
      fail(dir / "index.json", "track '" + track.id + "' has the sample scale " + std::to_string(scale) + rebuild);
    return;
  }
  const auto* samples = static_cast<const float*>(map.data());
  const std::size_t count = static_cast<std::size_t>(track.frames) * static_cast<std::size_t>(channels);
  if (cpu::count_non_finite(samples, count) == 0) return;
  const std::size_t at = static_cast<std::size_t>(
      std::find_if(samples, samples + count, [](float v) { return !std::isfinite(v); }) - samples);
  fail(dir / file, "track '" + track.id + "' holds a NaN or infinite sample (frame " + std::to_string(at / channels) +
                       ", channel " + std::to_string(at % channels) + ")" + rebuild);
}

}  // namespace

struct Cache::Impl {
  fs::path dir;
  int sample_rate = 0, channels = 0;
  SampleType sample_type = SampleType::Float32;
  std::vector<CachedTrack> tracks;
  std::vector<std::unique_ptr<MappedFile>> target_maps, interferer_maps;
  bool has_statistics = false;
  CacheStatistics statistics;
};

Cache::Cache(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Cache::Cache(Cache&&) noexcept = default;
Cache& Cache::operator=(Cache&&) noexcept = default;
Cache::~Cache() = default;

const fs::path& Cache::dir() const { return impl_->dir; }
int Cache::sample_rate() const { return impl_->sample_rate; }
int Cache::channels() const { return impl_->channels; }
SampleType Cache::sample_type() const { return impl_->sample_type; }
const std::vector<CachedTrack>& Cache::tracks() const { return impl_->tracks; }
bool Cache::has_statistics() const { return impl_->has_statistics; }
const CacheStatistics& Cache::statistics() const {
  if (!impl_->has_statistics) fail(impl_->dir, "the cache has no statistics (preprocess ran with statistics off)");
  return impl_->statistics;
}

std::vector<std::size_t> Cache::indices(Split split) const {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < impl_->tracks.size(); ++i)
    if (impl_->tracks[i].split == split) out.push_back(i);
  return out;
}

Cache Cache::open(const fs::path& dir) {
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  const fs::path index_file = dir / "index.json";
  std::ifstream in(index_file, std::ios::binary);
  if (!in) fail(index_file, "cannot open the cache index (run preprocess first)");
  json j;
  try {
    in >> j;
    if (j.value("format", "") != "unmix-cache") fail(index_file, "not a cache index");
    if (j.at("version").get<int>() != 1) fail(index_file, "unsupported cache version");
    impl->sample_rate = j.at("sample_rate").get<int>();
    impl->channels = j.at("channels").get<int>();
    if (!parse_sample_type(j.at("sample_type").get<std::string>(), impl->sample_type))
      fail(index_file, "unknown sample_type");
    if (impl->sample_rate <= 0 || impl->channels < 1 || impl->channels > 2) fail(index_file, "bad sample rate or channels");
    const std::size_t bytes_per_frame =
        static_cast<std::size_t>(impl->channels) * (impl->sample_type == SampleType::Int16 ? 2u : 4u);
    for (const auto& t : j.at("tracks")) {
      CachedTrack ct;
      ct.id = t.at("id").get<std::string>();
      if (!parse_split(t.at("split").get<std::string>(), ct.split)) fail(index_file, "track " + ct.id + ": bad split");
      ct.bleed = t.at("bleed").get<bool>();
      ct.frames = t.at("frames").get<std::int64_t>();
      ct.target_file = t.at("target").at("file").get<std::string>();
      ct.target_scale = t.at("target").at("scale").get<float>();
      ct.interferer_file = t.at("interferers").at("file").get<std::string>();
      ct.interferer_scale = t.at("interferers").at("scale").get<float>();
      if (ct.frames <= 0) fail(index_file, "track " + ct.id + " has no frames");
      if (ct.frames > (std::int64_t{1} << 40)) fail(index_file, "track " + ct.id + " claims an impossible length");
      for (const auto* name : {&ct.target_file, &ct.interferer_file})
        if (name->empty() || name->front() == '/' || name->find("..") != std::string::npos)
          fail(index_file, "track " + ct.id + ": file '" + *name + "' is not inside the cache");
      const std::size_t bytes = static_cast<std::size_t>(ct.frames) * bytes_per_frame;
      impl->target_maps.push_back(std::make_unique<MappedFile>(dir / ct.target_file, bytes));
      impl->interferer_maps.push_back(std::make_unique<MappedFile>(dir / ct.interferer_file, bytes));
      check_finite_samples(*impl->target_maps.back(), dir, ct.target_file, ct, ct.target_scale, impl->channels,
                           impl->sample_type);
      check_finite_samples(*impl->interferer_maps.back(), dir, ct.interferer_file, ct, ct.interferer_scale,
                           impl->channels, impl->sample_type);
      impl->tracks.push_back(std::move(ct));
    }
    if (j.contains("statistics") && j["statistics"].is_string()) {
      impl->statistics = read_cache_statistics(dir / j["statistics"].get<std::string>());
      impl->has_statistics = true;
    }
  } catch (const json::exception& e) {
    fail(index_file, std::string("malformed cache index: ") + e.what());
  }
  return Cache(std::move(impl));
}

namespace {

// One pass over interleaved samples into planar output: out[c][i] (+)= gain * decode(src[i][c ^ swap]).
template <typename Sample, bool Accumulate>
void deinterleave(const Sample* src, int channels, std::int64_t count, float scale, bool swap, float* out,
                  std::int64_t stride) {
  if (channels == 2) {
    float* left = out + (swap ? stride : 0);
    float* right = out + (swap ? 0 : stride);
    for (std::int64_t i = 0; i < count; ++i) {
      const float l = static_cast<float>(src[2 * i]) * scale, r = static_cast<float>(src[2 * i + 1]) * scale;
      if constexpr (Accumulate) {
        left[i] += l;
        right[i] += r;
      } else {
        left[i] = l;
        right[i] = r;
      }
    }
    return;
  }
  for (int c = 0; c < channels; ++c)
    for (std::int64_t i = 0; i < count; ++i) {
      const float v = static_cast<float>(src[i * channels + c]) * scale;
      if constexpr (Accumulate)
        out[c * stride + i] += v;
      else
        out[c * stride + i] = v;
    }
}

}  // namespace

void Cache::read(std::size_t track, Source source, std::int64_t start, std::int64_t count, float* out,
                 std::int64_t out_stride, float gain, bool swap_channels) const {
  transfer(track, source, start, count, out, out_stride, gain, swap_channels, false);
}

void Cache::add(std::size_t track, Source source, std::int64_t start, std::int64_t count, float* out,
                std::int64_t out_stride, float gain, bool swap_channels) const {
  transfer(track, source, start, count, out, out_stride, gain, swap_channels, true);
}

void Cache::transfer(std::size_t track, Source source, std::int64_t start, std::int64_t count, float* out,
                     std::int64_t out_stride, float gain, bool swap_channels, bool accumulate) const {
  const auto& t = impl_->tracks.at(track);
  if (start < 0 || count < 0) fail(impl_->dir, "negative excerpt start or length");
  const int channels = impl_->channels;
  const bool swap = swap_channels && channels == 2;
  const std::int64_t available = std::clamp<std::int64_t>(t.frames - start, 0, count);
  const void* base = (source == Source::Target ? impl_->target_maps : impl_->interferer_maps)[track]->data();
  if (available > 0 && impl_->sample_type == SampleType::Float32) {
    const float* src = static_cast<const float*>(base) + start * channels;
    if (accumulate)
      deinterleave<float, true>(src, channels, available, gain, swap, out, out_stride);
    else
      deinterleave<float, false>(src, channels, available, gain, swap, out, out_stride);
  } else if (available > 0) {
    const float scale = gain * (source == Source::Target ? t.target_scale : t.interferer_scale);
    const std::int16_t* src = static_cast<const std::int16_t*>(base) + start * channels;
    if (accumulate)
      deinterleave<std::int16_t, true>(src, channels, available, scale, swap, out, out_stride);
    else
      deinterleave<std::int16_t, false>(src, channels, available, scale, swap, out, out_stride);
  }
  if (!accumulate)
    for (int c = 0; c < channels; ++c) std::fill(out + c * out_stride + available, out + c * out_stride + count, 0.f);
}

}  // namespace unmix::data
