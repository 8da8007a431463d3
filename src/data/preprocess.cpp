// Preprocessing: manifest + MedleyDB-layout root -> training cache (index, raw track files, statistics).
#include "unmix/data/preprocess.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cerrno>
#include <cstring>
#include <cmath>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "unmix/error.h"
#include "unmix/limits.h"
#include "unmix/statistics.h"
#include "unmix/stft.h"

namespace unmix::data {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

bool stopped(const std::atomic<bool>* stop) { return stop && stop->load(); }

void check_track_id(const std::string& id) {
  if (id.empty() || id == "." || id == ".." || id.find('/') != std::string::npos || id.find('\\') != std::string::npos)
    fail("manifest", "track id '" + id + "' cannot name a cache file");
}

// What a cached track was made from: if any of it changes, the track is rebuilt.
json source_signature(const ManifestTrack& track, const fs::path& root, const PreprocessOptions& options) {
  json files = json::array();
  for (const auto* list : {&track.targets, &track.interferers})
    for (const auto& stem : *list) {
      std::error_code ec;
      const fs::path p = root / stem.path;
      const auto size = fs::file_size(p, ec);
      const auto time = ec ? 0 : fs::last_write_time(p, ec).time_since_epoch().count();
      files.push_back({{"path", stem.path}, {"target", list == &track.targets}, {"bytes", ec ? -1 : static_cast<std::int64_t>(size)},
                       {"mtime", static_cast<std::int64_t>(time)}});
    }
  std::error_code ec;
  const auto mix_size = fs::file_size(root / track.mix, ec);
  return {{"files", files},
          {"mix", {{"path", track.mix}, {"bytes", ec ? -1 : static_cast<std::int64_t>(mix_size)}}},
          {"sample_rate", options.read.sample_rate},
          {"channels", options.read.channels},
          {"sample_type", sample_type_name(options.sample_type)}};
}

json issue_json(const FileIssue& i) {
  return {{"kind", static_cast<int>(i.kind)}, {"file", i.file.string()}, {"detail", i.detail}};
}

FileIssue issue_from_json(const json& j) {
  return {static_cast<IssueKind>(j.at("kind").get<int>()), fs::path(j.at("file").get<std::string>()),
          j.at("detail").get<std::string>()};
}

void write_text(const fs::path& file, const std::string& text) {
  AtomicFile out(file);
  {
    std::ofstream f(out.temp_path(), std::ios::binary);
    f << text;
    if (!f.flush()) fail(file, std::string("cannot write: ") + std::strerror(errno));
  }
  out.commit();
}

// Interleaved raw samples of one source; returns the int16 scale (1 for float32).
float write_source(const fs::path& file, const Audio& audio, SampleType type) {
  const auto frames = static_cast<std::size_t>(audio.frames);
  const auto channels = static_cast<std::size_t>(audio.channels);
  float scale = 1.f;
  AtomicFile out(file);
  {
    std::ofstream f(out.temp_path(), std::ios::binary);
    if (type == SampleType::Float32) {
      std::vector<float> inter(frames * channels);
      for (std::size_t c = 0; c < channels; ++c)
        for (std::size_t i = 0; i < frames; ++i) inter[i * channels + c] = audio.samples[c * frames + i];
      f.write(reinterpret_cast<const char*>(inter.data()), static_cast<std::streamsize>(inter.size() * sizeof(float)));
    } else {
      // Scaled so the loudest sample uses the full int16 range: sums of stems can exceed 1.
      float peak = 0.f;
      for (float v : audio.samples) peak = std::max(peak, std::abs(v));
      scale = peak > 0 ? peak / 32767.f : 1.f / 32768.f;
      std::vector<std::int16_t> inter(frames * channels);
      for (std::size_t c = 0; c < channels; ++c)
        for (std::size_t i = 0; i < frames; ++i) {
          const float code = std::round(audio.samples[c * frames + i] / scale);
          inter[i * channels + c] = static_cast<std::int16_t>(std::clamp(code, -32767.f, 32767.f));
        }
      f.write(reinterpret_cast<const char*>(inter.data()), static_cast<std::streamsize>(inter.size() * sizeof(std::int16_t)));
    }
    if (!f.flush()) fail(file, std::string("cannot write cache file: ") + std::strerror(errno));
  }
  out.commit();
  return scale;
}

struct TrackResult {
  bool done = false, usable = false, reused = false;
  CachedTrack cached;
  std::vector<FileIssue> issues;
  double seconds = 0;
};

// Builds (or reuses) one track's cache files.
TrackResult cache_track(const ManifestTrack& track, const fs::path& root, const fs::path& cache_dir,
                        const PreprocessOptions& options) {
  TrackResult r;
  const std::string target_file = "tracks/" + track.id + ".target.raw";
  const std::string interferer_file = "tracks/" + track.id + ".interf.raw";
  const fs::path record_file = cache_dir / "tracks" / (track.id + ".json");
  const json signature = source_signature(track, root, options);
  r.cached.id = track.id;
  r.cached.split = track.split;
  r.cached.bleed = track.bleed;
  r.cached.target_file = target_file;
  r.cached.interferer_file = interferer_file;

  // Reuse when the record matches and both data files are there with the right size.
  if (std::ifstream in(record_file); in) {
    try {
      json record;
      in >> record;
      if (record.at("signature") == signature) {
        for (const auto& i : record.at("issues")) r.issues.push_back(issue_from_json(i));
        r.usable = record.at("usable").get<bool>();
        r.cached.frames = record.at("frames").get<std::int64_t>();
        r.cached.target_scale = record.at("target_scale").get<float>();
        r.cached.interferer_scale = record.at("interferer_scale").get<float>();
        const auto bytes = static_cast<std::uintmax_t>(r.cached.frames) * static_cast<std::uintmax_t>(options.read.channels) *
                           (options.sample_type == SampleType::Int16 ? 2u : 4u);
        std::error_code e1, e2;
        if (!r.usable || (fs::file_size(cache_dir / target_file, e1) == bytes && fs::file_size(cache_dir / interferer_file, e2) == bytes &&
                          !e1 && !e2)) {
          r.done = r.reused = true;
          r.seconds = static_cast<double>(r.cached.frames) / options.read.sample_rate;
          return r;
        }
      }
    } catch (const json::exception&) {
      // A damaged record only means the track is rebuilt.
    }
    r.issues.clear();
  }

  ReadOptions read = options.read;
  read.read_mix = false;  // the cache never stores the mix; its length comes from the header
  TrackAudio audio = TrackReader(root, read).read(track);
  r.usable = audio.usable() && audio.target.frames > 0;
  r.issues = std::move(audio.issues);
  if (r.usable) {
    r.cached.frames = audio.target.frames;
    r.cached.target_scale = write_source(cache_dir / target_file, audio.target, options.sample_type);
    r.cached.interferer_scale = write_source(cache_dir / interferer_file, audio.interferers, options.sample_type);
    r.seconds = audio.target.seconds();
  }
  json issues = json::array();
  for (const auto& i : r.issues) issues.push_back(issue_json(i));
  // Written last: its presence means the data files are complete.
  write_text(record_file, json{{"signature", signature},
                               {"usable", r.usable},
                               {"frames", r.cached.frames},
                               {"target_scale", r.cached.target_scale},
                               {"interferer_scale", r.cached.interferer_scale},
                               {"issues", issues}}
                              .dump(1));
  r.done = true;
  return r;
}

// Reads frames [start, start + count) of target + interferers (planar) straight from the raw files.
class MixReader {
 public:
  MixReader(const fs::path& cache_dir, const CachedTrack& track, int channels, SampleType type)
      : track_(track), channels_(channels), type_(type),
        target_(cache_dir / track.target_file, std::ios::binary), interferers_(cache_dir / track.interferer_file, std::ios::binary) {
    if (!target_ || !interferers_) fail(cache_dir / track.target_file, "cannot reopen cache file for statistics");
  }
  void read(std::int64_t start, std::int64_t count, std::vector<float>& planar) {
    planar.assign(static_cast<std::size_t>(count * channels_), 0.f);
    add(target_, track_.target_scale, start, count, planar);
    add(interferers_, track_.interferer_scale, start, count, planar);
  }

 private:
  void add(std::ifstream& in, float scale, std::int64_t start, std::int64_t count, std::vector<float>& planar) {
    const std::size_t sample_bytes = type_ == SampleType::Int16 ? 2 : 4;
    raw_.resize(static_cast<std::size_t>(count * channels_) * sample_bytes);
    in.seekg(static_cast<std::streamoff>(static_cast<std::size_t>(start * channels_) * sample_bytes));
    in.read(raw_.data(), static_cast<std::streamsize>(raw_.size()));
    if (!in) fail(track_.id, "cache file ended early while computing statistics");
    for (std::int64_t i = 0; i < count; ++i)
      for (int c = 0; c < channels_; ++c) {
        const std::size_t k = static_cast<std::size_t>(i * channels_ + c);
        float v;
        if (type_ == SampleType::Float32) {
          std::memcpy(&v, raw_.data() + k * 4, 4);
        } else {
          std::int16_t code;
          std::memcpy(&code, raw_.data() + k * 2, 2);
          v = static_cast<float>(code) * scale;
        }
        planar[static_cast<std::size_t>(c * count + i)] += v;
      }
  }
  const CachedTrack& track_;
  int channels_;
  SampleType type_;
  std::ifstream target_, interferers_;
  std::vector<char> raw_;
};

// The settings, by the flags that set them, before anything is read or allocated.
void check_options(const PreprocessOptions& o) {
  check_range("--sample-rate", std::int64_t{o.read.sample_rate}, kMinSampleRate, kMaxSampleRate);
  if (o.read.channels != 1 && o.read.channels != 2) fail("--channels", "must be 1 or 2");
  check_range("--nfft", std::int64_t{o.n_fft}, 16, kMaxFftSize);
  check_range("--nhop", std::int64_t{o.n_hop}, 1, o.n_fft);
  check_threads("--threads", o.threads);
}

}  // namespace

std::vector<FileIssue> validate_root(const Manifest& manifest, const fs::path& root, const ReadOptions& options) {
  check_range("--sample-rate", std::int64_t{options.sample_rate}, kMinSampleRate, kMaxSampleRate);
  const TrackReader reader(root, options);
  std::vector<FileIssue> issues;
  for (const auto& t : manifest.tracks) {
    auto more = reader.validate(t);
    issues.insert(issues.end(), more.begin(), more.end());
  }
  return issues;
}

PreprocessReport preprocess(const Manifest& manifest, const fs::path& root, const fs::path& cache_dir,
                            const PreprocessOptions& options, const std::function<void(const PreprocessProgress&)>& progress,
                            const std::atomic<bool>* stop) {
  check_options(options);
  PreprocessReport report;
  std::vector<const ManifestTrack*> tracks;
  for (const auto& t : manifest.tracks) {
    check_track_id(t.id);
    if (t.bleed && !options.include_bleed)
      ++report.skipped;
    else
      tracks.push_back(&t);
  }
  std::error_code ec;
  fs::create_directories(cache_dir / "tracks", ec);
  if (ec) fail(cache_dir, "cannot create the cache directory: " + ec.message());
  for (const fs::path& dir : {cache_dir, cache_dir / "tracks"}) remove_stale_temp_files(dir);  // of a killed run
  const int threads = options.threads > 0 ? options.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  // ---- tracks, in parallel; results land in manifest order ----
  std::vector<TrackResult> results(tracks.size());
  std::atomic<std::size_t> next{0}, finished{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  std::condition_variable track_done;
  auto work = [&] {
    for (std::size_t i; (i = next++) < tracks.size();) {
      if (stopped(stop)) return;
      {
        std::lock_guard lock(error_mutex);
        if (error) return;
      }
      try {
        results[i] = cache_track(*tracks[i], root, cache_dir, options);
      } catch (...) {
        std::lock_guard lock(error_mutex);
        if (!error) error = std::current_exception();
        track_done.notify_all();
        return;
      }
      {
        std::lock_guard lock(error_mutex);
        ++finished;
      }
      track_done.notify_all();
    }
  };
  const auto started = Clock::now();
  auto report_progress = [&](const char* stage, std::size_t done, std::size_t total, Clock::time_point since) {
    if (!progress) return;
    PreprocessProgress p{stage, done, total, std::chrono::duration<double>(Clock::now() - since).count(), -1};
    if (done > 0) p.seconds_left = p.seconds_elapsed / static_cast<double>(done) * static_cast<double>(total - done);
    progress(p);
  };
  {
    std::vector<std::thread> pool;
    for (int k = 0; k < std::min<int>(threads, static_cast<int>(std::max<std::size_t>(1, tracks.size()))); ++k) pool.emplace_back(work);
    std::unique_lock lock(error_mutex);
    while (finished < tracks.size() && !error && !stopped(stop)) {
      const std::size_t done = finished;
      lock.unlock();
      report_progress("tracks", done, tracks.size(), started);
      lock.lock();
      // Woken by each finished track; the timeout keeps polling `stop`, which a signal handler sets.
      track_done.wait_for(lock, std::chrono::milliseconds(200), [&] { return finished > done || error; });
    }
    lock.unlock();
    for (auto& t : pool) t.join();
  }
  if (error) std::rethrow_exception(error);
  report_progress("tracks", finished, tracks.size(), started);

  std::vector<CachedTrack> cached;
  for (auto& r : results) {
    report.issues.insert(report.issues.end(), r.issues.begin(), r.issues.end());
    if (!r.done) continue;
    // A reused record's problems are as fatal under --strict as when the track was first read.
    if (r.reused && options.read.strict)
      for (const auto& i : r.issues)
        if (i.fatal()) fail(i.file, std::string(issue_kind_name(i.kind)) + (i.detail.empty() ? "" : ": " + i.detail));
    if (!r.usable) {
      ++report.skipped;
      continue;
    }
    (r.reused ? report.reused : report.written)++;
    report.audio_seconds += r.seconds;
    cached.push_back(r.cached);
  }
  if (stopped(stop) || finished < tracks.size()) {
    report.interrupted = true;
    return report;
  }

  // ---- statistics of the train split's mix, frame order fixed so results do not depend on threads ----
  json index_statistics = nullptr;
  if (options.statistics) {
    const Stft probe(options.n_fft, options.n_hop);
    BinStatistics stats(probe.bins());
    std::vector<const CachedTrack*> train;
    for (const auto& c : cached)
      if (c.split == Split::Train) train.push_back(&c);
    const auto stats_started = Clock::now();
    constexpr int kChunkFrames = 128;
    for (std::size_t k = 0; k < train.size() && !stopped(stop); ++k) {
      report_progress("statistics", k, train.size(), stats_started);
      const CachedTrack& track = *train[k];
      const int frames = probe.frames(track.frames, false);
      const int chunks = (frames + kChunkFrames - 1) / kChunkFrames;
      std::vector<MixReader> readers;
      std::vector<std::unique_ptr<Stft>> stfts;
      for (int t = 0; t < threads; ++t) {
        readers.emplace_back(cache_dir, track, options.read.channels, options.sample_type);
        stfts.push_back(std::make_unique<Stft>(options.n_fft, options.n_hop));
      }
      std::exception_ptr chunk_error;
#pragma omp parallel for ordered schedule(static, 1) num_threads(threads)
      for (int chunk = 0; chunk < chunks; ++chunk) {
        const int t = omp_get_thread_num();
        ComplexSpectrogram spec;
        try {
          const int first = chunk * kChunkFrames, count = std::min(kChunkFrames, frames - first);
          const std::int64_t start = static_cast<std::int64_t>(first) * options.n_hop;
          const std::int64_t length = static_cast<std::int64_t>(count - 1) * options.n_hop + options.n_fft;
          std::vector<float> planar;
          readers[t].read(start, length, planar);
          spec = stfts[t]->forward(planar.data(), options.read.channels, length, false);
        } catch (...) {
#pragma omp critical
          if (!chunk_error) chunk_error = std::current_exception();
        }
#pragma omp ordered
        if (spec.frames > 0) stats.add(spec);
      }
      if (chunk_error) std::rethrow_exception(chunk_error);
    }
    if (stopped(stop)) {
      report.interrupted = true;
      return report;
    }
    report_progress("statistics", train.size(), train.size(), stats_started);
    if (stats.frames() == 0) fail(cache_dir, "no train track is long enough for one STFT frame; statistics are empty");
    CacheStatistics cs;
    cs.n_fft = options.n_fft;
    cs.n_hop = options.n_hop;
    cs.frames = stats.frames();
    for (double v : stats.mean()) cs.mean.push_back(static_cast<float>(v));
    for (double v : stats.std()) cs.std.push_back(static_cast<float>(v));
    for (const auto* v : {&cs.mean, &cs.std})
      if (!std::all_of(v->begin(), v->end(), [](float x) { return std::isfinite(x); }))
        fail(cache_dir / "stats.safetensors", "the train mix's statistics are not finite; nothing was written");
    write_cache_statistics(cache_dir / "stats.safetensors", cs);
    index_statistics = "stats.safetensors";
  }

  // ---- the index, last: a cache without it is incomplete ----
  json index_tracks = json::array();
  for (const auto& c : cached)
    index_tracks.push_back({{"id", c.id},
                            {"split", split_name(c.split)},
                            {"bleed", c.bleed},
                            {"frames", c.frames},
                            {"target", {{"file", c.target_file}, {"scale", c.target_scale}}},
                            {"interferers", {{"file", c.interferer_file}, {"scale", c.interferer_scale}}}});
  const json index = {{"format", "unmix-cache"},
                      {"version", 1},
                      {"sample_rate", options.read.sample_rate},
                      {"channels", options.read.channels},
                      {"sample_type", sample_type_name(options.sample_type)},
                      {"layout", "interleaved [frames][channels], little-endian"},
                      {"manifest", {{"name", manifest.name}, {"target_labels", manifest.target_labels}}},
                      {"statistics", index_statistics},
                      {"tracks", index_tracks}};
  write_text(cache_dir / "index.json", index.dump(1));
  return report;
}

}  // namespace unmix::data
