// The separation pipeline on one signal at the model's rate: chunked STFT -> models -> Wiener -> stitched
// ISTFT (see unmix/separator.h for the chunking and why it matches whole-signal processing).
#include "unmix/separator.h"

#include <algorithm>
#include <cstring>
#include <functional>

#include "device_choice.h"
#include "unmix/gpu/wiener.h"
#include "unmix/limits.h"
#include "unmix/model_dir.h"
#include "unmix/stft.h"

namespace unmix {

struct Separator::Impl {
  std::vector<std::unique_ptr<SpectrogramModel>> models;
  ModelConfig config;
  Stft stft;
  std::unique_ptr<gpu::WienerGpu> gpu_wiener;
  WienerOptions wiener;

  Impl(std::vector<std::unique_ptr<SpectrogramModel>> m, const ModelConfig& c)
      : models(std::move(m)), config(c), stft(c.nfft, c.nhop) {}

  std::vector<ComplexSpectrogram> sources;

  std::vector<ComplexSpectrogram>& filter(const ComplexSpectrogram& mix, const TargetMagnitudes& magnitudes,
                                          int leading_frames) {
    if (gpu_wiener)
      gpu_wiener->run(mix, magnitudes, wiener, sources, leading_frames);
    else
      unmix::wiener(mix, magnitudes, wiener, sources, leading_frames);
    return sources;
  }
};

namespace {

void check_same_layout(const ModelConfig& a, const ModelConfig& b, const std::string& name, const std::string& first) {
  auto differs = [&](const std::string& what, double x, double y) {
    if (x != y)
      fail("model '" + name + "'", what + " " + std::to_string(y) + " differs from " + std::to_string(x) + " of model '" +
                                       first + "'; all targets must share the STFT, channels and sample rate");
  };
  differs("nfft", a.nfft, b.nfft);
  differs("nhop", a.nhop, b.nhop);
  differs("nb_channels", a.nb_channels, b.nb_channels);
  differs("sample_rate", a.sample_rate, b.sample_rate);
}

// The chunks a signal of `frames` STFT frames is processed in. A chunk's span (core plus context) bounds
// the memory. A signal up to two full spans long is done in one piece: its audio buffers are small, so one
// long span still needs less memory than a long signal in chunks, and splitting it would only repeat
// model work on the overlaps.
std::vector<Chunk> chunk_plan(const SeparatorOptions& o, int frames) {
  const int window = o.wiener_win_len;
  const long long full_span = 1LL * window * o.chunk_windows + 2LL * o.context_frames;
  const long long whole_limit = o.max_whole_frames >= 0 ? o.max_whole_frames : 2 * full_span;
  const bool whole = window == 0 || frames <= whole_limit;
  return whole ? plan_chunks(frames, frames, 1, 0) : plan_chunks(frames, window, o.chunk_windows, o.context_frames);
}

// The mix read forward, holding only the samples the current and later chunks still need. A stereo
// model on a mono mix sees the channel duplicated.
class SlidingSignal {
 public:
  SlidingSignal(const Separator::MixReader& mix, int channels) : mix_(mix), channels_(channels) {
    data_.resize(static_cast<std::size_t>(channels));
  }

  // Frames [span_begin, span_end) of the centered STFT need these samples of the reflect-padded signal;
  // `planar` gets them channel by channel (padded position q is signal sample q - n_fft / 2).
  void padded_segment(int n_fft, int n_hop, const Chunk& chunk, std::vector<float>& planar, std::int64_t& length) {
    const std::int64_t L = mix_.frames;
    length = static_cast<std::int64_t>(chunk.span_end - chunk.span_begin - 1) * n_hop + n_fft;
    const std::int64_t first = static_cast<std::int64_t>(chunk.span_begin) * n_hop - n_fft / 2;
    // torch's reflect padding (no edge repeat), as Stft::forward(center = true) applies it
    auto reflect = [L](std::int64_t k) {
      if (k < 0) k = -k;
      if (k >= L) k = 2 * (L - 1) - k;
      return k;
    };
    // Real samples the segment touches: its part inside the signal, plus the mirrored ends.
    const std::int64_t a = first, b = first + length - 1;
    std::int64_t lo = std::max<std::int64_t>(a, 0), hi = std::min(b, L - 1) + 1;
    if (a < 0) hi = std::max(hi, std::min(-a, L - 1) + 1);
    if (b >= L) lo = std::min(lo, std::max<std::int64_t>(2 * (L - 1) - b, 0));
    ensure(lo, hi);
    planar.resize(static_cast<std::size_t>(channels_) * static_cast<std::size_t>(length));
    for (int c = 0; c < channels_; ++c) {
      const float* x = data_[c].data() - begin_;
      float* out = planar.data() + static_cast<std::size_t>(c) * static_cast<std::size_t>(length);
      for (std::int64_t i = 0; i < length; ++i) out[i] = x[reflect(first + i)];
    }
  }

 private:
  // Samples [lo, hi) in memory; those before lo are dropped (no later chunk needs them).
  void ensure(std::int64_t lo, std::int64_t hi) {
    if (lo < begin_) fail("separate", "chunks read the mix out of order");
    const std::int64_t drop = std::min<std::int64_t>(lo, end_) - begin_;
    if (drop > 0) {
      for (auto& d : data_) d.erase(d.begin(), d.begin() + drop);
      begin_ += drop;
    }
    if (hi <= end_) return;
    const std::int64_t n = hi - end_;
    const int in_channels = mix_.channels;
    scratch_.resize(static_cast<std::size_t>(in_channels) * static_cast<std::size_t>(n));
    mix_.read(scratch_.data(), n);
    for (int c = 0; c < channels_; ++c) {
      const float* src = scratch_.data() + static_cast<std::size_t>(std::min(c, in_channels - 1)) * static_cast<std::size_t>(n);
      data_[c].insert(data_[c].end(), src, src + n);
    }
    end_ = hi;
    if (begin_ == end_ - static_cast<std::int64_t>(data_[0].size())) return;
    fail("separate", "mix buffer out of step");
  }

  const Separator::MixReader& mix_;
  int channels_;
  std::vector<std::vector<float>> data_;  // samples [begin_, end_) per channel
  std::int64_t begin_ = 0, end_ = 0;
  std::vector<float> scratch_;
};

// Copies frames [first, first + count) of `src` into a new spectrogram.
ComplexSpectrogram frame_range(const ComplexSpectrogram& src, int first, int count) {
  ComplexSpectrogram out;
  out.channels = src.channels;
  out.frames = count;
  out.bins = src.bins;
  out.data.resize(static_cast<std::size_t>(src.channels) * count * src.bins);
  for (int c = 0; c < src.channels; ++c)
    std::copy_n(src.frame(c, first), static_cast<std::size_t>(count) * src.bins, out.frame(c, 0));
  return out;
}

// Overlap-add across chunks. A sample of the padded signal at position q is covered by the frames t with
// t * hop <= q < t * hop + n_fft. The chunk with core [c0, c1) owns the samples [c0 * hop, c1 * hop) and
// inverts its core frames together with the last (n_fft - 1) / hop frames of the previous core: exactly the
// frames that cover those samples, summed in the same order as a whole-signal ISTFT, so the stitched
// signal equals it sample for sample.
class StitchedIstft {
 public:
  // `emit(planar, count, stride)` gets the next samples of the signal of `frames` samples per channel.
  using Emit = std::function<void(const float* planar, std::int64_t count, std::int64_t stride)>;
  StitchedIstft(const Stft& stft, std::int64_t frames, Emit emit) : stft_(stft), frames_(frames), emit_(std::move(emit)) {}

  // Frames that a chunk has to carry over to the next one.
  static int carry_frames(const Stft& stft) { return (stft.n_fft() - 1) / stft.n_hop(); }

  // `frames`: the chunk's core frames after `leading` frames left free for the previous chunk's last ones
  // (as many as it carried over).
  void add(ComplexSpectrogram& frames, int leading, int core_begin, bool last) {
    if (leading != carry_.frames) fail("istft", "chunk overlap does not match the carried frames");
    for (int c = 0; c < frames.channels; ++c)
      std::copy_n(carry_.frame(c, 0), static_cast<std::size_t>(leading) * frames.bins, frames.frame(c, 0));
    const int first_frame = core_begin - leading;
    const std::int64_t hop = stft_.n_hop();
    const std::int64_t length = stft_.default_length(frames.frames, false);
    buffer_.resize(static_cast<std::size_t>(frames.channels) * static_cast<std::size_t>(length));
    stft_.inverse(frames, false, length, buffer_.data());
    const std::int64_t origin = first_frame * hop;  // padded position of buffer_[0]
    const std::int64_t keep_begin = core_begin * hop;
    const std::int64_t keep_end =
        last ? origin + length : (static_cast<std::int64_t>(first_frame) + frames.frames) * hop;
    const std::int64_t pad = stft_.n_fft() / 2;
    const std::int64_t from = std::max(keep_begin, pad), to = std::min(keep_end, frames_ + pad);
    if (from - pad != emitted_) fail("istft", "chunks do not join up");
    if (to > from) emit_(buffer_.data() + (from - origin), to - from, length);
    emitted_ = std::max(emitted_, to - pad);
    const int keep = std::min(carry_frames(stft_), frames.frames);
    carry_ = frame_range(frames, frames.frames - keep, keep);
  }

 private:
  const Stft& stft_;
  std::int64_t frames_, emitted_ = 0;
  Emit emit_;
  ComplexSpectrogram carry_;
  std::vector<float> buffer_;
};

}  // namespace

Separator::Separator(std::vector<std::string> targets, std::vector<std::unique_ptr<SpectrogramModel>> models,
                     const SeparatorOptions& options)
    : options_(options) {
  if (targets.empty()) fail("separator", "no targets");
  if (targets.size() != models.size()) fail("separator", "one model per target is needed");
  for (std::size_t i = 0; i < models.size(); ++i) {
    if (!models[i]) fail("separator", "model for '" + targets[i] + "' is missing");
    check_same_layout(models[0]->config(), models[i]->config(), targets[i], targets[0]);
    if (std::count(targets.begin(), targets.end(), targets[i]) > 1 || targets[i] == "residual")
      fail("separator", "target name '" + targets[i] + "' is used twice (\"residual\" is reserved)");
  }
  const ModelConfig config = models[0]->config();
  if (config.nb_channels != 1 && config.nb_channels != 2)
    fail("separator", "models with " + std::to_string(config.nb_channels) + " channels are not supported");
  validate(options);

  impl_ = std::make_unique<Impl>(std::move(models), config);
  const bool residual = options.residual.value_or(targets.size() == 1);
  options_.residual = residual;
  impl_->wiener.iterations = options.niter;
  impl_->wiener.softmask = options.softmask;
  impl_->wiener.residual = residual;
  impl_->wiener.window_frames = options.wiener_win_len;
  if (wiener_source_count(static_cast<int>(targets.size()), impl_->wiener) == 1 && options.niter > 0) {
    // openunmix refuses this; EM with one source only reproduces the mixture, so it is skipped instead.
    notes_.push_back("EM needs at least two sources (add --residual or more targets); separating with --niter 0");
    impl_->wiener.iterations = 0;
    options_.niter = 0;
  }
  const DeviceChoice choice = choose_device(options.device);
  if (choice.gpu_wiener) impl_->gpu_wiener = std::make_unique<gpu::WienerGpu>(0);
  sources_ = std::move(targets);
  if (residual) sources_.push_back("residual");
}

void validate(const SeparatorOptions& o) {
  check_range("--niter", std::int64_t{o.niter}, 0, kMaxNiter);
  check_range("--wiener-win-len", std::int64_t{o.wiener_win_len}, 0, kMaxWienerWindowFrames);
  check_range("--chunk-windows", std::int64_t{o.chunk_windows}, 1, kMaxChunkWindows);
  check_range("--context-frames", std::int64_t{o.context_frames}, 0, kMaxContextFrames);
  if (o.max_whole_frames < -1) fail("separator", "max_whole_frames must be >= 0, or -1 for the default");
  if (o.memory_limit_bytes < 0) fail("separator", "memory_limit_bytes must be >= 0 (0: the machine's memory)");
}

std::int64_t Separator::memory_needed(std::int64_t samples, int channels) const {
  const ModelConfig& cfg = impl_->config;
  const int frames = impl_->stft.frames(std::max<std::int64_t>(samples, 1), true);
  std::int64_t span = 0;
  for (const Chunk& c : chunk_plan(options_, frames)) span = std::max<std::int64_t>(span, c.span_end - c.span_begin);
  const std::int64_t C = cfg.nb_channels == 2 ? 2 : channels, mc = cfg.nb_channels, bins = cfg.nb_bins;
  const std::int64_t T = static_cast<std::int64_t>(impl_->models.size()), S = static_cast<std::int64_t>(sources_.size());
  constexpr std::int64_t kComplex = 8, kFloat = 4;
  const std::int64_t per_frame =
      2 * C * bins * kComplex                                   // the span's STFT, the core's copy for the filter
      + S * C * bins * kComplex                                 // the filtered sources
      + (1 + T) * mc * bins * kFloat                            // model input, one output per target
      + (mc * cfg.max_bin + (8 + 8LL * cfg.nb_layers) * cfg.hidden_size + 2 * mc * bins) * kFloat  // activations
      + (1 + S) * C * cfg.nhop * kFloat;                        // the span's audio, each source's ISTFT
  return span * per_frame;
}

void Separator::check_memory(std::int64_t samples, int channels) const {
  const std::int64_t limit = options_.memory_limit_bytes > 0 ? options_.memory_limit_bytes : available_memory_bytes();
  if (limit <= 0) return;  // unknown: nothing to compare with
  const std::int64_t needed = memory_needed(samples, channels);
  if (needed <= limit) return;
  const SeparatorOptions& o = options_;
  const std::int64_t per_frame = std::max<std::int64_t>(1, memory_needed(1, channels));  // one frame's share
  const std::string sizes = "about " + memory_text(needed) + " of memory, more than the " + memory_text(limit) +
                            " available (spans of at most " + std::to_string(limit / per_frame) + " frames fit)";
  if (o.wiener_win_len == 0)
    fail("--wiener-win-len", "0 filters the whole file at once: its " +
                                 std::to_string(impl_->stft.frames(samples, true)) + " frames need " + sizes +
                                 "; use a window of 1 to " + std::to_string(kMaxWienerWindowFrames) + " frames (default 300)");
  fail("--chunk-windows " + std::to_string(o.chunk_windows) + ", --wiener-win-len " + std::to_string(o.wiener_win_len) +
           ", --context-frames " + std::to_string(o.context_frames),
       "chunks of (windows x window length + 2 x context) frames, files of up to twice that in one piece: this one "
       "needs " + sizes + "; lower them (defaults 3, 300, 128)");
}

Separator::~Separator() = default;
Separator::Separator(Separator&&) noexcept = default;
Separator& Separator::operator=(Separator&&) noexcept = default;

Separator Separator::load(const std::filesystem::path& model_dir, std::vector<std::string> targets,
                          const SeparatorOptions& options) {
  if (targets.empty()) targets = default_targets(model_dir);
  if (targets.empty())
    fail(model_dir, "no models in this folder (expected <target>.json with <target>.safetensors)");
  const DeviceChoice choice = choose_device(options.device);
  std::vector<std::unique_ptr<SpectrogramModel>> models;
  for (const auto& target : targets) {
    UmxWeights weights = load_model(model_dir, target);
    std::unique_ptr<SpectrogramModel> model;
    if (choice.gpu_model) model = make_gpu_model(weights, 0);
    if (!model) model = make_cpu_model(std::move(weights));
    models.push_back(std::move(model));
  }
  return Separator(std::move(targets), std::move(models), options);
}

const ModelConfig& Separator::config() const { return impl_->config; }
int Separator::sample_rate() const { return static_cast<int>(impl_->config.sample_rate); }

std::string Separator::describe() const {
  return "model on " + impl_->models.front()->device_name() + ", Wiener filter on " +
         (impl_->gpu_wiener ? "cuda:" + std::to_string(impl_->gpu_wiener->device()) : std::string("cpu"));
}

std::vector<Audio> Separator::separate(const Audio& mix, const ProgressFn& progress) {
  if (mix.channels != 1 && mix.channels != 2)
    fail("separate", "audio must have 1 or 2 channels, got " + std::to_string(mix.channels));
  MixReader reader;
  reader.sample_rate = mix.sample_rate;
  reader.channels = mix.channels;
  reader.frames = mix.frames;
  std::int64_t next = 0;
  reader.read = [&](float* planar, std::int64_t count) {
    for (int c = 0; c < mix.channels; ++c)
      std::copy_n(mix.channel(c) + next, count, planar + static_cast<std::size_t>(c) * static_cast<std::size_t>(count));
    next += count;
  };
  std::vector<Audio> out(sources_.size());
  std::vector<std::int64_t> filled(sources_.size(), 0);
  for (auto& a : out) {
    a.sample_rate = mix.sample_rate;
    a.channels = mix.channels;
    a.frames = mix.frames;
    a.samples.assign(static_cast<std::size_t>(mix.channels) * static_cast<std::size_t>(mix.frames), 0.f);
  }
  separate(reader, [&](int j, const float* planar, std::int64_t count, std::int64_t stride) {
    for (int c = 0; c < mix.channels; ++c)
      std::copy_n(planar + static_cast<std::size_t>(c) * static_cast<std::size_t>(stride), count, out[j].channel(c) + filled[j]);
    filled[j] += count;
  }, progress);
  return out;
}

void Separator::separate(const MixReader& mix, const SourceWriter& write, const ProgressFn& progress) {
  const ModelConfig& cfg = impl_->config;
  const Stft& stft = impl_->stft;
  if (mix.channels != 1 && mix.channels != 2)
    fail("separate", "audio must have 1 or 2 channels, got " + std::to_string(mix.channels));
  if (mix.sample_rate != sample_rate())
    fail("separate", "audio at " + std::to_string(mix.sample_rate) + " Hz, the model expects " +
                         std::to_string(sample_rate()) + " Hz");
  if (mix.frames <= cfg.nfft / 2)
    fail("separate", "audio of " + std::to_string(mix.frames) + " samples is too short: the model needs more than " +
                         std::to_string(cfg.nfft / 2) + " (" + std::to_string(1000.0 * (cfg.nfft / 2 + 1) / cfg.sample_rate) +
                         " ms)");

  // A stereo model duplicates a mono mix; a mono model keeps the mix's channels (see magnitudes below).
  const int C = cfg.nb_channels == 2 ? 2 : mix.channels, mc = cfg.nb_channels, bins = cfg.nb_bins;
  SlidingSignal input(mix, C);
  const int frames = stft.frames(mix.frames, true);
  check_memory(mix.frames, mix.channels);
  const std::vector<Chunk> chunks = chunk_plan(options_, frames);

  const int S = static_cast<int>(sources_.size());
  std::vector<StitchedIstft> istft;
  istft.reserve(static_cast<std::size_t>(S));
  std::vector<float> mono;
  for (int j = 0; j < S; ++j) {
    if (mix.channels == 1 && C == 2)
      // Both channels came from the same mono signal; hand out their mean.
      istft.emplace_back(stft, mix.frames, [&, j](const float* planar, std::int64_t count, std::int64_t stride) {
        mono.resize(static_cast<std::size_t>(count));
        for (std::int64_t i = 0; i < count; ++i) mono[i] = 0.5f * (planar[i] + planar[stride + i]);
        write(j, mono.data(), count, count);
      });
    else
      istft.emplace_back(stft, mix.frames, [&, j](const float* planar, std::int64_t count, std::int64_t stride) {
        write(j, planar, count, stride);
      });
  }

  std::vector<float> segment, magnitudes;
  std::vector<std::vector<float>> estimates(impl_->models.size());
  for (std::size_t k = 0; k < chunks.size(); ++k) {
    const Chunk& chunk = chunks[k];
    const int span = chunk.span_end - chunk.span_begin;
    // The span's STFT is only needed for the model input and the core's frames; it goes before the
    // models run, which is where a chunk needs the most memory.
    ComplexSpectrogram core_mix;
    {
      std::int64_t length = 0;
      input.padded_segment(cfg.nfft, cfg.nhop, chunk, segment, length);
      const ComplexSpectrogram spec = stft.forward(segment.data(), C, length, false);
      // Model input [frames][1][mc][bins]; a mono model on stereo sees the channel mean of the magnitudes.
      magnitudes.resize(static_cast<std::size_t>(span) * mc * bins);
      if (mc == C) {
        magnitude_frame_major(spec, 1, 0, magnitudes.data());
      } else {
        for (int t = 0; t < span; ++t) {
          const auto* left = spec.frame(0, t);
          const auto* right = spec.frame(1, t);
          float* dst = magnitudes.data() + static_cast<std::size_t>(t) * bins;
          for (int f = 0; f < bins; ++f) dst[f] = (std::abs(left[f]) + std::abs(right[f])) / 2.f;
        }
      }
      core_mix = frame_range(spec, chunk.core_begin - chunk.span_begin, chunk.core_end - chunk.core_begin);
    }
    TargetMagnitudes targets;
    targets.channels = mc;
    const std::size_t core_offset = static_cast<std::size_t>(chunk.core_begin - chunk.span_begin) * mc * bins;
    for (std::size_t j = 0; j < impl_->models.size(); ++j) {
      estimates[j].resize(magnitudes.size());
      impl_->models[j]->forward(magnitudes.data(), span, 1, estimates[j].data());
      targets.targets.push_back(estimates[j].data() + core_offset);
    }

    // The filtered frames land after room for the frames the previous chunk carries over.
    const int leading = std::min(StitchedIstft::carry_frames(stft), chunk.core_begin);
    std::vector<ComplexSpectrogram>& sources = impl_->filter(core_mix, targets, leading);
    const bool last = k + 1 == chunks.size();
    for (int j = 0; j < S; ++j) istft[j].add(sources[j], leading, chunk.core_begin, last);
    sources.clear();  // the next chunk's models run without them

    if (progress && !progress(static_cast<double>(chunk.core_end) / frames)) throw Cancelled();
  }
}

}  // namespace unmix
