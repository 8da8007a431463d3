// What tools/separate does beyond the separation itself: files streamed from disk to disk (the same samples
// as the in-memory pipeline), the backing track's exact sum, lossy outputs with the input's tags, folders.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <numbers>
#include <random>

#include "test_support.h"
#include "unmix/model_dir.h"
#include "unmix/separator.h"

namespace {

using namespace unmix;
namespace fs = std::filesystem;
using test::rel_error;

// A small Open-Unmix at 8 kHz (nfft 512, hop 128, hidden 16), weights from the shared generator.
UmxWeights small_weights(std::uint64_t seed, int channels = 2) {
  ModelConfig c;
  c.nfft = 512;
  c.nhop = 128;
  c.nb_bins = c.nfft / 2 + 1;
  c.max_bin = c.nb_bins;
  c.nb_channels = channels;
  c.hidden_size = 16;
  c.nb_layers = 3;
  c.sample_rate = 8000;
  c.bandwidth = 4000;
  UmxWeights w(c);
  w.init_synthetic(seed);
  return w;
}

SeparatorOptions cpu(int niter = 1) {
  SeparatorOptions o;
  o.device = Device::Cpu;
  o.niter = niter;
  return o;
}

// Chunks of one 50-frame Wiener window with 16 frames of context, so short signals are cut many times.
SeparatorOptions small_chunks(SeparatorOptions o) {
  o.wiener_win_len = 50;
  o.chunk_windows = 1;
  o.context_frames = 16;
  o.max_whole_frames = 0;
  return o;
}

Separator small_separator(const std::vector<std::string>& targets, const SeparatorOptions& options) {
  std::vector<std::unique_ptr<SpectrogramModel>> models;
  std::uint64_t seed = 101;
  for (std::size_t i = 0; i < targets.size(); ++i) models.push_back(make_cpu_model(small_weights(seed++)));
  return Separator(targets, std::move(models), options);
}

// Plucked tones and noise bursts at `rate`, peaks well below full scale.
Audio song(double seconds, int rate, int channels, std::uint64_t seed) {
  Audio a;
  a.sample_rate = rate;
  a.channels = channels;
  a.frames = static_cast<std::int64_t>(seconds * rate);
  a.samples.assign(static_cast<std::size_t>(channels * a.frames), 0.f);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  for (double at = 0; at < seconds; at += 0.1 + 0.2 * u(rng)) {
    const double hz = 80 + 900 * u(rng), pan = u(rng);
    const bool noise = u(rng) < 0.2;
    const auto start = static_cast<std::int64_t>(at * rate);
    for (std::int64_t i = 0; i < rate / 2 && start + i < a.frames; ++i) {
      const double t = static_cast<double>(i) / rate;
      const double s = std::exp(-6 * t) * (noise ? (u(rng) * 2 - 1) * std::exp(-30 * t) : std::sin(2 * std::numbers::pi * hz * t));
      for (int c = 0; c < channels; ++c)
        a.channel(c)[start + i] += static_cast<float>(0.15 * s * (c == 0 ? 1 - pan : pan + (channels == 1)));
    }
  }
  return a;
}

// The in-memory pipeline as it was before streaming: the whole file decoded, resampled, separated in
// one piece, resampled back and cut to the input's length.
std::vector<Audio> in_memory(Separator& sep, const fs::path& file) {
  Audio mix = read_audio(file);
  if (mix.channels > 2) mix = to_channels(mix, 2);
  const int rate = mix.sample_rate;
  const std::int64_t frames = mix.frames;
  std::vector<Audio> out = sep.separate(mix.sample_rate == sep.sample_rate() ? mix : resample(mix, sep.sample_rate()));
  for (auto& a : out) {
    if (a.sample_rate != rate) a = resample(a, rate);
    Audio fixed = a;
    fixed.frames = frames;
    fixed.samples.assign(static_cast<std::size_t>(a.channels * frames), 0.f);
    for (int c = 0; c < a.channels; ++c) std::copy_n(a.channel(c), std::min(frames, a.frames), fixed.channel(c));
    a = fixed;
  }
  return out;
}

TEST(StreamResampler, GivesResampleSamplesWhateverTheBlocks) {
  const Audio in = song(1.5, 44100, 2, 1);
  for (const int to : {8000, 48000}) {
    const Audio whole = resample(in, to);
    for (const std::int64_t block : {std::int64_t{1000}, std::int64_t{4096}, in.frames}) {
      StreamResampler r(2, 44100, to);
      std::vector<std::vector<float>> got(2);
      auto drain = [&] {
        for (int c = 0; c < 2; ++c) got[c].insert(got[c].end(), r.output(c), r.output(c) + r.available());
        r.consume(r.available());
      };
      for (std::int64_t at = 0; at < in.frames; at += block) {
        r.push(in.samples.data() + at, std::min(block, in.frames - at), in.frames);
        drain();
      }
      r.finish(whole.frames);
      drain();
      for (int c = 0; c < 2; ++c) {
        ASSERT_EQ(static_cast<std::int64_t>(got[c].size()), whole.frames) << "to " << to << ", block " << block;
        for (std::int64_t i = 0; i < whole.frames; ++i)
          ASSERT_EQ(got[c][i], whole.channel(c)[i]) << "to " << to << ", block " << block << ", frame " << i;
      }
    }
  }
}

TEST(StreamedFile, SameSamplesAsTheWholeFileInMemory) {
  // 100 s at 11025 Hz: resampled to the model's 8 kHz and back, 7 chunks of 3 Wiener windows.
  const fs::path dir = test::temp_dir("stream-long");
  const Audio in = song(100.0, 11025, 2, 2);
  write_audio(dir / "long.wav", in, SampleFormat::Float32);
  Separator streamed = small_separator({"guitar"}, cpu());
  OutputOptions out;
  out.outdir = dir / "out";
  const FileResult r = separate_file(streamed, dir / "long.wav", out);
  ASSERT_EQ(r.written.size(), 2u);

  SeparatorOptions whole_options = cpu();
  whole_options.max_whole_frames = 1 << 30;  // the whole signal in one piece: no chunks at all
  Separator whole = small_separator({"guitar"}, whole_options);
  const std::vector<Audio> reference = in_memory(whole, dir / "long.wav");
  for (std::size_t j = 0; j < r.written.size(); ++j) {
    const Audio got = read_audio(r.written[j]);
    ASSERT_EQ(got.frames, in.frames);
    ASSERT_EQ(got.channels, 2);
    const double err = rel_error(got.samples, reference[j].samples);
    std::printf("  streamed in chunks vs the whole file in one piece, %s: relative error %.2e\n",
                r.written[j].filename().c_str(), err);
    EXPECT_LT(err, 1e-5);
  }
}

TEST(StreamedFile, MonoAndCompressedInputsAndExcerpts) {
  const fs::path dir = test::temp_dir("stream-kinds");
  Separator sep = small_separator({"guitar"}, small_chunks(cpu()));
  OutputOptions out;
  out.outdir = dir / "out";
  // mono at the model's rate (no resampling), an excerpt, in 9 chunks
  write_audio(dir / "mono.wav", song(12.0, 8000, 1, 3), SampleFormat::Pcm16);
  out.start_seconds = 3.0;
  out.duration_seconds = 8.0;
  FileResult r = separate_file(sep, dir / "mono.wav", out);
  Audio excerpt = read_audio(dir / "mono.wav", 3.0, 8.0);
  std::vector<Audio> ref = sep.separate(excerpt);
  for (std::size_t j = 0; j < r.written.size(); ++j) {
    const Audio got = read_audio(r.written[j]);
    ASSERT_EQ(got.channels, 1);
    ASSERT_EQ(got.frames, 64000);
    EXPECT_EQ(rel_error(got.samples, ref[j].samples), 0.0) << r.written[j];
  }
  // an Ogg Vorbis input, whose header does not state its length
  out.start_seconds = 0;
  out.duration_seconds = -1;
  {
    WriteOptions w;
    AudioWriter ogg(dir / "song.ogg", 22050, 2, w);
    const Audio a = song(6.0, 22050, 2, 4);
    ogg.write(a.samples.data(), a.frames, a.frames);
    ogg.commit();
  }
  r = separate_file(sep, dir / "song.ogg", out);
  ref = in_memory(sep, dir / "song.ogg");
  for (std::size_t j = 0; j < r.written.size(); ++j) {
    const Audio got = read_audio(r.written[j]);
    EXPECT_EQ(got.frames, read_audio(dir / "song.ogg").frames);
    EXPECT_LT(rel_error(got.samples, ref[j].samples), 1e-6) << r.written[j];
  }
}

// Backing track: mixture minus the written targets. In integer formats the codes add up exactly.
TEST(Backing, TargetsPlusBackingGiveTheMixtureBack) {
  const fs::path dir = test::temp_dir("backing");
  const Audio in = song(4.0, 11025, 2, 5);
  write_audio(dir / "mix.wav", in, SampleFormat::Pcm16);
  for (const SampleFormat format : {SampleFormat::Pcm16, SampleFormat::Pcm24, SampleFormat::Float32}) {
    for (const bool two_targets : {false, true}) {
      SCOPED_TRACE(std::to_string(static_cast<int>(format)) + (two_targets ? " two targets" : " one target"));
      SeparatorOptions o = small_chunks(cpu());  // the backing is formed chunk by chunk
      o.residual = true;
      Separator sep = two_targets ? small_separator({"guitar", "bass"}, o) : small_separator({"guitar"}, o);
      OutputOptions out;
      out.outdir = dir / ("out" + std::to_string(static_cast<int>(format)) + (two_targets ? "b" : "a"));
      out.ext = format == SampleFormat::Float32 ? "wav" : "flac";
      out.format = format;
      out.backing = true;
      const FileResult r = separate_file(sep, dir / "mix.wav", out);
      ASSERT_EQ(r.written.back().filename(), "backing." + out.ext);
      EXPECT_EQ(r.backing_clipped, 0);
      const Audio mix = read_audio(dir / "mix.wav");
      const Audio backing = read_audio(r.written.back());
      const Audio residual = read_audio(r.written[r.written.size() - 2]);
      std::vector<Audio> targets;
      for (std::size_t j = 0; j + 2 < r.written.size(); ++j) targets.push_back(read_audio(r.written[j]));
      ASSERT_EQ(targets.size(), two_targets ? 2u : 1u);
      const double step = format == SampleFormat::Pcm16 ? std::ldexp(1.0, -15) : std::ldexp(1.0, -23);
      double worst = 0;
      for (std::size_t i = 0; i < mix.samples.size(); ++i) {
        double sum = backing.samples[i];
        for (const auto& t : targets) sum += t.samples[i];
        if (format == SampleFormat::Float32) {
          worst = std::max(worst, std::abs(sum - mix.samples[i]));
        } else {
          // the codes: exact integers
          ASSERT_EQ(std::llround(sum / step), std::llround(mix.samples[i] / step)) << "sample " << i;
        }
      }
      if (format == SampleFormat::Float32) {
        std::printf("  float32: largest |targets + backing - mix| = %.2e\n", worst);
        EXPECT_LT(worst, 1e-7);
      }
      // the backing is not the Wiener residual
      EXPECT_GT(rel_error(backing.samples, residual.samples), 1e-3);
    }
  }
}

TEST(LossyOutput, Mp3OpusOggWithTheInputsTags) {
  const fs::path dir = test::temp_dir("lossy");
  const Audio in = song(6.0, 16000, 2, 6);
  {
    WriteOptions w;
    w.format = SampleFormat::Pcm16;
    w.tags.title = "Night Train";
    w.tags.artist = "The Test Band";
    AudioWriter f(dir / "tagged.flac", 16000, 2, w);
    f.write(in.samples.data(), in.frames, in.frames);
    f.commit();
  }
  SeparatorOptions o = cpu(0);
  Separator sep = small_separator({"guitar"}, o);
  for (const std::string& ext : {std::string("mp3"), std::string("opus"), std::string("ogg")}) {
    std::uintmax_t sizes[2] = {0, 0};
    for (int q = 0; q < 2; ++q) {
      OutputOptions out;
      out.outdir = dir / (ext + std::to_string(q));
      out.ext = ext;
      out.quality = q == 0 ? 0.1 : 0.9;
      const FileResult r = separate_file(sep, dir / "tagged.flac", out);
      const AudioInfo info = probe_audio(r.written[0]);
      std::printf("  %s quality %.1f: %s, %ju bytes\n", ext.c_str(), out.quality, info.format.c_str(),
                  static_cast<std::uintmax_t>(fs::file_size(r.written[0])));
      EXPECT_EQ(info.channels, 2);
      const Audio got = read_audio(r.written[0]);
      EXPECT_NEAR(got.seconds(), in.seconds(), 0.1) << ext;  // codec delay and padding
      const AudioTags tags = read_tags(r.written[0]);
      EXPECT_EQ(tags.title, "Night Train") << ext;
      EXPECT_EQ(tags.artist, "The Test Band") << ext;
      sizes[q] = fs::file_size(r.written[0]);
    }
    EXPECT_GT(sizes[0], sizes[1]) << ext << ": better quality must take more bytes";
  }
  OutputOptions bad;
  bad.ext = "aac";
  EXPECT_THROW(validate(bad), Error);
}

// ---------------------------------------------------------------- the command line

fs::path separate_tool() {
  return fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "tools" / "separate";
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

int run_tool(const std::string& args, const fs::path& log) {
  const std::string cmd = separate_tool().string() + " " + args + " > '" + log.string() + "' 2>&1";
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(SeparateFolder, MixedFormatsStructureSkipExistingAndBadFiles) {
  ASSERT_TRUE(fs::exists(separate_tool())) << "build the unmix-separate target";
  const fs::path dir = test::temp_dir("folder");
  save_model(dir / "model", "guitar", small_weights(101));
  const fs::path songs = dir / "songs";
  fs::create_directories(songs / "live" / "2024");
  fs::create_directories(songs / "demos");
  write_audio(songs / "a.wav", song(4.0, 8000, 2, 7), SampleFormat::Pcm16);
  write_audio(songs / "live" / "2024" / "b.flac", song(3.0, 16000, 1, 8), SampleFormat::Pcm24);
  {
    AudioWriter mp3(songs / "demos" / "c.mp3", 44100, 2, WriteOptions{});
    const Audio a = song(3.0, 44100, 2, 9);
    mp3.write(a.samples.data(), a.frames, a.frames);
    mp3.commit();
  }
  std::ofstream(songs / "demos" / "broken.wav") << "RIFF not really";
  std::ofstream(songs / "notes.txt") << "not audio, not an audio extension";
  const fs::path out = dir / "out";
  const std::string args = "--device cpu --model '" + (dir / "model").string() + "' --outdir '" + out.string() + "' --backing '" +
                           songs.string() + "'";
  EXPECT_EQ(run_tool(args, dir / "log1.txt"), 1);
  const std::string log = read_text(dir / "log1.txt");
  for (const fs::path& p : {out / "a" / "guitar.wav", out / "a" / "backing.wav", out / "live" / "2024" / "b" / "residual.wav",
                           out / "demos" / "c" / "guitar.wav"})
    EXPECT_TRUE(fs::exists(p)) << p << "\n" << log;
  EXPECT_FALSE(fs::exists(out / "demos" / "broken")) << log;
  EXPECT_FALSE(fs::exists(out / "notes")) << log;
  EXPECT_NE(log.find("broken.wav"), std::string::npos) << log;
  EXPECT_NE(log.find("3 of 4 file(s) separated"), std::string::npos) << log;
  EXPECT_NE(log.find("ETA"), std::string::npos) << log;  // one overall progress (10 s of audio)
  EXPECT_EQ(probe_audio(out / "live" / "2024" / "b" / "guitar.wav").channels, 1);
  EXPECT_EQ(probe_audio(out / "live" / "2024" / "b" / "guitar.wav").sample_rate, 16000);

  // again with --skip-existing: nothing is rewritten; an output folder inside the input folder is not searched
  const auto stamp = fs::last_write_time(out / "a" / "guitar.wav");
  EXPECT_EQ(run_tool(args + " --skip-existing", dir / "log2.txt"), 1);
  const std::string log2 = read_text(dir / "log2.txt");
  EXPECT_EQ(fs::last_write_time(out / "a" / "guitar.wav"), stamp);
  EXPECT_NE(log2.find("0 of 4 file(s) separated, 3 skipped as done, 1 failed"), std::string::npos) << log2;
  fs::remove(songs / "demos" / "broken.wav");
  const std::string inside = "--device cpu --model '" + (dir / "model").string() + "' --outdir '" + (songs / "separated").string() +
                             "' '" + songs.string() + "'";
  EXPECT_EQ(run_tool(inside, dir / "log3.txt"), 0) << read_text(dir / "log3.txt");
  EXPECT_EQ(run_tool(inside + " --skip-existing", dir / "log4.txt"), 0) << read_text(dir / "log4.txt");
  EXPECT_NE(read_text(dir / "log4.txt").find("0 of 3 file(s) separated, 3 skipped"), std::string::npos) << read_text(dir / "log4.txt");
}

TEST(SeparateCliOutputs, BackingAndLossyFlags) {
  const fs::path dir = test::temp_dir("cli-outputs");
  save_model(dir / "model", "guitar", small_weights(101));
  write_audio(dir / "x.wav", song(2.0, 44100, 2, 10), SampleFormat::Pcm16);
  const std::string base = "--device cpu --model '" + (dir / "model").string() + "' --outdir '" + (dir / "out").string() + "' ";
  ASSERT_EQ(run_tool(base + "--backing --ext mp3 --quality 0.3 --cbr '" + (dir / "x.wav").string() + "'", dir / "log.txt"), 0)
      << read_text(dir / "log.txt");
  EXPECT_TRUE(fs::exists(dir / "out" / "x" / "backing.mp3"));
  EXPECT_NE(run_tool(base + "--ext mp3 --bits 16 '" + (dir / "x.wav").string() + "'", dir / "bad.txt"), 0);
  EXPECT_NE(read_text(dir / "bad.txt").find("--bits"), std::string::npos) << read_text(dir / "bad.txt");
  EXPECT_NE(run_tool(base + "--ext flac --cbr '" + (dir / "x.wav").string() + "'", dir / "bad.txt"), 0);
  EXPECT_NE(run_tool(base + "--quality 2 '" + (dir / "x.wav").string() + "'", dir / "bad.txt"), 0);
  EXPECT_EQ(run_tool("--help", dir / "help.txt"), 0);
  for (const char* flag : {"--backing", "--skip-existing", "--quality", "--cbr", "residual", "DIR"})
    EXPECT_NE(read_text(dir / "help.txt").find(flag), std::string::npos) << flag;
}

// --bitrate through the command: a CBR value LAME has not is written at the nearest with a note; a format
// without a bitrate, or --bitrate beside --quality, is a one-line error naming the flag, before any work.
TEST(SeparateCliOutputs, BitrateFlag) {
  const fs::path dir = test::temp_dir("cli-bitrate");
  save_model(dir / "model", "guitar", small_weights(101));
  write_audio(dir / "x.wav", song(6.0, 44100, 2, 12), SampleFormat::Pcm16);
  const std::string base = "--device cpu --model '" + (dir / "model").string() + "' --outdir '" + (dir / "out").string() + "' ";
  const std::string input = " '" + (dir / "x.wav").string() + "'";
  ASSERT_EQ(run_tool(base + "--ext mp3 --cbr --bitrate 100" + input, dir / "log.txt"), 0) << read_text(dir / "log.txt");
  const std::string log = read_text(dir / "log.txt");
  EXPECT_NE(log.find("note: mp3 at 44100 Hz has no constant 100 kbit/s"), std::string::npos) << log;
  EXPECT_NE(log.find("writing 96 kbit/s"), std::string::npos) << log;
  // 96 kbit/s for 6 s, plus at most 4 frames of 1152 samples (LAME's delay and flush, the last frame's
  // padding, the Info header; AudioBitrate.Mp3ConstantBitrateIsExact checks the frames): 1.7 %.
  const double kbps = static_cast<double>(fs::file_size(dir / "out" / "x" / "guitar.mp3")) * 8 / 6.0 / 1000;
  EXPECT_GE(kbps, 96 * 0.999);
  EXPECT_LE(kbps, 96 * (1 + 4 * 1152.0 / 44100 / 6));
  ASSERT_EQ(run_tool(base + "--ext opus --bitrate 96" + input, dir / "log.txt"), 0) << read_text(dir / "log.txt");
  EXPECT_EQ(read_text(dir / "log.txt").find("note:"), std::string::npos) << read_text(dir / "log.txt");

  struct Bad {
    std::string args, says;
  };
  for (const Bad& bad : {Bad{"--ext ogg --bitrate 128", "--quality"}, Bad{"--ext wav --bitrate 128", "wav"},
                         Bad{"--ext flac --bitrate 128", "flac"}, Bad{"--ext mp3 --bitrate 128 --quality 0.2", "not both"},
                         Bad{"--ext mp3 --bitrate 0", "positive"}, Bad{"--ext mp3 --bitrate 400", "8 to 320"},
                         Bad{"--ext opus --bitrate 600", "6 to 512"}}) {
    EXPECT_EQ(run_tool(base + bad.args + input, dir / "bad.txt"), 1) << bad.args;
    const std::string said = read_text(dir / "bad.txt");
    EXPECT_EQ(said.find("separate: --bitrate: "), 0u) << bad.args << ": " << said;
    EXPECT_NE(said.find(bad.says), std::string::npos) << bad.args << ": " << said;
    EXPECT_EQ(std::count(said.begin(), said.end(), '\n'), 1) << bad.args << ": " << said;
  }
  EXPECT_EQ(run_tool("--help", dir / "help.txt"), 0);
  EXPECT_NE(read_text(dir / "help.txt").find("--bitrate"), std::string::npos);
}

// Guitar parts: two target models separated jointly (multi-target Wiener EM), as --targets a,b does.
TEST(SeparateCliOutputs, TwoPartModelsJointly) {
  const fs::path dir = test::temp_dir("cli-parts");
  save_model(dir / "model", "lead_guitar", small_weights(101));
  save_model(dir / "model", "rhythm_guitar", small_weights(102));
  save_model(dir / "model", "guitar", small_weights(103));
  write_audio(dir / "song.wav", song(8.0, 8000, 2, 11), SampleFormat::Float32);
  const std::string args = "--device cpu --model '" + (dir / "model").string() + "' --targets lead_guitar,rhythm_guitar "
                           "--residual --backing --outdir '" + (dir / "out").string() + "' '" + (dir / "song.wav").string() + "'";
  ASSERT_EQ(run_tool(args, dir / "log.txt"), 0) << read_text(dir / "log.txt");
  // the same as the library's joint separation with both models
  SeparatorOptions o = cpu();
  o.residual = true;
  Separator sep = small_separator({"lead_guitar", "rhythm_guitar"}, o);
  const std::vector<Audio> ref = sep.separate(read_audio(dir / "song.wav"));
  const std::vector<std::string> names{"lead_guitar", "rhythm_guitar", "residual"};
  for (std::size_t j = 0; j < names.size(); ++j) {
    const Audio got = read_audio(dir / "out" / "song" / (names[j] + ".wav"));
    EXPECT_LT(rel_error(got.samples, ref[j].samples), 1e-6) << names[j];
  }
  // jointly is not each alone: the EM shares the mixture between the two parts
  SeparatorOptions alone = cpu();
  alone.residual = true;
  std::vector<std::unique_ptr<SpectrogramModel>> one;
  one.push_back(make_cpu_model(small_weights(101)));
  const std::vector<Audio> lead_alone = Separator({"lead_guitar"}, std::move(one), alone).separate(read_audio(dir / "song.wav"));
  EXPECT_GT(rel_error(lead_alone[0].samples, ref[0].samples), 1e-3);
  EXPECT_TRUE(fs::exists(dir / "out" / "song" / "backing.wav"));
  EXPECT_FALSE(fs::exists(dir / "out" / "song" / "guitar.wav"));
}

TEST(SeparateCliOutputs, PlotOfTheMixAndEverySource) {
  const fs::path dir = test::temp_dir("cli-plot");
  save_model(dir / "model", "guitar", small_weights(101));
  write_audio(dir / "tune.wav", song(6.0, 8000, 2, 12), SampleFormat::Pcm16);
  const std::string base = "--device cpu --model '" + (dir / "model").string() + "' --outdir '" + (dir / "out").string() + "' --plot ";
  ASSERT_EQ(run_tool(base + "'" + (dir / "tune.wav").string() + "'", dir / "log.txt"), 0) << read_text(dir / "log.txt");
  const fs::path png = dir / "out" / "tune" / "spectrograms.png";
  ASSERT_TRUE(fs::exists(png));
  std::ifstream in(png, std::ios::binary);
  unsigned char head[24] = {};
  in.read(reinterpret_cast<char*>(head), sizeof(head));
  EXPECT_EQ(head[1], 'P');
  EXPECT_EQ(head[2], 'N');
  // IHDR: width 1400 and three panels (mix, guitar, residual) tall
  const unsigned width = head[16] << 24 | head[17] << 16 | head[18] << 8 | head[19];
  const unsigned height = head[20] << 24 | head[21] << 16 | head[22] << 8 | head[23];
  EXPECT_EQ(width, 1400u);
  EXPECT_GT(height, 3u * 200u);
  EXPECT_LT(height, 4u * 200u + 200u);
  ASSERT_EQ(run_tool(base + "--plot-format svg '" + (dir / "tune.wav").string() + "'", dir / "log.txt"), 0) << read_text(dir / "log.txt");
  const std::string svg = read_text(dir / "out" / "tune" / "spectrograms.svg");
  EXPECT_NE(svg.find("<svg"), std::string::npos);
}

}  // namespace
