// One audio file through the separator, streamed from disk to disk: decode, resample to the model rate,
// separate chunk by chunk, resample back, write (and the backing track beside the sources).
#include <algorithm>
#include <cmath>
#include <deque>
#include <optional>
#include <system_error>

#include "unmix/separator.h"

namespace unmix {

namespace fs = std::filesystem;

void validate(const OutputOptions& options) {
  const std::string& e = options.ext;
  if (e != "wav" && e != "flac" && !lossy_extension(e))
    fail("--ext", "unknown output format '" + e + "' (expected wav, flac, mp3, opus or ogg)");
  if (e == "flac" && options.format == SampleFormat::Float32)
    fail("--bits", "FLAC stores 16 or 24 bit samples; use --bits 16 or 24, or --ext wav for 32-bit float");
  if (options.quality > 1) fail("--quality", "must be in [0, 1] (0: best quality)");
  if (options.kbps != 0) {
    if (options.kbps < 0) fail("--bitrate", "must be a positive number of kbit/s");
    if (e == "ogg") fail("--bitrate", "libsndfile's Vorbis encoder takes a quality, not a bitrate; use --quality");
    if (e != "mp3" && e != "opus") fail("--bitrate", "applies to mp3 and opus only; " + e + " is lossless");
    if (options.quality >= 0) fail("--bitrate", "give --bitrate or --quality, not both");
    // The widest ranges (mp3: MPEG-1's 320 down to MPEG-2's 8; opus: 6 to 256 per channel of at most two);
    // encoder_bitrate fits a value inside them to the file's rate and channels.
    const int most = e == "mp3" ? 320 : 512, least = e == "mp3" ? 8 : 6;
    if (options.kbps < least || options.kbps > most)
      fail("--bitrate", e + " takes " + std::to_string(least) + " to " + std::to_string(most) + " kbit/s, not " +
                            std::to_string(options.kbps));
  }
  if (options.start_seconds < 0) fail("--start", "must be >= 0 seconds");
  if (options.outdir.empty()) fail("--outdir", "must not be empty");
}

fs::path output_folder(const OutputOptions& options, const fs::path& input, const fs::path& relative) {
  return (options.outdir / relative / input.stem()).lexically_normal();
}

std::vector<fs::path> output_files(const OutputOptions& options, const std::vector<std::string>& sources,
                                   const fs::path& folder) {
  std::vector<fs::path> files;
  for (const auto& name : sources) files.push_back(folder / (name + "." + options.ext));
  if (options.backing) files.push_back(folder / ("backing." + options.ext));
  return files;
}

namespace {

constexpr std::int64_t kBlock = 1 << 16;

// A NaN sample would spread through the STFT and the Wiener filter into every output.
void check_finite(const AudioReader& reader, const float* planar, std::int64_t n, std::int64_t stride) {
  for (int c = 0; c < reader.channels(); ++c) {
    const float* x = planar + static_cast<std::size_t>(c) * static_cast<std::size_t>(stride);
    const float* bad = std::find_if(x, x + n, [](float v) { return !std::isfinite(v); });
    if (bad != x + n)
      fail(reader.path(), "holds a NaN or infinite sample (channel " + std::to_string(c) + ", frame " +
                              std::to_string(reader.frames_read() - n + (bad - x)) + "); nothing was written");
  }
}

// The file's first two channels at the model's rate, read forward.
class MixAtModelRate {
 public:
  MixAtModelRate(const fs::path& input, const OutputOptions& o, std::int64_t frames, int model_rate)
      : reader_(input, o.start_seconds, o.duration_seconds, 2), frames_(frames), model_rate_(model_rate) {
    if (reader_.sample_rate() != model_rate)
      down_.emplace(reader_.channels(), reader_.sample_rate(), model_rate);
    block_.resize(static_cast<std::size_t>(reader_.channels()) * kBlock);
  }
  std::int64_t model_frames() const {
    const std::int64_t rate = reader_.sample_rate();
    return down_ ? (frames_ * model_rate_ + rate / 2) / rate : frames_;
  }
  int channels() const { return reader_.channels(); }

  void read(float* planar, std::int64_t count) {
    const int C = reader_.channels();
    if (!down_) {
      for (std::int64_t done = 0; done < count;) {
        std::vector<float>& b = block_;
        const std::int64_t want = std::min(count - done, kBlock);
        const std::int64_t n = reader_.read(b.data(), want, want);
        if (n <= 0) fail(reader_.path(), "ended before the " + std::to_string(frames_) + " frames it held when counted");
        check_finite(reader_, b.data(), n, want);
        for (int c = 0; c < C; ++c)
          std::copy_n(b.data() + static_cast<std::size_t>(c) * want, n,
                      planar + static_cast<std::size_t>(c) * static_cast<std::size_t>(count) + done);
        done += n;
      }
      return;
    }
    while (down_->available() < count) {
      const std::int64_t n = ended_ ? 0 : reader_.read(block_.data(), kBlock, kBlock);
      if (n > 0) {
        check_finite(reader_, block_.data(), n, kBlock);
        down_->push(block_.data(), n, kBlock);
      } else {
        ended_ = true;
        down_->finish(model_frames());
        if (down_->available() < count) fail(reader_.path(), "resampling gave fewer frames than expected");
      }
    }
    for (int c = 0; c < C; ++c) std::copy_n(down_->output(c), count, planar + static_cast<std::size_t>(c) * static_cast<std::size_t>(count));
    down_->consume(count);
  }

 private:
  AudioReader reader_;
  std::int64_t frames_;
  int model_rate_;
  std::optional<StreamResampler> down_;
  std::vector<float> block_;
  bool ended_ = false;
};

// The mixture minus the targets, as they are written: each value is quantized to the output format
// first, so in integer formats the codes of targets and backing add up to the mixture's codes.
class Backing {
 public:
  Backing(const fs::path& input, const OutputOptions& o, int targets, AudioWriter writer)
      : mix_(input, o.start_seconds, o.duration_seconds, 2), format_(lossy_extension(o.ext) ? SampleFormat::Float32 : o.format),
        pending_(static_cast<std::size_t>(targets)), writer_(std::move(writer)) {
    for (auto& p : pending_) p.resize(static_cast<std::size_t>(mix_.channels()));
  }
  void add(int target, const float* planar, std::int64_t count, std::int64_t stride) {
    for (int c = 0; c < mix_.channels(); ++c) {
      const float* src = planar + static_cast<std::size_t>(c) * static_cast<std::size_t>(stride);
      pending_[target][c].insert(pending_[target][c].end(), src, src + count);
    }
    flush();
  }
  AudioWriter& writer() { return writer_; }
  std::int64_t clipped() const { return clipped_; }

 private:
  void flush() {
    std::size_t ready = pending_[0][0].size();
    for (const auto& p : pending_) ready = std::min(ready, p[0].size());
    if (ready == 0) return;
    const int C = mix_.channels();
    const auto n = static_cast<std::int64_t>(ready);
    mix_block_.resize(static_cast<std::size_t>(C) * ready);
    for (std::int64_t done = 0; done < n;) {
      const std::int64_t got = mix_.read(mix_block_.data() + done, n - done, n);
      if (got <= 0) fail(mix_.path(), "ended early while forming the backing track");
      done += got;
    }
    const double top = format_ == SampleFormat::Pcm16 ? 1 - std::ldexp(1.0, -15)
                       : format_ == SampleFormat::Pcm24 ? 1 - std::ldexp(1.0, -23) : 0;
    for (int c = 0; c < C; ++c) {
      float* out = mix_block_.data() + static_cast<std::size_t>(c) * ready;
      for (std::size_t i = 0; i < ready; ++i) {
        double rest = quantize(out[i], format_);
        for (auto& p : pending_) rest -= quantize(p[c][i], format_);
        if (top > 0 && (rest > top || rest < -1)) ++clipped_;
        out[i] = static_cast<float>(rest);
      }
    }
    writer_.write(mix_block_.data(), n, n);
    for (auto& p : pending_)
      for (auto& ch : p) ch.erase(ch.begin(), ch.begin() + static_cast<std::ptrdiff_t>(ready));
  }

  AudioReader mix_;
  SampleFormat format_;
  std::vector<std::vector<std::deque<float>>> pending_;  // [target][channel]
  AudioWriter writer_;
  std::vector<float> mix_block_;
  std::int64_t clipped_ = 0;
};

// One source from the model's rate back to the input's, into its file (and the backing), with exactly
// the input's length: resample() gives round(frames * rate / model rate), the rest is cut or padded with 0.
class SourceOut {
 public:
  SourceOut(AudioWriter writer, int channels, int model_rate, int rate, std::int64_t model_frames, std::int64_t frames)
      : writer_(std::move(writer)), channels_(channels), frames_(frames) {
    if (model_rate != rate) {
      up_.emplace(channels, model_rate, rate);
      resampled_ = (model_frames * rate + model_rate / 2) / model_rate;
    } else {
      resampled_ = model_frames;
    }
  }
  template <typename Also>
  void add(const float* planar, std::int64_t count, std::int64_t stride, Also&& also) {
    if (!up_) return deliver(planar, count, stride, also);
    up_->push(planar, count, stride);
    drain(also);
  }
  template <typename Also>
  void finish(Also&& also) {
    if (up_) {
      up_->finish(resampled_);
      drain(also);
    }
    std::vector<float> zeros(static_cast<std::size_t>(channels_) * kBlock, 0.f);
    while (done_ < frames_) deliver(zeros.data(), std::min(kBlock, frames_ - done_), kBlock, also);
  }
  AudioWriter& writer() { return writer_; }

 private:
  template <typename Also>
  void drain(Also&& also) {
    const std::int64_t n = std::min(up_->available(), std::min(resampled_, frames_) - done_);
    if (n <= 0) return;
    tmp_.resize(static_cast<std::size_t>(channels_) * static_cast<std::size_t>(n));
    for (int c = 0; c < channels_; ++c) std::copy_n(up_->output(c), n, tmp_.data() + static_cast<std::size_t>(c) * n);
    up_->consume(up_->available());
    deliver(tmp_.data(), n, n, also);
  }
  template <typename Also>
  void deliver(const float* planar, std::int64_t count, std::int64_t stride, Also&& also) {
    count = std::min(count, frames_ - done_);
    if (count <= 0) return;
    writer_.write(planar, count, stride);
    also(planar, count, stride);
    done_ += count;
  }

  AudioWriter writer_;
  int channels_;
  std::int64_t frames_, resampled_ = 0, done_ = 0;
  std::optional<StreamResampler> up_;
  std::vector<float> tmp_;
};


}  // namespace

FileResult separate_file(Separator& separator, const fs::path& input, const OutputOptions& options,
                         const ProgressFn& progress, const fs::path& folder) {
  validate(options);
  // The length first (a decoding pass for MP3 and Ogg, whose headers only estimate it), then the file
  // is read forward once for the separation (and once more for the backing track).
  const std::int64_t frames = count_frames(input, options.start_seconds, options.duration_seconds);
  const int rate = AudioReader(input).sample_rate();
  if (const double ratio = static_cast<double>(separator.sample_rate()) / rate; ratio < 1.0 / 256 || ratio > 256)
    fail(input, "its rate of " + std::to_string(rate) + " Hz cannot be converted to the model's " +
                    std::to_string(separator.sample_rate()) + " Hz (libsamplerate's ratio range is 1/256 to 256)");
  MixAtModelRate mix(input, options, frames, separator.sample_rate());
  const int channels = mix.channels();
  FileResult result;
  result.seconds = static_cast<double>(frames) / rate;
  if (mix.model_frames() <= separator.config().nfft / 2)
    fail(input, "too short to separate: " + std::to_string(frames) + " frames");
  try {  // before any output is opened
    separator.check_memory(mix.model_frames(), channels);
  } catch (const Error& e) {
    fail(input, e.what());
  }

  const fs::path dir = folder.empty() ? output_folder(options, input) : folder;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail(dir, "cannot create the output folder: " + ec.message());
  remove_stale_temp_files(dir);  // of a run killed while it wrote here
  WriteOptions write;
  write.format = options.format;
  write.quality = options.quality;
  write.variable = options.variable_bitrate;
  write.kbps = options.kbps;
  if (options.kbps != 0)
    result.bitrate_note = encoder_bitrate(options.ext, options.kbps, options.variable_bitrate, rate, channels).note;
  if (options.copy_tags) write.tags = read_tags(input);
  const auto& names = separator.source_names();
  const std::vector<fs::path> files = output_files(options, names, dir);
  std::vector<SourceOut> sources;
  for (std::size_t j = 0; j < names.size(); ++j)
    sources.emplace_back(AudioWriter(files[j], rate, channels, write, frames), channels, separator.sample_rate(), rate,
                         mix.model_frames(), frames);
  const int targets = static_cast<int>(names.size()) - (separator.options().residual.value_or(false) ? 1 : 0);
  std::optional<Backing> backing;
  if (options.backing) backing.emplace(input, options, targets, AudioWriter(files.back(), rate, channels, write, frames));
  auto also_for = [&](int j) {
    return [&backing, j, targets](const float* planar, std::int64_t count, std::int64_t stride) {
      if (backing && j < targets) backing->add(j, planar, count, stride);
    };
  };

  Separator::MixReader reader;
  reader.sample_rate = separator.sample_rate();
  reader.channels = channels;
  reader.frames = mix.model_frames();
  reader.read = [&](float* planar, std::int64_t count) { mix.read(planar, count); };
  try {
    separator.separate(reader, [&](int j, const float* planar, std::int64_t count, std::int64_t stride) {
      sources[j].add(planar, count, stride, also_for(j));
    }, progress);
  } catch (const Cancelled&) {
    throw;
  } catch (const Error& e) {
    const std::string what = e.what();
    if (what.rfind(input.string(), 0) == 0) throw;
    fail(input, what);
  }
  for (std::size_t j = 0; j < sources.size(); ++j) sources[j].finish(also_for(static_cast<int>(j)));
  // Every file is complete and on disk before any is renamed into place: a full disk fails here and
  // leaves the song's previous outputs as they were.
  for (auto& s : sources) s.writer().close();
  if (backing) backing->writer().close();
  for (auto& s : sources) s.writer().commit();
  if (backing) {
    backing->writer().commit();
    result.backing_clipped = backing->clipped();
  }
  result.written = files;
  return result;
}

}  // namespace unmix
