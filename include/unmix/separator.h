#pragma once
// Source separation as openunmix's Separator: centered STFT -> one spectrogram model per target ->
// Wiener post-filter (unmix/wiener.h) -> ISTFT, on the CPU or, where there is one, the GPU.
//
// Long signals are processed in chunks so memory stays bounded. A chunk's core is a whole number of
// Wiener windows (so the EM sees exactly the windows of the whole-signal run) and is surrounded by
// `context_frames` frames on each side that only feed the model's BiLSTM; the chunk's ISTFT is stitched
// with the frames of the previous chunk that overlap it, so the overlap-add is the whole-signal one.
// The only difference to processing everything at once is the BiLSTM not seeing beyond the context,
// which docs/separate.md quantifies.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "unmix/audio.h"
#include "unmix/config.h"
#include "unmix/error.h"
#include "unmix/param_table.h"
#include "unmix/wiener.h"

namespace unmix {

// Magnitude spectrogram in, target magnitude spectrogram out: what the separator needs of a model.
// The CPU reference and the GPU engine both implement it.
class SpectrogramModel {
 public:
  virtual ~SpectrogramModel() = default;
  virtual const ModelConfig& config() const = 0;
  // mix and out: [frames][batch][channels][bins] (config().nb_channels, nb_bins); the batch items are
  // independent sequences. Eval mode.
  virtual void forward(const float* mix, int frames, int batch, float* out) = 0;
  virtual std::string device_name() const = 0;  // "cpu", "cuda:0", ...
};

// The CPU reference (UmxCpu) behind the interface; takes the weights over.
std::unique_ptr<SpectrogramModel> make_cpu_model(UmxWeights weights);
// The GPU engine's model (UmxGpu for inference) on `device`; unmix::Error when the device cannot be used.
std::unique_ptr<SpectrogramModel> make_gpu_model(const UmxWeights& weights, int device);

enum class Device { Auto, Cpu, Cuda };
Device parse_device(const std::string& name);  // "auto" | "cpu" | "cuda"; unmix::Error otherwise

struct SeparatorOptions {
  int niter = 1;                    // EM iterations of the Wiener filter
  bool softmask = false;            // soft-mask initial estimates instead of magnitude + mixture phase
  std::optional<bool> residual;     // default: on for a single target, off otherwise
  int wiener_win_len = 300;         // frames per Wiener window; 0: the whole signal as one window
  // Chunking (see plan_chunks): at most chunk_windows Wiener windows per chunk, with context_frames of
  // model context on each side. Signals of at most max_whole_frames frames are processed whole (-1: two
  // full chunk spans, about 54 s at the defaults, whose memory stays below a long signal's in chunks), as
  // is any signal with wiener_win_len 0. The defaults keep a 10-minute stereo song under 1 GB and chunked
  // output within about 1e-7 of the whole-signal output on the models measured in docs/separate.md.
  int chunk_windows = 3;
  int context_frames = 128;
  int max_whole_frames = -1;
  Device device = Device::Auto;
  // Host memory a chunk may take; a file whose chunks would need more is refused before any of it is
  // read (0: what this machine has available, available_memory_bytes()).
  std::int64_t memory_limit_bytes = 0;
};

// Upper bounds of the options, far beyond any useful setting: an EM that long gains nothing (openunmix
// uses 1), 2^20 frames are about 6.8 hours at 44.1 kHz, and above these a chunk's frame count would
// overflow. Refused by flag name before anything is loaded.
constexpr int kMaxNiter = 100;
constexpr int kMaxWienerWindowFrames = 1 << 20;
constexpr int kMaxChunkWindows = 1024;
constexpr int kMaxContextFrames = 1 << 20;
void validate(const SeparatorOptions& options);  // unmix::Error "<flag>: <value> is out of range: ..."

// Chunk layout over a signal's frames: the core [core_begin, core_end) is filtered and kept; the model
// runs on the span [span_begin, span_end): the core plus `context_frames` either side, less only where the
// signal ends. Cores are whole Wiener windows (the last one may end early with the signal), at most
// `windows_per_chunk` of them, spread evenly over as few chunks as that allows.
struct Chunk {
  int core_begin = 0, core_end = 0;
  int span_begin = 0, span_end = 0;
};
std::vector<Chunk> plan_chunks(int frames, int window, int windows_per_chunk, int context_frames);

// Thrown by separate() when the progress callback asks to stop.
class Cancelled : public Error {
 public:
  Cancelled() : Error("cancelled") {}
};

// Called after each chunk with the fraction done in [0, 1]; returning false stops the separation.
using ProgressFn = std::function<bool(double fraction)>;

class Separator {
 public:
  // One model per target, all with the same nfft, nhop, channels and sample rate.
  Separator(std::vector<std::string> targets, std::vector<std::unique_ptr<SpectrogramModel>> models,
            const SeparatorOptions& options);
  ~Separator();
  Separator(Separator&&) noexcept;
  Separator& operator=(Separator&&) noexcept;

  // Loads <dir>/<target>.{json,safetensors} for each target (default_targets(dir) when `targets` is
  // empty) on the device the options ask for.
  static Separator load(const std::filesystem::path& model_dir, std::vector<std::string> targets,
                        const SeparatorOptions& options);

  // Sources in output order: the targets, then "residual" when the residual is on.
  const std::vector<std::string>& source_names() const { return sources_; }
  const ModelConfig& config() const;
  int sample_rate() const;
  // What runs where, e.g. "model on cpu, Wiener filter on cpu".
  std::string describe() const;
  // Adjustments made to the options (e.g. EM turned off for a single source), for the user.
  const std::vector<std::string>& notes() const { return notes_; }
  const SeparatorOptions& options() const { return options_; }

  // Host memory the separation of a mix of `samples` samples per channel (at the model's rate, with
  // `channels` channels) takes at its peak: the largest chunk's spectrograms, model input and output,
  // the model's activations and the filtered sources. An upper estimate (docs/separate.md compares it
  // with measurements).
  std::int64_t memory_needed(std::int64_t samples, int channels) const;
  // unmix::Error naming the flags that set the chunk size when memory_needed exceeds the memory limit.
  void check_memory(std::int64_t samples, int channels) const;

  // `mix` at the model's sample rate, 1 or 2 channels, at least nfft / 2 + 1 frames. Returns one Audio per
  // source with the mix's rate, length and channel count (a stereo model duplicates a mono mix and
  // averages the result back; a mono model on a stereo mix sees the channel-averaged magnitude and the
  // Wiener filter gives stereo sources, as openunmix does).
  std::vector<Audio> separate(const Audio& mix, const ProgressFn& progress = {});

  // The same separation with the mix read forward and the sources handed out in order, chunk by
  // chunk, so memory does not grow with the length (the result is the in-memory one sample for sample).
  // `mix.read(planar, count)` must fill exactly the next `count` frames (channel c at planar + c * count);
  // `write(source, planar, count, stride)` gets each source's next frames (channel c at planar + c * stride),
  // with the mix's channel count, sources in source_names() order for each stretch.
  struct MixReader {
    int sample_rate = 0;
    int channels = 0;
    std::int64_t frames = 0;
    std::function<void(float* planar, std::int64_t count)> read;
  };
  using SourceWriter = std::function<void(int source, const float* planar, std::int64_t count, std::int64_t stride)>;
  void separate(const MixReader& mix, const SourceWriter& write, const ProgressFn& progress = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<std::string> sources_;
  std::vector<std::string> notes_;
  SeparatorOptions options_;
};

// Targets available in a model directory (every <name>.json with a matching <name>.safetensors), sorted.
std::vector<std::string> list_targets(const std::filesystem::path& model_dir);
// What a folder separates when no targets are named: its targets less the parts of another one
// (lead_guitar and rhythm_guitar beside guitar). A part overlaps its whole, and separating both jointly
// would share the whole's energy between them.
std::vector<std::string> default_targets(const std::filesystem::path& model_dir);

// The model used when none is given: $UNMIX_MODEL_DIR, else models/default next to the working
// directory or the source tree of the running executable. nullopt when there is none.
std::optional<std::filesystem::path> default_model_dir(const std::filesystem::path& executable = {});

// One file through the whole pipeline, streamed: decode (start/duration window) -> keep at most two
// channels -> resample to the model rate -> separate chunk by chunk -> resample back -> one file per
// source in the output folder, written as the chunks come, so host memory does not grow with the song.
// The samples are those of read_audio -> resample -> Separator::separate(Audio) -> resample back.
struct OutputOptions {
  std::filesystem::path outdir = "separated";
  std::string ext = "wav";                  // wav, flac, mp3, opus or ogg (Vorbis)
  SampleFormat format = SampleFormat::Float32;
  double quality = -1;                      // lossy formats (and FLAC's effort): [0, 1], 0 = best; < 0 default
  bool variable_bitrate = true;             // mp3: VBR (average bitrate with kbps), else CBR
  int kbps = 0;                             // mp3 / opus: bitrate instead of quality (WriteOptions::kbps)
  bool copy_tags = true;                    // title, artist, ... of the input onto every output
  // backing.<ext>: the mixture minus the separated targets, computed on the written values, so the
  // targets plus the backing give the mixture back exactly in integer formats (and within float
  // rounding in float32); see docs/separate.md.
  bool backing = false;
  double start_seconds = 0.0;
  double duration_seconds = -1.0;           // < 0: to the end
};
void validate(const OutputOptions& options);  // unmix::Error naming the bad option

// <outdir>/<relative folder of the input>/<input stem>: `relative` is the input's folder below a
// folder given on the command line (empty for a file given directly).
std::filesystem::path output_folder(const OutputOptions& options, const std::filesystem::path& input,
                                    const std::filesystem::path& relative = {});
// The files separate_file writes for these sources into `folder`.
std::vector<std::filesystem::path> output_files(const OutputOptions& options, const std::vector<std::string>& sources,
                                                const std::filesystem::path& folder);

struct FileResult {
  std::vector<std::filesystem::path> written;
  double seconds = 0.0;            // audio length processed
  std::int64_t backing_clipped = 0;  // backing samples the integer format had to clip (then inexact)
  std::string bitrate_note;          // how the bitrate written differs from the one asked (encoder_bitrate)
};
// `folder` empty: output_folder(options, input).
FileResult separate_file(Separator& separator, const std::filesystem::path& input, const OutputOptions& options,
                         const ProgressFn& progress = {}, const std::filesystem::path& folder = {});

}  // namespace unmix
