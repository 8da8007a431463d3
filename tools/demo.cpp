// demo: the whole CPU path on data it makes itself. Synthesizes a few short multitrack songs (plucked
// "guitar" against bass, drums and pad), trains a small Open-Unmix on the guitar for a few hundred steps,
// separates a held-out song and reports how much closer the estimate is to the true guitar than the mix.
#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <numbers>
#include <random>

#include "unmix/stop_signal.h"
#include "unmix/audio.h"
#include "unmix/error.h"
#include "unmix/model_dir.h"
#include "unmix/separator.h"
#include "unmix/statistics.h"
#include "unmix/stft.h"
#include "unmix/umx_cpu.h"

using namespace unmix;

namespace {

std::atomic<bool>& g_stop = unmix::stop_flag();

struct Song {
  Audio mix, guitar, rest;
};

// A toy song: Karplus-Strong plucked chords for the guitar; sine bass, noise/sine drums and a soft pad for
// the rest. Stereo, 44.1 kHz, different key, tempo and panning per seed.
Song synthesize_song(std::uint64_t seed, double seconds) {
  constexpr int rate = 44100;
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const auto frames = static_cast<std::int64_t>(seconds * rate);
  auto stereo = [&] {
    Audio a;
    a.sample_rate = rate;
    a.channels = 2;
    a.frames = frames;
    a.samples.assign(2 * static_cast<std::size_t>(frames), 0.f);
    return a;
  };
  Song s{stereo(), stereo(), stereo()};
  const double beat = 60.0 / (90.0 + 50.0 * u(rng));
  const int root = 40 + static_cast<int>(u(rng) * 12);  // MIDI note of the key
  const int progression[4][3] = {{0, 4, 7}, {5, 9, 12}, {7, 11, 14}, {-3, 0, 4}};
  auto hz = [](double midi) { return 440.0 * std::pow(2.0, (midi - 69.0) / 12.0); };
  auto add = [&](Audio& a, std::int64_t at, const std::vector<float>& mono, double pan) {
    const float left = static_cast<float>(std::cos(pan * std::numbers::pi / 2)),
                right = static_cast<float>(std::sin(pan * std::numbers::pi / 2));
    for (std::size_t i = 0; i < mono.size() && at + static_cast<std::int64_t>(i) < frames; ++i) {
      a.channel(0)[at + i] += left * mono[i];
      a.channel(1)[at + i] += right * mono[i];
    }
  };
  const double guitar_pan = 0.2 + 0.3 * u(rng);
  const auto beats = static_cast<int>(seconds / beat);
  for (int b = 0; b < beats; ++b) {
    const auto at = static_cast<std::int64_t>(b * beat * rate);
    const auto& chord = progression[(b / 4) % 4];
    // guitar: one plucked chord tone per half beat (Karplus-Strong: noise burst through a damped delay line)
    for (int half = 0; half < 2; ++half) {
      const double f = hz(root + 12 + chord[(b * 2 + half) % 3] + (half ? 12 : 0));
      const auto period = static_cast<std::size_t>(rate / f);
      std::vector<float> line(period), pluck(static_cast<std::size_t>(beat * rate));
      for (auto& v : line) v = static_cast<float>(u(rng) * 2 - 1);
      for (std::size_t i = 0; i < pluck.size(); ++i) {
        const std::size_t k = i % period;
        const float next = line[(k + 1) % period];
        pluck[i] = 0.25f * line[k];
        line[k] = 0.498f * (line[k] + next);
      }
      add(s.guitar, at + static_cast<std::int64_t>(half * beat * rate / 2), pluck, guitar_pan);
    }
    // bass: decaying sine on the chord root
    std::vector<float> bass(static_cast<std::size_t>(beat * rate));
    for (std::size_t i = 0; i < bass.size(); ++i) {
      const double t = static_cast<double>(i) / rate;
      bass[i] = static_cast<float>(0.3 * std::exp(-3.0 * t) * std::sin(2 * std::numbers::pi * hz(root - 12 + chord[0]) * t));
    }
    add(s.rest, at, bass, 0.5);
    // drums: kick on even beats, hi-hat noise every beat
    std::vector<float> hit(static_cast<std::size_t>(0.15 * rate));
    for (std::size_t i = 0; i < hit.size(); ++i) {
      const double t = static_cast<double>(i) / rate;
      hit[i] = b % 2 == 0 ? static_cast<float>(0.5 * std::exp(-25 * t) * std::sin(2 * std::numbers::pi * (50 + 80 * std::exp(-30 * t)) * t))
                          : static_cast<float>(0.08 * std::exp(-60 * t) * (u(rng) * 2 - 1));
    }
    add(s.rest, at, hit, b % 2 == 0 ? 0.5 : 0.7);
    // pad: a soft chord, slow attack
    std::vector<float> pad(static_cast<std::size_t>(beat * rate));
    const double pad_len = static_cast<double>(pad.size());
    for (std::size_t i = 0; i < pad.size(); ++i) {
      const double k = static_cast<double>(i);
      double v = 0;
      for (int n : chord) v += std::sin(2 * std::numbers::pi * hz(root + n) * k / rate);
      pad[i] = static_cast<float>(0.04 * v * std::min(1.0, 8.0 * k / pad_len) * (1.0 - k / pad_len));
    }
    add(s.rest, at, pad, 0.8);
  }
  for (std::size_t i = 0; i < s.mix.samples.size(); ++i) s.mix.samples[i] = s.guitar.samples[i] + s.rest.samples[i];
  return s;
}

double snr_db(const Audio& estimate, const Audio& reference) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < reference.samples.size(); ++i) {
    const double d = static_cast<double>(estimate.samples[i]) - reference.samples[i];
    num += static_cast<double>(reference.samples[i]) * reference.samples[i];
    den += d * d;
  }
  return 10 * std::log10(num / std::max(den, 1e-20));
}

std::vector<float> frame_major_magnitude(const ComplexSpectrogram& spec) {
  std::vector<float> m(static_cast<std::size_t>(spec.frames) * spec.channels * spec.bins);
  magnitude_frame_major(spec, 1, 0, m.data());
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"guitar-unmix demo: synthesize songs, train a small Open-Unmix on the guitar (CPU), separate a held-out song"};
  std::string out_dir = "demo-out";
  int steps = 300, hidden = 64, songs = 4, batch = 8, excerpt_frames = 48;
  double seconds = 12.0, lr = 3e-3;
  std::uint64_t seed = 42;
  app.add_option("--out", out_dir, "output folder (model, separated and reference audio)")->capture_default_str();
  app.add_option("--steps", steps, "training steps")->capture_default_str();
  app.add_option("--hidden-size", hidden, "model width (openunmix default 512; small here for CPU speed)")->capture_default_str();
  app.add_option("--songs", songs, "training songs to synthesize")->capture_default_str();
  app.add_option("--seconds", seconds, "length of each song")->capture_default_str();
  app.add_option("--batch-size", batch, "excerpts per step")->capture_default_str();
  app.add_option("--lr", lr, "Adam learning rate")->capture_default_str();
  app.add_option("--seed", seed, "seed for songs, weights and batches")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  try {
    unmix::stop_on_signals();
    std::filesystem::create_directories(out_dir);
    ModelConfig config;
    config.hidden_size = hidden;
    config.validate();
    Stft stft(config.nfft, config.nhop);

    std::printf("synthesizing %d training songs and 1 test song (%.0f s each)...\n", songs, seconds);
    std::vector<std::vector<float>> train_mix, train_guitar;
    std::vector<int> train_frames;
    BinStatistics stats(config.nb_bins);
    for (int i = 0; i < songs; ++i) {
      const Song s = synthesize_song(seed * 1000 + i, seconds);
      const auto mix_spec = stft.forward(s.mix.samples.data(), 2, s.mix.frames, false);
      stats.add(mix_spec);
      train_mix.push_back(frame_major_magnitude(mix_spec));
      train_guitar.push_back(frame_major_magnitude(stft.forward(s.guitar.samples.data(), 2, s.guitar.frames, false)));
      train_frames.push_back(mix_spec.frames);
    }
    const Song test_song = synthesize_song(seed * 1000 + 999, seconds);

    UmxWeights weights(config);
    weights.init_random(seed);
    apply_input_statistics(weights, stats);
    UmxCpu model(weights, seed);
    cpu::AdamOptions adam_options;
    adam_options.lr = lr;
    adam_options.weight_decay = 1e-5;
    cpu::AdamState adam;
    std::vector<float> grads, scratch;
    const std::size_t frame_size = 2 * static_cast<std::size_t>(config.nb_bins);
    std::vector<float> batch_mix(static_cast<std::size_t>(excerpt_frames) * batch * frame_size), batch_target(batch_mix.size());
    std::mt19937_64 rng(seed);
    std::printf("training: %s, batch %d x %d frames, %d steps (Ctrl-C stops training early and still separates)\n",
                config.describe().c_str(), batch, excerpt_frames, steps);
    const auto start = std::chrono::steady_clock::now();
    double first_loss = 0, recent = 0;
    int done = 0;
    for (; done < steps && !g_stop; ++done) {
      // batch layout [frames][batch][channels][bins]: gather random excerpts of random songs
      for (int b = 0; b < batch; ++b) {
        const auto song = std::uniform_int_distribution<std::size_t>(0, train_mix.size() - 1)(rng);
        const int offset = std::uniform_int_distribution<int>(0, train_frames[song] - excerpt_frames)(rng);
        for (int t = 0; t < excerpt_frames; ++t) {
          const std::size_t src = static_cast<std::size_t>(offset + t) * frame_size;
          const std::size_t dst = (static_cast<std::size_t>(t) * batch + b) * frame_size;
          std::copy_n(train_mix[song].begin() + static_cast<std::ptrdiff_t>(src), frame_size, batch_mix.begin() + static_cast<std::ptrdiff_t>(dst));
          std::copy_n(train_guitar[song].begin() + static_cast<std::ptrdiff_t>(src), frame_size, batch_target.begin() + static_cast<std::ptrdiff_t>(dst));
        }
      }
      const double loss = train_step(model, batch_mix.data(), batch_target.data(), excerpt_frames, batch, grads, adam, adam_options, scratch);
      if (!std::isfinite(loss)) fail("training", "loss became non-finite at step " + std::to_string(done + 1));
      if (done == 0) first_loss = recent = loss;
      recent = 0.9 * recent + 0.1 * loss;
      if ((done + 1) % 20 == 0 || done + 1 == steps) {
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const double rate = (done + 1) / elapsed;
        std::printf("  step %4d/%d  loss %.5f (first %.5f)  %.1f steps/s  ETA %.0f s\n", done + 1, steps, recent, first_loss,
                    rate, (steps - done - 1) / rate);
        std::fflush(stdout);
      }
    }
    if (g_stop) std::printf("interrupted after %d steps; separating with the model as it is\n", done);

    save_model(std::filesystem::path(out_dir) / "model", "guitar", weights);
    SeparatorOptions separation;  // openunmix's Separator: one target, residual, Wiener EM (niter 1)
    separation.device = Device::Cpu;
    std::vector<std::unique_ptr<SpectrogramModel>> models;
    models.push_back(make_cpu_model(weights));
    Separator separator({"guitar"}, std::move(models), separation);
    const auto separated = separator.separate(test_song.mix);  // guitar, residual
    const std::filesystem::path out(out_dir);
    write_audio(out / "mix.wav", test_song.mix, SampleFormat::Float32);
    write_audio(out / "guitar_true.wav", test_song.guitar, SampleFormat::Float32);
    write_audio(out / "guitar.wav", separated[0], SampleFormat::Float32);
    write_audio(out / "residual.wav", separated[1], SampleFormat::Float32);
    std::printf("\nheld-out song, SNR against the true stems (dB, higher is better):\n");
    std::printf("  %-10s  %8s  %8s\n", "", "mixture", "estimate");
    std::printf("  %-10s  %8.2f  %8.2f\n", "guitar", snr_db(test_song.mix, test_song.guitar), snr_db(separated[0], test_song.guitar));
    std::printf("  %-10s  %8.2f  %8.2f\n", "residual", snr_db(test_song.mix, test_song.rest), snr_db(separated[1], test_song.rest));
    std::printf("\nwrote %s/{mix,guitar_true,guitar,residual}.wav and the model in %s/model/\n", out_dir.c_str(), out_dir.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "demo: %s\n", e.what());
    return 1;
  }
}
