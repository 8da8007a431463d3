// The corpus run: plan every song, render stems on worker threads, write each finished song atomically.
#include "unmix/synth/corpus.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "unmix/error.h"
#include "unmix/limits.h"
#include "unmix/synth/metadata.h"
#include "unmix/synth/mixdown.h"
#include "unmix/synth/render.h"

#include <cmath>

namespace unmix::synth {

namespace fs = std::filesystem;

namespace {

constexpr const char* kTempPrefix = ".synthesize-";

// Temporary folders of runs that were killed outright (SIGKILL, power loss) hold nothing of value.
void remove_stale_temporaries(const fs::path& out) {
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(out, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(kTempPrefix, 0) != 0) continue;
    const std::string rest = name.substr(std::char_traits<char>::length(kTempPrefix));
    const auto dash = rest.find('-');
    if (dash == std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::strtol(rest.substr(0, dash).c_str(), nullptr, 10));
    if (pid > 0 && pid != ::getpid() && ::kill(pid, 0) != 0 && errno == ESRCH) {
      std::error_code remove_ec;
      fs::remove_all(entry.path(), remove_ec);
    }
  }
}

void check_options(const CorpusOptions& o) {
  if (o.out.empty()) fail("corpus options", "no output folder given");
  if (o.songs < 0) fail("corpus options", "number of songs must not be negative");
  if (o.first_song < 0) fail("corpus options", "first song index must not be negative");
  if (!(o.seconds >= 1.0 && o.seconds <= 3600.0)) fail("corpus options", "song length must be between 1 and 3600 seconds");
  if (o.sample_rate < 8000 || o.sample_rate > 192000) fail("corpus options", "sample rate must be between 8000 and 192000");
  check_threads("--jobs", o.jobs);
  // Song indices name the folders and seed the songs; they must not overflow.
  constexpr int kMaxSongIndex = 99'999'999;
  check_range("--songs", std::int64_t{o.songs}, 0, kMaxSongIndex);
  check_range("--first-song", std::int64_t{o.first_song}, 0, kMaxSongIndex - std::int64_t{o.songs});
}

}  // namespace

void write_song(const fs::path& track_dir, const SongPlan& plan, const SoundfontSet& fonts, std::vector<PlacedStem> stems,
                const std::vector<Audio>& raw) {
  std::error_code ec;
  if (fs::exists(track_dir, ec)) fail(track_dir, "already exists");
  const fs::path temp = track_dir.parent_path() / (kTempPrefix + std::to_string(::getpid()) + "-" + track_dir.filename().string());
  fs::remove_all(temp, ec);
  struct RemoveUnlessKept {
    fs::path dir;
    bool keep = false;
    ~RemoveUnlessKept() {
      std::error_code e;
      if (!keep) fs::remove_all(dir, e);
    }
  } guard{temp};
  fs::create_directories(temp / stem_dir_name(plan.track_id), ec);
  if (ec) fail(temp, "cannot create folder: " + ec.message());

  Mixdown mixdown = mix_stems(plan, std::move(stems));
  mixdown.master = master_stems(plan.master, mixdown.stems, mixdown.mix);
  if (plan.master.active) mixdown.mix_peak = mixdown.master.peak;
  for (std::size_t p = 0; p < mixdown.stems.size(); ++p)
    write_audio(temp / stem_dir_name(plan.track_id) / stem_filename(plan.track_id, static_cast<int>(p) + 1),
                mixdown.stems[p], SampleFormat::Float32);
  write_audio(temp / mix_filename(plan.track_id), mixdown.mix, SampleFormat::Float32);
  if (!raw.empty()) {
    // MedleyDB's RAW folder: each stem's dry render (FluidSynth's output, before any plugin and unpanned),
    // at its stem's planned level and the song-wide scale, not mastered
    fs::create_directories(temp / raw_dir_name(plan.track_id), ec);
    if (ec) fail(temp, "cannot create folder: " + ec.message());
    for (std::size_t p = 0; p < raw.size(); ++p) {
      Audio dry = raw[p];
      for (float& v : dry.samples) v = static_cast<float>(v * mixdown.mix_scale);
      write_audio(temp / raw_dir_name(plan.track_id) / raw_filename(plan.track_id, static_cast<int>(p) + 1), dry,
                  SampleFormat::Float32);
    }
  }
  const fs::path yaml_path = temp / metadata_filename(plan.track_id);
  {
    std::ofstream yaml(yaml_path, std::ios::binary);
    yaml << track_metadata_yaml(plan, fonts, mixdown);
    yaml.close();
    if (!yaml) fail(yaml_path, "cannot write file");
  }
  fs::rename(temp, track_dir, ec);
  if (ec) fail(track_dir, "cannot move the finished song into place: " + ec.message());
  guard.keep = true;
}

CorpusResult synthesize_corpus(const CorpusOptions& options, const std::atomic<bool>* stop,
                               const std::function<void(const CorpusProgress&)>& progress) {
  using Clock = std::chrono::steady_clock;
  const auto started = Clock::now();
  check_options(options);
  const std::vector<fs::path> font_paths = options.soundfonts.empty() ? installed_gm_soundfonts() : options.soundfonts;
  if (font_paths.empty())
    fail("soundfonts", "no General MIDI soundfont found in /usr/share/sounds/sf2, /usr/share/sounds/sf3 or "
                       "/usr/share/soundfonts (install timgm6mb-soundfont or pass --soundfont)");
  const SoundfontSet fonts(font_paths);

  std::error_code ec;
  fs::create_directories(options.out, ec);
  if (ec || !fs::is_directory(options.out)) fail(options.out, "cannot create output folder" + (ec ? ": " + ec.message() : ""));
  remove_stale_temporaries(options.out);
  // Files written into place one by one (AtomicFile) of a killed run. Songs are written inside their own
  // temporary folder and renamed into place whole, so a song folder never holds such files.
  remove_stale_temp_files(options.out);

  // Plan everything first: cheap, and it finds name clashes and existing folders before hours of work.
  ComposeOptions compose{options.seed, options.seconds, options.sample_rate, options.guitar_kinds, options.mastering,
                         options.plugins};
  CorpusResult result;
  for (std::size_t f = 0; f < fonts.size(); ++f) result.soundfonts.push_back(fonts.name(f));
  std::vector<SongPlan> plans;
  std::set<std::string> ids;
  for (int i = 0; i < options.songs; ++i) {
    SongPlan plan = compose_song(compose, fonts, options.first_song + i);
    if (!ids.insert(plan.track_id).second) fail(plan.track_id, "two songs got the same track name");
    if (fs::exists(options.out / plan.track_id, ec)) {
      if (!options.resume)
        fail(options.out / plan.track_id, "already exists (pass --resume to keep finished songs, or use another --out)");
      ++result.songs_skipped;
      continue;
    }
    plans.push_back(std::move(plan));
  }

  struct Task {
    std::size_t song, part;
  };
  std::vector<Task> tasks;
  for (std::size_t s = 0; s < plans.size(); ++s)
    for (std::size_t p = 0; p < plans[s].parts.size(); ++p) tasks.push_back({s, p});
  std::vector<std::vector<PlacedStem>> renders(plans.size());
  std::vector<std::vector<Audio>> raw(plans.size());
  std::vector<int> remaining(plans.size());
  for (std::size_t s = 0; s < plans.size(); ++s) {
    renders[s].resize(plans[s].parts.size());
    if (options.raw) raw[s].resize(plans[s].parts.size());
    remaining[s] = static_cast<int>(plans[s].parts.size());
  }
  std::vector<char> written(plans.size(), 0);

  std::mutex mutex;
  std::condition_variable changed;
  std::atomic<bool> halt{false};
  std::atomic<std::size_t> next_task{0};
  std::exception_ptr error;
  CorpusProgress state;
  state.songs_total = options.songs;
  state.songs_skipped = result.songs_skipped;
  state.stems_total = static_cast<std::int64_t>(tasks.size());
  int running = 0;

  auto worker = [&] {
    try {
      while (!halt.load()) {
        const std::size_t t = next_task.fetch_add(1);
        if (t >= tasks.size()) break;
        const Task task = tasks[t];
        Audio audio = render_part(fonts, plans[task.song], task.part, &halt);
        Audio dry;
        if (options.raw) {
          // the dry render at the level the stem is placed at (before the song-wide scale)
          dry = audio;
          const double gain = kStemReferenceRms / std::max(active_rms(dry), 1e-12) *
                              std::pow(10.0, plans[task.song].parts[task.part].mix.level_db / 20.0);
          for (float& v : dry.samples) v = static_cast<float>(v * gain);
        }
        PlacedStem stem = place_stem(plans[task.song], task.part, std::move(audio));
        bool last = false;
        {
          std::lock_guard lock(mutex);
          renders[task.song][task.part] = std::move(stem);
          if (options.raw) raw[task.song][task.part] = std::move(dry);
          last = --remaining[task.song] == 0;
          ++state.stems_done;
        }
        changed.notify_all();
        if (!last) continue;
        // Every stem of this song is in: finish it, even if a stop was requested meanwhile.
        std::vector<PlacedStem> stems;
        std::vector<Audio> dry_stems;
        {
          std::lock_guard lock(mutex);
          stems = std::move(renders[task.song]);
          renders[task.song].clear();
          dry_stems = std::move(raw[task.song]);
          raw[task.song].clear();
        }
        write_song(options.out / plans[task.song].track_id, plans[task.song], fonts, std::move(stems), dry_stems);
        {
          std::lock_guard lock(mutex);
          written[task.song] = 1;
          ++state.songs_done;
        }
        changed.notify_all();
      }
    } catch (const Interrupted&) {
    } catch (...) {
      std::lock_guard lock(mutex);
      if (!error) error = std::current_exception();
      halt = true;
    }
    {
      std::lock_guard lock(mutex);
      --running;
    }
    changed.notify_all();
  };

  const unsigned hardware = std::max(1u, std::thread::hardware_concurrency());
  const std::size_t jobs = std::min<std::size_t>(options.jobs > 0 ? static_cast<std::size_t>(options.jobs) : hardware,
                                                 std::max<std::size_t>(1, tasks.size()));
  std::vector<std::thread> threads;
  running = static_cast<int>(jobs);
  for (std::size_t j = 0; j < jobs; ++j) threads.emplace_back(worker);

  // This thread watches: it forwards a stop request to the workers and reports progress.
  std::int64_t reported_stems = -1;
  int reported_songs = -1;
  for (;;) {
    CorpusProgress snapshot;
    bool done;
    {
      std::unique_lock lock(mutex);
      changed.wait_for(lock, std::chrono::milliseconds(100));
      done = running == 0;
      state.seconds_elapsed = std::chrono::duration<double>(Clock::now() - started).count();
      const double fraction = state.fraction();
      state.seconds_left = state.stems_done > 0 ? state.seconds_elapsed * (1.0 - fraction) / fraction : -1;
      snapshot = state;
    }
    if (stop && stop->load()) halt = true;
    if (progress && !error && (snapshot.stems_done != reported_stems || snapshot.songs_done != reported_songs || done)) {
      try {
        progress(snapshot);
      } catch (...) {
        std::lock_guard lock(mutex);
        if (!error) error = std::current_exception();
        halt = true;
      }
      reported_stems = snapshot.stems_done;
      reported_songs = snapshot.songs_done;
    }
    if (done) break;
  }
  for (std::thread& t : threads) t.join();
  if (error) std::rethrow_exception(error);

  for (std::size_t s = 0; s < plans.size(); ++s)
    if (written[s]) {
      result.tracks_written.push_back(plans[s].track_id);
      result.audio_seconds += static_cast<double>(plans[s].frames) / plans[s].sample_rate;
    }
  result.interrupted = result.tracks_written.size() < plans.size();
  result.seconds_elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  return result;
}

}  // namespace unmix::synth
