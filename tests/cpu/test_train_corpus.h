#pragma once
// A tiny MedleyDB-layout corpus and its training cache for the training tests: short stereo 16 kHz tracks
// whose target ("guitar": plucked harmonic notes) and interferers (a low sine bass, noise bursts) occupy
// different time-frequency regions, so even a very small model learns a mask within a few epochs.
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "unmix/audio.h"
#include "unmix/data/manifest.h"
#include "unmix/data/preprocess.h"

namespace unmix::test {

inline constexpr int kCorpusRate = 16000;

inline Audio silent_stereo(double seconds) {
  Audio a;
  a.sample_rate = kCorpusRate;
  a.channels = 2;
  a.frames = static_cast<std::int64_t>(seconds * kCorpusRate);
  a.samples.assign(2 * static_cast<std::size_t>(a.frames), 0.f);
  return a;
}

// Adds `note` (mono) at `at` with constant-power panning.
inline void add_panned(Audio& a, std::int64_t at, const std::vector<float>& note, double pan) {
  const auto left = static_cast<float>(std::cos(pan * std::numbers::pi / 2)),
             right = static_cast<float>(std::sin(pan * std::numbers::pi / 2));
  for (std::size_t i = 0; i < note.size() && at + static_cast<std::int64_t>(i) < a.frames; ++i) {
    a.channel(0)[at + static_cast<std::int64_t>(i)] += left * note[i];
    a.channel(1)[at + static_cast<std::int64_t>(i)] += right * note[i];
  }
}

struct CorpusTrack {
  Audio guitar, bass, drums;
};

inline CorpusTrack make_corpus_track(std::uint64_t seed, double seconds) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  CorpusTrack t{silent_stereo(seconds), silent_stereo(seconds), silent_stereo(seconds)};
  const double two_pi = 2 * std::numbers::pi;
  const double pan = 0.2 + 0.6 * u(rng);
  for (double at = 0; at < seconds; at += 0.25) {  // guitar: four harmonics, 300-900 Hz fundamentals
    const double f0 = 300 + 600 * u(rng);
    std::vector<float> note(static_cast<std::size_t>(0.3 * kCorpusRate));
    for (std::size_t i = 0; i < note.size(); ++i) {
      const double time = static_cast<double>(i) / kCorpusRate;
      double v = 0;
      for (int h = 1; h <= 4; ++h) v += std::sin(two_pi * f0 * h * time) / h;
      note[i] = static_cast<float>(0.2 * std::exp(-8 * time) * v);
    }
    add_panned(t.guitar, static_cast<std::int64_t>(at * kCorpusRate), note, pan);
  }
  for (double at = 0; at < seconds; at += 0.5) {  // bass: 50-120 Hz sines; drums: decaying noise bursts
    const double f = 50 + 70 * u(rng);
    std::vector<float> bass(static_cast<std::size_t>(0.5 * kCorpusRate)), hit(static_cast<std::size_t>(0.12 * kCorpusRate));
    for (std::size_t i = 0; i < bass.size(); ++i) {
      const double time = static_cast<double>(i) / kCorpusRate;
      bass[i] = static_cast<float>(0.3 * std::exp(-2 * time) * std::sin(two_pi * f * time));
    }
    for (std::size_t i = 0; i < hit.size(); ++i)
      hit[i] = static_cast<float>(0.15 * std::exp(-40.0 * static_cast<double>(i) / kCorpusRate) * (2 * u(rng) - 1));
    add_panned(t.bass, static_cast<std::int64_t>(at * kCorpusRate), bass, 0.5);
    add_panned(t.drums, static_cast<std::int64_t>((at + 0.25) * kCorpusRate), hit, 0.3 + 0.4 * u(rng));
  }
  return t;
}

// Writes `tracks` tracks (the last `valid` of them in the valid split) under `root` and returns their
// manifest. Stems: S01 guitar (target), S02 bass, S03 drums; the mix is their sum.
inline data::Manifest write_corpus(const std::filesystem::path& root, int tracks, int valid, double seconds) {
  data::Manifest m;
  m.name = "guitar";
  m.target_labels = {"guitar"};
  for (int k = 0; k < tracks; ++k) {
    const std::string id = "Song" + std::to_string(k + 1);
    const CorpusTrack audio = make_corpus_track(1000 + static_cast<std::uint64_t>(k), seconds);
    const std::filesystem::path dir = root / id / (id + "_STEMS");
    std::filesystem::create_directories(dir);
    Audio mix = audio.guitar;
    for (std::size_t i = 0; i < mix.samples.size(); ++i) mix.samples[i] += audio.bass.samples[i] + audio.drums.samples[i];
    write_audio(root / id / (id + "_MIX.wav"), mix, SampleFormat::Float32);
    const Audio* stems[] = {&audio.guitar, &audio.bass, &audio.drums};
    const char* labels[] = {"guitar", "electric bass", "drum set"};
    data::ManifestTrack t;
    t.id = t.artist = t.group = id;
    t.split = k >= tracks - valid ? data::Split::Valid : data::Split::Train;
    t.mix = id + "/" + id + "_MIX.wav";
    for (int s = 0; s < 3; ++s) {
      const std::string file = id + "_STEM_0" + std::to_string(s + 1) + ".wav";
      write_audio(dir / file, *stems[s], SampleFormat::Float32);
      data::ManifestStem stem{"S0" + std::to_string(s + 1), id + "/" + id + "_STEMS/" + file, {labels[s]}};
      (s == 0 ? t.targets : t.interferers).push_back(stem);
    }
    m.tracks.push_back(t);
  }
  return m;
}

// The training cache of that corpus with the test STFT (n_fft 512, hop 128).
inline void write_corpus_cache(const data::Manifest& manifest, const std::filesystem::path& root,
                               const std::filesystem::path& cache) {
  data::PreprocessOptions options;
  options.read.sample_rate = kCorpusRate;
  options.read.channels = 2;
  options.n_fft = 512;
  options.n_hop = 128;
  options.threads = 2;
  const auto report = data::preprocess(manifest, root, cache, options);
  if (report.written + report.reused != manifest.tracks.size()) throw std::runtime_error("test corpus: preprocess failed");
}

}  // namespace unmix::test
