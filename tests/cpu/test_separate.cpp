// The separation pipeline: parity with openunmix's Separator (fixture from scripts/make_separator_fixtures.py),
// chunked against whole-signal processing, channel handling, and the tools/separate command line.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <numbers>
#include <random>

#include "song_like.h"
#include "test_support.h"
#include "unmix/model_dir.h"
#include "unmix/safetensors.h"
#include "unmix/separator.h"

namespace {

using namespace unmix;
namespace fs = std::filesystem;
using test::rel_error;

const safetensors::File& parity() {
  static const safetensors::File file = safetensors::read(test::fixture("separator_parity.safetensors"));
  return file;
}

double meta(const std::string& key) { return std::stod(parity().metadata.at(key)); }

// The fixture's small Open-Unmix (8 kHz, nfft 512) with the generator's weights for `target`.
UmxWeights fixture_weights(const std::string& target, int channels) {
  ModelConfig c;
  c.nfft = static_cast<int>(meta("nfft"));
  c.nhop = static_cast<int>(meta("nhop"));
  c.nb_bins = c.nfft / 2 + 1;
  c.max_bin = static_cast<int>(meta("max_bin"));
  c.nb_channels = channels;
  c.hidden_size = static_cast<int>(meta("hidden_size"));
  c.nb_layers = static_cast<int>(meta("nb_layers"));
  c.sample_rate = meta("sample_rate");
  c.bandwidth = meta("bandwidth");
  UmxWeights w(c);
  w.init_synthetic(static_cast<std::uint64_t>(meta("seed." + target)));
  return w;
}

SeparatorOptions cpu_options() {
  SeparatorOptions o;
  o.device = Device::Cpu;
  return o;
}

Separator fixture_separator(const std::vector<std::string>& targets, int channels, const SeparatorOptions& options) {
  std::vector<std::unique_ptr<SpectrogramModel>> models;
  for (const auto& t : targets) models.push_back(make_cpu_model(fixture_weights(t, channels)));
  return Separator(targets, std::move(models), options);
}

std::vector<float> expected(const std::string& name) {
  const auto* t = parity().find(name);
  if (!t) throw std::runtime_error("fixture tensor missing: " + name);
  return safetensors::as_f32(*t);
}

Audio fixture_input() { return read_audio(test::fixture("separator_input.wav")); }

Audio first_frames(const Audio& a, std::int64_t frames) {
  Audio out = a;
  out.frames = frames;
  out.samples.clear();
  for (int c = 0; c < a.channels; ++c) out.samples.insert(out.samples.end(), a.channel(c), a.channel(c) + frames);
  return out;
}

struct ParityRun {
  std::string name, fixture;  // test name, run in the fixture
  std::vector<std::string> targets;
  int channels, niter, wiener_win_len, chunk_windows;
  bool residual, softmask;
  int context_frames = SeparatorOptions{}.context_frames;
  int chunks = 1;
};

class OpenunmixParity : public ::testing::TestWithParam<ParityRun> {};

TEST_P(OpenunmixParity, MatchesSeparator) {
  const ParityRun& run = GetParam();
  SeparatorOptions opt;
  opt.niter = run.niter;
  opt.residual = run.residual;
  opt.softmask = run.softmask;
  opt.wiener_win_len = run.wiener_win_len;
  opt.chunk_windows = run.chunk_windows;
  opt.context_frames = run.context_frames;
  opt.max_whole_frames = run.chunks > 1 ? 0 : -1;
  opt.device = Device::Cpu;
  Separator sep = fixture_separator(run.targets, run.channels, opt);
  Audio mix = fixture_input();
  const std::string& fixture_run = run.fixture;
  if (fixture_run == "mono_model") mix = first_frames(mix, static_cast<std::int64_t>(meta("mono_model_samples")));
  int chunks = 0;
  const auto sources = sep.separate(mix, [&](double) { return ++chunks > 0; });
  EXPECT_EQ(chunks, run.chunks);
  ASSERT_EQ(sources.size(), sep.source_names().size());
  for (std::size_t j = 0; j < sources.size(); ++j) {
    const std::string key = fixture_run + "." + sep.source_names()[j];
    const auto ref = expected(key);
    EXPECT_EQ(sources[j].channels, 2);
    const double err = rel_error(sources[j].samples, ref);
    std::printf("  parity %-22s %-10s relative error %.2e\n", run.name.c_str(), sep.source_names()[j].c_str(), err);
    EXPECT_LT(err, 1e-4) << key;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Runs, OpenunmixParity,
    ::testing::Values(ParityRun{"niter0", "niter0", {"guitar"}, 2, 0, 300, 4, true, false},
                      ParityRun{"niter1", "niter1", {"guitar"}, 2, 1, 300, 4, true, false},
                      ParityRun{"multi", "multi", {"guitar", "bass"}, 2, 2, 20, 4, false, true},
                      // the same in three chunks of one Wiener window each, with 24 frames of context
                      ParityRun{"multi_chunked", "multi", {"guitar", "bass"}, 2, 2, 20, 1, false, true, 24, 3},
                      ParityRun{"mono_model", "mono_model", {"guitar_mono"}, 1, 1, 300, 4, true, false}),
    [](const auto& p) { return p.param.name; });

// A model without memory across frames: chunking must then be exact, whatever the context.
class FramewiseModel final : public SpectrogramModel {
 public:
  explicit FramewiseModel(const ModelConfig& c) : config_(c) {}
  const ModelConfig& config() const override { return config_; }
  void forward(const float* mix, int frames, int batch, float* out) override {
    const std::size_t per_frame = static_cast<std::size_t>(batch) * config_.nb_channels * config_.nb_bins;
    for (std::size_t i = 0; i < per_frame * frames; ++i) {
      const auto f = static_cast<double>(i % static_cast<std::size_t>(config_.nb_bins));
      out[i] = mix[i] * static_cast<float>(0.5 + 0.45 * std::sin(0.05 * f + static_cast<double>(i % per_frame / config_.nb_bins)));
    }
  }
  std::string device_name() const override { return "test"; }

 private:
  ModelConfig config_;
};

// Plucked tones and noise bursts, `seconds` long, at the fixture rate.
Audio synthetic_song(double seconds, int channels, std::uint64_t seed) {
  const int rate = static_cast<int>(meta("sample_rate"));
  Audio a;
  a.sample_rate = rate;
  a.channels = channels;
  a.frames = static_cast<std::int64_t>(seconds * rate);
  a.samples.assign(static_cast<std::size_t>(channels * a.frames), 0.f);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  for (double at = 0; at < seconds; at += 0.1 + 0.2 * u(rng)) {
    const double hz = 80 + 900 * u(rng), pan = u(rng), noise = u(rng) < 0.2 ? 1.0 : 0.0;
    const auto start = static_cast<std::int64_t>(at * rate);
    for (std::int64_t i = 0; i < rate / 2 && start + i < a.frames; ++i) {
      const double t = static_cast<double>(i) / rate;
      const double s = std::exp(-6 * t) * (noise > 0 ? (u(rng) * 2 - 1) * std::exp(-30 * t) : std::sin(2 * std::numbers::pi * hz * t));
      for (int c = 0; c < channels; ++c)
        a.channel(c)[start + i] += static_cast<float>(0.2 * s * (c == 0 ? 1 - pan : pan + (channels == 1)));
    }
  }
  return a;
}

TEST(Chunking, PlanCoversTheSignalInBalancedWindowAlignedChunks) {
  for (int frames : {1, 7, 300, 1201, 5000})
    for (int window : {1, 20, 300})
      for (int per_chunk : {1, 3})
        for (int context : {0, 3, 128}) {
          const auto chunks = plan_chunks(frames, window, per_chunk, context);
          const int windows = (frames + window - 1) / window;
          EXPECT_EQ(static_cast<int>(chunks.size()), (windows + per_chunk - 1) / per_chunk);
          int next = 0, smallest = frames, largest = 0;
          for (const auto& c : chunks) {
            EXPECT_EQ(c.core_begin, next);
            EXPECT_EQ(c.core_begin % window, 0);
            EXPECT_GT(c.core_end, c.core_begin);
            EXPECT_LE(c.core_end - c.core_begin, per_chunk * window);
            EXPECT_EQ(c.span_begin, std::max(0, c.core_begin - context));
            EXPECT_EQ(c.span_end, std::min(frames, c.core_end + context));
            if (c.core_end != frames) {
              smallest = std::min(smallest, c.core_end - c.core_begin);
              largest = std::max(largest, c.core_end - c.core_begin);
            }
            next = c.core_end;
          }
          EXPECT_EQ(next, frames);
          if (largest > 0) {
            EXPECT_LE(largest - smallest, window);  // windows spread evenly
          }
        }
}

TEST(Chunking, ExactForAModelWithoutMemory) {
  // STFT segments, Wiener windows and the stitched ISTFT must reproduce whole-signal processing bit for bit.
  const ModelConfig config = fixture_weights("guitar", 2).config;
  for (int channels : {1, 2})
    for (int niter : {0, 2}) {
      SCOPED_TRACE("channels " + std::to_string(channels) + ", niter " + std::to_string(niter));
      const Audio mix = synthetic_song(2.0, channels, 11);
      auto separate = [&](int chunk_windows) {
        SeparatorOptions opt;
        opt.niter = niter;
        opt.residual = true;
        opt.wiener_win_len = 20;
        opt.chunk_windows = chunk_windows;
        opt.context_frames = 0;
        opt.max_whole_frames = 0;
        opt.device = Device::Cpu;
        std::vector<std::unique_ptr<SpectrogramModel>> models;
        models.push_back(std::make_unique<FramewiseModel>(config));
        Separator sep({"guitar"}, std::move(models), opt);
        return sep.separate(mix);
      };
      const auto whole = separate(1000), chunked = separate(1);
      for (std::size_t j = 0; j < whole.size(); ++j) {
        ASSERT_EQ(chunked[j].samples.size(), whole[j].samples.size());
        EXPECT_EQ(chunked[j].channels, channels);
        for (std::size_t i = 0; i < whole[j].samples.size(); ++i)
          ASSERT_EQ(chunked[j].samples[i], whole[j].samples[i]) << "source " << j << " sample " << i;
      }
    }
}

TEST(Chunking, MatchesWholeSignalWithTheDefaultContext) {
  // 8 s at 8 kHz: 501 frames in chunks of two 20-frame Wiener windows, the model's BiLSTM cut at the
  // default context.
  const Audio mix = synthetic_song(8.0, 2, 12);
  auto separate = [&](int chunk_windows, int context) {
    SeparatorOptions opt;
    opt.niter = 1;
    opt.wiener_win_len = 20;
    opt.chunk_windows = chunk_windows;
    opt.context_frames = context;
    opt.max_whole_frames = 0;
    opt.device = Device::Cpu;
    return fixture_separator({"guitar"}, 2, opt).separate(mix);
  };
  const int context = SeparatorOptions{}.context_frames;
  const auto whole = separate(1000, context), chunked = separate(2, context);
  for (std::size_t j = 0; j < whole.size(); ++j) {
    const double err = rel_error(chunked[j].samples, whole[j].samples);
    std::printf("  chunked vs whole, source %zu: relative error %.2e (context %d frames)\n", j, err, context);
    EXPECT_LT(err, 1e-4);
  }
  // without context the cut is visible: the test can tell
  const auto blind = separate(2, 0);
  EXPECT_GT(rel_error(blind[0].samples, whole[0].samples), 1e-4);
}

// The GPU separation test compares against this model; it is only a strong check if the masks vary.
TEST(TestMaterial, TrainedLookingModelGivesVariedMasks) {
  const ModelConfig config;  // default size, 44.1 kHz
  const Audio song = test::song_like_audio(10.0, 44100, 2, 5);
  UmxWeights w = test::trained_looking_weights(config, song, 9);
  const Stft stft(config.nfft, config.nhop);
  const ComplexSpectrogram spec = stft.forward(song.samples.data(), 2, song.frames, false);
  std::vector<float> mix(static_cast<std::size_t>(spec.frames) * config.output_features()), out(mix.size());
  magnitude_frame_major(spec, 1, 0, mix.data());
  auto model = make_cpu_model(std::move(w));
  model->forward(mix.data(), spec.frames, 1, out.data());
  int counted = 0;
  double sum = 0, sum_sq = 0;
  for (std::size_t i = 0; i < mix.size(); ++i) {
    if (mix[i] < 1e-3f) continue;
    const double mask = out[i] / mix[i];
    ++counted;
    sum += mask;
    sum_sq += mask * mask;
  }
  const double mean = sum / counted, spread = std::sqrt(std::max(0.0, sum_sq / counted - mean * mean));
  std::printf("  masks over %d bins: mean %.3f, standard deviation %.3f\n", counted, mean, spread);
  EXPECT_GT(mean, 0.2);
  EXPECT_LT(mean, 0.8);
  EXPECT_GT(spread, 0.15);
}

TEST(Separate, MonoInMonoOut) {
  SeparatorOptions opt;
  opt.device = Device::Cpu;
  Separator sep = fixture_separator({"guitar"}, 2, opt);
  const Audio mono = synthetic_song(1.5, 1, 13);
  const auto out = sep.separate(mono);
  const auto stereo = sep.separate(to_channels(mono, 2));
  for (std::size_t j = 0; j < out.size(); ++j) {
    ASSERT_EQ(out[j].channels, 1);
    ASSERT_EQ(out[j].frames, mono.frames);
    // a stereo model's two output channels differ even for identical inputs; mono out is their mean
    std::vector<float> mean(static_cast<std::size_t>(mono.frames));
    for (std::int64_t i = 0; i < mono.frames; ++i) mean[i] = 0.5f * (stereo[j].channel(0)[i] + stereo[j].channel(1)[i]);
    EXPECT_LT(rel_error(out[j].samples, mean), 1e-6);
  }
}

TEST(Separate, SingleSourceSkipsEmAndSaysSo) {
  SeparatorOptions opt;
  opt.residual = false;
  opt.niter = 2;
  opt.device = Device::Cpu;
  Separator sep = fixture_separator({"guitar"}, 2, opt);
  EXPECT_EQ(sep.source_names(), std::vector<std::string>{"guitar"});
  EXPECT_EQ(sep.options().niter, 0);
  ASSERT_EQ(sep.notes().size(), 1u);
  // residual defaults: on for one target, off for two
  EXPECT_EQ(fixture_separator({"guitar"}, 2, cpu_options()).source_names().back(), "residual");
  EXPECT_EQ(fixture_separator({"guitar", "bass"}, 2, cpu_options()).source_names().size(), 2u);
}

TEST(Separate, ProgressCanCancel) {
  SeparatorOptions opt;
  opt.wiener_win_len = 20;
  opt.chunk_windows = 1;
  opt.context_frames = 8;
  opt.max_whole_frames = 0;
  opt.device = Device::Cpu;
  Separator sep = fixture_separator({"guitar"}, 2, opt);
  const Audio mix = synthetic_song(2.0, 2, 14);
  std::vector<double> seen;
  sep.separate(mix, [&](double f) {
    seen.push_back(f);
    return true;
  });
  ASSERT_GT(seen.size(), 3u);
  EXPECT_DOUBLE_EQ(seen.back(), 1.0);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  int calls = 0;
  EXPECT_THROW(sep.separate(mix, [&](double) { return ++calls < 2; }), Cancelled);
  EXPECT_EQ(calls, 2);
}

TEST(Separate, RejectsUnusableInput) {
  Separator sep = fixture_separator({"guitar"}, 2, cpu_options());
  EXPECT_THROW(sep.separate(first_frames(fixture_input(), 200)), Error);  // shorter than nfft / 2
  Audio wrong_rate = fixture_input();
  wrong_rate.sample_rate = 44100;
  EXPECT_THROW(sep.separate(wrong_rate), Error);
  SeparatorOptions bad = cpu_options();
  bad.wiener_win_len = -1;
  EXPECT_THROW(fixture_separator({"guitar"}, 2, bad), Error);
}

TEST(Separate, OptionsBeyondTheirBoundsAreRefusedByFlag) {
  auto message_of = [](SeparatorOptions o) -> std::string {
    try {
      fixture_separator({"guitar"}, 2, o);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  SeparatorOptions o = cpu_options();
  o.niter = kMaxNiter + 1;
  EXPECT_NE(message_of(o).find("--niter: 101 is out of range: must be in [0, 100]"), std::string::npos) << message_of(o);
  o = cpu_options();
  o.chunk_windows = kMaxChunkWindows + 1;
  EXPECT_NE(message_of(o).find("--chunk-windows: 1025"), std::string::npos) << message_of(o);
  o = cpu_options();
  o.wiener_win_len = kMaxWienerWindowFrames + 1;
  EXPECT_NE(message_of(o).find("--wiener-win-len: 1048577"), std::string::npos) << message_of(o);
  o = cpu_options();
  o.context_frames = kMaxContextFrames + 1;
  EXPECT_NE(message_of(o).find("--context-frames: 1048577"), std::string::npos) << message_of(o);
  // the largest values themselves are taken
  o = cpu_options();
  o.niter = kMaxNiter;
  o.chunk_windows = kMaxChunkWindows;
  o.wiener_win_len = kMaxWienerWindowFrames;
  o.context_frames = kMaxContextFrames;
  EXPECT_EQ(message_of(o), "");
}

TEST(Separate, ChunksBeyondTheMemoryLimitAreRefusedBeforeAnyWork) {
  SeparatorOptions opt = cpu_options();
  opt.wiener_win_len = 20;
  opt.chunk_windows = 2;
  opt.context_frames = 8;
  opt.max_whole_frames = 0;
  const Audio mix = synthetic_song(4.0, 2, 15);
  Separator sep = fixture_separator({"guitar"}, 2, opt);
  // The memory of a chunk is that of its span, whatever the length; more windows per chunk need more.
  const std::int64_t needed = sep.memory_needed(mix.frames, 2);
  EXPECT_EQ(sep.memory_needed(mix.frames * 10, 2), needed);
  opt.chunk_windows = 4;
  EXPECT_GT(fixture_separator({"guitar"}, 2, opt).memory_needed(mix.frames, 2), needed);
  opt.chunk_windows = 2;

  opt.memory_limit_bytes = needed;
  EXPECT_EQ(fixture_separator({"guitar"}, 2, opt).separate(mix).size(), 2u);
  opt.memory_limit_bytes = needed - 1;
  Separator tight = fixture_separator({"guitar"}, 2, opt);
  bool read = false;
  Separator::MixReader reader;
  reader.sample_rate = mix.sample_rate;
  reader.channels = mix.channels;
  reader.frames = mix.frames;
  reader.read = [&](float*, std::int64_t) { read = true; };
  try {
    tight.separate(reader, [](int, const float*, std::int64_t, std::int64_t) {});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    const std::string what = e.what();
    for (const char* word : {"--chunk-windows 2", "--wiener-win-len 20", "--context-frames 8", "available"})
      EXPECT_NE(what.find(word), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
  EXPECT_FALSE(read) << "the mix was read before the memory was checked";
  // the whole signal at once (--wiener-win-len 0) is said as such
  opt.wiener_win_len = 0;
  opt.memory_limit_bytes = 1;
  try {
    fixture_separator({"guitar"}, 2, opt).separate(mix);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--wiener-win-len: 0 filters the whole file at once"), std::string::npos)
        << e.what();
  }
}

TEST(SeparateFile, ResamplesKeepsLengthAndChannels) {
  const fs::path dir = test::temp_dir("separate-file");
  // three channels at 11025 Hz in; two channels at 11025 Hz of the same length out
  Audio in = synthetic_song(1.0, 2, 15);
  in = resample(in, 11025);
  Audio three = in;
  three.channels = 3;
  three.samples.insert(three.samples.end(), in.channel(0), in.channel(0) + in.frames);
  write_audio(dir / "song.wav", three, SampleFormat::Float32);
  Separator sep = fixture_separator({"guitar"}, 2, cpu_options());
  OutputOptions out;
  out.outdir = dir / "out";
  const FileResult r = separate_file(sep, dir / "song.wav", out);
  ASSERT_EQ(r.written.size(), 2u);
  EXPECT_EQ(r.written[0], dir / "out" / "song" / "guitar.wav");
  EXPECT_EQ(r.written[1], dir / "out" / "song" / "residual.wav");
  for (const auto& p : r.written) {
    const AudioInfo info = probe_audio(p);
    EXPECT_EQ(info.sample_rate, 11025);
    EXPECT_EQ(info.channels, 2);
    EXPECT_EQ(info.frames, in.frames);
  }
  // a broken file is an error naming it
  std::ofstream(dir / "broken.wav") << "not audio";
  try {
    separate_file(sep, dir / "broken.wav", out);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("broken.wav"), std::string::npos) << e.what();
  }
  out.ext = "flac";
  EXPECT_THROW(separate_file(sep, dir / "song.wav", out), Error);  // FLAC cannot hold float samples
}

// ---------------------------------------------------------------- the command line

fs::path separate_tool() {
  // tests live in <build>/tests, tools in <build>/tools
  return fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "tools" / "separate";
}

int run_tool(const std::string& args, const fs::path& log) {
  const std::string cmd = separate_tool().string() + " " + args + " > '" + log.string() + "' 2>&1";
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class SeparateCli : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(separate_tool())) << separate_tool() << " is missing: build the unmix-separate target";
    dir = test::temp_dir("separate-cli");
    save_model(dir / "model", "guitar", fixture_weights("guitar", 2));
  }
  fs::path dir;
};

TEST_F(SeparateCli, MatchesOpenunmixSeparator) {
  for (int niter : {0, 1}) {
    const fs::path out = dir / ("out" + std::to_string(niter));
    const std::string args = "--device cpu --model '" + (dir / "model").string() + "' --niter " + std::to_string(niter) +
                             " --bits 32 --outdir '" + out.string() + "' '" + test::fixture("separator_input.wav").string() + "'";
    ASSERT_EQ(run_tool(args, dir / "log.txt"), 0) << read_text(dir / "log.txt");
    for (const std::string source : {"guitar", "residual"}) {
      const Audio got = read_audio(out / "separator_input" / (source + ".wav"));
      const double err = rel_error(got.samples, expected("niter" + std::to_string(niter) + "." + source));
      std::printf("  tools/separate --niter %d  %-9s relative error %.2e\n", niter, source.c_str(), err);
      EXPECT_LT(err, 1e-4);
    }
  }
}

TEST_F(SeparateCli, ReportsBadFilesAndGoesOn) {
  std::ofstream(dir / "bad.wav") << "RIFF garbage";
  const std::string args = "--device cpu --model '" + (dir / "model").string() + "' --outdir '" + (dir / "out").string() +
                           "' '" + (dir / "bad.wav").string() + "' '" + (dir / "missing.wav").string() + "' '" +
                           test::fixture("separator_input.wav").string() + "'";
  EXPECT_NE(run_tool(args, dir / "log.txt"), 0);
  const std::string log = read_text(dir / "log.txt");
  EXPECT_NE(log.find("bad.wav"), std::string::npos) << log;
  EXPECT_NE(log.find("missing.wav"), std::string::npos) << log;
  EXPECT_TRUE(fs::exists(dir / "out" / "separator_input" / "guitar.wav")) << log;
  EXPECT_TRUE(fs::exists(dir / "out" / "separator_input" / "residual.wav")) << log;
  EXPECT_FALSE(fs::exists(dir / "out" / "bad")) << log;
}

// Without --targets a folder separates its wholes: guitar, not its parts lead_guitar and rhythm_guitar,
// which would share the guitar's energy in a joint Wiener filter; parts are separated when named.
TEST(ModelLookup, DefaultTargetsLeaveOutPartsOfAnotherTarget) {
  const fs::path dir = test::temp_dir("default-targets");
  for (const char* t : {"guitar", "lead_guitar", "rhythm_guitar", "bass", "vocals"}) save_model(dir, t, fixture_weights("guitar", 2));
  EXPECT_EQ(list_targets(dir), (std::vector<std::string>{"bass", "guitar", "lead_guitar", "rhythm_guitar", "vocals"}));
  EXPECT_EQ(default_targets(dir), (std::vector<std::string>{"bass", "guitar", "vocals"}));
  EXPECT_EQ(Separator::load(dir, {}, cpu_options()).source_names(), (std::vector<std::string>{"bass", "guitar", "vocals"}));
  fs::remove(model_json_path(dir, "guitar"));  // parts alone are wholes of their own
  EXPECT_EQ(default_targets(dir), (std::vector<std::string>{"bass", "lead_guitar", "rhythm_guitar", "vocals"}));
  fs::remove_all(dir);
}

// The default model is found from any working directory: next to an installed command
// (<prefix>/share/guitar-unmix/models/default), before the source tree's; a folder without a model (the
// source tree keeps its recipe there) does not count.
TEST(ModelLookup, InstalledModelFromAnyWorkingDirectory) {
  const fs::path root = test::temp_dir("lookup");
  const fs::path prefix = root / "prefix", elsewhere = root / "elsewhere";
  fs::create_directories(prefix / "bin");
  fs::create_directories(elsewhere / "models" / "default");  // empty: not a model
  ::unsetenv("UNMIX_MODEL_DIR");
  const fs::path cwd = fs::current_path();
  fs::current_path(elsewhere);
  const fs::path installed = prefix / "share" / "guitar-unmix" / "models" / "default";
  save_model(installed, "guitar", fixture_weights("guitar", 2));
  const auto found = default_model_dir(prefix / "bin" / "separate");
  fs::current_path(cwd);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(fs::weakly_canonical(*found), fs::weakly_canonical(installed));
  ::setenv("UNMIX_MODEL_DIR", "/somewhere/else", 1);
  EXPECT_EQ(*default_model_dir(prefix / "bin" / "separate"), fs::path("/somewhere/else"));
  ::unsetenv("UNMIX_MODEL_DIR");
  fs::remove_all(root);
}

TEST_F(SeparateCli, HelpModelLookupAndBadOptions) {
  EXPECT_EQ(run_tool("--help", dir / "help.txt"), 0);
  const std::string help = read_text(dir / "help.txt");
  for (const char* option : {"--model", "--targets", "--outdir", "--niter", "--residual", "--no-residual", "--softmask",
                             "--wiener-win-len", "--device", "--start", "--duration", "--ext", "--bits"})
    EXPECT_NE(help.find(option), std::string::npos) << option;
  // the model from UNMIX_MODEL_DIR when --model is absent
  const std::string input = "'" + test::fixture("separator_input.wav").string() + "'";
  if (!default_model_dir(separate_tool())) {
    EXPECT_EQ(run_tool("--device cpu --outdir '" + (dir / "env").string() + "' " + input, dir / "env.txt"), 1);
    EXPECT_NE(read_text(dir / "env.txt").find("--model"), std::string::npos) << read_text(dir / "env.txt");
  }
  const std::string env = "UNMIX_MODEL_DIR='" + (dir / "model").string() + "' ";
  const int status = std::system((env + separate_tool().string() + " --device cpu --start 0.1 --duration 0.5 --ext flac --bits 24 --outdir '" +
                                  (dir / "env").string() + "' " + input + " > '" + (dir / "env2.txt").string() + "' 2>&1")
                                     .c_str());
  ASSERT_EQ(WEXITSTATUS(status), 0) << read_text(dir / "env2.txt");
  const AudioInfo info = probe_audio(dir / "env" / "separator_input" / "guitar.flac");
  EXPECT_EQ(info.frames, 4000);
  EXPECT_NE(run_tool("--device gpu " + input, dir / "bad.txt"), 0);
  EXPECT_NE(run_tool("--ext m4a " + input, dir / "bad.txt"), 0);
  EXPECT_EQ(run_tool("--model '" + (dir / "model").string() + "' --targets vocals " + input, dir / "bad.txt"), 1);
  EXPECT_NE(read_text(dir / "bad.txt").find("vocals"), std::string::npos) << read_text(dir / "bad.txt");
}

}  // namespace
